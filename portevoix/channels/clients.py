"""Connected network clients, kept per process and reused: one network call per post.

Connecting (``Network.connect``) asks the network who the credentials belong to; doing that
before every post doubled the calls, and Bluesky limits session creation to 30 per five
minutes. A worker therefore *resumes* a client from what the channel row already knows
(credentials and account) without a call, keeps it, and lets the network's own answer tell when
the token is refused (``AuthExpired``). The channel's periodic sync proves the token on a
schedule.

A client is used by one thread at a time: :func:`checkout` lends an idle client of the channel
or makes one, and takes it back afterwards. Clients are keyed by the channel and by its
encrypted credentials, so a reconnect (new credentials) never reuses a client of the old ones.
A client whose call raised ``AuthExpired`` is closed instead of returned.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from portevoix.networks.base import Network
from portevoix.networks.errors import AuthExpired

if TYPE_CHECKING:
    from portevoix.channels.models import Channel

#: Idle clients kept per process, least recently used dropped first.
MAX_IDLE = 2000

_lock = threading.Lock()
_idle: OrderedDict[tuple[int, str], list[Network]] = OrderedDict()
_idle_count = 0


def _key(channel: Channel) -> tuple[int, str]:
    digest = hashlib.blake2b(channel.credentials_encrypted.encode(), digest_size=12).hexdigest()
    return (channel.pk, digest)


def _take(key: tuple[int, str]) -> Network | None:
    global _idle_count
    with _lock:
        pool = _idle.get(key)
        if not pool:
            return None
        client = pool.pop()
        _idle_count -= 1
        if not pool:
            del _idle[key]
        return client


def _give_back(key: tuple[int, str], client: Network) -> None:
    global _idle_count
    dropped: list[Network] = []
    with _lock:
        _idle.setdefault(key, []).append(client)
        _idle.move_to_end(key)
        _idle_count += 1
        while _idle_count > MAX_IDLE and _idle:
            _, old = _idle.popitem(last=False)
            _idle_count -= len(old)
            dropped.extend(old)
    for old_client in dropped:
        _close(old_client)


def _close(client: Network) -> None:
    with contextlib.suppress(Exception):
        client.close()


def forget(channel: Channel | int) -> None:
    """Drop every idle client of a channel (after a reconnect or a disconnect)."""
    global _idle_count
    pk = channel if isinstance(channel, int) else channel.pk
    dropped: list[Network] = []
    with _lock:
        for key in [k for k in _idle if k[0] == pk]:
            clients = _idle.pop(key)
            _idle_count -= len(clients)
            dropped.extend(clients)
    for client in dropped:
        _close(client)


def clear() -> None:
    """Drop every idle client (tests, and a worker that stops)."""
    global _idle_count
    with _lock:
        dropped = [c for clients in _idle.values() for c in clients]
        _idle.clear()
        _idle_count = 0
    for client in dropped:
        _close(client)


def idle_count() -> int:
    return _idle_count


@contextlib.contextmanager
def checkout(channel: Channel) -> Iterator[Network]:
    """A client bound to ``channel``'s account, for this thread only while the block runs."""
    key = _key(channel)
    client = _take(key)
    if client is None:
        client = channel.client(verify=False)
    try:
        yield client
    except AuthExpired:
        _close(client)
        raise
    except BaseException:
        # The client may be half-way through something (a broken connection): start afresh.
        _close(client)
        raise
    else:
        _give_back(key, client)
