"""SLA clocks: business time, the most specific policy, warnings, escalation, pauses, DST."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from portevoix.care import actions, sla
from portevoix.care.models import SlaClock
from portevoix.inbox.models import Conversation, ConversationState
from portevoix.worker import runner
from tests.care.conftest import PARIS, ingest_one, item, office_calendar, paris

pytestmark = pytest.mark.django_db

FRIDAY_EVENING = paris(2026, 6, 12, 17, 30)


@pytest.fixture
def policy(team):
    calendar = office_calendar(team)
    return actions.create_policy(
        team.workspace,
        by=team["admin"],
        name="Standard",
        calendar=calendar,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=8 * 60,
        warn_at_percent=80,
    )


def run_clocks() -> int:
    return runner.run_once(models=[SlaClock])


def reply(conversation: Conversation, at: dt.datetime) -> None:
    """What the inbox's reply action does to the conversation, then tells the clock."""
    with transaction.atomic():
        conversation.first_response_at = conversation.first_response_at or at
        conversation.last_reply_at = at
        conversation.state = ConversationState.OPEN
        conversation.save()
        sla.conversation_changed(conversation, now=at)


def set_state(conversation: Conversation, state: str, at: dt.datetime) -> None:
    with transaction.atomic():
        conversation.state = state
        if state == ConversationState.RESOLVED:
            conversation.resolved_at = at
        conversation.save()
        sla.conversation_changed(conversation, now=at)


def test_the_first_response_is_due_in_business_time(team, channel, policy, clock) -> None:
    clock(FRIDAY_EVENING)
    conversation = ingest_one(channel, "Bonjour, une question sur le sérum", at=FRIDAY_EVENING)
    clock_row = SlaClock.objects.get(conversation=conversation)
    # 30 minutes on Friday, then 30 on Monday morning.
    assert clock_row.first_response_due_at == paris(2026, 6, 15, 9, 30)
    assert clock_row.first_response_warn_at == paris(2026, 6, 15, 9, 18)  # 80 % of 60 min
    assert clock_row.resolution_due_at == paris(2026, 6, 15, 17, 30)
    assert clock_row.state == "running"
    assert clock_row.next_attempt_at == clock_row.first_response_warn_at
    assert clock_row.policy_name == "Standard"


def test_a_warning_before_the_breach_and_an_escalation_after(team, channel, policy, clock) -> None:
    clock(FRIDAY_EVENING)
    conversation = ingest_one(channel, "Bonjour, une question sur le sérum", at=FRIDAY_EVENING)
    clock(paris(2026, 6, 13, 12, 0))
    assert run_clocks() == 0  # nothing due over the weekend
    clock(paris(2026, 6, 15, 9, 20))
    assert run_clocks() == 1
    row = SlaClock.objects.get(conversation=conversation)
    assert row.first_response_warned_at == paris(2026, 6, 15, 9, 20)
    assert row.first_response_breached_at is None and row.escalated_at is None
    assert row.next_attempt_at == paris(2026, 6, 15, 9, 30)
    clock(paris(2026, 6, 15, 9, 31))
    assert run_clocks() == 1
    row.refresh_from_db()
    assert row.first_response_breached_at == paris(2026, 6, 15, 9, 31)
    assert row.escalated_at is not None
    # Next: the resolution's warning (80 % of 8 business hours).
    assert row.state == "running" and row.next_attempt_at == paris(2026, 6, 15, 15, 54)
    reading = sla.read(row, conversation, timezone.now())
    assert reading is not None
    assert (reading.target, reading.status) == ("first_response", "breached")


def test_an_agent_replies_and_the_clock_stops(team, channel, policy, clock) -> None:
    clock(paris(2026, 6, 15, 10, 0))
    conversation = ingest_one(channel, "Bonjour, une question", at=paris(2026, 6, 15, 10, 0))
    reply(conversation, paris(2026, 6, 15, 10, 20))
    row = SlaClock.objects.get(conversation=conversation)
    assert row.first_response_warned_at is None and row.first_response_breached_at is None
    reading = sla.read(row, conversation, paris(2026, 6, 15, 10, 21))
    assert reading is not None and reading.target == "resolution"  # first response met
    clock(paris(2026, 6, 15, 11, 0))
    run_clocks()
    row.refresh_from_db()
    assert row.first_response_breached_at is None  # the reply came in time: no escalation
    set_state(conversation, ConversationState.RESOLVED, paris(2026, 6, 15, 11, 0))
    row.refresh_from_db()
    assert row.state == "idle" and row.next_attempt_at is None
    assert sla.read(row, conversation, timezone.now()).status == "met"


