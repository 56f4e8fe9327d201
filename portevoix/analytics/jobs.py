"""The analytics housekeeping job: every channel gets its collector row."""

from __future__ import annotations

from portevoix.worker.models import Housekeeping


def collectors(row: Housekeeping) -> str:
    from portevoix.analytics.collect import ensure_collectors

    return f"{ensure_collectors()} metrics collector(s) created"


def register() -> None:
    from portevoix.worker import housekeeping

    housekeeping.register("analytics-collectors", 900, collectors)
