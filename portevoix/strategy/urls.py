from django.urls import path

from portevoix.strategy import team_views, views

urlpatterns = [
    path("w/<slug:ws>/strategy/", views.overview, name="strategy"),
    path("w/<slug:ws>/strategy/canvas/", views.canvas_edit, name="strategy_canvas"),
    path("w/<slug:ws>/strategy/history/", views.canvas_history, name="strategy_history"),
    path("w/<slug:ws>/strategy/review/", views.review_rule, name="strategy_review"),
    path("w/<slug:ws>/strategy/goals/", views.goals, name="strategy_goals"),
    path(
        "w/<slug:ws>/strategy/channels/<int:pk>/",
        views.channel_strategy,
        name="strategy_channel",
    ),
    path("w/<slug:ws>/strategy/kpis/", views.kpi_add, name="strategy_kpi_add"),
    path(
        "w/<slug:ws>/strategy/kpis/<int:pk>/delete/", views.kpi_delete, name="strategy_kpi_delete"
    ),
    path("w/<slug:ws>/strategy/pillars/", views.pillar_add, name="strategy_pillar_add"),
    path(
        "w/<slug:ws>/strategy/pillars/targets/",
        views.pillar_targets,
        name="strategy_pillar_targets",
    ),
    path(
        "w/<slug:ws>/strategy/pillars/<int:pk>/delete/",
        views.pillar_delete,
        name="strategy_pillar_delete",
    ),
    path("w/<slug:ws>/strategy/posts/", views.post_pillars, name="strategy_post_pillars"),
    path("w/<slug:ws>/strategy/team/", views.matrix_page, name="strategy_matrix"),
    path(
        "w/<slug:ws>/strategy/team/from-roles/",
        views.matrix_from_roles,
        name="strategy_matrix_roles",
    ),
    path("w/<slug:ws>/strategy/policy/", views.policy, name="strategy_policy"),
    path("w/<slug:ws>/strategy/policy/manage/", views.policy_manage, name="strategy_policy_manage"),
    path(
        "w/<slug:ws>/strategy/policy/employees/",
        views.policy_employees,
        name="strategy_policy_employees",
    ),
    path("w/<slug:ws>/strategy/policy/send/", views.policy_send, name="strategy_policy_send"),
    path("w/<slug:ws>/strategy/policy/link/", views.policy_link, name="strategy_policy_link"),
    path("w/<slug:ws>/strategy/presets/", team_views.presets_page, name="strategy_presets"),
    path(
        "w/<slug:ws>/strategy/ambassadors/",
        team_views.ambassadors_page,
        name="strategy_ambassadors",
    ),
    path(
        "w/<slug:ws>/strategy/ambassadors/<int:pk>/remove/",
        team_views.ambassador_remove,
        name="strategy_ambassador_remove",
    ),
    path(
        "w/<slug:ws>/strategy/ambassadors/suggest/",
        team_views.share_suggest,
        name="strategy_share_suggest",
    ),
    path("w/<slug:ws>/strategy/share/", team_views.share_list, name="strategy_share"),
    path(
        "w/<slug:ws>/strategy/share/<int:pk>/shared/",
        team_views.share_mark,
        name="strategy_share_mark",
    ),
    path(
        "w/<slug:ws>/strategy/share/<int:pk>/undo/",
        team_views.share_unmark,
        name="strategy_share_unmark",
    ),
    # Without an account (docs/ways-in.md): the policy in force, and one employee's
    # acknowledgement.
    path("policy/<str:token>/", views.policy_public, name="strategy_policy_public"),
    path("policy/ack/<str:token>/", views.policy_ack_link, name="strategy_policy_ack_link"),
]
