"""When a post goes out: one rule for reading a time, wherever it is typed.

* A wall-clock time (``2027-03-28T09:30``, what a browser's ``datetime-local`` sends) is read in
  the channel's audience time zone (:attr:`Channel.audience_zone`, the workspace's unless the
  channel has its own), and the form says which zone that is.
* A time that does not exist there (the clocks go forward: 2027-03-28 02:30 in Europe/Paris) or
  that happens twice (the clocks go back: 2027-10-31 02:30) is refused with a message naming the
  zone; nothing is guessed.
* A time given with an explicit offset (``2027-03-28T09:30+01:00``, ``...Z``) is kept as given.
* A time further ahead than :data:`MAX_AHEAD` (a typo for 2207, ``9999-12-31``) is refused.

Stored times are UTC (``USE_TZ``); pages show them in each member's zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from portevoix.core.actions import ActionRefused

#: How far ahead a post may be scheduled: a content plan runs a year; twice that is generous.
MAX_AHEAD = dt.timedelta(days=2 * 366)
#: Tolerance for "now": a form sent at 09:30:00 for 09:30 is not in the past.
PAST_TOLERANCE = dt.timedelta(minutes=1)


class ScheduleTimeError(ActionRefused):
    """A time that cannot be used for scheduling; the message says why, in the person's words."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code, field="at")


def _shown(naive: dt.datetime) -> str:
    return formats.date_format(naive, "SHORT_DATETIME_FORMAT")


def _offset(value: dt.datetime) -> str:
    return value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:]


def localize(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """``naive`` read as a wall-clock time in ``zone``; a gap or an ambiguous time is refused."""
    if naive.tzinfo is not None:
        raise ValueError("localize() takes a naive datetime")
    earlier = naive.replace(tzinfo=zone, fold=0)
    later = naive.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    back = earlier.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ScheduleTimeError(
            _(
                "%(time)s does not exist in %(zone)s: the clocks go forward at that moment "
                "(daylight saving time). Choose another time."
            )
            % {"time": _shown(naive), "zone": zone.key},
            code="dst_gap",
        )
    raise ScheduleTimeError(
        _(
            "%(time)s happens twice in %(zone)s: the clocks go back at that moment. Give the "
            "offset (%(first)s or %(second)s) or choose another time."
        )
        % {
            "time": _shown(naive),
            "zone": zone.key,
            "first": _offset(earlier),
            "second": _offset(later),
        },
        code="dst_ambiguous",
    )


def _too_far(now: dt.datetime) -> ScheduleTimeError:
    limit = (now + MAX_AHEAD).date()
    return ScheduleTimeError(
        _("A post can be scheduled at most two years ahead (until %(date)s).")
        % {"date": formats.date_format(limit, "DATE_FORMAT")},
        code="too_far",
    )


def parse_when(text: str, zone: ZoneInfo, *, now: dt.datetime | None = None) -> dt.datetime:
    """The moment written in ``text`` (ISO 8601), a wall-clock time being read in ``zone``."""
    now = now or timezone.now()
    value = text.strip()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleTimeError(
            _("Write the time as 2027-03-28 09:30, optionally with an offset (+01:00)."),
            code="invalid",
        ) from None
    # Before any arithmetic: a year such as 9999 overflows when converted to UTC.
    if moment.year > now.year + MAX_AHEAD.days // 365 + 1:
        raise _too_far(now)
    if moment.tzinfo is None:
        return localize(moment, zone)
    return moment


def check_when(at: dt.datetime, *, now: dt.datetime | None = None) -> dt.datetime:
    """``at`` if a post may be scheduled then: aware, not past, not too far ahead."""
    now = now or timezone.now()
    if at.tzinfo is None:
        raise ScheduleTimeError(_("Give the time with its time zone."), code="naive")
    if at.year > now.year + MAX_AHEAD.days // 365 + 1:
        raise _too_far(now)
    try:
        if at - now > MAX_AHEAD:
            raise _too_far(now)
        if at < now - PAST_TOLERANCE:
            raise ScheduleTimeError(_("This time is in the past."), code="past")
    except OverflowError:
        raise _too_far(now) from None
    return at
