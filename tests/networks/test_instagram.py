"""Instagram: recorded Graph answers (respx), and the contract on the stateful Graph fake.

The two steps (container, then ``media_publish``) are checked where they can break: the
container's id is in the journal before ``media_publish`` is asked; a lost answer of
``media_publish`` is reconciled by asking Instagram about that very container; a crash between
the two steps publishes the same container later, never a second one. The fake fetches each
``image_url`` like Instagram does and counts every POST.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from portevoix.networks import meta
from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    OutcomeUnknown,
    RateLimited,
    Transient,
    Unsupported,
)
from portevoix.networks.instagram import InstagramNetwork
from portevoix.networks.types import (
    AuthorizationRequest,
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
    PublishedRef,
)

from .contract import PNG_1PX, ContractSetup, NetworkContract
from .fake_facebook import FakeGraph, FakeGraphServer

FIXTURES = Path(__file__).parent / "fixtures" / "instagram"
GRAPH = "https://graph.facebook.com/v26.0"
IG = "17841405822304914"
TOKEN = "EAApage-token-ig-never-in-logs"
CREDS = Credentials({"ig_user_id": IG, "page_access_token": TOKEN})
IMAGE = MediaItem(
    b"\xff\xd8\xff\xe0jpeg",
    "image/jpeg",
    alt_text="La vitrine",
    filename="vitrine.jpg",
    public_url="https://social.example.com/public/media/tok/vitrine.jpg",
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data["_source"].startswith("https://developers.facebook.com/"), name
    assert data.get("_note"), name
    return data


def answer(name: str) -> httpx.Response:
    data = load(name)
    return httpx.Response(data["status"], json=data["body"], headers=data.get("headers", {}))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=GRAPH, assert_all_called=False) as router:
        yield router


@pytest.fixture
def journal() -> MemoryJournal:
    return MemoryJournal()


@pytest.fixture
def connected(graph: respx.MockRouter, journal: MemoryJournal) -> InstagramNetwork:
    graph.get(f"/{IG}").mock(return_value=answer("ig_user.json"))
    graph.get(f"/{IG}/content_publishing_limit").mock(return_value=answer("publishing_limit.json"))
    network = InstagramNetwork(transport=httpx.HTTPTransport(), journal=journal)
    network.connect(CREDS)
    return network


def test_connect(graph: respx.MockRouter) -> None:
    graph.get(f"/{IG}").mock(return_value=answer("ig_user.json"))
    account = InstagramNetwork(transport=httpx.HTTPTransport()).connect(CREDS)
    assert account.handle == "@lumiere.co"
    assert account.url == "https://www.instagram.com/lumiere.co/"


def test_expired_token(graph: respx.MockRouter) -> None:
    graph.get(f"/{IG}").mock(return_value=answer("error_190.json"))
    with pytest.raises(AuthExpired):
        InstagramNetwork(transport=httpx.HTTPTransport()).connect(CREDS)


def test_text_alone_and_png_are_refused_before_sending(connected: InstagramNetwork) -> None:
    assert "at least one image" in " ".join(connected.validate(OutgoingPost("Rien")))
    png = MediaItem(PNG_1PX, "image/png", filename="p.png", public_url="https://x/p.png")
    assert any("image/png" in p for p in connected.validate(OutgoingPost("Png", media=(png,))))


def test_quota_is_read_into_the_limits(connected: InstagramNetwork) -> None:
    limits = connected.fetch_limits()
    assert (limits.daily_posts, limits.daily_posts_used) == (50, 2)
    assert limits.max_text_length == 2200


def test_publish_stores_the_container_before_media_publish(
    graph: respx.MockRouter, connected: InstagramNetwork, journal: MemoryJournal
) -> None:
    container = graph.post(f"/{IG}/media").mock(return_value=answer("container_created.json"))
    seen: list[dict[str, str]] = []

    def publish(request: httpx.Request) -> httpx.Response:
        seen.append(dict(journal.get("k1") or {}))
        return answer("media_published.json")

    graph.post(f"/{IG}/media_publish").mock(side_effect=publish)
    graph.get("/17920238422030506").mock(return_value=answer("media_permalink.json"))
    ref = connected.publish(
        OutgoingPost("La nouvelle vitrine ✨", media=(IMAGE,)), idempotency_key="k1"
    )
    assert ref.post_id == "17920238422030506"
    assert ref.url == "https://www.instagram.com/p/Cabc123/"
    sent = form(container.calls.last.request)
    assert sent == {
        "image_url": IMAGE.public_url,
        "caption": "La nouvelle vitrine ✨",
        "alt_text": "La vitrine",
    }
    assert seen[0]["container"] == "17889455560051444"


def test_carousel(graph: respx.MockRouter, connected: InstagramNetwork) -> None:
    media = graph.post(f"/{IG}/media").mock(
        side_effect=[
            httpx.Response(200, json={"id": "c1"}),
            httpx.Response(200, json={"id": "c2"}),
            httpx.Response(200, json={"id": "parent"}),
        ]
    )
    published = graph.post(f"/{IG}/media_publish").mock(return_value=answer("media_published.json"))
    graph.get("/17920238422030506").mock(return_value=answer("media_permalink.json"))
    second = MediaItem(IMAGE.data, "image/jpeg", filename="b.jpg", public_url="https://x/b.jpg")
    connected.publish(OutgoingPost("Deux", media=(IMAGE, second)), idempotency_key="k2")
    first, _second, parent = (form(c.request) for c in media.calls)
    assert first["is_carousel_item"] == "true"
    assert parent == {"media_type": "CAROUSEL", "children": "c1,c2", "caption": "Deux"}
    assert form(published.calls.last.request) == {"creation_id": "parent"}


def test_lost_media_publish_is_reconciled_by_the_container(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    graph.post(f"/{IG}/media").mock(return_value=answer("container_created.json"))
    publish = graph.post(f"/{IG}/media_publish").mock(side_effect=httpx.ReadTimeout("lost"))
    post = OutgoingPost("La nouvelle vitrine ✨", media=(IMAGE,))
    with pytest.raises(OutcomeUnknown):
        connected.publish(post, idempotency_key="k3")
    status = graph.get("/17889455560051444").mock(return_value=answer("container_published.json"))
    graph.get(f"/{IG}/media").mock(return_value=answer("media_list.json"))
    found = connected.reconcile("k3", post=post, since=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert found is not None and found.post_id == "17920238422030506"
    assert status.call_count == 1
    assert connected.publish(post, idempotency_key="k3").post_id == found.post_id
    assert publish.call_count == 1


def test_crash_between_the_steps_publishes_the_same_container(
    graph: respx.MockRouter, connected: InstagramNetwork, journal: MemoryJournal
) -> None:
    """The worker died after the container was made: the container is published, once."""
    journal.put(
        "k4",
        {
            "container": "17889455560051444",
            "state": "container",
            "since": "2026-12-01T09:00:00+00:00",
        },
    )
    graph.get("/17889455560051444").mock(return_value=answer("container_finished.json"))
    container = graph.post(f"/{IG}/media")
    publish = graph.post(f"/{IG}/media_publish").mock(return_value=answer("media_published.json"))
    graph.get("/17920238422030506").mock(return_value=answer("media_permalink.json"))
    post = OutgoingPost("La nouvelle vitrine ✨", media=(IMAGE,))
    assert connected.reconcile("k4", post=post) is None  # FINISHED: not published
    ref = connected.publish(post, idempotency_key="k4")
    assert ref.post_id == "17920238422030506"
    assert not container.called
    assert form(publish.calls.last.request) == {"creation_id": "17889455560051444"}


def test_expired_container_is_made_again(
    graph: respx.MockRouter, connected: InstagramNetwork, journal: MemoryJournal
) -> None:
    journal.put(
        "k5", {"container": "old", "state": "container", "since": "2026-11-29T09:00:00+00:00"}
    )
    graph.get("/old").mock(return_value=answer("container_expired.json"))
    container = graph.post(f"/{IG}/media").mock(return_value=answer("container_created.json"))
    graph.post(f"/{IG}/media_publish").mock(return_value=answer("media_published.json"))
    graph.get("/17920238422030506").mock(return_value=answer("media_permalink.json"))
    connected.publish(OutgoingPost("Encore", media=(IMAGE,)), idempotency_key="k5")
    assert container.call_count == 1


def test_published_container_with_twin_captions_is_ambiguous(
    graph: respx.MockRouter, connected: InstagramNetwork, journal: MemoryJournal
) -> None:
    journal.put(
        "k6", {"container": "c9", "state": "publishing", "since": "2026-12-01T08:00:00+00:00"}
    )
    graph.get("/c9").mock(return_value=answer("container_published.json"))
    twins = load("media_list.json")["body"]
    twins["data"].append({**twins["data"][0], "id": "other"})
    graph.get(f"/{IG}/media").mock(return_value=httpx.Response(200, json=twins))
    with pytest.raises(Ambiguous) as caught:
        connected.reconcile("k6", post=OutgoingPost("La nouvelle vitrine ✨", media=(IMAGE,)))
    assert len(caught.value.candidates) == 2


def test_a_video_is_a_reel_published_once_processed(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    video = MediaItem(b"\0" * 64, "video/mp4", filename="clip.mp4", public_url="https://x/c.mp4")
    post = OutgoingPost("Le making-of", media=(video,))
    assert connected.validate(post) == []
    assert connected.validate(OutgoingPost("Deux", media=(video, IMAGE)))
    container = graph.post(f"/{IG}/media").mock(return_value=answer("container_created.json"))
    graph.get("/17889455560051444").mock(
        side_effect=[
            httpx.Response(200, json={"status_code": "IN_PROGRESS", "id": "17889455560051444"}),
            answer("container_finished.json"),
        ]
    )
    publish = graph.post(f"/{IG}/media_publish").mock(return_value=answer("media_published.json"))
    graph.get("/17920238422030506").mock(return_value=answer("media_permalink.json"))
    with pytest.raises(Transient):
        connected.publish(post, idempotency_key="reel")
    assert form(container.calls.last.request) == {
        "media_type": "REELS",
        "video_url": "https://x/c.mp4",
        "caption": "Le making-of",
    }
    assert not publish.called
    ref = connected.publish(post, idempotency_key="reel")
    assert ref.post_id == "17920238422030506"
    assert container.call_count == 1 and publish.call_count == 1


def test_full_quota_sends_nothing(graph: respx.MockRouter, connected: InstagramNetwork) -> None:
    graph.get(f"/{IG}/content_publishing_limit").mock(
        return_value=answer("publishing_limit_full.json")
    )
    container = graph.post(f"/{IG}/media")
    with pytest.raises(RateLimited) as caught:
        connected.publish(OutgoingPost("Trop", media=(IMAGE,)), idempotency_key="q1")
    assert "50" in caught.value.message and caught.value.reset_at is not None
    assert not container.called


def test_quota_refusal_from_media_publish_is_rate_limited(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    graph.post(f"/{IG}/media").mock(return_value=answer("container_created.json"))
    graph.post(f"/{IG}/media_publish").mock(return_value=answer("error_quota.json"))
    with pytest.raises(RateLimited):
        connected.publish(OutgoingPost("Trop", media=(IMAGE,)), idempotency_key="q2")


def test_media_instagram_cannot_fetch_names_the_public_address(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    graph.post(f"/{IG}/media").mock(return_value=answer("error_fetch.json"))
    with pytest.raises(InvalidInput) as caught:
        connected.publish(OutgoingPost("Vitrine", media=(IMAGE,)), idempotency_key="f1")
    assert "PORTEVOIX_BASE_URL" in caught.value.message


def test_item_without_public_address_is_refused(connected: InstagramNetwork) -> None:
    bare = MediaItem(IMAGE.data, "image/jpeg", filename="nu.jpg")
    with pytest.raises(InvalidInput) as caught:
        connected.publish(OutgoingPost("Nu", media=(bare,)), idempotency_key="f2")
    assert "public address" in caught.value.message


def test_inbound_comments_and_metrics(graph: respx.MockRouter, connected: InstagramNetwork) -> None:
    graph.get(f"/{IG}/media").mock(return_value=answer("media_list.json"))
    graph.get("/17920238422030506/comments").mock(return_value=answer("comments.json"))
    graph.get("/17920238422030001/comments").mock(
        return_value=httpx.Response(200, json={"data": []})
    )
    batch = connected.fetch_inbound(None)
    [item] = batch.items
    assert item.kind == InboundKind.COMMENT and item.author.handle == "@camille.m"
    assert item.in_reply_to == "17920238422030506"
    assert connected.fetch_inbound(batch.next_cursor).items == ()
    graph.get("/17920238422030506").mock(return_value=answer("media_metrics.json"))
    graph.get("/17920238422030506/insights").mock(return_value=answer("media_insights.json"))
    ref = PublishedRef(network="instagram", post_id="17920238422030506")
    [snap] = connected.metrics([ref])
    assert (snap.likes, snap.replies, snap.views, snap.reposts) == (128, 9, 2210, 6)
    assert snap.extra["saved"] == 14


def test_no_private_replies(connected: InstagramNetwork) -> None:
    with pytest.raises(Unsupported):
        connected.reply("c1", "x", idempotency_key="p", private=True)


def test_login_picks_the_linked_instagram_account(graph: respx.MockRouter) -> None:
    meta.configure(app_id="42", app_secret="s3cr3t")
    try:
        graph.post("/oauth/access_token").mock(
            side_effect=[
                httpx.Response(200, json={"access_token": "short", "expires_in": 3600}),
                httpx.Response(200, json={"access_token": "long", "expires_in": 5183944}),
            ]
        )
        graph.get("/me/accounts").mock(return_value=answer("me_accounts.json"))
        auth = AuthorizationRequest(url="u", state="s", redirect_uri="https://pv.example/cb")
        creds = InstagramNetwork.complete_authorization(auth, "code")
    finally:
        meta.configure()
    assert creds.get("ig_user_id") == IG
    assert creds.get("page_id") == "101234567890123"
    assert creds.get("page_access_token") == "EAApage-token-lumiere"


# -- the contract on the fake -------------------------------------------------------------------

JPEG = MediaItem(b"\xff\xd8\xff\xe0fake-jpeg", "image/jpeg", alt_text="Une photo", filename="c.jpg")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGraphServer]:
    graph = FakeGraph(fetch_media=True)
    with FakeGraphServer(graph) as server:
        graph.add_page("400100200300", "Porte-voix Insta", "pvinsta", "page-token-ig-contract")
        graph.add_ig_user("17841400000000777", "porte.voix", "400100200300")
        yield server


def _creds(fake: FakeGraphServer) -> Credentials:
    return Credentials(
        {
            "ig_user_id": "17841400000000777",
            "page_access_token": "page-token-ig-contract",
            "graph_url": fake.url,
        }
    )


def _make(fake: FakeGraphServer, **kwargs: Any) -> InstagramNetwork:
    def host(item: MediaItem) -> str:
        name = f"{uuid.uuid4().hex}.jpg"
        fake.graph.hosted[name] = item.data
        return f"{fake.url}/media/{name}"

    return InstagramNetwork(transport=httpx.HTTPTransport(), timeout=5, media_url=host, **kwargs)


class TestInstagramContract(NetworkContract):
    required_media = (JPEG,)
    image_mime_type = "image/jpeg"

    @pytest.fixture
    def contract(self, fake: FakeGraphServer) -> ContractSetup:
        @contextmanager
        def lose(network: Any) -> Iterator[None]:
            # The write that publishes is media_publish (a lost container is only an orphan
            # that expires: nothing was published, and that call is ``Transient``).
            with fake.graph.lose_next_answer_of("17841400000000777/media_publish"):
                yield

        @contextmanager
        def rate(network: Any) -> Iterator[None]:
            with fake.graph.rate_limit_next():
                yield

        def comment(ref: Any, text: str) -> None:
            fake.graph.add_comment(ref.post_id, text, author=("17841400000000999", "une.cliente"))

        creds = _creds(fake)
        return ContractSetup(
            make_network=lambda **kwargs: _make(fake, **kwargs),
            credentials=creds,
            bad_credentials=creds.replace(page_access_token="revoked-ig-token"),
            secrets=("page-token-ig-contract", "revoked-ig-token"),
            add_comment=comment,
            lose_next_answer=lose,
            rate_limit_next=rate,
        )


def test_lost_media_publish_reaches_the_fake_once(fake: FakeGraphServer) -> None:
    network = _make(fake, journal=MemoryJournal())
    network.connect(_creds(fake))
    caption = f"Une seule fois {uuid.uuid4().hex}"
    post = OutgoingPost(caption, media=(JPEG, JPEG), first_comment="#vitrine")
    before = fake.graph.posts["17841400000000777/media_publish"]
    with (
        fake.graph.lose_next_answer_of("17841400000000777/media_publish"),
        pytest.raises(OutcomeUnknown),
    ):
        network.publish(post, idempotency_key="once")
    ref = network.publish(post, idempotency_key="once")
    assert network.reconcile("once", post=post) == ref
    assert fake.graph.posts["17841400000000777/media_publish"] - before == 1
    media = [o for o in fake.graph.of_type("ig_media") if o["caption"] == caption]
    assert len(media) == 1 and media[0]["media_type"] == "CAROUSEL_ALBUM"
    assert [fake.graph.objects[c]["message"] for c in media[0]["comments"]] == ["#vitrine"]
    # Instagram's side fetched every image from its address.
    assert len(fake.graph.fetched) >= 2
