"""HTTP helpers shared by the network modules (no Django, no SDK).

``RateBudget`` honours a network's rate-limit headers *before* it answers 429: when the last
answer for a bucket said nothing remains until a reset time, the next call to that bucket
raises ``RateLimited(reset_at)`` without being sent. Which headers and which buckets is the
module's business (Bluesky: ``RateLimit-*`` per XRPC method; Mastodon: ``X-RateLimit-*``, with
media uploads counted apart).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

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


__all__ = ["RateBudget", "parse_reset"]
