"""Reading the responsibility matrix (who does which task), and its starting point from
seed 002's four roles. Other apps ask here, never the table: the inbox's rota and automatic
assignment take the members responsible for webcare (``webcare_member_ids``)."""

from __future__ import annotations

from collections.abc import Iterable

from portevoix.core.models import Member
from portevoix.core.permissions import Role, member_roles

from .models import Level, Responsibility, Task

#: Seed 002: the manager leads (strategy, team, roadmap); the content marketer publishes,
#: answers (webcare) and advertises; the creative content marketer makes the visuals; the
#: analyst builds the dashboards. Admins and others start with no task.
ROLE_TASKS: dict[str, dict[str, str]] = {
    Role.MANAGER: {Task.MANAGEMENT: Level.RESPONSIBLE, Task.WEBCARE: Level.BACKUP},
    Role.CONTENT: {
        Task.WEBCARE: Level.RESPONSIBLE,
        Task.ADVERTISING: Level.RESPONSIBLE,
        Task.CREATIVE: Level.BACKUP,
    },
    Role.CREATIVE: {Task.CREATIVE: Level.RESPONSIBLE},
    Role.ANALYST: {Task.ANALYTICS: Level.RESPONSIBLE},
}


def cells_from_roles(members: Iterable[Member]) -> dict[tuple[int, str], str]:
    """The matrix seed 002's roles suggest for these members."""
    cells: dict[tuple[int, str], str] = {}
    strength = list(Level.values)  # responsible, backup, consulted: the first is the strongest
    for member in members:
        # Every role the member holds (a small team's manager is its content marketer too):
        # the strongest level any of them gives a task.
        for role in sorted(member_roles(member)):
            for task, level in ROLE_TASKS.get(role, {}).items():
                key = (member.pk, str(task))
                if key not in cells or strength.index(level) < strength.index(cells[key]):
                    cells[key] = str(level)
    return cells


def matrix(workspace_id: int) -> dict[tuple[int, str], str]:
    return {
        (r.member_id, r.task): r.level
        for r in Responsibility.objects.filter(
            member__workspace_id=workspace_id, member__is_active=True
        )
    }


def member_ids_for(
    workspace_id: int, task: str, levels: Iterable[str] = (Level.RESPONSIBLE,)
) -> list[int]:
    """Active members holding ``task`` at one of ``levels``, responsible first."""
    rows = Responsibility.objects.filter(
        member__workspace_id=workspace_id,
        member__is_active=True,
        task=task,
        level__in=list(levels),
    ).order_by("level", "member__user__full_name", "member_id")
    return list(dict.fromkeys(rows.values_list("member_id", flat=True)))


def webcare_member_ids(workspace_id: int) -> set[int] | None:
    """Who answers the inbox by default (responsible or backup for webcare); None while the
    matrix says nothing about webcare (then the roles decide, as before the matrix)."""
    ids = member_ids_for(workspace_id, Task.WEBCARE, (Level.RESPONSIBLE, Level.BACKUP))
    return set(ids) if ids else None


def webcare_responsible_ids(workspace_id: int) -> list[int]:
    """The default people of a new rota shift: those responsible for webcare."""
    return member_ids_for(workspace_id, Task.WEBCARE, (Level.RESPONSIBLE,))
