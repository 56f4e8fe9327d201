"""Snapshots in, rollups out.

:func:`record_post` and :func:`record_account` append a snapshot and move the channel's day
and hour rollups by the difference with the previous snapshot, so a rollup always holds the
sum of its posts' latest totals. :func:`rebuild` recomputes a channel's rollups from the
snapshots alone (after a bulk import, or to check them).

The workspace rollups (``WorkspaceDay``: the sum of the channels' days; ``WorkspaceHour``: posts
by local day and hour in the workspace's zone, for the all-channels heatmap) move with the
same differences, in the same transaction. :func:`rebuild` takes the channel's old share out
of them and puts the new one in; :func:`rebuild_workspace` recomputes them from the channel
rollups (after the workspace's time zone changed, or to check them). Both are idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import F, Max

from portevoix.channels.models import Channel
from portevoix.networks.types import AccountMetrics
from portevoix.publishing.models import Publication

from .models import (
    POST_FIELDS,
    AccountSnapshot,
    ChannelDay,
    ChannelHour,
    PostSnapshot,
    Source,
    WorkspaceDay,
    WorkspaceHour,
)

COUNTERS = (*POST_FIELDS, "likes", "comments", "shares")


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: dt.datetime, channel: Channel) -> dt.date:
    return moment.astimezone(channel.audience_zone).date()


def _bump(
    model: Any, owner: Mapping[str, Any], key: Mapping[str, Any], deltas: Mapping[str, int]
) -> None:
    changes = {name: F(name) + value for name, value in deltas.items() if value}
    if not changes:
        return
    row, _ = model.objects.get_or_create(**owner, **key)
    model.objects.filter(pk=row.pk).update(**changes)


HEAT_FIELDS = ("posts", "impressions", "engagements")


def workspace_zone(channel: Channel) -> ZoneInfo:
    try:
        return ZoneInfo(channel.workspace.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _heat_key(moment: dt.datetime, zone: ZoneInfo) -> dict[str, Any]:
    local = moment.astimezone(zone)
    return {"day": local.date(), "hour": local.hour, "weekday": local.isoweekday()}


def _bump_post(channel: Channel, published: dt.datetime, deltas: Mapping[str, int]) -> None:
    """Move every rollup a post counts in: its channel's day and hour, the workspace's day
    and its local hour."""
    day = day_of(published, channel)
    _bump(ChannelDay, {"channel": channel}, {"day": day}, deltas)
    _bump(ChannelHour, {"channel": channel}, {"hour": hour_of(published)}, deltas)
    owner = {"workspace_id": channel.workspace_id}
    _bump(WorkspaceDay, owner, {"day": day}, deltas)
    heat = {name: deltas.get(name, 0) for name in HEAT_FIELDS}
    _bump(WorkspaceHour, owner, _heat_key(published, workspace_zone(channel)), heat)


@transaction.atomic
def record_post(
    publication: Publication,
    *,
    taken_at: dt.datetime,
    source: str,
    values: Mapping[str, int | None],
) -> PostSnapshot:
    """Append one snapshot of ``publication`` and move its channel's rollups."""
    channel = publication.channel
    previous = PostSnapshot.objects.filter(publication=publication).order_by("-taken_at", "-id")
    before = previous.first()
    # A counter the network stops reporting keeps its last value (None is "not measured").
    merged = {
        name: values.get(name) if values.get(name) is not None else getattr(before, name, None)
        for name in COUNTERS
    }
    snapshot = PostSnapshot.objects.create(
        publication=publication, channel=channel, taken_at=taken_at, source=source, **merged
    )
    deltas = {
        name: (merged[name] or 0) - (getattr(before, name, None) or 0) for name in POST_FIELDS
    }
    deltas["posts"] = 0 if before is not None else 1
    _bump_post(channel, publication.published_at or taken_at, deltas)
    return snapshot


@transaction.atomic
def record_account(channel: Channel, figures: AccountMetrics) -> AccountSnapshot:
    """Append the account's figures; the day of the reading gets its followers and visits."""
    snapshot = AccountSnapshot.objects.create(
        channel=channel,
        taken_at=figures.taken_at,
        since=figures.since,
        followers=figures.followers,
        profile_visits=figures.profile_visits,
    )
    day = day_of(figures.taken_at, channel)
    row, _ = ChannelDay.objects.select_for_update().get_or_create(channel=channel, day=day)
    changes: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    if figures.followers is not None:
        changes["followers"] = figures.followers
        # The workspace's day holds the sum of the channels' latest readings of the day.
        totals["followers"] = F("followers") + figures.followers - (row.followers or 0)
        if row.followers is None:
            totals["follower_channels"] = F("follower_channels") + 1
    if figures.profile_visits:
        changes["profile_visits"] = F("profile_visits") + figures.profile_visits
        totals["profile_visits"] = F("profile_visits") + figures.profile_visits
    if changes:
        ChannelDay.objects.filter(pk=row.pk).update(**changes)
        total, _ = WorkspaceDay.objects.get_or_create(workspace_id=channel.workspace_id, day=day)
        WorkspaceDay.objects.filter(pk=total.pk).update(**totals)
    return snapshot


