from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "portevoix.privacy"
    label = "privacy"
    verbose_name = _("Personal data")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import datetime as dt

        from portevoix.core import audit
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.privacy.actions import AUDIT_KEY_LABELS, AUDIT_LABELS, retention_job
        from portevoix.worker import housekeeping

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        audit.KEY_LABELS.update(AUDIT_KEY_LABELS)
        # At night: a first retention may delete years of messages.
        housekeeping.register("privacy-retention", 24 * 3600, retention_job, daily_at=dt.time(3, 0))
