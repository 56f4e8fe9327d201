"""Mastodon module: recorded HTTP from the API documentation, and the contract on mastodon-mock.

Two layers:

- exact answers (``fixtures/mastodon/*.json``, each with its documentation source) replayed
  with ``responses``: error mapping, rate limits, malformed answers, timeouts, idempotency
  keys, OAuth, inbound mapping, metrics. ``Mastodon.py`` speaks ``requests``, which ``respx``
  (httpx only) cannot see, hence ``responses``.
- the shared contract against ``mastodon-mock``, a stateful Mastodon API server run on
  loopback (a contract double, not ground truth: it sends no rate-limit headers, so the
  faults are injected by a ``requests`` adapter in front of it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from mastodon import Mastodon
from requests.adapters import HTTPAdapter

from portevoix.networks.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from portevoix.networks.mastodon import MastodonNetwork, idempotency_header, plain_text
from portevoix.networks.types import (
    AccountMetric,
    AuthorizationRequest,
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
    ThreadPart,
    Visibility,
)

from .contract import PNG_1PX, ContractSetup, NetworkContract

FIXTURES = Path(__file__).parent / "fixtures" / "mastodon"
BASE = "https://mastodon.example"
TOKEN = "tok-3f9a2c-never-in-logs"
CREDS = Credentials({"instance_url": BASE, "access_token": TOKEN})


def load(name: str) -> dict[str, Any]:
    """A recorded answer; every fixture names its source (documentation or server code)."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert len(data.get("_source", "")) > 10 and data.get("_note"), name
    return data


def answer(
    mock: responses.RequestsMock, method: str, path: str, fixture: str, **kwargs: Any
) -> None:
    data = load(fixture)
    headers = dict(data.get("headers", {}))
    if "body_text" in data:
        content_type = headers.pop("Content-Type", "text/plain")
        mock.add(
            method,
            BASE + path,
            body=data["body_text"],
            status=data["status"],
            headers=headers,
            content_type=content_type,
            **kwargs,
        )
        return
    mock.add(
        method, BASE + path, json=data["body"], status=data["status"], headers=headers, **kwargs
    )


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def connected(http: responses.RequestsMock) -> MastodonNetwork:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    network = MastodonNetwork()
    network.connect(CREDS)
    return network


def form(request: Any) -> dict[str, list[str]]:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode()
    return parse_qs(body or "")


# -- connecting --------------------------------------------------------------------------------


def test_connect_reads_the_account(http: responses.RequestsMock) -> None:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    answer(http, "GET", "/api/v2/instance", "instance_v2.json")
    account = MastodonNetwork().connect(
        Credentials({"instance_url": "mastodon.example/", "access_token": TOKEN})
    )
    assert account.account_id == "109876"
    # The handle is @acct@domain with the instance's own domain (served at mastodon.example,
    # its accounts are @...@example.com), not the address's host.
    assert account.handle == "@porte_voix@example.com"
    assert account.display_name == "Porte-voix"
    assert http.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    # No version probe (mastodon_version is explicit): the account, then the instance.
    assert [urlsplit(c.request.url).path for c in http.calls] == [
        "/api/v1/accounts/verify_credentials",
        "/api/v2/instance",
    ]


def test_revoked_token_is_auth_expired(http: responses.RequestsMock) -> None:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "error_401.json")
    with pytest.raises(AuthExpired) as caught:
        MastodonNetwork().connect(CREDS)
    assert "reconnect" in caught.value.message
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["", "not a url at all", "ftp://mastodon.example", "https://mastodon.example/about"]
)
def test_wrong_instance_address_is_refused_before_any_request(
    http: responses.RequestsMock, url: str
) -> None:
    with pytest.raises(InvalidInput):
        MastodonNetwork().connect(Credentials({"instance_url": url, "access_token": TOKEN}))
    assert len(http.calls) == 0


