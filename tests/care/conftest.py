"""Webcare fixtures: a sandbox channel, inbound items, the team's hours and the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine

from portevoix.care import actions
from portevoix.care.models import BusinessCalendar
from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Conversation, InboundMessage
from portevoix.networks.types import Author, InboundItem, InboundKind
from portevoix.sandbox import service
from tests.conftest import Team

PARIS = ZoneInfo("Europe/Paris")
#: Wednesday 10 June 2026, 10:00 in Paris: the team is open.
WEDNESDAY = dt.datetime(2026, 6, 10, 10, 0, tzinfo=PARIS)
#: Saturday 13 June 2026, 21:00 in Paris: out of hours.
SATURDAY_NIGHT = dt.datetime(2026, 6, 13, 21, 0, tzinfo=PARIS)


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def clock() -> Iterator[Callable[[dt.datetime], None]]:
    """``clock(moment)`` moves time there (and stops it)."""
    traveller: list[time_machine.travel] = []

    def move(moment: dt.datetime) -> None:
        if traveller:
            traveller.pop().stop()
        travel = time_machine.travel(moment, tick=False)
        travel.start()
        traveller.append(travel)

    yield move
    if traveller:
        traveller.pop().stop()


def connect(team: Team, handle: str = "acme-care") -> Channel:
    account = service.create_account(handle, workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )


@pytest.fixture
def channel(team: Team) -> Channel:
    return connect(team)


_counter = iter(range(1, 10**9))


def item(
    text: str,
    *,
    at: dt.datetime,
    author: str = "lea",
    kind: InboundKind = InboundKind.COMMENT,
    key: str | None = None,
    reply_to: str | None = None,
    thread: str | None = None,
    followers: int | None = None,
) -> InboundItem:
    return InboundItem(
        network="sandbox",
        message_id=key or f"m{next(_counter)}",
        kind=kind,
        author=Author(
            id=f"id-{author}", handle=author, display_name=author.title(), followers=followers
        ),
        text=text,
        created_at=at,
        in_reply_to=reply_to,
        thread_id=thread,
    )


def ingest_one(channel: Channel, text: str, **kwargs) -> Conversation:
    made = item(text, **kwargs)
    ingest(channel, [made])
    conversation = InboundMessage.objects.get(message_id=made.message_id).conversation
    assert conversation is not None
    return conversation


def office_calendar(team: Team) -> BusinessCalendar:
    """Monday to Friday 09:00-12:30 and 13:30-18:00 in Paris, the team's hours."""
    calendar = actions.create_calendar(
        team.workspace,
        by=team["admin"],
        name="Bureau",
        time_zone="Europe/Paris",
        week=actions.parse_week(["09:00-12:30, 13:30-18:00"] * 5 + ["", ""]),
    )
    actions.update_settings(team.workspace, by=team["admin"], calendar=calendar)
    return calendar


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Actions speak the active language; these tests read their English (pages set their own)."""
    from django.utils import translation

    with translation.override("en"):
        yield
