"""YouTube module: the contract on a stateful fake on loopback, and recorded answers.

Two layers:

- the shared contract against ``fake_youtube.FakeYouTube`` (Google's token endpoint and the
  Data API v3 on loopback, with the resumable upload protocol), which counts the writes that
  reach it: a lost upload answer gives exactly one video, found again by reconcile;
- exact answers from the API reference (``fixtures/youtube/*.json``, each with its source)
  replayed with ``respx``: error mapping (quota, rate limit, expired token, refusals), the
  upload that times out after being accepted, OAuth, inbound mapping, metrics.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.types import (
    AccountMetric,
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
    PublishedRef,
    Visibility,
)
from portevoix.networks.youtube import (
    COSTS,
    QuotaLedger,
    YouTubeNetwork,
    next_quota_reset,
    split_text,
)

from .contract import ContractSetup, NetworkContract
from .fake_youtube import CHANNEL_ID, FakeYouTube

FIXTURES = Path(__file__).parent / "fixtures" / "youtube"
VIDEO = MediaItem(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000, "video/mp4", filename="talk.mp4")
SECRET = "secret-1"


def video_post(text: str, **kwargs: Any) -> OutgoingPost:
    return OutgoingPost(text, media=(VIDEO,), **kwargs)


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    with FakeYouTube(client_secret=SECRET).running() as server:
        yield server


def creds(**changes: str) -> Credentials:
    values = {"client_id": "client-1", "client_secret": SECRET, "refresh_token": "refresh-1"}
    values.update(changes)
    return Credentials(values)


def make(fake: FakeYouTube, **kwargs: Any) -> YouTubeNetwork:
    kwargs.setdefault("timeout", 1.5)
    kwargs.setdefault("ledger", QuotaLedger())
    return YouTubeNetwork(api_root=fake.url, token_uri=fake.token_uri, **kwargs)


# -- the contract, on the fake ----------------------------------------------------------------


class TestYouTubeContract(NetworkContract):
    required_media = (VIDEO,)

    @pytest.fixture
    def contract(self, fake: FakeYouTube) -> ContractSetup:
        ledger = QuotaLedger()

        @contextlib.contextmanager
        def lose(network: Any) -> Iterator[None]:
            fake.lose_next_write = True
            yield

        @contextlib.contextmanager
        def quota(network: Any) -> Iterator[None]:
            fake.quota_next = True
            yield

        return ContractSetup(
            make_network=lambda **kw: make(fake, ledger=ledger, **kw),
            credentials=creds(),
            bad_credentials=creds(refresh_token="refresh-revoked-77"),
            secrets=(SECRET, "refresh-1", "refresh-revoked-77"),
            add_comment=lambda ref, text: fake.add_comment(ref.post_id, text) and None,
            lose_next_answer=lose,
            rate_limit_next=quota,
        )


# -- exactly once, counted by the fake ----------------------------------------------------------


def test_upload_lost_after_acceptance_is_one_video(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    post = video_post(f"Le discours du PDG {uuid.uuid4().hex[:6]}\nÀ Lyon, en entier.")
    since = datetime.now(UTC)
    fake.lose_next_write = True
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="pv-1")
    # A new process (the worker restarted): no memory of the upload session.
    again = make(fake)
    again.connect(creds())
    found = again.reconcile("pv-1", post=post, since=since)
    assert found is not None
    assert fake.uploads_of(split_text(post.text)[0]) == [found.post_id]
    assert again.publish(post, idempotency_key="pv-1").post_id == found.post_id
    assert fake.posts["/upload/youtube/v3/videos"] == 1
    assert len(fake.videos) == 1


def test_the_same_process_asks_the_upload_session(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    post = video_post("Tutoriel : changer le filtre")
    fake.lose_next_write = True
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="pv-2")
    before = list(fake.requests)
    found = network.reconcile("pv-2", post=post, since=datetime.now(UTC) - timedelta(minutes=1))
    assert found is not None and found.post_id in fake.videos
    # Asked the session (an empty PUT), not the uploads playlist.
    asked = fake.requests[len(before) :]
    assert asked and all(path.startswith("/upload/session/") for _, path in asked)
    assert fake.posts["/upload/youtube/v3/videos"] == 1


def test_reconcile_says_not_there_when_the_upload_never_completed(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    post = video_post("Jamais arrivée")
    assert network.reconcile("pv-3", post=post, since=datetime.now(UTC)) is None


def test_reconcile_with_two_twins_asks_a_person(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    post = video_post("Deux fois la même")
    since = datetime.now(UTC)
    network.publish(post, idempotency_key="a")
    network.publish(post, idempotency_key="b")
    other = make(fake)
    other.connect(creds())
    with pytest.raises(Ambiguous) as caught:
        other.reconcile("c", post=post, since=since)
    assert len(caught.value.candidates) == 2
    # One of them is already recorded by another publication: the other one is the answer.
    first = network.reconcile("a", post=post)
    assert first is not None
    found = other.reconcile("c", post=post, since=since, exclude=frozenset({first.post_id}))
    assert found is not None and found.post_id != first.post_id


def test_a_lost_comment_is_outcome_unknown_and_posted_once(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    ref = network.publish(video_post("Questions bienvenues"), idempotency_key="v")
    fake.lose_next_write = True
    with pytest.raises(OutcomeUnknown):
        network.reply(ref.post_id, "Merci !", idempotency_key="r")
    assert fake.posts["/youtube/v3/commentThreads"] == 1


def test_the_token_is_renewed_and_announced(fake: FakeYouTube) -> None:
    changes: list[Credentials] = []
    network = make(fake, on_credentials_change=changes.append)
    network.connect(creds(access_token="ya29.stale", expires_at="2020-01-01T00:00:00+00:00"))
    assert changes and changes[-1].get("access_token") in fake.access_tokens
    assert changes[-1].get("refresh_token") == "refresh-1"
    # A token the API refuses (revoked early) is renewed once, and the call goes through.
    fake.access_tokens.clear()
    network.verify()
    assert len(changes) >= 2 and changes[-1].get("access_token") in fake.access_tokens


def test_a_revoked_refresh_token_is_auth_expired(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    fake.refuse_tokens = True
    fake.access_tokens.clear()
    with pytest.raises(AuthExpired):
        network.publish(video_post("Après révocation"), idempotency_key="x")
    # The session's start was refused (401), the token could not be renewed: no video.
    assert not fake.videos and not fake.sessions


def test_quota_is_counted_and_refused_before_sending(fake: FakeYouTube) -> None:
    ledger = QuotaLedger()
    network = make(fake, ledger=ledger)
    network.connect(creds(daily_uploads="2", daily_quota="52"))
    network.publish(video_post("Première"), idempotency_key="1")
    network.publish(video_post("Deuxième"), idempotency_key="2")
    now = datetime.now(UTC)
    assert ledger.spent("client-1", "uploads", now) == 2 * COSTS["videos.insert"][1]
    with pytest.raises(RateLimited) as caught:
        network.publish(video_post("Troisième"), idempotency_key="3")
    assert caught.value.code == "quota_budget"
    assert caught.value.reset_at == next_quota_reset(now)
    assert fake.posts["/upload/youtube/v3/videos"] == 2
    # The other calls have their own budget: one read (the connect), then a comment (50).
    assert ledger.spent("client-1", "units", now) == 1
    ref = network.reconcile("1", post=video_post("Première"))
    assert ref is not None
    network.reply(ref.post_id, "Premier commentaire", idempotency_key="c1")
    with pytest.raises(RateLimited):
        network.reply(ref.post_id, "Un de trop", idempotency_key="c2")
    assert fake.posts["/youtube/v3/commentThreads"] == 1


def test_google_quota_answer_spends_the_day(fake: FakeYouTube) -> None:
    ledger = QuotaLedger()
    network = make(fake, ledger=ledger)
    network.connect(creds())
    fake.quota_next = True
    with pytest.raises(RateLimited):
        network.fetch_replies("abc")
    before = len(fake.requests)
    with pytest.raises(RateLimited) as caught:
        network.fetch_replies("abc")
    assert caught.value.code == "quota_budget" and len(fake.requests) == before
    # Uploads have their own bucket; Google's refusal of one spends that bucket too.
    fake.quota_next = True
    with pytest.raises(RateLimited):
        network.publish(video_post("Aujourd’hui"), idempotency_key="q")
    with pytest.raises(RateLimited) as caught:
        network.publish(video_post("Demain"), idempotency_key="q2")
    assert caught.value.code == "quota_budget"
    assert not fake.videos


def test_unaudited_projects_upload_private(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    ref = network.publish(video_post("Public, en principe"), idempotency_key="p")
    assert ref.extra["privacy"] == "private"
    audited = make(fake)
    audited.connect(creds(audited="yes"))
    ref = audited.publish(video_post("Vraiment public"), idempotency_key="p2")
    assert ref.extra["privacy"] == "public"
    unlisted = audited.publish(
        video_post("Non répertoriée", visibility=Visibility.UNLISTED), idempotency_key="p3"
    )
    assert unlisted.extra["privacy"] == "unlisted"


def test_replies_hide_and_delete(fake: FakeYouTube) -> None:
    network = make(fake)
    network.connect(creds())
    ref = network.publish(video_post("Avec commentaires"), idempotency_key="c")
    thread_id = fake.add_comment(ref.post_id, "Où acheter ?")
    batch = network.fetch_inbound(None)
    item = next(i for i in batch.items if i.message_id == thread_id)
    assert item.kind == InboundKind.COMMENT and item.in_reply_to == ref.post_id
    assert item.author.id != CHANNEL_ID
    answer = network.reply(item, "Sur notre site.", idempotency_key="a1")
    assert answer.post_id.startswith(thread_id + ".")
    # Our own answer is not inbound.
    assert all(i.author.id != CHANNEL_ID for i in network.fetch_replies(ref.post_id).items)
    network.hide_comment(thread_id)
    assert fake.threads[thread_id]["snippet"]["isPublic"] is False
    network.delete(ref)
    assert ref.post_id not in fake.videos
    with pytest.raises(NotFound):
        network.delete(ref)


# -- compose ------------------------------------------------------------------------------------


def test_validate_speaks_of_title_video_and_privacy() -> None:
    network = YouTubeNetwork()
    assert network.validate(video_post("Titre\nDescription")) == []
    assert any("one video" in p for p in network.validate(OutgoingPost("Sans vidéo")))
    assert any("title" in p for p in network.validate(video_post("x" * 101)))
    assert any("<" in p for p in network.validate(video_post("a <b>")))
    assert any(
        "followers" in p
        for p in network.validate(video_post("Abonnés", visibility=Visibility.FOLLOWERS))
    )
    assert split_text("  Titre \n\nLigne 1\nLigne 2\n") == ("Titre", "Ligne 1\nLigne 2")


def test_post_id_from_url() -> None:
    account = None
    for url in (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
    ):
        assert YouTubeNetwork.post_id_from_url(url, account) == "dQw4w9WgXcQ"  # type: ignore[arg-type]


def test_quota_day_resets_at_pacific_midnight() -> None:
    # 2026-12-02 07:59 UTC is 23:59 in Los Angeles (PST, UTC-8).
    assert next_quota_reset(datetime(2026, 12, 2, 7, 59, tzinfo=UTC)) == datetime(
        2026, 12, 2, 8, 0, tzinfo=UTC
    )
    # In summer (PDT, UTC-7).
    assert next_quota_reset(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 7, 2, 7, 0, tzinfo=UTC
    )


# -- recorded answers (respx) ------------------------------------------------------------------

API = "https://youtube.googleapis.com/youtube/v3"
UPLOAD = "https://youtube.googleapis.com/upload/youtube/v3/videos"
SESSION = "https://www.googleapis.com/upload/youtube/v3/videos"
TOKEN = "https://oauth2.googleapis.com/token"
LIVE = "ya29.live-token-never-logged"


def load(name: str) -> dict[str, Any]:
    """A recorded answer; every fixture names its source in the documentation."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data.get("_source", "").startswith("https://developers.google.com/") and data.get(
        "_note"
    ), name
    return data


