from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StrategyConfig(AppConfig):
    name = "portevoix.strategy"
    label = "strategy"
    verbose_name = _("Strategy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.strategy.actions import AUDIT_LABELS, register_purposes

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        register_purposes()

        from portevoix.core import audit
        from portevoix.strategy.models import Kpi

        audit.OBJECT_NAMES["strategy.kpi"] = Kpi.audit_name
        audit.VALUE_NAMES.update(Kpi.AUDIT_VALUES)

        from portevoix.strategy import ambassadors, presets, signals

        AUDIT_ACTION_LABELS.update(ambassadors.AUDIT_LABELS)
        AUDIT_ACTION_LABELS.update(presets.AUDIT_LABELS)
        ambassadors.register_kinds()
        signals.connect()
