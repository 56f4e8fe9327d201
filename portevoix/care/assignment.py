"""Automatic assignment: round-robin or least loaded, within each member's capacity, only to
members on duty, the conversations that have waited longest first.

Who may receive a conversation:

* in business hours, the members on duty (available) who receive conversations
  automatically (content marketers and department agents unless they opt out; admins and
  managers if they opt in): a conversation of a department goes to that department's members,
  one of the social team to the members who see every conversation;
* out of hours, the members on the rota at that moment, whatever the department (they look
  at everything and hand off on the next working day), with the workspace's strategy (least
  loaded when assignment is otherwise manual);
* nobody when the team is closed.

A member never gets more open conversations (new or open) than their capacity (their own,
else the workspace's default). Assignment runs under a lock on the workspace's row, so two
syncs at once cannot both give the last free place.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from django.db.models import Case, Count, Q, Value, When
from django.utils import timezone

from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import can, member_roles
from portevoix.inbox.models import ACTIVE_STATES, Conversation
from portevoix.strategy.responsibility import webcare_member_ids

from . import rota
from .models import AgentProfile, Strategy, WebcareSettings, workspace_settings

#: How many waiting conversations one pass looks at.
BACKLOG = 500


def receives(member: Member, profile: AgentProfile | None, webcare: set[int] | None = None) -> bool:
    """Does this member get conversations automatically? Their own setting first; then the
    responsibility matrix (``webcare``: those responsible or backup for webcare, None while
    the matrix names nobody for it); then their role."""
    if profile is not None and profile.auto_assign is not None:
        return profile.auto_assign
    if webcare is not None:
        return member.pk in webcare
    return bool(member_roles(member) & rota.AUTO_ASSIGNED_ROLES)


def capacity(profile: AgentProfile | None, settings: WebcareSettings) -> int:
    if profile is not None and profile.capacity:
        return int(profile.capacity)
    return int(settings.default_capacity)


def loads(workspace_id: int, member_ids: Sequence[int]) -> Counter[int]:
    rows = (
        Conversation.objects.filter(
            workspace_id=workspace_id, assignee_id__in=list(member_ids), state__in=ACTIVE_STATES
        )
        .values("assignee_id")
        .annotate(n=Count("id"))
    )
    return Counter({row["assignee_id"]: row["n"] for row in rows})


def assign_waiting(
    workspace: Workspace,
    *,
    now: dt.datetime | None = None,
    settings: WebcareSettings | None = None,
    status: rota.TeamStatus | None = None,
) -> list[tuple[Conversation, Member]]:
    """Give waiting unassigned conversations to members on duty; returns who got what.

    Runs in the caller's transaction (ingest's, or the periodic job's).
    """
    now = now or timezone.now()
    settings = settings or workspace_settings(workspace)
    Workspace.objects.select_for_update().filter(pk=workspace.pk).values_list("pk").first()
    status = status or rota.status(workspace, now, settings=settings)
    if status.mode == "closed":
        return []
    strategy = settings.assignment
    if status.mode == "open" and strategy == Strategy.MANUAL:
        return []
    if strategy == Strategy.MANUAL:
        strategy = Strategy.LEAST_LOADED
    found = rota.profiles(status.on_duty)
    if status.mode == "open":
        webcare = webcare_member_ids(workspace.pk)
        people = [m for m in status.on_duty if receives(m, found.get(m.pk), webcare)]
    else:
        people = list(status.on_duty)
    if not people:
        return []
    limits = {m.pk: capacity(found.get(m.pk), settings) for m in people}
    load = loads(workspace.pk, list(limits))
    if all(load[pk] >= limits[pk] for pk in limits):
        return []
    turn = {
        m.pk: (found[m.pk].last_assigned_at if m.pk in found else None)
        or dt.datetime.min.replace(tzinfo=dt.UTC)
        for m in people
    }
    social = {m.pk for m in people if can(m, "inbox.view_all")}
    waiting = Conversation.objects.filter(
        workspace=workspace, assignee__isnull=True, state__in=ACTIVE_STATES
    )
    if status.mode == "open":
        # Only what someone with room could take: a full department's backlog stays put.
        free = [m for m in people if load[m.pk] < limits[m.pk]]
        served = Q(department_id__in={m.department_id for m in free if m.department_id})
        if any(m.pk in social for m in free):
            served |= Q(department__isnull=True)
        waiting = waiting.filter(served)
    queue = waiting.order_by("created_at", "id").select_related("customer", "channel")[:BACKLOG]
    # Turns only move forward, even when two passes share a clock reading.
    base = max([now, *turn.values()])
    made: list[tuple[Conversation, Member]] = []
    tick = 0
    for conversation in queue:
        if status.mode == "open":
            pool = [
                m
                for m in people
                if (m.department_id == conversation.department_id)
                or (conversation.department_id is None and m.pk in social)
            ]
        else:
            pool = people
        pool = [m for m in pool if load[m.pk] < limits[m.pk]]
        if not pool:
            continue
        if strategy == Strategy.LEAST_LOADED:
            chosen = min(pool, key=lambda m: (load[m.pk], turn[m.pk], m.pk))
        else:
            chosen = min(pool, key=lambda m: (turn[m.pk], m.pk))
        tick += 1
        turn[chosen.pk] = base + dt.timedelta(microseconds=tick)
        load[chosen.pk] += 1
        conversation.assignee = chosen
        made.append((conversation, chosen))
        if all(load[pk] >= limits[pk] for pk in limits):
            break
    if not made:
        return []
    # One statement; a conversation someone assigned meanwhile keeps its assignee.
    Conversation.objects.filter(pk__in=[c.pk for c, _ in made], assignee__isnull=True).update(
        assignee_id=Case(*(When(pk=c.pk, then=Value(m.pk)) for c, m in made)), updated_at=now
    )
    used = {member.pk for _, member in made}
    existing = set(
        AgentProfile.objects.filter(member_id__in=used).values_list("member_id", flat=True)
    )
    AgentProfile.objects.bulk_create(
        [AgentProfile(member_id=pk, last_assigned_at=turn[pk]) for pk in used - existing]
    )
    for pk in used & existing:
        AgentProfile.objects.filter(member_id=pk).update(last_assigned_at=turn[pk])
    return made