def test_waiting_for_the_customer_pauses_the_resolution_clock(team, channel, policy, clock) -> None:
    start = paris(2026, 6, 15, 9, 0)
    clock(start)
    conversation = ingest_one(channel, "Bonjour, une question", at=start)
    reply(conversation, paris(2026, 6, 15, 9, 30))
    set_state(conversation, ConversationState.WAITING, paris(2026, 6, 15, 10, 0))
    row = SlaClock.objects.get(conversation=conversation)
    assert row.state == "paused" and row.next_attempt_at is None
    assert row.resolution_left_seconds == 7 * 3600  # 8 h minus the first business hour
    reading = sla.read(row, conversation, paris(2026, 6, 16, 10, 0))
    assert reading.status == "paused"
    # The customer answers on Tuesday at 10:00: the 7 hours start again from there.
    clock(paris(2026, 6, 16, 10, 0))
    ingest_one(
        channel,
        "Voici mon numéro de commande",
        at=paris(2026, 6, 16, 10, 0),
        reply_to=conversation.messages.first().message_id,
    )
    row.refresh_from_db()
    assert row.state == "running"
    assert row.resolution_paused_at is None
    assert row.resolution_due_at == paris(2026, 6, 16, 18, 0)  # 2.5 h + 4.5 h
    # And a next response is owed for the customer's new message.
    assert row.next_response_started_at == paris(2026, 6, 16, 10, 0)
    assert row.next_response_due_at == paris(2026, 6, 16, 12, 0)


def test_next_response_cycles_count_met_and_missed(team, channel, policy, clock) -> None:
    start = paris(2026, 6, 15, 9, 0)
    clock(start)
    conversation = ingest_one(channel, "Bonjour, une question", at=start, key="q1")
    reply(conversation, paris(2026, 6, 15, 9, 10))
    clock(paris(2026, 6, 15, 9, 20))
    ingest_one(channel, "Et aussi…", at=paris(2026, 6, 15, 9, 20), reply_to="q1")
    conversation.refresh_from_db()
    reply(conversation, paris(2026, 6, 15, 9, 40))  # within 2 h
    clock(paris(2026, 6, 15, 10, 0))
    ingest_one(channel, "Encore une chose", at=paris(2026, 6, 15, 10, 0), reply_to="q1")
    clock(paris(2026, 6, 15, 14, 0))
    run_clocks()
    run_clocks()
    conversation.refresh_from_db()
    reply(conversation, paris(2026, 6, 15, 14, 5))  # 3.5 business hours later: missed
    row = SlaClock.objects.get(conversation=conversation)
    assert (row.next_responses_met, row.next_responses_breached) == (1, 1)
    assert row.next_response_started_at is None


def test_the_most_specific_policy_applies(team, channel, clock) -> None:
    other = channel.__class__.objects.create(
        workspace=team.workspace,
        network="sandbox",
        name="Autre",
        handle="autre",
        account_id="autre",
        credentials_encrypted="x",
    )
    for name, kwargs in (
        ("Tous", {}),
        ("Urgent", {"priority": 3}),
        ("Ce canal", {"channel": channel}),
        ("Ce canal, urgent", {"channel": channel, "priority": 3}),
    ):
        actions.create_policy(
            team.workspace, by=team["admin"], name=name, first_response_minutes=30, **kwargs
        )
    policies = list(team.workspace.sla_policies.all())
    assert sla.choose_policy(policies, channel.pk, 1).name == "Ce canal"
    assert sla.choose_policy(policies, channel.pk, 3).name == "Ce canal, urgent"
    assert sla.choose_policy(policies, other.pk, 3).name == "Urgent"
    assert sla.choose_policy(policies, other.pk, 0).name == "Tous"


def test_a_rule_priority_chooses_the_policy(team, channel, clock) -> None:
    actions.create_policy(team.workspace, by=team["admin"], name="Tous", first_response_minutes=240)
    actions.create_policy(
        team.workspace, by=team["admin"], name="VIP", priority=3, first_response_minutes=15
    )
    actions.add_vip(team.workspace, by=team["admin"], handle="star")
    actions.create_rule(
        team.workspace,
        by=team["admin"],
        name="VIP urgents",
        condition="author is vip",
        actions={"priority": "urgent"},
    )
    now = paris(2026, 6, 15, 10, 0)
    clock(now)
    vip = ingest_one(channel, "Coucou", at=now, author="star")
    assert SlaClock.objects.get(conversation=vip).policy_name == "VIP"
    other = ingest_one(channel, "Coucou", at=now, author="lambda")
    assert SlaClock.objects.get(conversation=other).policy_name == "Tous"


def test_around_the_clock_across_the_change_of_time(team, channel, clock) -> None:
    actions.create_policy(team.workspace, by=team["admin"], name="24/7", resolution_minutes=8 * 60)
    start = paris(2026, 3, 28, 23, 0)  # the night the clocks jump forward
    clock(start)
    conversation = ingest_one(channel, "Bonsoir, une question", at=start)
    due = SlaClock.objects.get(conversation=conversation).resolution_due_at
    assert due - start == dt.timedelta(hours=8)
    assert due.astimezone(PARIS).strftime("%d %H:%M") == "29 08:00"  # wall clock: 9 hours later


