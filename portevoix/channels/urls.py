from django.urls import path

from portevoix.channels import views

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("connect/", views.connect_choose, name="channel_connect_choose"),
    path("connect/<slug:network>/", views.connect, name="channel_connect"),
    path("connect/<slug:network>/oauth/", views.oauth_start, name="channel_oauth_start"),
    path("oauth/callback/", views.oauth_callback, name="channel_oauth_callback"),
    path("<int:pk>/", views.channel_detail, name="channel_detail"),
    path("<int:pk>/check/", views.channel_check, name="channel_check"),
    path("<int:pk>/post/", views.quick_post, name="channel_quick_post"),
]
