"""A Mastodon-API channel end to end on recorded answers: limits, compose checks, refused tokens.

The server is replayed with ``responses`` from ``tests/networks/fixtures/mastodon/`` (each
fixture names its source); every request that reaches it is in ``http.calls``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import responses

from portevoix.channels import actions, clients
from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.publishing import actions as publishing
from portevoix.publishing.actions import Upload
from portevoix.publishing.models import Post, Publication
from portevoix.worker import runner
from tests.images import MP4_HEADER
from tests.networks.test_mastodon import BASE, TOKEN, answer

pytestmark = pytest.mark.django_db

CREDENTIALS = {"instance_url": BASE, "access_token": TOKEN}
VERIFY = "/api/v1/accounts/verify_credentials"


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    clients.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    clients.clear()


def connect(team, http: responses.RequestsMock, instance: str) -> Channel:
    answer(http, "GET", VERIFY, "verify_credentials.json")
    answer(http, "GET", "/api/v2/instance", instance)
    return actions.connect_channel(
        team.workspace, by=team["admin"], network="mastodon", credentials=CREDENTIALS
    )


def sent(http: responses.RequestsMock, method: str, path: str) -> int:
    return sum(
        1
        for call in http.calls
        if call.request.method == method and urlsplit(call.request.url).path == path
    )


def test_connecting_reads_and_stores_the_instance_limits_and_handle(team, http):
    channel = connect(team, http, "instance_v2_small.json")
    assert channel.handle == "@porte_voix@petit.example"
    assert channel.limits["max_text_length"] == 200
    assert channel.limits["accepts_video"] is False
    assert channel.limits_checked_at is not None
    assert channel.cached_limits().max_text_length == 200
    # One read of the instance serves the handle and the limits.
    assert sent(http, "GET", "/api/v2/instance") == 1


def test_a_failure_reading_the_limits_never_stops_the_connection(team, http):
    channel = connect(team, http, "error_500.json")
    assert channel.pk and channel.handle == "@porte_voix@mastodon.example"
    assert channel.limits == {} and channel.limits_checked_at is None  # the sync reads them


def test_compose_refuses_what_a_200_character_instance_without_video_would(team, http):
    channel = connect(team, http, "instance_v2_small.json")
    with pytest.raises(ActionRefused) as caught:
        publishing.schedule_post(
            team.workspace, by=team["content"], text="x" * 201, channels=[channel]
        )
    assert "200" in str(caught.value)
    video = Upload(filename="clip.mp4", data=MP4_HEADER, mime_type="video/mp4")
    with pytest.raises(ActionRefused) as caught:
        publishing.schedule_post(
            team.workspace, by=team["content"], text="Vidéo", channels=[channel], uploads=[video]
        )
    assert "vidéo" in str(caught.value) or "video" in str(caught.value)
    assert not Post.objects.exists()
    publishing.schedule_post(team.workspace, by=team["content"], text="x" * 200, channels=[channel])
    assert Post.objects.count() == 1


def test_compose_accepts_what_a_5000_character_instance_takes(team, http):
    channel = connect(team, http, "instance_v2.json")
    video = Upload(filename="clip.mp4", data=MP4_HEADER, mime_type="video/mp4")
    publishing.schedule_post(
        team.workspace, by=team["content"], text="x" * 4000, channels=[channel], uploads=[video]
    )
    assert Post.objects.count() == 1
    with pytest.raises(ActionRefused):
        publishing.schedule_post(
            team.workspace, by=team["content"], text="x" * 5001, channels=[channel]
        )


@pytest.mark.parametrize("refusal", ["error_400_html.json", "pleroma_error_403.json"])
def test_a_refused_token_that_is_not_401_waits_for_reconnection(team, http, refusal):
    """The post waits, the channel asks for a reconnection, nothing is rejected or resent."""
    channel = connect(team, http, "instance_v2.json")
    http.remove(responses.GET, BASE + VERIFY)
    answer(http, "POST", "/api/v1/statuses", refusal)
    answer(http, "GET", VERIFY, refusal)
    post = publishing.schedule_post(
        team.workspace, by=team["content"], text="Bonjour", channels=[channel]
    )
    for _ in range(5):
        if not runner.run_once([Publication]):
            break
    publication = Publication.objects.get(post=post)
    channel.refresh_from_db()
    assert publication.state == "waiting_reconnect"
    assert channel.state == "needs_reconnect"
    assert sent(http, "POST", "/api/v1/statuses") == 1
