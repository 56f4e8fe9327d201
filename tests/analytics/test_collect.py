"""The worker collects each channel's metrics on a schedule that slows as posts age."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from portevoix.analytics.collect import ensure_collectors
from portevoix.analytics.models import (
    AccountSnapshot,
    ChannelDay,
    MetricsCollector,
    PostSnapshot,
)
from portevoix.networks.types import OutgoingPost
from portevoix.publishing.models import MetricSource, PublicationMetrics
from portevoix.worker import runner

pytestmark = pytest.mark.django_db


def _run() -> int:
    return runner.run_once([MetricsCollector])


def test_collects_posts_and_account_then_waits(account, channel, published) -> None:
    network = channel.client()
    ref = network.publish(
        OutgoingPost(text="Le sérum Velours https://lumiere.test/v"), idempotency_key="k1"
    )
    publication = published(timezone.now() - dt.timedelta(hours=2), network_id=ref.post_id)
    assert ensure_collectors() == 1
    assert ensure_collectors() == 0
    assert _run() == 1
    snap = PostSnapshot.objects.get(publication=publication)
    assert snap.source == "network"
    assert snap.impressions is not None and snap.engagements is not None
    assert snap.clicks is not None  # a link post
    figures = AccountSnapshot.objects.get(channel=channel)
    assert figures.followers == account.follower_count
    assert ChannelDay.objects.filter(channel=channel, posts=1).exists()
    row = MetricsCollector.objects.get(channel=channel)
    assert row.state == "collecting"
    # Measured at 2 h: the next reading is at 6 h of age.
    assert row.next_attempt_at == pytest.approx(
        publication.published_at + dt.timedelta(hours=6), abs=dt.timedelta(seconds=1)
    )
    assert _run() == 0  # nothing due now
    with time_machine.travel(publication.published_at + dt.timedelta(hours=9), tick=False):
        assert _run() == 1
    assert PostSnapshot.objects.filter(publication=publication).count() == 2
    assert AccountSnapshot.objects.filter(channel=channel).count() == 2


def test_old_posts_are_left_alone(channel, published) -> None:
    published(timezone.now() - dt.timedelta(days=40), network_id="x-old")
    ensure_collectors()
    assert _run() == 1
    assert not PostSnapshot.objects.exists()


def test_manual_results_count_too(team, published) -> None:
    from portevoix.channels.models import Channel

    manual = Channel.objects.create(
        workspace=team.workspace, network="manual", name="Snapchat", display_name="Snapchat"
    )
    publication = published(timezone.now() - dt.timedelta(days=2))
    publication.channel = manual
    publication.save()
    PublicationMetrics.objects.create(
        publication=publication,
        taken_at=timezone.now() - dt.timedelta(hours=1),
        source=MetricSource.FORM,
        impressions=900,
        likes=30,
        comments=4,
        shares=1,
    )
    ensure_collectors()
    _run()
    snap = PostSnapshot.objects.get(publication=publication)
    assert (snap.source, snap.impressions, snap.engagements) == ("form", 900, 35)
    _run()  # copied once
    assert PostSnapshot.objects.filter(publication=publication).count() == 1


def _facebook_channel(team):
    from portevoix.channels.models import Channel
    from portevoix.networks.types import Credentials

    channel = Channel(
        workspace=team.workspace,
        network="facebook",
        name="Lumière",
        account_id="101234567890123",
        handle="lumiereco",
    )
    channel.set_credentials(
        Credentials({"page_id": "101234567890123", "page_access_token": "EAA-collect"})
    )
    channel.save()
    return channel


def test_a_real_network_s_account_figures_are_stored(team) -> None:
    """A Facebook page (recorded answers, tests/networks/fixtures/facebook): its followers and
    page views become account snapshots; the page views' refusal leaves the followers."""
    import json
    from pathlib import Path

    import httpx
    import respx

    fixtures = Path(__file__).parents[1] / "networks" / "fixtures" / "facebook"

    def recorded(name: str) -> httpx.Response:
        data = json.loads((fixtures / name).read_text())
        return httpx.Response(data["status"], json=data["body"])

    channel = _facebook_channel(team)
    ensure_collectors()
    graph = "https://graph.facebook.com/v26.0/101234567890123"
    with respx.mock(assert_all_called=False) as router:
        router.get(graph).mock(return_value=recorded("page_followers.json"))
        router.get(f"{graph}/insights").mock(return_value=recorded("error_10_not_reviewed.json"))
        assert _run() == 1
    figures = AccountSnapshot.objects.get(channel=channel)
    assert (figures.followers, figures.profile_visits) == (12840, None)
    day = ChannelDay.objects.get(channel=channel)
    assert day.followers == 12840
    row = MetricsCollector.objects.get(channel=channel)
    assert row.state == "collecting" and row.last_account_at == figures.taken_at
