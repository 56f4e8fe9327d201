from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "portevoix.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        from portevoix.channels import sync
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.inbox import notices
        from portevoix.inbox.actions import AUDIT_LABELS, register_handoff_purpose, wake_snoozed
        from portevoix.inbox.ingest import ingest
        from portevoix.worker import housekeeping

        # Each channel sync hands what came in to the inbox (channels does not import inbox).
        sync.on_inbound(ingest)
        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        notices.register_kinds()
        register_handoff_purpose()
        housekeeping.register(
            "inbox-wake-snoozed", 60, lambda row: f"{wake_snoozed()} conversation(s) back"
        )
