"""Business time: when a team is open, and how much open time lies between two moments.

Plain Python (no models; Django only translates the errors): :class:`BusinessHours` is a
week of opening slots in one time zone (several slots a day: ``09:00-12:30`` and
``13:30-18:00``), minus holidays. Every moment in
and out is an aware datetime; the answers are in UTC.

Wall-clock times are the calendar's own: a slot "09:00-18:00" in Europe/Paris is 07:00-16:00
UTC in summer and 08:00-17:00 UTC in winter. On the days the clocks change:

* a time that does not exist (02:30 when the clocks jump from 02:00 to 03:00) counts from the
  moment the clock jumps: a slot 02:30-04:00 opens at 03:00 that day, one hour long;
* a time that happens twice (02:30 when the clocks go back from 03:00 to 02:00) counts at its
  first occurrence: a slot 02:00-03:00 lasts two real hours that night.

SLA targets are counted in this business time (``add``), clocks paused while waiting for the
customer resume with what was left (``between``), and "closed, we answer from ..." says
``next_open``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

UTC = dt.UTC
MINUTES_PER_DAY = 24 * 60
#: How far ahead an answer is looked for before the calendar is declared never open.
HORIZON_DAYS = 800
WEEK = dt.timedelta(days=7)

Slot = tuple[int, int]  # minutes since local midnight: [start, end), 0 <= start < end <= 1440

_CLOCK = re.compile(r"^\s*(\d{1,2})(?:[:hH.](\d{2})?)?\s*$")
_RANGE = re.compile(r"\s*[-–—àa]\s*|\s+to\s+", re.IGNORECASE)


class HoursError(ValueError):
    """Opening hours that cannot be understood. The message is meant for a person."""


def parse_clock(text: str, *, end: bool = False) -> int:
    """``"9"``, ``"09:30"``, ``"9h30"``, ``"24:00"`` (an end only) -> minutes since midnight."""
    found = _CLOCK.match(text)
    if not found:
        raise HoursError(_not_a_time(text))
    hours, minutes = int(found.group(1)), int(found.group(2) or 0)
    value = hours * 60 + minutes
    if minutes >= 60 or value > MINUTES_PER_DAY or (value == MINUTES_PER_DAY and not end):
        raise HoursError(_not_a_time(text))
    return value


def _not_a_time(text: str) -> str:
    return _("“%(text)s” is not a time of day (write 09:00 or 9h).") % {"text": text.strip()}


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_slots(text: str) -> tuple[Slot, ...]:
    """``"09:00-12:30, 13:30-18:00"`` -> ((540, 750), (810, 1080)). Empty text: closed.

    Slots are sorted; one that ends before it starts, or overlaps another, is refused with a
    sentence saying which (an evening past midnight is two slots: ``22:00-24:00`` today and
    ``00:00-02:00`` the next day).
    """
    slots: list[Slot] = []
    for part in re.split(r"[,;]|\s+et\s+|\s+and\s+", text.strip()):
        if not part.strip():
            continue
        bounds = _RANGE.split(part.strip())
        if len(bounds) != 2:
            raise HoursError(
                _("“%(text)s” is not a slot (write 09:00-12:30).") % {"text": part.strip()}
            )
        start, end = parse_clock(bounds[0]), parse_clock(bounds[1], end=True)
        if end <= start:
            raise HoursError(
                _(
                    "“%(text)s” ends before it starts: past midnight, write two slots "
                    "(22:00-24:00 and, the next day, 00:00-02:00)."
                )
                % {"text": part.strip()}
            )
        slots.append((start, end))
    return normalise_slots(slots)


def normalise_slots(slots: Iterable[Sequence[int]]) -> tuple[Slot, ...]:
    """Sort and check slots given as pairs of minutes; overlapping slots are refused."""
    ordered = sorted((int(s[0]), int(s[1])) for s in slots)
    for start, end in ordered:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise HoursError(
                _("%(slot)s is not a slot of a day.")
                % {"slot": f"{format_clock(start)}-{format_clock(end)}"}
            )
    for (s1, e1), (s2, e2) in itertools.pairwise(ordered):
        if s2 < e1:
            raise HoursError(
                _("%(first)s and %(second)s overlap.")
                % {
                    "first": f"{format_clock(s1)}-{format_clock(e1)}",
                    "second": f"{format_clock(s2)}-{format_clock(e2)}",
                }
            )
    return tuple(ordered)


def format_slots(slots: Iterable[Sequence[int]]) -> str:
    return ", ".join(f"{format_clock(s)}-{format_clock(e)}" for s, e in slots)


def wall_to_utc(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    """The instant the calendar's clock shows ``minutes`` past midnight on ``day``.

    A time that happens twice is its first occurrence; a time that never happens (the
    spring-forward gap) is the instant the clock jumps over it.
    """
    day = day + dt.timedelta(days=minutes // MINUTES_PER_DAY)
    minutes %= MINUTES_PER_DAY
    wall = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=0 reads the wall time with the offset from before the jump, which lands
    # after the jump, fold=1 with the one after, before it. The jump lies between: find it.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    offset = low.astimezone(zone).utcoffset()
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0) if high.microsecond else high


@dataclass(frozen=True)
class BusinessHours:
    """A week of opening slots (Monday first) in ``zone``, minus ``holidays``.

    ``holidays`` are local dates the team is closed all day; ``yearly`` are (month, day) pairs
    closed every year (1 May, 25 December).
    """

    zone: ZoneInfo
    week: tuple[tuple[Slot, ...], ...]
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    yearly: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    #: Memo of :meth:`day_intervals` and local midnights (a calendar is reused for a whole
    #: batch of clocks; the same days come back for every conversation).
    _memo: dict[tuple[str, dt.date], Any] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise HoursError(_("A week has seven days."))
        object.__setattr__(self, "week", tuple(normalise_slots(day) for day in self.week))

    @classmethod
    def always(cls, zone: ZoneInfo | None = None) -> BusinessHours:
        """Open around the clock: business time is calendar time."""
        return cls(zone or ZoneInfo("UTC"), tuple(((0, MINUTES_PER_DAY),) for _ in range(7)))

    @property
    def never_open(self) -> bool:
        return not any(self.week)

    @property
    def is_always_open(self) -> bool:
        return (
            all(day == ((0, MINUTES_PER_DAY),) for day in self.week)
            and not self.holidays
            and not self.yearly
        )

    def is_holiday(self, day: dt.date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly

    def slots_on(self, day: dt.date) -> tuple[Slot, ...]:
        if self.is_holiday(day):
            return ()
        return self.week[day.weekday()]

    def _local_date(self, moment: dt.datetime) -> dt.date:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: business time only deals in aware datetimes")
        return moment.astimezone(self.zone).date()

    def _midnight(self, day: dt.date) -> dt.datetime:
        key = ("midnight", day)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = wall_to_utc(day, 0, self.zone)
        return found

    def day_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The open intervals of one local day, in UTC; adjacent ones joined."""
        key = ("day", day)
        known = self._memo.get(key)
        if known is None:
            if len(self._memo) > 4096:
                self._memo.clear()
            known = self._memo[key] = tuple(self._day_intervals(day))
        return list(known)

    def _day_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        found: list[tuple[dt.datetime, dt.datetime]] = []
        for start, end in self.slots_on(day):
            begin, finish = wall_to_utc(day, start, self.zone), wall_to_utc(day, end, self.zone)
            if finish <= begin:
                continue  # the whole slot fell in a spring-forward gap
            if found and found[-1][1] >= begin:
                found[-1] = (found[-1][0], max(found[-1][1], finish))
            else:
                found.append((begin, finish))
        return found

    def intervals(
        self, start: dt.datetime, end: dt.datetime | None = None
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open intervals from ``start`` (clipped) until ``end`` (or for ever), in order, UTC.

        Intervals that touch across midnight (a night slot 22:00-24:00 then 00:00-02:00) come
        out as one, up to a week long (a calendar open around the clock comes out a week at a
        time). Stops after :data:`HORIZON_DAYS` days without an opening.
        """
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("naive datetime: business time only deals in aware datetimes")
        start = start.astimezone(UTC)
        end = end.astimezone(UTC) if end is not None else None
        if self.never_open:
            return
        day = self._local_date(start) - dt.timedelta(days=1)
        pending: tuple[dt.datetime, dt.datetime] | None = None
        idle = 0
        while idle < HORIZON_DAYS:
            if end is not None and self._midnight(day) >= end:
                break
            todays = self.day_intervals(day)
            idle = 0 if todays else idle + 1
            for begin, finish in todays:
                if finish <= start:
                    continue
                begin = max(begin, start)
                if end is not None and begin >= end:
                    break
                if end is not None:
                    finish = min(finish, end)
                if pending is not None and pending[1] >= begin and pending[1] - pending[0] < WEEK:
                    pending = (pending[0], max(pending[1], finish))
                    continue
                if pending is not None:
                    yield pending
                pending = (begin, finish)
            day += dt.timedelta(days=1)
            # Anything that starts after the end of this day cannot join ``pending``.
            if pending is not None and pending[1] < self._midnight(day):
                yield pending
                pending = None
        if pending is not None:
            yield pending

    def is_open(self, at: dt.datetime) -> bool:
        for begin, _finish in self.intervals(at, at + dt.timedelta(seconds=1)):
            return begin <= at.astimezone(UTC)
        return False

    def next_open(self, at: dt.datetime) -> dt.datetime | None:
        """``at`` itself if open then, else the next opening; None if it never opens."""
        for begin, _finish in self.intervals(at):
            return begin
        return None

    def next_close(self, at: dt.datetime) -> dt.datetime | None:
        """When the interval open at ``at`` ends (None if closed at ``at``)."""
        for begin, finish in self.intervals(at):
            return finish if begin <= at.astimezone(UTC) else None
        return None

    def add(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime | None:
        """The moment ``amount`` of business time has passed after ``start``; None: never."""
        if amount <= dt.timedelta(0):
            return self.next_open(start) if amount == dt.timedelta(0) else start
        left = amount
        for begin, finish in self.intervals(start):
            if finish - begin >= left:
                return begin + left
            left -= finish - begin
        return None

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Business time from ``start`` to ``end`` (negative when ``end`` comes first)."""
        if end < start:
            return -self.between(end, start)
        total = dt.timedelta(0)
        for begin, finish in self.intervals(start, end):
            total += finish - begin
        return total
