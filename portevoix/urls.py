from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("ops/", include("portevoix.worker.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("w/<slug:ws>/settings/channels/", include("portevoix.channels.urls")),
    path("w/<slug:ws>/inbox/", include("portevoix.inbox.urls")),
    path("w/<slug:ws>/webcare/", include("portevoix.care.urls")),
    path("w/<slug:ws>/calendar/", include("portevoix.publishing.urls")),
    path("", include("portevoix.core.urls")),
]
