"""Followers per day are a level: a channel that missed its reading (read late today, or
disconnected for a few days) still counts with its last reading, so the workspace's curve
does not fall by that channel's audience (the demo showed 26,880 followers, then 24,580 on
the day one channel's token had expired)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from portevoix.analytics import dashboard, rollup
from portevoix.channels import actions
from portevoix.channels.models import Channel
from portevoix.networks.types import AccountMetrics
from portevoix.sandbox import service

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
START = dt.date(2026, 3, 2)


def read(channel: Channel, day: int, followers: int) -> None:
    at = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(20), PARIS)
    rollup.record_account(
        channel,
        AccountMetrics(
            network="sandbox",
            taken_at=at,
            since=at - dt.timedelta(hours=20),
            followers=followers,
            profile_visits=0,
        ),
    )


@pytest.fixture
def two_channels(team, channel):
    other = actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(
            service.create_account("acme-pro", display_name="Acme Pro", workspace=team.workspace)
        ),
        owner_department=team.department("marketing"),
    )
    read(channel, -3, 990)  # before the period: the first day starts from it
    for day in range(6):
        read(channel, day, 1000 + 10 * day)
    for day in range(3):  # then its token expires: no reading on days 3 to 5
        read(other, day, 500 + day)
    return team, channel, other


@pytest.mark.parametrize("whole", [True, False])
def test_a_channel_without_a_reading_counts_with_its_last_one(two_channels, whole) -> None:
    team, channel, other = two_channels
    period = dashboard.Period(START, START + dt.timedelta(days=7), PARIS)
    rows = dashboard.daily(
        Channel.objects.filter(pk__in=[channel.pk, other.pk]),
        period,
        workspace=team.workspace if whole else None,
    )
    followers = [row["followers"] for row in rows]
    assert followers[:3] == [1500, 1511, 1522]
    assert followers[3:6] == [1030 + 502, 1040 + 502, 1050 + 502]  # not 1030, 1040, 1050
    assert followers[6:] == [None, None]  # after the last reading: not known yet


def test_the_first_days_start_from_the_reading_before_the_period(two_channels) -> None:
    _team, channel, _other = two_channels
    period = dashboard.Period(START - dt.timedelta(days=1), START, PARIS)
    rows = dashboard.daily(Channel.objects.filter(pk=channel.pk), period)
    assert [row["followers"] for row in rows] == [990, 1000]
