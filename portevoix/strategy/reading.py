"""What the strategy pages show: the review prompt and the plan's actual content mix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.core.models import Workspace
from portevoix.publishing.models import Campaign, Post, PostKind

from .models import CanvasVersion, Pillar, PostPillar, StrategySettings

#: The plan the mix is computed over: posts scheduled this far back and ahead.
MIX_WINDOW = dt.timedelta(days=45)


def review_months(workspace: Workspace) -> int:
    row = StrategySettings.objects.filter(workspace=workspace).first()
    return row.review_after_months if row else 6


def review_reasons(workspace: Workspace, now: dt.datetime | None = None) -> list[str]:
    """Why the strategy should be reviewed now (seed 003: after every major event)."""
    now = now or timezone.now()
    current = CanvasVersion.objects.filter(workspace=workspace).order_by("-number").first()
    if current is None:
        return [_("The strategy has not been written down yet.")]
    reasons = []
    months = review_months(workspace)
    if current.saved_at + dt.timedelta(days=round(30.44 * months)) <= now:
        reasons.append(_("The canvas was last saved more than %(n)d months ago.") % {"n": months})
    ended = Campaign.objects.filter(
        workspace=workspace,
        ends_on__gte=current.saved_at.date(),
        ends_on__lt=now.date(),
    ).order_by("-ends_on")[:3]
    for campaign in ended:
        reasons.append(
            _("The campaign “%(name)s” ended on %(day)s, after the last review.")
            % {"name": campaign.name, "day": campaign.ends_on}
        )
    from portevoix.crisis.models import Incident

    closed = Incident.objects.filter(
        workspace=workspace, closed_at__gt=current.saved_at, closed_at__lte=now
    ).order_by("-closed_at")[:3]
    for incident in closed:
        reasons.append(
            _("The incident “%(title)s” was closed on %(day)s, after the last review.")
            % {"title": incident.title, "day": timezone.localdate(incident.closed_at)}
        )
    return reasons


@dataclass
class MixRow:
    pillar: Pillar
    posts: int
    actual_percent: int
    gap: int  # actual - target, in points


def plan_posts(workspace: Workspace, now: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    now = now or timezone.now()
    return (
        Post.objects.filter(
            workspace=workspace,
            kind=PostKind.POST,
            publications__scheduled_at__gte=now - MIX_WINDOW,
            publications__scheduled_at__lt=now + MIX_WINDOW,
        )
        .distinct()
        .order_by("-created_at")
    )


def pillar_mix(workspace: Workspace, now: dt.datetime | None = None) -> tuple[list[MixRow], int]:
    """Per pillar: posts of the plan labelled with it and their share; and how many plan
    posts carry no pillar."""
    posts = plan_posts(workspace, now)
    ids = list(posts.values_list("pk", flat=True))
    counts = dict(
        PostPillar.objects.filter(post_id__in=ids)
        .values_list("pillar_id")
        .annotate(n=Count("id"))
        .values_list("pillar_id", "n")
    )
    labelled = sum(counts.values())
    rows = []
    for pillar in Pillar.objects.filter(workspace=workspace):
        n = counts.get(pillar.pk, 0)
        share = round(100 * n / labelled) if labelled else 0
        rows.append(MixRow(pillar, n, share, share - pillar.target_percent))
    return rows, len(ids) - labelled
