"""A channel's periodic sync: what came in, the token's health, the server's limits.

The sync hands what came in to the functions registered with :func:`on_inbound` (the inbox
registers its ``ingest`` when the app is ready), so this package does not import the inbox.

A sync reads one page of the network's. When the page brought items and moved the cursor,
more may be waiting (a backlog after a quiet night, a burst, a first sync): the channel is due
again at once rather than after :data:`~portevoix.channels.models.SYNC_INTERVAL`, so the worker
drains the stream page after page (each page its own claim of the channel's row: one worker
at a time per channel, and other channels' syncs run beside it in other threads and
processes); the first page that brings nothing new goes back to the interval.

Failures show at once: a refused token moves the channel to ``needs_reconnect``; any other
failure keeps it ``active`` but sets ``sync_failing_since`` and ``problem`` (the network's own
reason) on the first failed attempt, and the sync is retried with back-off. The first sync
that works clears both.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from portevoix.channels import clients
from portevoix.channels.messages import network_problem
from portevoix.networks.base import Network
from portevoix.networks.errors import AuthExpired, NetworkError, RateLimited
from portevoix.networks.types import Capability, InboundItem
from portevoix.worker.models import Outcome
from portevoix.worker.runner import backoff_seconds

if TYPE_CHECKING:
    from portevoix.channels.models import Channel

log = logging.getLogger(__name__)

InboundHandler = Callable[["Channel", Sequence[InboundItem]], Any]
_handlers: list[InboundHandler] = []

#: How often the server's limits are read again (they rarely change).
LIMITS_EVERY = dt.timedelta(hours=24)
#: Ceiling of the back-off between failing syncs.
MAX_SYNC_BACKOFF = 1800.0


def on_inbound(handler: InboundHandler) -> InboundHandler:
    """Register ``handler(channel, items)``, called with every batch a sync fetched."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def deliver(channel: Channel, items: Sequence[InboundItem]) -> None:
    for handler in _handlers:
        handler(channel, items)


def refresh_limits(channel: Channel, network: Network) -> dict[str, Any]:
    """Read the server's limits; a failure keeps what is cached (this call is optional)."""
    now = timezone.now()
    try:
        limits = network.fetch_limits()
    except NetworkError as exc:
        log.info("channel %s: limits not read (%s); keeping the cached ones", channel.pk, exc)
        return {"limits_checked_at": now}
    return {"limits": limits.as_json(), "limits_checked_at": now}


def handle_active(channel: Channel) -> Outcome:
    """Periodic sync: fetch what came in since the cursor; a refused token shows here."""
    from portevoix.channels.models import SYNC_INTERVAL

    now = timezone.now()
    fields: dict[str, Any] = {"last_checked_at": now}
    more = False
    try:
        with clients.checkout(channel) as network:
            reads = {Capability.READ_COMMENTS, Capability.READ_MENTIONS}
            if reads & network.capabilities:
                batch = network.fetch_inbound(channel.sync_cursor or None)
                deliver(channel, batch.items)
                fields["sync_cursor"] = batch.next_cursor or channel.sync_cursor
                fields["last_sync_at"] = now
                more = bool(batch.items) and fields["sync_cursor"] != channel.sync_cursor
            else:
                network.verify()
            if channel.limits_checked_at is None or now - channel.limits_checked_at > LIMITS_EVERY:
                fields.update(refresh_limits(channel, network))
    except AuthExpired as exc:
        problem = network_problem(exc).dumps()
        return Outcome("needs_reconnect", fields={**fields, "problem": problem})
    except RateLimited as exc:
        return Outcome("active", at=exc.reset_at, fields=fields)
    except NetworkError as exc:
        # Shown at once, with the network's reason; retried with back-off, never silently.
        attempt = channel.attempts + 1
        delay = backoff_seconds(60.0, attempt, MAX_SYNC_BACKOFF)
        return Outcome(
            "active",
            delay=delay,
            retry=True,
            error=f"{type(exc).__name__} ({exc.network} {exc.code}): {exc.message}",
            fields={
                **fields,
                "sync_failing_since": channel.sync_failing_since or now,
                "problem": network_problem(exc).dumps(),
            },
        )
    fields.update(sync_failing_since=None, problem="")
    return Outcome("active", delay=0 if more else SYNC_INTERVAL, fields=fields)
