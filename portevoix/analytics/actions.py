"""Every change analytics makes: insights written on charts, and suggested posting slots
taken into the publishing plan. Each checks permission, writes the audit entry in the same
transaction and tells people through ``notify`` inside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import can, require
from portevoix.publishing.models import PostingSlot, Publication, PublicationStates

from . import notices
from .models import (
    REPORT_SECTIONS,
    Experiment,
    ExperimentMetric,
    Insight,
    ReportFrequency,
    ReportRun,
    ScheduledReport,
)

AUDIT_LABELS = {
    "insight.write": gettext_noop("Insight written on a chart"),
    "analytics.slots": gettext_noop("Suggested posting slots added"),
    "experiment.create": gettext_noop("Experiment started"),
    "report.create": gettext_noop("Scheduled report created"),
    "report.pause": gettext_noop("Scheduled report paused"),
    "report.resume": gettext_noop("Scheduled report resumed"),
    "report.send": gettext_noop("Report sent now"),
}

#: The charts an insight may be about (key: label), as the dashboard names them.
CHARTS = {
    "goals": gettext_noop("Goals and their targets"),
    "overview": gettext_noop("Key figures"),
    "daily": gettext_noop("Impressions and engagements per day"),
    "followers": gettext_noop("Followers"),
    "heatmap": gettext_noop("Best time to post"),
    "types": gettext_noop("Post types"),
    "frequency": gettext_noop("Posting frequency"),
    "campaigns": gettext_noop("Campaigns"),
    "webcare": gettext_noop("Webcare"),
    "approvals": gettext_noop("Approval wait times"),
    "workload": gettext_noop("Team workload"),
    # Money (portevoix.roi): the return on investment for who sees money; clicks for all.
    "roi": gettext_noop("Return on investment per channel"),
    "roi_campaigns": gettext_noop("Return on investment per campaign"),
    "link_clicks": gettext_noop("Clicks on short links"),
}
MAX_INSIGHT = 4000


@transaction.atomic
def write_insight(
    workspace: Workspace,
    *,
    by: Member,
    chart: str,
    text: str,
    period_start: dt.date,
    period_end: dt.date,
    channel: Channel | None = None,
) -> Insight:
    """The analyst's reading of a chart; everyone who sees analytics is told."""
    require(by, "analytics.report")
    _same_workspace(by, workspace)
    if chart not in CHARTS:
        raise ActionRefused(_("Choose the chart this insight is about."), field="chart")
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write what the chart shows."), field="text")
    if len(text) > MAX_INSIGHT:
        raise ActionRefused(
            _("An insight has at most %(n)s characters.") % {"n": MAX_INSIGHT}, field="text"
        )
    if period_end < period_start:
        raise ActionRefused(_("The period ends before it starts."), field="period_end")
    if channel is not None and channel.workspace_id != workspace.pk:
        raise ActionRefused(_("Choose a channel of this workspace."), field="channel")
    insight = Insight.objects.create(
        workspace=workspace,
        chart=chart,
        channel=channel,
        period_start=period_start,
        period_end=period_end,
        text=text,
        author=by,
    )
    audit.record(
        "insight.write",
        workspace=workspace,
        actor=by.user,
        obj=insight,
        after={"chart": chart, "channel": channel.pk if channel else None, "text": text},
    )
    team = [
        m
        for m in Member.objects.filter(workspace=workspace, is_active=True).exclude(pk=by.pk)
        if can(m, "analytics.view")
    ]
    from portevoix.notifications.actions import notify

    url = reverse("analytics", kwargs={"ws": workspace.slug})
    query = f"?start={period_start:%Y-%m-%d}&end={period_end:%Y-%m-%d}"
    if channel is not None:
        query += f"&channel={channel.pk}"
    notify(
        workspace,
        notices.INSIGHT,
        team,
        obj=insight,
        params={
            "author": by.user.display_name,
            "chart": chart,
            "chart_label": CHARTS[chart],
            "channel": channel.name if channel else "",
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "text": text,
        },
        url=f"{url}{query}#insight-{insight.pk}",
    )
    return insight


@transaction.atomic
def add_suggested_slots(
    channel: Channel, *, by: Member, slots: Sequence[tuple[int, dt.time]]
) -> list[PostingSlot]:
    """Take the best-time suggestions into the channel's posting slots (those it lacks)."""
    from portevoix.publishing import actions as publishing

    require(by, "plan.manage")
    _same_workspace(by, channel.workspace)
    if not slots:
        raise ActionRefused(_("There is no suggested slot to add yet."), field="slots")
    existing = set(PostingSlot.objects.filter(channel=channel).values_list("weekday", "time"))
    made = [
        publishing.add_slot(channel, by=by, weekday=weekday, time=time)
        for weekday, time in slots
        if (weekday, time) not in existing
    ]
    audit.record(
        "analytics.slots",
        workspace=channel.workspace,
        actor=by.user,
        obj=channel,
        after={"added": [str(slot) for slot in made]},
    )
    return made


