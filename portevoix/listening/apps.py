from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListeningConfig(AppConfig):
    name = "portevoix.listening"
    label = "listening"
    verbose_name = _("Listening")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.listening.actions import AUDIT_LABELS

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
