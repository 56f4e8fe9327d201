"""Crisis detection as a housekeeping job (``docs/worker.md``): ``crisis-detect`` every five
minutes counts the closed hours and tests the last hour of every workspace with channels."""

from __future__ import annotations

from portevoix.worker.models import Housekeeping

INTERVAL = 300


def detect(row: Housekeeping) -> str:
    from . import actions

    return f"{actions.check_all()} crisis alert(s) raised"


def end_drills(row: Housekeeping) -> str:
    from . import drills

    return f"{drills.end_due()} drill(s) ended"


def register() -> None:
    from portevoix.worker import housekeeping

    housekeeping.register("crisis-detect", INTERVAL, detect)
    # Drills past their planned end stop by themselves (and are scored).
    housekeeping.register("crisis-drills", 60, end_drills)
