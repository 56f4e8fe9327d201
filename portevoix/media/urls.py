from django.urls import path

from portevoix.media import views

urlpatterns = [
    path("", views.library, name="media_library"),
    path("upload/", views.upload, name="media_upload"),
    path("<int:pk>/", views.item, name="media_item"),
    path("<int:pk>/file/", views.file, name="media_file"),
]
