"""The on-call rota: who is on duty when, swaps, and "closed" with an automatic reply."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from portevoix.care import actions, rota
from portevoix.care.models import AfterHours, AutoReply, RotaShift, ShiftSwap, SwapState
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.inbox.models import InboundMessage
from portevoix.networks.types import InboundKind
from portevoix.publishing.models import Publication
from tests.care.conftest import PARIS, SATURDAY_NIGHT, WEDNESDAY, ingest_one, office_calendar, paris
from tests.conftest import ALL_ROLES, make_user

pytestmark = pytest.mark.django_db


def weekend_shift(team, member: Member, **kwargs) -> RotaShift:
    """Saturday 13 June 18:00 to Sunday 14 June 23:00."""
    (shift,) = actions.create_shifts(
        team.workspace,
        by=team["manager"],
        member=member,
        starts_at=paris(2026, 6, 13, 18, 0),
        ends_at=paris(2026, 6, 14, 23, 0),
        **kwargs,
    )
    return shift


# --- who is on duty ------------------------------------------------------------------------


def test_in_hours_every_available_member_who_answers_is_on_duty(team, clock) -> None:
    office_calendar(team)
    status = rota.status(team.workspace, WEDNESDAY)
    assert status.mode == "open" and status.in_hours
    roles = {m.role for m in status.on_duty}
    assert roles == {"admin", "manager", "content", "agent"}  # those who may reply
    actions.update_agent(team["content"], by=team["content"], available=False)
    assert team["content"] not in rota.status(team.workspace, WEDNESDAY).on_duty


def test_out_of_hours_the_rota_decides(team) -> None:
    office_calendar(team)
    shift = weekend_shift(team, team["content"])
    status = rota.status(team.workspace, SATURDAY_NIGHT)
    assert status.mode == "rota" and status.on_duty == [team["content"]]
    assert status.opens_at == paris(2026, 6, 15, 9, 0)
    # Before the shift, nobody: closed.
    assert rota.status(team.workspace, paris(2026, 6, 13, 12, 0)).mode == "closed"
    # The shift's end is not part of it.
    assert rota.status(team.workspace, shift.ends_at).mode == "closed"


def test_closed_says_closed_even_with_a_rota(team) -> None:
    office_calendar(team)
    weekend_shift(team, team["content"])
    actions.update_settings(team.workspace, by=team["admin"], after_hours=AfterHours.CLOSED)
    assert rota.status(team.workspace, SATURDAY_NIGHT).mode == "closed"


def test_without_a_calendar_the_team_is_always_open(team) -> None:
    assert rota.status(team.workspace, SATURDAY_NIGHT).mode == "open"


# --- a message at 21:00 on a Saturday ---------------------------------------------------------


def test_a_message_on_saturday_night_goes_to_the_member_on_duty(team, channel, clock) -> None:
    office_calendar(team)
    weekend_shift(team, team["content"])
    clock(SATURDAY_NIGHT)
    conversation = ingest_one(channel, "Bonsoir, ma commande n'est pas arrivée", at=SATURDAY_NIGHT)
    conversation.refresh_from_db()
    assert conversation.assignee_id == team["content"].pk
    assert not AutoReply.objects.exists()  # someone is there: no "closed" reply


def test_with_the_team_closed_the_customer_gets_the_reply_in_french(team, channel, clock) -> None:
    office_calendar(team)
    actions.update_settings(team.workspace, by=team["admin"], after_hours=AfterHours.CLOSED)
    clock(SATURDAY_NIGHT)
    conversation = ingest_one(
        channel, "Bonsoir, ma commande n'est pas arrivée", at=SATURDAY_NIGHT, kind=InboundKind.DM
    )
    conversation.refresh_from_db()
    assert conversation.assignee_id is None
    reply = conversation.replies.get()
    text = reply.post.text
    assert text.startswith("Merci pour votre message ! Notre équipe est fermée")
    assert "lundi 15 juin à 09:00 (heure de Paris)" in text
    publication = reply.post.publications.get()
    assert publication.private and publication.state == "scheduled"
    message = InboundMessage.objects.get(conversation=conversation)
    assert publication.in_reply_to == message.message_id
    # The customer writes again the same night: no second reply.
    ingest_one(channel, "Allô ?", at=SATURDAY_NIGHT + dt.timedelta(minutes=5), kind=InboundKind.DM)
    assert conversation.replies.count() == 1


def test_the_closed_reply_is_in_english_for_an_english_customer(team, channel, clock) -> None:
    office_calendar(team)
    clock(SATURDAY_NIGHT)  # rota mode, but nobody on duty: closed
    conversation = ingest_one(
        channel,
        "Hello, where is my parcel? It was due yesterday",
        at=SATURDAY_NIGHT,
        author="john",
    )
    text = conversation.replies.get().post.text
    assert text.startswith("Thank you for your message! Our team is closed right now")
    assert "Monday 15 June at" in text and "(Paris time)" in text


def test_the_closed_reply_can_be_rewritten_per_language(team, channel, clock) -> None:
    office_calendar(team)
    actions.update_settings(
        team.workspace,
        by=team["admin"],
        closed_replies={"fr": "Fermé ! Réponse {opens}.", "en": "Closed, back {opens}."},
    )
    clock(paris(2026, 6, 15, 7, 30))  # Monday morning, before opening
    conversation = ingest_one(channel, "Bonjour, une question", at=paris(2026, 6, 15, 7, 30))
    assert (
        conversation.replies.get().post.text
        == "Fermé ! Réponse aujourd’hui à 09:00 (heure de Paris)."
    )


def test_a_message_from_the_weekend_synced_on_monday_morning_gets_no_closed_reply(
    team, channel, clock
) -> None:
    office_calendar(team)
    clock(paris(2026, 6, 15, 9, 5))
    ingest_one(channel, "Bonsoir, une question", at=SATURDAY_NIGHT)
    assert not Publication.objects.exists()


def test_a_holiday_closes_the_team(team, channel, clock) -> None:
    calendar = office_calendar(team)
    actions.add_holiday(
        calendar, by=team["admin"], date=dt.date(2026, 6, 10), name="Fermeture", every_year=False
    )
    clock(WEDNESDAY)
    conversation = ingest_one(channel, "Bonjour, une question", at=WEDNESDAY)
    assert "demain à 09:00 (heure de Paris)" in conversation.replies.get().post.text


def test_mentions_get_no_closed_reply(team, channel, clock) -> None:
    office_calendar(team)
    clock(SATURDAY_NIGHT)
    ingest_one(channel, "J'adore @acme", at=SATURDAY_NIGHT, kind=InboundKind.MENTION)
    assert not AutoReply.objects.exists()


# --- shifts ----------------------------------------------------------------------------------


def test_weekly_shifts_keep_their_wall_clock_hours_across_the_change_of_time(team) -> None:
    shifts = actions.create_shifts(
        team.workspace,
        by=team["manager"],
        member=team["content"],
        starts_at=paris(2026, 3, 21, 19, 0),  # Saturday before the spring change
        ends_at=paris(2026, 3, 21, 23, 0),
        weeks=3,
    )
    local = [(s.starts_at.astimezone(PARIS), s.ends_at.astimezone(PARIS)) for s in shifts]
    assert [(a.strftime("%a %d %H:%M"), b.strftime("%H:%M")) for a, b in local] == [
        ("Sat 21 19:00", "23:00"),
        ("Sat 28 19:00", "23:00"),
        ("Sat 04 19:00", "23:00"),
    ]
    assert shifts[2].starts_at - shifts[1].starts_at == dt.timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        (paris(2026, 6, 13, 22, 0), paris(2026, 6, 13, 20, 0), "ends after it starts"),
        (paris(2026, 6, 13, 20, 0), paris(2026, 6, 17, 20, 0), "at most three days"),
    ],
)
def test_bad_shifts_are_refused(team, start, end, says) -> None:
    with pytest.raises(ActionRefused, match=says):
        actions.create_shifts(
            team.workspace, by=team["manager"], member=team["content"], starts_at=start, ends_at=end
        )


def test_overlapping_shifts_of_one_member_are_refused_and_nothing_is_kept(team) -> None:
    weekend_shift(team, team["content"])
    with pytest.raises(ActionRefused, match="already on duty"):
        actions.create_shifts(
            team.workspace,
            by=team["manager"],
            member=team["content"],
            starts_at=paris(2026, 6, 6, 20, 0),
            ends_at=paris(2026, 6, 6, 23, 0),
            weeks=2,  # the second week overlaps the weekend shift
        )
    assert RotaShift.objects.count() == 1


def test_only_members_who_answer_can_be_on_duty(team) -> None:
    with pytest.raises(ActionRefused, match="cannot be on duty"):
        weekend_shift(team, team["analyst"])
    with pytest.raises(ActionRefused):
        weekend_shift(team, team.outsider)


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in ("admin", "manager")])
def test_only_admins_and_managers_plan_the_rota(team, role) -> None:
    with pytest.raises(PermissionDenied):
        actions.create_shifts(
            team.workspace,
            by=team[role],
            member=team["content"],
            starts_at=paris(2026, 6, 13, 18, 0),
            ends_at=paris(2026, 6, 13, 23, 0),
        )


def test_an_outsider_cannot_touch_the_rota(team) -> None:
    shift = weekend_shift(team, team["content"])
    with pytest.raises(Http404):
        actions.delete_shift(shift, by=team.outsider)


# --- swaps -----------------------------------------------------------------------------------


@pytest.fixture
def colleague(team) -> Member:
    user = make_user("paul@acme.test", "Paul")
    return Member.objects.create(workspace=team.workspace, user=user, role="content")


def test_a_swap_moves_the_shift_once_accepted(team, colleague, clock) -> None:
    clock(WEDNESDAY)
    shift = weekend_shift(team, team["content"])
    swap = actions.request_swap(shift, by=team["content"], offered_to=colleague, message="Mariage")
    assert swap.state == SwapState.PENDING
    shift.refresh_from_db()
    assert shift.member_id == team["content"].pk  # nothing moves before the answer
    actions.answer_swap(swap, by=colleague, accept=True)
    shift.refresh_from_db()
    assert shift.member_id == colleague.pk
    with pytest.raises(ActionRefused, match="already been answered"):
        actions.answer_swap(swap, by=colleague, accept=False)


def test_a_swap_against_another_shift_exchanges_both(team, colleague, clock) -> None:
    clock(WEDNESDAY)
    mine = weekend_shift(team, team["content"])
    (theirs,) = actions.create_shifts(
        team.workspace,
        by=team["manager"],
        member=colleague,
        starts_at=paris(2026, 6, 20, 18, 0),
        ends_at=paris(2026, 6, 20, 23, 0),
    )
    swap = actions.request_swap(mine, by=team["content"], offered_to=colleague, in_exchange=theirs)
    actions.answer_swap(swap, by=colleague, accept=True)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.member_id, theirs.member_id) == (colleague.pk, team["content"].pk)


def test_a_declined_or_withdrawn_swap_changes_nothing(team, colleague, clock) -> None:
    clock(WEDNESDAY)
    shift = weekend_shift(team, team["content"])
    swap = actions.request_swap(shift, by=team["content"], offered_to=colleague)
    actions.answer_swap(swap, by=colleague, accept=False)
    assert ShiftSwap.objects.get().state == SwapState.DECLINED
    again = actions.request_swap(shift, by=team["content"], offered_to=colleague)
    actions.cancel_swap(again, by=team["content"])
    again.refresh_from_db()
    assert again.state == SwapState.CANCELLED
    shift.refresh_from_db()
    assert shift.member_id == team["content"].pk


def test_who_may_ask_and_answer_a_swap(team, colleague, clock) -> None:
    clock(WEDNESDAY)
    shift = weekend_shift(team, team["content"])
    with pytest.raises(ActionRefused, match="Only the member on duty"):
        actions.request_swap(shift, by=team["agent"], offered_to=colleague)
    with pytest.raises(ActionRefused, match="someone else"):
        actions.request_swap(shift, by=team["content"], offered_to=team["content"])
    with pytest.raises(ActionRefused, match="cannot be on duty"):
        actions.request_swap(shift, by=team["content"], offered_to=team["viewer"])
    swap = actions.request_swap(shift, by=team["content"], offered_to=colleague)
    with pytest.raises(ActionRefused, match="already waiting"):
        actions.request_swap(shift, by=team["content"], offered_to=team["agent"])
    with pytest.raises(ActionRefused, match="Only the colleague asked"):
        actions.answer_swap(swap, by=team["agent"], accept=True)
    with pytest.raises(Http404):
        actions.answer_swap(swap, by=team.outsider, accept=True)
    with pytest.raises(ActionRefused, match="Only the member who asked"):
        actions.cancel_swap(swap, by=colleague)


def test_a_past_shift_cannot_be_swapped(team, colleague, clock) -> None:
    shift = weekend_shift(team, team["content"])
    clock(paris(2026, 6, 20, 12, 0))
    with pytest.raises(ActionRefused, match="over"):
        actions.request_swap(shift, by=team["content"], offered_to=colleague)


def test_a_swap_that_would_double_book_the_colleague_is_refused(team, colleague, clock) -> None:
    clock(WEDNESDAY)
    shift = weekend_shift(team, team["content"])
    actions.create_shifts(
        team.workspace,
        by=team["manager"],
        member=colleague,
        starts_at=paris(2026, 6, 13, 20, 0),
        ends_at=paris(2026, 6, 13, 22, 0),
    )
    swap = actions.request_swap(shift, by=team["content"], offered_to=colleague)
    with pytest.raises(ActionRefused, match="already on duty"):
        actions.answer_swap(swap, by=colleague, accept=True)
    shift.refresh_from_db()
    assert shift.member_id == team["content"].pk


def test_a_backlog_gets_no_closed_reply(team, channel, clock) -> None:
    """A first sync or a sync after an outage brings old messages: no excuses for those."""
    office_calendar(team)
    clock(SATURDAY_NIGHT)
    ingest_one(channel, "Bonjour, une question", at=SATURDAY_NIGHT - dt.timedelta(hours=3))
    ingest_one(channel, "Bonjour, ouvert ?", at=paris(2026, 6, 12, 17, 0), author="b")  # Friday
    assert not AutoReply.objects.exists()
