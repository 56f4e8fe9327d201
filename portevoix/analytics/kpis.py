"""What a KPI measures: :func:`measure` answers one number for a workspace (or one of its
channels) over a period, or ``None`` when there is no data to say it.

This is the meeting point with strategy (goals and KPIs): a KPI names one of :data:`METRICS`.
Rates are fractions (0.042 is 4.2 %); times are minutes. Webcare figures (first response,
SLA compliance, resolved conversations) are the workspace's whole inbox: conversations are
not kept per channel in the webcare rollups, so ``channel`` does not narrow them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum

from portevoix.channels.models import Channel
from portevoix.core.models import Workspace
from portevoix.publishing.models import Publication, PublicationStates

from .models import AccountSnapshot, ChannelDay

SUMS = ("impressions", "reach", "engagements", "clicks", "video_views", "profile_visits")
METRICS = (
    "followers",
    "follower_growth",
    "impressions",
    "reach",
    "engagements",
    "engagement_rate",
    "clicks",
    "video_views",
    "posts_published",
    "mentions",
    "share_of_voice",
    "leads",
    "deal_value",
    "first_response_minutes",
    "sla_compliance",
    "conversations_resolved",
    "profile_visits",
)
#: Counted by listening (``portevoix.listening``): what people say of the brand.
LISTENING_METRICS = frozenset({"mentions", "share_of_voice"})
#: Leads and deal values, recorded by hand, CSV or the CRM (``portevoix.roi``).
LEAD_METRICS = frozenset({"leads", "deal_value"})
#: KPIs whose figures are money: shown only to members with ``money.view`` (goal tables,
#: their CSV, the strategy page).
MONEY_METRICS = frozenset({"deal_value"})


def _channels(workspace: Workspace, channel: Channel | None) -> QuerySet[Channel]:
    channels = Channel.objects.filter(workspace=workspace)
    if channel is not None:
        if channel.workspace_id != workspace.pk:
            raise ValueError("the channel is not in this workspace")
        channels = channels.filter(pk=channel.pk)
    return channels


def _days(workspace: Workspace, start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    """The local days of ``[start, end)`` (a day counts when it starts in the period)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(workspace.time_zone or "UTC")
    first = start.astimezone(zone).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return first, last


def followers_at(channels: QuerySet[Channel], moment: dt.datetime) -> int | None:
    """The channels' followers at their latest reading before ``moment`` (summed; one query,
    one index lookup per channel)."""
    latest = (
        AccountSnapshot.objects.filter(
            channel=OuterRef("pk"), taken_at__lte=moment, followers__isnull=False
        )
        .order_by("-taken_at", "-id")
        .values("followers")[:1]
    )
    rows = channels.annotate(followers=Subquery(latest)).values_list("followers", flat=True)
    values = [v for v in rows if v is not None]
    return sum(values) if values else None


def _webcare(workspace: Workspace, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    from portevoix.care.models import WebcareStat

    return WebcareStat.objects.filter(workspace=workspace, hour__gte=start, hour__lt=end).aggregate(
        first_responses=Sum("first_responses"),
        first_response_seconds=Sum("first_response_seconds"),
        resolved=Sum("resolved"),
        met=Sum("sla_met"),
        breached=Sum("sla_breached"),
        hours=Count("id"),
    )


def _listening(
    workspace: Workspace,
    metric: str,
    *,
    channel: Channel | None,
    start: dt.datetime,
    end: dt.datetime,
) -> float | None:
    """Mentions of the brand (its brand, product and executive queries, each mention once) and
    its share of voice against the competitor queries, by the date people posted them, as the
    listening page counts them. With a channel, only what was said on that channel's network.
    ``None`` when nothing is listened for: a workspace without a brand query (or, for the
    share of voice, without a competitor query) has no figure, not a zero."""
    from portevoix.listening.models import OWN_KINDS, ListeningQuery, Mention, QueryKind

    queries = ListeningQuery.objects.filter(workspace=workspace)
    own = list(queries.filter(kind__in=OWN_KINDS).values_list("pk", flat=True))
    if not own:
        return None
    mentions = Mention.objects.filter(workspace=workspace, posted_at__gte=start, posted_at__lt=end)
    if channel is not None:
        if channel.workspace_id != workspace.pk:
            raise ValueError("the channel is not in this workspace")
        mentions = mentions.filter(network=channel.network)
    brand = mentions.filter(queries__in=own).values("pk").distinct().count()
    if metric == "mentions":
        return float(brand)
    rivals = list(queries.filter(kind=QueryKind.COMPETITOR).values_list("pk", flat=True))
    if not rivals:
        return None
    # Each competitor's mentions count for it, as on the listening page (a post naming two
    # competitors is a voice for each).
    through = Mention.queries.through.objects.filter(
        mention__in=mentions, listeningquery_id__in=rivals
    )
    others = through.values("mention_id", "listeningquery_id").distinct().count()
    total = brand + others
    return brand / total if total else None


def measure(
    workspace: Workspace,
    metric: str,
    *,
    channel: Channel | None = None,
    start: dt.datetime,
    end: dt.datetime,
) -> float | None:
    """``metric`` (one of :data:`METRICS`) over ``[start, end)``; ``None``: no data."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if metric in LISTENING_METRICS:
        return _listening(workspace, metric, channel=channel, start=start, end=end)
    if metric in LEAD_METRICS:
        from portevoix.roi.figures import lead_kpi

        return lead_kpi(workspace, metric, channel=channel, start=start, end=end)
    channels = _channels(workspace, channel)
    if metric == "followers":
        value = followers_at(channels, end)
        return None if value is None else float(value)
    if metric == "follower_growth":
        after = followers_at(channels, end)
        if after is None:
            return None
        before = followers_at(channels, start)
        if before is None:
            first = (
                AccountSnapshot.objects.filter(
                    channel__in=channels, taken_at__gte=start, followers__isnull=False
                )
                .order_by("taken_at")
                .first()
            )
            if first is None:
                return None
            before = followers_at(channels, first.taken_at)
        return float(after - (before or 0))
    if metric == "posts_published":
        count = Publication.objects.filter(
            channel__in=channels,
            state=PublicationStates.published.name,
            published_at__gte=start,
            published_at__lt=end,
        ).count()
        return float(count)
    if metric in SUMS or metric == "engagement_rate":
        first, last = _days(workspace, start, end)
        rows = ChannelDay.objects.filter(channel__in=channels, day__gte=first, day__lte=last)
        totals = rows.aggregate(n=Count("id"), **{name: Sum(name) for name in SUMS})
        if not totals["n"]:
            return None
        if metric == "engagement_rate":
            impressions = totals["impressions"] or 0
            return (totals["engagements"] or 0) / impressions if impressions else None
        return float(totals[metric] or 0)
    care = _webcare(workspace, start, end)
    if not care["hours"]:
        return None
    if metric == "first_response_minutes":
        answered = care["first_responses"] or 0
        return (care["first_response_seconds"] or 0) / answered / 60 if answered else None
    if metric == "sla_compliance":
        decided = (care["met"] or 0) + (care["breached"] or 0)
        return (care["met"] or 0) / decided if decided else None
    assert metric == "conversations_resolved"
    return float(care["resolved"] or 0)


__all__ = ["METRICS", "measure"]
