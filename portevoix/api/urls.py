from django.urls import path

from portevoix.api import views
from portevoix.api.endpoints import api

urlpatterns = [
    path("api/", api.urls),
    path("w/<slug:ws>/settings/api/tokens/", views.tokens, name="api_tokens"),
    path(
        "w/<slug:ws>/settings/api/tokens/<int:pk>/revoke/",
        views.token_revoke,
        name="api_token_revoke",
    ),
    path("w/<slug:ws>/settings/webhooks/", views.webhooks_page, name="api_webhooks"),
    path(
        "w/<slug:ws>/settings/webhooks/<int:pk>/change/",
        views.webhook_change,
        name="api_webhook_change",
    ),
    path(
        "w/<slug:ws>/settings/webhooks/<int:pk>/deliveries/",
        views.webhook_deliveries,
        name="api_webhook_deliveries",
    ),
]
