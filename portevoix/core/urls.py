from django.urls import path

from portevoix.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("lang/", views.set_language, name="set_language"),
    path("profile/", views.profile, name="profile"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("w/<slug:ws>/", views.workspace_home, name="workspace_home"),
    path("w/<slug:ws>/team/", views.team, name="team"),
    path("w/<slug:ws>/team/members/<int:pk>/", views.member_detail, name="member_detail"),
    path(
        "w/<slug:ws>/team/members/<int:pk>/deactivate/",
        views.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "w/<slug:ws>/team/members/<int:pk>/reactivate/",
        views.member_reactivate,
        name="member_reactivate",
    ),
    path("w/<slug:ws>/team/invitations/", views.invitations, name="invitations"),
    path(
        "w/<slug:ws>/team/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "w/<slug:ws>/team/invitations/<int:pk>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path("w/<slug:ws>/team/roles/", views.roles, name="roles"),
    path("w/<slug:ws>/team/departments/", views.departments, name="departments"),
    path("w/<slug:ws>/team/departments/<int:pk>/", views.department_edit, name="department_edit"),
    path("w/<slug:ws>/settings/", views.workspace_settings, name="workspace_settings"),
    path("w/<slug:ws>/settings/audit/", views.audit_log, name="audit_log"),
    path("w/<slug:ws>/settings/audit.csv", views.audit_export, name="audit_export"),
    path("w/<slug:ws>/<slug:key>/", views.section, name="section"),
]
