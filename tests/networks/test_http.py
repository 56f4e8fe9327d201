"""Shared HTTP helpers: reset times from headers and the rate budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portevoix.networks.errors import RateLimited
from portevoix.networks.http import RateBudget, parse_reset

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
