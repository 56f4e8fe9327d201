"""The team's work on a conversation through the actions: notes with @mentions, assignment,
labels, priority, snooze, bulk changes, canned replies, offers, reply approval rules and
hand-offs; every role that is refused, and the outsider."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.inbox import actions
from portevoix.inbox.models import ConversationState, HandOffState, Note, Priority
from portevoix.notifications.models import Notification
from tests.conftest import ALL_ROLES
from tests.inbox.conftest import conversation_of

pytestmark = pytest.mark.django_db


def allowed(role: str, action: str) -> bool:
    return action in MATRIX[role]


@pytest.fixture
def price(team, conversations):
    """The public price question, routed to sales (the agent's department)."""
    conversation = conversation_of("p1")
    assert conversation.department.code == "sales"
    return conversation


@pytest.mark.parametrize("role", ALL_ROLES)
def test_notes_and_who_may_write_them(team, price, role):
    member = team[role]
    if allowed(role, "inbox.reply"):
        note = actions.add_note(price, by=member, text="Vu, je regarde.")
        assert note.author == member
    else:
        with pytest.raises((PermissionDenied, Http404)):
            actions.add_note(price, by=member, text="x")
    with pytest.raises(Http404):
        actions.add_note(price, by=team.outsider, text="x")


def test_a_mention_notifies_the_member_who_can_see_it(team, price):
    agent = team["agent"]
    handle = actions.mention_handle(agent)
    actions.add_note(price, by=team["content"], text=f"@{handle} peux-tu confirmer le prix ?")
    assert Notification.objects.filter(recipient=agent, kind="inbox.mentioned").count() == 1
    # Someone who cannot see the conversation is not told about it.
    press = conversation_of("j1")
    actions.add_note(press, by=team["content"], text=f"@{handle} regarde ça")
    assert Notification.objects.filter(recipient=agent, kind="inbox.mentioned").count() == 1
    with pytest.raises(ActionRefused):
        actions.add_note(price, by=team["content"], text="   ")
    assert Note.objects.count() == 2


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_assign_whom(team, price, role):
    member = team[role]
    if allowed(role, "inbox.route"):
        actions.assign(price, by=member, assignee=team["agent"])
        price.refresh_from_db()
        assert price.assignee == team["agent"]
    elif allowed(role, "inbox.reply"):  # an agent takes it for themselves, not for others
        actions.assign(price, by=member, assignee=member)
        price.refresh_from_db()
        assert price.assignee == member
        with pytest.raises(PermissionDenied):
            actions.assign(price, by=member, assignee=team["content"])
    else:
        with pytest.raises((PermissionDenied, Http404)):
            actions.assign(price, by=member, assignee=member)
    with pytest.raises(Http404):
        actions.assign(price, by=team.outsider, assignee=None)


def test_an_assignee_must_be_able_to_answer_it(team, price):
    with pytest.raises(ActionRefused):
        actions.assign(price, by=team["manager"], assignee=team["viewer"])
    with pytest.raises(ActionRefused):
        actions.assign(price, by=team["manager"], assignee=team.outsider)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_labels_and_priority_need_inbox_route(team, price, role):
    label = actions.create_label(team.workspace, by=team["manager"], name="Prix", color="#1d4ed8")
    member = team[role]
    if allowed(role, "inbox.route"):
        actions.set_labels(price, by=member, labels=[label])
        actions.set_priority(price, by=member, priority=Priority.URGENT)
        price.refresh_from_db()
        assert list(price.labels.all()) == [label] and price.priority == Priority.URGENT
        with pytest.raises(ActionRefused):
            actions.set_priority(price, by=member, priority=42)
    else:
        before = AuditEntry.objects.count()
        with pytest.raises((PermissionDenied, Http404)):
            actions.set_labels(price, by=member, labels=[label])
        with pytest.raises((PermissionDenied, Http404)):
            actions.set_priority(price, by=member, priority=Priority.HIGH)
        assert AuditEntry.objects.count() == before


def test_snooze_comes_back_when_due(team, price):
    with pytest.raises(ActionRefused):
        actions.set_state(
            price,
            by=team["content"],
            state=ConversationState.SNOOZED,
            until=timezone.now() - dt.timedelta(minutes=1),
        )
    until = timezone.now() + dt.timedelta(hours=2)
    actions.set_state(price, by=team["content"], state=ConversationState.SNOOZED, until=until)
    price.refresh_from_db()
    assert price.state == ConversationState.SNOOZED
    assert actions.wake_snoozed(now=until - dt.timedelta(minutes=1)) == 0
    assert actions.wake_snoozed(now=until + dt.timedelta(seconds=1)) == 1
    price.refresh_from_db()
    assert price.state == ConversationState.OPEN and price.snoozed_until is None


def test_bulk_changes_each_and_counts_refusals(team, conversations):
    rows = [conversation_of(k) for k in ("p1", "j1", "o1")]
    done = actions.bulk(rows, by=team["content"], operation="resolve")
    assert done == 3
    assert {c.state for c in (conversation_of(k) for k in ("p1", "j1", "o1"))} == {
        ConversationState.RESOLVED
    }
    with pytest.raises(ActionRefused):
        actions.bulk([], by=team["content"], operation="resolve")
    with pytest.raises(ActionRefused):
        actions.bulk(rows, by=team["content"], operation="explode")
    # The agent may resolve only what it sees: the other two are refused, the price one done.
    actions.bulk(rows, by=team["content"], operation="open")
    with pytest.raises((ActionRefused, PermissionDenied, Http404)):
        actions.bulk(rows, by=team["agent"], operation="resolve")
    assert conversation_of("p1").state == ConversationState.RESOLVED
    assert conversation_of("j1").state == ConversationState.OPEN


@pytest.mark.parametrize("role", ALL_ROLES)
def test_canned_replies_offers_and_approval_rules_need_inbox_manage(team, role):
    member = team[role]
    now = timezone.now()
    if allowed(role, "inbox.manage"):
        canned = actions.save_canned_reply(
            team.workspace, by=member, title="Merci", text="Merci {customer_name} !"
        )
        assert canned.pk
        with pytest.raises(ActionRefused, match="Unknown variable"):
            actions.save_canned_reply(team.workspace, by=member, title="x", text="{password}")
        offer = actions.save_offer(
            team.workspace,
            by=member,
            title="Coffrets -20 %",
            text="-20 % sur les coffrets",
            valid_from=now - dt.timedelta(days=1),
            valid_until=now + dt.timedelta(days=1),
            keywords="coffret, prix",
        )
        assert offer.pk
        with pytest.raises(ActionRefused):
            actions.save_offer(
                team.workspace,
                by=member,
                title="x",
                text="x",
                valid_from=now,
                valid_until=now - dt.timedelta(days=1),
            )
        actions.set_reply_approval(
            team.workspace, by=member, required=False, department=team.department("sales")
        )
        assert not actions.needs_approval(team["agent"], private=False)
    else:
        with pytest.raises(PermissionDenied):
            actions.save_canned_reply(team.workspace, by=member, title="x", text="y")
        with pytest.raises(PermissionDenied):
            actions.save_offer(
                team.workspace,
                by=member,
                title="x",
                text="y",
                valid_from=now,
                valid_until=now + dt.timedelta(days=1),
            )
        with pytest.raises(PermissionDenied):
            actions.set_reply_approval(
                team.workspace, by=member, required=False, department=team.department("sales")
            )
        assert actions.needs_approval(team["agent"], private=False)
    with pytest.raises((PermissionDenied, Http404)):
        actions.save_canned_reply(team.workspace, by=team.outsider, title="x", text="y")


def test_the_offer_that_fits_comes_first_and_variables_are_filled(team, price):
    now = timezone.now()
    manager = team["manager"]
    for title, keywords in (("Livraison offerte", "livraison"), ("Coffrets -20 %", "coffret")):
        actions.save_offer(
            team.workspace,
            by=manager,
            title=title,
            text=title,
            valid_from=now - dt.timedelta(days=1),
            valid_until=now + dt.timedelta(days=1),
            keywords=keywords,
        )
    actions.save_offer(
        team.workspace,
        by=manager,
        title="Expired",
        text="old",
        valid_from=now - dt.timedelta(days=9),
        valid_until=now - dt.timedelta(days=1),
        keywords="coffret",
    )
    offers = actions.offers_for(price, team["content"])
    assert [o.title for o in offers][:1] == ["Coffrets -20 %"]
    assert "Expired" not in [o.title for o in offers]
    text = actions.fill_variables("Merci {customer_handle}, {agent_name}", price, team["content"])
    assert text.startswith("Merci @") and "{" not in text


def test_a_member_rule_beats_the_department_rule(team):
    manager, agent = team["manager"], team["agent"]
    actions.set_reply_approval(
        team.workspace, by=manager, required=False, department=team.department("sales")
    )
    actions.set_reply_approval(team.workspace, by=manager, required=True, member=agent)
    assert actions.needs_approval(agent, private=False)
    assert not actions.needs_approval(agent, private=True)  # private answers never wait
    actions.set_reply_approval(team.workspace, by=manager, required=None, member=agent)
    assert not actions.needs_approval(agent, private=False)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_hand_off_and_the_department_is_told(team, conversations, role):
    press = conversation_of("j1")
    member = team[role]
    legal = team.department("legal")
    if allowed(role, "inbox.route"):
        handoff = actions.hand_off(press, by=member, department=legal, note="Risque ?")
        assert handoff.state == HandOffState.OPEN
        press.refresh_from_db()
        assert press.department == legal
        with pytest.raises(ActionRefused):
            actions.hand_off(press, by=member, department=legal)
    else:
        with pytest.raises((PermissionDenied, Http404)):
            actions.hand_off(press, by=member, department=legal)
    with pytest.raises(Http404):
        actions.hand_off(press, by=team.outsider, department=legal)


def test_a_hand_off_to_sales_tells_its_agent_and_moves_it_to_their_queue(team, conversations):
    press = conversation_of("j1")
    agent = team["agent"]
    with pytest.raises(Http404):
        actions.add_note(press, by=agent, text="x")  # not theirs yet
    actions.hand_off(press, by=team["content"], department=team.department("sales"))
    assert Notification.objects.filter(recipient=agent, kind="inbox.handed_off").count() == 1
    actions.add_note(press, by=agent, text="Je m'en occupe")
