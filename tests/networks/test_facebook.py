"""Facebook pages: recorded Graph answers (respx), and the contract on a stateful fake.

- ``fixtures/facebook/*.json``: answers built from Meta's documentation, each with its source;
  replayed with respx: publishing, photos, first comment, errors and rate limits, the login,
  inbound mapping, metrics.
- the shared contract against ``fake_facebook.FakeGraph`` on loopback, which counts POSTs:
  Graph has no idempotency key, so "never sent blind after an accepted write" is checked by
  counting the posts that reached it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
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
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.facebook import FacebookNetwork
from portevoix.networks.types import (
    AuthorizationRequest,
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
)

from .contract import PNG_1PX, ContractSetup, NetworkContract
from .fake_facebook import FakeGraph, FakeGraphServer

FIXTURES = Path(__file__).parent / "fixtures" / "facebook"
GRAPH = "https://graph.facebook.com/v26.0"
PAGE = "101234567890123"
TOKEN = "EAApage-token-never-in-logs"
CREDS = Credentials({"page_id": PAGE, "page_access_token": TOKEN})


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data["_source"].startswith("https://developers.facebook.com/"), name
    assert data.get("_note"), name
    return data


def answer(name: str) -> httpx.Response:
    data = load(name)
    return httpx.Response(data["status"], json=data["body"], headers=data.get("headers", {}))


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=GRAPH, assert_all_called=False) as router:
        yield router


@pytest.fixture
def connected(graph: respx.MockRouter) -> FacebookNetwork:
    graph.get(f"/{PAGE}").mock(return_value=answer("page.json"))
    network = FacebookNetwork(transport=httpx.HTTPTransport())
    network.connect(CREDS)
    return network


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}


# -- connecting ---------------------------------------------------------------------------------


def test_connect_reads_the_page_with_the_token_in_a_header(graph: respx.MockRouter) -> None:
    route = graph.get(f"/{PAGE}").mock(return_value=answer("page.json"))
    account = FacebookNetwork(transport=httpx.HTTPTransport()).connect(CREDS)
    assert account.account_id == PAGE
    assert account.handle == "lumiereco"
    assert account.display_name == "Lumière & Co"
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url)


def test_expired_token_is_auth_expired(graph: respx.MockRouter) -> None:
    graph.get(f"/{PAGE}").mock(return_value=answer("error_190.json"))
    with pytest.raises(AuthExpired) as caught:
        FacebookNetwork(transport=httpx.HTTPTransport()).connect(CREDS)
    assert "reconnect" in caught.value.message
    assert caught.value.code == "190/460"
    assert TOKEN not in str(caught.value)


def test_missing_page_id_is_refused_before_any_call(graph: respx.MockRouter) -> None:
    with pytest.raises(InvalidInput):
        FacebookNetwork().connect(Credentials({"page_access_token": TOKEN}))
    assert not graph.calls


# -- publishing ---------------------------------------------------------------------------------


def test_publish_text_with_a_link(graph: respx.MockRouter, connected: FacebookNetwork) -> None:
    route = graph.post(f"/{PAGE}/feed").mock(return_value=answer("feed_created.json"))
    text = "Nos horaires changent lundi : https://lumiere.example/horaires."
    ref = connected.publish(OutgoingPost(text), idempotency_key="k1")
    assert ref.post_id == "101234567890123_987654321098765"
    assert ref.url.endswith(ref.post_id)
    sent = form(route.calls.last.request)
    assert sent == {"message": text, "link": "https://lumiere.example/horaires"}
    # The same key again: answered from the journal, nothing sent.
    assert connected.publish(OutgoingPost(text), idempotency_key="k1").post_id == ref.post_id
    assert route.call_count == 1


def test_publish_photos_unpublished_then_attached(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    photos = graph.post(f"/{PAGE}/photos").mock(
        side_effect=[
            httpx.Response(200, json={"id": "555000111222333"}),
            httpx.Response(200, json={"id": "555000111222334"}),
        ]
    )
    feed = graph.post(f"/{PAGE}/feed").mock(return_value=answer("feed_created.json"))
    media = (
        MediaItem(PNG_1PX, "image/png", alt_text="La vitrine", filename="a.png"),
        MediaItem(PNG_1PX, "image/png", filename="b.png"),
    )
    connected.publish(OutgoingPost("Deux photos", media=media), idempotency_key="k2")
    first = photos.calls[0].request
    assert b'name="published"\r\n\r\nfalse' in first.content
    assert b'name="alt_text_custom"\r\n\r\nLa vitrine' in first.content
    assert b'filename="a.png"' in first.content
    sent = form(feed.calls.last.request)
    assert json.loads(sent["attached_media[0]"]) == {"media_fbid": "555000111222333"}
    assert json.loads(sent["attached_media[1]"]) == {"media_fbid": "555000111222334"}
    assert "link" not in sent


def test_first_comment_goes_under_the_post(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.post(f"/{PAGE}/feed").mock(return_value=answer("feed_created.json"))
    comment = graph.post("/101234567890123_987654321098765/comments").mock(
        return_value=answer("comment_created.json")
    )
    post = OutgoingPost("Le concours est ouvert", first_comment="Règlement : lumiere.example/r")
    connected.publish(post, idempotency_key="k3")
    assert form(comment.calls.last.request) == {"message": "Règlement : lumiere.example/r"}


def test_failed_first_comment_is_completed_without_posting_again(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    feed = graph.post(f"/{PAGE}/feed").mock(return_value=answer("feed_created.json"))
    comment = graph.post("/101234567890123_987654321098765/comments").mock(
        side_effect=[answer("error_2_service.json"), answer("comment_created.json")]
    )
    graph.get("/101234567890123_987654321098765/comments").mock(
        return_value=httpx.Response(200, json={"data": []})
    )
    post = OutgoingPost("Le concours est ouvert", first_comment="Règlement")
    with pytest.raises(OutcomeUnknown) as caught:
        connected.publish(post, idempotency_key="k4")
    assert "first comment" in caught.value.message
    assert connected.reconcile("k4", post=post) is not None
    connected.publish(post, idempotency_key="k4")
    assert feed.call_count == 1
    assert comment.call_count == 2


@pytest.mark.parametrize(
    ("fixture", "error", "code"),
    [
        ("error_506_duplicate.json", Permanent, "506/1455006"),
        ("error_368_blocked.json", Permanent, "368/1390008"),
        ("error_10_not_reviewed.json", Permanent, "10"),
        ("error_200_permission.json", AuthExpired, "200"),
        ("error_190.json", AuthExpired, "190/460"),
    ],
)
def test_refusals_are_typed(
    graph: respx.MockRouter,
    connected: FacebookNetwork,
    fixture: str,
    error: type[Exception],
    code: str,
) -> None:
    graph.post(f"/{PAGE}/feed").mock(return_value=answer(fixture))
    with pytest.raises(error) as caught:
        connected.publish(OutgoingPost("Bonjour"), idempotency_key=f"k-{fixture}")
    assert getattr(caught.value, "code", None) == code
    assert not isinstance(caught.value, OutcomeUnknown)


def test_duplicate_says_so(graph: respx.MockRouter, connected: FacebookNetwork) -> None:
    graph.post(f"/{PAGE}/feed").mock(return_value=answer("error_506_duplicate.json"))
    with pytest.raises(Permanent) as caught:
        connected.publish(OutgoingPost("Bonjour"), idempotency_key="dup")
    assert "duplicate" in caught.value.message


def test_app_not_reviewed_names_app_review(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.post(f"/{PAGE}/feed").mock(return_value=answer("error_10_not_reviewed.json"))
    with pytest.raises(Permanent) as caught:
        connected.publish(OutgoingPost("Bonjour"), idempotency_key="rev")
    assert "App Review" in caught.value.message


def test_unreadable_image_is_invalid_input(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.post(f"/{PAGE}/photos").mock(return_value=answer("error_324_image.json"))
    feed = graph.post(f"/{PAGE}/feed")
    post = OutgoingPost("Photo", media=(MediaItem(PNG_1PX, "image/png", filename="p.png"),))
    with pytest.raises(InvalidInput):
        connected.publish(post, idempotency_key="img")
    assert not feed.called


def test_image_too_large_is_refused_before_sending(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    big = MediaItem(b"\0" * (10 * 1024 * 1024 + 1), "image/jpeg", filename="big.jpg")
    with pytest.raises(InvalidInput) as caught:
        connected.publish(OutgoingPost("Lourd", media=(big,)), idempotency_key="big")
    assert "big.jpg" in caught.value.message
    assert len(graph.calls) == 1  # the connect only


def test_app_rate_limit_waits_an_hour_and_holds_the_next_call(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    feed = graph.post(f"/{PAGE}/feed").mock(return_value=answer("error_4_app_limit.json"))
    with pytest.raises(RateLimited) as caught:
        connected.publish(OutgoingPost("Vite"), idempotency_key="r1")
    reset = caught.value.reset_at
    assert reset is not None
    assert timedelta(minutes=55) < reset - datetime.now(UTC) <= timedelta(hours=1)
    # X-App-Usage said 100 %: the next call is not even sent.
    with pytest.raises(RateLimited):
        connected.publish(OutgoingPost("Vite encore"), idempotency_key="r2")
    assert feed.call_count == 1


def test_page_rate_limit_uses_the_time_to_regain_access(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.post(f"/{PAGE}/feed").mock(return_value=answer("error_32_page_limit.json"))
    with pytest.raises(RateLimited) as caught:
        connected.publish(OutgoingPost("Vite"), idempotency_key="r3")
    assert caught.value.reset_at is not None
    left = caught.value.reset_at - datetime.now(UTC)
    assert timedelta(minutes=16) < left <= timedelta(minutes=17)


def test_server_error_on_a_write_is_outcome_unknown_on_a_read_transient(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.post(f"/{PAGE}/feed").mock(return_value=answer("error_2_service.json"))
    graph.get(f"/{PAGE}/published_posts").mock(return_value=answer("error_2_service.json"))
    with pytest.raises(OutcomeUnknown):
        connected.publish(OutgoingPost("Peut-être"), idempotency_key="s1")
    with pytest.raises(Transient):
        connected.reconcile("s1", post=OutgoingPost("Peut-être"))


def test_publish_that_times_out_after_being_accepted_is_reconciled(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    feed = graph.post(f"/{PAGE}/feed").mock(side_effect=httpx.ReadTimeout("lost"))
    text = "Nos horaires changent lundi : https://lumiere.example/horaires"
    post = OutgoingPost(text)
    with pytest.raises(OutcomeUnknown):
        connected.publish(post, idempotency_key="t1")
    listing = graph.get(f"/{PAGE}/published_posts").mock(
        return_value=answer("published_posts.json")
    )
    since = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    found = connected.reconcile("t1", post=post, since=since)
    assert found is not None and found.post_id == "101234567890123_987654321098765"
    assert found.url == "https://www.facebook.com/lumiereco/posts/987654321098765"
    # Only posts made since the first attempt (less Graph's clock slack) are asked for.
    asked = int(listing.calls.last.request.url.params["since"])
    assert asked == int((since - timedelta(minutes=2)).timestamp())
    # Publishing again answers the post found; nothing is sent.
    assert connected.publish(post, idempotency_key="t1").post_id == found.post_id
    assert feed.call_count == 1


def test_reconcile_excludes_posts_recorded_elsewhere_and_is_ambiguous_on_twins(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    twin = load("published_posts.json")["body"]
    row = twin["data"][0]
    twin["data"].append({**row, "id": "101234567890123_2"})
    graph.get(f"/{PAGE}/published_posts").mock(return_value=httpx.Response(200, json=twin))
    post = OutgoingPost(row["message"])
    since = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    for key in ("a1", "a2"):  # a call was made under these keys, its answer lost
        connected.journal.put(key, {"state": "sending", "since": since.isoformat()})
    with pytest.raises(Ambiguous) as caught:
        connected.reconcile("a1", post=post, since=since)
    assert len(caught.value.candidates) == 2
    found = connected.reconcile("a2", post=post, since=since, exclude=frozenset({row["id"]}))
    assert found is not None and found.post_id == "101234567890123_2"


def test_reconcile_finds_nothing_for_a_post_never_made(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.get(f"/{PAGE}/published_posts", name="listing").mock(
        return_value=answer("published_posts.json")
    )
    post = OutgoingPost("Jamais publié")
    since = datetime(2026, 11, 1, tzinfo=UTC)
    # Nothing under this key in the journal: nothing was sent, the network is not even asked.
    assert connected.reconcile("n0", post=post, since=since) is None
    assert not graph.routes["listing"].called
    connected.journal.put("n1", {"state": "sending", "since": since.isoformat()})
    assert connected.reconcile("n1", post=post, since=since) is None
    assert graph.routes["listing"].called
    # Found absent: publishing again is safe, and the journal says so.
    assert connected.journal.get("n1") == {"state": "absent", "since": since.isoformat()}


def test_connection_refused_is_transient(graph: respx.MockRouter) -> None:
    graph.get(f"/{PAGE}").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Transient):
        FacebookNetwork(transport=httpx.HTTPTransport()).connect(CREDS)


# -- inbound ------------------------------------------------------------------------------------


def test_fetch_inbound_reads_comments_and_messenger(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.get(f"/{PAGE}/published_posts").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [
                    {
                        "id": "101234567890123_987654321098765",
                        "created_time": "2026-12-01T09:00:05+0000",
                        "updated_time": "2026-12-01T10:25:00+0000",
                    }
                ]
            },
        )
    )
    graph.get("/101234567890123_987654321098765/comments").mock(
        return_value=answer("comments.json")
    )
    # A permission missing for one optional part skips that part, not the sync.
    graph.get(f"/{PAGE}/tagged").mock(return_value=answer("error_200_permission.json"))
    graph.get(f"/{PAGE}/conversations").mock(return_value=answer("conversations.json"))
    graph.get("/t_10161234567890/messages").mock(return_value=answer("messages.json"))
    batch = connected.fetch_inbound(None)
    by_id = {i.message_id: i for i in batch.items}
    # The page's own answer is not inbound; a reply in a thread points at its parent.
    assert set(by_id) == {
        "101234567890123_987654321098765_111",
        "101234567890123_987654321098765_113",
        "m_AbCdEf1",
    }
    first = by_id["101234567890123_987654321098765_111"]
    assert first.kind == InboundKind.COMMENT
    assert first.in_reply_to == "101234567890123_987654321098765"
    assert first.author.display_name == "Camille Martin"
    assert str(by_id["101234567890123_987654321098765_113"].in_reply_to).endswith("_111")
    dm = by_id["m_AbCdEf1"]
    assert dm.kind == InboundKind.DM and dm.thread_id == "t_10161234567890"
    assert dm.extra["psid"] == "24681357"
    # The cursor remembers what was read: the same answers again bring nothing new.
    again = connected.fetch_inbound(batch.next_cursor)
    assert again.items == ()


def test_private_reply_to_a_comment(graph: respx.MockRouter, connected: FacebookNetwork) -> None:
    route = graph.post(f"/{PAGE}/messages").mock(return_value=answer("message_sent.json"))
    ref = connected.reply(
        "101234567890123_987654321098765_111", "Je vous écris", private=True, idempotency_key="p1"
    )
    assert ref.post_id == "m_PrivReply1"
    sent = form(route.calls.last.request)
    assert json.loads(sent["recipient"]) == {"comment_id": "101234567890123_987654321098765_111"}
    assert json.loads(sent["message"]) == {"text": "Je vous écris"}
    assert sent["messaging_type"] == "RESPONSE"


def test_lost_private_reply_goes_to_a_person(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.post(f"/{PAGE}/messages").mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(OutcomeUnknown):
        connected.reply("c_1", "Bonjour", private=True, idempotency_key="p2")
    with pytest.raises(Ambiguous):
        connected.reconcile("p2", post=OutgoingPost("Bonjour", in_reply_to="c_1"))


def test_hide_comment(graph: respx.MockRouter, connected: FacebookNetwork) -> None:
    route = graph.post("/c_1").mock(return_value=httpx.Response(200, json={"success": True}))
    connected.hide_comment("c_1")
    assert form(route.calls.last.request) == {"is_hidden": "true"}


# -- metrics ------------------------------------------------------------------------------------


def test_metrics(graph: respx.MockRouter, connected: FacebookNetwork) -> None:
    post_id = "101234567890123_987654321098765"
    graph.get(f"/{post_id}").mock(return_value=answer("post_metrics.json"))
    graph.get(f"/{post_id}/insights").mock(return_value=answer("post_insights.json"))
    graph.get("/101234567890123_1").mock(return_value=answer("error_100_missing.json"))
    refs = [connected._ref(post_id), connected._ref("101234567890123_1")]
    [snap] = connected.metrics(refs)
    assert (snap.likes, snap.replies, snap.reposts, snap.views) == (57, 12, 4, 1840)
    assert snap.extra["post_impressions_unique"] == 1203


def test_dead_token_during_inbound_is_auth_expired(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.get(f"/{PAGE}/published_posts").mock(return_value=httpx.Response(200, json={"data": []}))
    graph.get(f"/{PAGE}/tagged").mock(return_value=answer("error_190.json"))
    with pytest.raises(AuthExpired):
        connected.fetch_inbound(None)


def test_metrics_without_insights_permission(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    post_id = "101234567890123_987654321098765"
    graph.get(f"/{post_id}").mock(return_value=answer("post_metrics.json"))
    graph.get(f"/{post_id}/insights").mock(return_value=answer("error_10_not_reviewed.json"))
    [snap] = connected.metrics([connected._ref(post_id)])
    assert snap.likes == 57 and snap.views is None


def test_deleted_post_has_no_metrics(graph: respx.MockRouter, connected: FacebookNetwork) -> None:
    graph.get("/gone").mock(return_value=answer("error_100_missing.json"))
    assert connected.metrics([connected._ref("gone")]) == []
    with pytest.raises(NotFound):
        connected.graph.get("gone", action="x")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.facebook.com/lumiereco/posts/987654321098765", f"{PAGE}_987654321098765"),
        (f"https://facebook.com/{PAGE}/posts/42", f"{PAGE}_42"),
        (f"https://www.facebook.com/{PAGE}_42", f"{PAGE}_42"),
        (f"https://www.facebook.com/permalink.php?story_fbid=42&id={PAGE}", f"{PAGE}_42"),
        ("https://www.facebook.com/lumiereco/posts/pfbid02abc", None),
        ("https://www.facebook.com/otherpage/posts/42", None),
        ("https://evil.example/lumiereco/posts/42", None),
        ("https://www.facebook.com/permalink.php?story_fbid=42&id=999", None),
    ],
)
def test_post_id_from_a_link(url: str, expected: str | None) -> None:
    from portevoix.networks.types import AccountInfo

    account = AccountInfo(network="facebook", account_id=PAGE, handle="lumiereco")
    assert FacebookNetwork.post_id_from_url(url, account) == expected


# -- Facebook Login -----------------------------------------------------------------------------


@pytest.fixture
def meta_app() -> Iterator[None]:
    meta.configure(app_id="42", app_secret="s3cr3t-app")
    yield
    meta.configure()


def test_login_without_an_app_is_a_clear_refusal() -> None:
    meta.configure()
    with pytest.raises(Permanent) as caught:
        FacebookNetwork.begin_authorization("", "https://pv.example/cb", state="s")
    assert "PORTEVOIX_META_APP_ID" in caught.value.message


def test_login_url(meta_app: None) -> None:
    auth = FacebookNetwork.begin_authorization(
        "Lumière & Co", "https://pv.example/cb", state="st4te"
    )
    assert auth.url.startswith("https://www.facebook.com/v26.0/dialog/oauth?")
    query = parse_qs(auth.url.split("?", 1)[1])
    assert query["client_id"] == ["42"] and query["state"] == ["st4te"]
    assert "pages_manage_posts" in query["scope"][0]
    assert auth.instance_url == "Lumière & Co"


def test_login_trades_the_code_for_the_chosen_page_token(
    graph: respx.MockRouter, meta_app: None
) -> None:
    tokens = graph.post("/oauth/access_token").mock(
        side_effect=[answer("oauth_short.json"), answer("oauth_long.json")]
    )
    accounts = graph.get("/me/accounts").mock(return_value=answer("me_accounts.json"))
    auth = AuthorizationRequest(
        url="u", state="s", redirect_uri="https://pv.example/cb", instance_url="lumière & co"
    )
    creds = FacebookNetwork.complete_authorization(auth, "the-code")
    assert creds.get("page_id") == PAGE
    assert creds.get("page_access_token") == "EAApage-token-lumiere"
    assert creds.get("user_access_token") == "EAAlong-user-token"
    first, second = (form(c.request) for c in tokens.calls)
    assert first["code"] == "the-code" and first["client_secret"] == "s3cr3t-app"
    assert second["grant_type"] == "fb_exchange_token"
    assert second["fb_exchange_token"] == "EAAshort-user-token"
    assert accounts.calls.last.request.headers["Authorization"] == "Bearer EAAlong-user-token"
    # appsecret_proof: HMAC of the token with the app secret, never the secret itself.
    assert "appsecret_proof" in accounts.calls.last.request.url.params
    assert "s3cr3t" not in str(accounts.calls.last.request.url)


def test_login_with_several_pages_and_no_name_asks_which(
    graph: respx.MockRouter, meta_app: None
) -> None:
    graph.post("/oauth/access_token").mock(
        side_effect=[answer("oauth_short.json"), answer("oauth_long.json")]
    )
    graph.get("/me/accounts").mock(return_value=answer("me_accounts.json"))
    auth = AuthorizationRequest(url="u", state="s", redirect_uri="https://pv.example/cb")
    with pytest.raises(InvalidInput) as caught:
        FacebookNetwork.complete_authorization(auth, "the-code")
    assert "Lumière & Co" in caught.value.message and "Lumière Recrute" in caught.value.message


# -- the contract on the fake -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGraphServer]:
    with FakeGraphServer(FakeGraph()) as server:
        server.graph.add_page("300100200300", "Porte-voix Test", "pvtest", "page-token-contract")
        yield server


class TestFacebookContract(NetworkContract):
    @pytest.fixture
    def contract(self, fake: FakeGraphServer) -> ContractSetup:
        creds = Credentials(
            {
                "page_id": "300100200300",
                "page_access_token": "page-token-contract",
                "graph_url": fake.url,
            }
        )

        def make(**kwargs: Any) -> FacebookNetwork:
            return FacebookNetwork(transport=httpx.HTTPTransport(), timeout=5, **kwargs)

        @contextmanager_lose
        def lose(network: Any) -> Iterator[None]:
            with fake.graph.lose_next_answer():
                yield

        @contextmanager_lose
        def rate(network: Any) -> Iterator[None]:
            with fake.graph.rate_limit_next():
                yield

        def comment(ref: Any, text: str) -> None:
            fake.graph.add_comment(ref.post_id, text, author=("888", "Une cliente"))

        return ContractSetup(
            make_network=make,
            credentials=creds,
            bad_credentials=creds.replace(page_access_token="revoked-token"),
            secrets=("page-token-contract", "revoked-token"),
            add_comment=comment,
            lose_next_answer=lose,
            rate_limit_next=rate,
        )


def contextmanager_lose(fn: Any) -> Any:
    from contextlib import contextmanager

    return contextmanager(fn)


def test_timeout_after_accept_reaches_the_fake_exactly_once(fake: FakeGraphServer) -> None:
    """Never sent blind: a lost answer, then the worker's path (reconcile, publish again)."""
    network = FacebookNetwork(transport=httpx.HTTPTransport(), timeout=5, journal=MemoryJournal())
    network.connect(
        Credentials(
            {
                "page_id": "300100200300",
                "page_access_token": "page-token-contract",
                "graph_url": fake.url,
            }
        )
    )
    text = f"Une seule fois {uuid.uuid4().hex}"
    post = OutgoingPost(text, first_comment="Et son commentaire")
    before = fake.graph.posts["300100200300/feed"]
    with fake.graph.lose_next_answer(), pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="once")
    # Without reconcile, publishing again looks first (the journal says "sending").
    ref = network.publish(post, idempotency_key="once")
    assert network.reconcile("once", post=post) == ref
    assert fake.graph.posts["300100200300/feed"] - before == 1
    posts = [o for o in fake.graph.of_type("post") if o["message"] == text]
    assert len(posts) == 1
    comments = [fake.graph.objects[c]["message"] for c in posts[0].get("comments", [])]
    assert comments == ["Et son commentaire"]


