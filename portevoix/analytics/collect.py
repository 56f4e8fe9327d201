"""Collecting metrics: the handler of :class:`~.models.MetricsCollector`, one row per channel.

A post is measured when it reaches each age of :data:`AGES` (1 h, 6 h, 24 h, 3 days, 7 days,
30 days after it was published): often while its numbers move, rarely once they settle. The
account's followers and profile visits are read every :data:`ACCOUNT_EVERY`. The row is due
again at the earliest of those moments (never sooner than :data:`MIN_WAIT`, never later than
:data:`MAX_WAIT`). A manual channel's results (``PublicationMetrics``, typed or imported by its
owner) are copied in as they come. Network errors are the worker's: retried with back-off,
then ``failed``, which an operator resumes from the admin.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.db.models import Max
from django.utils import timezone

from portevoix.channels.models import Channel, ChannelStates
from portevoix.networks.types import Capability, MetricSnapshot, PublishedRef
from portevoix.publishing.models import Publication, PublicationMetrics, PublicationStates
from portevoix.worker.models import Outcome

from . import rollup
from .models import MetricsCollector, Source

AGES = (
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
    dt.timedelta(hours=24),
    dt.timedelta(days=3),
    dt.timedelta(days=7),
    dt.timedelta(days=30),
)
ACCOUNT_EVERY = dt.timedelta(hours=6)
MIN_WAIT = dt.timedelta(minutes=5)
MAX_WAIT = dt.timedelta(hours=6)
#: Posts asked about in one call.
BATCH = 50
#: How far back a manual channel's late results are still taken in.
MANUAL_WINDOW = dt.timedelta(days=120)


def next_measure(published_at: dt.datetime, last: dt.datetime | None) -> dt.datetime | None:
    """When a post published at ``published_at`` and last measured at ``last`` is due."""
    for age in AGES:
        moment = published_at + age
        if last is None or moment > last:
            return moment
    return None


def _recent(
    channel: Channel, now: dt.datetime, window: dt.timedelta
) -> list[tuple[Publication, dt.datetime | None]]:
    """The channel's publications out within ``window``, each with its last measurement."""
    rows = (
        Publication.objects.filter(
            channel=channel,
            state=PublicationStates.published.name,
            published_at__gte=now - window,
            published_at__lte=now,
        )
        .select_related("channel", "channel__workspace")
        .annotate(last_measured=Max("snapshots__taken_at"))
        .order_by("published_at")
    )
    return [(row, cast(Any, row).last_measured) for row in rows]


def snapshot_values(snap: MetricSnapshot) -> dict[str, int | None]:
    """A network's snapshot as our counters."""
    extra = snap.extra
    impressions = extra.get("impressions", snap.views)
    return {
        "impressions": impressions,
        "reach": extra.get("reach"),
        "engagements": rollup.engagements_of(snap.likes, snap.replies, snap.reposts),
        "clicks": extra.get("clicks"),
        "video_views": extra.get("video_views"),
        "likes": snap.likes,
        "comments": snap.replies,
        "shares": snap.reposts,
    }


def _collect_posts(row: MetricsCollector, channel: Channel, now: dt.datetime) -> dt.datetime:
    """Measure the posts that are due; return when the next one is."""
    upcoming = now + MAX_WAIT
    due: list[Publication] = []
    for publication, last in _recent(channel, now, AGES[-1] + dt.timedelta(days=1)):
        assert publication.published_at is not None
        moment = next_measure(publication.published_at, last)
        if moment is None:
            continue
        if moment <= now:
            if publication.network_post_id:
                due.append(publication)
            later = next_measure(publication.published_at, now)
            if later is not None:
                upcoming = min(upcoming, later)
        else:
            upcoming = min(upcoming, moment)
    if due:
        network = channel.client(verify=False)
        try:
            for start in range(0, len(due), BATCH):
                chunk = due[start : start + BATCH]
                refs = [
                    PublishedRef(network=channel.network, post_id=p.network_post_id, url=p.url)
                    for p in chunk
                ]
                snapshots = {s.post_id: s for s in network.metrics(refs)}
                row.extend_lease()
                with row.leased_atomic():
                    for publication in chunk:
                        snap = snapshots.get(publication.network_post_id)
                        if snap is not None:
                            rollup.record_post(
                                publication,
                                taken_at=snap.taken_at,
                                source=Source.NETWORK,
                                values=snapshot_values(snap),
                            )
        finally:
            network.close()
    return upcoming


def _collect_manual(row: MetricsCollector, channel: Channel, now: dt.datetime) -> None:
    """Results a person typed or imported for a manual channel's posts, copied in once."""
    recent = _recent(channel, now, MANUAL_WINDOW)
    publications = {p.pk: p for p, _ in recent}
    measured = {p.pk: last for p, last in recent}
    if not publications:
        return
    entered = PublicationMetrics.objects.filter(publication__in=list(publications)).order_by(
        "taken_at", "id"
    )
    with row.leased_atomic():
        for result in entered:
            publication = publications[result.publication_id]
            last = measured[publication.pk]
            if last is not None and result.taken_at <= last:
                continue
            rollup.record_post(
                publication,
                taken_at=result.taken_at,
                source=Source.CSV if result.source == "csv" else Source.FORM,
                values={
                    "impressions": result.impressions,
                    "reach": result.reach,
                    "engagements": rollup.engagements_of(
                        result.likes, result.comments, result.shares
                    ),
                    "clicks": result.clicks,
                    "likes": result.likes,
                    "comments": result.comments,
                    "shares": result.shares,
                },
            )
            measured[publication.pk] = result.taken_at


def handle_collecting(row: MetricsCollector) -> Outcome:
    now = timezone.now()
    channel = row.channel
    fields: dict[str, object] = {"last_run_at": now}
    if channel.state == ChannelStates.disconnected.name:
        return Outcome("collecting", at=now + dt.timedelta(days=1), fields=fields)
    cls = channel.network_class
    upcoming = now + MAX_WAIT
    if cls.is_manual:
        _collect_manual(row, channel, now)
    elif Capability.METRICS in cls.capabilities:
        upcoming = _collect_posts(row, channel, now)
    if Capability.ACCOUNT_METRICS in cls.capabilities:
        last = row.last_account_at
        if last is None or now - last >= ACCOUNT_EVERY:
            since = last or now - ACCOUNT_EVERY
            with channel.client(verify=False) as network:
                figures = network.account_metrics(since)
            with row.leased_atomic():
                rollup.record_account(channel, figures)
            fields["last_account_at"] = figures.taken_at
            last = figures.taken_at
        upcoming = min(upcoming, last + ACCOUNT_EVERY)
    at = min(max(upcoming, now + MIN_WAIT), now + MAX_WAIT)
    return Outcome("collecting", at=at, fields=fields)


def ensure_collectors() -> int:
    """Give every channel that is not disconnected its collector row; returns those made."""
    missing = Channel.objects.exclude(state=ChannelStates.disconnected.name).filter(
        collector__isnull=True
    )
    made = [MetricsCollector(channel=channel) for channel in missing]
    MetricsCollector.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)
