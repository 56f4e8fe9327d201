"""SLA clocks: first response, next response and resolution, counted in business time.

Each conversation gets one :class:`~portevoix.care.models.SlaClock` when it starts, with the
targets of the most specific active policy for its channel and priority (copied, so editing a
policy changes new conversations, not running clocks). The clock is background work
(``docs/worker.md``): while a deadline lies ahead it is ``running`` and due at its next
moment — a warning at the policy's percentage of a target, the breach at the target — when
the handler tells people (the assignee is warned; a breach escalates to the managers). It
is ``paused`` while the team waits for the customer (the resolution clock keeps the business
time it had left) and ``idle`` when nothing is owed.

* **first response**: from the conversation's first message to our first reply;
* **next response**: from the customer's first unanswered message after one of our replies
  to our next reply;
* **resolution**: from the first message to ``resolved``, paused while waiting for the
  customer.

:func:`sync` brings a clock up to date with its conversation; ingest and the conversation
actions call it in their transaction (:func:`conversation_changed`), and the handler calls it
before acting, so a missed call only delays a pause by one check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portevoix.core.bulk import insert_rows
from portevoix.inbox.models import Conversation, ConversationState
from portevoix.worker.models import Outcome

from .hours import BusinessHours
from .models import BusinessCalendar, SlaClock, SlaClockStates, SlaPolicy

TARGETS = ("first_response", "next_response", "resolution")
CLOSED_STATES = frozenset({ConversationState.RESOLVED, ConversationState.SPAM})
#: A clock that finds nothing to do looks again after this, as a safety net.
SAFETY_CHECK = dt.timedelta(hours=6)
#: A breach found later than this after the fact (the workers were stopped, or a backlog came
#: in already late) is recorded and counted, but not announced: nobody wants a hundred
#: escalations for yesterday at once.
ANNOUNCE_WITHIN = dt.timedelta(hours=1)

_hours_cache: dict[tuple[int, Any], BusinessHours] = {}


def hours_of(calendar: BusinessCalendar | None) -> BusinessHours:
    """A calendar's business hours (cached until it changes); around the clock without one."""
    if calendar is None:
        return BusinessHours.always()
    key = (calendar.pk, calendar.updated_at)
    found = _hours_cache.get(key)
    if found is None:
        if len(_hours_cache) > 500:
            _hours_cache.clear()
        found = _hours_cache[key] = calendar.hours()
    return found


def choose_policy(
    policies: Sequence[SlaPolicy], channel_id: int, priority: int
) -> SlaPolicy | None:
    """The most specific active policy: channel and priority, channel, priority, neither."""
    best: SlaPolicy | None = None
    for policy in policies:
        if not policy.is_active:
            continue
        if policy.channel_id is not None and policy.channel_id != channel_id:
            continue
        if policy.priority is not None and policy.priority != priority:
            continue
        if best is None or policy.specificity > best.specificity:
            best = policy
    return best


def warn_and_due(
    hours: BusinessHours, start: dt.datetime, minutes: int, percent: int
) -> tuple[dt.datetime | None, dt.datetime | None]:
    target = dt.timedelta(minutes=minutes)
    return hours.add(start, target * percent / 100), hours.add(start, target)


def new_clock(conversation: Conversation, policy: SlaPolicy) -> SlaClock:
    """A clock for a new conversation (not saved), its deadlines computed."""
    hours = hours_of(policy.calendar)
    clock = SlaClock(
        conversation=conversation,
        policy=policy,
        policy_name=policy.name,
        calendar=policy.calendar,
        first_response_target=policy.first_response_minutes,
        next_response_target=policy.next_response_minutes,
        resolution_target=policy.resolution_minutes,
        warn_at_percent=policy.warn_at_percent,
        started_at=conversation.created_at,
    )
    start = conversation.created_at
    if clock.first_response_target:
        clock.first_response_warn_at, clock.first_response_due_at = warn_and_due(
            hours, start, clock.first_response_target, clock.warn_at_percent
        )
    if clock.resolution_target:
        clock.resolution_warn_at, clock.resolution_due_at = warn_and_due(
            hours, start, clock.resolution_target, clock.warn_at_percent
        )
    return clock