def test_photos_and_messenger_on_the_fake(fake: FakeGraphServer) -> None:
    network = FacebookNetwork(transport=httpx.HTTPTransport(), timeout=5)
    network.connect(
        Credentials(
            {
                "page_id": "300100200300",
                "page_access_token": "page-token-contract",
                "graph_url": fake.url,
            }
        )
    )
    media = tuple(
        MediaItem(PNG_1PX, "image/png", alt_text=f"photo {n}", filename=f"{n}.png")
        for n in range(3)
    )
    ref = network.publish(OutgoingPost("Trois photos", media=media), idempotency_key="ph")
    post = fake.graph.objects[ref.post_id]
    assert len(post["photos"]) == 3
    assert [fake.graph.objects[p]["alt"] for p in post["photos"]] == [
        "photo 0",
        "photo 1",
        "photo 2",
    ]
    assert not any(fake.graph.objects[p]["published"] for p in post["photos"])
    cursor = network.fetch_inbound(None).next_cursor
    fake.graph.add_message("300100200300", "psid-77", "Jules", "Où est ma commande ?")
    batch = network.fetch_inbound(cursor)
    [dm] = [i for i in batch.items if i.kind == InboundKind.DM]
    assert dm.text == "Où est ma commande ?" and dm.author.id == "psid-77"
    answer_ref = network.reply(dm, "Elle arrive demain.", idempotency_key="dm1", private=True)
    sent = fake.graph.objects[answer_ref.post_id]
    assert sent["to"] == {"id": "psid-77"} and sent["message"] == "Elle arrive demain."


