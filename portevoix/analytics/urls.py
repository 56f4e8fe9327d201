from django.urls import path

from portevoix.analytics import views

urlpatterns = [
    path("", views.dashboard_page, name="analytics"),
    path("csv/<slug:chart>/", views.csv_download, name="analytics_csv"),
    path("insights/", views.insight_write, name="analytics_insight"),
    path("slots/<int:pk>/", views.slots_add, name="analytics_slots"),
    path("experiments/", views.experiment_start, name="analytics_experiment"),
]
