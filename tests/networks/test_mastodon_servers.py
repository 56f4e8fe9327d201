"""Servers that speak Mastodon's API but differ from its documentation (recorded answers).

Each case replays answers recorded in ``fixtures/mastodon/`` (Mastodon's documentation,
Pleroma's and GoToSocial's code and API docs; the source is beside each fixture) and watches
the calls that reach the server, so a blind resend or a missing check shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses

from portevoix.networks.errors import (
    AuthExpired,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.mastodon import MastodonNetwork
from portevoix.networks.types import (
    AccountInfo,
    Credentials,
    MediaItem,
    OutgoingPost,
    ThreadPart,
)

from .contract import PNG_1PX
from .test_mastodon import BASE, TOKEN, answer

CREDS = Credentials({"instance_url": BASE, "access_token": TOKEN})
VERIFY = "/api/v1/accounts/verify_credentials"
STATUSES = re.compile(re.escape(BASE) + r"/api/v1/accounts/109876/statuses.*")


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def paths(http: responses.RequestsMock, since: int = 0) -> list[str]:
    return [f"{c.request.method} {urlsplit(c.request.url).path}" for c in http.calls[since:]]


def resumed() -> MastodonNetwork:
    """A client bound from what a channel row knows: no call to the server."""
    network = MastodonNetwork()
    network.resume(
        CREDS,
        AccountInfo(network="mastodon", account_id="109876", handle="@porte_voix@example.com"),
    )
    return network


# -- resume --------------------------------------------------------------------------------------


def test_resume_binds_without_a_call_and_a_refused_token_shows_on_the_first_one(http):
    answer(http, "POST", "/api/v1/statuses", "error_401.json")
    network = resumed()
    assert len(http.calls) == 0
    with pytest.raises(AuthExpired):
        network.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    assert paths(http) == ["POST /api/v1/statuses"]


# -- a refused token that is not a 401 -------------------------------------------------------------

REFUSALS = ["error_400_html.json", "pleroma_error_403.json"]


def _fail(http: responses.RequestsMock, operation: str, fixture: str) -> None:
    target = {
        "publish": ("POST", "/api/v1/statuses"),
        "reconcile": ("GET", "/api/v1/accounts/109876/statuses"),
        "fetch_inbound": ("GET", "/api/v1/notifications"),
    }[operation]
    answer(http, target[0], target[1], fixture)


def _run(network: MastodonNetwork, operation: str) -> Any:
    if operation == "publish":
        return network.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    if operation == "reconcile":
        return network.reconcile(
            "k", post=OutgoingPost("Bonjour"), since=datetime.now(UTC) - timedelta(minutes=1)
        )
    return network.fetch_inbound(None)


@pytest.mark.parametrize("fixture", REFUSALS)
@pytest.mark.parametrize("operation", ["publish", "reconcile", "fetch_inbound"])
def test_an_odd_refusal_then_a_refused_check_is_a_refused_token(http, operation, fixture):
    _fail(http, operation, fixture)
    answer(http, "GET", VERIFY, fixture)  # verify_credentials is refused too
    network = resumed()
    with pytest.raises(AuthExpired) as caught:
        _run(network, operation)
    assert "reconnect" in caught.value.message
    assert TOKEN not in caught.value.message
    sent = paths(http)
    assert sent[-1] == f"GET {VERIFY}" and sent.count(f"GET {VERIFY}") == 1
    assert sent.count("POST /api/v1/statuses") <= 1  # never sent again


@pytest.mark.parametrize("fixture", REFUSALS)
@pytest.mark.parametrize("operation", ["publish", "reconcile", "fetch_inbound"])
def test_an_odd_refusal_with_a_working_token_keeps_the_original_error(http, operation, fixture):
    _fail(http, operation, fixture)
    answer(http, "GET", VERIFY, "verify_credentials.json")
    network = resumed()
    with pytest.raises(Permanent) as caught:
        _run(network, operation)
    assert not isinstance(caught.value, AuthExpired)
    assert paths(http).count(f"GET {VERIFY}") == 1


def test_a_refused_verify_under_rate_limit_or_outage_keeps_the_original_error(http):
    answer(http, "POST", "/api/v1/statuses", "error_400_html.json")
    answer(http, "GET", VERIFY, "error_500.json")
    with pytest.raises(Permanent) as caught:
        resumed().publish(OutgoingPost("Bonjour"), idempotency_key="k")
    assert not isinstance(caught.value, AuthExpired)


def test_an_ordinary_not_found_does_not_check_the_token(http):
    """A JSON 404 ('Record not found') for a deleted status is just that: no extra call."""
    answer(http, "GET", "/api/v1/statuses/1/context", "error_404.json")
    with pytest.raises(NotFound):
        resumed().fetch_replies("1")
    assert paths(http) == ["GET /api/v1/statuses/1/context"]


def test_pleroma_refusing_the_token_at_connection_is_auth_expired(http):
    answer(http, "GET", VERIFY, "pleroma_error_403.json")
    with pytest.raises(AuthExpired):
        MastodonNetwork().connect(CREDS)


# -- optional endpoints ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["error_404_text.json", "error_501.json", "malformed"])
def test_missing_conversations_skip_that_part_and_the_cursor_moves(http, fixture):
    answer(http, "GET", "/api/v1/notifications", "notifications.json")
    if fixture == "malformed":
        http.add("GET", BASE + "/api/v1/conversations/", body="<html>Conversations</html>")
    else:
        answer(http, "GET", "/api/v1/conversations/", fixture)
    network = resumed()
    before = json.dumps({"n": "", "c": "103186000000000000"})
    batch = network.fetch_inbound(before)
    assert {i.message_id for i in batch.items} == {
        "103186126728896492",
        "103186046024791841",
        "103186000000000001",
    }
    cursor = json.loads(batch.next_cursor or "{}")
    assert cursor == {"n": "34975861", "c": "103186000000000000"}
    assert f"GET {VERIFY}" not in paths(http)  # an optional part never asks about the token


def test_conversations_that_are_not_a_list_are_skipped(http):
    answer(http, "GET", "/api/v1/notifications", "notifications.json")
    http.add("GET", BASE + "/api/v1/conversations/", json=[{"id": "1"}, "odd", {"last_status": 3}])
    batch = resumed().fetch_inbound(None)
    assert len(batch.items) == 3


def test_notifications_failing_still_raise(http):
    answer(http, "GET", "/api/v1/notifications", "error_500.json")
    answer(http, "GET", "/api/v1/conversations/", "conversations.json")
    with pytest.raises(Transient):
        resumed().fetch_inbound(None)


# -- limits from the instance ------------------------------------------------------------------------


def test_limits_from_mastodon_v2(http):
    answer(http, "GET", "/api/v2/instance", "instance_v2.json")
    limits = resumed().fetch_limits()
    assert limits.max_text_length == 5000
    assert limits.characters_per_url == 23
    assert limits.max_images == 4
    assert limits.max_image_bytes == 16777216
    assert limits.max_video_bytes == 103809024
    assert limits.accepts_video and "video/mp4" in (limits.video_mime_types or ())
    assert "image/avif" in limits.image_mime_types and "audio/mpeg" not in limits.image_mime_types


def test_limits_fall_back_to_v1_when_v2_is_missing(http):
    answer(http, "GET", "/api/v2/instance", "error_404_text.json")
    answer(http, "GET", "/api/v1/instance", "instance_v1.json")
    limits = resumed().fetch_limits()
    assert limits.max_text_length == 500 and limits.max_video_bytes == 41943040
    assert paths(http) == ["GET /api/v2/instance", "GET /api/v1/instance"]


def test_limits_of_pleroma_v1(http):
    answer(http, "GET", "/api/v2/instance", "error_404.json")
    answer(http, "GET", "/api/v1/instance", "pleroma_instance_v1.json")
    limits = resumed().fetch_limits()
    assert limits.max_text_length == 5000
    assert limits.characters_per_url is None  # Pleroma counts links as written
    assert limits.max_image_bytes == limits.max_video_bytes == 16000000
    assert limits.max_alt_text_length == 5000
    # "application/octet-stream" says anything: the documented types stay.
    assert limits.image_mime_types == MastodonNetwork.limits.image_mime_types
    assert limits.accepts_video


def test_limits_of_gotosocial(http):
    answer(http, "GET", "/api/v2/instance", "gotosocial_instance_v2.json")
    limits = resumed().fetch_limits()
    assert (limits.max_text_length, limits.characters_per_url, limits.max_images) == (5000, 25, 6)
    assert limits.video_mime_types == frozenset({"video/mp4"})


def test_no_instance_description_keeps_the_defaults(http):
    answer(http, "GET", "/api/v2/instance", "error_404_text.json")
    http.add("GET", BASE + "/api/v1/instance", body="<html>not here</html>", status=200)
    assert resumed().fetch_limits() == MastodonNetwork.limits


def test_an_instance_that_cannot_answer_now_raises(http):
    """Unreachable or 5xx: the caller keeps the limits it has cached."""
    answer(http, "GET", "/api/v2/instance", "error_500.json")
    with pytest.raises(Transient):
        resumed().fetch_limits()


def limited(http: responses.RequestsMock, fixture: str) -> MastodonNetwork:
    answer(http, "GET", "/api/v2/instance", fixture)
    limits = resumed().fetch_limits()
    return MastodonNetwork(limits=limits)


def test_compose_follows_a_200_character_instance_without_video(http):
    network = limited(http, "instance_v2_small.json")
    assert network.validate(OutgoingPost("x" * 200)) == []
    assert any("200" in p for p in network.validate(OutgoingPost("x" * 201)))
    video = MediaItem(b"\0" * 10, "video/mp4", filename="clip.mp4")
    assert any("video" in p for p in network.validate(OutgoingPost("Vidéo", media=(video,))))
    image = MediaItem(PNG_1PX, "image/png", alt_text="x", filename="p.png")
    assert network.validate(OutgoingPost("Image", media=(image,))) == []


def test_compose_follows_a_5000_character_instance(http):
    network = limited(http, "instance_v2.json")
    assert network.validate(OutgoingPost("x" * 5000)) == []
    assert network.validate(OutgoingPost("x" * 5001))
    video = MediaItem(b"\0" * 10, "video/mp4", filename="clip.mp4")
    assert network.validate(OutgoingPost("Vidéo", media=(video,))) == []
    webm = MediaItem(b"\0" * 10, "video/x-flv", filename="clip.flv")
    assert network.validate(OutgoingPost("Vidéo", media=(webm,)))


def test_links_count_as_the_instance_says(http):
    link = "https://porte-voix.example/" + "a" * 100
    assert MastodonNetwork().text_length(link) == 23
    gotosocial = limited(http, "gotosocial_instance_v2.json")
    assert gotosocial.text_length(link) == 25
    http.add("GET", BASE + "/api/v2/instance", status=404)
    answer(http, "GET", "/api/v1/instance", "pleroma_instance_v1.json")
    pleroma = MastodonNetwork(limits=resumed().fetch_limits())
    assert pleroma.text_length(link) == len(link)


def test_graphemes_count_once_and_the_warning_counts_with_the_text():
    network = MastodonNetwork()
    assert network.text_length("🇫🇷👍🏽é") == 3
    post = OutgoingPost("x" * 490, content_warning="Attention !!")
    assert any("content warning" in p for p in network.validate(post))
    assert network.validate(OutgoingPost("x" * 480, content_warning="Attention !!")) == []


# -- the handle comes from the server --------------------------------------------------------------


@pytest.mark.parametrize(
    ("v2", "v1", "handle"),
    [
        ("instance_v2.json", None, "@porte_voix@example.com"),
        ("gotosocial_instance_v2.json", None, "@porte_voix@example.org"),
        ("error_404.json", "instance_v1.json", "@porte_voix@example.com"),
        ("error_404.json", "pleroma_instance_v1.json", "@porte_voix@pleroma.example"),
        ("error_404.json", "error_404.json", "@porte_voix@mastodon.example"),
    ],
)
def test_the_handle_uses_the_instance_domain_not_the_address(http, v2, v1, handle):
    answer(http, "GET", VERIFY, "verify_credentials.json")
    answer(http, "GET", "/api/v2/instance", v2)
    if v1:
        answer(http, "GET", "/api/v1/instance", v1)
    network = MastodonNetwork()
    assert network.connect(CREDS).handle == handle
    # The limits read next come from the answer just read, not from a second call.
    calls = len(http.calls)
    network.fetch_limits()
    assert len(http.calls) == calls


# -- a thread cut midway ---------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["error_500.json", "error_429.json", "error_422.json"])
def test_any_failure_after_a_part_was_accepted_is_outcome_unknown(http, failure):
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    answer(http, "POST", "/api/v2/media", failure)
    image = MediaItem(PNG_1PX, "image/png", alt_text="x", filename="p.png")
    post = OutgoingPost("1/2", thread=(ThreadPart("2/2", media=(image,)),))
    with pytest.raises(OutcomeUnknown) as caught:
        resumed().publish(post, idempotency_key="k")
    assert not isinstance(caught.value, RateLimited | Transient)
    assert "1 part" in caught.value.message
    assert paths(http).count("POST /api/v1/statuses") == 1
