from django.urls import path

from portevoix.inbox import views

urlpatterns = [path("", views.inbox, name="inbox")]
