from pathlib import Path

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("w/<slug:ws>/settings/channels/", include("portevoix.channels.urls")),
    path("w/<slug:ws>/inbox/", include("portevoix.inbox.urls")),
    path("", include("portevoix.core.urls")),
]
if (Path(__file__).parent / "worker" / "urls.py").exists():
    urlpatterns.insert(0, path("ops/", include("portevoix.worker.urls")))