def active_policies(workspace_id: int) -> list[SlaPolicy]:
    return list(
        SlaPolicy.objects.filter(workspace_id=workspace_id, is_active=True).select_related(
            "calendar"
        )
    )


def start_clocks(
    conversations: Iterable[Conversation],
    *,
    now: dt.datetime,
    policies: Sequence[SlaPolicy] | None = None,
) -> list[SlaClock]:
    """Clocks for conversations that have none yet (those no policy covers get none).
    ``policies``: the workspace's active ones, when the caller has them already."""
    conversations = [c for c in conversations if c.state not in CLOSED_STATES]
    if not conversations:
        return []
    if policies is None:
        policies = active_policies(conversations[0].workspace_id)
    if not policies:
        return []
    clocks = []
    for conversation in conversations:
        policy = choose_policy(policies, conversation.channel_id, conversation.priority)
        if policy is None:
            continue
        clock = new_clock(conversation, policy)
        apply_plan(clock, plan(clock, conversation, now))
        clocks.append(clock)
    insert_rows(clocks, ignore_conflicts=True)
    return clocks


# --- planning: what a clock should say, given its conversation --------------------------------


@dataclass
class Plan:
    fields: dict[str, Any]
    state: str
    next_at: dt.datetime | None


def plan(clock: SlaClock, conversation: Conversation, now: dt.datetime) -> Plan:
    """The clock's fields, state and next check for the conversation as it is now."""
    hours = hours_of(clock.calendar)
    fields: dict[str, Any] = {}
    closed = conversation.state in CLOSED_STATES
    # Next response: a cycle starts with the customer's first unanswered message after a
    # reply of ours, and ends with our next reply.
    started = clock.next_response_started_at
    answered_after = (
        conversation.last_reply_at is not None
        and started is not None
        and conversation.last_reply_at >= started
    )
    if started is not None and (answered_after or closed):
        due = clock.next_response_due_at
        met = clock.next_response_breached_at is None and (
            due is None or (conversation.last_reply_at or now) <= due
        )
        key = "next_responses_met" if met else "next_responses_breached"
        fields[key] = getattr(clock, key) + 1
        fields.update(
            next_response_started_at=None,
            next_response_due_at=None,
            next_response_warn_at=None,
            next_response_warned_at=None,
            next_response_breached_at=None,
        )
        started = None
    if (
        clock.next_response_target
        and not closed
        and conversation.first_response_at is not None
        and conversation.awaiting_reply
        and started is None
    ):
        since = max(conversation.last_inbound_at or now, conversation.last_reply_at or now)
        since = conversation.last_inbound_at or now
        warn, due = warn_and_due(hours, since, clock.next_response_target, clock.warn_at_percent)
        fields.update(
            next_response_started_at=since, next_response_due_at=due, next_response_warn_at=warn
        )
    # Resolution: paused while waiting for the customer.
    waiting = conversation.state == ConversationState.WAITING
    if clock.resolution_target and not closed:
        if waiting and clock.resolution_paused_at is None and clock.resolution_due_at:
            left = hours.between(now, clock.resolution_due_at)
            fields.update(
                resolution_paused_at=now, resolution_left_seconds=int(left.total_seconds())
            )
        elif not waiting and clock.resolution_paused_at is not None:
            left = dt.timedelta(seconds=clock.resolution_left_seconds or 0)
            total = dt.timedelta(minutes=clock.resolution_target)
            warned_part = total * (100 - clock.warn_at_percent) / 100
            due = hours.add(now, left) if left > dt.timedelta(0) else now - (-left)
            warn = hours.add(now, left - warned_part) if left > warned_part else None
            fields.update(
                resolution_paused_at=None,
                resolution_left_seconds=None,
                resolution_due_at=due,
                resolution_warn_at=warn if clock.resolution_warned_at is None else None,
            )
    if closed and clock.closed_at is None:
        fields["closed_at"] = now
    merged = {**_values(clock), **fields}
    moments = _pending_moments(merged, conversation, closed, waiting, now)
    if closed:
        state = SlaClockStates.idle.name
    elif moments:
        state = SlaClockStates.running.name
    elif waiting and clock.resolution_target:
        state = SlaClockStates.paused.name
    else:
        state = SlaClockStates.idle.name
    next_at = min(moments) if moments else None
    return Plan(fields=fields, state=state, next_at=next_at)


