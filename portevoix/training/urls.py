from django.urls import path

from portevoix.training import views

urlpatterns = [
    path("", views.overview, name="training"),
    path("members/<int:pk>/", views.member_record, name="training_member"),
    path("compliance/", views.acknowledge_compliance, name="training_compliance"),
]
