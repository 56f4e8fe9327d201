"""X: recorded answers from X's documentation (respx), and the contract suite against a
stateful fake on loopback (``fake_x.py``) that counts the POSTs reaching it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import (
    AuthExpired,
    InvalidInput,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.types import (
    AccountMetric,
    AuthorizationRequest,
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
    ThreadPart,
)
from portevoix.networks.x import XNetwork, weighted_length

from .contract import PNG_1PX, ContractSetup, NetworkContract
from .fake_x import CLIENT_ID, CLIENT_SECRET, GOOD_TOKEN, USER_ID, FakeX

FIXTURES = Path(__file__).parent / "fixtures" / "x"
API = "https://api.x.com"
TOKEN = "x-token-recorded"
CREDS = Credentials({"access_token": TOKEN})


def answer(name: str, **changes: Any) -> httpx.Response:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return httpx.Response(
        data["status"], headers=data.get("headers") or {}, json=changes.get("body", data["body"])
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def account(api: respx.MockRouter) -> Iterator[XNetwork]:
    api.get(url__startswith=f"{API}/2/users/me").mock(return_value=answer("users_me.json"))
    network = XNetwork(timeout=2)
    network.connect(CREDS)
    yield network
    network.close()


def test_weighted_length_counts_links_23_and_wide_characters_2() -> None:
    assert weighted_length("Bonjour") == 7
    assert weighted_length("voir https://example.com/a/very/long/path?x=1") == 5 + 23
    assert weighted_length("日本") == 4
    assert weighted_length("é") == 1


def test_connect_and_premium_limits(api: respx.MockRouter) -> None:
    api.get(url__startswith=f"{API}/2/users/me").mock(return_value=answer("users_me.json"))
    network = XNetwork()
    account = network.connect(CREDS)
    assert (account.account_id, account.handle) == ("2244994945", "@XDevelopers")
    assert network.limits.max_text_length == 280
    assert network.validate(OutgoingPost("x" * 281))
    api.get(url__startswith=f"{API}/2/users/me").mock(return_value=answer("users_me_premium.json"))
    premium = XNetwork()
    premium.connect(CREDS)
    assert premium.fetch_limits().max_text_length == 25_000
    assert premium.validate(OutgoingPost("x" * 281)) == []


def test_expired_token(api: respx.MockRouter) -> None:
    api.get(url__startswith=f"{API}/2/users/me").mock(return_value=answer("error_401.json"))
    with pytest.raises(AuthExpired):
        XNetwork().connect(CREDS)


def test_publish_with_an_image_and_alt_text(api: respx.MockRouter, account: XNetwork) -> None:
    upload = api.post(f"{API}/2/media/upload").mock(return_value=answer("media_uploaded.json"))
    meta = api.post(f"{API}/2/media/metadata").mock(
        return_value=httpx.Response(200, json={"data": {"associated_metadata": True}})
    )
    create = api.post(f"{API}/2/tweets").mock(return_value=answer("post_created.json"))
    image = MediaItem(PNG_1PX, "image/png", alt_text="Un pixel", filename="p.png")
    ref = account.publish(OutgoingPost("Hello world!", media=(image,)), idempotency_key="k")
    assert ref.post_id == "1445880548472328192"
    assert ref.url == "https://x.com/XDevelopers/status/1445880548472328192"
    assert b'name="media"' in upload.calls.last.request.content
    assert json.loads(meta.calls.last.request.content)["metadata"] == {
        "alt_text": {"text": "Un pixel"}
    }
    assert json.loads(create.calls.last.request.content) == {
        "text": "Hello world!",
        "media": {"media_ids": ["1880028106020515840"]},
    }


def test_rate_limit_reads_x_rate_limit_reset(api: respx.MockRouter, account: XNetwork) -> None:
    api.post(f"{API}/2/tweets").mock(return_value=answer("error_429.json"))
    with pytest.raises(RateLimited) as caught:
        account.publish(OutgoingPost("vite"), idempotency_key="k")
    assert caught.value.reset_at == datetime(2100, 1, 1, tzinfo=UTC)


def test_duplicate_content(api: respx.MockRouter, account: XNetwork) -> None:
    api.post(f"{API}/2/tweets").mock(return_value=answer("error_403_duplicate.json"))
    with pytest.raises(Permanent) as caught:
        account.publish(OutgoingPost("Hello world!"), idempotency_key="k")
    assert caught.value.code == "duplicate"


@pytest.mark.parametrize("name", ["error_402_credits.json", "error_403_not_enrolled.json"])
def test_paid_access_refusals_say_so(api: respx.MockRouter, account: XNetwork, name: str) -> None:
    api.post(f"{API}/2/tweets").mock(return_value=answer(name))
    with pytest.raises(Permanent) as caught:
        account.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    assert caught.value.code == "paid_access"


def test_an_image_too_large_for_x(api: respx.MockRouter, account: XNetwork) -> None:
    api.post(f"{API}/2/media/upload").mock(return_value=answer("error_413_media.json"))
    create = api.post(f"{API}/2/tweets").mock(return_value=answer("post_created.json"))
    image = MediaItem(PNG_1PX, "image/png", filename="p.png")
    with pytest.raises(InvalidInput):
        account.publish(OutgoingPost("image", media=(image,)), idempotency_key="k")
    assert not create.called


def test_timeout_after_sending_is_outcome_unknown(api: respx.MockRouter, account: XNetwork) -> None:
    api.post(f"{API}/2/tweets").mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(OutcomeUnknown):
        account.publish(OutgoingPost("Bonjour"), idempotency_key="k")


def test_reconcile_reads_the_posts_since_the_first_attempt(
    api: respx.MockRouter, account: XNetwork
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=2)
    data = json.loads((FIXTURES / "user_tweets.json").read_text())["body"]
    data["data"][0]["created_at"] = (since + timedelta(seconds=3)).isoformat()
    route = api.get(url__startswith=f"{API}/2/users/2244994945/tweets").mock(
        return_value=httpx.Response(200, json=data)
    )
    ref = account.reconcile("k", post=OutgoingPost("Hello world!"), since=since)
    assert ref is not None and ref.post_id == "1445880548472328192"
    query = parse_qs(urlsplit(str(route.calls.last.request.url)).query)
    assert query["start_time"] == [since.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert account.reconcile("k2", post=OutgoingPost("Jamais"), since=since) is None


def test_mentions_are_comments_when_they_answer_the_account(
    api: respx.MockRouter, account: XNetwork
) -> None:
    route = api.get(url__startswith=f"{API}/2/users/2244994945/mentions").mock(
        return_value=answer("mentions.json")
    )
    batch = account.fetch_inbound("1375152598945312000")
    [item] = batch.items
    assert item.kind == InboundKind.COMMENT and item.author.handle == "@client_42"
    assert item.author.followers == 57 and item.in_reply_to == "1375152449594523649"
    assert batch.next_cursor == "1375152598945312768"
    assert "since_id=1375152598945312000" in str(route.calls.last.request.url)


def test_oauth_uses_pkce() -> None:
    auth = XNetwork.begin_authorization(
        "", "https://pv.example/cb", state="s", client_id="cid", client_secret="shh"
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert "offline.access" in query["scope"].split()
    assert auth.extra["code_verifier"] and auth.extra["code_verifier"] not in auth.url


# -- the contract, on the fake -------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


def _creds(fake: FakeX, **extra: str) -> Credentials:
    return Credentials({"access_token": GOOD_TOKEN, "api_url": fake.base_url, **extra})


class TestXContract(NetworkContract):
    @pytest.fixture
    def contract(self, fake: FakeX) -> ContractSetup:
        def make_network(**kwargs: Any) -> XNetwork:
            return XNetwork(timeout=kwargs.pop("timeout", 1.0), **kwargs)

        @contextlib.contextmanager
        def lose_next_answer(network: Any) -> Iterator[None]:
            fake.state.hold_next_post = 1.5
            try:
                yield
            finally:
                time.sleep(0.6)

        @contextlib.contextmanager
        def rate_limit_next(network: Any) -> Iterator[None]:
            fake.state.rate_limit_next = True
            try:
                yield
            finally:
                fake.state.rate_limit_next = False

        return ContractSetup(
            make_network=make_network,
            credentials=_creds(fake),
            bad_credentials=_creds(fake, access_token="x-revoked-token-77"),
            secrets=(GOOD_TOKEN, "x-revoked-token-77"),
            add_comment=lambda ref, text: fake.add_reply(ref.post_id, text),
            lose_next_answer=lose_next_answer,
            rate_limit_next=rate_limit_next,
        )


def test_never_sent_blind_after_an_accepted_write(fake: FakeX) -> None:
    """A thread whose first part's answer is lost: the thread stops there (never sent
    blind), and a restarted client reconciles the part that exists; it reached X once."""
    post = OutgoingPost("1/3 On recrute", thread=(ThreadPart("2/3 à Lyon"), ThreadPart("3/3 CDI")))
    since = datetime.now(UTC)
    first = XNetwork(timeout=0.5)
    first.connect(_creds(fake))
    fake.state.hold_next_post = 1.2
    with pytest.raises(OutcomeUnknown):
        first.publish(post, idempotency_key="pv-t")
    time.sleep(1.0)  # the settle time: the held answer lands
    restarted = XNetwork(timeout=2)
    restarted.connect(_creds(fake))
    found = restarted.reconcile("pv-t", post=post, since=since)
    assert found is not None and found.thread == ()  # only the first part is out
    assert fake.state.post_requests == 1
    assert [p["text"] for p in fake.state.posts] == ["1/3 On recrute"]


def test_a_refresh_rotates_and_stores_the_refresh_token(fake: FakeX) -> None:
    request = XNetwork.begin_authorization(
        fake.base_url,
        "http://127.0.0.1/cb",
        state="s",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    fake.state.codes["c"] = (USER_ID, _challenge(request))
    credentials = XNetwork.complete_authorization(request, "c")
    assert credentials.get("refresh_token") and credentials.get("expires_at")
    changes: list[Credentials] = []
    network = XNetwork(on_credentials_change=changes.append, timeout=2)
    network.connect(credentials)
    fresh = network.refresh_credentials()
    assert changes == [fresh]
    assert fresh.get("refresh_token") != credentials.get("refresh_token")
    # The old refresh token is spent (rotation): only the stored new one works.
    stale = XNetwork(timeout=2)
    stale.connect(credentials)
    with pytest.raises(AuthExpired):
        stale.refresh_credentials()
    network.refresh_credentials()


def _challenge(request: AuthorizationRequest) -> str:
    return parse_qs(urlsplit(request.url).query)["code_challenge"][0]


def test_an_empty_bucket_waits_only_for_its_own_endpoint(
    api: respx.MockRouter, account: XNetwork
) -> None:
    api.get(url__startswith=f"{API}/2/users/2244994945/mentions").mock(
        return_value=httpx.Response(
            200,
            json={"meta": {"result_count": 0}},
            headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": "4102444800"},
        )
    )
    create = api.post(f"{API}/2/tweets").mock(return_value=answer("post_created.json"))
    account.fetch_inbound(None)
    with pytest.raises(RateLimited) as caught:
        account.fetch_inbound(None)
    assert caught.value.code == "budget"
    account.publish(OutgoingPost("Hello world!"), idempotency_key="k")  # posting still goes
    assert create.called


# -- video (chunked upload) ---------------------------------------------------------------------

CLIP = MediaItem(b"0123456789", "video/mp4", filename="atelier.mp4")


def _command(request: httpx.Request) -> str:
    content = request.content
    if b'name="command"' not in content:
        return request.url.params.get("command", "?")
    return content.split(b'name="command"\r\n\r\n')[1].split(b"\r\n")[0].decode()


def test_publish_a_video_in_chunks(api: respx.MockRouter, account: XNetwork) -> None:
    upload = api.post(f"{API}/2/media/upload").mock(
        side_effect=[
            answer("video_init.json"),
            httpx.Response(204),
            answer("video_finalize_pending.json"),
        ]
    )
    status = api.get(url__startswith=f"{API}/2/media/upload").mock(
        return_value=answer("video_status_succeeded.json")
    )
    create = api.post(f"{API}/2/tweets").mock(return_value=answer("post_created.json"))
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    # FINALIZE says "pending": not ready, nothing posted, try again in a moment.
    with pytest.raises(Transient) as caught:
        account.publish(post, idempotency_key="v")
    assert "processing" in caught.value.message and not create.called
    ref = account.publish(post, idempotency_key="v")
    assert ref.post_id == "1445880548472328192"
    assert [_command(c.request) for c in upload.calls] == ["INIT", "APPEND", "FINALIZE"]
    init = upload.calls[0].request.content
    assert b"tweet_video" in init and b'name="total_bytes"\r\n\r\n10' in init
    assert b"0123456789" in upload.calls[1].request.content
    assert status.calls.last.request.url.params["media_id"] == "1880028106020515840"
    assert json.loads(create.calls.last.request.content) == {
        "text": "Notre atelier en vidéo",
        "media": {"media_ids": ["1880028106020515840"]},
    }


def test_a_lost_post_answer_is_found_by_the_videos_media_key(
    api: respx.MockRouter, account: XNetwork
) -> None:
    upload = api.post(f"{API}/2/media/upload").mock(
        side_effect=[
            answer("video_init.json"),
            httpx.Response(204),
            answer("video_status_succeeded.json"),
        ]
    )
    create = api.post(f"{API}/2/tweets").mock(side_effect=httpx.ReadTimeout("lost"))
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(OutcomeUnknown):
        account.publish(post, idempotency_key="v2")
    api.get(url__startswith=f"{API}/2/users/2244994945/tweets").mock(
        return_value=answer("user_tweets_video.json")
    )
    # X shortened the text's look (a t.co link): the video's media key says it is the post.
    found = account.reconcile("v2", post=post, since=datetime(2026, 12, 1, tzinfo=UTC))
    assert found is not None and found.post_id == "1445880548472328192"
    assert upload.call_count == 3 and create.call_count == 1


def test_publishing_again_reuses_the_uploaded_video(
    api: respx.MockRouter, account: XNetwork
) -> None:
    upload = api.post(f"{API}/2/media/upload").mock(
        side_effect=[
            answer("video_init.json"),
            httpx.Response(204),
            answer("video_status_succeeded.json"),
        ]
    )
    create = api.post(f"{API}/2/tweets").mock(
        side_effect=[httpx.ConnectError("down"), answer("post_created.json")]
    )
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(Transient):
        account.publish(post, idempotency_key="v3")
    assert account.publish(post, idempotency_key="v3").post_id == "1445880548472328192"
    assert upload.call_count == 3 and create.call_count == 2


def test_a_video_x_cannot_process_is_invalid_and_nothing_is_posted(
    api: respx.MockRouter, account: XNetwork
) -> None:
    api.post(f"{API}/2/media/upload").mock(
        side_effect=[
            answer("video_init.json"),
            httpx.Response(204),
            answer("video_status_failed.json"),
        ]
    )
    create = api.post(f"{API}/2/tweets")
    with pytest.raises(InvalidInput) as caught:
        account.publish(OutgoingPost("Vidéo", media=(CLIP,)), idempotency_key="v4")
    assert "Unsupported video format" in caught.value.message
    assert not create.called


def test_a_video_too_large_for_x(api: respx.MockRouter, account: XNetwork) -> None:
    upload = api.post(f"{API}/2/media/upload").mock(return_value=answer("error_413_media.json"))
    create = api.post(f"{API}/2/tweets")
    with pytest.raises(InvalidInput):
        account.publish(OutgoingPost("Vidéo", media=(CLIP,)), idempotency_key="v5")
    assert upload.call_count == 1 and not create.called
    big = MediaItem(b"\0" * (512 * 1024 * 1024 + 1), "video/mp4", filename="long.mp4")
    assert any("long.mp4" in p for p in account.validate(OutgoingPost("x", media=(big,))))
    photo = MediaItem(PNG_1PX, "image/png", filename="p.png")
    assert any("goes alone" in p for p in account.validate(OutgoingPost("x", media=(CLIP, photo))))


def test_video_on_the_fake_timeout_after_accept_gives_exactly_one_post(fake: FakeX) -> None:
    journal = MemoryJournal()
    data = bytes(range(256)) * 10
    post = OutgoingPost(
        f"Une seule vidéo {time.time()}", media=(MediaItem(data, "video/mp4", filename="c.mp4"),)
    )
    since = datetime.now(UTC)
    before = fake.state.video_calls.copy()
    posts_before = fake.state.post_requests
    first = XNetwork(timeout=0.5, journal=journal)
    first.connect(_creds(fake))
    fake.state.video_processing_reads = 1
    with pytest.raises(Transient):
        first.publish(post, idempotency_key="video-once")
    fake.state.video_processing_reads = 0
    fake.state.hold_next_post = 1.2
    with pytest.raises(OutcomeUnknown):
        first.publish(post, idempotency_key="video-once")
    time.sleep(1.0)
    restarted = XNetwork(timeout=2, journal=journal)
    restarted.connect(_creds(fake))
    found = restarted.reconcile("video-once", post=post, since=since)
    assert found is not None
    assert restarted.publish(post, idempotency_key="video-once").post_id == found.post_id
    assert fake.state.post_requests - posts_before == 1
    calls = fake.state.video_calls - before
    assert calls["INIT"] == 1 and calls["APPEND"] == 1 and calls["FINALIZE"] == 1
    [made] = [p for p in fake.state.posts if p["id"] == found.post_id]
    media_id = made["attachments"]["media_keys"][0].removeprefix("7_")
    assert fake.state.videos[media_id]["data"] == data


# -- account metrics ----------------------------------------------------------------------------


def test_account_metrics_reads_the_followers_and_offers_no_visits(
    api: respx.MockRouter, account: XNetwork
) -> None:
    route = api.get(url__startswith=f"{API}/2/users/me").mock(
        return_value=answer("users_me_public_metrics.json")
    )
    figures = account.account_metrics(datetime.now(UTC) - timedelta(hours=6))
    assert (figures.followers, figures.profile_visits) == (527521, None)
    assert route.calls.last.request.url.params["user.fields"] == "public_metrics"
    assert account.offered_account_metrics() == {AccountMetric.FOLLOWERS}


def test_account_metrics_without_api_access_is_not_offered_and_says_so(
    api: respx.MockRouter, account: XNetwork
) -> None:
    api.get(url__startswith=f"{API}/2/users/me").mock(
        return_value=answer("error_403_not_enrolled.json")
    )
    figures = account.account_metrics(datetime.now(UTC) - timedelta(hours=6))
    assert figures.followers is None


def test_account_metrics_rate_limited_is_retried_later(
    api: respx.MockRouter, account: XNetwork
) -> None:
    api.get(url__startswith=f"{API}/2/users/me").mock(return_value=answer("error_429.json"))
    with pytest.raises(RateLimited):
        account.account_metrics(datetime.now(UTC) - timedelta(hours=6))