def _values(clock: SlaClock) -> dict[str, Any]:
    return {f.attname: getattr(clock, f.attname) for f in clock._meta.concrete_fields}


def _pending_moments(
    values: dict[str, Any],
    conversation: Conversation,
    closed: bool,
    waiting: bool,
    now: dt.datetime,
) -> list[dt.datetime]:
    """The warn and due moments still to act on (past ones included: they are overdue)."""
    if closed:
        return []
    moments = []
    owed = {
        "first_response": conversation.first_response_at is None,
        "next_response": values.get("next_response_started_at") is not None,
        "resolution": not waiting and values.get("resolution_paused_at") is None,
    }
    for target in TARGETS:
        if not owed[target] or not values.get(f"{target}_due_at"):
            continue
        if values.get(f"{target}_breached_at") is None:
            moments.append(values[f"{target}_due_at"])
            warn = values.get(f"{target}_warn_at")
            if warn is not None and values.get(f"{target}_warned_at") is None:
                moments.append(warn)
    return moments


def apply_plan(clock: SlaClock, result: Plan) -> None:
    for name, value in result.fields.items():
        setattr(clock, name, value)
    clock.state = result.state
    clock.state_changed_at = timezone.now()
    clock.next_attempt_at = result.next_at if result.state == "running" else None


# --- keeping clocks in step with their conversations --------------------------------------------


def sync(conversations: Iterable[Conversation], *, now: dt.datetime | None = None) -> int:
    """Bring the clocks of ``conversations`` up to date, in the caller's transaction.

    A clock a worker holds is taken back (its lease cleared): the worker's result is then
    discarded and the row is due again at its new moment.
    """
    now = now or timezone.now()
    by_id = {c.pk: c for c in conversations}
    if not by_id:
        return 0
    changed = 0
    with transaction.atomic():
        clocks = SlaClock.objects.select_for_update(of=("self",)).filter(
            conversation_id__in=list(by_id)
        )
        for clock in clocks.select_related("calendar"):
            result = plan(clock, by_id[clock.conversation_id], now)
            next_at = result.next_at if result.state == "running" else None
            if (
                not result.fields
                and result.state == clock.state
                and next_at == clock.next_attempt_at
            ):
                continue
            apply_plan(clock, result)
            clock.locked_by, clock.locked_until = "", None
            clock.attempts, clock.last_error = 0, ""
            clock.save()
            changed += 1
    return changed


def conversation_changed(conversation: Conversation, *, now: dt.datetime | None = None) -> None:
    """For the conversation actions: call after a reply, a change of state or priority."""
    sync([conversation], now=now)


def note_customer_messages(
    first_new: dict[int, dt.datetime], conversations: Iterable[Conversation]
) -> None:
    """Ingest saw new customer messages: start next-response cycles where one is owed."""
    wanted = [c for c in conversations if c.pk in first_new]
    if not wanted:
        return
    for clock in SlaClock.objects.select_for_update().filter(
        conversation_id__in=[c.pk for c in wanted],
        next_response_started_at__isnull=True,
        next_response_target__isnull=False,
    ):
        conversation = next(c for c in wanted if c.pk == clock.conversation_id)
        if conversation.first_response_at is None or not conversation.awaiting_reply:
            continue
        start = max(first_new[clock.conversation_id], conversation.last_reply_at or start_of_time())
        warn, due = warn_and_due(
            hours_of(clock.calendar), start, clock.next_response_target or 0, clock.warn_at_percent
        )
        SlaClock.objects.filter(pk=clock.pk).update(
            next_response_started_at=start, next_response_due_at=due, next_response_warn_at=warn
        )


def start_of_time() -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# --- the handler: warnings and escalations ---------------------------------------------------


