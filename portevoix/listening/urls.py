from django.urls import path

from portevoix.listening import views

urlpatterns = [
    path("", views.overview, name="listening"),
    path("queries/", views.queries, name="listening_queries"),
    path("queries/check/", views.query_check, name="listening_query_check"),
    path("queries/<int:pk>/", views.query_edit, name="listening_query_edit"),
    path("queries/<int:pk>/delete/", views.query_delete, name="listening_query_delete"),
    path("mentions/<int:pk>/inbox/", views.mention_to_inbox, name="listening_mention_inbox"),
    path("mentions/<int:pk>/idea/", views.mention_to_idea, name="listening_mention_idea"),
    path("trends/idea/", views.trend_to_idea, name="listening_trend_idea"),
]

from portevoix.listening import source_views  # noqa: E402

urlpatterns += [
    path("sources/", source_views.sources, name="listening_sources"),
    path("sources/<int:pk>/pause/", source_views.source_pause, name="listening_source_pause"),
    path("sources/<int:pk>/resume/", source_views.source_resume, name="listening_source_resume"),
    path("sources/<int:pk>/delete/", source_views.source_delete, name="listening_source_delete"),
    path("competitors/", source_views.competitor_page, name="listening_competitors"),
    path(
        "competitors/<int:pk>/unfollow/",
        source_views.account_unfollow,
        name="listening_account_unfollow",
    ),
    path(
        "competitors/<int:pk>/collect/",
        source_views.account_collect,
        name="listening_account_collect",
    ),
]
