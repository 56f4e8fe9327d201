"""Assignment: round-robin or least loaded, within capacity, only on duty, oldest first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from portevoix.care import actions, assignment, jobs
from portevoix.care.models import AgentProfile, Strategy
from portevoix.core.models import Member
from portevoix.inbox.models import Conversation, ConversationState
from portevoix.worker.models import Housekeeping
from tests.care.conftest import SATURDAY_NIGHT, WEDNESDAY, ingest_one, office_calendar, paris
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

QUESTION = "Vous êtes ouverts le dimanche ?"


@pytest.fixture
def second(team) -> Member:
    """A second content marketer: two people share the social team's conversations."""
    user = make_user("paul@acme.test", "Paul")
    return Member.objects.create(workspace=team.workspace, user=user, role="content")


def strategy(team, name: str, **kwargs) -> None:
    actions.update_settings(team.workspace, by=team["admin"], assignment=name, **kwargs)


def assignees(conversations: list[Conversation]) -> list[int | None]:
    return [Conversation.objects.get(pk=c.pk).assignee_id for c in conversations]


def test_manual_assigns_nobody(team, channel, clock) -> None:
    clock(WEDNESDAY)
    conversation = ingest_one(channel, QUESTION, at=WEDNESDAY)
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


def test_round_robin_takes_turns(team, channel, second, clock) -> None:
    strategy(team, Strategy.ROUND_ROBIN)
    clock(WEDNESDAY)
    made = [ingest_one(channel, QUESTION, at=WEDNESDAY, author=f"c{n}") for n in range(4)]
    got = assignees(made)
    assert set(got) == {team["content"].pk, second.pk}
    assert got[0] != got[1] and got[0] == got[2] and got[1] == got[3]


def test_least_loaded_fills_the_emptiest(team, channel, second, clock) -> None:
    clock(WEDNESDAY)
    # Paul already has three open conversations.
    for n in range(3):
        busy = ingest_one(channel, QUESTION, at=WEDNESDAY, author=f"old{n}")
        Conversation.objects.filter(pk=busy.pk).update(assignee=second)
    strategy(team, Strategy.LEAST_LOADED)
    made = [ingest_one(channel, QUESTION, at=WEDNESDAY, author=f"c{n}") for n in range(4)]
    got = assignees(made)
    assert got[:3] == [team["content"].pk] * 3  # 1, 2, 3 against Paul's 3
    assert got[3] in (team["content"].pk, second.pk)


def test_capacity_is_never_exceeded_and_the_oldest_waits_first(
    team, channel, second, clock
) -> None:
    strategy(team, Strategy.ROUND_ROBIN, default_capacity=1)
    clock(WEDNESDAY)
    made = [
        ingest_one(channel, QUESTION, at=WEDNESDAY + dt.timedelta(minutes=n), author=f"c{n}")
        for n in range(4)
    ]
    got = assignees(made)
    assert sorted(filter(None, got)) == sorted([team["content"].pk, second.pk])
    assert got[2:] == [None, None]
    # Lucas resolves his; the oldest waiting conversation (the third) is his next.
    mine = next(c for c, who in zip(made, got, strict=True) if who == team["content"].pk)
    Conversation.objects.filter(pk=mine.pk).update(state=ConversationState.RESOLVED)
    with transaction.atomic():
        assignment.assign_waiting(team.workspace)
    assert assignees(made)[2:] == [team["content"].pk, None]


def test_only_members_on_duty_and_available(team, channel, second, clock) -> None:
    strategy(team, Strategy.ROUND_ROBIN)
    actions.update_agent(second, by=second, available=False)
    clock(WEDNESDAY)
    made = [ingest_one(channel, QUESTION, at=WEDNESDAY, author=f"c{n}") for n in range(3)]
    assert set(assignees(made)) == {team["content"].pk}


def test_admins_and_managers_only_when_they_opt_in(team, channel, clock) -> None:
    strategy(team, Strategy.ROUND_ROBIN)
    actions.update_agent(team["content"], by=team["content"], available=False)
    clock(WEDNESDAY)
    nobody = ingest_one(channel, QUESTION, at=WEDNESDAY, author="a")
    assert assignees([nobody]) == [None]
    actions.update_agent(team["manager"], by=team["admin"], auto_assign=True)
    with transaction.atomic():
        assignment.assign_waiting(team.workspace)
    assert assignees([nobody]) == [team["manager"].pk]


def test_a_department_conversation_goes_to_its_agents(team, channel, clock) -> None:
    strategy(team, Strategy.LEAST_LOADED)
    clock(WEDNESDAY)
    price = ingest_one(channel, "Quel est le prix du sérum Éclat ?", at=WEDNESDAY)
    price.refresh_from_db()
    assert price.department.code == "sales"
    assert price.assignee_id == team["agent"].pk  # the sales agent
    complaint = ingest_one(
        channel, "Ma commande 48213 n'est jamais arrivée, remboursez-moi", at=WEDNESDAY, author="z"
    )
    complaint.refresh_from_db()
    assert complaint.department.code == "customer_service"
    assert complaint.assignee_id is None  # nobody in customer service here: its queue


def test_out_of_hours_the_rota_takes_everything_even_when_manual(team, channel, clock) -> None:
    office_calendar(team)
    actions.create_shifts(
        team.workspace,
        by=team["manager"],
        member=team["admin"],
        starts_at=paris(2026, 6, 13, 18, 0),
        ends_at=paris(2026, 6, 13, 23, 59),
    )
    clock(SATURDAY_NIGHT)
    price = ingest_one(channel, "Quel est le prix du sérum Éclat ?", at=SATURDAY_NIGHT)
    price.refresh_from_db()
    assert price.assignee_id == team["admin"].pk  # on duty, though admins opt out by day


def test_a_person_who_assigned_meanwhile_wins(team, channel, second, clock) -> None:
    strategy(team, Strategy.ROUND_ROBIN)
    clock(WEDNESDAY)
    conversation = ingest_one(channel, QUESTION, at=WEDNESDAY)
    Conversation.objects.filter(pk=conversation.pk).update(assignee=None)
    # Someone takes it between the pass's read and its write.
    real = assignment.loads

    def take_first(*args, **kwargs):
        Conversation.objects.filter(pk=conversation.pk).update(assignee=team["manager"])
        return real(*args, **kwargs)

    assignment.loads = take_first  # type: ignore[assignment]
    try:
        with transaction.atomic():
            assignment.assign_waiting(team.workspace)
    finally:
        assignment.loads = real  # type: ignore[assignment]
    assert assignees([conversation]) == [team["manager"].pk]


def test_the_periodic_job_assigns_when_someone_comes_back(team, channel, clock) -> None:
    strategy(team, Strategy.ROUND_ROBIN)
    actions.update_agent(team["content"], by=team["content"], available=False)
    clock(WEDNESDAY)
    waiting = ingest_one(channel, QUESTION, at=WEDNESDAY)
    assert assignees([waiting]) == [None]
    actions.update_agent(team["content"], by=team["content"], available=True)
    summary = jobs.assign(Housekeeping(name="care-assign"))
    assert summary == "1 conversation(s) assigned"
    assert assignees([waiting]) == [team["content"].pk]
    assert AgentProfile.objects.get(member=team["content"]).last_assigned_at is not None
