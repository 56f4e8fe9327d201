from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "portevoix.api"
    label = "api"
    verbose_name = _("API and integrations")

    def ready(self) -> None:
        from portevoix.api import notices, webhooks
        from portevoix.inbox.actions import on_conversation_changed
        from portevoix.inbox.ingest import on_ingested
        from portevoix.worker import housekeeping

        notices.register()
        on_ingested(webhooks.on_ingested)
        on_conversation_changed(webhooks.on_conversation_changed)
        # Posts published or failed and SLA breaches, read from the rows every minute.
        housekeeping.register("webhook-events", 60, lambda row: webhooks.scan())
