"""Scheduled reports: the periods, the worker's job, and the PDF and CSV of one report.

A :class:`ScheduledReport` says what to put in (its sections and channels), how often (a
week, Monday to Sunday, or a calendar month, in the workspace's time zone) and to whom. The
``analytics-reports`` housekeeping job makes one :class:`ReportRun` per report and finished
period (unique: a period is never reported twice); the worker then renders the PDF in every
language of the product and the CSV, stores them and tells the recipients in the same
transaction (the notification's e-mail carries the PDF in the recipient's language, through
the one notification path, whose e-mails are never sent twice). A crash before the commit
leaves nothing behind and the row runs again; a run found already made is not made again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import can
from portevoix.reports import charts, pdf
from portevoix.worker.models import LeaseLost, Outcome

from . import dashboard
from .models import (
    REPORT_SECTIONS,
    SECTION_NEEDS,
    ChannelDay,
    ReportFile,
    ReportFrequency,
    ReportRun,
    ReportRunStates,
    ScheduledReport,
)

KIND = "analytics.report"


def zone_of(workspace: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.time_zone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def period_of(frequency: str, day: dt.date, zone: ZoneInfo) -> dashboard.Period:
    """The week (Monday to Sunday) or the calendar month that contains ``day``."""
    if frequency == ReportFrequency.MONTHLY:
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return dashboard.Period(start, following - dt.timedelta(days=1), zone)
    start = day - dt.timedelta(days=day.weekday())
    return dashboard.Period(start, start + dt.timedelta(days=6), zone)


def last_finished(report: ScheduledReport, now: dt.datetime) -> dashboard.Period:
    """The last period that ended (in the workspace's zone) before ``now``."""
    zone = zone_of(report.workspace)
    current = period_of(report.frequency, now.astimezone(zone).date(), zone)
    return period_of(report.frequency, current.start - dt.timedelta(days=1), zone)


def due_runs(now: dt.datetime | None = None) -> int:
    """Make the run of every active report whose period ended since it was created.

    Idempotent: a run is unique per report and period, so the job may run any number of times
    (and on several workers at once); a report created after a period ended waits for the
    next one ("send now" sends the last one)."""
    now = now or timezone.now()
    made = 0
    for report in ScheduledReport.objects.filter(active=True).select_related("workspace"):
        period = last_finished(report, now)
        if period.end_at <= report.created_at:
            continue
        _run, created = ReportRun.objects.get_or_create(
            report=report, period_start=period.start, period_end=period.end
        )
        made += created
    return made


# --- what a report contains -----------------------------------------------------------------


def channels_of(report: ScheduledReport) -> tuple[Any, Workspace | None]:
    """The report's channels, and its workspace when it covers every channel (whose own
    rollups then answer)."""
    chosen = report.channels.all()
    if chosen.exists():
        return Channel.objects.filter(workspace=report.workspace, pk__in=chosen), None
    return Channel.objects.filter(workspace=report.workspace), report.workspace


def _hours(value: float | None) -> str:
    return "–" if value is None else charts.fmt(value, 1)


def build(report: ScheduledReport, period: dashboard.Period) -> dict[str, Any]:
    """The report's numbers, in the active language: one entry per section, each with its
    chart (SVG), its table (header and rows, formatted) and its CSV rows (raw)."""
    from portevoix.analytics.views import METRIC_LABELS, TYPE_LABELS, WEEKDAYS

    workspace = report.workspace
    channels, whole = channels_of(report)
    sections: list[dict[str, Any]] = []
    wanted = [code for code in REPORT_SECTIONS if code in (report.sections or [])]
    for code in wanted:
        title = str(REPORT_SECTIONS[code])
        part: dict[str, Any] = {"code": code, "title": title, "svg": "", "note": ""}
        if code == "overview":
            rows = dashboard.key_figures(workspace, None, period) if whole else None
            if rows is None:
                rows = _figures_of(channels, period)
            part["header"] = [_("Figure"), _("This period"), _("Previous period"), _("Change")]
            part["rows"] = [
                [
                    str(METRIC_LABELS[r["metric"]]),
                    _figure(r["metric"], r["value"]),
                    _figure(r["metric"], r["previous"]),
                    "–" if r["change"] is None else charts.fmt(100 * r["change"], 1) + "\u00a0%",
                ]
                for r in rows
            ]
            part["csv"] = [
                {k: r[k] for k in ("metric", "value", "previous", "change")} for r in rows
            ]
        elif code in ("daily", "followers"):
            rows = dashboard.daily(channels, period, workspace=whole)
            labels = [charts.day_label(r["day"]) for r in rows]
            if code == "daily":
                series = [
                    charts.Series(_("Impressions"), [r["impressions"] for r in rows]),
                    charts.Series(_("Engagements"), [r["engagements"] for r in rows]),
                ]
                part["csv"] = [
                    {k: r[k] for k in ("day", "posts", "impressions", "engagements", "clicks")}
                    for r in rows
                ]
            else:
                series = [
                    charts.Series(_("Followers"), [r["followers"] for r in rows]),
                    charts.Series(_("Profile visits"), [r["profile_visits"] for r in rows]),
                ]
                part["csv"] = [
                    {k: r[k] for k in ("day", "followers", "profile_visits")} for r in rows
                ]
            part["svg"] = charts.line_chart(labels, series, title=title, width=640, height=240)
            part["header"] = [_("Day"), *(s.label for s in series)]
            part["rows"] = charts.table_rows(labels, series)
        elif code == "channels":
            rows = _per_channel(channels, period)
            part["svg"] = charts.bar_chart(
                [r["channel"] for r in rows], [r["impressions"] for r in rows], title=title
            )
            part["header"] = [_("Channel"), _("Posts"), _("Impressions"), _("Engagements")]
            part["rows"] = [
                [r["channel"], charts.fmt(r["posts"]), charts.fmt(r["impressions"]),
                 charts.fmt(r["engagements"])]
                for r in rows
            ]  # fmt: skip
            part["csv"] = rows
        elif code == "campaigns":
            rows = dashboard.campaigns(channels, period)
            names = [r["campaign"] or _("Without a campaign") for r in rows]
            part["svg"] = charts.bar_chart(names, [r["impressions"] for r in rows], title=title)
            part["header"] = [_("Campaign"), _("Posts"), _("Impressions"), _("Engagements"),
                              _("Clicks")]  # fmt: skip
            part["rows"] = [
                [n, charts.fmt(r["posts"]), charts.fmt(r["impressions"]),
                 charts.fmt(r["engagements"]), charts.fmt(r["clicks"])]
                for n, r in zip(names, rows, strict=True)
            ]  # fmt: skip
            part["csv"] = rows
        elif code == "heatmap":
            zone = zone_of(workspace)
            heat = dashboard.heatmap(channels, period, zone, workspace=whole)
            days = [str(w) for w in WEEKDAYS]
            values = [[c["per_post"] for c in line["cells"]] for line in heat["grid"]]
            part["svg"] = charts.heatmap(
                days, [f"{h}h" for h in range(24)], values, title=title, cell=21
            )
            part["note"] = _(
                "Engagements per post by weekday and hour of publication (%(zone)s), "
                "from %(n)s posts."
            ) % {"zone": heat["zone"], "n": heat["posts"]}
            if not heat["enough"]:
                part["note"] += " " + _("Not enough data yet to tell.")
            rows = dashboard.heatmap_rows(heat)
            part["header"] = [_("Day"), _("Hour"), _("Posts"), _("Engagements per post")]
            part["rows"] = [
                [days[r["weekday"] - 1], f"{r['hour']}h", charts.fmt(r["posts"]),
                 charts.fmt(r["engagements_per_post"], 1)]
                for r in rows
            ]  # fmt: skip
            part["csv"] = rows
        elif code == "types":
            rows = dashboard.post_types(channels, period)
            names = [str(TYPE_LABELS[r["type"]]) for r in rows]
            part["svg"] = charts.bar_chart(
                names, [r["engagements_per_post"] or 0 for r in rows], title=title
            )
            part["header"] = [_("Type"), _("Posts"), _("Impressions per post"),
                              _("Engagements per post")]  # fmt: skip
            part["rows"] = [
                [n, charts.fmt(r["posts"]), charts.fmt(r["impressions_per_post"]),
                 charts.fmt(r["engagements_per_post"])]
                for n, r in zip(names, rows, strict=True)
            ]  # fmt: skip
            part["csv"] = rows
        elif code == "webcare":
            rows = _webcare(workspace, period)
            part["svg"] = charts.bar_chart(
                [r["who"] for r in rows],
                [r["first_response_minutes"] or 0 for r in rows],
                title=_("Average first response (minutes)"),
                unit="min",
            )
            part["header"] = [_("Department or member"), _("First responses"),
                              _("Average first response (min)"), _("Resolved"),
                              _("SLA met")]  # fmt: skip
            part["rows"] = [
                [r["who"], charts.fmt(r["first_responses"]),
                 charts.fmt(r["first_response_minutes"]), charts.fmt(r["resolved"]),
                 "–" if r["sla_compliance"] is None
                 else charts.fmt(100 * r["sla_compliance"], 1) + "\u00a0%"]
                for r in rows
            ]  # fmt: skip
            part["csv"] = rows
        elif code == "approvals":
            rows = dashboard.approval_waits(workspace, period)
            part["svg"] = charts.bar_chart(
                [r["kind"] for r in rows],
                [r["median_hours"] or 0 for r in rows],
                title=_("Median wait (hours)"),
                unit="h",
            )
            part["header"] = [_("Step"), _("Decided"), _("Median wait (h)"),
                              _("Longest wait (h)"), _("Waiting now")]  # fmt: skip
            part["rows"] = [
                [r["kind"], charts.fmt(r["decided"]), _hours(r["median_hours"]),
                 _hours(r["longest_hours"]), charts.fmt(r["waiting_now"])]
                for r in rows
            ]  # fmt: skip
            part["csv"] = rows
        elif code == "workload":
            rows = dashboard.workload(workspace, period)
            part["svg"] = charts.stacked_bar_chart(
                [r["member"] for r in rows],
                [
                    charts.Series(str(WORKLOAD_LABELS[f]), [r[f] for r in rows])
                    for f in dashboard.WORKLOAD_FIELDS
                ],
                title=title,
            )
            part["header"] = [_("Member"), *(str(WORKLOAD_LABELS[f]) for f in
                                             dashboard.WORKLOAD_FIELDS)]  # fmt: skip
            part["rows"] = [
                [r["member"], *(charts.fmt(r[f]) for f in dashboard.WORKLOAD_FIELDS)] for r in rows
            ]
            part["csv"] = [{k: v for k, v in r.items() if k != "member_id"} for r in rows]
        elif code == "goals":
            from . import goals

            rows = goals.csv_rows(workspace)
            part["header"] = [str(k) for k in (rows[0] if rows else [])]
            part["rows"] = [["" if v is None else str(v) for v in r.values()] for r in rows]
            part["csv"] = rows
        if not part.get("rows"):
            part["empty"] = True
        sections.append(part)
    return {"sections": sections}


WORKLOAD_LABELS: dict[str, Any] = {}


def _workload_labels() -> None:
    from django.utils.translation import gettext_lazy

    WORKLOAD_LABELS.update(
        {
            "conversations_assigned": gettext_lazy("Conversations assigned"),
            "conversations_answered": gettext_lazy("Conversations answered"),
            "posts_authored": gettext_lazy("Posts written"),
            "posts_approved": gettext_lazy("Posts approved"),
            "checklist_items": gettext_lazy("Checklist items done"),
        }
    )


_workload_labels()


def _figure(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric == "engagement_rate":
        return charts.fmt(100 * value, 2) + "\u00a0%"
    return charts.fmt(value)


def _figures_of(channels: Any, period: dashboard.Period) -> list[dict[str, Any]]:
    """Key figures of some channels: the day sums of both periods in one aggregate."""
    before = period.previous()
    names = ("posts", "impressions", "reach", "engagements", "clicks", "video_views")
    wanted: dict[str, Any] = {}
    for key, span in (("now", period), ("then", before)):
        within = Q(day__gte=span.start, day__lte=span.end)
        wanted[f"n_{key}"] = Count("id", filter=within)
        wanted.update({f"{n}_{key}": Sum(n, filter=within) for n in names})
    sums = ChannelDay.objects.filter(
        channel__in=channels, day__gte=before.start, day__lte=period.end
    ).aggregate(**wanted)
    out = []
    for metric in ("impressions", "reach", "engagements", "clicks", "video_views"):
        now = float(sums[f"{metric}_now"] or 0) if sums["n_now"] else None
        then = float(sums[f"{metric}_then"] or 0) if sums["n_then"] else None
        change = (now - then) / abs(then) if now is not None and then else None
        out.append({"metric": metric, "value": now, "previous": then, "change": change})
    return out


def _per_channel(channels: Any, period: dashboard.Period) -> list[dict[str, Any]]:
    rows = (
        ChannelDay.objects.filter(channel__in=channels, day__gte=period.start, day__lte=period.end)
        .values("channel", "channel__name")
        .annotate(
            posts=Sum("posts"), impressions=Sum("impressions"), engagements=Sum("engagements")
        )
        .order_by("-impressions", "channel__name")
    )
    return [
        {
            "channel": row["channel__name"],
            "posts": row["posts"] or 0,
            "impressions": row["impressions"] or 0,
            "engagements": row["engagements"] or 0,
        }
        for row in rows
    ]


def _webcare(workspace: Workspace, period: dashboard.Period) -> list[dict[str, Any]]:
    """First response, resolution and SLA compliance per department, then per member."""
    from portevoix.care.metrics import summary
    from portevoix.care.models import WebcareStat
    from portevoix.core.models import Department

    rows = WebcareStat.objects.filter(
        workspace=workspace, hour__gte=period.start_at, hour__lt=period.end_at
    )
    result = summary(rows, period.zone, period.start_at, period.end_at - dt.timedelta(seconds=1))
    departments = dict(Department.objects.filter(workspace=workspace).values_list("pk", "name"))
    people = {
        m.pk: m.user.display_name
        for m in Member.objects.filter(workspace=workspace).select_related("user")
    }
    out = []
    groups: Iterable[tuple[str, Mapping[Any, Any], Mapping[Any, str], str]] = (
        ("department", result.by_department, departments, _("The social media team")),
        ("member", result.by_assignee, people, _("Nobody (unassigned)")),
    )
    for kind, totals, names, nobody in groups:
        for pk, t in totals.items():
            decided = t.sla_met + t.sla_breached
            out.append(
                {
                    "group": kind,
                    "who": (names.get(pk, "") if pk else nobody),
                    "first_responses": t.first_responses,
                    "first_response_minutes": (
                        round(t.first_response_seconds / t.first_responses / 60, 1)
                        if t.first_responses
                        else None
                    ),
                    "resolved": t.resolved,
                    "sla_compliance": t.sla_met / decided if decided else None,
                }
            )
    return out


def to_csv(report: ScheduledReport, period: dashboard.Period, built: dict[str, Any]) -> str:
    """Every section's raw numbers, one block each: the section's code in the first column of
    each line, then its header line and its rows (dots as decimal marks)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["report", report.name, period.start.isoformat(), period.end.isoformat()])
    for part in built["sections"]:
        rows = part.get("csv") or []
        if not rows:
            writer.writerow([part["code"], "no data"])
            continue
        columns = list(rows[0])
        writer.writerow([part["code"], *columns])
        for row in rows:
            writer.writerow(
                [part["code"], *("" if row.get(c) is None else row.get(c) for c in columns)]
            )
    return out.getvalue()


def render_pdf(report: ScheduledReport, period: dashboard.Period, *, language: str) -> bytes:
    """The report as a PDF in ``language`` (charts with their tables under them)."""
    zone = zone_of(report.workspace)
    with translation.override(language), timezone.override(zone):
        built = build(report, period)
        channels, whole = channels_of(report)
        context = {
            "workspace_name": report.workspace.name,
            "report_title": report.name,
            "generated_at": timezone.now(),
            "report": report,
            "period": period,
            "channels": [] if whole else [c.name for c in channels.order_by("name")],
            **built,
        }
        return pdf.render_pdf("analytics/report_pdf.html", context, language=language)


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def language_of(member: Member) -> str:
    return member.user.language or member.workspace.language or settings.LANGUAGE_CODE


def may_read(member: Member, report: ScheduledReport) -> bool:
    """May ``member`` receive or open this report? ``analytics.view``, and what its sections
    need (webcare: every conversation; goals: strategy)."""
    if not member.is_active or member.workspace_id != report.workspace_id:
        return False
    if not can(member, "analytics.view"):
        return False
    return all(
        can(member, need) for code, need in SECTION_NEEDS.items() if code in (report.sections or [])
    )


def handle_producing(run: ReportRun) -> Outcome:
    """Render, store and tell, in one transaction; a run already made is only closed."""
    from portevoix.notifications.actions import notify

    report = run.report
    period = dashboard.Period(run.period_start, run.period_end, zone_of(report.workspace))
    if run.produced_at is None:
        # Rendering is the slow part and touches nothing: done before the transaction.
        files = {lang: render_pdf(report, period, language=lang) for lang in languages()}
        with translation.override(settings.LANGUAGE_CODE):
            text = to_csv(report, period, build(report, period))
    with transaction.atomic():
        mine = ReportRun.objects.select_for_update().filter(
            pk=run.pk, state=ReportRunStates.producing.name, locked_by=run.locked_by
        )
        current = mine.first()
        if current is None:
            raise LeaseLost(f"ReportRun {run.pk}: not ours any more")
        if current.produced_at is not None:
            # Made and told by an earlier attempt whose result was not written: close it.
            return Outcome(ReportRunStates.sent, fields={"produced_at": current.produced_at})
        for lang, content in files.items():
            ReportFile.objects.update_or_create(run=run, language=lang, defaults={"pdf": content})
        people = [
            m for m in report.recipients.select_related("user", "workspace") if may_read(m, report)
        ]
        url = reverse("analytics_reports", kwargs={"ws": report.workspace.slug})
        told = notify(
            report.workspace,
            KIND,
            people,
            obj=run,
            params={
                "run": run.pk,
                "report": report.name,
                "period_start_at": period.start_at.isoformat(),
                "period_end_at": (period.end_at - dt.timedelta(seconds=1)).isoformat(),
            },
            url=url + f"#run-{run.pk}",
            key=f"report-run-{run.pk}",
        )
        now = timezone.now()
        ReportRun.objects.filter(pk=run.pk).update(
            produced_at=now, csv=text, recipients_told=len(told)
        )
    return Outcome(ReportRunStates.sent, fields={"produced_at": now})


def attachments(params: Mapping[str, Any], language: str) -> list[tuple[str, bytes, str]]:
    """The e-mail's files: the PDF in the reader's language (else another one) and the CSV."""
    run_id = params.get("run")
    if not isinstance(run_id, int):
        return []
    run = ReportRun.objects.filter(pk=run_id).select_related("report").first()
    if run is None:
        return []
    files = {f.language: bytes(f.pdf) for f in run.files.all()}
    content = (
        files.get(language) or files.get(settings.LANGUAGE_CODE) or next(iter(files.values()), None)
    )
    name = (
        f"{slugify(run.report.name) or 'report'}-{run.period_start:%Y%m%d}-{run.period_end:%Y%m%d}"
    )
    out = []
    if content:
        out.append((f"{name}.pdf", content, "application/pdf"))
    if run.csv:
        out.append((f"{name}.csv", run.csv.encode(), "text/csv"))
    return out