# -- video (resumable upload on graph-video) ----------------------------------------------------

VIDEO = "https://graph-video.facebook.com/v26.0"
# Ten bytes stand for the file: the recordings hand out a 6-byte chunk, then the last 4.
CLIP = MediaItem(b"\x00\x00\x00\x18ftypmp", "video/mp4", filename="clip.mp4")


@pytest.fixture
def hosts() -> Iterator[tuple[respx.MockRouter, FacebookNetwork]]:
    """Graph and its video host (uploads go to graph-video.facebook.com)."""
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/{PAGE}").mock(return_value=answer("page.json"))
        network = FacebookNetwork(transport=httpx.HTTPTransport(), journal=MemoryJournal())
        network.connect(CREDS)
        yield router, network


def phases(route: respx.Route) -> list[str]:
    found = []
    for call in route.calls:
        body = call.request.content
        if b'name="upload_phase"' in body:
            found.append(body.split(b'name="upload_phase"\r\n\r\n')[1].split(b"\r\n")[0].decode())
        else:
            found.append(form(call.request).get("upload_phase", "?"))
    return found


def test_publish_a_video_by_resumable_upload(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    route = router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[
            answer("video_start.json"),
            answer("video_transfer.json"),
            answer("video_transfer_last.json"),
            answer("video_finish.json"),
        ]
    )
    feed = router.post(f"{GRAPH}/{PAGE}/feed")
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    ref = network.publish(post, idempotency_key="v1")
    assert ref.post_id == "1564747010440105"
    assert ref.url == f"https://www.facebook.com/{PAGE}/videos/1564747010440105"
    assert phases(route) == ["start", "transfer", "transfer", "finish"]
    start = form(route.calls[0].request)
    assert start == {"upload_phase": "start", "file_size": "10"}
    # Each chunk is the byte range Graph asked for.
    assert b"\x00\x00\x00\x18ft" in route.calls[1].request.content
    assert b'name="start_offset"\r\n\r\n6' in route.calls[2].request.content
    assert form(route.calls[3].request) == {
        "upload_phase": "finish",
        "upload_session_id": "1564747013773438",
        "description": "Notre atelier en vidéo",
        "published": "true",
    }
    assert not feed.called
    # The token travels in the header on the video host too.
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    # Again with the key: from the journal, nothing sent.
    assert network.publish(post, idempotency_key="v1") == ref
    assert route.call_count == 4


