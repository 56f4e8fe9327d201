from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "portevoix.analytics"
    label = "analytics"
    verbose_name = _("Analytics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.analytics import jobs, notices
        from portevoix.analytics.actions import AUDIT_LABELS
        from portevoix.core.actions import AUDIT_ACTION_LABELS

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        notices.register_kinds()
        jobs.register()