def test_address_that_is_not_mastodon_is_not_found(http: responses.RequestsMock) -> None:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "error_404.json")
    with pytest.raises(NotFound) as caught:
        MastodonNetwork().connect(CREDS)
    assert "instance address" in caught.value.message


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", "<!DOCTYPE html><html><body>Welcome to nginx!</body></html>"),
        ("application/json", '{"id": "1", "username": '),
    ],
)
def test_html_or_broken_json_is_a_clear_permanent_error(
    http: responses.RequestsMock, content_type: str, body: str
) -> None:
    http.add(
        "GET", BASE + "/api/v1/accounts/verify_credentials", body=body, content_type=content_type
    )
    with pytest.raises(Permanent) as caught:
        MastodonNetwork().connect(CREDS)
    assert "not Mastodon's API" in caught.value.message


def test_unreachable_instance_is_transient(http: responses.RequestsMock) -> None:
    http.add(
        "GET",
        BASE + "/api/v1/accounts/verify_credentials",
        body=requests.ConnectionError("Name or service not known"),
    )
    with pytest.raises(Transient) as caught:
        MastodonNetwork().connect(CREDS)
    assert "address" in caught.value.message


# -- publishing --------------------------------------------------------------------------------


def test_publish_sends_idempotency_key_and_options(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "POST", "/api/v2/media", "media_created.json")
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    post = OutgoingPost(
        "Nouveau !",
        media=(MediaItem(PNG_1PX, "image/png", alt_text="Un pixel transparent", filename="p.png"),),
        content_warning="Spoiler",
        visibility=Visibility.UNLISTED,
        language="fr",
    )
    ref = connected.publish(post, idempotency_key="post-42:channel-7")
    assert ref.post_id == "103254962155278888"
    assert ref.published_at == datetime(2019, 12, 5, 11, 34, 47, 196000, tzinfo=UTC)
    status_call = next(c for c in http.calls if c.request.url.endswith("/api/v1/statuses"))
    assert status_call.request.headers["Idempotency-Key"] == idempotency_header(
        "post-42:channel-7", 0
    )
    sent = form(status_call.request)
    assert sent["status"] == ["Nouveau !"]
    assert sent["visibility"] == ["unlisted"]
    assert sent["spoiler_text"] == ["Spoiler"]
    assert (
        sent["sensitive"] == ["1"] or sent["sensitive"] == ["True"] or sent["sensitive"] == ["true"]
    )
    assert sent["language"] == ["fr"]
    assert sent["media_ids[]"] == ["22348641"]
    media_call = next(c for c in http.calls if c.request.url.endswith("/api/v2/media"))
    assert b"Un pixel transparent" in media_call.request.body


def test_idempotency_key_is_stable_private_and_per_part() -> None:
    key = idempotency_header("post-42:channel-7", 0)
    assert key == idempotency_header("post-42:channel-7", 0)
    assert key != idempotency_header("post-42:channel-7", 1)
    assert key != idempotency_header("post-43:channel-7", 0)
    assert "post-42" not in key


