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
from datetime import UTC, datetime, timedelta
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
    Permanent,
    RateLimited,
    Transient,
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


def test_an_answer_needs_no_image_and_takes_none(connected: InstagramNetwork) -> None:
    assert connected.validate(OutgoingPost("Merci !", in_reply_to="17858893269000001")) == []
    with_image = OutgoingPost("Merci !", media=(IMAGE,), in_reply_to="17858893269000001")
    assert "text only" in " ".join(connected.validate(with_image))


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
    graph.get(f"/{IG}/tags").mock(return_value=httpx.Response(200, json={"data": []}))
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


# -- direct messages and mentions (recorded answers) --------------------------------------------

PAGE = "101234567890123"
CONV = "aWdfdDoxNzg0MTQwNTgyMjMwNDkxNDoyNDY4MTM1Nw"
IGSID = "6543210987654321"


@pytest.fixture
def with_page(graph: respx.MockRouter, journal: MemoryJournal) -> InstagramNetwork:
    graph.get(f"/{IG}").mock(return_value=answer("ig_user.json"))
    network = InstagramNetwork(transport=httpx.HTTPTransport(), journal=journal)
    network.connect(CREDS.replace(page_id=PAGE))
    return network


def _inbox(graph: respx.MockRouter) -> respx.Route:
    graph.get(f"/{IG}/media").mock(return_value=httpx.Response(200, json={"data": []}))
    graph.get(f"/{IG}/tags").mock(return_value=answer("tags.json"))
    graph.get(f"/{CONV}/messages").mock(return_value=answer("dm_messages.json"))
    return graph.get(f"/{PAGE}/conversations").mock(return_value=answer("dm_conversations.json"))


