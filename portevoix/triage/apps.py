from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class TriageConfig(AppConfig):
    name = "portevoix.triage"
    label = "triage"
    verbose_name = _("Triage")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS

        AUDIT_ACTION_LABELS["triage.correct"] = gettext_noop("Triage corrected")
