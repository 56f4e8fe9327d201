"""The impact of a crisis across the workspaces of one member (issue 12 §5: "impact assessed per
brand workspace and, for members of several workspaces, across them").

An agency's manager, or a group's communication lead, belongs to several brand workspaces. For
an incident they look at, :func:`assess` gives, for each workspace *they belong to* (active
membership, workspace not archived, ``crisis.view`` there), over the incident's window: the
alerts raised, the incidents open, the inbound volume (the inbox's messages and listening's
mentions, as detection counts them, :mod:`portevoix.crisis.signals`) and its negative share,
and the scheduled posts whose text holds one of the crisis's terms (those that member may see
in that workspace). Nothing is read from a workspace the member does not belong to: every
query is made with that workspace's own membership.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from portevoix.core.models import Member
from portevoix.core.permissions import can

from . import actions
from .models import Alert, Incident
from .signals import gather

#: Before the incident opened, its window starts this early (or at its alert's window).
BEFORE = dt.timedelta(hours=24)
#: The window is at most this long (a long incident: its last two weeks).
LONGEST = dt.timedelta(days=14)
#: Publications not gone out that the impact reads: the incident's scan's, and drafts.
WAITING = (*actions.WAITING, "draft")


@dataclass
class WorkspaceImpact:
    member: Member
    alerts: list[Alert] = field(default_factory=list)
    open_incidents: list[Incident] = field(default_factory=list)
    volume: int = 0
    negative: int = 0
    posts: list[Any] = field(default_factory=list)
    #: This is the incident's own workspace.
    here: bool = False

    @property
    def workspace(self) -> Any:
        return self.member.workspace

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.volume if self.volume else None

    @property
    def negative_percent(self) -> int | None:
        share = self.negative_share
        return round(share * 100) if share is not None else None


def window(incident: Incident, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """From a day before the incident opened (or its alert's window) to its close or now."""
    since = incident.opened_at - BEFORE
    if incident.alert is not None:
        since = min(since, incident.alert.window_start)
    until = incident.closed_at or now or timezone.now()
    return max(since, until - LONGEST), until


def memberships(member: Member) -> list[Member]:
    """The member's user's active memberships in workspaces not archived where they may see
    the crisis pages, the member's own first."""
    rows = (
        Member.objects.filter(
            user_id=member.user_id, is_active=True, workspace__archived_at__isnull=True
        )
        .select_related("workspace", "user")
        .order_by("workspace__name", "pk")
    )
    found = [m for m in rows if can(m, "crisis.view")]
    return sorted(found, key=lambda m: m.pk != member.pk)


def scan_terms(terms: list[str], member: Member) -> list[Any]:
    """Posts not gone out in ``member``'s workspace (those they may see, drafts too) whose
    text holds one of ``terms``."""
    return actions.scan_posts(terms, member, states=WAITING, limit=50)


def assess(incident: Incident, member: Member, now: dt.datetime | None = None) -> list[Any]:
    """One :class:`WorkspaceImpact` per workspace of the member's (the incident's first)."""
    if member.workspace_id != incident.workspace_id:
        raise ValueError("the member reads the incident in its own workspace")
    since, until = window(incident, now)
    found: list[WorkspaceImpact] = []
    for row in memberships(member):
        signals = gather(row.workspace_id, since, until)
        found.append(
            WorkspaceImpact(
                member=row,
                alerts=list(
                    Alert.objects.filter(
                        workspace_id=row.workspace_id, raised_at__gte=since, raised_at__lte=until
                    ).order_by("-raised_at")[:20]
                ),
                open_incidents=list(
                    Incident.objects.filter(
                        workspace_id=row.workspace_id, closed_at__isnull=True
                    ).order_by("-opened_at")
                ),
                volume=len(signals),
                negative=sum(1 for s in signals if s.is_negative),
                posts=scan_terms(list(incident.terms), row),
                here=row.workspace_id == incident.workspace_id,
            )
        )
    return found


def other_workspaces(member: Member) -> int:
    """How many other workspaces the member's user belongs to (the incident links the page
    when there are some)."""
    return (
        Member.objects.filter(
            user_id=member.user_id, is_active=True, workspace__archived_at__isnull=True
        )
        .exclude(pk=member.pk)
        .count()
    )
