"""What happens to conversations as they come in: rules, "closed" replies, assignment, SLA.

:func:`on_ingested` is registered with the inbox's ``on_ingested`` hook, so it runs inside
the ingest's transaction, once per batch, with the conversations the batch started and those
it touched. For each new conversation, in order:

1. **routing rules** run over its first message (triage's labels are inputs, see
   ``routing.py``): department, assignee, priority, labels, hide (marked spam), escalate,
   automatic reply; why it went where it went is kept (:class:`~.models.Routing`, and the
   conversation's ``routed_by``/``route_note``);
2. **out of hours**, when nobody is on duty (or the team says "closed"), the customer gets the
   automatic reply that says when the team will answer, in their language, once per closed
   period;
3. **SLA clocks** start (the most specific policy for the channel and priority);
4. **assignment** gives waiting conversations, oldest first, to members on duty.

For conversations that got new messages: the next-response clock starts where an answer is
owed, reopened conversations start a new resolution clock, and every clock is brought up to
date.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from portevoix.core.bulk import insert_rows, save_rows
from portevoix.core.models import Department, Member, Workspace
from portevoix.inbox.models import (
    Conversation,
    ConversationState,
    InboundMessage,
    Label,
    RoutedBy,
)

from . import assignment, notices, replies, rota, routing, sla
from .models import (
    Routing,
    RoutingRule,
    SlaClock,
    SlaPolicy,
    Strategy,
    VipAuthor,
    WebcareSettings,
    workspace_settings,
)

if TYPE_CHECKING:
    from portevoix.inbox.ingest import Ingested

log = logging.getLogger(__name__)

#: A message older than this when it comes in gets no "closed" reply (a backlog after an
#: outage, a first sync): the reply is for someone who just wrote.
CLOSED_REPLY_WITHIN = dt.timedelta(hours=2)


@dataclass
class Team:
    """One workspace's webcare rules, loaded once per batch."""

    workspace: Workspace
    now: dt.datetime
    settings: WebcareSettings
    rules: list[routing.CompiledRule] = field(default_factory=list)

    @classmethod
    def load(cls, workspace: Workspace, now: dt.datetime) -> Team:
        settings = workspace_settings(workspace)
        rules = [
            routing.CompiledRule(
                id=rule.pk,
                name=rule.name,
                conditions=rule.conditions or {"all": []},
                actions=routing.Actions.from_json(rule.actions),
                stop=rule.stop,
            )
            for rule in RoutingRule.objects.filter(workspace=workspace, is_active=True).order_by(
                "position", "id"
            )
        ]
        return cls(workspace=workspace, now=now, settings=settings, rules=rules)

    @cached_property
    def hours(self) -> Any:
        return rota.team_hours(self.settings)

    @cached_property
    def zone(self) -> ZoneInfo:
        return rota.team_zone(self.settings, self.workspace)

    @cached_property
    def departments(self) -> dict[str, Department]:
        return {d.code: d for d in Department.objects.filter(workspace=self.workspace)}

    @cached_property
    def vips(self) -> set[tuple[str, str]]:
        return {
            (network, handle.lower())
            for network, handle in VipAuthor.objects.filter(workspace=self.workspace).values_list(
                "network", "handle"
            )
        }

    def is_vip(self, network: str, handle: str) -> bool:
        handle = handle.lower().lstrip("@")
        return (network, handle) in self.vips or ("", handle) in self.vips

    @cached_property
    def policies(self) -> list[SlaPolicy]:
        return sla.active_policies(self.workspace.pk)

    @cached_property
    def managers(self) -> list[Member]:
        return notices.managers(self.workspace.pk)

    @cached_property
    def members(self) -> list[Member]:
        return rota.replying_members(self.workspace.pk)

    def status_at(self, at: dt.datetime) -> rota.TeamStatus:
        return rota.status(self.workspace, at, settings=self.settings, members=self.members)

    @cached_property
    def status(self) -> rota.TeamStatus:
        return self.status_at(self.now)


def _department_code(conversation: Conversation, team: Team) -> str:
    if conversation.department_id is None:
        return routing.SOCIAL_TEAM
    for code, department in team.departments.items():
        if department.pk == conversation.department_id:
            return code
    return routing.SOCIAL_TEAM


