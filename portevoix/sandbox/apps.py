from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "portevoix.sandbox"
    label = "sandbox"
    verbose_name = _("Sandbox network")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.worker import housekeeping

        housekeeping.register("sandbox-advance", 5 * 60, _advance)


def _advance(row: object) -> str:
    """Keep the sandbox world moving (audience, customers writing in) even when nobody reads."""
    from django.utils import timezone

    from portevoix.sandbox import world

    count = world.advance_all(timezone.now())
    return f"{count} sandbox account(s) advanced"