def test_lost_finish_is_read_back_by_the_video_id_and_never_uploaded_again(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    route = router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[
            answer("video_start.json"),
            answer("video_transfer.json"),
            answer("video_transfer_last.json"),
            httpx.ReadTimeout("lost"),
        ]
    )
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="v2")
    entry = network.journal.get("v2")
    assert entry is not None and entry["state"] == "sending"
    assert entry["session"] == "1564747013773438"
    status = router.get(f"{GRAPH}/1564747010440105").mock(
        return_value=answer("video_status_closed.json")
    )
    found = network.reconcile("v2", post=post)
    assert found is not None and found.post_id == "1564747010440105"
    assert network.publish(post, idempotency_key="v2").post_id == found.post_id
    assert route.call_count == 4 and status.call_count == 1


def test_lost_finish_that_never_arrived_is_finished_without_a_second_upload(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    route = router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[
            answer("video_start.json"),
            answer("video_transfer.json"),
            answer("video_transfer_last.json"),
            httpx.ReadTimeout("lost"),
            answer("video_finish.json"),
        ]
    )
    router.get(f"{GRAPH}/1564747010440105").mock(return_value=answer("video_status_open.json"))
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="v3")
    # Graph has the file but no finish: not published yet; publishing again only finishes.
    assert network.reconcile("v3", post=post) is None
    ref = network.publish(post, idempotency_key="v3")
    assert ref.post_id == "1564747010440105"
    assert phases(route) == ["start", "transfer", "transfer", "finish", "finish"]


