"""Snapshots roll up by day and hour of publication, and ``measure`` reads them back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from portevoix.analytics import kpis, rollup
from portevoix.analytics.collect import AGES, next_measure
from portevoix.analytics.models import ChannelDay, ChannelHour, PostSnapshot
from portevoix.care.models import WebcareStat
from portevoix.networks.types import AccountMetrics

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def test_schedule_slows_as_the_post_ages() -> None:
    published = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert next_measure(published, None) == published + dt.timedelta(hours=1)
    assert next_measure(published, published + dt.timedelta(hours=1)) == published + AGES[1]
    assert next_measure(published, published + dt.timedelta(hours=30)) == published + AGES[3]
    assert next_measure(published, published + dt.timedelta(days=30)) is None


def test_rollups_hold_the_latest_totals_and_rebuild_agrees(channel, published) -> None:
    at = dt.datetime(2026, 3, 2, 11, 30, tzinfo=PARIS)
    first, second = published(at), published(at + dt.timedelta(days=1))
    for publication, values in (
        (first, {"impressions": 100, "engagements": 10, "clicks": 2}),
        (first, {"impressions": 250, "engagements": 21, "clicks": None}),  # clicks not reported
        (second, {"impressions": 40, "engagements": 4}),
    ):
        rollup.record_post(publication, taken_at=timezone.now(), source="network", values=values)
    assert PostSnapshot.objects.count() == 3  # append-only
    day = ChannelDay.objects.get(channel=channel, day=dt.date(2026, 3, 2))
    assert (day.posts, day.impressions, day.engagements, day.clicks) == (1, 250, 21, 2)
    hour = ChannelHour.objects.get(channel=channel, hour=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    assert (hour.posts, hour.impressions) == (1, 250)
    before = sorted(ChannelDay.objects.values_list("day", "posts", "impressions", "engagements"))
    rollup.rebuild(channel)
    after = sorted(ChannelDay.objects.values_list("day", "posts", "impressions", "engagements"))
    assert before == after


def _week(team, channel, published) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2026, 3, 2, tzinfo=PARIS)
    for day in range(7):
        publication = published(start + dt.timedelta(days=day, hours=12))
        rollup.record_post(
            publication,
            taken_at=start + dt.timedelta(days=day, hours=20),
            source="network",
            values={
                "impressions": 1000,
                "reach": 800,
                "engagements": 50,
                "clicks": 5,
                "video_views": 0,
            },
        )
        rollup.record_account(
            channel,
            AccountMetrics(
                network="sandbox",
                taken_at=start + dt.timedelta(days=day, hours=23),
                since=start + dt.timedelta(days=day),
                followers=5000 + 10 * day,
                profile_visits=7,
            ),
        )
    return start, start + dt.timedelta(days=7)


def test_measure_every_metric(team, channel, published) -> None:
    team.workspace.time_zone = "Europe/Paris"
    team.workspace.save()
    start, end = _week(team, channel, published)
    for hour in range(3):
        WebcareStat.objects.create(
            workspace=team.workspace,
            hour=start + dt.timedelta(hours=hour),
            first_responses=2,
            first_response_seconds=1200,
            resolved=1,
            sla_met=3,
            sla_breached=1,
        )

    def m(metric: str, **kwargs):
        return kpis.measure(team.workspace, metric, start=start, end=end, **kwargs)

    assert m("impressions") == 7000
    assert m("reach") == 5600
    assert m("engagements") == 350
    assert m("engagement_rate") == pytest.approx(0.05)
    assert m("clicks") == 35
    assert m("video_views") == 0
    assert m("posts_published") == 7
    assert m("profile_visits") == 49
    assert m("followers") == 5060
    assert m("follower_growth") == 60
    assert m("impressions", channel=channel) == 7000
    assert m("first_response_minutes") == pytest.approx(10.0)
    assert m("sla_compliance") == pytest.approx(0.75)
    assert m("conversations_resolved") == 3
    for metric in ("mentions", "share_of_voice", "leads", "deal_value"):
        assert m(metric) is None
    assert set(kpis.METRICS) == {
        "followers", "follower_growth", "impressions", "reach", "engagements",
        "engagement_rate", "clicks", "video_views", "posts_published", "mentions",
        "share_of_voice", "leads", "deal_value", "first_response_minutes", "sla_compliance",
        "conversations_resolved", "profile_visits",
    }  # fmt: skip


def test_measure_says_none_without_data(team, channel) -> None:
    start = timezone.now() - dt.timedelta(days=7)
    end = timezone.now()
    for metric in kpis.METRICS:
        if metric == "posts_published":
            assert kpis.measure(team.workspace, metric, start=start, end=end) == 0
        else:
            assert kpis.measure(team.workspace, metric, start=start, end=end) is None, metric


def test_measure_refuses_what_it_cannot_mean(team, channel) -> None:
    now = timezone.now()
    with pytest.raises(ValueError, match="unknown metric"):
        kpis.measure(team.workspace, "likes", start=now, end=now)
    with pytest.raises(ValueError, match="aware"):
        kpis.measure(team.workspace, "reach", start=dt.datetime(2026, 1, 1), end=now)
    from portevoix.channels.models import Channel

    foreign = Channel(workspace=team.outsider.workspace, pk=999_999)
    with pytest.raises(ValueError, match="not in this workspace"):
        kpis.measure(team.workspace, "reach", channel=foreign, start=now, end=now)
