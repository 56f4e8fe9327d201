"""Team presets by size (seeds 000 and 002): one person, a small team, a large team with the
creative role. Applying one sets, in one step, the roles of the people put in its slots
(main and extra roles), the responsibility matrix, and the approval defaults (who approves,
who publishes directly). ``preview`` says what would change; ``apply_preset`` changes it,
audited. Applying the same preset again to the same people changes nothing; applying another
one is how a preset is undone.

An admin put in a slot stays admin (admin already allows everything, and a preset never takes
the admin role from anyone), but takes the slot's tasks and approvals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import Role, join_roles, require, split_roles

from .models import Level, Responsibility, StrategySettings, Task

AUDIT_LABELS = {"strategy.preset": gettext_noop("Team preset applied")}

R, B = Level.RESPONSIBLE.value, Level.BACKUP.value


@dataclass(frozen=True)
class Slot:
    code: str
    label: object
    role: str
    extra: tuple[str, ...] = ()
    tasks: Mapping[str, str] = field(default_factory=dict)
    approves: bool = False  # the workspace's named approver
    trusted: bool = False  # publishes directly


@dataclass(frozen=True)
class Preset:
    code: str
    label: object
    description: object
    slots: tuple[Slot, ...]


ALL_TASKS = {t.value: R for t in Task}

PRESETS: dict[str, Preset] = {
    p.code: p
    for p in (
        Preset(
            "solo",
            _("One person"),
            _(
                "One person does everything (seed 000): manager, content marketer, creative "
                "and analyst. Nobody approves their own post, so they publish directly."
            ),
            (
                Slot(
                    "lead",
                    _("The social media person"),
                    Role.MANAGER,
                    extra=(Role.CONTENT, Role.CREATIVE, Role.ANALYST),
                    tasks=ALL_TASKS,
                    trusted=True,
                ),
            ),
        ),
        Preset(
            "small",
            _("A small team"),
            _(
                "Two people (seed 002): the manager is also content marketer; the content "
                "marketer also reads the dashboards. The manager approves; the content "
                "marketer publishes directly."
            ),
            (
                Slot(
                    "lead",
                    _("Manager and content marketer"),
                    Role.MANAGER,
                    extra=(Role.CONTENT,),
                    tasks={Task.MANAGEMENT: R, Task.WEBCARE: B, Task.ADVERTISING: B},
                    approves=True,
                ),
                Slot(
                    "content",
                    _("Content marketer and analyst"),
                    Role.CONTENT,
                    extra=(Role.ANALYST,),
                    tasks={
                        Task.WEBCARE: R,
                        Task.ADVERTISING: R,
                        Task.CREATIVE: R,
                        Task.ANALYTICS: R,
                    },
                    trusted=True,
                ),
            ),
        ),
        Preset(
            "large",
            _("A large team with the creative role"),
            _(
                "Seed 002's four roles, one person each: manager, content marketer, creative "
                "content marketer, analyst. The manager approves; the content marketer "
                "publishes directly; the creative drafts for approval."
            ),
            (
                Slot(
                    "manager",
                    _("Social Media Manager"),
                    Role.MANAGER,
                    tasks={Task.MANAGEMENT: R, Task.WEBCARE: B},
                    approves=True,
                ),
                Slot(
                    "content",
                    _("Content Marketer"),
                    Role.CONTENT,
                    tasks={Task.WEBCARE: R, Task.ADVERTISING: R, Task.CREATIVE: B},
                    trusted=True,
                ),
                Slot(
                    "creative",
                    _("Creative Content Marketer"),
                    Role.CREATIVE,
                    tasks={Task.CREATIVE: R},
                ),
                Slot("analyst", _("Social Media Analyst"), Role.ANALYST, tasks={Task.ANALYTICS: R}),
            ),
        ),
    )
}


def candidates(workspace: Workspace) -> list[Member]:
    """Who may fill a slot: the active members of the social media team (not department
    agents or ambassadors, whose place is in their department)."""
    return list(
        Member.objects.filter(workspace=workspace, is_active=True)
        .exclude(role__in=[Role.AGENT, Role.AMBASSADOR])
        .select_related("user")
    )


@dataclass
class Change:
    member: Member
    slot: Slot
    role_before: str
    role_after: str
    extra_before: list[str]
    extra_after: list[str]
    tasks_before: dict[str, str]
    tasks_after: dict[str, str]
    trusted_before: bool | None
    trusted_after: bool | None

    def task_lines(self) -> list[str]:
        tasks, levels = dict(Task.choices), dict(Level.choices)
        return [f"{tasks[t]}: {levels[lv]}" for t, lv in self.tasks_after.items()]

    @staticmethod
    def _roles(main: str, extra: list[str]) -> str:
        names = dict(Role.choices)
        return " + ".join(str(names[r]) for r in [main, *extra] if r in names)

    def roles_before(self) -> str:
        return self._roles(self.role_before, self.extra_before)

    def roles_after(self) -> str:
        return self._roles(self.role_after, self.extra_after)

    @property
    def changes(self) -> bool:
        return (
            self.role_before != self.role_after
            or self.extra_before != self.extra_after
            or self.tasks_before != self.tasks_after
            or self.trusted_before != self.trusted_after
        )


@dataclass
class Plan:
    preset: Preset
    changes: list[Change]
    approver_before: Member | None
    approver_after: Member | None
    cleared: list[Member]  # members outside the slots whose matrix cells are emptied

    @property
    def changes_anything(self) -> bool:
        return (
            any(c.changes for c in self.changes)
            or (self.approver_before is None) != (self.approver_after is None)
            or (
                self.approver_before is not None
                and self.approver_after is not None
                and self.approver_before.pk != self.approver_after.pk
            )
            or bool(self.cleared)
        )


def _assignment(
    workspace: Workspace, preset: Preset, chosen: Mapping[str, int | None]
) -> list[tuple[Slot, Member]]:
    people = {m.pk: m for m in candidates(workspace)}
    if len(people) < len(preset.slots):
        raise ActionRefused(
            gettext(
                "“%(preset)s” needs %(n)d people in the social media team; the team has "
                "%(have)d. Invite someone first, or choose a smaller preset."
            )
            % {"preset": preset.label, "n": len(preset.slots), "have": len(people)},
            code="too_few",
        )
    pairs: list[tuple[Slot, Member]] = []
    used: set[int] = set()
    for slot in preset.slots:
        pk = chosen.get(slot.code)
        if pk is None or pk not in people:
            raise ActionRefused(
                gettext("Choose who is “%(slot)s”.") % {"slot": slot.label},
                field=f"slot_{slot.code}",
            )
        if pk in used:
            raise ActionRefused(
                gettext("One person per slot: %(name)s is chosen twice.")
                % {"name": people[pk].user.display_name},
                field=f"slot_{slot.code}",
            )
        used.add(pk)
        pairs.append((slot, people[pk]))
    return pairs


def _trust(member: Member) -> bool | None:
    from portevoix.publishing.approvals.models import MemberTrust

    row = MemberTrust.objects.filter(member=member).first()
    return row.publishes_directly if row else None


def preview(
    workspace: Workspace, *, by: Member, code: str, chosen: Mapping[str, int | None]
) -> Plan:
    """What applying preset ``code`` with these people would change (nothing is written)."""
    require(by, "strategy.manage")
    require(by, "member.change_role")
    preset = PRESETS.get(code)
    if preset is None:
        raise ActionRefused(gettext("Choose a preset."), field="preset")
    pairs = _assignment(workspace, preset, chosen)
    cells: dict[int, dict[str, str]] = {}
    for row in Responsibility.objects.filter(member__workspace=workspace):
        cells.setdefault(row.member_id, {})[row.task] = row.level
    from portevoix.publishing.approvals.models import ApprovalSettings

    settings = (
        ApprovalSettings.objects.filter(workspace=workspace).select_related("approver").first()
    )
    changes = []
    approver_after = None
    for slot, member in pairs:
        admin = member.role == Role.ADMIN
        changes.append(
            Change(
                member=member,
                slot=slot,
                role_before=member.role,
                role_after=Role.ADMIN if admin else slot.role,
                extra_before=split_roles(member.extra_roles),
                extra_after=[] if admin else split_roles(join_roles(slot.extra)),
                tasks_before=dict(sorted(cells.get(member.pk, {}).items())),
                tasks_after=dict(sorted((str(t), lv) for t, lv in slot.tasks.items())),
                trusted_before=_trust(member),
                trusted_after=True if slot.trusted else None,
            )
        )
        if slot.approves:
            approver_after = member
    in_slots = {m.pk for _s, m in pairs}
    cleared = [
        m
        for m in Member.objects.filter(workspace=workspace, pk__in=list(cells)).select_related(
            "user"
        )
        if m.pk not in in_slots
    ]
    return Plan(
        preset=preset,
        changes=changes,
        approver_before=settings.approver if settings else None,
        approver_after=approver_after,
        cleared=cleared,
    )


@transaction.atomic
def apply_preset(
    workspace: Workspace, *, by: Member, code: str, chosen: Mapping[str, int | None]
) -> Plan:
    """Apply the preset: roles, extra roles, the matrix (members outside the slots leave it),
    the named approver and who publishes directly. One audit entry says all of it."""
    from portevoix.publishing.approvals import actions as approvals
    from portevoix.publishing.approvals.models import ApprovalSettings

    if by.workspace_id != workspace.pk:
        from django.http import Http404

        raise Http404("not found")
    list(Member.objects.select_for_update().filter(workspace=workspace).values_list("pk"))
    plan = preview(workspace, by=by, code=code, chosen=chosen)
    row, _created = StrategySettings.objects.get_or_create(workspace=workspace)
    if not plan.changes_anything and row.preset == plan.preset.code:
        return plan  # applied already, to the same people: nothing to do, nothing to record
    for change in plan.changes:
        member = Member.objects.get(pk=change.member.pk)
        member.role = change.role_after
        member.extra_roles = join_roles(change.extra_after)
        member.save(update_fields=["role", "extra_roles"])
        change.member = member
    Responsibility.objects.filter(member__workspace=workspace).delete()
    Responsibility.objects.bulk_create(
        [
            Responsibility(member=c.member, task=task, level=level)
            for c in plan.changes
            for task, level in c.tasks_after.items()
        ]
    )
    settings = ApprovalSettings.objects.filter(workspace=workspace).first()
    same_approver = (plan.approver_before.pk if plan.approver_before else None) == (
        plan.approver_after.pk if plan.approver_after else None
    )
    if not same_approver or (settings is not None and settings.approver_role):
        approvals.update_settings(
            workspace,
            by=by,
            approver=plan.approver_after,
            approver_role="",
            everyone=settings.everyone if settings else False,
            everyone_until=settings.everyone_until if settings else None,
            channels=list(settings.channels.all()) if settings else [],
            remind_after_hours=settings.remind_after_hours if settings else 4,
        )
    for change in plan.changes:
        if change.trusted_before != change.trusted_after:
            approvals.set_trust(change.member, by=by, publishes_directly=change.trusted_after)
    before_preset = row.preset
    row.preset = plan.preset.code
    row.save(update_fields=["preset"])
    audit.record(
        "strategy.preset",
        workspace=workspace,
        actor=by.user,
        obj=row,
        before={
            "preset": before_preset,
            "members": {
                str(c.member.pk): {"role": c.role_before, "extra_roles": c.extra_before}
                for c in plan.changes
            },
            "approver": plan.approver_before.pk if plan.approver_before else None,
        },
        after={
            "preset": plan.preset.code,
            "members": {
                str(c.member.pk): {
                    "role": c.role_after,
                    "extra_roles": c.extra_after,
                    "tasks": c.tasks_after,
                }
                for c in plan.changes
            },
            "approver": plan.approver_after.pk if plan.approver_after else None,
        },
    )
    return plan


def current(workspace: Workspace) -> Preset | None:
    row = StrategySettings.objects.filter(workspace=workspace).first()
    return PRESETS.get(row.preset) if row and row.preset else None


def guess(workspace: Workspace, preset: Preset) -> dict[str, int]:
    """A first choice of people for the slots: whoever already holds the slot's role."""
    people = candidates(workspace)
    chosen: dict[str, int] = {}
    used: set[int] = set()
    for slot in preset.slots:
        for wanted in (slot.role, Role.ADMIN, None):
            match = next(
                (m for m in people if m.pk not in used and (wanted is None or m.role == wanted)),
                None,
            )
            if match is not None:
                chosen[slot.code] = match.pk
                used.add(match.pk)
                break
    return chosen