def facts_for(
    conversation: Conversation,
    message: InboundMessage,
    team: Team,
    followers: int | None = None,
) -> routing.Facts:
    channel = conversation.channel
    customer = conversation.customer
    handle = message.author_handle or (customer.handle if customer else "")
    return routing.Facts(
        channel_id=conversation.channel_id,
        network=channel.network,
        kind=message.kind,
        language=message.language,
        sentiment=message.sentiment,
        intent=message.intent,
        department=_department_code(conversation, team),
        text=message.text,
        at=message.created_at,
        zone=team.zone,
        followers=followers,
        vip=team.is_vip(channel.network, handle) if team.rules else False,
        team_open=lambda: team.hours.is_open(message.created_at),
    )


def route(
    team: Team,
    conversations: list[Conversation],
    first: dict[int, InboundMessage],
    followers: dict[str, int | None] | None = None,
) -> dict[int, routing.Decision]:
    """Run the rules over each new conversation's first message and apply what they decide."""
    decisions: dict[int, routing.Decision] = {}
    if not team.rules:
        return decisions
    labels_wanted: dict[int, list[str]] = {}
    records = []
    changed = []
    for conversation in conversations:
        message = first.get(conversation.pk)
        if message is None:
            continue
        facts = facts_for(conversation, message, team, (followers or {}).get(message.message_id))
        decision = routing.decide(team.rules, facts)
        if not decision.matched:
            continue
        decisions[conversation.pk] = decision
        setter = next(
            (name for _, name, changes in reversed(decision.matched) if "department" in changes),
            None,
        )
        if setter is not None:
            department = team.departments.get(decision.department)
            conversation.department = (
                department if department is not None and department.is_active else None
            )
            conversation.routed_to = decision.department
            conversation.routed_by = RoutedBy.RULE
            conversation.route_note = setter[:300]
        if decision.priority:
            conversation.priority = routing.PRIORITIES[decision.priority]
        if decision.assignee:
            member = next((m for m in team.members if m.pk == decision.assignee), None)
            if member is not None:
                conversation.assignee = member
        if decision.hide:
            conversation.state = ConversationState.SPAM
        if decision.labels:
            labels_wanted[conversation.pk] = decision.labels
        changed.append(conversation)
        records.append(
            Routing(
                conversation=conversation,
                triage_department=decision.triage_department,
                department=decision.department,
                matched=decision.trace(),
                hidden=decision.hide,
                escalated=decision.escalate,
            )
        )
    for conversation in changed:
        decision = decisions[conversation.pk]
        if decision.escalate:
            rule = next(name for _, name, changes in decision.matched if changes.get("escalate"))
            notices.escalated(conversation, rule, people=team.managers)
    if changed:
        save_rows(
            changed,
            ["department", "routed_to", "routed_by", "route_note", "priority", "assignee", "state"],
        )
        insert_rows(records)
    if labels_wanted:
        _label(team.workspace, labels_wanted)
    return decisions


def _label(workspace: Workspace, wanted: dict[int, list[str]]) -> None:
    names = {name for names in wanted.values() for name in names}
    existing = {label.name.lower(): label for label in Label.objects.filter(workspace=workspace)}
    missing = [name for name in names if name.lower() not in existing]
    if missing:
        Label.objects.bulk_create(
            [Label(workspace=workspace, name=name[:60]) for name in missing],
            ignore_conflicts=True,
        )
        existing = {
            label.name.lower(): label for label in Label.objects.filter(workspace=workspace)
        }
    through = Conversation.labels.through
    through.objects.bulk_create(
        [
            through(conversation_id=pk, label_id=existing[name.lower()].pk)
            for pk, names in wanted.items()
            for name in names
            if name.lower() in existing
        ],
        ignore_conflicts=True,
    )


def closed_replies(
    team: Team,
    conversations: list[Conversation],
    first: dict[int, InboundMessage],
) -> int:
    """The "closed" reply to each conversation that came in while nobody is on duty: written
    while the team was closed, within the last two hours, and the team still closed now (a
    message written on Saturday and synced on Monday morning gets none)."""
    texts = team.settings.closed_replies or {}
    if not texts:
        return 0
    sent = 0
    for conversation in conversations:
        message = first.get(conversation.pk)
        if message is None or conversation.state == ConversationState.SPAM:
            continue
        status = team.status  # now: a message from Saturday synced on Monday gets none
        if not status.closed or team.now - message.created_at > CLOSED_REPLY_WITHIN:
            continue
        if team.hours.is_open(message.created_at):
            continue  # written while the team was open: it is owed an answer, not an excuse
        customer_language = conversation.customer.language if conversation.customer else ""
        language = replies.pick_language(
            texts, message.language, customer_language, team.workspace.language
        )
        if language is None:
            continue
        opens = status.opens_at
        when = replies.when_text(opens, team.zone, language, team.now)
        text = texts[language].replace("{opens}", when)
        key = f"closed:{opens.isoformat() if opens else 'never'}"
        if replies.send(
            conversation, message, text, key=key, reason="closed", language=language, now=team.now
        ):
            sent += 1
    return sent