def test_video_graph_no_longer_knows_starts_a_new_upload(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[
            answer("video_start.json"),
            answer("video_transfer.json"),
            answer("video_transfer_last.json"),
            httpx.ReadTimeout("lost"),
        ]
    )
    router.get(f"{GRAPH}/1564747010440105").mock(return_value=answer("error_100_missing.json"))
    post = OutgoingPost("Notre atelier en vidéo", media=(CLIP,))
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="v4")
    assert network.reconcile("v4", post=post) is None
    entry = network.journal.get("v4")
    assert entry is not None and entry["state"] == "absent" and "session" not in entry


@pytest.mark.parametrize(
    ("fixture", "at"),
    [("error_video_too_large.json", 0), ("error_video_not_a_video.json", 1)],
)
def test_video_refusals_are_invalid_input_and_nothing_is_published(
    hosts: tuple[respx.MockRouter, FacebookNetwork], fixture: str, at: int
) -> None:
    router, network = hosts
    answers = [answer("video_start.json"), answer("video_transfer.json")]
    answers[at] = answer(fixture)
    route = router.post(f"{VIDEO}/{PAGE}/videos").mock(side_effect=answers[: at + 1])
    with pytest.raises(InvalidInput) as caught:
        network.publish(OutgoingPost("Vidéo", media=(CLIP,)), idempotency_key=f"r{at}")
    assert "video" in caught.value.message
    assert route.call_count == at + 1
    assert "finish" not in phases(route)


