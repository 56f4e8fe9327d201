"""Webcare rules: business hours, SLA policies, the on-call rota, routing rules, assignment.

These rows say *how* the team works; the conversations they apply to live in the inbox. Every
write goes through :mod:`portevoix.care.actions`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import MemberLike, RestrictedQuerySet, can
from portevoix.inbox.models import Conversation, Priority
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel

from .hours import BusinessHours


def empty_week() -> list[list[list[int]]]:
    """Monday to Friday, 09:00-12:30 and 13:30-18:00; closed at the weekend."""
    office = [[540, 750], [810, 1080]]
    return [list(office) for _ in range(5)] + [[], []]


class BusinessCalendar(models.Model):
    """When a team is open: several slots a day, holidays, in one time zone."""

    VIEW_ACTION = "inbox.view_all"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="business_calendars"
    )
    name = models.CharField(_("name"), max_length=80)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    #: Seven lists (Monday first) of [start, end] minutes since local midnight.
    week = models.JSONField(_("opening hours"), default=empty_week)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="calendar_name_unique")
        ]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def hours(self) -> BusinessHours:
        """The calendar as business-time arithmetic (one query for the holidays)."""
        holidays, yearly = set(), set()
        for day, every_year in self.holidays.values_list("date", "every_year"):
            if every_year:
                yearly.add((day.month, day.day))
            else:
                holidays.add(day)
        return BusinessHours(
            self.zone,
            tuple(tuple((int(s), int(e)) for s, e in day) for day in self.week),
            frozenset(holidays),
            frozenset(yearly),
        )


class Holiday(models.Model):
    """A day the calendar's team is closed (every year, or once)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=80, blank=True)
    every_year = models.BooleanField(_("every year"), default=False)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique")]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class AfterHours(models.TextChoices):
    ROTA = "rota", _("The member on duty answers (the rota); closed if nobody is on duty")
    CLOSED = "closed", _("Closed: an automatic reply says when the team will answer")


class Strategy(models.TextChoices):
    MANUAL = "manual", _("Nobody: people take conversations themselves")
    ROUND_ROBIN = "round_robin", _("Round-robin: each in turn")
    LEAST_LOADED = "least_loaded", _("Least loaded: whoever has the fewest open conversations")


DEFAULT_CLOSED_REPLY = {
    "fr": (
        "Merci pour votre message ! Notre équipe est fermée pour le moment ; nous vous "
        "répondrons {opens}."
    ),
    "en": "Thank you for your message! Our team is closed right now; we will answer {opens}.",
}


def default_closed_replies() -> dict[str, str]:
    return dict(DEFAULT_CLOSED_REPLY)