def test_thread_chains_replies_with_one_key_per_part(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    answer(http, "POST", "/api/v1/statuses", "status_created_part2.json")
    ref = connected.publish(
        OutgoingPost("Un fil", thread=(ThreadPart("la suite"),)), idempotency_key="k"
    )
    assert ref.all_post_ids == ("103254962155278888", "103254962155278999")
    posts = [c for c in http.calls if c.request.url.endswith("/api/v1/statuses")]
    assert [c.request.headers["Idempotency-Key"] for c in posts] == [
        idempotency_header("k", 0),
        idempotency_header("k", 1),
    ]
    assert "in_reply_to_id" not in form(posts[0].request)
    assert form(posts[1].request)["in_reply_to_id"] == ["103254962155278888"]


def test_non_mastodon_server_media_upload_does_not_recurse(http: responses.RequestsMock) -> None:
    """Mastodon.py probes the version when none is given; we always give one."""
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    answer(http, "GET", "/api/v1/instance", "instance_pleroma.json")
    answer(http, "GET", "/api/v1/instance/", "instance_pleroma.json")
    answer(http, "POST", "/api/v2/media", "media_created.json")
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    network = MastodonNetwork()
    network.connect(CREDS)
    connected = len(http.calls)
    media = (MediaItem(PNG_1PX, "image/png", alt_text="x", filename="x.png"),)
    network.publish(OutgoingPost("img", media=media), idempotency_key="k")
    urls = [c.request.url for c in http.calls[connected:]]
    assert not any("/instance" in u for u in urls)
    assert sum("/api/v2/media" in u for u in urls) == 1


def test_validation_error_is_invalid_input_with_the_server_message(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "POST", "/api/v1/statuses", "error_422.json")
    with pytest.raises(InvalidInput) as caught:
        connected.publish(OutgoingPost("x"), idempotency_key="k")
    assert "Text can't be blank" in caught.value.message


def test_image_too_large_fails_before_any_request(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    before = len(http.calls)
    big = MediaItem(b"\0" * (16 * 1024 * 1024 + 1), "image/png", alt_text="big", filename="big.png")
    with pytest.raises(InvalidInput) as caught:
        connected.publish(OutgoingPost("lourd", media=(big,)), idempotency_key="k")
    assert "big.png" in caught.value.message and "MB" in caught.value.message
    assert len(http.calls) == before


def test_rate_limit_reads_the_reset_header(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "POST", "/api/v1/statuses", "error_429.json")
    with pytest.raises(RateLimited) as caught:
        connected.publish(OutgoingPost("vite"), idempotency_key="k")
    assert caught.value.reset_at == datetime(2026, 11, 22, 3, 5, tzinfo=UTC)
    assert caught.value.retryable


def test_server_error_on_publish_is_outcome_unknown(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "POST", "/api/v1/statuses", "error_500.json")
    with pytest.raises(OutcomeUnknown):
        connected.publish(OutgoingPost("peut-être"), idempotency_key="k")


def test_server_error_on_read_is_transient(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "GET", "/api/v1/statuses/1/context", "error_500.json")
    with pytest.raises(Transient):
        connected.fetch_replies("1")


def test_timeout_after_sending_is_outcome_unknown(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    http.add(
        "POST",
        BASE + "/api/v1/statuses",
        body=requests.ReadTimeout("Read timed out. (read timeout=30)"),
    )
    with pytest.raises(OutcomeUnknown) as caught:
        connected.publish(OutgoingPost("perdu ?"), idempotency_key="k")
    assert "may exist" in caught.value.message


def test_connection_refused_on_publish_is_transient(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    http.add("POST", BASE + "/api/v1/statuses", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(Transient):
        connected.publish(OutgoingPost("pas parti"), idempotency_key="k")


def test_html_answer_to_publish_is_outcome_unknown(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    http.add(
        "POST",
        BASE + "/api/v1/statuses",
        body="<html>502 Bad Gateway</html>",
        content_type="text/html",
    )
    with pytest.raises(OutcomeUnknown):
        connected.publish(OutgoingPost("?"), idempotency_key="k")


# -- reconcile: see test_mastodon_reconcile.py ------------------------------------------------


# -- inbound -----------------------------------------------------------------------------------


def test_notifications_and_conversations_become_inbound_items(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "GET", "/api/v1/notifications", "notifications.json")
    answer(http, "GET", "/api/v1/conversations/", "conversations.json")
    batch = connected.fetch_inbound(None)
    kinds = {item.message_id: item for item in batch.items}
    assert set(kinds) == {"103186126728896492", "103186046024791841", "103186000000000001"}
    reply = kinds["103186126728896492"]
    assert reply.kind is InboundKind.COMMENT
    assert reply.in_reply_to == "103254962155278888"
    assert reply.text == "@porte_voix Ma commande n'est pas arrivée"
    assert reply.author.handle == "Gargron"
    assert reply.created_at == datetime(2019, 11, 23, 7, 49, 1, 940000, tzinfo=UTC)
    assert kinds["103186046024791841"].kind is InboundKind.MENTION
    dm = kinds["103186000000000001"]
    assert dm.kind is InboundKind.DM
    assert dm.thread_id == "418450"
    assert [i.created_at for i in batch.items] == sorted(i.created_at for i in batch.items)
    cursor = json.loads(batch.next_cursor or "{}")
    assert cursor == {"n": "34975861", "c": "103186000000000001"}


def test_cursor_is_passed_back_as_min_id(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    http.add("GET", BASE + "/api/v1/notifications", json=[])
    http.add("GET", BASE + "/api/v1/conversations/", json=[])
    batch = connected.fetch_inbound(json.dumps({"n": "34975861", "c": "103186000000000001"}))
    assert batch.items == ()
    query = parse_qs(urlsplit(http.calls[-2].request.url).query)
    assert query["min_id"] == ["34975861"]
    assert json.loads(batch.next_cursor or "{}") == {"n": "34975861", "c": "103186000000000001"}


def test_replies_come_from_the_context_without_our_own(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "GET", "/api/v1/statuses/103254962155278888/context", "context.json")
    batch = connected.fetch_replies("103254962155278888")
    assert [i.message_id for i in batch.items] == ["103188938570975982"]
    assert batch.items[0].text == "@porte_voix Et en noir ?"


def test_private_reply_is_a_direct_mention(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "GET", "/api/v1/statuses/1", "status_get.json")
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    connected.reply(
        "1", "Écrivez-nous votre numéro de commande.", idempotency_key="r1", private=True
    )
    sent = form(http.calls[-1].request)
    assert sent["visibility"] == ["direct"]
    assert sent["status"] == ["@Gargron Écrivez-nous votre numéro de commande."]
    assert sent["in_reply_to_id"] == ["1"]


def test_metrics_from_the_status(http: responses.RequestsMock, connected: MastodonNetwork) -> None:
    answer(http, "GET", "/api/v1/statuses/1", "status_get.json")
    answer(http, "GET", "/api/v1/statuses/2", "error_404.json")
    from portevoix.networks.types import PublishedRef

    snaps = connected.metrics([PublishedRef("mastodon", "1"), PublishedRef("mastodon", "2")])
    assert len(snaps) == 1
    snap = snaps[0]
    assert (snap.likes, snap.reposts, snap.replies, snap.views) == (112, 98, 7, None)


# -- OAuth -------------------------------------------------------------------------------------


def test_oauth_flow_registers_authorises_and_trades_the_code(http: responses.RequestsMock) -> None:
    answer(http, "POST", "/api/v1/apps", "app_created.json")
    answer(http, "GET", "/.well-known/oauth-authorization-server", "oauth_server_metadata.json")
    answer(http, "POST", "/oauth/token", "oauth_token.json")
    redirect = "https://porte-voix.example/channels/mastodon/callback"
    request = MastodonNetwork.begin_authorization("mastodon.example", redirect, state="st4te")
    assert isinstance(request, AuthorizationRequest)
    url = urlsplit(request.url)
    assert url.netloc == "mastodon.example" and url.path == "/oauth/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == ["TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM"]
    assert query["state"] == ["st4te"]
    assert query["redirect_uri"] == [redirect]
    assert "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw" not in repr(request)
    credentials = MastodonNetwork.complete_authorization(request, "the-code")
    assert credentials.get("access_token") == "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
    assert credentials.get("instance_url") == "https://mastodon.example"
    assert "ZA-Yj3aBD8U8Cm7lKUp" not in repr(credentials)
    token_form = form(http.calls[-1].request)
    assert token_form["code"] == ["the-code"]
    assert token_form["grant_type"] == ["authorization_code"]


def test_oauth_on_a_wrong_address_is_a_typed_error(http: responses.RequestsMock) -> None:
    http.add(
        "POST",
        BASE + "/api/v1/apps",
        body="<html>nope</html>",
        status=404,
        content_type="text/html",
    )
    with pytest.raises(NotFound):
        MastodonNetwork.begin_authorization(BASE, "https://x.example/cb", state="s")


# -- compose -----------------------------------------------------------------------------------


def test_text_length_counts_links_as_23_and_mentions_without_domain() -> None:
    network = MastodonNetwork()
    assert (
        network.text_length("a https://example.com/a/very/long/path/that/goes/on/and/on") == 2 + 23
    )
    assert network.text_length("@alice@mastodon.social hi") == len("@alice hi")
    assert network.validate(OutgoingPost("x" * 480 + " https://example.com/" + "y" * 100)) != []
    assert network.validate(OutgoingPost("x" * 470 + " https://example.com/" + "y" * 100)) == []


def test_video_with_images_is_refused() -> None:
    media = (
        MediaItem(b"\0", "video/mp4", filename="v.mp4"),
        MediaItem(PNG_1PX, "image/png", alt_text="x", filename="p.png"),
    )
    assert MastodonNetwork().validate(OutgoingPost("x", media=media))


def test_plain_text_from_html() -> None:
    assert plain_text("<p>a &amp; b</p><p>c<br>d</p>") == "a & b c d"
    # Parsed, not stripped: a link's hidden spans read as the whole address.
    link = (
        '<p><a href="https://x.example/long/path"><span class="invisible">https://</span>'
        '<span class="ellipsis">x.example/lo</span><span class="invisible">ng/path</span></a>'
        " &lt;b&gt;</p>"
    )
    assert plain_text(link) == "https://x.example/long/path <b>"


def test_token_never_logged_even_at_debug(
    http: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    answer(http, "POST", "/api/v1/statuses", "error_401.json")
    network = MastodonNetwork()
    network.connect(CREDS)
    network.publish(OutgoingPost("a"), idempotency_key="k1")
    with pytest.raises(AuthExpired) as caught:
        network.publish(OutgoingPost("b"), idempotency_key="k2")
    texts = [r.getMessage() for r in caplog.records] + [
        str(caught.value),
        repr(network),
        repr(CREDS),
    ]
    assert caplog.records
    assert all(TOKEN not in text for text in texts)


# -- the contract, on mastodon-mock ------------------------------------------------------------


class FaultAdapter(HTTPAdapter):
    """In front of the mock server: loses the next status answer, or answers 429 once."""

    def __init__(self) -> None:
        super().__init__()
        self.lose_next_status = False
        self.rate_limit_next = False

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if self.rate_limit_next:
            self.rate_limit_next = False
            data = load("error_429.json")
            response = requests.Response()
            response.status_code = 429
            response.headers.update(data["headers"])
            response.headers["Content-Type"] = "application/json"
            response._content = json.dumps(data["body"]).encode()
            response.url = request.url or ""
            response.request = request
            return response
        response = super().send(request, *args, **kwargs)
        if (
            self.lose_next_status
            and request.method == "POST"
            and (request.url or "").endswith("/api/v1/statuses")
        ):
            self.lose_next_status = False
            raise requests.ReadTimeout("Read timed out. (answer lost on purpose)", request=request)
        return response


@pytest.fixture(scope="module")
def mock_server() -> Iterator[Any]:
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


class TestMastodonContract(NetworkContract):
    @pytest.fixture
    def contract(self, mock_server: Any) -> ContractSetup:
        adapter = FaultAdapter()
        good = Credentials({"instance_url": mock_server.base_url, "access_token": "alice_token"})
        bad = Credentials(
            {"instance_url": mock_server.base_url, "access_token": "revoked-token-123"}
        )

        def make_network(**kwargs: Any) -> MastodonNetwork:
            session = requests.Session()
            session.mount("http://", adapter)
            return MastodonNetwork(session=session, **kwargs)

        bob = Mastodon(
            access_token="bob_token",
            api_base_url=mock_server.base_url,
            mastodon_version="4.3.0",
            version_check_mode="none",
        )

        def add_comment(ref: Any, text: str) -> None:
            bob.status_post(f"@alice {text}", in_reply_to_id=ref.post_id)

        @contextlib.contextmanager
        def lose_next_answer(network: Any) -> Iterator[None]:
            adapter.lose_next_status = True
            try:
                yield
            finally:
                adapter.lose_next_status = False

        @contextlib.contextmanager
        def rate_limit_next(network: Any) -> Iterator[None]:
            adapter.rate_limit_next = True
            try:
                yield
            finally:
                adapter.rate_limit_next = False

        def eventually(probe: Any) -> Any:
            result = probe()
            assert result
            return result

        return ContractSetup(
            make_network=make_network,
            credentials=good,
            bad_credentials=bad,
            secrets=("alice_token", "revoked-token-123"),
            add_comment=add_comment,
            lose_next_answer=lose_next_answer,
            rate_limit_next=rate_limit_next,
            eventually=eventually,
        )


def test_mock_server_honours_the_idempotency_key(mock_server: Any) -> None:
    network = MastodonNetwork()
    network.connect(
        Credentials({"instance_url": mock_server.base_url, "access_token": "alice_token"})
    )
    key = f"k-{uuid.uuid4().hex}"
    post = OutgoingPost(f"une fois {key}")
    first = network.publish(post, idempotency_key=key)
    assert network.publish(post, idempotency_key=key).post_id == first.post_id
    # Same text, another key: a second post, on purpose (no text-based dedup on publish).
    assert network.publish(post, idempotency_key=key + "-2").post_id != first.post_id


def test_rate_limit_headers_are_honoured_before_the_429(http: responses.RequestsMock) -> None:
    """X-RateLimit-Remaining: 0 on an answer: the next call waits for the reset, unsent."""
    data = load("verify_credentials.json")
    reset = "2999-01-01T00:00:00.000Z"
    http.add(
        "GET",
        BASE + "/api/v1/accounts/verify_credentials",
        json=data["body"],
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
        },
    )
    answer(http, "POST", "/api/v2/media", "media_created.json")
    network = MastodonNetwork()
    network.connect(CREDS)
    sent = len(http.calls)
    with pytest.raises(RateLimited) as caught:
        network.publish(OutgoingPost("attendre"), idempotency_key="k")
    assert caught.value.code == "budget"
    assert caught.value.reset_at == datetime(2999, 1, 1, tzinfo=UTC)
    assert len(http.calls) == sent


def test_media_uploads_have_their_own_budget(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    media = load("media_created.json")
    http.add(
        "POST",
        BASE + "/api/v2/media",
        json=media["body"],
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2999-01-01T00:00:00.000Z"},
    )
    answer(http, "POST", "/api/v1/statuses", "status_created.json")
    image = (MediaItem(PNG_1PX, "image/png", alt_text="x", filename="x.png"),)
    connected.publish(OutgoingPost("une image", media=image), idempotency_key="k1")
    connected.publish(OutgoingPost("du texte seul"), idempotency_key="k2")  # still fine
    with pytest.raises(RateLimited):
        connected.publish(OutgoingPost("une autre image", media=image), idempotency_key="k3")


# -- account metrics ----------------------------------------------------------------------------


def test_account_metrics_reads_the_followers(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials.json")
    since = datetime.now(UTC) - timedelta(hours=6)
    figures = connected.account_metrics(since)
    assert (figures.followers, figures.profile_visits, figures.since) == (1200, None, since)
    assert connected.offered_account_metrics() == {AccountMetric.FOLLOWERS}


def test_account_metrics_with_a_revoked_token_asks_for_a_reconnect(
    http: responses.RequestsMock, connected: MastodonNetwork
) -> None:
    answer(http, "GET", "/api/v1/accounts/verify_credentials", "error_401.json")
    with pytest.raises(AuthExpired):
        connected.account_metrics(datetime.now(UTC) - timedelta(hours=6))
