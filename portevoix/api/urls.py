from django.urls import path

from portevoix.api import integration_views, views
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
    path(
        "w/<slug:ws>/settings/integrations/",
        integration_views.integrations,
        name="api_integrations",
    ),
    path(
        "w/<slug:ws>/settings/integrations/<int:pk>/",
        integration_views.integration_detail,
        name="api_integration",
    ),
    path(
        "w/<slug:ws>/settings/integrations/<int:pk>/preview/",
        integration_views.integration_preview,
        name="api_integration_preview",
    ),
    path(
        "w/<slug:ws>/settings/integrations/<int:pk>/test/",
        integration_views.integration_test,
        name="api_integration_test",
    ),
    path(
        "w/<slug:ws>/settings/integrations/<int:pk>/connect/",
        integration_views.integration_connect,
        name="api_integration_connect",
    ),
    path(
        "w/<slug:ws>/settings/integrations/oauth/callback/",
        integration_views.integration_oauth_callback,
        name="api_integration_oauth_callback",
    ),
    path(
        "w/<slug:ws>/inbox/c/<int:pk>/crm/",
        integration_views.conversation_hand_to_crm,
        name="api_conversation_crm",
    ),
    # A way in without login (docs/ways-in.md): signed status updates from a CRM.
    path("hooks/crm/<int:pk>/", integration_views.crm_inbound, name="api_crm_inbound"),
]
