from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from portevoix.inbox import meta_webhook
from portevoix.inbox import views as inbox_views
from portevoix.media import public as public_media
from portevoix.notifications import views as notification_views
from portevoix.publishing.plan_views import ical_feed
from portevoix.roi.views import short_link_redirect


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
    path("w/<slug:ws>/crisis/", include("portevoix.crisis.urls")),
    path("w/<slug:ws>/listening/", include("portevoix.listening.urls")),
    # A hand-off opened without an account (docs/ways-in.md).
    path("h/<str:token>/", inbox_views.handoff_link_page, name="inbox_handoff_link"),
    path("w/<slug:ws>/calendar/", include("portevoix.publishing.urls")),
    path("w/<slug:ws>/analytics/", include("portevoix.analytics.urls")),
    path("w/<slug:ws>/media/", include("portevoix.media.urls")),
    path("feeds/plan/<str:token>.ics", ical_feed, name="ical_feed"),
    # Media a network fetches itself (Instagram), signed and expiring (docs/deployment.md).
    path("public/media/<str:token>/<str:name>", public_media.serve, name="public_media"),
    # Meta's webhooks (Instagram mentions without a tag): signed by Meta (docs/ways-in.md).
    path("hooks/meta/", meta_webhook.meta_webhook, name="meta_webhook"),
    path("w/<slug:ws>/attention/", include("portevoix.publishing.attention_urls")),
    path("w/<slug:ws>/notifications/", include("portevoix.notifications.urls")),
    path(
        "notifications/bell/<slug:workspace>/",
        notification_views.bell,
        name="notification_bell_poll",
    ),
    path("w/<slug:ws>/", include("portevoix.publishing.approvals.urls")),
    path("w/<slug:ws>/money/", include("portevoix.roi.urls")),
    path("w/<slug:ws>/training/", include("portevoix.training.urls")),
    path("w/<slug:ws>/settings/personal-data/", include("portevoix.privacy.urls")),
    # The product's short links, opened by anyone who clicks a post (docs/ways-in.md).
    path("l/<str:code>", short_link_redirect, name="roi_short_link"),
    path("", include("portevoix.strategy.urls")),
    path("", include("portevoix.api.urls")),
    path("", include("portevoix.core.urls")),
]

# Error pages are pages of the product (portevoix/core/errors.py).
handler400 = "portevoix.core.errors.bad_request"
handler403 = "portevoix.core.errors.permission_denied"
handler404 = "portevoix.core.errors.page_not_found"
handler429 = "portevoix.core.errors.too_many_requests"  # read by allauth's throttle
handler500 = "portevoix.core.errors.server_error"