@transaction.atomic
def start_experiment(
    workspace: Workspace,
    *,
    by: Member,
    name: str,
    variant_a: Publication,
    variant_b: Publication,
    metric: str,
) -> Experiment:
    """Compare two variants of a post on one channel, published at comparable times."""
    from . import experiments

    require(by, "post.create")
    _same_workspace(by, workspace)
    name = name.strip()
    if not name:
        raise ActionRefused(_("Give the experiment a name."), field="name")
    if metric not in ExperimentMetric.values:
        raise ActionRefused(_("Choose the metric to compare."), field="metric")
    for variant in (variant_a, variant_b):
        if variant.channel.workspace_id != workspace.pk:
            raise ActionRefused(_("Choose posts of this workspace."), field="variant_b")
    if variant_a.pk == variant_b.pk:
        raise ActionRefused(_("Choose two different posts."), field="variant_b")
    if variant_a.channel_id != variant_b.channel_id:
        raise ActionRefused(
            _(
                "Both variants go out on the same channel (organic posts cannot split an "
                "audience: the variants are split by time)."
            ),
            field="variant_b",
        )
    usable = {PublicationStates.published.name, PublicationStates.scheduled.name}
    if variant_a.state not in usable or variant_b.state not in usable:
        raise ActionRefused(_("Both variants must be published or scheduled."), field="variant_b")
    if not experiments.comparable(variant_a, variant_b):
        raise ActionRefused(
            _(
                "Publish the variants at comparable times: within two hours of the same time "
                "of day, in the audience’s time zone."
            ),
            field="variant_b",
        )
    experiment = Experiment.objects.create(
        workspace=workspace,
        name=name,
        channel=variant_a.channel,
        metric=metric,
        variant_a=variant_a,
        variant_b=variant_b,
        created_by=by,
    )
    audit.record(
        "experiment.create",
        workspace=workspace,
        actor=by.user,
        obj=experiment,
        after={"name": name, "metric": metric, "a": variant_a.pk, "b": variant_b.pk},
    )
    return experiment


MAX_REPORTS = 50


@transaction.atomic
def create_report(
    workspace: Workspace,
    *,
    by: Member,
    name: str,
    frequency: str,
    sections: Sequence[str],
    channels: Sequence[Channel],
    recipients: Sequence[Member],
) -> ScheduledReport:
    """A report made at the end of each week or month and e-mailed to ``recipients``, each
    of whom must be allowed to read everything it contains."""
    from .reports import may_read

    require(by, "analytics.report")
    _same_workspace(by, workspace)
    name = name.strip()
    if not name:
        raise ActionRefused(_("Give the report a name."), field="name")
    if frequency not in ReportFrequency.values:
        raise ActionRefused(_("Choose weekly or monthly."), field="frequency")
    chosen = [code for code in REPORT_SECTIONS if code in set(sections)]
    if not chosen or len(chosen) != len(set(sections)):
        raise ActionRefused(_("Choose at least one part of the dashboard."), field="sections")
    if any(c.workspace_id != workspace.pk for c in channels):
        raise ActionRefused(_("Choose channels of this workspace."), field="channels")
    people = list({m.pk: m for m in recipients}.values())
    if not people:
        raise ActionRefused(_("Choose at least one recipient."), field="recipients")
    draft = ScheduledReport(workspace=workspace, sections=chosen)
    refused = [m for m in people if not may_read(m, draft)]
    if refused:
        raise ActionRefused(
            _(
                "%(names)s may not read this report "
                "(analytics, or a part of it, is not theirs to see)."
            )
            % {"names": ", ".join(str(m.user) for m in refused)},
            field="recipients",
        )
    if ScheduledReport.objects.filter(workspace=workspace).count() >= MAX_REPORTS:
        raise ActionRefused(_("A workspace has at most %(n)s reports.") % {"n": MAX_REPORTS})
    report = ScheduledReport.objects.create(
        workspace=workspace, name=name[:120], frequency=frequency, sections=chosen, created_by=by
    )
    report.channels.set(channels)
    report.recipients.set(people)
    audit.record(
        "report.create",
        workspace=workspace,
        actor=by.user,
        obj=report,
        after={
            "name": report.name,
            "frequency": frequency,
            "sections": chosen,
            "channels": [c.pk for c in channels],
            "recipients": [m.pk for m in people],
        },
    )
    return report


@transaction.atomic
def set_report_active(report: ScheduledReport, *, by: Member, active: bool) -> ScheduledReport:
    """Pause or resume a report's schedule (its history stays)."""
    require(by, "analytics.report")
    _same_workspace(by, report.workspace)
    if report.active != active:
        report.active = active
        report.save(update_fields=["active"])
        audit.record(
            "report.resume" if active else "report.pause",
            workspace=report.workspace,
            actor=by.user,
            obj=report,
            before={"active": not active},
            after={"active": active},
        )
    return report


@transaction.atomic
def send_report_now(report: ScheduledReport, *, by: Member) -> tuple[ReportRun, bool]:
    """The report of the last finished period, made and sent by the worker at once; a
    period already reported is not sent again (returns it, and False)."""
    from django.utils import timezone

    from .reports import last_finished

    require(by, "analytics.report")
    _same_workspace(by, report.workspace)
    period = last_finished(report, timezone.now())
    run, created = ReportRun.objects.get_or_create(
        report=report,
        period_start=period.start,
        period_end=period.end,
        defaults={"trigger": "manual", "requested_by": by},
    )
    if created:
        audit.record(
            "report.send",
            workspace=report.workspace,
            actor=by.user,
            obj=report,
            after={"run": run.pk, "from": str(period.start), "to": str(period.end)},
        )
    return run, created
