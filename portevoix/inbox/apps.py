from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "portevoix.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        from portevoix.channels import sync
        from portevoix.inbox.actions import ingest

        # Each channel sync hands what came in to the inbox (channels does not import inbox).
        sync.on_inbound(ingest)
