from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "portevoix.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from portevoix.publishing.approvals.actions import send_reminders
        from portevoix.worker import housekeeping

        housekeeping.register("approval-reminders", 600, send_reminders)
