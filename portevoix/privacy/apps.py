from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "portevoix.privacy"
    label = "privacy"
    verbose_name = _("Personal data")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.privacy.actions import AUDIT_LABELS, retention_job
        from portevoix.worker import housekeeping

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        housekeeping.register("privacy-retention", 24 * 3600, retention_job)
