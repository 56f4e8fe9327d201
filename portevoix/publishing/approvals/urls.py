"""Mounted at ``w/<ws>/``: approvals, their settings, compliance rules, pause."""

from django.urls import path

from portevoix.publishing.approvals import views

urlpatterns = [
    path("approvals/", views.approvals_page, name="approvals"),
    path("approvals/posts/<int:pk>/", views.review, name="approval_review"),
    path("approvals/posts/<int:pk>/withdraw/", views.withdraw, name="approval_withdraw"),
    path("approvals/posts/<int:pk>/submit/", views.resubmit, name="approval_resubmit"),
    path("approvals/steps/<int:pk>/approve/", views.approve, name="approval_approve"),
    path("approvals/steps/<int:pk>/changes/", views.request_changes, name="approval_changes"),
    path("approvals/steps/<int:pk>/reject/", views.reject, name="approval_reject"),
    path("compliance/check/", views.compliance_check, name="compliance_check"),
    path("settings/approvals/", views.approval_settings, name="approval_settings"),
    path("settings/approvals/members/<int:pk>/", views.set_trust, name="approval_trust"),
    path("settings/approvals/routes/", views.route_edit, name="approval_route_create"),
    path("settings/approvals/routes/<int:pk>/", views.route_edit, name="approval_route"),
    path(
        "settings/approvals/routes/<int:pk>/delete/",
        views.route_delete,
        name="approval_route_delete",
    ),
    path("settings/compliance/", views.compliance_page, name="compliance_rules"),
    path("settings/compliance/<int:pk>/", views.rule_edit, name="compliance_rule"),
    path("settings/compliance/<int:pk>/delete/", views.rule_delete, name="compliance_rule_delete"),
    path("pause/", views.pause_page, name="pause"),
    path("pause/start/", views.pause_start, name="pause_start"),
    path("pause/<int:pk>/resume/", views.pause_resume, name="pause_resume"),
    path("pause/campaigns/cancel/", views.campaign_cancel, name="campaign_cancel"),
]