def rule_replies(
    team: Team,
    decisions: dict[int, routing.Decision],
    conversations: list[Conversation],
    first: dict[int, InboundMessage],
) -> int:
    sent = 0
    for conversation in conversations:
        decision = decisions.get(conversation.pk)
        if decision is None or not decision.auto_reply or decision.hide:
            continue
        message = first[conversation.pk]
        customer_language = conversation.customer.language if conversation.customer else ""
        language = replies.pick_language(
            decision.auto_reply, message.language, customer_language, team.workspace.language
        )
        if language is None:
            continue
        rule_id = next(
            pk for pk, _, changes in reversed(decision.matched) if "auto_reply" in changes
        )
        if replies.send(
            conversation,
            message,
            decision.auto_reply[language],
            key=f"rule:{rule_id}",
            reason="rule",
            language=language,
            now=team.now,
        ):
            sent += 1
    return sent


def on_ingested(ingested: Ingested) -> None:
    """The inbox's hook: rules, "closed" replies, SLA clocks and assignment for one batch."""
    channel = ingested.channel
    workspace = channel.workspace
    now = timezone.now()
    # Loaded once per page of the network's: the page's chunks share it.
    team = ingested.page.get("care_team")
    if team is None or team.workspace.pk != workspace.pk:
        team = ingested.page["care_team"] = Team.load(workspace, now)
    first: dict[int, InboundMessage] = {}
    first_new: dict[int, dt.datetime] = {}
    for message in ingested.messages:
        pk = message.conversation_id
        if pk is None:
            continue
        if pk not in first or message.created_at < first[pk].created_at:
            first[pk] = message
        if pk not in first_new or message.created_at < first_new[pk]:
            first_new[pk] = message.created_at
    new = list(ingested.new_conversations)
    for conversation in new:
        conversation.channel = channel
    followers = {key: item.author.followers for key, item in ingested.items.items()}
    decisions = route(team, new, first, followers)

    live = [c for c in new if c.state != ConversationState.SPAM]
    rule_replies(team, decisions, live, first)
    if not team.status.in_hours:
        closed_replies(team, live + list(ingested.reopened), first)

    sla.start_clocks(live, now=now, policies=team.policies)
    touched = list(ingested.touched_conversations)
    if touched:
        reopen_clocks(ingested.reopened, now)
        sla.note_customer_messages(first_new, touched)
        sla.sync(touched, now=now)

    if team.status.mode == "rota" or (
        team.status.mode == "open" and team.settings.assignment != Strategy.MANUAL
    ):
        made = assignment.assign_waiting(
            workspace, now=now, settings=team.settings, status=team.status
        )
        for conversation, member in made:
            conversation.workspace = workspace
            notices.assigned(conversation, member, on_duty=team.status.mode == "rota")


def reopen_clocks(conversations: list[Conversation], now: dt.datetime) -> None:
    """A resolved conversation the customer wrote to again: a new resolution cycle.

    (A conversation that was waiting for the customer resumes its paused clock instead.)"""
    if not conversations:
        return
    for clock in (
        SlaClock.objects.select_for_update(of=("self",))
        .filter(conversation__in=[c.pk for c in conversations], closed_at__isnull=False)
        .select_related("calendar")
    ):
        fields: dict[str, Any] = {"closed_at": None}
        if clock.resolution_target:
            warn, due = sla.warn_and_due(
                sla.hours_of(clock.calendar), now, clock.resolution_target, clock.warn_at_percent
            )
            fields.update(
                resolution_due_at=due,
                resolution_warn_at=warn,
                resolution_warned_at=None,
                resolution_breached_at=None,
                resolution_paused_at=None,
                resolution_left_seconds=None,
            )
        SlaClock.objects.filter(pk=clock.pk).update(**fields)


#: What a conversation action may change that moves its SLA clock.
CLOCK_FIELDS = frozenset(
    {"state", "first_response_at", "last_reply_at", "resolved_at", "snoozed_until"}
)


def on_conversation_changed(conversation: Conversation, fields: frozenset[str]) -> None:
    """The inbox actions' hook (an answer, waiting, resolving, reopening): the clock follows."""
    if fields & CLOCK_FIELDS:
        sla.conversation_changed(conversation)
