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
from .models import Experiment, ExperimentMetric, Insight

AUDIT_LABELS = {
    "insight.write": gettext_noop("Insight written on a chart"),
    "analytics.slots": gettext_noop("Suggested posting slots added"),
    "experiment.create": gettext_noop("Experiment started"),
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