def answer(name: str) -> httpx.Response:
    data = load(name)
    return httpx.Response(data["status"], json=data["body"], headers=data.get("headers", {}))


def live_creds(**changes: str) -> Credentials:
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return creds(access_token=LIVE, expires_at=expires, **changes)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def recorded(api: respx.MockRouter) -> YouTubeNetwork:
    api.get(f"{API}/channels").mock(return_value=answer("channels_mine.json"))
    network = YouTubeNetwork(ledger=QuotaLedger(), timeout=5)
    network.connect(live_creds())
    return network


def start_upload(api: respx.MockRouter) -> respx.Route:
    return api.post(UPLOAD).mock(return_value=answer("upload_started.json"))


def test_recorded_connect_reads_the_channel(api: respx.MockRouter) -> None:
    route = api.get(f"{API}/channels").mock(return_value=answer("channels_mine.json"))
    account = YouTubeNetwork(ledger=QuotaLedger()).connect(live_creds())
    assert account.account_id == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert account.handle == "@lumieretv" and account.display_name == "Lumière TV"
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {LIVE}"
    assert "mine=true" in str(request.url)


def test_recorded_account_without_channel_is_permanent(api: respx.MockRouter) -> None:
    api.get(f"{API}/channels").mock(return_value=answer("channels_none.json"))
    with pytest.raises(Permanent) as caught:
        YouTubeNetwork(ledger=QuotaLedger()).connect(live_creds())
    assert caught.value.code == "no_channel"


