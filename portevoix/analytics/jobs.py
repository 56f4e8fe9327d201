"""The analytics housekeeping jobs: every channel gets its collector row; every scheduled
report its run once a period ends."""

from __future__ import annotations

from portevoix.worker.models import Housekeeping


def collectors(row: Housekeeping) -> str:
    from portevoix.analytics.collect import ensure_collectors

    return f"{ensure_collectors()} metrics collector(s) created"


def reports(row: Housekeeping) -> str:
    from portevoix.analytics.reports import due_runs

    return f"{due_runs()} report(s) to send"


def register() -> None:
    from portevoix.worker import housekeeping

    housekeeping.register("analytics-collectors", 900, collectors)
    housekeeping.register("analytics-reports", 900, reports)
