"""Shared HTTP helpers: reset times from headers and the rate budget."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import requests

from portevoix.networks import http as guard_module
from portevoix.networks.errors import RateLimited, Transient
from portevoix.networks.http import (
    UNREACHABLE,
    AddressGuard,
    AddressRefused,
    GuardedTransport,
    RateBudget,
    guarded_session,
    is_public_address,
    parse_reset,
)
from portevoix.networks.mastodon import MastodonNetwork
from portevoix.networks.types import Credentials

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1795348800", datetime.fromtimestamp(1795348800, UTC)),  # epoch (Bluesky)
        ("2026-11-22T12:05:00.000Z", NOW + timedelta(minutes=5)),  # ISO 8601 (Mastodon)
        ("2026-11-22T13:05:00+01:00", NOW + timedelta(minutes=5)),
        ("Sun, 22 Nov 2026 12:05:00 GMT", NOW + timedelta(minutes=5)),  # HTTP date
        ("120", NOW + timedelta(seconds=120)),  # seconds from now
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_parse_reset(value: str | None, expected: datetime | None) -> None:
    assert parse_reset(value, now=NOW) == expected


def test_budget_refuses_until_the_reset_then_forgets() -> None:
    budget = RateBudget("bluesky", "Bluesky")
    headers = {"ratelimit-remaining": "0", "ratelimit-reset": "2026-11-22T12:05:00Z"}
    budget.record(
        "com.atproto.repo.putRecord",
        headers,
        remaining="ratelimit-remaining",
        reset="ratelimit-reset",
    )
    budget.check("com.atproto.repo.getRecord", now=NOW)  # another bucket: fine
    with pytest.raises(RateLimited) as caught:
        budget.check("com.atproto.repo.putRecord", now=NOW)
    assert caught.value.reset_at == NOW + timedelta(minutes=5)
    assert "12:05 UTC" in caught.value.message
    budget.check("com.atproto.repo.putRecord", now=NOW + timedelta(minutes=6))
    budget.check("com.atproto.repo.putRecord", now=NOW)  # forgotten once past


def test_budget_clears_when_the_network_says_there_is_room() -> None:
    budget = RateBudget("mastodon", "Mastodon")
    keys = {"remaining": "x-ratelimit-remaining", "reset": "x-ratelimit-reset"}
    budget.record(
        "api", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2999-01-01T00:00:00Z"}, **keys
    )
    with pytest.raises(RateLimited):
        budget.check("api")
    budget.record(
        "api", {"x-ratelimit-remaining": "299", "x-ratelimit-reset": "2999-01-01T00:00:00Z"}, **keys
    )
    budget.check("api")
    budget.record("api", {}, **keys)  # no headers (mastodon-mock): nothing known, nothing refused
    budget.check("api")


# -- the address guard (no requests to loopback or private addresses in production) -------------

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fe80::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    "fe80::1%eth0",
]


@pytest.mark.parametrize("address", REFUSED)
def test_loopback_private_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


def _never(*args: object) -> socket.socket:
    raise AssertionError("no connection may be attempted to a refused address")


@pytest.mark.parametrize("address", REFUSED)
def test_production_refuses_them_without_connecting(address: str) -> None:
    guard = AddressGuard(allow_private=False, resolver=lambda h, p: [address], connector=_never)
    with pytest.raises(AddressRefused) as caught:
        guard.open("social.example", 443)
    assert str(caught.value) == UNREACHABLE


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    guard = AddressGuard(
        allow_private=False, resolver=lambda h, p: ["93.184.215.14", "10.0.0.7"], connector=_never
    )
    with pytest.raises(AddressRefused):
        guard.open("social.example", 443)


def test_the_answer_is_pinned_a_rebinding_dns_changes_nothing() -> None:
    """The name answers a public address first, a private one next: we keep the first."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"], ["10.0.0.1"]])
    resolved: list[str] = []
    connected: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return next(answers)

    def connector(address: tuple[str, int], timeout: object, source: object) -> socket.socket:
        connected.append(address)
        left, right = socket.socketpair()
        right.close()
        return left

    guard = AddressGuard(allow_private=False, resolver=resolver, connector=connector)
    for _ in range(3):
        guard.open("social.example", 443).close()
    assert resolved == ["social.example"]
    assert connected == [("93.184.215.14", 443)] * 3


def test_the_process_switch_decides_for_guards_built_without_a_choice() -> None:
    before = guard_module.private_networks_allowed()
    try:
        guard_module.allow_private_networks(False)
        guard = AddressGuard(resolver=lambda h, p: ["127.0.0.1"], connector=_never)
        with pytest.raises(AddressRefused):
            guard.addresses("social.example", 443)
        guard_module.allow_private_networks(True)
        assert guard.addresses("social.example", 443) == ("127.0.0.1",)
    finally:
        guard_module.allow_private_networks(before)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"id": "109876", "username": "porte_voix", "acct": "porte_voix"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_requests_through_the_guard_reach_loopback_only_when_allowed(loopback_server: int):
    url = f"http://social.example:{loopback_server}/api/v1/accounts/verify_credentials"
    allowed = guarded_session(AddressGuard(allow_private=True, resolver=_to_loopback))
    assert allowed.get(url, timeout=5).json()["id"] == "109876"
    refused = guarded_session(AddressGuard(allow_private=False, resolver=_to_loopback))
    with pytest.raises(requests.ConnectionError) as caught:
        refused.get(url, timeout=5)
    assert UNREACHABLE in str(caught.value)


def test_httpx_through_the_guard_reaches_loopback_only_when_allowed(loopback_server: int):
    url = f"http://social.example:{loopback_server}/xrpc/com.atproto.server.describeServer"
    allowed = GuardedTransport(AddressGuard(allow_private=True, resolver=_to_loopback))
    with httpx.Client(transport=allowed) as client:
        assert client.get(url).status_code == 200
    refused = GuardedTransport(AddressGuard(allow_private=False, resolver=_to_loopback))
    with httpx.Client(transport=refused) as client, pytest.raises(httpx.ConnectError) as caught:
        client.get(url)
    assert str(caught.value) == UNREACHABLE


def _mastodon_error(port: int, *, allow_private: bool) -> Transient:
    network = MastodonNetwork(
        guard=AddressGuard(allow_private=allow_private, resolver=_to_loopback), timeout=5
    )
    credentials = Credentials(
        {"instance_url": f"http://social.example:{port}", "access_token": "secret-token"}
    )
    with pytest.raises(Transient) as caught:
        network.connect(credentials)
    return caught.value


def test_a_closed_port_and_a_refused_address_give_the_same_error(loopback_server: int):
    """No port scanning through error texts: the same type, message and code."""
    closed = _mastodon_error(_closed_port(), allow_private=True)
    refused_open = _mastodon_error(loopback_server, allow_private=False)
    refused_closed = _mastodon_error(_closed_port(), allow_private=False)
    texts = {(type(e), e.message, e.code) for e in (closed, refused_open, refused_closed)}
    assert len(texts) == 1


def test_a_mastodon_instance_on_loopback_connects_when_allowed(loopback_server: int):
    network = MastodonNetwork(
        guard=AddressGuard(allow_private=True, resolver=_to_loopback), timeout=5
    )
    account = network.connect(
        Credentials(
            {
                "instance_url": f"http://social.example:{loopback_server}",
                "access_token": "secret-token",
            }
        )
    )
    assert account.account_id == "109876"
