from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

#: What the audit log calls the API's actions (added to core's labels).
AUDIT_LABELS = {
    "api_token.create": gettext_noop("API token created"),
    "api_token.revoke": gettext_noop("API token revoked"),
    "webhook.create": gettext_noop("Webhook added"),
    "webhook.update": gettext_noop("Webhook changed"),
    "webhook.delete": gettext_noop("Webhook deleted"),
    "webhook.replay": gettext_noop("Webhook delivery sent again"),
    "integration.create": gettext_noop("Integration added"),
    "integration.update": gettext_noop("Integration changed"),
    "integration.delete": gettext_noop("Integration deleted"),
    "integration.connect": gettext_noop("Integration connected"),
    "integration.test": gettext_noop("Integration tested"),
    "integration.hand_off": gettext_noop("Conversation handed to an integration"),
    "integration.retry": gettext_noop("Integration record sent again"),
    "integration.status_update": gettext_noop("Status received from an integration"),
}


class ApiConfig(AppConfig):
    name = "portevoix.api"
    label = "api"
    verbose_name = _("API and integrations")

    def ready(self) -> None:
        from portevoix.api import notices, webhooks
        from portevoix.core.actions import AUDIT_ACTION_LABELS

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        from portevoix.inbox.actions import on_conversation_changed
        from portevoix.inbox.ingest import on_ingested
        from portevoix.worker import housekeeping

        notices.register()
        on_ingested(webhooks.on_ingested)
        on_conversation_changed(webhooks.on_conversation_changed)
        # Posts published or failed and SLA breaches, read from the rows every minute.
        housekeeping.register("webhook-events", 60, lambda row: webhooks.scan())
