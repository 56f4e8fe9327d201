"""HTTP helpers shared by the network modules (no Django, no SDK).

``RateBudget`` honours a network's rate-limit headers *before* it answers 429: when the last
answer for a bucket said nothing remains until a reset time, the next call to that bucket
raises ``RateLimited(reset_at)`` without being sent. Which headers and which buckets is the
module's business (Bluesky: ``RateLimit-*`` per XRPC method; Mastodon: ``X-RateLimit-*``, with
media uploads counted apart).

``AddressGuard`` keeps the network modules from being turned against the machine they run on
(server-side request forgery): a user types an instance or server address, and Porte-voix
connects to it. Every connection goes through the guard, which resolves the host name once,
refuses it when any of its addresses is loopback, private, link-local, multicast or otherwise
not public (also when hidden in an IPv6 form: IPv4-mapped, 6to4, NAT64, Teredo), and connects
to the very address it checked. The answer is kept (*pinned*) for the life of the client, so a
name that answers a public address first and a private one next (DNS rebinding) keeps going to
the first. Every way a connection can fail (refused address, unknown name, closed port) gives
the same error text, so the error cannot be used to scan ports. ``GuardedAdapter`` plugs it
into ``requests`` (Mastodon.py), ``GuardedTransport`` into ``httpx`` (the atproto SDK).

Private addresses are allowed when :func:`allow_private_networks` says so (the Django side sets
it from ``PORTEVOIX_ALLOW_PRIVATE_NETWORKS``: true in embedded mode, for the local Bluesky
servers and private deployments; false in production) or when a guard is built with
``allow_private=``. The default, for plain Python use, is to refuse them.

Outgoing proxies (``HTTPS_PROXY``) resolve names themselves: behind one, the proxy is the place
to enforce the same rule.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncStream  # httpcore's own socket stream (no public alias)
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import RateLimited


def parse_reset(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """A reset time from a header: epoch seconds, ISO 8601, or an HTTP date; aware UTC."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        number = int(value)
        # Some servers send seconds from now (Retry-After style) rather than an epoch.
        if number < 1_000_000_000:
            return (now or datetime.now(UTC)) + timedelta(seconds=number)
        return datetime.fromtimestamp(number, UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class RateBudget:
    """What is left of each rate-limit bucket, as the network's last answer told it."""

    def __init__(self, network: str, label: str) -> None:
        self.network = network
        self.label = label
        self._lock = threading.Lock()
        self._exhausted: dict[str, datetime] = {}

    def record(
        self, bucket: str, headers: Mapping[str, str], *, remaining: str, reset: str
    ) -> None:
        """Read ``remaining`` and ``reset`` header names (lower case) from an answer."""
        left = headers.get(remaining)
        reset_at = parse_reset(headers.get(reset))
        with self._lock:
            if left is not None and left.strip().isdigit() and int(left) <= 0 and reset_at:
                self._exhausted[bucket] = reset_at
            elif left is not None:
                self._exhausted.pop(bucket, None)

    def check(self, bucket: str, *, now: datetime | None = None) -> None:
        """Raise ``RateLimited`` if ``bucket`` is known to be empty until a future reset."""
        moment = now or datetime.now(UTC)
        with self._lock:
            reset_at = self._exhausted.get(bucket)
            if reset_at is None:
                return
            if reset_at <= moment:
                del self._exhausted[bucket]
                return
        raise RateLimited(
            f"{self.label}'s rate limit is used up until {reset_at:%H:%M} UTC; waiting for it.",
            reset_at=reset_at,
            network=self.network,
            code="budget",
        )


# -- address guard ------------------------------------------------------------------------------

#: The one text of every connection failure through the guard (no port scanning through it).
UNREACHABLE = "Could not connect to the server at this address."

_allow_private = False

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
Resolver = Callable[[str, int], Sequence[str]]
Connector = Callable[[tuple[str, int], float | None, tuple[str, int] | None], socket.socket]
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def allow_private_networks(allowed: bool) -> None:
    """Set, for this process, whether guards built without ``allow_private`` allow them."""
    global _allow_private
    _allow_private = bool(allowed)


def private_networks_allowed() -> bool:
    return _allow_private


class AddressRefused(OSError):
    """A connection the guard did not make; its text never says why (``UNREACHABLE``)."""

    def __init__(self) -> None:
        super().__init__(UNREACHABLE)


def is_public_address(address: str) -> bool:
    """Whether ``address`` (an IP literal) is a public unicast address, all its forms included."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip.teredo is not None:
            candidates.extend(ip.teredo)
        if ip in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(c.is_global and not c.is_multicast for c in candidates)


def _getaddrinfo(host: str, port: int) -> list[str]:
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def _create_connection(
    address: tuple[str, int], timeout: float | None, source: tuple[str, int] | None
) -> socket.socket:
    return socket.create_connection(address, timeout, source_address=source)


class AddressGuard:
    """Resolves, checks and pins the addresses one client connects to.

    ``resolver(host, port)`` returns IP literals (default: ``getaddrinfo``); ``connector``
    opens a TCP socket to one of them (default: ``socket.create_connection``). Both are
    arguments for tests. ``allow_private=None`` follows :func:`allow_private_networks`.
    """

    def __init__(
        self,
        *,
        allow_private: bool | None = None,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver or _getaddrinfo
        self._connector = connector or _create_connection
        self._pinned: dict[tuple[str, int], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    @property
    def allow_private(self) -> bool:
        return _allow_private if self._allow_private is None else self._allow_private

    def addresses(self, host: str, port: int) -> tuple[str, ...]:
        """The checked addresses of ``host``: resolved the first time, the same ever after."""
        key = (host.strip("[]").lower(), port)
        with self._lock:
            pinned = self._pinned.get(key)
        if pinned is None:
            try:
                found = tuple(self._resolve(key[0], port))
            except (OSError, UnicodeError, ValueError):
                raise AddressRefused() from None
            if not found:
                raise AddressRefused()
            with self._lock:
                pinned = self._pinned.setdefault(key, found)
        if not self.allow_private and not all(is_public_address(a) for a in pinned):
            raise AddressRefused()
        return pinned

    def open(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
        socket_options: Iterable[tuple[Any, ...]] | None = None,
    ) -> socket.socket:
        """A TCP socket to one of ``host``'s checked addresses.

        Raises ``TimeoutError`` when the server does not answer in time, ``AddressRefused``
        for everything else (refused address, unknown name, closed port), always with
        ``UNREACHABLE`` as its text.
        """
        for address in self.addresses(host, port):
            try:
                sock = self._connector((address, port), timeout, source_address)
            except TimeoutError:
                raise
            except OSError:
                continue
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
            except OSError:
                sock.close()
                raise AddressRefused() from None
            return sock
        raise AddressRefused()


# -- requests (Mastodon.py) ---------------------------------------------------------------------


class _GuardedConnection(HTTPConnection):
    guard: AddressGuard

    def _new_conn(self) -> socket.socket:
        try:
            return self.guard.open(
                self._dns_host, self.port, self.timeout, self.source_address, self.socket_options
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(self, UNREACHABLE) from error
        except OSError as error:
            raise NewConnectionError(self, UNREACHABLE) from error


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


def _pool_classes(guard: AddressGuard) -> dict[str, type[HTTPConnectionPool]]:
    http_connection = type("GuardedHTTPConnection", (_GuardedConnection,), {"guard": guard})
    https_connection = type("GuardedHTTPSConnection", (_GuardedHTTPSConnection,), {"guard": guard})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_connection}),
        "https": type(
            "GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_connection}
        ),
    }


class GuardedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose connections go through an ``AddressGuard``."""

    def __init__(self, guard: AddressGuard | None = None, **kwargs: Any) -> None:
        self.guard = guard or AddressGuard()
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.guard)

    def __setstate__(self, state: dict[str, Any]) -> None:  # pragma: no cover - pickling
        super().__setstate__(state)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.guard)


def guarded_session(guard: AddressGuard | None = None) -> Any:
    """A ``requests.Session`` whose http and https connections go through ``guard``."""
    import requests

    session = requests.Session()
    adapter = GuardedAdapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- httpx (atproto) ----------------------------------------------------------------------------


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        source = None if local_address is None else (local_address, 0)
        try:
            sock = self.guard.open(host, port, timeout, source, socket_options)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(UNREACHABLE) from error
        except OSError as error:
            raise httpcore.ConnectError(UNREACHABLE) from error
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SyncStream(sock)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError(UNREACHABLE)

    def sleep(self, seconds: float) -> None:
        httpcore.SyncBackend().sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An ``httpx`` transport whose connections go through an ``AddressGuard``."""

    def __init__(self, guard: AddressGuard | None = None, *, verify: bool = True) -> None:
        super().__init__(verify=verify)
        self.guard = guard or AddressGuard()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(self.guard),
        )


__all__ = [
    "UNREACHABLE",
    "AddressGuard",
    "AddressRefused",
    "GuardedAdapter",
    "GuardedTransport",
    "RateBudget",
    "allow_private_networks",
    "guarded_session",
    "is_public_address",
    "parse_reset",
    "private_networks_allowed",
]
