from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "portevoix.sandbox"
    label = "sandbox"
    verbose_name = _("Sandbox network")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.worker import housekeeping

        # Every minute: a step (a quarter hour) is written as soon as it has passed, so a storm
        # staged in a demo reaches the inbox at the quarter hour, not up to five minutes later
        # (nothing to do costs one query per moving account).
        housekeeping.register("sandbox-advance", 60, _advance)
        housekeeping.register("sandbox-purge-calls", 24 * 3600, _purge_calls)


def _advance(row: object) -> str:
    """Keep the sandbox world moving (audience, customers writing in) even when nobody reads."""
    from django.utils import timezone

    from portevoix.sandbox import world

    count = world.advance_all(timezone.now())
    return f"{count} sandbox account(s) advanced"


#: Call receipts older than this are deleted; tests and benchmarks read fresh ones.
CALL_RETENTION_DAYS = 7


def _purge_calls(row: object) -> str:
    """The sandbox records every call it receives; keep a week of them."""
    import datetime as dt

    from django.utils import timezone

    from portevoix.sandbox.models import SandboxCall

    cutoff = timezone.now() - dt.timedelta(days=CALL_RETENTION_DAYS)
    deleted, _ = SandboxCall.objects.filter(received_at__lt=cutoff).delete()
    return f"{deleted} sandbox call receipt(s) older than {CALL_RETENTION_DAYS} days deleted"
