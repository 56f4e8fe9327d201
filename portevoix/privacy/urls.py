from django.urls import path

from portevoix.privacy import views

urlpatterns = [
    path("", views.privacy_page, name="privacy"),
    path("export/", views.privacy_export, name="privacy_export"),
    path("erase/", views.privacy_erase, name="privacy_erase"),
    path("retention/", views.privacy_retention, name="privacy_retention"),
]