def test_editing_a_policy_keeps_running_clocks(team, channel, policy, clock) -> None:
    now = paris(2026, 6, 15, 10, 0)
    clock(now)
    conversation = ingest_one(channel, "Bonjour", at=now)
    actions.update_policy(policy, by=team["admin"], first_response_minutes=5)
    assert SlaClock.objects.get(conversation=conversation).first_response_target == 60
    actions.delete_policy(policy, by=team["admin"])
    assert SlaClock.objects.get(conversation=conversation).first_response_due_at is not None


def test_no_policy_no_clock_and_spam_gets_none(team, channel, clock) -> None:
    now = paris(2026, 6, 15, 10, 0)
    clock(now)
    conversation = ingest_one(channel, "Bonjour", at=now)
    assert not SlaClock.objects.filter(conversation=conversation).exists()
    assert sla.read(None, conversation, now) is None


def test_a_clock_a_worker_holds_is_taken_back_when_the_conversation_changes(
    team, channel, policy, clock
) -> None:
    now = paris(2026, 6, 15, 10, 0)
    clock(now)
    conversation = ingest_one(channel, "Bonjour", at=now)
    row = SlaClock.objects.get(conversation=conversation)
    SlaClock.objects.filter(pk=row.pk).update(next_attempt_at=now)
    (claimed,) = runner.claim(SlaClock, 1, "w", 30)
    reply(conversation, paris(2026, 6, 15, 10, 5))
    row.refresh_from_db()
    assert row.locked_by == "" and row.locked_until is None
    # The worker's handler, finishing late, writes nothing.
    assert runner.process(claimed) is False
    row.refresh_from_db()
    assert row.first_response_warned_at is None


def test_reopening_a_resolved_conversation_starts_a_new_resolution_cycle(
    team, channel, policy, clock
) -> None:
    start = paris(2026, 6, 15, 9, 0)
    clock(start)
    conversation = ingest_one(channel, "Bonjour", at=start, key="r1")
    reply(conversation, paris(2026, 6, 15, 9, 10))
    set_state(conversation, ConversationState.RESOLVED, paris(2026, 6, 15, 9, 20))
    later = paris(2026, 6, 17, 15, 0)
    clock(later)
    from portevoix.inbox.ingest import ingest

    ingest(channel, [item("Ça recommence !", at=later, reply_to="r1")])
    row = SlaClock.objects.get(conversation=conversation)
    assert row.state == "running"
    assert row.resolution_due_at == paris(2026, 6, 18, 15, 0)  # 8 business hours later
    assert row.next_response_due_at == paris(2026, 6, 17, 17, 0)


def test_a_breach_found_long_after_the_fact_is_counted_not_announced(
    team, channel, policy, clock, monkeypatch
) -> None:
    told: list[str] = []
    monkeypatch.setattr("portevoix.care.notices.sla_breached", lambda *a: told.append("breach"))
    clock(FRIDAY_EVENING)
    conversation = ingest_one(channel, "Bonjour, une question sur le sérum", at=FRIDAY_EVENING)
    clock(paris(2026, 6, 15, 14, 0))  # the workers were down all Monday morning
    run_clocks()
    row = SlaClock.objects.get(conversation=conversation)
    assert row.first_response_breached_at is not None and row.escalated_at is None
    assert told == []


def test_the_inbox_actions_move_the_clock(team, channel, policy, clock) -> None:
    """The inbox's own reply and state actions (not a simulation): an answer stops the
    first-response clock and waiting for the customer pauses the resolution clock; resolving
    stops it."""
    from portevoix.inbox import actions as inbox_actions

    clock(paris(2026, 6, 15, 10, 0))
    conversation = ingest_one(channel, "Bonjour, une question", at=paris(2026, 6, 15, 10, 0))
    assert SlaClock.objects.get(conversation=conversation).first_response_due_at == paris(
        2026, 6, 15, 11, 0
    )
    clock(paris(2026, 6, 15, 10, 20))
    inbox_actions.reply(conversation, by=team["content"], text="Bonjour, bien sûr !")
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    row = SlaClock.objects.get(conversation=conversation)
    assert row.state == "paused"  # answered, and waiting for the customer
    reading = sla.read(row, conversation, timezone.now())
    assert reading is not None and reading.target != "first_response"
    clock(paris(2026, 6, 15, 11, 30))
    run_clocks()
    row.refresh_from_db()
    assert row.first_response_breached_at is None and row.escalated_at is None
    inbox_actions.set_state(conversation, by=team["content"], state=ConversationState.RESOLVED)
    row.refresh_from_db()
    assert row.state == "idle" and row.next_attempt_at is None
