"""TikTok: recorded answers from TikTok's documentation (respx, ``fixtures/tiktok``), and the
contract suite against a stateful fake on loopback (``fake_tiktok.py``) that counts the POSTs
reaching it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NetworkError,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.tiktok import (
    MIN_CHUNK_BYTES,
    TikTokNetwork,
    chunk_plan,
    mp4_seconds,
    publicly_reachable,
)
from portevoix.networks.types import (
    AuthorizationRequest,
    Credentials,
    Limits,
    MediaItem,
    OutgoingPost,
    Visibility,
)
from tests.images import MP4_HEADER

from .contract import ContractSetup, NetworkContract
from .fake_tiktok import CLIENT_KEY, CLIENT_SECRET, OPEN_ID, FakeTikTok

FIXTURES = Path(__file__).parent / "fixtures" / "tiktok"
API = "https://open.tiktokapis.com"
INIT = f"{API}/v2/post/publish/video/init/"
PHOTO_INIT = f"{API}/v2/post/publish/content/init/"
STATUS = f"{API}/v2/post/publish/status/fetch/"
UPLOAD = "https://open-upload.tiktokapis.com/video/?upload_id=67890&upload_token=Xza123"
NOW = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
CREDS = Credentials(
    {
        "client_key": CLIENT_KEY,
        "client_secret": CLIENT_SECRET,
        "access_token": "act.example12345Example12345Example",
        "expires_at": (NOW + timedelta(hours=20)).isoformat(),
        "refresh_token": "rft.example12345Example12345Example",
        "refresh_expires_at": (NOW + timedelta(days=300)).isoformat(),
        "audited": "yes",
    }
)
PUBLIC_VIDEO = MediaItem(
    MP4_HEADER, "video/mp4", filename="ski.mp4", public_url="https://media.example.com/ski.mp4"
)
LOCAL_VIDEO = MediaItem(
    MP4_HEADER, "video/mp4", filename="ski.mp4", public_url="http://localhost:8000/m/ski.mp4"
)
CAPTION = "Soldes d'hiver : -30 % sur tout le rayon ski"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def answer(name: str) -> httpx.Response:
    data = load(name)
    return httpx.Response(data["status"], json=data["body"])


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def make(**kwargs: Any) -> TikTokNetwork:
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("poll_interval", 0)
    return TikTokNetwork(timeout=2, **kwargs)


@pytest.fixture
def tiktok(api: respx.MockRouter) -> Iterator[TikTokNetwork]:
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("user_info.json"))
    network = make()
    network.connect(CREDS)
    yield network
    network.close()


def body(route: respx.Route, index: int = -1) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(route.calls[index].request.content)
    return data


# -- connecting and tokens ---------------------------------------------------------------------


def test_connect_reads_the_account(api: respx.MockRouter) -> None:
    route = api.get(f"{API}/v2/user/info/").mock(return_value=answer("user_info.json"))
    account = make().connect(CREDS)
    assert account.account_id == "afd97af1-b87b-48b9-ac98-410aghda5344"
    assert account.handle == "@tiktoker" and account.display_name == "Tik Toker"
    assert account.url == "https://vm.tiktok.com/ZMexample/"
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {CREDS.get('access_token')}"
    assert "username" in sent.url.params["fields"]


def test_begin_authorization_builds_tiktoks_url() -> None:
    request = TikTokNetwork.begin_authorization(
        "", "https://pv.example/cb", state="s1", client_key="ck", client_secret="cs"
    )
    parts = urlsplit(request.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        == "https://www.tiktok.com/v2/auth/authorize/"
    )
    assert query["client_key"] == "ck" and query["response_type"] == "code"
    assert "video.publish" in query["scope"].split(",") and query["state"] == "s1"
    assert "cs" not in request.url and request.extra["audited"] == ""
    with pytest.raises(InvalidInput):
        TikTokNetwork.begin_authorization("", "https://pv.example/cb", state="s", client_key="ck")


def test_complete_authorization_keeps_both_expiries(api: respx.MockRouter) -> None:
    route = api.post(f"{API}/v2/oauth/token/").mock(return_value=answer("token.json"))
    request = AuthorizationRequest(
        url="",
        state="s",
        redirect_uri="https://pv.example/cb",
        client_id="ck",
        client_secret="cs",
        extra={"audited": "yes"},
    )
    credentials = TikTokNetwork.complete_authorization(request, "code-1")
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["grant_type"] == ["authorization_code"] and form["client_key"] == ["ck"]
    assert form["redirect_uri"] == ["https://pv.example/cb"]
    assert credentials.get("refresh_token") == "rft.example12345Example12345Example"
    assert credentials.get("audited") == "yes" and credentials.get("open_id")
    expires = datetime.fromisoformat(credentials.get("expires_at"))
    refresh = datetime.fromisoformat(credentials.get("refresh_expires_at"))
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    assert timedelta(days=364) < refresh - datetime.now(UTC) <= timedelta(days=365)


def test_an_expired_access_token_is_refreshed_and_announced(api: respx.MockRouter) -> None:
    """Access tokens last 24 h: one past its end is renewed before the call, and the new
    credentials (a new refresh token too) go to ``on_credentials_change``."""
    token = api.post(f"{API}/v2/oauth/token/").mock(return_value=answer("token_refresh.json"))
    user = api.get(f"{API}/v2/user/info/").mock(return_value=answer("user_info.json"))
    changes: list[Credentials] = []
    stale = CREDS.replace(expires_at=(NOW - timedelta(minutes=1)).isoformat())
    make(on_credentials_change=changes.append).connect(stale)
    form = parse_qs(token.calls.last.request.content.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [CREDS.get("refresh_token")]
    [fresh] = changes
    assert fresh.get("access_token") == "act.example12345Renewed12345Renewed"
    assert fresh.get("refresh_token") == "rft.example12345Renewed12345Renewed"
    assert user.calls.last.request.headers["Authorization"].endswith("Renewed12345Renewed")


def test_a_refused_token_refreshes_once_then_retries(api: respx.MockRouter) -> None:
    api.post(f"{API}/v2/oauth/token/").mock(return_value=answer("token_refresh.json"))
    user = api.get(f"{API}/v2/user/info/").mock(
        side_effect=[answer("error_access_token_invalid.json"), answer("user_info.json")]
    )
    changes: list[Credentials] = []
    make(on_credentials_change=changes.append).connect(CREDS)
    assert user.call_count == 2 and len(changes) == 1


def test_a_refresh_token_refused_is_auth_expired(api: respx.MockRouter) -> None:
    api.post(f"{API}/v2/oauth/token/").mock(return_value=answer("token_invalid_grant.json"))
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("error_access_token_invalid.json"))
    with pytest.raises(AuthExpired) as caught:
        make().connect(CREDS)
    assert caught.value.code == "invalid_grant"
    assert CREDS.get("client_secret") not in caught.value.message


def test_a_missing_scope_asks_for_a_reconnect(api: respx.MockRouter) -> None:
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("error_scope_not_authorized.json"))
    with pytest.raises(AuthExpired) as caught:
        make().connect(CREDS)
    assert caught.value.code == "scope_not_authorized"
    assert "permission" in caught.value.message


# -- limits and the composer -------------------------------------------------------------------


def test_fetch_limits_reads_creator_info(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    api.post(f"{API}/v2/post/publish/creator_info/query/").mock(
        return_value=answer("creator_info.json")
    )
    limits = tiktok.fetch_limits()
    assert limits.max_video_seconds == 300
    assert limits.privacy_levels == frozenset(
        {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"}
    )
    assert limits.interactions_disabled == {"stitch"}
    # Cached as JSON with the channel, read back the same.
    assert Limits.from_json(limits.as_json(), default=TikTokNetwork.limits) == limits


def test_the_composer_says_what_is_missing() -> None:
    network = TikTokNetwork()
    assert any("video or photos" in p for p in network.validate(OutgoingPost("Juste du texte")))
    both = OutgoingPost("x", media=(PUBLIC_VIDEO, MediaItem(b"j", "image/jpeg", filename="a.jpg")))
    assert any("goes alone" in p for p in network.validate(both))
    png = OutgoingPost("x", media=(MediaItem(b"p", "image/png", filename="a.png"),))
    assert any("a.png" in p for p in network.validate(png))
    assert network.validate(OutgoingPost("Une vidéo", media=(PUBLIC_VIDEO,))) == []


def test_a_video_longer_than_the_account_allows_is_refused() -> None:
    # An mvhd box: version 0, timescale 1000, duration 400 s.
    mvhd = b"\x00\x00\x00\x6cmvhd" + b"\x00" * 12 + (1000).to_bytes(4) + (400_000).to_bytes(4)
    long_video = MediaItem(MP4_HEADER + mvhd, "video/mp4", filename="long.mp4")
    assert mp4_seconds(long_video.data) == 400.0
    limits = Limits(max_text_length=2200, max_images=35, max_video_seconds=300)
    problems = TikTokNetwork(limits=limits).validate(OutgoingPost("x", media=(long_video,)))
    assert any("400 seconds" in p and "300" in p for p in problems)


def test_a_privacy_the_account_does_not_offer_is_refused() -> None:
    limits = Limits(max_text_length=2200, max_images=35, privacy_levels=frozenset({"SELF_ONLY"}))
    problems = TikTokNetwork(limits=limits).validate(OutgoingPost("x", media=(PUBLIC_VIDEO,)))
    assert any("only the account" in p for p in problems)


def test_an_unaudited_app_posts_only_to_the_account_itself(api: respx.MockRouter) -> None:
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("user_info.json"))
    network = make()
    network.connect(CREDS.replace(audited=None))
    assert network.privacy_for(Visibility.PUBLIC) == "SELF_ONLY"
    audited = make()
    audited.connect(CREDS)
    assert audited.privacy_for(Visibility.PUBLIC) == "PUBLIC_TO_EVERYONE"
    assert audited.privacy_for(Visibility.DIRECT) == "SELF_ONLY"


def test_text_is_counted_in_utf16_units() -> None:
    assert TikTokNetwork().text_length("é🎿") == 3


def test_chunks_follow_tiktoks_rules() -> None:
    assert chunk_plan(1000) == (1000, 1)
    chunk, count = chunk_plan(25 * 1024 * 1024 + 7)
    assert chunk >= MIN_CHUNK_BYTES and count == 2  # the last chunk takes the rest


def test_which_addresses_tiktok_can_fetch() -> None:
    assert publicly_reachable("https://media.example.com/a.mp4")
    for url in (
        "http://media.example.com/a",
        "https://localhost/a",
        "https://10.0.0.3/a",
        "https://porte-voix/a",
        "https://pv.local/a",
        "",
    ):
        assert not publicly_reachable(url)


# -- publishing ----------------------------------------------------------------------------------


def test_a_video_with_a_public_address_is_pulled(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    init = api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    api.post(STATUS).mock(
        side_effect=[answer("status_processing.json"), answer("status_complete.json")]
    )
    journal_entries: list[dict[str, str]] = []

    class Recording(MemoryJournal):
        def put(self, key: str, values: Mapping[str, str]) -> None:
            journal_entries.append(dict(values))
            super().put(key, values)

    tiktok.journal = Recording()
    ref = tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k1")
    assert ref.post_id == "7304417134587431200"
    assert ref.url == "https://www.tiktok.com/@tiktoker/video/7304417134587431200"
    sent = body(init)
    assert sent["source_info"] == {
        "source": "PULL_FROM_URL",
        "video_url": "https://media.example.com/ski.mp4",
    }
    assert sent["post_info"]["title"] == CAPTION
    assert sent["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
    # Journal: the attempt before init, the publish_id before polling, the post at the end.
    assert [e["state"] for e in journal_entries] == ["init", "accepted", "done"]
    assert journal_entries[1]["publish_id"] == "v_pub_url~v2.123456789"


def test_a_video_without_a_public_address_is_uploaded_in_chunks(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    init = api.post(INIT).mock(return_value=answer("video_init_file.json"))
    put = api.put(UPLOAD).mock(return_value=httpx.Response(201))
    api.post(STATUS).mock(return_value=answer("status_complete.json"))
    video = MediaItem(b"\0" * 100, "video/mp4", filename="v.mp4", public_url=LOCAL_VIDEO.public_url)
    tiktok.publish(OutgoingPost(CAPTION, media=(video,)), idempotency_key="k1")
    assert body(init)["source_info"] == {
        "source": "FILE_UPLOAD",
        "video_size": 100,
        "chunk_size": 100,
        "total_chunk_count": 1,
    }
    sent = put.calls.last.request
    assert sent.headers["Content-Range"] == "bytes 0-99/100"
    assert sent.headers["Content-Type"] == "video/mp4" and sent.content == video.data


def test_photos_go_through_content_init(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    init = api.post(PHOTO_INIT).mock(return_value=answer("photo_init.json"))
    api.post(STATUS).mock(return_value=answer("status_complete.json"))
    photos = tuple(
        MediaItem(
            b"j", "image/jpeg", filename=f"{n}.jpg", public_url=f"https://m.example.com/{n}.jpg"
        )
        for n in range(2)
    )
    ref = tiktok.publish(OutgoingPost(f"{CAPTION}\nEn magasin", media=photos), idempotency_key="p")
    sent = body(init)
    assert sent["media_type"] == "PHOTO" and sent["post_mode"] == "DIRECT_POST"
    assert sent["source_info"]["photo_images"] == [p.public_url for p in photos]
    assert sent["post_info"]["title"] == CAPTION
    assert sent["post_info"]["description"] == f"{CAPTION}\nEn magasin"
    assert "/photo/" in ref.url


def test_photos_without_a_public_address_are_refused_before_sending(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    init = api.post(PHOTO_INIT).mock(return_value=answer("photo_init.json"))
    photo = MediaItem(b"j", "image/jpeg", filename="a.jpg", public_url="http://127.0.0.1/a.jpg")
    with pytest.raises(InvalidInput) as caught:
        tiktok.publish(OutgoingPost("x", media=(photo,)), idempotency_key="p")
    assert caught.value.code == "no_public_url" and not init.called


def test_a_private_post_completes_without_a_public_id(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    api.post(STATUS).mock(return_value=answer("status_complete_private.json"))
    post = OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,), visibility=Visibility.DIRECT)
    ref = tiktok.publish(post, idempotency_key="k")
    assert ref.post_id == "v_pub_url~v2.123456789" and ref.extra["privacy"] == "SELF_ONLY"
    assert tiktok.metrics([ref]) == []  # no public id: nothing TikTok can count yet


def test_rate_limit_waits_a_minute(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    api.post(INIT).mock(return_value=answer("error_rate_limit.json"))
    with pytest.raises(RateLimited) as caught:
        tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")
    assert caught.value.reset_at == NOW + timedelta(minutes=1)
    # Refused before anything was accepted: nothing to reconcile.
    assert tiktok.reconcile("k", post=OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,))) is None


@pytest.mark.parametrize(
    ("fixture", "error", "code"),
    [
        ("error_unaudited.json", Permanent, "unaudited_client_can_only_post_to_private_accounts"),
        ("error_spam_risk.json", RateLimited, "spam_risk_too_many_posts"),
        ("error_file_too_large.json", InvalidInput, "invalid_file_upload"),
        ("error_privacy_mismatch.json", InvalidInput, "privacy_level_option_mismatch"),
    ],
)
def test_refusals_are_typed(
    api: respx.MockRouter,
    tiktok: TikTokNetwork,
    fixture: str,
    error: type[NetworkError],
    code: str,
) -> None:
    init = api.post(INIT).mock(return_value=answer(fixture))
    with pytest.raises(error) as caught:
        tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")
    assert caught.value.code == code and init.call_count == 1
    assert tiktok.reconcile("k") is None


def test_the_unaudited_refusal_says_what_to_do(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    api.post(INIT).mock(return_value=answer("error_unaudited.json"))
    with pytest.raises(Permanent) as caught:
        tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")
    assert "private" in caught.value.message and "audit" in caught.value.message


def test_an_unverified_domain_falls_back_to_uploading_the_file(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    init = api.post(INIT).mock(
        side_effect=[answer("error_url_unverified.json"), answer("video_init_file.json")]
    )
    api.put(UPLOAD).mock(return_value=httpx.Response(201))
    api.post(STATUS).mock(return_value=answer("status_complete.json"))
    tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")
    assert [body(init, i)["source_info"]["source"] for i in range(2)] == [
        "PULL_FROM_URL",
        "FILE_UPLOAD",
    ]


def test_a_failed_post_is_reported_and_may_be_sent_again(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    init = api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    api.post(STATUS).mock(return_value=answer("status_failed.json"))
    post = OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,))
    with pytest.raises(InvalidInput) as caught:
        tiktok.publish(post, idempotency_key="k")
    assert caught.value.code == "picture_size_check_failed"
    assert tiktok.reconcile("k", post=post) is None
    with pytest.raises(InvalidInput):
        tiktok.publish(post, idempotency_key="k")
    assert init.call_count == 2  # FAILED published nothing: a new init is not a double


def test_a_timeout_after_init_was_accepted_never_inits_again(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    """The publish_id is in the journal before polling: a lost status answer, then reconcile
    and publish under the same key, ask about that publish_id; one init in all."""
    init = api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    status = api.post(STATUS).mock(
        side_effect=[
            httpx.ReadTimeout("lost"),
            answer("status_processing.json"),
            answer("status_complete.json"),
        ]
    )
    post = OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,))
    with pytest.raises(OutcomeUnknown):
        tiktok.publish(post, idempotency_key="k")
    assert tiktok.reconcile("k", post=post) is None  # still processing: not out yet
    ref = tiktok.publish(post, idempotency_key="k")
    assert ref.post_id == "7304417134587431200"
    assert init.call_count == 1 and status.call_count == 3
    assert json.loads(status.calls[2].request.content) == {"publish_id": "v_pub_url~v2.123456789"}


def test_still_processing_after_polling_is_outcome_unknown(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    api.post(STATUS).mock(return_value=answer("status_processing.json"))
    with pytest.raises(OutcomeUnknown) as caught:
        tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")
    assert caught.value.code == "processing"


def test_a_timeout_on_init_is_reconciled_from_the_video_list(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    init = api.post(INIT).mock(side_effect=httpx.ReadTimeout("lost"))
    listing = api.post(f"{API}/v2/video/list/").mock(return_value=answer("video_list.json"))
    post = OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,))
    with pytest.raises(OutcomeUnknown):
        tiktok.publish(post, idempotency_key="k")
    # Publishing again before reconciling is refused: never sent blind.
    with pytest.raises(OutcomeUnknown) as caught:
        tiktok.publish(post, idempotency_key="k")
    assert caught.value.code == "unreconciled" and init.call_count == 1
    # Recorded by another publication of the channel: never this one's.
    excluded = frozenset({"7080217258529732865"})
    assert tiktok.reconcile("k", post=post, since=NOW, exclude=excluded) is None
    found = tiktok.reconcile("k", post=post, since=NOW)
    assert found is not None and found.post_id == "7080217258529732865"
    assert "video.list" not in str(listing.calls.last.request.url)  # fields, not scope
    assert tiktok.publish(post, idempotency_key="k").post_id == found.post_id
    assert init.call_count == 1
    # A key never used has nothing to look for.
    assert tiktok.reconcile("other", post=post) is None


def test_a_lost_init_not_in_the_list_is_not_there_for_a_public_video(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    api.post(INIT).mock(side_effect=[httpx.ReadTimeout("lost"), answer("video_init_pull.json")])
    api.post(f"{API}/v2/video/list/").mock(return_value=answer("video_list.json"))
    api.post(STATUS).mock(return_value=answer("status_complete.json"))
    post = OutgoingPost("Jamais arrivé", media=(PUBLIC_VIDEO,))
    with pytest.raises(OutcomeUnknown):
        tiktok.publish(post, idempotency_key="k")
    assert tiktok.reconcile("k", post=post, since=NOW) is None
    assert tiktok.publish(post, idempotency_key="k").post_id == "7304417134587431200"


def test_a_lost_private_init_asks_a_person(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    """TikTok lists only public videos: not finding a private one proves nothing."""
    api.post(INIT).mock(side_effect=httpx.ReadTimeout("lost"))
    api.post(f"{API}/v2/video/list/").mock(return_value=answer("video_list.json"))
    post = OutgoingPost("Privé", media=(PUBLIC_VIDEO,), visibility=Visibility.DIRECT)
    with pytest.raises(OutcomeUnknown):
        tiktok.publish(post, idempotency_key="k")
    with pytest.raises(Ambiguous):
        tiktok.reconcile("k", post=post, since=NOW)
    with pytest.raises(Ambiguous):
        tiktok.reconcile("k", post=post, since=NOW)  # asked again: the same answer


def test_a_500_on_init_is_outcome_unknown(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    api.post(INIT).mock(return_value=answer("error_internal.json"))
    with pytest.raises(OutcomeUnknown):
        tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")


def test_no_connection_is_transient(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    api.post(INIT).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Transient):
        tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")


def test_the_journal_is_the_channels(api: respx.MockRouter) -> None:
    """A restarted worker (a new client on the same journal) follows the same publish_id."""
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("user_info.json"))
    init = api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    api.post(STATUS).mock(
        side_effect=[answer("status_processing.json"), answer("status_complete.json")]
    )
    journal = MemoryJournal()
    post = OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,))
    first = make(journal=journal, poll_attempts=1)
    first.connect(CREDS)
    with pytest.raises(OutcomeUnknown):
        first.publish(post, idempotency_key="k")
    second = make(journal=journal)
    second.connect(CREDS)
    assert second.publish(post, idempotency_key="k").post_id == "7304417134587431200"
    assert init.call_count == 1


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_from_video_query(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    route = api.post(f"{API}/v2/video/query/").mock(return_value=answer("video_query.json"))
    api.post(INIT).mock(return_value=answer("video_init_pull.json"))
    api.post(STATUS).mock(return_value=answer("status_complete.json"))
    ref = tiktok.publish(OutgoingPost(CAPTION, media=(PUBLIC_VIDEO,)), idempotency_key="k")
    [snap] = tiktok.metrics([ref])
    assert (snap.views, snap.likes, snap.replies, snap.reposts) == (3400, 150, 12, 7)
    assert body(route) == {"filters": {"video_ids": ["7304417134587431200"]}}
    assert "view_count" in route.calls.last.request.url.params["fields"]


def test_post_id_from_a_pasted_link() -> None:
    url = "https://www.tiktok.com/@tiktoker/video/7080217258529732865?lang=fr"
    assert TikTokNetwork.post_id_from_url(url, None) == "7080217258529732865"  # type: ignore[arg-type]


# -- the contract, on the loopback fake ----------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok().running() as server:
        yield server


def fake_credentials(fake: FakeTikTok, **extra: str) -> Credentials:
    return Credentials(
        {
            "client_key": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "access_token": "act.good-tiktok-token",
            "expires_at": (datetime.now(UTC) + timedelta(hours=20)).isoformat(),
            "refresh_token": "rft.good-tiktok-refresh",
            "audited": "yes",
            **extra,
        }
    )


def on_fake(fake: FakeTikTok, **kwargs: Any) -> TikTokNetwork:
    kwargs.setdefault("timeout", 1.0)
    return TikTokNetwork(
        api_url=fake.url,
        poll_interval=0.05,
        media_url=lambda item: f"https://media.example.com/{item.filename}",
        **kwargs,
    )


class TestTikTokContract(NetworkContract):
    required_media = (PUBLIC_VIDEO,)
    image_mime_type = "image/jpeg"

    @pytest.fixture
    def contract(self, fake: FakeTikTok) -> ContractSetup:
        @contextlib.contextmanager
        def lose_next_answer(network: Any) -> Iterator[None]:
            fake.hold_next_init = True
            try:
                yield
            finally:
                time.sleep(fake.hold_seconds - 0.9)  # the held answer lands

        @contextlib.contextmanager
        def rate_limit_next(network: Any) -> Iterator[None]:
            fake.rate_limit_next = True
            try:
                yield
            finally:
                fake.rate_limit_next = False

        return ContractSetup(
            make_network=lambda **kwargs: on_fake(fake, **kwargs),
            credentials=fake_credentials(fake),
            bad_credentials=fake_credentials(
                fake, access_token="act.revoked-999", refresh_token="rft.revoked-999"
            ),
            secrets=(
                "act.good-tiktok-token",
                "rft.good-tiktok-refresh",
                CLIENT_SECRET,
                "act.revoked-999",
                "rft.revoked-999",
            ),
            lose_next_answer=lose_next_answer,
            rate_limit_next=rate_limit_next,
        )


def test_never_sent_blind_after_an_accepted_write(fake: FakeTikTok) -> None:
    """A timeout after TikTok accepted the init: a restarted worker (new client, same
    journal) reconciles from the video list, and publishing again returns that post: one
    init reached TikTok."""
    journal = MemoryJournal()
    post = OutgoingPost("Nouvelle collection printemps #mode", media=(PUBLIC_VIDEO,))
    since = datetime.now(UTC)
    first = on_fake(fake, journal=journal, timeout=0.5)
    first.connect(fake_credentials(fake))
    fake.hold_next_init = True
    with pytest.raises(OutcomeUnknown):
        first.publish(post, idempotency_key="pv-1")
    time.sleep(1.2)  # the settle time: the held answer lands
    restarted = on_fake(fake, journal=journal)
    restarted.connect(fake_credentials(fake))
    found = restarted.reconcile("pv-1", post=post, since=since)
    assert found is not None and found.post_id in fake.videos
    assert restarted.publish(post, idempotency_key="pv-1").post_id == found.post_id
    assert fake.init_posts == 1


def test_a_lost_status_answer_follows_the_publish_id(fake: FakeTikTok) -> None:
    journal = MemoryJournal()
    post = OutgoingPost("Suivi par son publish_id", media=(LOCAL_VIDEO,))
    network = on_fake(fake, journal=journal, timeout=0.5)
    network.connect(fake_credentials(fake))
    fake.hold_next_status = True
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="pv-2")
    time.sleep(1.2)
    again = on_fake(fake, journal=journal)
    again.connect(fake_credentials(fake))
    assert again.reconcile("pv-2", post=post) is not None
    assert fake.init_posts == 1
    assert fake.posts["/v2/post/publish/video/init/"] == 1
    assert sum(1 for m, p in fake.requests if m == "PUT") == 1  # uploaded once, by FILE_UPLOAD


def test_an_unaudited_app_posts_private_on_the_fake(fake: FakeTikTok) -> None:
    fake.audited = False
    network = on_fake(fake)
    network.connect(fake_credentials(fake, audited=""))
    ref = network.publish(OutgoingPost("Privé", media=(PUBLIC_VIDEO,)), idempotency_key="u")
    assert ref.extra["privacy"] == "SELF_ONLY"
    # An app that says it is audited when it is not: TikTok's refusal says what to do.
    lying = on_fake(fake)
    lying.connect(fake_credentials(fake))
    with pytest.raises(Permanent) as caught:
        lying.publish(OutgoingPost("Public", media=(PUBLIC_VIDEO,)), idempotency_key="l")
    assert caught.value.code == "unaudited_client_can_only_post_to_private_accounts"


def test_oauth_against_the_fake(fake: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TikTokNetwork, "api_url", fake.url)
    fake.codes.add("c1")
    request = AuthorizationRequest(
        url="",
        state="s",
        redirect_uri="http://127.0.0.1/cb",
        client_id=CLIENT_KEY,
        client_secret=CLIENT_SECRET,
        extra={"audited": ""},
    )
    credentials = TikTokNetwork.complete_authorization(request, "c1")
    changes: list[Credentials] = []
    network = on_fake(fake, on_credentials_change=changes.append)
    assert network.connect(credentials).account_id == OPEN_ID
    fresh = network.refresh_credentials()
    assert changes == [fresh] and fresh.get("access_token") != credentials.get("access_token")
    limits = network.fetch_limits()
    assert limits.max_video_seconds == 300 and "stitch" in limits.interactions_disabled


# -- account metrics ----------------------------------------------------------------------------


def test_account_metrics_reads_the_followers(api: respx.MockRouter, tiktok: TikTokNetwork) -> None:
    route = api.get(f"{API}/v2/user/info/").mock(return_value=answer("user_info_stats.json"))
    figures = tiktok.account_metrics(NOW - timedelta(hours=6))
    assert (figures.followers, figures.profile_visits, figures.taken_at) == (3071, None, NOW)
    assert "follower_count" in route.calls.last.request.url.params["fields"]


def test_followers_without_the_stats_scope_are_not_offered_the_channel_stays(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("error_scope_not_authorized.json"))
    assert tiktok.account_metrics(NOW - timedelta(hours=6)).followers is None


def test_account_metrics_with_a_dead_token_asks_for_a_reconnect(
    api: respx.MockRouter, tiktok: TikTokNetwork
) -> None:
    api.get(f"{API}/v2/user/info/").mock(return_value=answer("error_access_token_invalid.json"))
    api.post(f"{API}/v2/oauth/token/").mock(return_value=answer("token_invalid_grant.json"))
    with pytest.raises(AuthExpired):
        tiktok.account_metrics(NOW - timedelta(hours=6))
