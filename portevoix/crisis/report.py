"""The post-incident report: a PDF with the volume curve, response times, checklists and the
timeline, drawn with :mod:`portevoix.reports` (server-rendered SVG, WeasyPrint; ADR 1201)."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portevoix.reports import charts, pdf

from .models import HourlyVolume, Incident

#: The curve shows this much before the incident opened and after it closed.
BEFORE = dt.timedelta(hours=24)
AFTER = dt.timedelta(hours=12)
#: Beyond this span the curve is drawn per three hours, so that it stays readable.
HOURLY_UP_TO = dt.timedelta(hours=72)


def _minutes(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 60


def volume(incident: Incident, zone: ZoneInfo) -> dict[str, object]:
    end_at = incident.closed_at or timezone.now()
    start = (
        (incident.opened_at - BEFORE).astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    )
    # Twelve hours after it closed, but not beyond now: hours to come are no data.
    end = min(end_at + AFTER, timezone.now())
    step = dt.timedelta(hours=1) if end - start <= HOURLY_UP_TO else dt.timedelta(hours=3)
    rows = {
        h: (t, n)
        for h, t, n in HourlyVolume.objects.filter(
            workspace_id=incident.workspace_id, hour__gte=start, hour__lt=end
        ).values_list("hour", "total", "negative")
    }
    # An hour as each language writes it on an axis: "23/11 14h" in French, "23/11 14:00" in
    # English (a strftime pattern, translated like Django's own formats).
    hour_label = pgettext("strftime pattern of an hour on a chart's axis", "%d/%m %H:00")
    labels: list[str] = []
    totals: list[float | None] = []
    negatives: list[float | None] = []
    moment = start
    while moment < end:
        bucket = [
            rows.get(moment + dt.timedelta(hours=k))
            for k in range(int(step / dt.timedelta(hours=1)))
        ]
        known = [b for b in bucket if b is not None]
        labels.append(moment.astimezone(zone).strftime(hour_label))
        totals.append(float(sum(b[0] for b in known)) if known else None)
        negatives.append(float(sum(b[1] for b in known)) if known else None)
        moment += step
    unit = _("messages per hour") if step == dt.timedelta(hours=1) else _("messages per 3 hours")
    return charts.figure(
        _("Hour"),
        labels,
        [
            charts.Series(_("All messages"), totals),
            charts.Series(_("Negative messages"), negatives),
        ],
        title=_("Inbound volume around the incident"),
        unit=str(unit),
        caption=_(
            "From a day before the incident opened to twelve hours after it closed (or to now)."
        ),
    )


def response_times(incident: Incident) -> dict[str, Any]:
    """First responses to the conversations that started during the incident."""
    from portevoix.inbox.models import Conversation

    end = incident.closed_at or timezone.now()
    conversations = list(
        Conversation.objects.filter(
            workspace_id=incident.workspace_id,
            created_at__gte=incident.opened_at,
            created_at__lt=end,
        ).values_list("created_at", "first_response_at")
    )
    waits = sorted(_minutes(answered - created) for created, answered in conversations if answered)
    result: dict[str, Any] = {"count": len(conversations), "answered": len(waits)}
    if waits:
        result["median"] = _for_people(statistics.median(waits))
        result["p90"] = _for_people(waits[min(len(waits) - 1, int(0.9 * len(waits)))])
        result["longest"] = _for_people(waits[-1])
    return result


def _for_people(minutes: float) -> str:
    """A wait as people say it ("35 min", "2 h 10 min"), to the minute ("3.6" read as hours)."""
    from portevoix.care.templatetags.care import human_duration

    return human_duration(dt.timedelta(minutes=round(minutes)))


def checklists(incident: Incident) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for task in incident.tasks.select_related("department", "done_by__user"):
        row = rows.setdefault(
            task.department_id, {"department": task.department.name, "tasks": [], "done": 0}
        )
        after = _for_people(_minutes(task.done_at - incident.opened_at)) if task.done_at else None
        row["tasks"].append(
            {
                "text": task.text,
                "after": after,
                "by": task.done_by.user.display_name if task.done_by else "",
            }
        )
        row["done"] += 1 if task.done_at else 0
    return sorted(rows.values(), key=lambda r: str(r["department"]))


def render(incident: Incident, *, language: str) -> bytes:
    from .drills import drill_of_incident

    zone = ZoneInfo(incident.workspace.time_zone)
    # A drill's report says so in its title (on every page's header) and at its top, so that
    # nobody files it as a real incident.
    drill = drill_of_incident(incident)
    # The figures are written (numbers, durations, labels) in the report's language.
    with timezone.override(zone), translation.override(language):
        context = {
            "incident": incident,
            "drill": drill,
            "workspace_name": incident.workspace.name,
            "report_title": _("Drill — post-incident report")
            if drill is not None
            else _("Post-incident report"),
            "generated_at": timezone.now(),
            "volume": volume(incident, zone),
            "responses": response_times(incident),
            "checklists": checklists(incident),
            "timeline": list(incident.timeline.select_related("alert")),
            "duration": _for_people(
                _minutes((incident.closed_at or timezone.now()) - incident.opened_at)
            ),
        }
        return pdf.render_pdf("crisis/report.html", context, language=language)
