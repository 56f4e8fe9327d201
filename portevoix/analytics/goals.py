"""Each goal's KPIs against their targets (issue 14 §2, "per goal, with KPI progress").

Strategy sets the targets (``portevoix.strategy``: a goal, a metric key, a target per week,
month, quarter or year, maybe one channel); :func:`portevoix.analytics.kpis.measure` says
where the current period stands. The period is the calendar one that contains today, in the
workspace's time zone (a "per month" KPI on 10 March is measured from 1 March).

What "on track" means depends on the metric:

* **Totals** (impressions, posts published, leads...) are compared with the target *pro rata*:
  on 10 March, a monthly target of 31 posts expects 9 so far.
* **Levels** (followers, rates, minutes) are compared with the target itself; for the first
  response time lower is better.

Rates are kept as fractions by ``measure`` and entered as percentages in strategy: they are
shown and compared as percentages here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from portevoix.core.models import Workspace
from portevoix.strategy.metrics import METRICS as METRIC_DEFS

from . import kpis

PERCENT = frozenset({"engagement_rate", "share_of_voice", "sla_compliance"})
LOWER_IS_BETTER = frozenset(key for key, m in METRIC_DEFS.items() if m.lower_is_better)
TOTALS = frozenset(key for key, m in METRIC_DEFS.items() if m.total)


def period_bounds(period: str, now: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The calendar week (from Monday), month, quarter or year that contains ``now``."""
    local = now.astimezone(zone)
    day = local.date()
    if period == "week":
        first = day - dt.timedelta(days=day.weekday())
        last = first + dt.timedelta(days=7)
    elif period == "month":
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1)
    elif period == "quarter":
        first = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
        last = (first + dt.timedelta(days=95)).replace(day=1)
    elif period == "year":
        first = day.replace(month=1, day=1)
        last = first.replace(year=first.year + 1)
    else:
        raise ValueError(f"unknown period {period!r}")
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(last, dt.time(), tzinfo=zone)
    return start, end


@dataclass(frozen=True)
class Progress:
    kpi: Any
    start: dt.datetime
    end: dt.datetime
    #: The measured value in the target's unit (percentages as 4.2, not 0.042); None: no data.
    value: float | None
    target: float
    #: What the target asks by now: pro rata for totals, the target itself for levels.
    expected: float
    elapsed: float
    #: "on_track", "behind" or "no_data".
    status: str


def kpi_progress(kpi: Any, workspace: Workspace, now: dt.datetime) -> Progress:
    zone = ZoneInfo(workspace.time_zone or "Europe/Paris")
    start, end = period_bounds(kpi.period, now, zone)
    until = min(now, end)
    measured = kpis.measure(workspace, kpi.metric, channel=kpi.channel, start=start, end=until)
    value = None if measured is None else measured * (100.0 if kpi.metric in PERCENT else 1.0)
    target = float(kpi.target)
    elapsed = max(0.0, min(1.0, (until - start) / (end - start)))
    expected = target * elapsed if kpi.metric in TOTALS else target
    if value is None:
        status = "no_data"
    elif kpi.metric in LOWER_IS_BETTER:
        status = "on_track" if value <= expected else "behind"
    else:
        status = "on_track" if value >= expected else "behind"
    return Progress(kpi, start, end, value, target, expected, elapsed, status)


def progress(workspace: Workspace, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every goal of ``workspace`` with its KPIs' progress, goals without KPIs included."""
    from portevoix.strategy.metrics import METRICS
    from portevoix.strategy.models import Goal, GoalCode

    now = now or timezone.now()
    rows = []
    for goal in Goal.objects.filter(workspace=workspace).prefetch_related("kpis__channel"):
        items = []
        for kpi in goal.kpis.all():
            result = kpi_progress(kpi, workspace, now)
            items.append({"progress": result, "metric": METRICS.get(kpi.metric)})
        rows.append({"goal": goal, "label": GoalCode(goal.code).label, "kpis": items})
    return rows


def csv_rows(workspace: Workspace, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The goals table as rows for the CSV download."""
    out = []
    for row in progress(workspace, now):
        for item in row["kpis"]:
            p: Progress = item["progress"]
            out.append(
                {
                    "goal": row["goal"].code,
                    "metric": p.kpi.metric,
                    "channel": p.kpi.channel.name if p.kpi.channel else "",
                    "period": p.kpi.period,
                    "period_start": p.start.date().isoformat(),
                    "period_end": p.end.date().isoformat(),
                    "value": None if p.value is None else round(p.value, 2),
                    "expected_by_now": round(p.expected, 2),
                    "target": p.target,
                    "status": p.status,
                }
            )
    return out
