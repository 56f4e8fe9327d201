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
