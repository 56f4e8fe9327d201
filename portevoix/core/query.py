"""Reading query parameters (``?from=...&channel=...``): a value, or a 400 page saying why.

Every view that reads ``request.GET`` goes through these helpers, so that a date the database
cannot hold (``?from=9999-12-25``), an id beyond its integer range (``?channel=`` with twenty
digits) or a choice that does not exist answers "400, this is what is wrong" instead of a
server error.
A missing or empty parameter gives the default; a present but wrong one is refused, never
silently replaced.

:class:`BadQuery` is Django's :class:`~django.core.exceptions.BadRequest`: the 400 handler
(:mod:`portevoix.core.errors`) shows its message on the product's error page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.utils.translation import gettext as _

#: Dates outside these years are refused: nothing Porte-voix keeps is older, and nothing is
#: planned further ahead; both ends stay far from the limits of Python and the databases.
MIN_YEAR = 1970
MAX_YEAR = 2200
#: Ids are 64-bit integers (``BigAutoField``) on every database Porte-voix runs on.
MAX_ID = 2**63 - 1
#: Longest free-text parameter (a search box) kept; longer ones are refused.
MAX_TEXT = 200


class BadQuery(BadRequest):
    """A query parameter that cannot be used; ``str(exc)`` says which one and why."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def _raw(request: HttpRequest, name: str) -> str | None:
    value = request.GET.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def check_date(name: str, value: dt.date) -> dt.date:
    """``value`` if its year is in the range Porte-voix handles, else :class:`BadQuery`."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadQuery(
            name,
            _("“%(name)s” must be a date between %(min)s and %(max)s.")
            % {"name": name, "min": MIN_YEAR, "max": MAX_YEAR},
        )
    return value


def query_date(request: HttpRequest, name: str, default: dt.date | None = None) -> dt.date | None:
    """The date in ``?name=YYYY-MM-DD``, ``default`` when absent or empty."""
    raw = _raw(request, name)
    if raw is None:
        return default
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(
            name,
            _("“%(name)s” must be a date written YYYY-MM-DD, for example 2027-03-28.")
            % {"name": name},
        ) from None
    return check_date(name, value)


def query_id(request: HttpRequest, name: str) -> int | None:
    """The positive id in ``?name=``, ``None`` when absent or empty."""
    raw = _raw(request, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise BadQuery(
            name, _("“%(name)s” must be the number of an existing item.") % {"name": name}
        )
    return int(raw)


def query_int(
    request: HttpRequest, name: str, default: int, *, minimum: int = 1, maximum: int = 100_000
) -> int:
    """A whole number in ``?name=`` between ``minimum`` and ``maximum`` (a page number...)."""
    raw = _raw(request, name)
    if raw is None:
        return default
    value = int(raw) if raw.isascii() and raw.lstrip("-").isdigit() and len(raw) < 19 else None
    if value is None or not minimum <= value <= maximum:
        raise BadQuery(
            name,
            _("“%(name)s” must be a whole number between %(min)s and %(max)s.")
            % {"name": name, "min": minimum, "max": maximum},
        )
    return value


def query_choice(
    request: HttpRequest,
    name: str,
    choices: Iterable[str] | Mapping[str, Any],
    default: str = "",
) -> str:
    """One of ``choices`` in ``?name=``, ``default`` when absent or empty."""
    raw = _raw(request, name)
    if raw is None:
        return default
    allowed = list(choices)
    if raw not in allowed:
        raise BadQuery(
            name,
            _("“%(name)s” must be one of: %(choices)s.")
            % {"name": name, "choices": ", ".join(allowed)},
        )
    return raw


def query_text(request: HttpRequest, name: str, *, max_length: int = MAX_TEXT) -> str:
    """Free text in ``?name=`` (a search), stripped; ``""`` when absent."""
    raw = _raw(request, name) or ""
    if len(raw) > max_length or "\x00" in raw:
        raise BadQuery(
            name,
            _("“%(name)s” must be a text of at most %(max)s characters.")
            % {"name": name, "max": max_length},
        )
    return raw


def query_flag(request: HttpRequest, name: str) -> bool:
    """``?name=1`` is on; absent, empty or ``0`` is off; anything else is refused."""
    return query_choice(request, name, ("0", "1"), default="0") == "1"