class WebcareSettings(models.Model):
    """How a workspace's webcare runs: its hours, out of hours, and who gets what."""

    VIEW_ACTION = "inbox.view_all"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="webcare")
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("the team's hours"),
    )
    after_hours = models.CharField(
        _("outside these hours"), max_length=8, choices=AfterHours.choices, default=AfterHours.ROTA
    )
    #: Language -> text of the "closed" reply; ``{opens}`` becomes when the team answers.
    closed_replies = models.JSONField(
        _("automatic reply when closed"), default=default_closed_replies
    )
    assignment = models.CharField(
        _("automatic assignment"), max_length=16, choices=Strategy.choices, default=Strategy.MANUAL
    )
    default_capacity = models.PositiveSmallIntegerField(
        _("open conversations per person"),
        default=10,
        help_text=_(
            "Automatic assignment gives nobody more than this (unless their own limit differs)."
        ),
    )
    #: Triage's ``thorough`` design for this workspace's inbox: every message read by the
    #: language model (docs/triage.md, "Careful triage"); the cascade otherwise.
    careful_triage = models.BooleanField(_("careful triage"), default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webcare settings")
        verbose_name_plural = _("webcare settings")

    def __str__(self) -> str:
        # The audit log keeps this in no language, like the other settings: the workspace.
        return str(self.workspace)


class AgentProfile(models.Model):
    """A member as webcare sees them: taking assignments or away, and their capacity."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="agent_profile")
    capacity = models.PositiveSmallIntegerField(
        _("open conversations at most"),
        null=True,
        blank=True,
        help_text=_("Empty: the workspace's default."),
    )
    #: Empty: by role (content marketers and department agents do, admins and managers not).
    auto_assign = models.BooleanField(
        _("receives conversations automatically"), null=True, blank=True, default=None
    )
    available = models.BooleanField(_("available"), default=True)
    #: When automatic assignment last gave this member a conversation (round-robin's turn).
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.member)


class SlaPolicy(models.Model):
    """Response-time targets for one channel and priority (either may be "any").

    Counted in the calendar's business time (around the clock without a calendar). The most
    specific active policy applies: channel and priority, then channel, then priority, then
    the workspace's default (neither).
    """

    VIEW_ACTION = "inbox.view_all"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(_("name"), max_length=80)
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        verbose_name=_("channel"),
    )
    #: Empty: any priority.
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, null=True, blank=True
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sla_policies",
        verbose_name=_("counted in the hours of"),
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response within (minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolved within (minutes)"), null=True, blank=True
    )
    warn_at_percent = models.PositiveSmallIntegerField(_("warn at (% of the target)"), default=80)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="sla_policy_name_unique")
        ]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return (2 if self.channel_id else 0) + (1 if self.priority is not None else 0)

    def targets(self) -> dict[str, dt.timedelta]:
        found = {}
        for name in ("first_response", "next_response", "resolution"):
            minutes = getattr(self, f"{name}_minutes")
            if minutes:
                found[name] = dt.timedelta(minutes=minutes)
        return found


def _webcare_rows(queryset: Any, member: MemberLike) -> Any:
    """Whoever works in the inbox (the social team, department agents, analysts) sees it."""
    if can(member, "inbox.view_all") or can(member, "inbox.view_assigned"):
        return queryset
    return queryset.none()


class RotaShift(models.Model):
    """Who is on duty when, out of business hours (evenings, weekends)."""

    VIEW_ACTION = None
    objects = RestrictedQuerySet.as_manager()
    restrict_rows = staticmethod(_webcare_rows)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="rota_shifts")
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("on duty")
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["workspace", "ends_at", "starts_at"])]
        verbose_name = _("rota shift")
        verbose_name_plural = _("rota shifts")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.starts_at:%Y-%m-%d %H:%M} → {self.ends_at:%H:%M}"


class SwapState(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Withdrawn")


class ShiftSwap(models.Model):
    """A member asks a colleague to take their shift, perhaps against one of the colleague's."""

    VIEW_ACTION = None
    WORKSPACE_PATH = "shift__workspace"
    objects = RestrictedQuerySet.as_manager()
    restrict_rows = staticmethod(_webcare_rows)

    shift = models.ForeignKey(RotaShift, on_delete=models.CASCADE, related_name="swaps")
    requested_by = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    offered_to = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    in_exchange = models.ForeignKey(
        RotaShift, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.CharField(_("message"), max_length=300, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=SwapState.choices, default=SwapState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("shift swap")
        verbose_name_plural = _("shift swaps")

    def __str__(self) -> str:
        return f"swap {self.shift_id} → {self.offered_to_id} ({self.state})"


class RoutingRule(models.Model):
    """A condition over an inbound message and what to do when it holds, in an explicit order."""

    VIEW_ACTION = "inbox.view_all"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="routing_rules")
    position = models.PositiveIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=120)
    #: The condition's tree (see ``routing.py``); shown back in the reader's language.
    conditions = models.JSONField(_("condition"), default=dict)
    #: What the rule does: ``routing.Actions.to_json()``.
    actions = models.JSONField(_("actions"), default=dict)
    stop = models.BooleanField(_("stop here"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name


class VipAuthor(models.Model):
    """An author the team treats with care: a journalist, a partner, a key customer."""

    VIEW_ACTION = "inbox.view_all"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="vip_authors")
    handle = models.CharField(_("handle"), max_length=300)
    #: Empty: the handle on any network.
    network = models.CharField(_("network"), max_length=32, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["handle"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "handle"], name="vip_author_unique"
            )
        ]
        verbose_name = _("VIP author")
        verbose_name_plural = _("VIP authors")

    def __str__(self) -> str:
        return self.handle


def may_configure(member: MemberLike | None) -> bool:
    return can(member, "inbox.configure")


def workspace_settings(workspace: Workspace) -> WebcareSettings:
    """The workspace's webcare settings; the defaults (not saved) until someone sets them."""
    found = WebcareSettings.objects.filter(workspace=workspace).select_related("calendar").first()
    return found if found is not None else WebcareSettings(workspace=workspace)


__all__: list[Any] = [
    "AfterHours",
    "AgentProfile",
    "BusinessCalendar",
    "Holiday",
    "RotaShift",
    "RoutingRule",
    "ShiftSwap",
    "SlaClock",
    "SlaClockStates",
    "SlaPolicy",
    "Strategy",
    "SwapState",
    "VipAuthor",
    "WebcareSettings",
]


# --- SLA clocks ---------------------------------------------------------------------------------


class SlaClockStates(StateGraph):
    # Deadlines ahead: the handler warns before each and escalates after it, then sleeps until
    # the next one. ``sla.sync`` moves the row when the conversation changes.
    running = State(initial=True, handler="handle_running", try_interval=600, max_attempts=10)
    # Waiting for the customer: the resolution clock is paused, nothing else is owed.
    paused = State()
    # Nothing to watch: every target met or breached, or the conversation resolved or spam.
    idle = State()
    failed = State(failure=True)
    running.transitions_to(running, paused, idle)
    paused.transitions_to(running, idle)
    idle.transitions_to(running, paused)
    failed.transitions_to(running, paused, idle)


class SlaClock(StatefulModel):
    """One conversation's SLA: its targets (copied from the policy when it started), when each
    is due in business time, whether it was warned about and breached."""

    STATE_GRAPH = SlaClockStates
    WORKSPACE_PATH = "conversation__workspace"
    VIEW_ACTION = None
    CLAIM_RELATED = ("conversation", "conversation__workspace", "calendar")
    objects = RestrictedQuerySet.as_manager()

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="sla_clock"
    )
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="clocks"
    )
    policy_name = models.CharField(max_length=80, blank=True)
    #: The hours the targets count in; empty: around the clock.
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_response_target = models.PositiveIntegerField(null=True, blank=True)  # minutes
    next_response_target = models.PositiveIntegerField(null=True, blank=True)
    resolution_target = models.PositiveIntegerField(null=True, blank=True)
    warn_at_percent = models.PositiveSmallIntegerField(default=80)
    started_at = models.DateTimeField(default=timezone.now)

    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)

    #: The customer's first unanswered message since our last reply.
    next_response_started_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_warn_at = models.DateTimeField(null=True, blank=True)
    next_response_warned_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    next_responses_met = models.PositiveIntegerField(default=0)
    next_responses_breached = models.PositiveIntegerField(default=0)

    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    #: While waiting for the customer: since when, and the business time that was left.
    resolution_paused_at = models.DateTimeField(null=True, blank=True)
    resolution_left_seconds = models.BigIntegerField(null=True, blank=True)

    escalated_at = models.DateTimeField(null=True, blank=True)
    #: When the clock saw its conversation resolved (or spam); a new message then starts a
    #: new resolution cycle.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")

    def __str__(self) -> str:
        return f"SLA of {self.conversation_id} ({self.state})"

    @classmethod
    def restrict_rows(cls, queryset: Any, member: MemberLike) -> Any:
        allowed = Conversation.objects.visible_to(member).values("pk")
        return queryset.filter(conversation__in=allowed)

    def handle_running(self) -> Outcome:
        from portevoix.care import sla

        outcome: Outcome = sla.handle_running(self)
        return outcome


