from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "portevoix.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from portevoix.publishing.approvals.actions import send_reminders
        from portevoix.publishing.approvals.notices import register_kinds as editorial_kinds
        from portevoix.publishing.notices import register_kinds
        from portevoix.worker import housekeeping

        register_kinds()
        editorial_kinds()
        housekeeping.register("approval-reminders", 600, send_reminders)
