from django.urls import path

from portevoix.worker import views

urlpatterns = [
    path("work/", views.overview, name="ops_work"),
]
