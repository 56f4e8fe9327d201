from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "portevoix.training"
    label = "training"
    verbose_name = _("Training record")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.training.actions import AUDIT_LABELS

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
