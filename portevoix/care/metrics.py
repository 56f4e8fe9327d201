"""Webcare metrics: first response time, resolution time, SLA compliance and volume by hour,
per member and per department, stored for analytics (:class:`~.models.WebcareStat`).

:func:`refresh` rebuilds the rows of a window of hours from the conversations, their messages
and their SLA clocks (idempotent: the window's rows are replaced in one transaction). The
``care-metrics`` housekeeping job refreshes the last two days every 15 minutes; ``summary``
reads any period back.

* **first response time**: from the conversation's start to the team's first reply, in
  calendar time and in the business time of its SLA calendar (calendar time without one);
* **resolution time**: from the start to ``resolved`` (calendar time);
* **SLA compliance**: first-response targets met (answered by the due time) against missed,
  counted in the hour it was decided;
* **volume**: customer messages and new conversations per hour.

A conversation counts for its current department and assignee.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from portevoix.core.models import Workspace
from portevoix.inbox.models import Conversation, InboundMessage

from .models import SlaClock, WebcareStat
from .sla import hours_of

Key = tuple[dt.datetime, int | None, int | None]  # hour, department, assignee
WINDOW = dt.timedelta(days=2)
COUNTERS = (
    "inbound",
    "conversations",
    "first_responses",
    "first_response_seconds",
    "first_response_business_seconds",
    "resolved",
    "resolution_seconds",
    "sla_met",
    "sla_breached",
)


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


@transaction.atomic
def refresh(workspace: Workspace, since: dt.datetime, until: dt.datetime) -> int:
    """Rebuild the workspace's rows for the hours from ``since`` to ``until``; returns rows."""
    start, end = hour_of(since), hour_of(until) + dt.timedelta(hours=1)
    rows: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def add(
        moment: dt.datetime, department: int | None, assignee: int | None, **values: int
    ) -> None:
        row = rows[(hour_of(moment), department, assignee)]
        for name, value in values.items():
            row[name] += value

    from portevoix.crisis.drills import exclude_drill_conversations as no_drills

    # Drill conversations (the sandbox during a crisis drill or busy evening) are training.
    messages = no_drills(
        InboundMessage.objects.filter(
            conversation__workspace=workspace, created_at__gte=start, created_at__lt=end
        ),
        workspace.pk,
        "conversation__",
    ).values_list("created_at", "conversation__department_id", "conversation__assignee_id")
    for created, department, assignee in messages:
        add(created, department, assignee, inbound=1)
    conversations = no_drills(
        Conversation.objects.filter(workspace=workspace).exclude(state="spam"), workspace.pk
    )
    for created, department, assignee in conversations.filter(
        created_at__gte=start, created_at__lt=end
    ).values_list("created_at", "department_id", "assignee_id"):
        add(created, department, assignee, conversations=1)
    answered = conversations.filter(
        first_response_at__gte=start, first_response_at__lt=end
    ).select_related("sla_clock__calendar")
    for conversation in answered:
        first = conversation.first_response_at
        assert first is not None
        took = max(first - conversation.created_at, dt.timedelta(0))
        clock = _clock(conversation)
        business = hours_of(clock.calendar if clock else None).between(
            conversation.created_at, first
        )
        values = {
            "first_responses": 1,
            "first_response_seconds": int(took.total_seconds()),
            "first_response_business_seconds": int(max(business, dt.timedelta(0)).total_seconds()),
        }
        due = clock.first_response_due_at if clock is not None else None
        if due is not None and first <= due and clock and clock.first_response_breached_at is None:
            values["sla_met"] = 1
        add(first, conversation.department_id, conversation.assignee_id, **values)
    for conversation in conversations.filter(resolved_at__gte=start, resolved_at__lt=end):
        resolved = conversation.resolved_at
        assert resolved is not None
        took = max(resolved - conversation.created_at, dt.timedelta(0))
        add(
            resolved,
            conversation.department_id,
            conversation.assignee_id,
            resolved=1,
            resolution_seconds=int(took.total_seconds()),
        )
    # A missed first-response target counts when it was missed (its due time).
    for clock in no_drills(
        SlaClock.objects.filter(
            conversation__workspace=workspace,
            first_response_due_at__gte=start,
            first_response_due_at__lt=end,
        ),
        workspace.pk,
        "conversation__",
    ).select_related("conversation"):
        conversation = clock.conversation
        due = clock.first_response_due_at
        assert due is not None
        answered_late = (
            conversation.first_response_at is not None and conversation.first_response_at > due
        )
        unanswered = conversation.first_response_at is None and due <= timezone.now()
        if (
            clock.first_response_breached_at is not None
            or answered_late
            or (unanswered and conversation.state != "spam")
        ):
            add(due, conversation.department_id, conversation.assignee_id, sla_breached=1)
    WebcareStat.objects.filter(workspace=workspace, hour__gte=start, hour__lt=end).delete()
    WebcareStat.objects.bulk_create(
        [
            WebcareStat(
                workspace=workspace,
                hour=hour,
                department_id=department,
                assignee_id=assignee,
                **values,
            )
            for (hour, department, assignee), values in sorted(rows.items(), key=_order)
        ],
        batch_size=500,
    )
    return len(rows)


