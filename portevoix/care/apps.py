from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "portevoix.care"
    label = "care"
    verbose_name = _("Webcare rules")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.care import flow, jobs, notices
        from portevoix.care.actions import AUDIT_LABELS
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.inbox.actions import on_conversation_changed
        from portevoix.inbox.ingest import on_ingested

        # Rules, "closed" replies, SLA clocks and assignment run inside each ingest.
        on_ingested(flow.on_ingested)
        # Answers, waiting and resolving in the inbox move the SLA clocks.
        on_conversation_changed(flow.on_conversation_changed)
        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        notices.register_kinds()
        jobs.register()
