"""Demo: three months of results for the demo company's sandbox channels, so every chart of
the analytics page has data the day the demo opens.

The history is drawn from each sandbox account's own audience (its cohorts' daily curves,
weekends apart, in their time zones), as the sandbox world draws a post's impressions: a post
published when the audience scrolls is seen more. Posts are written as already published
(without a network id: the network never saw them, so the collector leaves them alone), each
with the snapshots the collector would have taken at 1 h, 6 h, 24 h, 3 and 7 days and
30 days; followers are read every evening. Rollups are then rebuilt from those snapshots, the
way an operator rebuilds them, and the live collector takes over from there.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.publishing.models import (
    Campaign,
    Post,
    PostMedia,
    Publication,
    PublicationStates,
)

from . import actions, rollup
from .collect import AGES, ensure_collectors
from .models import AccountSnapshot, PostSnapshot, Source

DAYS = 90
#: Share of a post's lifetime results reached at each age of the collection schedule.
SHARE_AT = {1: 0.22, 6: 0.62, 24: 0.9, 72: 0.97, 168: 1.0, 720: 1.0}
#: Share of the followers a post reaches at average audience activity, per post type.
REACH = {"image": 0.16, "link": 0.09, "text": 0.07}
ENGAGEMENT = {"image": 0.062, "link": 0.028, "text": 0.035}
TEXTS = {
    "image": "Nos coffrets de saison sont arrivés 🌸",
    "link": "Le guide des soins d’hiver est en ligne : https://lumiere.demo/guide",
    "text": "Quelle est votre routine du soir ? Dites-le-nous en commentaire.",
}


def _audience(channel: Channel) -> tuple[Any, int] | None:
    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxAccount

    handle = channel.get_credentials().get("handle")
    account = SandboxAccount.objects.filter(handle=handle).first()
    if account is None:
        return None
    return world.Audience(list(account.cohorts.all())), account.follower_count


def load_analytics_demo(workspace: Workspace, *, now: dt.datetime | None = None) -> int:
    """Write the history of every sandbox channel of ``workspace``; returns the posts."""
    now = now or timezone.now()
    author = Member.objects.filter(workspace=workspace, user__email="lucas@lumiere.demo").first()
    images = list(workspace.media.filter(mime_type__startswith="image/")[:4])
    campaigns = list(Campaign.objects.filter(workspace=workspace).order_by("pk")[:2])
    made = 0
    for channel in Channel.objects.filter(workspace=workspace, network="sandbox").order_by("pk"):
        found = _audience(channel)
        if found is None:
            continue
        audience, followers_now = found
        made += _channel_history(
            workspace, channel, audience, followers_now, now, author, images, campaigns
        )
        rollup.rebuild(channel)
    ensure_collectors()
    _insight(workspace, now)
    _experiment(workspace, author, now)
    _weekly_report(workspace, now)
    return made


def _channel_history(
    workspace: Workspace,
    channel: Channel,
    audience: Any,
    followers_now: int,
    now: dt.datetime,
    author: Member | None,
    images: list[Any],
    campaigns: list[Campaign],
) -> int:
    rng = random.Random(f"analytics-demo:{workspace.slug}:{channel.pk}")
    zone = channel.audience_zone
    today = now.astimezone(zone).date()
    start_followers = round(followers_now * 0.9)
    posts: list[tuple[Post, dt.datetime, str]] = []
    for offset in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=offset)
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            at = dt.datetime.combine(
                day, dt.time(rng.randint(7, 22), rng.choice((0, 15, 30, 45))), zone
            )
            kind = rng.choices(("image", "link", "text"), weights=(5, 3, 2))[0]
            post = Post(
                workspace=workspace,
                text=TEXTS[kind],
                author=author.user if author else None,
                campaign=rng.choice(campaigns) if campaigns and rng.random() < 0.35 else None,
                created_at=at - dt.timedelta(days=2),
                updated_at=at - dt.timedelta(days=2),
            )
            posts.append((post, at, kind))
    Post.objects.bulk_create([p for p, _, _ in posts], batch_size=500)
    publications = [
        Publication(
            post=post,
            channel=channel,
            scheduled_at=at,
            published_at=at,
            state=PublicationStates.published.name,
            next_attempt_at=None,
        )
        for post, at, _ in posts
    ]
    Publication.objects.bulk_create(publications, batch_size=500)
    media = []
    snapshots = []
    for (post, at, kind), publication in zip(posts, publications, strict=True):
        if kind == "image" and images:
            asset = rng.choice(images)
            media.append(
                PostMedia(
                    post=post,
                    asset=asset,
                    file=asset.file.name,
                    mime_type=asset.mime_type,
                    size=asset.size,
                    alt_text=asset.name,
                )
            )
        elapsed = (now - at).total_seconds() / 86400
        followers = start_followers + (followers_now - start_followers) * (1 - elapsed / DAYS)
        rhythm = audience.activity(at) / audience.mean
        quality = rng.lognormvariate(0, 0.35)
        impressions = followers * REACH[kind] * rhythm * quality
        engagement = ENGAGEMENT[kind] * rng.uniform(0.8, 1.2)
        for age in AGES:
            taken = at + age
            if taken > now:
                break
            share = SHARE_AT[round(age.total_seconds() / 3600)]
            seen = round(impressions * share)
            likes = round(seen * engagement * 0.8)
            comments = round(seen * engagement * 0.12)
            shares = round(seen * engagement * 0.08)
            snapshots.append(
                PostSnapshot(
                    publication=publication,
                    channel=channel,
                    taken_at=taken,
                    source=Source.NETWORK,
                    impressions=seen,
                    reach=round(seen / 1.3),
                    engagements=likes + comments + shares,
                    clicks=round(seen * 0.015) if kind == "link" else None,
                    likes=likes,
                    comments=comments,
                    shares=shares,
                )
            )
    PostMedia.objects.bulk_create(media, batch_size=500)
    PostSnapshot.objects.bulk_create(snapshots, batch_size=1000)
    readings = []
    for offset in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=offset)
        taken = dt.datetime.combine(day, dt.time(23, 0), zone)
        growth = (followers_now - start_followers) * (1 - offset / DAYS)
        wobble = math.sin(offset / 5) * followers_now * 0.002
        visits = (
            sum(audience.activity(taken - dt.timedelta(hours=h)) for h in range(24))
            / audience.mean
            * followers_now
            * 0.0004
        )
        readings.append(
            AccountSnapshot(
                channel=channel,
                taken_at=taken,
                since=taken - dt.timedelta(days=1),
                followers=round(start_followers + growth + wobble),
                profile_visits=round(visits * rng.uniform(0.85, 1.15)),
            )
        )
    AccountSnapshot.objects.bulk_create(readings)
    return len(posts)


def _insight(workspace: Workspace, now: dt.datetime) -> None:
    analyst = (
        Member.objects.filter(workspace=workspace, role="analyst", is_active=True)
        .order_by("pk")
        .first()
    )
    if analyst is None:
        return
    today = now.date()
    actions.write_insight(
        workspace,
        by=analyst,
        chart="heatmap",
        text=(
            "Les posts de midi et de 19 h font deux fois plus d’engagements que ceux du "
            "matin : décalons les créneaux de l’Instagram sur ces heures-là."
        ),
        period_start=today - dt.timedelta(days=29),
        period_end=today,
    )


def _experiment(workspace: Workspace, author: Member | None, now: dt.datetime) -> None:
    """Two posts of the first sandbox channel at the same hour on different days, as A/B."""
    channel = Channel.objects.filter(workspace=workspace, network="sandbox").order_by("pk").first()
    if channel is None or author is None:
        return
    zone = channel.audience_zone
    recent = list(
        Publication.objects.filter(
            channel=channel,
            state=PublicationStates.published.name,
            published_at__gte=now - dt.timedelta(days=20),
            published_at__lte=now - dt.timedelta(days=3),
        )
        .select_related("channel", "channel__workspace")
        .order_by("published_at")
    )
    for i, first in enumerate(recent):
        assert first.published_at is not None
        for second in recent[i + 1 :]:
            assert second.published_at is not None
            a, b = first.published_at.astimezone(zone), second.published_at.astimezone(zone)
            if a.date() != b.date() and a.hour == b.hour:
                actions.start_experiment(
                    workspace,
                    by=author,
                    name="Question ou affirmation en accroche",
                    variant_a=first,
                    variant_b=second,
                    metric="engagement_rate",
                )
                return


def _weekly_report(workspace: Workspace, now: dt.datetime) -> None:
    """A weekly report to the manager and the analyst, with its last two weeks sent."""
    from portevoix.analytics.models import ReportRun, ReportRunStates
    from portevoix.analytics.reports import handle_producing, last_finished

    people = list(
        Member.objects.filter(workspace=workspace, role__in=["manager", "analyst"], is_active=True)
        .select_related("user")
        .order_by("pk")
    )
    analyst = next((m for m in people if m.role == "analyst"), None)
    if analyst is None:
        return
    report = actions.create_report(
        workspace,
        by=analyst,
        name="Bilan hebdomadaire des réseaux",
        frequency="weekly",
        sections=["overview", "daily", "channels", "heatmap", "campaigns", "webcare", "workload"],
        channels=[],
        recipients=people,
    )
    report.created_at = now - dt.timedelta(days=21)
    report.save(update_fields=["created_at"])
    last = last_finished(report, now)
    for weeks_ago in (1, 0):
        start = last.start - dt.timedelta(days=7 * weeks_ago)
        run = ReportRun.objects.create(
            report=report, period_start=start, period_end=start + dt.timedelta(days=6)
        )
        try:
            outcome = handle_producing(run)
        except (ImportError, OSError):  # WeasyPrint without Pango: the worker makes it later
            continue
        ReportRun.objects.filter(pk=run.pk).update(
            state=ReportRunStates.sent.name, next_attempt_at=None, **outcome.fields
        )