class AutoReply(models.Model):
    """An automatic reply sent in a conversation: once per conversation and reason (the team
    was closed until a given opening, or a given rule)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="auto_replies"
    )
    #: "closed:<opening>" or "rule:<id>": the same key is never sent twice in a conversation.
    key = models.CharField(max_length=80)
    reason = models.CharField(max_length=8)  # closed, rule
    reply = models.OneToOneField(
        "inbox.Reply", on_delete=models.CASCADE, related_name="automatic", null=True, blank=True
    )
    language = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "key"], name="auto_reply_once")
        ]
        verbose_name = _("automatic reply")
        verbose_name_plural = _("automatic replies")

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.key}"


class Routing(models.Model):
    """Why a conversation went where it went: the rules that matched its first message."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="routing"
    )
    #: Triage's department (the input) and what the rules made of it.
    triage_department = models.CharField(max_length=32, blank=True)
    department = models.CharField(max_length=32, blank=True)
    #: ``[{"rule": id, "name": ..., "set": {...}}]`` in the order the rules applied.
    matched = models.JSONField(default=list, blank=True)
    hidden = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    #: The team's mode when it came in: open, rota or closed.
    team_mode = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("routing decision")
        verbose_name_plural = _("routing decisions")

    def __str__(self) -> str:
        return f"routing of {self.conversation_id}"


class WebcareStat(models.Model):
    """One hour of webcare for one department and one assignee, stored for analytics.

    Rebuilt by the ``care-metrics`` housekeeping job for the last hours (see ``metrics.py``);
    sums, so any period and any grouping add up.
    """

    VIEW_ACTION = "inbox.view_all"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webcare_stats")
    hour = models.DateTimeField(_("hour"))  # the start of the hour, UTC
    department = models.ForeignKey(
        "core.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Messages customers wrote, conversations that started.
    inbound = models.PositiveIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0)
    #: Conversations whose first response came this hour, and the time it took (sums).
    first_responses = models.PositiveIntegerField(default=0)
    first_response_seconds = models.BigIntegerField(default=0)
    first_response_business_seconds = models.BigIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolution_seconds = models.BigIntegerField(default=0)
    #: First-response targets met or missed this hour.
    sla_met = models.PositiveIntegerField(default=0)
    sla_breached = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["hour"]
        indexes = [models.Index(fields=["workspace", "hour"])]
        verbose_name = _("webcare statistic")
        verbose_name_plural = _("webcare statistics")

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.hour:%Y-%m-%d %H}h"
