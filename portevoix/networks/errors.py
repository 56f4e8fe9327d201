"""Typed errors every network module raises, so the caller decides from the type alone.

The publisher's decision table:

==================  ==============================================================
error               what the caller does
==================  ==============================================================
``AuthExpired``     stop, mark the channel's token unhealthy, ask for a reconnect
``RateLimited``     retry after ``reset_at`` (the network's own reset time)
``Permanent``       fail at once and tell the author (``message`` is for them)
``Transient``       retry later with backoff: nothing was accepted
``OutcomeUnknown``  never retry blindly: call ``Network.reconcile`` first
``Unsupported``     a programming error: check ``capabilities`` before calling
``Ambiguous``       (``reconcile`` only) a person decides, from ``candidates``
==================  ==============================================================

Messages are written for a person (they end up in the author's notification) and never
contain a credential: modules build them from the network's error code, not from the
request.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import Candidate


class NetworkError(Exception):
    """Base of every error a network module raises."""

    #: Whether retrying the same call later can succeed without a person doing something.
    retryable: bool = False

    def __init__(self, message: str, *, network: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        #: Registry name of the network that raised it ("bluesky", "mastodon", ...).
        self.network = network
        #: The network's own error code or HTTP status, for logs and support; never a secret.
        self.code = code

    def __str__(self) -> str:
        return self.message


class AuthExpired(NetworkError):
    """The credentials were refused (revoked, expired, wrong password): reconnect the channel."""


class RateLimited(NetworkError):
    """The network asked us to slow down; retry at ``reset_at`` (aware UTC) or later."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None,
        network: str = "",
        code: str = "",
    ) -> None:
        super().__init__(message, network=network, code=code)
        if reset_at is not None and reset_at.tzinfo is None:
            raise ValueError("reset_at must be timezone-aware")
        #: When the network's window resets; ``None`` if it did not say (use a backoff).
        self.reset_at = reset_at


class Permanent(NetworkError):
    """The network refused this content or this call for good: retrying cannot help."""


class InvalidInput(Permanent):
    """What we were asked to send breaks a rule of the network (too long, image too large...).

    Raised by ``validate``-style checks before anything is sent, so nothing is half-done.
    """


class NotFound(Permanent):
    """The object (post, account, instance) does not exist on the network."""


class Transient(NetworkError):
    """A failure known to have happened before the network accepted anything: retry later."""

    retryable = True


class OutcomeUnknown(NetworkError):
    """The call may have been accepted (timeout after sending, 5xx on a write, lost answer).

    The caller must not retry blindly: ``Network.reconcile(idempotency_key, ...)`` tells
    whether the post exists.
    """


class Unsupported(NetworkError):
    """The network (or this module) does not offer the capability that was asked for."""


class Ambiguous(NetworkError):
    """``reconcile`` cannot tell for sure whether the post exists: a person must look.

    ``candidates`` are the posts that might be it (possibly none, when the network could not
    be searched far enough back). The caller neither publishes again nor marks the post as
    published on a guess: it shows the candidates and lets a person decide.
    """

    def __init__(
        self,
        message: str,
        *,
        candidates: tuple[Candidate, ...] = (),
        network: str = "",
        code: str = "ambiguous",
    ) -> None:
        super().__init__(message, network=network, code=code)
        self.candidates = candidates


__all__ = [
    "Ambiguous",
    "AuthExpired",
    "InvalidInput",
    "NetworkError",
    "NotFound",
    "OutcomeUnknown",
    "Permanent",
    "RateLimited",
    "Transient",
    "Unsupported",
]
