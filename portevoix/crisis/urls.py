from django.urls import path

from portevoix.crisis import drill_views, response_views, views

urlpatterns = [
    path("", views.home, name="crisis_home"),
    path("alerts/<int:pk>/", views.alert_page, name="crisis_alert"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss, name="crisis_alert_dismiss"),
    path("incidents/<int:pk>/", views.incident_view, name="crisis_incident"),
    path("incidents/<int:pk>/report.pdf", views.incident_report, name="crisis_incident_report"),
    path("incidents/<int:pk>/pause/", views.incident_pause, name="crisis_incident_pause"),
    path("incidents/<int:pk>/terms/", views.incident_terms, name="crisis_incident_terms"),
    path("incidents/<int:pk>/note/", views.incident_note, name="crisis_incident_note"),
    path("incidents/<int:pk>/close/", views.incident_close, name="crisis_incident_close"),
    path("tasks/<int:pk>/", views.task_toggle, name="crisis_task"),
    path("stage/", views.stage, name="crisis_stage"),
    path("stage/calm/", views.calm, name="crisis_calm"),
    path("playbook/", views.playbook_page, name="crisis_playbook"),
    path(
        "incidents/<int:pk>/statement/",
        response_views.statement_page,
        name="crisis_statement",
    ),
    path("incidents/<int:pk>/surge/", response_views.surge_view, name="crisis_surge"),
    path(
        "incidents/<int:pk>/surge/refresh/",
        response_views.surge_refresh,
        name="crisis_surge_refresh",
    ),
    path("incidents/<int:pk>/surge/reply/", response_views.surge_reply, name="crisis_surge_reply"),
    path("incidents/<int:pk>/surge/duty/", response_views.surge_duty, name="crisis_surge_duty"),
    path("incidents/<int:pk>/lockdown/", response_views.lockdown_page, name="crisis_lockdown"),
    path(
        "incidents/<int:pk>/lockdown/act/",
        response_views.lockdown_act,
        name="crisis_lockdown_act",
    ),
    path("channels/<int:pk>/custody/", response_views.custody_page, name="crisis_custody"),
    path("drills/", drill_views.drills_page, name="crisis_drills"),
    path("drills/<int:pk>/", drill_views.drill_page, name="crisis_drill"),
    path("drills/<int:pk>/end/", drill_views.drill_end, name="crisis_drill_end"),
    path("incidents/<int:pk>/impact/", response_views.impact_page, name="crisis_impact"),
]