def test_lost_chunk_answer_restarts_the_session_next_time(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[answer("video_start.json"), httpx.ReadTimeout("lost")]
    )
    with pytest.raises(Transient):
        network.publish(OutgoingPost("Vidéo", media=(CLIP,)), idempotency_key="c1")
    entry = network.journal.get("c1")
    assert entry is not None and "session" not in entry
    assert network.reconcile("c1", post=OutgoingPost("Vidéo", media=(CLIP,))) is None


def test_video_rules_before_sending() -> None:
    network = FacebookNetwork()
    photo = MediaItem(PNG_1PX, "image/png", filename="a.png")
    assert any("goes alone" in p for p in network.validate(OutgoingPost("x", media=(CLIP, photo))))
    assert network.validate(OutgoingPost("x", media=(CLIP,))) == []


def test_video_on_the_fake_timeout_after_accept_gives_exactly_one_video(
    fake: FakeGraphServer,
) -> None:
    """A lost answer to ``finish`` (Graph published it), then the worker's path: one video."""
    network = FacebookNetwork(transport=httpx.HTTPTransport(), timeout=5, journal=MemoryJournal())
    network.connect(
        Credentials(
            {
                "page_id": "300100200300",
                "page_access_token": "page-token-contract",
                "graph_url": fake.url,
            }
        )
    )
    data = bytes(range(256)) * 10  # 2,560 bytes: three chunks of the fake's 1,024
    clip = MediaItem(data, "video/mp4", filename="clip.mp4")
    text = f"Une seule vidéo {uuid.uuid4().hex}"
    post = OutgoingPost(text, media=(clip,), first_comment="Le making-of en commentaire")
    before = fake.graph.video_calls.copy()
    with fake.graph.lose_next_video_phase("finish"), pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="video-once")
    found = network.reconcile("video-once", post=post)
    assert found is not None
    ref = network.publish(post, idempotency_key="video-once")
    assert ref.post_id == found.post_id
    calls = fake.graph.video_calls - before
    assert calls == {"start": 1, "transfer": 3, "finish": 1}
    videos = [v for v in fake.graph.of_type("video") if v["description"] == text]
    assert len(videos) == 1 and videos[0]["received"] == data and videos[0]["published"]
    comments = [fake.graph.objects[c]["message"] for c in videos[0].get("comments", [])]
    assert comments == ["Le making-of en commentaire"]


