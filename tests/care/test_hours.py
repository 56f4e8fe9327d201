"""Business time: slots, holidays, time zones and the days the clocks change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portevoix.care.hours import (
    BusinessHours,
    HoursError,
    format_slots,
    parse_slots,
    wall_to_utc,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
H = dt.timedelta(hours=1)
OFFICE = parse_slots("09:00-12:30, 13:30-18:00")


def office(zone: ZoneInfo = PARIS, **kwargs) -> BusinessHours:
    return BusinessHours(zone, (OFFICE,) * 5 + ((), ()), **kwargs)


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


# --- writing slots --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("09:00-12:30, 13:30-18:00", ((540, 750), (810, 1080))),
        ("9h-12h30 et 14h-18h", ((540, 750), (840, 1080))),
        ("13:30-18:00; 09:00-12:30", ((540, 750), (810, 1080))),
        ("22:00-24:00", ((1320, 1440),)),
        ("", ()),
        ("  ", ()),
        ("8 à 20", ((480, 1200),)),
    ],
)
def test_slots_are_read_as_people_write_them(text: str, slots: tuple) -> None:
    assert parse_slots(text) == slots


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("18:00-09:00", "ends before it starts"),
        ("09:00-12:00, 11:00-13:00", "overlap"),
        ("25:00-26:00", "not a time of day"),
        ("09:75-10:00", "not a time of day"),
        ("24:00-24:00", "not a time of day"),
        ("nine to five", "not a time of day"),
        ("09:00", "not a slot"),
    ],
)
def test_bad_slots_are_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(HoursError, match=says):
        parse_slots(text)


def test_slots_are_shown_back_as_written() -> None:
    assert format_slots(OFFICE) == "09:00-12:30, 13:30-18:00"


# --- arithmetic -------------------------------------------------------------------------------


def test_open_and_closed_moments() -> None:
    hours = office()
    assert hours.is_open(paris(2026, 6, 3, 10, 0))  # a Wednesday morning
    assert not hours.is_open(paris(2026, 6, 3, 13, 0))  # lunch
    assert not hours.is_open(paris(2026, 6, 3, 18, 0))  # closing time is closed
    assert hours.is_open(paris(2026, 6, 3, 17, 59))
    assert not hours.is_open(paris(2026, 6, 6, 21, 0))  # Saturday evening


def test_next_opening_after_a_saturday_evening_is_monday_morning() -> None:
    hours = office()
    opens = hours.next_open(paris(2026, 6, 6, 21, 0))
    assert opens == paris(2026, 6, 8, 9, 0)
    assert hours.next_open(paris(2026, 6, 8, 10, 0)) == paris(2026, 6, 8, 10, 0)
    assert hours.next_close(paris(2026, 6, 8, 10, 0)) == paris(2026, 6, 8, 12, 30)
    assert hours.next_close(paris(2026, 6, 8, 13, 0)) is None


def test_adding_business_time_skips_lunch_nights_and_weekends() -> None:
    hours = office()
    # Friday 17:00 + 2 business hours: 1 h on Friday, then Monday 09:00-10:00.
    assert hours.add(paris(2026, 6, 5, 17, 0), 2 * H) == paris(2026, 6, 8, 10, 0)
    # Monday 12:00 + 1 h: 30 min before lunch, 30 min after.
    assert hours.add(paris(2026, 6, 8, 12, 0), H) == paris(2026, 6, 8, 14, 0)
    # Written on Saturday: the clock starts on Monday at 09:00.
    assert hours.add(paris(2026, 6, 6, 21, 0), H) == paris(2026, 6, 8, 10, 0)
    # Exactly the end of a slot.
    assert hours.add(paris(2026, 6, 8, 9, 0), 3.5 * H) == paris(2026, 6, 8, 12, 30)


def test_business_time_between_two_moments() -> None:
    hours = office()
    assert hours.between(paris(2026, 6, 5, 17, 0), paris(2026, 6, 8, 10, 0)) == 2 * H
    assert hours.between(paris(2026, 6, 6, 0, 0), paris(2026, 6, 7, 23, 0)) == dt.timedelta(0)
    assert hours.between(paris(2026, 6, 8, 10, 0), paris(2026, 6, 5, 17, 0)) == -2 * H
    # A whole week: five days of 8 hours.
    assert hours.between(paris(2026, 6, 8, 0, 0), paris(2026, 6, 15, 0, 0)) == 40 * H


def test_holidays_close_the_whole_day_once_or_every_year() -> None:
    may_day = dt.date(2026, 5, 1)  # a Friday
    once = office(holidays=frozenset({dt.date(2026, 5, 8)}))  # the next Friday
    yearly = office(yearly=frozenset({(5, 1)}))
    assert not yearly.is_open(paris(2026, 5, 1, 10, 0))
    assert yearly.is_open(paris(2027, 5, 3, 10, 0))  # a Monday in 2027: open
    assert yearly.is_holiday(may_day) and yearly.is_holiday(dt.date(2030, 5, 1))
    assert not once.is_open(paris(2026, 5, 8, 10, 0))
    assert once.is_open(paris(2027, 5, 7, 10, 0))
    # Thursday 17:00 + 2 h over the 1 May holiday: Monday.
    assert yearly.add(paris(2026, 4, 30, 17, 0), 2 * H) == paris(2026, 5, 4, 10, 0)


def test_a_calendar_that_never_opens_says_never() -> None:
    closed = BusinessHours(PARIS, ((),) * 7)
    assert closed.never_open
    assert closed.add(paris(2026, 6, 8, 9, 0), H) is None
    assert closed.next_open(paris(2026, 6, 8, 9, 0)) is None
    assert closed.between(paris(2026, 6, 8), paris(2026, 6, 9)) == dt.timedelta(0)


def test_around_the_clock_is_calendar_time() -> None:
    always = BusinessHours.always(PARIS)
    start = paris(2026, 3, 28, 12, 0)
    assert always.add(start, 48 * H) == start.astimezone(dt.UTC) + 48 * H
    # Across the spring change: 48 real hours are 49 hours on the wall clock.
    assert always.add(start, 48 * H).astimezone(PARIS).hour == 13  # type: ignore[union-attr]


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        office().add(dt.datetime(2026, 6, 8, 9, 0), H)


# --- time zones and the days the clocks change ------------------------------------------------


def test_the_same_wall_hours_are_other_utc_hours_in_summer_and_winter() -> None:
    hours = office()
    assert hours.next_open(paris(2026, 1, 12, 7, 0)) == dt.datetime(
        2026, 1, 12, 8, 0, tzinfo=dt.UTC
    )
    assert hours.next_open(paris(2026, 7, 13, 7, 0)) == dt.datetime(
        2026, 7, 13, 7, 0, tzinfo=dt.UTC
    )


def test_a_night_slot_across_the_spring_change_is_one_hour_shorter() -> None:
    night = BusinessHours(PARIS, (((60, 240),),) * 7)  # 01:00-04:00 every night
    spring, autumn, plain = dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 6, 7)
    assert _open_on(night, spring) == 2 * H
    assert _open_on(night, autumn) == 4 * H
    assert _open_on(night, plain) == 3 * H


def _open_on(hours: BusinessHours, day: dt.date) -> dt.timedelta:
    return sum(((b - a) for a, b in hours.day_intervals(day)), dt.timedelta(0))


def test_a_slot_starting_in_the_spring_gap_opens_when_the_clock_jumps() -> None:
    hours = BusinessHours(PARIS, (((150, 240),),) * 7)  # 02:30-04:00
    (interval,) = hours.day_intervals(dt.date(2026, 3, 29))
    assert interval[0].astimezone(PARIS).strftime("%H:%M") == "03:00"
    assert interval[1] - interval[0] == H
    assert wall_to_utc(dt.date(2026, 3, 29), 150, PARIS) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=dt.UTC
    )
    # A slot that lies wholly in the gap is not there that day.
    gap_only = BusinessHours(PARIS, (((125, 170),),) * 7)
    assert gap_only.day_intervals(dt.date(2026, 3, 29)) == []


def test_a_time_that_happens_twice_counts_at_its_first_occurrence() -> None:
    hours = BusinessHours(PARIS, (((120, 180),),) * 7)  # 02:00-03:00
    (interval,) = hours.day_intervals(dt.date(2026, 10, 25))
    assert interval[0] == dt.datetime(2026, 10, 25, 0, 0, tzinfo=dt.UTC)  # 02:00 summer time
    assert interval[1] - interval[0] == 2 * H  # the wall clock shows 02:xx for two hours


def test_an_sla_across_the_autumn_change_counts_real_hours() -> None:
    always = BusinessHours.always(PARIS)
    start = paris(2026, 10, 24, 22, 0)
    due = always.add(start, 8 * H)
    assert due is not None
    assert due.astimezone(PARIS).strftime("%H:%M") == "05:00"  # the clock went back an hour


def test_another_zone_other_change_dates() -> None:
    hours = office(NEW_YORK)
    # 2026-03-08: New York springs forward, Paris not yet. Monday 9 March 09:00 local.
    assert hours.next_open(dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 3, 9, 13, 0, tzinfo=dt.UTC
    )


def test_a_night_across_midnight_is_one_interval() -> None:
    nights = BusinessHours(PARIS, (((0, 120), (1320, 1440)),) * 7)  # 22:00-02:00
    intervals = list(nights.intervals(paris(2026, 6, 8, 12, 0), paris(2026, 6, 10, 12, 0)))
    assert [(a.astimezone(PARIS).hour, b.astimezone(PARIS).hour) for a, b in intervals] == [
        (22, 2),
        (22, 2),
    ]


# --- properties --------------------------------------------------------------------------------

moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.just(dt.UTC),
)
#: Up to ten weeks later: long enough to cross changes of clocks and holidays, short enough to
#: run fast.
later = st.integers(min_value=0, max_value=60 * 24 * 70).map(lambda m: dt.timedelta(minutes=m))
durations = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: dt.timedelta(minutes=m))
calendars = st.sampled_from(
    [
        office(),
        office(NEW_YORK),
        BusinessHours(PARIS, (((60, 240), (1320, 1440)),) * 7),
        BusinessHours(PARIS, (((120, 180),),) * 6 + ((),)),
        BusinessHours.always(PARIS),
        office(yearly=frozenset({(12, 25), (1, 1), (5, 1)})),
    ]
)


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=moments, amount=durations)
def test_business_time_added_is_business_time_between(
    calendar: BusinessHours, start: dt.datetime, amount: dt.timedelta
) -> None:
    due = calendar.add(start, amount)
    assert due is not None and due >= start
    assert calendar.between(start, due) == amount
    if amount:
        assert (
            calendar.is_open(due - dt.timedelta(seconds=1))
            or calendar.between(start, due - dt.timedelta(seconds=1)) < amount
        )


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, a=moments, ab=later, bc=later)
def test_business_time_adds_up(
    calendar: BusinessHours, a: dt.datetime, ab: dt.timedelta, bc: dt.timedelta
) -> None:
    b, c = a + ab, a + ab + bc
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)
    assert calendar.between(a, c) <= c - a
