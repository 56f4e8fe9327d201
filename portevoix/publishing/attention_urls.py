from django.urls import path
from django.views.decorators.http import require_safe

from portevoix.publishing import views

urlpatterns = [
    path("", require_safe(views.attention), name="attention"),
    path("publications/<int:pk>/retry/", views.publication_retry, name="publication_retry"),
    path(
        "publications/<int:pk>/send-late/",
        views.publication_send_late,
        name="publication_send_late",
    ),
    path(
        "publications/<int:pk>/published/",
        views.publication_mark_published,
        name="publication_mark_published",
    ),
    path("publications/<int:pk>/cancel/", views.publication_cancel, name="publication_cancel"),
]