def engagements_of(likes: int | None, comments: int | None, shares: int | None) -> int | None:
    """Engagements: likes, comments and shares (reactions, answers, reposts)."""
    if likes is None and comments is None and shares is None:
        return None
    return (likes or 0) + (comments or 0) + (shares or 0)


@transaction.atomic
def rebuild(channel: Channel) -> int:
    """Recompute ``channel``'s day and hour rollups from its snapshots; returns the days.

    The workspace rollups lose the channel's old rows and gain the new ones."""
    _share(channel, -1)
    ChannelDay.objects.filter(channel=channel).delete()
    ChannelHour.objects.filter(channel=channel).delete()
    zone = channel.audience_zone
    days: dict[dt.date, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(POST_FIELDS, 0))
    hours: dict[dt.datetime, dict[str, int]] = defaultdict(lambda: dict.fromkeys(POST_FIELDS, 0))
    latest = (
        PostSnapshot.objects.filter(channel=channel)
        .values("publication")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    rows = PostSnapshot.objects.filter(id__in=list(latest)).select_related("publication")
    for snap in rows:
        published = snap.publication.published_at or snap.taken_at
        day = days[published.astimezone(zone).date()]
        hour = hours[hour_of(published)]
        for row in (day, hour):
            row["posts"] = row.get("posts", 0) + 1
            for name in POST_FIELDS:
                row[name] += getattr(snap, name) or 0
    for snap in AccountSnapshot.objects.filter(channel=channel).order_by("taken_at", "id"):
        day = days[snap.taken_at.astimezone(zone).date()]
        if snap.followers is not None:
            day["followers"] = snap.followers
        day["profile_visits"] = day.get("profile_visits", 0) + (snap.profile_visits or 0)
    ChannelDay.objects.bulk_create(
        [ChannelDay(channel=channel, day=d, **values) for d, values in days.items()],
        batch_size=500,
    )
    ChannelHour.objects.bulk_create(
        [ChannelHour(channel=channel, hour=h, **values) for h, values in hours.items()],
        batch_size=500,
    )
    _share(channel, +1)
    return len(days)


DAY_SUMS = (*POST_FIELDS, "posts", "profile_visits")


def _share(channel: Channel, sign: int) -> None:
    """Add (``sign`` 1) or take out (-1) ``channel``'s rollups from its workspace's."""
    owner = {"workspace_id": channel.workspace_id}
    for row in ChannelDay.objects.filter(channel=channel).values():
        deltas = {name: sign * row[name] for name in DAY_SUMS}
        if row["followers"] is not None:
            deltas["followers"] = sign * row["followers"]
            deltas["follower_channels"] = sign
        _bump(WorkspaceDay, owner, {"day": row["day"]}, deltas)
    zone = workspace_zone(channel)
    for row in ChannelHour.objects.filter(channel=channel, posts__gt=0).values():
        heat = {name: sign * row[name] for name in HEAT_FIELDS}
        _bump(WorkspaceHour, owner, _heat_key(row["hour"], zone), heat)


@transaction.atomic
def rebuild_workspace(workspace: Any) -> int:
    """Recompute the workspace's rollups from its channels' (idempotent); returns the days."""
    from django.db.models import Count, Q, Sum

    WorkspaceDay.objects.filter(workspace=workspace).delete()
    WorkspaceHour.objects.filter(workspace=workspace).delete()
    days = (
        ChannelDay.objects.filter(channel__workspace=workspace)
        .values("day")
        .annotate(
            **{name: Sum(name) for name in DAY_SUMS},
            f=Sum("followers"),
            fc=Count("id", filter=Q(followers__isnull=False)),
        )
    )
    made = WorkspaceDay.objects.bulk_create(
        [
            WorkspaceDay(
                workspace=workspace,
                day=row["day"],
                followers=row["f"] or 0,
                follower_channels=row["fc"],
                **{name: row[name] or 0 for name in DAY_SUMS},
            )
            for row in days
        ],
        batch_size=500,
    )
    try:
        zone = ZoneInfo(workspace.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    heat: dict[tuple[dt.date, int, int], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(HEAT_FIELDS, 0)
    )
    rows = ChannelHour.objects.filter(channel__workspace=workspace, posts__gt=0).values_list(
        "hour", *HEAT_FIELDS
    )
    for hour, *values in rows.iterator(chunk_size=5000):
        key = _heat_key(hour, zone)
        cell = heat[(key["day"], key["hour"], key["weekday"])]
        for name, value in zip(HEAT_FIELDS, values, strict=True):
            cell[name] += value
    WorkspaceHour.objects.bulk_create(
        [
            WorkspaceHour(workspace=workspace, day=d, hour=h, weekday=w, **values)
            for (d, h, w), values in heat.items()
        ],
        batch_size=500,
    )
    return len(made)


__all__ = [
    "Source",
    "engagements_of",
    "rebuild",
    "rebuild_workspace",
    "record_account",
    "record_post",
]
