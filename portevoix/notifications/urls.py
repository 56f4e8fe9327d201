from django.urls import path

from portevoix.notifications import views

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("read-all/", views.read_all, name="notification_read_all"),
    path("preferences/", views.preferences, name="notification_preferences"),
    path("<int:pk>/open/", views.open_notification, name="notification_open"),
    path("<int:pk>/read/", views.read, name="notification_read"),
]
