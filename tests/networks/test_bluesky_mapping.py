"""Bluesky error mapping for answers the reference servers will not give on demand.

A real PDS does not answer a write with an HTML page or a 500; an ``httpx.MockTransport``
does. Everything else about Bluesky is tested against the real servers (test_bluesky.py).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import httpx
import pytest

from portevoix.networks.bluesky import BlueskyNetwork, record_key
from portevoix.networks.errors import (
    AuthExpired,
    InvalidInput,
    OutcomeUnknown,
    RateLimited,
    Transient,
)
from portevoix.networks.types import Credentials, OutgoingPost

PDS = "https://pds.example"
DID = "did:plc:brand000000000000000000"


def _jwt(payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(payload)}.c2lnbmF0dXJl"


ACCESS = _jwt({"scope": "com.atproto.appPass", "sub": DID, "exp": int(time.time()) + 3600})
REFRESH = _jwt({"scope": "com.atproto.refresh", "sub": DID, "exp": int(time.time()) + 86400})
SESSION = ":::".join(["brand.test", DID, ACCESS, REFRESH, PDS])
CREDS = Credentials({"pds_url": PDS, "session": SESSION})

Handler = Callable[[httpx.Request], httpx.Response]


def xrpc_json(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or {})


def network_with(write: Handler) -> BlueskyNetwork:
    """A connected network whose putRecord goes to ``write``; the rest answers normally."""

    def handler(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "com.atproto.server.getSession":
            return xrpc_json(200, {"did": DID, "handle": "brand.test"})
        if method == "app.bsky.actor.getProfile":
            return xrpc_json(502, {"error": "UpstreamFailure", "message": "no app view"})
        if method == "com.atproto.repo.getRecord":
            return xrpc_json(400, {"error": "RecordNotFound", "message": "Could not locate record"})
        if method == "com.atproto.repo.putRecord":
            return write(request)
        return xrpc_json(501, {"error": "MethodNotImplemented"})

    network = BlueskyNetwork(transport=httpx.MockTransport(handler))
    network.connect(CREDS)
    return network


def test_connect_with_a_session_asks_the_server() -> None:
    network = network_with(lambda r: xrpc_json(200, {}))
    assert network.account.account_id == DID
    assert network.account.handle == "brand.test"


def test_the_record_key_goes_in_put_record() -> None:
    seen: list[dict[str, object]] = []

    def write(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        uri = f"at://{DID}/app.bsky.feed.post/{seen[-1]['rkey']}"
        return xrpc_json(200, {"uri": uri, "cid": "bafyreib2rxk3rh6kzwq"})

    ref = network_with(write).publish(OutgoingPost("Bonjour"), idempotency_key="post-1:chan-2")
    assert seen[0]["rkey"] == record_key("post-1:chan-2", 0)
    assert seen[0]["collection"] == "app.bsky.feed.post"
    assert ref.post_id.endswith(record_key("post-1:chan-2", 0))
    assert ref.extra["cid"] == "bafyreib2rxk3rh6kzwq"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (
            lambda r: httpx.Response(
                200, text="<html>maintenance</html>", headers={"content-type": "text/html"}
            ),
            OutcomeUnknown,
        ),
        (
            lambda r: httpx.Response(
                200, text='{"uri": ', headers={"content-type": "application/json"}
            ),
            OutcomeUnknown,
        ),
        (lambda r: xrpc_json(500, {"error": "InternalServerError"}), OutcomeUnknown),
        (lambda r: xrpc_json(502, {"error": "UpstreamFailure"}), OutcomeUnknown),
        (lambda r: xrpc_json(413, {"error": "PayloadTooLarge"}), InvalidInput),
        (
            lambda r: xrpc_json(
                400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"}
            ),
            InvalidInput,
        ),
        (
            lambda r: xrpc_json(400, {"error": "ExpiredToken", "message": "Token has expired"}),
            AuthExpired,
        ),
        (lambda r: xrpc_json(401, {"error": "AuthenticationRequired"}), AuthExpired),
        (
            lambda r: xrpc_json(
                429,
                {"error": "RateLimitExceeded"},
                {
                    "ratelimit-limit": "5000",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(int(time.time()) + 600),
                },
            ),
            RateLimited,
        ),
    ],
)
def test_write_failures_are_typed(answer: Handler, error: type[Exception]) -> None:
    network = network_with(answer)
    with pytest.raises(error) as caught:
        network.publish(OutgoingPost("Bonjour"), idempotency_key="k")
    assert ACCESS not in str(caught.value) and REFRESH not in str(caught.value)
    if isinstance(caught.value, RateLimited):
        assert caught.value.reset_at is not None and caught.value.reset_at.tzinfo is not None


def test_timeout_before_connecting_is_transient_after_sending_outcome_unknown() -> None:
    def connect_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("connect timed out", request=request)

    def read_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    with pytest.raises(Transient):
        network_with(connect_timeout).publish(OutgoingPost("a"), idempotency_key="k")
    with pytest.raises(OutcomeUnknown):
        network_with(read_timeout).publish(OutgoingPost("a"), idempotency_key="k")


def test_a_session_without_password_that_the_server_refuses_is_auth_expired() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return xrpc_json(400, {"error": "InvalidToken", "message": "Token could not be verified"})

    with pytest.raises(AuthExpired) as caught:
        BlueskyNetwork(transport=httpx.MockTransport(handler)).connect(CREDS)
    assert "reconnect" in caught.value.message
