from django.urls import path

from portevoix.publishing import manual_views, plan_views, views

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("compose/", views.compose, name="compose"),
    path("compose/checks/", views.compose_checks, name="compose_checks"),
    path("compose/autosave/", views.compose_autosave, name="compose_autosave"),
    path("compose/tiktok/<int:pk>/", views.compose_tiktok, name="compose_tiktok"),
    path("posts/<int:pk>/", views.compose, name="post_edit"),
    path("posts/<int:pk>/move/", views.move, name="post_move"),
    path("by-hand/<int:pk>/", manual_views.by_hand, name="publication_by_hand"),
    path(
        "by-hand/<int:pk>/media/<int:media>/",
        manual_views.by_hand_media,
        name="publication_by_hand_media",
    ),
    path(
        "by-hand/<int:pk>/published/",
        manual_views.by_hand_published,
        name="publication_by_hand_published",
    ),
    path(
        "by-hand/<int:pk>/not-published/",
        manual_views.by_hand_not_published,
        name="publication_by_hand_not_published",
    ),
    path("by-hand/<int:pk>/results/", manual_views.by_hand_results, name="publication_results"),
    path("manual/<int:pk>/import/", manual_views.results_import, name="manual_results_import"),
    path("campaigns/", plan_views.campaigns, name="campaigns"),
    path("campaigns/new/", plan_views.campaign_edit, name="campaign_new"),
    path("campaigns/<int:pk>/", plan_views.campaign_edit, name="campaign_edit"),
    path("ideas/", plan_views.ideas, name="ideas"),
    path("ideas/<int:pk>/decide/", plan_views.idea_decide, name="idea_decide"),
    path("requests/", plan_views.creative_requests, name="creative_requests"),
    path("requests/new/", plan_views.creative_request_new, name="creative_request_new"),
    path("requests/<int:pk>/", plan_views.creative_request, name="creative_request"),
    path("plan/", plan_views.plan_settings, name="plan_settings"),
    path("plan/import/", plan_views.plan_import, name="plan_import"),
    path("plan/export.csv", plan_views.plan_export, name="plan_export"),
    path("plan/feeds/", plan_views.feeds, name="plan_feeds"),
]