def test_video_too_large_on_the_fake_sends_no_byte(fake: FakeGraphServer) -> None:
    network = FacebookNetwork(transport=httpx.HTTPTransport(), timeout=5)
    network.connect(
        Credentials(
            {
                "page_id": "300100200300",
                "page_access_token": "page-token-contract",
                "graph_url": fake.url,
            }
        )
    )
    before = fake.graph.video_calls.copy()
    fake.graph.max_video_bytes = 100
    try:
        clip = MediaItem(b"\x00" * 200, "video/mp4", filename="big.mp4")
        with pytest.raises(InvalidInput):
            network.publish(OutgoingPost("Trop lourde", media=(clip,)), idempotency_key="big")
    finally:
        fake.graph.max_video_bytes = 10_000_000
    assert fake.graph.video_calls - before == {"start": 1}


# -- account metrics ----------------------------------------------------------------------------

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_account_metrics_followers_and_the_page_views_of_whole_days(
    graph: respx.MockRouter, connected: FacebookNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portevoix.networks.facebook._now", lambda: NOON)
    followers = graph.get(f"/{PAGE}").mock(return_value=answer("page_followers.json"))
    views = graph.get(f"/{PAGE}/insights").mock(return_value=answer("page_views_insights.json"))
    since = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    figures = connected.account_metrics(since)
    assert figures.followers == 12840
    # The days that ended after ``since`` and by noon: 41 + 57 (not the 29th's 19, nor the
    # 2nd's 12, a day not over yet).
    assert figures.profile_visits == 98
    assert (figures.since, figures.taken_at) == (since, NOON)
    assert followers.calls.last.request.url.params["fields"] == "followers_count"
    asked = views.calls.last.request.url.params
    assert asked["metric"] == "page_views_total" and asked["period"] == "day"
    assert int(asked["until"]) == int(NOON.timestamp())
    # The next reading, six hours later, counts no day twice.
    monkeypatch.setattr("portevoix.networks.facebook._now", lambda: NOON + timedelta(hours=6))
    assert connected.account_metrics(NOON).profile_visits == 0


@pytest.mark.parametrize("refusal", ["error_10_not_reviewed.json", "error_200_permission.json"])
def test_page_views_without_read_insights_are_not_offered_the_followers_still_are(
    graph: respx.MockRouter, connected: FacebookNetwork, refusal: str
) -> None:
    graph.get(f"/{PAGE}").mock(return_value=answer("page_followers.json"))
    graph.get(f"/{PAGE}/insights").mock(return_value=answer(refusal))
    figures = connected.account_metrics(datetime.now(UTC) - timedelta(days=1))
    assert (figures.followers, figures.profile_visits) == (12840, None)


def test_followers_refused_still_gives_the_page_views(
    graph: respx.MockRouter, connected: FacebookNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portevoix.networks.facebook._now", lambda: NOON)
    graph.get(f"/{PAGE}").mock(return_value=answer("error_200_permission.json"))
    graph.get(f"/{PAGE}/insights").mock(return_value=answer("page_views_insights.json"))
    figures = connected.account_metrics(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert (figures.followers, figures.profile_visits) == (None, 57)


def test_account_metrics_with_a_dead_token_asks_for_a_reconnect(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.get(f"/{PAGE}").mock(return_value=answer("error_190.json"))
    graph.get(f"/{PAGE}/insights").mock(return_value=answer("error_190.json"))
    with pytest.raises(AuthExpired):
        connected.account_metrics(datetime.now(UTC) - timedelta(days=1))


def test_account_metrics_rate_limited_is_retried_later_not_hidden(
    graph: respx.MockRouter, connected: FacebookNetwork
) -> None:
    graph.get(f"/{PAGE}").mock(return_value=answer("page_followers.json"))
    graph.get(f"/{PAGE}/insights").mock(return_value=answer("error_4_app_limit.json"))
    with pytest.raises(RateLimited):
        connected.account_metrics(datetime.now(UTC) - timedelta(days=1))


def test_a_refused_chunk_is_sent_again_from_graphs_offset(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    route = router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[
            answer("video_start.json"),
            answer("error_video_chunk_offsets.json"),
            answer("video_transfer.json"),
            answer("video_transfer_last.json"),
            answer("video_finish.json"),
        ]
    )
    ref = network.publish(OutgoingPost("Atelier", media=(CLIP,)), idempotency_key="vr1")
    assert ref.post_id == "1564747010440105"
    assert phases(route) == ["start", "transfer", "transfer", "transfer", "finish"]
    # The same session, from the offset Graph gave back: no second "start".
    assert b'name="start_offset"\r\n\r\n0' in route.calls[2].request.content
    assert b"\x00\x00\x00\x18ft" in route.calls[2].request.content


def test_a_chunk_refused_again_and_again_resumes_in_the_next_attempt(
    hosts: tuple[respx.MockRouter, FacebookNetwork],
) -> None:
    router, network = hosts
    refusals = [answer("error_video_chunk_offsets.json") for _ in range(4)]
    route = router.post(f"{VIDEO}/{PAGE}/videos").mock(
        side_effect=[answer("video_start.json"), *refusals]
    )
    post = OutgoingPost("Atelier", media=(CLIP,))
    with pytest.raises(Transient):
        network.publish(post, idempotency_key="vr2")
    entry = network.journal.get("vr2")
    assert entry is not None and entry["session"] == "1564747013773438"
    assert (entry["start"], entry["end"]) == ("0", "6")
    route.side_effect = [
        answer("video_transfer.json"),
        answer("video_transfer_last.json"),
        answer("video_finish.json"),
    ]
    assert network.publish(post, idempotency_key="vr2").post_id == "1564747010440105"
    assert phases(route).count("start") == 1
