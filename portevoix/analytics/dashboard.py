"""The numbers behind each chart of the analytics page, for a period and a set of channels.

Every function returns plain rows (dicts) that the page draws, the data tables list and the
CSV downloads write, so the three always agree. Days are the workspace's local days; a post's
results count on the day and hour it was published (see :mod:`.models`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from portevoix.channels.models import Channel
from portevoix.core.models import Workspace
from portevoix.publishing.models import Publication, PublicationStates

from . import kpis
from .models import ChannelDay, ChannelHour, PostSnapshot, WorkspaceDay, WorkspaceHour

#: Below this many posts in the period, the heatmap says it cannot tell yet.
HEATMAP_MIN_POSTS = 10
#: A slot is suggested only when this many posts went out in it.
SLOT_MIN_POSTS = 2
SUGGESTED_SLOTS = 3
PERIODS = (7, 30, 90)
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Local days ``start`` to ``end`` (both included) in ``zone``."""

    start: dt.date
    end: dt.date
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(0), self.zone)

    @property
    def end_at(self) -> dt.datetime:
        """The moment after the period (exclusive)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), self.zone)

    def previous(self) -> Period:
        length = dt.timedelta(days=self.days)
        return Period(self.start - length, self.end - length, self.zone)

    def each_day(self) -> Iterable[dt.date]:
        day = self.start
        while day <= self.end:
            yield day
            day += dt.timedelta(days=1)


def last_days(n: int, zone: ZoneInfo, today: dt.date) -> Period:
    return Period(today - dt.timedelta(days=n - 1), today, zone)


def _sum_fields() -> dict[str, Any]:
    return {
        name: Sum(name)
        for name in ("posts", "impressions", "reach", "engagements", "clicks", "video_views")
    }


def daily(
    channels: QuerySet[Channel], period: Period, *, workspace: Workspace | None = None
) -> list[dict[str, Any]]:
    """One row per day: posts, impressions, reach, engagements, clicks, video views, followers,
    profile visits.

    Followers are a level, summed over the channels: a channel without a reading that day
    counts with its latest reading before it (:func:`_carry_followers`), as the key figures do
    (``kpis.followers_at``); a day after the last reading, or before any, stays empty.

    With ``workspace`` (every channel of it), the workspace's day rollup answers: one row a
    day instead of one per channel and day."""
    by_day: dict[dt.date, dict[str, Any]]
    if workspace is not None:
        by_day = {
            row["day"]: {**row, "followers": row["followers"] if row["follower_channels"] else None}
            for row in WorkspaceDay.objects.filter(
                workspace=workspace, day__gte=period.start, day__lte=period.end
            ).values()
        }
    else:
        rows = (
            ChannelDay.objects.filter(
                channel__in=channels, day__gte=period.start, day__lte=period.end
            )
            .values("day")
            .annotate(
                **_sum_fields(),
                # Counted before "followers" names the sum, so that the filter reads the field.
                follower_channels=Count("id", filter=Q(followers__isnull=False)),
                followers=Sum("followers"),
                profile_visits=Sum("profile_visits"),
            )
        )
        by_day = {row["day"]: row for row in rows}
    followers = _carry_followers(channels, period, by_day)
    out = []
    for day in period.each_day():
        row = by_day.get(day, {})
        out.append(
            {
                "day": day,
                "posts": row.get("posts") or 0,
                "impressions": row.get("impressions") or 0,
                "reach": row.get("reach") or 0,
                "engagements": row.get("engagements") or 0,
                "clicks": row.get("clicks") or 0,
                "video_views": row.get("video_views") or 0,
                "followers": followers.get(day, row.get("followers")),
                "profile_visits": row.get("profile_visits") or 0,
            }
        )
    return out


def _carry_followers(
    channels: QuerySet[Channel], period: Period, by_day: Mapping[dt.date, Mapping[str, Any]]
) -> dict[dt.date, int | None]:
    """Each day's followers when some channel missed its reading on a day of ``period`` (read
    late today, or disconnected for a while): without this the total drops by that channel's
    audience, a loss nobody had. Empty (the rows' own sums stand) when every day has a reading
    from as many channels as the best day: the usual case, answered by the rollups alone."""
    read = {d: row["follower_channels"] for d, row in by_day.items() if row["follower_channels"]}
    if not read:
        return {}
    most, last_read = max(read.values()), max(read)
    before = _read_before(channels, period.start)
    # With no reading before the period, the days before the first one stay empty either way.
    first = period.start if before else min(read)
    if len(before) <= most and all(
        read.get(d, 0) == most for d in period.each_day() if first <= d <= last_read
    ):
        return {}
    latest: dict[int, int] = dict(before)
    readings: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for channel_id, day, value in (
        ChannelDay.objects.filter(
            channel__in=channels,
            day__gte=period.start,
            day__lte=last_read,
            followers__isnull=False,
        )
        .values_list("channel_id", "day", "followers")
        .iterator(chunk_size=5000)
    ):
        readings[day].append((channel_id, value))
    out: dict[dt.date, int | None] = {}
    for day in period.each_day():
        if day > last_read:
            out[day] = None
            continue
        latest.update(readings.get(day, ()))
        out[day] = sum(latest.values()) if latest else None
    return out


def _read_before(channels: QuerySet[Channel], day: dt.date) -> list[tuple[int, int]]:
    """(channel, followers) of each channel's latest reading before ``day``."""
    latest = (
        ChannelDay.objects.filter(channel=OuterRef("pk"), day__lt=day, followers__isnull=False)
        .order_by("-day")
        .values("followers")[:1]
    )
    return [
        (pk, value)
        for pk, value in channels.annotate(before=Subquery(latest)).values_list("pk", "before")
        if value is not None
    ]


KEY_FIGURES = (
    "impressions",
    "reach",
    "engagements",
    "engagement_rate",
    "clicks",
    "video_views",
    "posts_published",
    "followers",
    "follower_growth",
    "profile_visits",
)


#: The key figures that are sums over days (one aggregate answers them all).
DAY_FIGURES = ("impressions", "reach", "engagements", "clicks", "video_views", "profile_visits")


def _period_sums(
    workspace: Workspace, channel: Channel | None, period: Period, before: Period
) -> dict[str, dict[str, float | None]]:
    """The day sums and the posts published of both periods, in two aggregates."""
    rows: QuerySet[Any]
    if channel is None:
        rows = WorkspaceDay.objects.filter(workspace=workspace)
        posts_of = Publication.objects.filter(channel__workspace=workspace)
    else:
        rows = ChannelDay.objects.filter(channel=channel)
        posts_of = Publication.objects.filter(channel=channel)
    spans = {"now": period, "then": before}
    wanted: dict[str, Any] = {}
    for key, span in spans.items():
        within = Q(day__gte=span.start, day__lte=span.end)
        wanted[f"n_{key}"] = Count("id", filter=within)
        for name in DAY_FIGURES:
            wanted[f"{name}_{key}"] = Sum(name, filter=within)
    sums = rows.filter(day__gte=before.start, day__lte=period.end).aggregate(**wanted)
    published = posts_of.filter(
        state=PublicationStates.published.name,
        published_at__gte=before.start_at,
        published_at__lt=period.end_at,
    ).aggregate(
        **{
            key: Count(
                "id", filter=Q(published_at__gte=span.start_at, published_at__lt=span.end_at)
            )
            for key, span in spans.items()
        }
    )
    out: dict[str, dict[str, float | None]] = {}
    for key in spans:
        values: dict[str, float | None] = {"posts_published": float(published[key] or 0)}
        known = bool(sums[f"n_{key}"])
        for name in DAY_FIGURES:
            values[name] = float(sums[f"{name}_{key}"] or 0) if known else None
        impressions = values["impressions"]
        values["engagement_rate"] = (
            (values["engagements"] or 0) / impressions if known and impressions else None
        )
        out[key] = values
    return out


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def key_figures(
    workspace: Workspace, channel: Channel | None, period: Period
) -> list[dict[str, Any]]:
    """Each key figure in the period and the one before, with the change: the sums of both
    periods in one aggregate (the same numbers as :func:`kpis.measure`), followers read per
    channel at the period's ends."""
    before = period.previous()
    sums = _period_sums(workspace, channel, period, before)
    channels = kpis._channels(workspace, channel)
    # Followers at the three ends of the two periods, each read once (not twice per figure).
    at = {
        moment: kpis.followers_at(channels, moment)
        for moment in (period.end_at, period.start_at, before.start_at)
    }
    sums["now"]["followers"] = _float(at[period.end_at])
    sums["then"]["followers"] = _float(at[period.start_at])
    for key, span in (("now", period), ("then", before)):
        after, first = at[span.end_at], at[span.start_at]
        if after is not None and first is not None:
            sums[key]["follower_growth"] = float(after - first)
    out = []
    for metric in KEY_FIGURES:
        if metric in sums["now"] and metric in sums["then"]:
            now, then = sums["now"][metric], sums["then"][metric]
        else:
            now = kpis.measure(
                workspace, metric, channel=channel, start=period.start_at, end=period.end_at
            )
            then = kpis.measure(
                workspace, metric, channel=channel, start=before.start_at, end=before.end_at
            )
        change = None
        if now is not None and then:
            change = (now - then) / abs(then)
        out.append({"metric": metric, "value": now, "previous": then, "change": change})
    return out


def heatmap(
    channels: QuerySet[Channel],
    period: Period,
    zone: ZoneInfo,
    *,
    workspace: Workspace | None = None,
) -> dict[str, Any]:
    """Engagements per post by local weekday (1 = Monday) and hour of publication.

    With ``workspace`` (every channel of it, ``zone`` being the workspace's), its hour rollup
    answers: weekday and hour are columns there, nothing is extracted at read time."""
    rows: Iterable[dict[str, Any]]
    if workspace is not None:
        rows = (
            WorkspaceHour.objects.filter(
                workspace=workspace, day__gte=period.start, day__lte=period.end, posts__gt=0
            )
            .values("weekday", h=F("hour"))
            .annotate(
                posts=Sum("posts"), engagements=Sum("engagements"), impressions=Sum("impressions")
            )
        )
    else:
        rows = (
            ChannelHour.objects.filter(
                channel__in=channels,
                hour__gte=period.start_at,
                hour__lt=period.end_at,
                posts__gt=0,
            )
            .annotate(
                weekday=ExtractIsoWeekDay("hour", tzinfo=zone), h=ExtractHour("hour", tzinfo=zone)
            )
            .values("weekday", "h")
            .annotate(
                posts=Sum("posts"), engagements=Sum("engagements"), impressions=Sum("impressions")
            )
        )
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        posts = row["posts"] or 0
        cells[(row["weekday"], row["h"])] = {
            "posts": posts,
            "engagements": row["engagements"] or 0,
            "impressions": row["impressions"] or 0,
            "per_post": (row["engagements"] or 0) / posts if posts else 0.0,
        }
    total_posts = sum(c["posts"] for c in cells.values())
    peak = max((c["per_post"] for c in cells.values()), default=0.0) or 1.0
    grid = []
    for weekday in range(1, 8):
        line = []
        for hour in range(24):
            cell = cells.get((weekday, hour))
            line.append(
                {
                    "hour": hour,
                    "posts": cell["posts"] if cell else 0,
                    "per_post": round(cell["per_post"], 1) if cell else None,
                    "level": round(4 * cell["per_post"] / peak) if cell else None,
                }
            )
        grid.append({"weekday": weekday, "cells": line})
    ranked = sorted(
        ((key, cell) for key, cell in cells.items() if cell["posts"] >= SLOT_MIN_POSTS),
        key=lambda item: -item[1]["per_post"],
    )
    enough = total_posts >= HEATMAP_MIN_POSTS
    suggestions = []
    if enough:
        used_days: set[int] = set()
        for (weekday, hour), cell in ranked:
            if weekday in used_days:
                continue  # spread the suggestions over the week
            used_days.add(weekday)
            suggestions.append(
                {
                    "weekday": weekday,
                    "hour": hour,
                    "time": dt.time(hour, 0),
                    "posts": cell["posts"],
                    "per_post": round(cell["per_post"], 1),
                }
            )
            if len(suggestions) == SUGGESTED_SLOTS:
                break
    return {
        "grid": grid,
        "posts": total_posts,
        "cells": len(cells),
        "enough": enough,
        "suggestions": suggestions,
        "zone": str(zone),
    }


def heatmap_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The heatmap as rows (for the CSV and the data table)."""
    return [
        {
            "weekday": line["weekday"],
            "hour": cell["hour"],
            "posts": cell["posts"],
            "engagements_per_post": cell["per_post"],
        }
        for line in data["grid"]
        for cell in line["cells"]
        if cell["posts"]
    ]


def _latest(publications: QuerySet[Publication]) -> dict[int, PostSnapshot]:
    ids = (
        PostSnapshot.objects.filter(publication__in=publications)
        .values("publication")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {s.publication_id: s for s in PostSnapshot.objects.filter(id__in=list(ids))}


def post_type(publication: Publication, mimes: list[str]) -> str:
    """image, video, link or text: what the post carries (media first, then a link)."""
    if any(m.startswith("video/") for m in mimes):
        return "video"
    if any(m.startswith("image/") for m in mimes):
        return "image"
    text = publication.text or publication.post.text
    if publication.link or "http://" in text or "https://" in text:
        return "link"
    return "text"


def _published(channels: QuerySet[Channel], period: Period) -> QuerySet[Publication]:
    return Publication.objects.filter(
        channel__in=channels,
        state=PublicationStates.published.name,
        published_at__gte=period.start_at,
        published_at__lt=period.end_at,
    )


def post_types(channels: QuerySet[Channel], period: Period) -> list[dict[str, Any]]:
    """Per post type: posts, and their average impressions and engagements and rate."""
    publications = _published(channels, period).select_related("post")
    latest = _latest(publications)
    mimes: dict[int, list[str]] = defaultdict(list)
    from portevoix.publishing.models import PostMedia

    for post_id, mime in PostMedia.objects.filter(post__in=publications.values("post")).values_list(
        "post_id", "mime_type"
    ):
        mimes[post_id].append(mime)
    groups: dict[str, list[PostSnapshot]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for publication in publications:
        kind = post_type(publication, mimes.get(publication.post_id, []))
        counts[kind] += 1
        snap = latest.get(publication.pk)
        if snap is not None:
            groups[kind].append(snap)
    out = []
    for kind in ("image", "video", "link", "text"):
        snaps = groups.get(kind, [])
        impressions = sum(s.impressions or 0 for s in snaps)
        engagements = sum(s.engagements or 0 for s in snaps)
        out.append(
            {
                "type": kind,
                "posts": counts.get(kind, 0),
                "measured": len(snaps),
                "impressions_per_post": round(impressions / len(snaps)) if snaps else None,
                "engagements_per_post": round(engagements / len(snaps), 1) if snaps else None,
                "engagement_rate": engagements / impressions if impressions else None,
            }
        )
    return out


def frequency(
    channels: QuerySet[Channel], period: Period, *, workspace: Workspace | None = None
) -> list[dict[str, Any]]:
    """Weeks grouped by how many posts went out: engagements per post and per week."""
    weeks: dict[dt.date, dict[str, int]] = defaultdict(lambda: {"posts": 0, "engagements": 0})
    source: QuerySet[Any] = (
        WorkspaceDay.objects.filter(workspace=workspace)
        if workspace is not None
        else ChannelDay.objects.filter(channel__in=channels)
    )
    rows = source.filter(day__gte=period.start, day__lte=period.end).values_list(
        "day", "posts", "engagements"
    )
    for day, posts, engagements in rows:
        monday = day - dt.timedelta(days=day.weekday())
        weeks[monday]["posts"] += posts
        weeks[monday]["engagements"] += engagements
    bands = ((1, 3), (4, 7), (8, 14), (15, 10_000))
    out = []
    for low, high in bands:
        chosen = [w for w in weeks.values() if low <= w["posts"] <= high]
        posts = sum(w["posts"] for w in chosen)
        engagements = sum(w["engagements"] for w in chosen)
        out.append(
            {
                "posts_per_week": f"{low}–{high}" if high < 10_000 else f"{low}+",
                "weeks": len(chosen),
                "engagements_per_post": round(engagements / posts, 1) if posts else None,
                "engagements_per_week": round(engagements / len(chosen)) if chosen else None,
            }
        )
    return out


def campaigns(channels: QuerySet[Channel], period: Period) -> list[dict[str, Any]]:
    """Per campaign (and posts without one): posts and what they gathered."""
    publications = _published(channels, period).select_related("post__campaign")
    latest = _latest(publications)
    groups: dict[str, dict[str, Any]] = {}
    for publication in publications:
        campaign = publication.post.campaign
        name = campaign.name if campaign else ""
        group = groups.setdefault(
            name, {"campaign": name, "posts": 0, "impressions": 0, "engagements": 0, "clicks": 0}
        )
        group["posts"] += 1
        snap = latest.get(publication.pk)
        if snap is not None:
            group["impressions"] += snap.impressions or 0
            group["engagements"] += snap.engagements or 0
            group["clicks"] += snap.clicks or 0
    return sorted(groups.values(), key=lambda g: (g["campaign"] == "", -g["impressions"]))


def approval_waits(workspace: Workspace, period: Period) -> list[dict[str, Any]]:
    """How long approval steps decided in the period waited, per kind of step."""
    from portevoix.publishing.approvals.models import ApprovalStep

    steps = ApprovalStep.objects.filter(
        post__workspace=workspace,
        decided_at__gte=period.start_at,
        decided_at__lt=period.end_at,
    ).values_list("kind", "requested_at", "decided_at")
    waits: dict[str, list[float]] = defaultdict(list)
    for kind, requested, decided in steps:
        waits[kind].append((decided - requested).total_seconds() / 3600)
    waiting = (
        ApprovalStep.objects.filter(post__workspace=workspace, state="waiting")
        .values("kind")
        .annotate(n=Count("id"))
    )
    open_now = {row["kind"]: row["n"] for row in waiting}
    out = []
    for kind in sorted(set(waits) | set(open_now)):
        hours = waits.get(kind, [])
        out.append(
            {
                "kind": kind,
                "decided": len(hours),
                "median_hours": round(statistics.median(hours), 1) if hours else None,
                "longest_hours": round(max(hours), 1) if hours else None,
                "waiting_now": open_now.get(kind, 0),
            }
        )
    return out


#: The columns of the team workload, in the order the table and the CSV show them.
WORKLOAD_FIELDS = (
    "conversations_assigned",
    "conversations_answered",
    "posts_authored",
    "posts_approved",
    "checklist_items",
)


def workload(workspace: Workspace, period: Period) -> list[dict[str, Any]]:
    """Per member, over the period: conversations assigned to them (assignments recorded in
    the audit log) and answered by them (conversations they replied in), posts they wrote,
    approval steps they approved, crisis checklist items they ticked. Members with nothing
    are left out; the busiest first."""
    from portevoix.core.models import AuditEntry, Member
    from portevoix.crisis.models import IncidentTask
    from portevoix.inbox.models import Reply
    from portevoix.publishing.approvals.models import ApprovalStep
    from portevoix.publishing.models import Post

    start, end = period.start_at, period.end_at
    members = {
        m.pk: m
        for m in Member.objects.filter(workspace=workspace).select_related("user").order_by("pk")
    }
    by_user = {m.user_id: pk for pk, m in members.items()}
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(WORKLOAD_FIELDS, 0))
    assigned = AuditEntry.objects.filter(
        workspace=workspace,
        action="conversation.assign",
        created_at__gte=start,
        created_at__lt=end,
    ).values_list("after", flat=True)
    for after in assigned:
        # Foreign keys are kept as {"id", "repr"} in the audit log.
        who = after.get("assignee") if isinstance(after, dict) else None
        who = who.get("id") if isinstance(who, dict) else who
        if isinstance(who, int) and who in members:
            counts[who]["conversations_assigned"] += 1
    answered = (
        Reply.objects.filter(
            conversation__workspace=workspace, created_at__gte=start, created_at__lt=end
        )
        .exclude(author=None)
        .values("author")
        .annotate(n=Count("conversation", distinct=True))
    )
    for row in answered:
        if row["author"] in members:
            counts[row["author"]]["conversations_answered"] = row["n"]
    authored = (
        Post.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .values("author")
        .annotate(n=Count("id"))
    )
    for row in authored:
        if row["author"] in by_user:
            counts[by_user[row["author"]]]["posts_authored"] = row["n"]
    approved = (
        ApprovalStep.objects.filter(
            post__workspace=workspace,
            state="approved",
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .values("decided_by")
        .annotate(n=Count("id"))
    )
    for row in approved:
        if row["decided_by"] in by_user:
            counts[by_user[row["decided_by"]]]["posts_approved"] = row["n"]
    ticked = (
        IncidentTask.objects.filter(
            incident__workspace=workspace, done_at__gte=start, done_at__lt=end
        )
        .values("done_by")
        .annotate(n=Count("id"))
    )
    for row in ticked:
        if row["done_by"] in members:
            counts[row["done_by"]]["checklist_items"] = row["n"]
    out = [
        {"member": members[pk].user.display_name, "member_id": pk, **values}
        for pk, values in counts.items()
        if any(values.values())
    ]
    return sorted(out, key=lambda r: (-sum(r[f] for f in WORKLOAD_FIELDS), r["member"]))