def test_direct_messages_and_tags_come_in_once(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    conversations = _inbox(graph)
    batch = with_page.fetch_inbound(None)
    mention, dm = batch.items
    assert mention.kind == InboundKind.MENTION and mention.author.handle == "@marie.durand"
    assert mention.message_id == "18000000000000042" and "@lumiere.co" in mention.text
    assert mention.url == "https://www.instagram.com/p/Cx1Y2Z3/"
    # Only the person's message: the account's own answer in the conversation is not inbound.
    assert dm.kind == InboundKind.DM and dm.author.handle == "@jules.petit"
    assert dm.thread_id == CONV and dm.extra["igsid"] == IGSID
    assert conversations.calls.last.request.url.params["platform"] == "instagram"
    # The cursor: nothing twice.
    assert with_page.fetch_inbound(batch.next_cursor).items == ()


def test_inbound_without_messaging_permission_still_reads_comments(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    _inbox(graph)
    graph.get(f"/{PAGE}/conversations").mock(
        return_value=httpx.Response(
            400, json={"error": {"message": "(#230) Requires pages_messaging", "code": 230}}
        )
    )
    [mention] = with_page.fetch_inbound(None).items
    assert mention.kind == InboundKind.MENTION


def test_inbound_with_an_expired_token_is_auth_expired(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    _inbox(graph)
    graph.get(f"/{PAGE}/conversations").mock(return_value=answer("error_190.json"))
    with pytest.raises(AuthExpired):
        with_page.fetch_inbound(None)


def test_inbound_rate_limited(graph: respx.MockRouter, with_page: InstagramNetwork) -> None:
    _inbox(graph)
    graph.get(f"/{IG}/media").mock(return_value=answer("error_rate_limit.json"))
    with pytest.raises(RateLimited) as caught:
        with_page.fetch_inbound(None)
    assert caught.value.reset_at is not None


def _recent_dm(hours: float) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(hours=hours)
    row = load("dm_messages.json")["body"]["data"][1]
    return {**row, "created_time": moment.strftime("%Y-%m-%dT%H:%M:%S+0000")}


def test_private_reply_within_the_window(
    graph: respx.MockRouter, with_page: InstagramNetwork, journal: MemoryJournal
) -> None:
    dm = _recent_dm(hours=2)
    graph.get(f"/{dm['id']}").mock(return_value=httpx.Response(200, json=dm))
    sent = graph.post(f"/{PAGE}/messages").mock(return_value=answer("dm_sent.json"))
    ref = with_page.reply(dm["id"], "Nous regardons.", idempotency_key="dm1", private=True)
    assert ref.post_id.startswith("aWdfZ")
    body = form(sent.calls.last.request)
    assert json.loads(body["recipient"]) == {"id": IGSID}
    assert json.loads(body["message"]) == {"text": "Nous regardons."}
    # Same key again: the journal answers, nothing is sent twice.
    assert with_page.reply(dm["id"], "Nous regardons.", idempotency_key="dm1", private=True) == ref
    assert sent.call_count == 1


def test_private_reply_outside_the_window_is_refused_before_sending(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    dm = _recent_dm(hours=30)
    graph.get(f"/{dm['id']}").mock(return_value=httpx.Response(200, json=dm))
    graph.get(f"/{PAGE}/conversations").mock(return_value=answer("dm_conversations.json"))
    graph.get(f"/{CONV}/messages").mock(return_value=httpx.Response(200, json={"data": [dm]}))
    sent = graph.post(f"/{PAGE}/messages").mock(return_value=answer("dm_sent.json"))
    with pytest.raises(Permanent) as caught:
        with_page.reply(dm["id"], "Trop tard ?", idempotency_key="dm2", private=True)
    assert caught.value.code == "outside_window" and "24 hours" in caught.value.message
    assert sent.call_count == 0


def test_a_later_message_reopens_the_window(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    old, new = _recent_dm(hours=30), {**_recent_dm(hours=1), "id": "aWdfZnewer"}
    graph.get(f"/{old['id']}").mock(return_value=httpx.Response(200, json=old))
    graph.get(f"/{PAGE}/conversations").mock(return_value=answer("dm_conversations.json"))
    graph.get(f"/{CONV}/messages").mock(return_value=httpx.Response(200, json={"data": [new, old]}))
    sent = graph.post(f"/{PAGE}/messages").mock(return_value=answer("dm_sent.json"))
    with_page.reply(old["id"], "Toujours là.", idempotency_key="dm3", private=True)
    assert sent.call_count == 1


def test_graph_refusing_outside_the_window_says_so(
    graph: respx.MockRouter, with_page: InstagramNetwork, journal: MemoryJournal
) -> None:
    dm = _recent_dm(hours=1)
    graph.get(f"/{dm['id']}").mock(return_value=httpx.Response(200, json=dm))
    graph.post(f"/{PAGE}/messages").mock(return_value=answer("error_outside_window.json"))
    with pytest.raises(Permanent) as caught:
        with_page.reply(dm["id"], "x", idempotency_key="dm4", private=True)
    assert caught.value.code == "10/2534022" and "24 hours" in caught.value.message


def _recent_comment(days: float) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(days=days)
    row = load("comments.json")["body"]["data"][0]
    return {**row, "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S+0000")}


def test_a_comment_is_answered_in_private_once(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    comment = _recent_comment(days=2)
    graph.get(f"/{comment['id']}").mock(return_value=httpx.Response(200, json=comment))
    sent = graph.post(f"/{PAGE}/messages").mock(return_value=answer("private_reply_sent.json"))
    ref = with_page.reply(comment["id"], "Écrivez-nous ici.", idempotency_key="pc1", private=True)
    assert ref.post_id.startswith("aWdfZ")
    body = form(sent.calls.last.request)
    assert json.loads(body["recipient"]) == {"comment_id": comment["id"]}
    assert json.loads(body["message"]) == {"text": "Écrivez-nous ici."}
    again = with_page.reply(comment["id"], "Écrivez-nous ici.", idempotency_key="pc1", private=True)
    assert again == ref and sent.call_count == 1


def test_a_comment_older_than_seven_days_is_not_answered_in_private(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    comment = _recent_comment(days=8)
    graph.get(f"/{comment['id']}").mock(return_value=httpx.Response(200, json=comment))
    sent = graph.post(f"/{PAGE}/messages").mock(return_value=answer("private_reply_sent.json"))
    with pytest.raises(Permanent) as caught:
        with_page.reply(comment["id"], "x", idempotency_key="pc2", private=True)
    assert caught.value.code == "outside_window" and "7 days" in caught.value.message
    assert sent.call_count == 0


def test_a_second_private_reply_to_a_comment_is_refused_by_instagram(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    comment = _recent_comment(days=1)
    graph.get(f"/{comment['id']}").mock(return_value=httpx.Response(200, json=comment))
    graph.post(f"/{PAGE}/messages").mock(return_value=answer("error_private_reply_twice.json"))
    with pytest.raises(Permanent) as caught:
        with_page.reply(comment["id"], "x", idempotency_key="pc3", private=True)
    assert caught.value.code == "already_replied"


def test_a_private_answer_whose_answer_was_lost_is_never_sent_blind(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    comment = _recent_comment(days=1)
    graph.get(f"/{comment['id']}").mock(return_value=httpx.Response(200, json=comment))
    sent = graph.post(f"/{PAGE}/messages").mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(OutcomeUnknown):
        with_page.reply(comment["id"], "x", idempotency_key="pc4", private=True)
    with pytest.raises(OutcomeUnknown):
        with_page.reply(comment["id"], "x", idempotency_key="pc4", private=True)
    assert sent.call_count == 1


def test_a_tag_is_answered_through_the_mentions_edge(
    graph: respx.MockRouter, with_page: InstagramNetwork
) -> None:
    tagged = load("tags.json")["body"]["data"][0]
    graph.get(f"/{tagged['id']}").mock(return_value=httpx.Response(200, json=tagged))
    sent = graph.post(f"/{IG}/mentions").mock(return_value=answer("mention_reply.json"))
    ref = with_page.reply(tagged["id"], "Merci Marie !", idempotency_key="m1")
    assert ref.post_id == "17999999999999001"
    assert form(sent.calls.last.request) == {"media_id": tagged["id"], "message": "Merci Marie !"}


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
            "page_id": "400100200300",
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


def test_a_dm_and_a_tag_through_the_fake_are_answered_once(fake: FakeGraphServer) -> None:
    network = _make(fake, journal=MemoryJournal())
    network.connect(_creds(fake))
    before = network.fetch_inbound(None)
    ig = "17841400000000777"
    dm_id = fake.graph.add_ig_message(ig, "99000111", "jules.petit", "Où est ma commande ?")
    tag_id = fake.graph.add_ig_tag(ig, "marie.durand", "Soirée réussie avec @porte.voix")
    batch = network.fetch_inbound(before.next_cursor)
    kinds = {i.message_id: i.kind for i in batch.items}
    assert kinds[dm_id] == InboundKind.DM and kinds[tag_id] == InboundKind.MENTION
    assert network.fetch_inbound(batch.next_cursor).items == ()
    sends = fake.graph.posts["400100200300/messages"]
    ref = network.reply(dm_id, "Nous regardons.", idempotency_key="fake-dm", private=True)
    assert network.reply(dm_id, "Nous regardons.", idempotency_key="fake-dm", private=True) == ref
    assert fake.graph.posts["400100200300/messages"] - sends == 1
    assert fake.graph.objects[ref.post_id]["message"] == "Nous regardons."
    answer = network.reply(tag_id, "Merci !", idempotency_key="fake-tag")
    assert fake.graph.objects[answer.post_id]["message"] == "Merci !"
    assert fake.graph.posts[f"{ig}/mentions"] == 1
    # Our own answers do not come back as inbound.
    assert network.fetch_inbound(batch.next_cursor).items == ()


def test_a_comment_through_the_fake_is_answered_in_private_exactly_once(
    fake: FakeGraphServer,
) -> None:
    network = _make(fake, journal=MemoryJournal())
    network.connect(_creds(fake))
    media = network.publish(
        OutgoingPost("Nouveautés", media=(JPEG,)), idempotency_key=f"pm-{uuid.uuid4().hex}"
    )
    comment_id = fake.graph.add_comment(
        media.post_id, "Ma commande est abîmée", author=("17841400000000999", "une.cliente")
    )
    sends = fake.graph.posts["400100200300/messages"]
    ref = network.reply(comment_id, "Écrivez-nous ici.", idempotency_key="pc-f", private=True)
    assert (
        network.reply(comment_id, "Écrivez-nous ici.", idempotency_key="pc-f", private=True) == ref
    )
    assert fake.graph.posts["400100200300/messages"] - sends == 1
    assert fake.graph.objects[ref.post_id]["to"] == {"comment_id": comment_id}
    with pytest.raises(Permanent) as caught:
        network.reply(comment_id, "Encore ?", idempotency_key="pc-f2", private=True)
    assert caught.value.code == "already_replied"


def test_the_fake_refuses_outside_the_window_and_so_does_the_module(fake: FakeGraphServer) -> None:
    network = _make(fake, journal=MemoryJournal())
    network.connect(_creds(fake))
    old = datetime.now(UTC) - timedelta(hours=26)
    dm_id = fake.graph.add_ig_message(
        "17841400000000777", "99000222", "paul.r", "Bonjour ?", at=old
    )
    sends = fake.graph.posts["400100200300/messages"]
    with pytest.raises(Permanent) as caught:
        network.reply(dm_id, "Pardon du retard", idempotency_key="late", private=True)
    assert caught.value.code == "outside_window"
    assert fake.graph.posts["400100200300/messages"] == sends


# -- account metrics ----------------------------------------------------------------------------


def test_account_metrics_followers_and_profile_views_of_whole_days(
    graph: respx.MockRouter, connected: InstagramNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("portevoix.networks.instagram._now", lambda: noon)
    graph.get(f"/{IG}").mock(return_value=answer("ig_followers.json"))
    views = graph.get(f"/{IG}/insights").mock(return_value=answer("profile_views.json"))
    figures = connected.account_metrics(datetime(2026, 11, 29, 18, 0, tzinfo=UTC))
    assert (figures.followers, figures.profile_visits) == (8421, 96)
    asked = views.calls.last.request.url.params
    assert asked["metric"] == "profile_views" and asked["metric_type"] == "total_value"
    # The whole UTC days 29 and 30 November: from the 29th's midnight to the 1st's.
    assert int(asked["since"]) == int(datetime(2026, 11, 29, tzinfo=UTC).timestamp())
    assert int(asked["until"]) == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    # Six hours later no day has ended: no visits to add, and no call for them.
    calls = views.call_count
    later = connected.account_metrics(noon - timedelta(hours=6))
    assert later.profile_visits == 0 and views.call_count == calls


def test_profile_views_without_the_permission_are_not_offered_the_followers_still_are(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    graph.get(f"/{IG}").mock(return_value=answer("ig_followers.json"))
    graph.get(f"/{IG}/insights").mock(return_value=answer("error_10_insights.json"))
    figures = connected.account_metrics(datetime.now(UTC) - timedelta(days=2))
    assert (figures.followers, figures.profile_visits) == (8421, None)


def test_account_metrics_with_a_dead_token_asks_for_a_reconnect(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    graph.get(f"/{IG}").mock(return_value=answer("error_190.json"))
    with pytest.raises(AuthExpired):
        connected.account_metrics(datetime.now(UTC) - timedelta(days=2))


# -- mentions without a tag (webhook ids read back) -----------------------------------------


def test_fetch_mention_reads_a_comment_and_a_caption_by_id(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    def answer_for(request: httpx.Request) -> httpx.Response:
        fields = request.url.params.get("fields", "")
        name = "mentioned_comment.json" if "mentioned_comment" in fields else "mentioned_media.json"
        return answer(name)

    route = graph.get(f"/{IG}").mock(side_effect=answer_for)
    comment = connected.fetch_mention("17918195224117851", "17894227972186120")
    assert comment is not None and comment.kind == InboundKind.MENTION
    assert comment.message_id == "17894227972186120" and comment.author.handle == "@sophie.b"
    assert comment.thread_id == "17918195224117851" and comment.extra["mention"] == "comment"
    assert comment.created_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    caption = connected.fetch_mention("17918195224117852")
    assert caption is not None and caption.text == "Ma routine du soir avec @lumiere.co"
    assert caption.url == "https://www.instagram.com/p/Cdef456/"
    asked = [c.request.url.params["fields"] for c in route.calls]
    assert asked[-1].startswith("mentioned_media.media_id(17918195224117852)")


def test_fetch_mention_of_something_deleted_is_none(
    graph: respx.MockRouter, connected: InstagramNetwork
) -> None:
    graph.get(f"/{IG}").mock(return_value=httpx.Response(200, json={"id": IG}))
    assert connected.fetch_mention("1", "2") is None


def test_meta_signature_is_checked_on_the_raw_body() -> None:
    import hashlib
    import hmac

    body = b'{"object":"instagram"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert meta.signature_ok(body, good, "s3cret")
    assert not meta.signature_ok(body + b" ", good, "s3cret")
    assert not meta.signature_ok(body, good, "other")
    assert not meta.signature_ok(body, good, "")
    assert not meta.signature_ok(body, good.replace("sha256=", "sha1="), "s3cret")