def _order(item: tuple[Key, Any]) -> tuple[dt.datetime, int, int]:
    (hour, department, assignee), _values = item
    return hour, department or 0, assignee or 0


def _clock(conversation: Conversation) -> SlaClock | None:
    try:
        return conversation.sla_clock
    except SlaClock.DoesNotExist:
        return None


def refresh_recent(now: dt.datetime | None = None) -> int:
    """The housekeeping job: the last two days of every workspace with conversations."""
    now = now or timezone.now()
    since = now - WINDOW
    total = 0
    active = Conversation.objects.filter(updated_at__gte=since).values_list(
        "workspace_id", flat=True
    )
    for workspace in Workspace.objects.filter(pk__in=set(active)):
        total += refresh(workspace, since, now)
    return total


# --- reading ----------------------------------------------------------------------------------


@dataclass
class Totals:
    inbound: int = 0
    conversations: int = 0
    first_responses: int = 0
    first_response_seconds: int = 0
    first_response_business_seconds: int = 0
    resolved: int = 0
    resolution_seconds: int = 0
    sla_met: int = 0
    sla_breached: int = 0

    def add(self, row: WebcareStat | dict[str, int]) -> None:
        for name in COUNTERS:
            value = row[name] if isinstance(row, dict) else getattr(row, name)
            setattr(self, name, getattr(self, name) + value)

    @property
    def first_response_average(self) -> dt.timedelta | None:
        if not self.first_responses:
            return None
        return dt.timedelta(seconds=self.first_response_seconds / self.first_responses)

    @property
    def first_response_business_average(self) -> dt.timedelta | None:
        if not self.first_responses:
            return None
        return dt.timedelta(seconds=self.first_response_business_seconds / self.first_responses)

    @property
    def resolution_average(self) -> dt.timedelta | None:
        if not self.resolved:
            return None
        return dt.timedelta(seconds=self.resolution_seconds / self.resolved)

    @property
    def compliance(self) -> float | None:
        decided = self.sla_met + self.sla_breached
        return self.sla_met / decided if decided else None


@dataclass
class Summary:
    total: Totals = field(default_factory=Totals)
    by_department: dict[int | None, Totals] = field(default_factory=dict)
    by_assignee: dict[int | None, Totals] = field(default_factory=dict)
    #: Customer messages per local hour of the day (0..23), over the period.
    by_hour_of_day: list[int] = field(default_factory=lambda: [0] * 24)
    #: (local day, messages) per day of the period.
    by_day: list[tuple[dt.date, int]] = field(default_factory=list)


def summary(
    rows: Iterable[WebcareStat], zone: ZoneInfo, since: dt.datetime, until: dt.datetime
) -> Summary:
    result = Summary()
    days: dict[dt.date, int] = defaultdict(int)
    for row in rows:
        result.total.add(row)
        result.by_department.setdefault(row.department_id, Totals()).add(row)
        result.by_assignee.setdefault(row.assignee_id, Totals()).add(row)
        local = row.hour.astimezone(zone)
        result.by_hour_of_day[local.hour] += row.inbound
        days[local.date()] += row.inbound
    day = since.astimezone(zone).date()
    last = until.astimezone(zone).date()
    while day <= last:
        result.by_day.append((day, days.get(day, 0)))
        day += dt.timedelta(days=1)
    return result