def test_recorded_expired_token_is_refreshed(api: respx.MockRouter) -> None:
    token = api.post(TOKEN).mock(return_value=answer("token_refresh.json"))
    api.get(f"{API}/channels").mock(return_value=answer("channels_mine.json"))
    changes: list[Credentials] = []
    network = YouTubeNetwork(ledger=QuotaLedger(), on_credentials_change=changes.append)
    network.connect(creds(access_token="old", expires_at="2026-01-01T00:00:00+00:00"))
    form = dict(httpx.QueryParams(token.calls.last.request.content.decode()))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-1"
    assert changes[-1].get("access_token") == "ya29.a0-refreshed-token"


def test_recorded_revoked_refresh_token_is_auth_expired(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(TOKEN).mock(return_value=answer("token_invalid_grant.json"))
    with pytest.raises(AuthExpired) as caught:
        YouTubeNetwork(ledger=QuotaLedger()).connect(creds())
    assert caught.value.code == "invalid_grant"
    assert SECRET not in caught.value.message and "refresh-1" not in caplog.text


def test_recorded_401_renews_once_then_auth_expired(api: respx.MockRouter) -> None:
    api.get(f"{API}/channels").mock(return_value=answer("error_auth.json"))
    api.post(TOKEN).mock(return_value=answer("token_refresh.json"))
    with pytest.raises(AuthExpired):
        YouTubeNetwork(ledger=QuotaLedger()).connect(live_creds())


def test_recorded_missing_scope_asks_for_a_reconnect(api: respx.MockRouter) -> None:
    api.get(f"{API}/channels").mock(return_value=answer("error_insufficient_permissions.json"))
    with pytest.raises(AuthExpired) as caught:
        YouTubeNetwork(ledger=QuotaLedger()).connect(live_creds())
    assert caught.value.code == "insufficientPermissions"


def test_recorded_upload(api: respx.MockRouter, recorded: YouTubeNetwork) -> None:
    start = start_upload(api)
    put = api.put(SESSION).mock(return_value=answer("video_uploaded.json"))
    network = YouTubeNetwork(ledger=QuotaLedger())
    network.connect(live_creds(audited="yes"))
    ref = network.publish(
        video_post("Le discours du PDG\nÀ Lyon, en entier.", language="fr"),
        idempotency_key="k",
    )
    assert ref.post_id == "Ks-_Mh1QhMc" and ref.url.endswith("v=Ks-_Mh1QhMc")
    assert ref.extra["privacy"] == "public"
    assert ref.published_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    metadata = json.loads(start.calls.last.request.content)
    assert metadata["snippet"] == {
        "title": "Le discours du PDG",
        "description": "À Lyon, en entier.",
        "defaultLanguage": "fr",
        "defaultAudioLanguage": "fr",
    }
    assert metadata["status"] == {"privacyStatus": "public"}
    assert "uploadType=resumable" in str(start.calls.last.request.url)
    assert start.calls.last.request.headers["X-Upload-Content-Type"] == "video/mp4"
    assert put.calls.last.request.content == VIDEO.data


def test_recorded_google_keeps_an_unaudited_upload_private(api: respx.MockRouter) -> None:
    api.get(f"{API}/channels").mock(return_value=answer("channels_mine.json"))
    start_upload(api)
    api.put(SESSION).mock(return_value=answer("video_uploaded_locked_private.json"))
    network = YouTubeNetwork(ledger=QuotaLedger())
    # Said to be audited, but Google still locks it private: the ref says so.
    network.connect(live_creds(audited="yes"))
    ref = network.publish(video_post("Le discours du PDG"), idempotency_key="k")
    assert ref.extra["privacy"] == "private" and ref.extra["privacy_asked"] == "public"


def test_recorded_upload_timeout_after_acceptance(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    start_upload(api)
    calls: list[str] = []

    def session(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("Content-Range", ""))
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        # "Step 4 - Resume an interrupted upload": a status query of a finished upload
        # answers the video resource.
        return answer("video_uploaded.json")

    api.put(SESSION).mock(side_effect=session)
    post = video_post("Le discours du PDG\nÀ Lyon, en entier.")
    with pytest.raises(OutcomeUnknown):
        recorded.publish(post, idempotency_key="k")
    found = recorded.reconcile("k", post=post, since=datetime(2026, 12, 1, 9, 29, tzinfo=UTC))
    assert found is not None and found.post_id == "Ks-_Mh1QhMc"
    assert calls == [f"bytes 0-{VIDEO.size - 1}/{VIDEO.size}", f"bytes */{VIDEO.size}"]


def test_recorded_reconcile_by_the_uploads_playlist(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    listing = api.get(f"{API}/playlistItems").mock(return_value=answer("playlist_items.json"))
    post = video_post("Le discours du PDG\nÀ Lyon, en entier.")
    since = datetime(2026, 12, 1, 9, 29, tzinfo=UTC)
    found = recorded.reconcile("k", post=post, since=since)
    assert found is not None and found.post_id == "Ks-_Mh1QhMc"
    assert "playlistId=UU_x5XG1OV2P6uZZ5FSM9Ttw" in str(listing.calls.last.request.url)
    # After the first attempt only: the older upload never matches.
    old = video_post("Tutoriel : le filtre")
    assert YouTubeNetwork.reconcile(recorded, "other", post=old, since=since) is None
    # Already recorded by another publication: not this one.
    assert (
        recorded.reconcile("k2", post=post, since=since, exclude=frozenset({"Ks-_Mh1QhMc"})) is None
    )
    # Same title, other description: a person decides.
    with pytest.raises(Ambiguous) as caught:
        recorded.reconcile("k3", post=video_post("Le discours du PDG\nAutre"), since=since)
    assert [c.post_id for c in caught.value.candidates] == ["Ks-_Mh1QhMc"]


@pytest.mark.parametrize(
    ("fixture", "error", "code"),
    [
        ("error_quota_exceeded.json", RateLimited, "quotaExceeded"),
        ("error_rate_limit.json", RateLimited, "rateLimitExceeded"),
        ("error_invalid_title.json", InvalidInput, "invalidTitle"),
        ("error_upload_limit.json", RateLimited, "uploadLimitExceeded"),
        ("error_too_large.json", InvalidInput, "uploadTooLarge"),
        ("error_backend.json", Transient, "backendError"),
    ],
)
def test_recorded_refusals_of_the_upload_start(
    api: respx.MockRouter, recorded: YouTubeNetwork, fixture: str, error: type, code: str
) -> None:
    api.post(UPLOAD).mock(return_value=answer(fixture))
    put = api.put(SESSION)
    with pytest.raises(error) as caught:
        recorded.publish(video_post("Le discours du PDG"), idempotency_key="k")
    assert caught.value.code == code
    assert not put.called
    if isinstance(caught.value, RateLimited):
        assert caught.value.reset_at is not None and caught.value.reset_at.tzinfo is not None


def test_recorded_rate_limit_reads_retry_after(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    api.get(f"{API}/videos").mock(return_value=answer("error_rate_limit.json"))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        recorded.metrics([PublishedRef("youtube", "Ks-_Mh1QhMc")])
    assert caught.value.reset_at is not None
    assert timedelta(seconds=25) < caught.value.reset_at - before < timedelta(seconds=40)


def test_recorded_5xx_on_the_upload_itself_is_outcome_unknown(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    start_upload(api)
    api.put(SESSION).mock(return_value=answer("error_backend.json"))
    with pytest.raises(OutcomeUnknown):
        recorded.publish(video_post("Le discours du PDG"), idempotency_key="k")


def test_recorded_comments_come_in(api: respx.MockRouter, recorded: YouTubeNetwork) -> None:
    route = api.get(f"{API}/commentThreads").mock(return_value=answer("comment_threads.json"))
    batch = recorded.fetch_inbound(None)
    assert [i.message_id for i in batch.items] == [
        "UgzDE2tasfmrYLyNkGt4AaABAg",
        "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXLqKy_Pt",
    ]
    top, answer_item = batch.items
    assert top.in_reply_to == "Ks-_Mh1QhMc" and top.thread_id == "Ks-_Mh1QhMc"
    assert top.author.handle == "@camille" and top.author.id == "UCcamille000000000000001"
    assert answer_item.in_reply_to == "UgzDE2tasfmrYLyNkGt4AaABAg"
    assert batch.next_cursor == "2026-12-01T10:05:00+00:00"
    assert "allThreadsRelatedToChannelId=UC_x5XG1OV2P6uZZ5FSM9Ttw" in str(
        route.calls.last.request.url
    )
    assert recorded.fetch_inbound(batch.next_cursor).items == batch.items[1:]


def test_recorded_reply_and_refusal(api: respx.MockRouter, recorded: YouTubeNetwork) -> None:
    route = api.post(f"{API}/comments").mock(return_value=answer("comment_inserted.json"))
    ref = recorded.reply(
        "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXLqKy_Pt",
        "Elles sont dans la description.",
        idempotency_key="r",
    )
    assert ref.post_id.startswith("UgzDE2tasfmrYLyNkGt4AaABAg.")
    body = json.loads(route.calls.last.request.content)
    assert body["snippet"]["parentId"] == "UgzDE2tasfmrYLyNkGt4AaABAg"
    api.post(f"{API}/commentThreads").mock(return_value=answer("error_comments_disabled.json"))
    with pytest.raises(Permanent) as caught:
        recorded.reply("Ks-_Mh1QhMc", "Bravo", idempotency_key="r2")
    assert caught.value.code == "commentsDisabled"


def test_recorded_metrics_and_delete(api: respx.MockRouter, recorded: YouTubeNetwork) -> None:
    api.get(f"{API}/videos").mock(return_value=answer("video_statistics.json"))
    [snap] = recorded.metrics([PublishedRef("youtube", "Ks-_Mh1QhMc")])
    assert (snap.views, snap.likes, snap.replies, snap.reposts) == (1843, 97, 12, None)
    api.delete(f"{API}/videos").mock(return_value=answer("error_video_not_found.json"))
    with pytest.raises(NotFound):
        recorded.delete(PublishedRef("youtube", "Ks-_Mh1QhMc"))


def test_recorded_oauth_round_trip(api: respx.MockRouter) -> None:
    token = api.post(TOKEN).mock(return_value=answer("token_exchange.json"))
    request = YouTubeNetwork.begin_authorization(
        "",
        "https://pv.example/acme/channels/oauth/callback/",
        state="st-1",
        client_id="client-1",
        client_secret=SECRET,
    )
    query = dict(httpx.URL(request.url).params)
    assert request.url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["scope"] == "https://www.googleapis.com/auth/youtube.force-ssl"
    assert query["code_challenge_method"] == "S256" and query["state"] == "st-1"
    assert SECRET not in request.url and SECRET not in repr(request)
    credentials = YouTubeNetwork.complete_authorization(request, "4/0code")
    form = dict(httpx.QueryParams(token.calls.last.request.content.decode()))
    assert form["code"] == "4/0code" and form["code_verifier"] == request.extra["code_verifier"]
    assert credentials.get("refresh_token").startswith("1//")
    assert credentials.get("client_secret") == SECRET and "audited" not in credentials
    with pytest.raises(InvalidInput):
        YouTubeNetwork.begin_authorization("", "https://x/", state="s")


def test_recorded_an_unfinished_session_is_asked_not_resumed(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    start_upload(api)
    calls: list[str] = []

    def session(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("Content-Range", ""))
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        # The guide's answer to a status query of an upload that did not complete.
        return httpx.Response(308, headers={"Range": "bytes=0-999"})

    api.put(SESSION).mock(side_effect=session)
    api.get(f"{API}/playlistItems").mock(return_value=answer("playlist_items.json"))
    post = video_post("Jamais terminée")
    with pytest.raises(OutcomeUnknown):
        recorded.publish(post, idempotency_key="k")
    assert (
        recorded.reconcile("k", post=post, since=datetime(2026, 12, 1, 9, 31, tzinfo=UTC)) is None
    )
    # One upload, one status query: reconcile sent no more bytes.
    assert calls == [f"bytes 0-{VIDEO.size - 1}/{VIDEO.size}", f"bytes */{VIDEO.size}"]


# -- first comment ------------------------------------------------------------------------------


def test_first_comment_goes_under_the_new_video(fake: FakeYouTube) -> None:
    network = make(fake, journal=MemoryJournal())
    network.connect(creds())
    post = video_post("Notre atelier\nEn vidéo", first_comment="Les horaires sont en description")
    ref = network.publish(post, idempotency_key="fc")
    [thread] = [t for t in fake.threads.values() if t["snippet"]["videoId"] == ref.post_id]
    snippet = thread["snippet"]["topLevelComment"]["snippet"]
    assert snippet["textOriginal"] == "Les horaires sont en description"
    assert network.publish(post, idempotency_key="fc") == ref
    assert fake.posts["/youtube/v3/commentThreads"] == 1
    assert fake.posts["/upload/youtube/v3/videos"] == 1


def test_a_lost_first_comment_is_found_and_never_posts_the_video_again(fake: FakeYouTube) -> None:
    journal = MemoryJournal()
    network = make(fake, journal=journal)
    network.connect(creds())
    post = video_post("Notre atelier\nEn vidéo", first_comment="Posez vos questions ici")
    reply = network.reply

    def losing(*args: Any, **kwargs: Any) -> Any:
        fake.lose_next_write = True  # the comment is made, its answer lost
        return reply(*args, **kwargs)

    network.reply = losing  # type: ignore[method-assign]
    with pytest.raises(OutcomeUnknown) as caught:
        network.publish(post, idempotency_key="fc2")
    assert "first comment" in caught.value.message
    # A restarted worker with the channel's journal: the comment is found, nothing is sent.
    again = make(fake, journal=journal)
    again.connect(creds())
    ref = again.publish(post, idempotency_key="fc2")
    assert fake.posts["/upload/youtube/v3/videos"] == 1
    assert fake.posts["/youtube/v3/commentThreads"] == 1
    entry = journal.get("fc2")
    assert (
        entry is not None and entry["comment_state"] == "done" and entry["post_id"] == ref.post_id
    )


# -- account metrics ----------------------------------------------------------------------------


def test_recorded_account_metrics_reads_the_subscribers(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    route = api.get(f"{API}/channels").mock(return_value=answer("channel_statistics.json"))
    figures = recorded.account_metrics(datetime.now(UTC) - timedelta(hours=6))
    assert (figures.followers, figures.profile_visits) == (24300, None)
    assert "part=statistics" in str(route.calls.last.request.url)
    assert recorded.offered_account_metrics() == {AccountMetric.FOLLOWERS}


@pytest.mark.parametrize(
    "recording", ["channel_statistics_hidden.json", "error_insufficient_permissions.json"]
)
def test_recorded_hidden_or_refused_subscribers_are_not_offered(
    api: respx.MockRouter, recorded: YouTubeNetwork, recording: str
) -> None:
    api.get(f"{API}/channels").mock(return_value=answer(recording))
    assert recorded.account_metrics(datetime.now(UTC) - timedelta(hours=6)).followers is None


def test_recorded_account_metrics_out_of_quota_waits(
    api: respx.MockRouter, recorded: YouTubeNetwork
) -> None:
    api.get(f"{API}/channels").mock(return_value=answer("error_quota_exceeded.json"))
    with pytest.raises(RateLimited):
        recorded.account_metrics(datetime.now(UTC) - timedelta(hours=6))
