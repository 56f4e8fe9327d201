"""Snapshots in, rollups out.

:func:`record_post` and :func:`record_account` append a snapshot and move the channel's day
and hour rollups by the difference with the previous snapshot, so a rollup always holds the
sum of its posts' latest totals. :func:`rebuild` recomputes a channel's rollups from the
snapshots alone (after a bulk import, or to check them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Max

from portevoix.channels.models import Channel
from portevoix.networks.types import AccountMetrics
from portevoix.publishing.models import Publication

from .models import POST_FIELDS, AccountSnapshot, ChannelDay, ChannelHour, PostSnapshot, Source

COUNTERS = (*POST_FIELDS, "likes", "comments", "shares")


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: dt.datetime, channel: Channel) -> dt.date:
    return moment.astimezone(channel.audience_zone).date()


def _bump(model: Any, channel: Channel, key: Mapping[str, Any], deltas: Mapping[str, int]) -> None:
    changes = {name: F(name) + value for name, value in deltas.items() if value}
    if not changes:
        return
    row, _ = model.objects.get_or_create(channel=channel, **key)
    model.objects.filter(pk=row.pk).update(**changes)


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
    published = publication.published_at or taken_at
    _bump(ChannelDay, channel, {"day": day_of(published, channel)}, deltas)
    _bump(ChannelHour, channel, {"hour": hour_of(published)}, deltas)
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
    row, _ = ChannelDay.objects.get_or_create(channel=channel, day=day)
    changes: dict[str, Any] = {}
    if figures.followers is not None:
        changes["followers"] = figures.followers
    if figures.profile_visits:
        changes["profile_visits"] = F("profile_visits") + figures.profile_visits
    if changes:
        ChannelDay.objects.filter(pk=row.pk).update(**changes)
    return snapshot


def engagements_of(likes: int | None, comments: int | None, shares: int | None) -> int | None:
    """Engagements: likes, comments and shares (reactions, answers, reposts)."""
    if likes is None and comments is None and shares is None:
        return None
    return (likes or 0) + (comments or 0) + (shares or 0)


@transaction.atomic
def rebuild(channel: Channel) -> int:
    """Recompute ``channel``'s day and hour rollups from its snapshots; returns the days."""
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
    return len(days)


__all__ = ["Source", "engagements_of", "rebuild", "record_account", "record_post"]