def handle_running(clock: SlaClock) -> Outcome:
    """Warn before a deadline, escalate after it, then sleep until the next moment."""
    from . import notices

    now = timezone.now()
    with clock.leased_atomic():
        fresh = (
            SlaClock.objects.select_for_update(of=("self",))
            .select_related("conversation", "conversation__workspace", "calendar")
            .get(pk=clock.pk)
        )
        conversation = fresh.conversation
        result = plan(fresh, conversation, now)
        for name, value in result.fields.items():
            setattr(fresh, name, value)
        told: dict[str, Any] = {}
        if result.state == "running":
            waiting = conversation.state == ConversationState.WAITING
            owed = {
                "first_response": conversation.first_response_at is None,
                "next_response": fresh.next_response_started_at is not None,
                "resolution": not waiting and fresh.resolution_paused_at is None,
            }
            for target in TARGETS:
                due = getattr(fresh, f"{target}_due_at")
                if not owed[target] or due is None:
                    continue
                warn = getattr(fresh, f"{target}_warn_at")
                if now >= due and getattr(fresh, f"{target}_breached_at") is None:
                    told[f"{target}_breached_at"] = now
                    if getattr(fresh, f"{target}_warned_at") is None:
                        told[f"{target}_warned_at"] = now
                    if now - due <= ANNOUNCE_WITHIN:
                        if fresh.escalated_at is None:
                            told["escalated_at"] = now
                        notices.sla_breached(fresh, target, due)
                elif (
                    warn is not None
                    and now >= warn
                    and getattr(fresh, f"{target}_warned_at") is None
                ):
                    told[f"{target}_warned_at"] = now
                    notices.sla_warning(fresh, target, due)
            for name, value in told.items():
                setattr(fresh, name, value)
            result = plan(fresh, conversation, now)
            for name, value in result.fields.items():
                setattr(fresh, name, value)
        columns = {**result.fields, **told}
        if columns:
            SlaClock.objects.filter(pk=fresh.pk).update(**columns)
    if result.state != "running":
        return Outcome(result.state)
    return Outcome("running", at=result.next_at or now + SAFETY_CHECK)


# --- what the clock shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """The clock as a conversation shows it: the most pressing target."""

    target: str  # first_response, next_response, resolution
    status: str  # ok, warning, breached, paused, met, none
    due_at: dt.datetime | None
    #: Business time left (negative: late).
    left: dt.timedelta | None
    policy: str
    escalated: bool = False


def read(clock: SlaClock | None, conversation: Conversation, now: dt.datetime) -> Reading | None:
    """What to show on a conversation; None when no policy applies."""
    if clock is None:
        return None
    hours = hours_of(clock.calendar)
    escalated = clock.escalated_at is not None
    if conversation.state in CLOSED_STATES:
        return Reading("resolution", "met", conversation.resolved_at, None, clock.policy_name)
    candidates: list[tuple[str, dt.datetime]] = []
    if conversation.first_response_at is None and clock.first_response_due_at:
        candidates.append(("first_response", clock.first_response_due_at))
    if (
        conversation.first_response_at is not None
        and clock.next_response_due_at
        and conversation.awaiting_reply
    ):
        candidates.append(("next_response", clock.next_response_due_at))
    if conversation.state == ConversationState.WAITING and clock.resolution_target:
        left = dt.timedelta(seconds=clock.resolution_left_seconds or 0)
        if not candidates:
            return Reading("resolution", "paused", None, left, clock.policy_name, escalated)
    elif clock.resolution_due_at:
        candidates.append(("resolution", clock.resolution_due_at))
    if not candidates:
        if conversation.first_response_at is not None and clock.first_response_due_at:
            return Reading(
                "first_response",
                "met"
                if conversation.first_response_at <= clock.first_response_due_at
                else "breached",
                clock.first_response_due_at,
                None,
                clock.policy_name,
                escalated,
            )
        return None
    target, due = min(candidates, key=lambda item: item[1])
    left = hours.between(now, due) if now < due else -(now - due)
    warn = getattr(clock, f"{target}_warn_at")
    if now >= due:
        status = "breached"
    elif warn is not None and now >= warn:
        status = "warning"
    else:
        status = "ok"
    return Reading(target, status, due, left, clock.policy_name, escalated)


def breached_filter(prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}first_response_breached_at__isnull": False})
        | Q(**{f"{prefix}next_response_breached_at__isnull": False})
        | Q(**{f"{prefix}resolution_breached_at__isnull": False})
    )
