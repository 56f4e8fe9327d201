"""Who is on duty: the team's hours, the rota out of hours, and what to tell a customer.

* In the team's business hours (its calendar; around the clock without one) every member who
  answers conversations and is *available* is on duty.
* Out of hours, with the rota (the default), the members with a shift at that moment are on
  duty; with nobody on shift, or with "closed", the team is closed: new conversations get
  the automatic reply that says when the team will answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Q

from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import Role, can

from .hours import BusinessHours
from .models import AfterHours, AgentProfile, RotaShift, WebcareSettings, workspace_settings

#: Roles that receive conversations automatically unless they say otherwise.
AUTO_ASSIGNED_ROLES = frozenset({Role.CONTENT, Role.AGENT})


@dataclass
class TeamStatus:
    """The team at one moment."""

    at: dt.datetime
    in_hours: bool
    #: "open" (business hours), "rota" (out of hours, someone on duty) or "closed".
    mode: str
    on_duty: list[Member] = field(default_factory=list)
    #: When the team opens next (None: open now, or never).
    opens_at: dt.datetime | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def closed(self) -> bool:
        return self.mode == "closed"


def team_hours(settings: WebcareSettings) -> BusinessHours:
    from .sla import hours_of

    return hours_of(settings.calendar)


def team_zone(settings: WebcareSettings, workspace: Workspace) -> ZoneInfo:
    if settings.calendar is not None:
        return settings.calendar.zone
    return ZoneInfo(workspace.time_zone)


def shift_member_ids(workspace_id: int, at: dt.datetime) -> set[int]:
    """Members with a shift at ``at``."""
    return set(
        RotaShift.objects.filter(
            workspace_id=workspace_id, starts_at__lte=at, ends_at__gt=at, member__is_active=True
        ).values_list("member_id", flat=True)
    )


def replying_members(workspace_id: int) -> list[Member]:
    members = Member.objects.filter(workspace_id=workspace_id, is_active=True).select_related(
        "user", "department"
    )
    return [m for m in members if can(m, "inbox.reply")]


def profiles(members: list[Member]) -> dict[int, AgentProfile]:
    return {p.member_id: p for p in AgentProfile.objects.filter(member__in=[m.pk for m in members])}


def status(
    workspace: Workspace,
    at: dt.datetime,
    *,
    settings: WebcareSettings | None = None,
    members: list[Member] | None = None,
) -> TeamStatus:
    """Who is on duty at ``at``, and whether the team counts as closed."""
    settings = settings or workspace_settings(workspace)
    hours = team_hours(settings)
    zone = team_zone(settings, workspace)
    members = replying_members(workspace.pk) if members is None else members
    if hours.is_open(at):
        found = profiles(members)
        on_duty = [m for m in members if found.get(m.pk) is None or found[m.pk].available]
        return TeamStatus(at, True, "open", on_duty, None, zone)
    opens = hours.next_open(at)
    if settings.after_hours == AfterHours.ROTA:
        ids = shift_member_ids(workspace.pk, at)
        on_duty = [m for m in members if m.pk in ids]
        if on_duty:
            return TeamStatus(at, False, "rota", on_duty, opens, zone)
    return TeamStatus(at, False, "closed", [], opens, zone)


def shifts_between(workspace: Workspace, start: dt.datetime, end: dt.datetime) -> list[RotaShift]:
    return list(
        RotaShift.objects.filter(workspace=workspace, starts_at__lt=end, ends_at__gt=start)
        .select_related("member__user")
        .order_by("starts_at", "id")
    )


def next_shift(member: Member, at: dt.datetime) -> RotaShift | None:
    return (
        RotaShift.objects.filter(member=member)
        .filter(Q(ends_at__gt=at))
        .order_by("starts_at")
        .first()
    )
