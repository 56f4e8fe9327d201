from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoiConfig(AppConfig):
    name = "portevoix.roi"
    label = "roi"
    verbose_name = _("Return on investment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.roi.actions import AUDIT_LABELS

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
