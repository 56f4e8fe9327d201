from django.urls import path

from portevoix.publishing import views

urlpatterns = [path("", views.calendar, name="calendar")]
