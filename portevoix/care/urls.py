from django.urls import path

from portevoix.care import views

urlpatterns = [
    path("", views.overview, name="care_overview"),
    path("on-duty/", views.on_duty, name="care_on_duty"),
    path("people/<int:pk>/", views.agent_update, name="care_agent_update"),
    path("rules/", views.rules, name="care_rules"),
    path("rules/try/", views.rule_try, name="care_rule_try"),
    path("rules/<int:pk>/", views.rule_edit, name="care_rule_edit"),
    path("rules/<int:pk>/move/", views.rule_move, name="care_rule_move"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="care_rule_delete"),
    path("vip/", views.vip_add, name="care_vip_add"),
    path("vip/<int:pk>/remove/", views.vip_remove, name="care_vip_remove"),
    path("hours/", views.calendars, name="care_calendars"),
    path("hours/<int:pk>/", views.calendar_edit, name="care_calendar"),
    path("holidays/<int:pk>/remove/", views.holiday_remove, name="care_holiday_remove"),
    path("sla/", views.policies, name="care_policies"),
    path("sla/<int:pk>/", views.policy_edit, name="care_policy_edit"),
    path("rota/", views.rota_page, name="care_rota"),
    path("rota/shifts/<int:pk>/delete/", views.shift_delete, name="care_shift_delete"),
    path("rota/shifts/<int:pk>/swap/", views.swap_request, name="care_swap_request"),
    path("rota/swaps/<int:pk>/", views.swap_answer, name="care_swap_answer"),
    path("metrics/", views.metrics_page, name="care_metrics"),
    path("conversations/<int:pk>/correct/", views.correct, name="care_correct"),
]
