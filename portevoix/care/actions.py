"""Every change to webcare's rules: hours, SLA policies, the rota and its swaps, routing rules,
VIP authors, assignment settings.

Each action checks permission (``inbox.configure`` for the team's rules; a member may answer
swaps of their own shifts), validates, writes, records the audit entry in the same transaction
and tells people (``notify``) inside it. The conversations side (routing at ingest, assignment,
clocks) is in :mod:`portevoix.care.flow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import can, require
from portevoix.inbox.models import Conversation, Priority

from . import hours, notices, routing
from .models import (
    AfterHours,
    AgentProfile,
    BusinessCalendar,
    Holiday,
    RotaShift,
    RoutingRule,
    ShiftSwap,
    SlaPolicy,
    Strategy,
    SwapState,
    VipAuthor,
    WebcareSettings,
)

AUDIT_LABELS = {
    "webcare.settings": gettext_noop("Webcare settings changed"),
    "calendar.create": gettext_noop("Business calendar created"),
    "calendar.update": gettext_noop("Business hours changed"),
    "calendar.delete": gettext_noop("Business calendar deleted"),
    "holiday.add": gettext_noop("Holiday added"),
    "holiday.remove": gettext_noop("Holiday removed"),
    "sla.create": gettext_noop("SLA policy created"),
    "sla.update": gettext_noop("SLA policy changed"),
    "sla.delete": gettext_noop("SLA policy deleted"),
    "rule.create": gettext_noop("Routing rule created"),
    "rule.update": gettext_noop("Routing rule changed"),
    "rule.move": gettext_noop("Routing rules reordered"),
    "rule.delete": gettext_noop("Routing rule deleted"),
    "vip.add": gettext_noop("VIP author added"),
    "vip.remove": gettext_noop("VIP author removed"),
    "shift.create": gettext_noop("Rota shift added"),
    "shift.delete": gettext_noop("Rota shift removed"),
    "swap.request": gettext_noop("Shift swap asked"),
    "swap.accept": gettext_noop("Shift swap accepted"),
    "swap.decline": gettext_noop("Shift swap declined"),
    "swap.cancel": gettext_noop("Shift swap withdrawn"),
    "agent.update": gettext_noop("Availability or capacity changed"),
    "conversation.correct": gettext_noop("Triage corrected"),
}

SETTINGS_FIELDS = [
    "calendar",
    "after_hours",
    "closed_replies",
    "assignment",
    "default_capacity",
    "careful_triage",
]
SLA_FIELDS = [
    "name",
    "channel",
    "priority",
    "calendar",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "warn_at_percent",
    "is_active",
]
MAX_REPLY = 1000
MAX_SHIFT = dt.timedelta(days=3)
MAX_REPEAT_WEEKS = 26


def _configure(by: Member, workspace: Workspace) -> None:
    require(by, "inbox.configure")
    _same_workspace(by, workspace)


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except Exception as exc:
        raise ActionRefused(_("Unknown time zone."), field="time_zone") from exc
    return name


# --- settings ----------------------------------------------------------------------------


@transaction.atomic
def update_settings(workspace: Workspace, *, by: Member, **changes: Any) -> WebcareSettings:
    """The team's hours, what happens outside them, the "closed" reply, automatic assignment."""
    _configure(by, workspace)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    row: WebcareSettings
    row, _created = WebcareSettings.objects.select_for_update().get_or_create(workspace=workspace)
    if "calendar" in changes:
        calendar = changes["calendar"]
        if calendar is not None and calendar.workspace_id != workspace.pk:
            raise ActionRefused(_("That calendar does not exist here."), field="calendar")
    if "after_hours" in changes and changes["after_hours"] not in AfterHours.values:
        raise ActionRefused(_("Choose one of the options."), field="after_hours")
    if "assignment" in changes and changes["assignment"] not in Strategy.values:
        raise ActionRefused(_("Choose one of the options."), field="assignment")
    if "default_capacity" in changes:
        capacity = int(changes["default_capacity"])
        if not 1 <= capacity <= 500:
            raise ActionRefused(_("Between 1 and 500."), field="default_capacity")
    if "careful_triage" in changes:
        changes["careful_triage"] = bool(changes["careful_triage"])
    if "closed_replies" in changes:
        changes["closed_replies"] = _check_replies(changes["closed_replies"], "closed_replies")
        if not changes["closed_replies"]:
            raise ActionRefused(
                _("Write the automatic reply in at least one language."), field="closed_replies"
            )
    before = audit.snapshot(row, SETTINGS_FIELDS)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = timezone.now()
    row.save()
    audit.record(
        "webcare.settings",
        workspace=workspace,
        actor=by.user,
        obj=row,
        before=before,
        after=audit.snapshot(row, SETTINGS_FIELDS),
    )
    return row


def _check_replies(replies: Mapping[str, str], field: str) -> dict[str, str]:
    from django.conf import settings

    languages = dict(settings.LANGUAGES)
    cleaned = {}
    for language, text in replies.items():
        text = str(text or "").strip()
        if language not in languages:
            raise ActionRefused(_("Unknown language."), field=field)
        if len(text) > MAX_REPLY:
            raise ActionRefused(
                _("An automatic reply is at most %(n)s characters long.") % {"n": MAX_REPLY},
                field=field,
            )
        if text:
            cleaned[language] = text
    return cleaned


@transaction.atomic
def update_agent(
    member: Member,
    *,
    by: Member,
    available: bool | None = None,
    auto_assign: bool | None = None,
    capacity: int | str | None = "",
) -> AgentProfile:
    """A member says they are away or back (themself), or a manager sets their capacity."""
    _same_workspace(by, member.workspace)
    if by.pk != member.pk or auto_assign is not None or capacity != "":
        require(by, "inbox.configure")
    elif not (can(by, "inbox.reply")):
        require(by, "inbox.reply")
    profile, _created = AgentProfile.objects.select_for_update().get_or_create(member=member)
    fields = ["available", "auto_assign", "capacity"]
    before = audit.snapshot(profile, fields)
    if available is not None:
        profile.available = available
    if auto_assign is not None:
        profile.auto_assign = auto_assign
    if capacity != "":
        if capacity is not None and not 1 <= int(capacity) <= 500:
            raise ActionRefused(_("Between 1 and 500."), field="capacity")
        profile.capacity = int(capacity) if capacity is not None else None
    profile.save()
    audit.record(
        "agent.update",
        workspace=member.workspace,
        actor=by.user,
        obj=member,
        before=before,
        after=audit.snapshot(profile, fields),
    )
    return profile


# --- business calendars ---------------------------------------------------------------------


def parse_week(texts: Sequence[str]) -> list[list[list[int]]]:
    """Seven texts (Monday first) such as "09:00-12:30, 13:30-18:00" -> the stored week."""
    if len(texts) != 7:
        raise ValueError("seven days")
    week = []
    for index, text in enumerate(texts):
        try:
            week.append([list(slot) for slot in hours.parse_slots(text or "")])
        except hours.HoursError as exc:
            raise ActionRefused(str(exc), field=f"day_{index}") from None
    return week


@transaction.atomic
def create_calendar(
    workspace: Workspace, *, by: Member, name: str, time_zone: str, week: list[list[list[int]]]
) -> BusinessCalendar:
    _configure(by, workspace)
    name = name.strip()
    if not name:
        raise ActionRefused(_("A calendar needs a name."), field="name")
    if BusinessCalendar.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ActionRefused(
            _("A calendar called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    calendar = BusinessCalendar.objects.create(
        workspace=workspace, name=name, time_zone=_check_zone(time_zone), week=_week(week)
    )
    audit.record(
        "calendar.create",
        workspace=workspace,
        actor=by.user,
        obj=calendar,
        after=audit.snapshot(calendar, ["name", "time_zone", "week"]),
    )
    return calendar


def _week(week: list[list[list[int]]]) -> list[list[list[int]]]:
    if len(week) != 7:
        raise ActionRefused(_("A week has seven days."))
    try:
        return [[list(slot) for slot in hours.normalise_slots(day)] for day in week]
    except hours.HoursError as exc:
        raise ActionRefused(str(exc)) from None


@transaction.atomic
def update_calendar(
    calendar: BusinessCalendar,
    *,
    by: Member,
    name: str,
    time_zone: str,
    week: list[list[list[int]]],
) -> BusinessCalendar:
    _configure(by, calendar.workspace)
    calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    name = name.strip()
    if not name:
        raise ActionRefused(_("A calendar needs a name."), field="name")
    clash = BusinessCalendar.objects.filter(
        workspace_id=calendar.workspace_id, name__iexact=name
    ).exclude(pk=calendar.pk)
    if clash.exists():
        raise ActionRefused(
            _("A calendar called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    fields = ["name", "time_zone", "week"]
    before = audit.snapshot(calendar, fields)
    calendar.name = name
    calendar.time_zone = _check_zone(time_zone)
    calendar.week = _week(week)
    calendar.updated_at = timezone.now()
    calendar.save()
    audit.record(
        "calendar.update",
        workspace=calendar.workspace,
        actor=by.user,
        obj=calendar,
        before=before,
        after=audit.snapshot(calendar, fields),
    )
    return calendar


@transaction.atomic
def delete_calendar(calendar: BusinessCalendar, *, by: Member) -> None:
    _configure(by, calendar.workspace)
    if SlaPolicy.objects.filter(calendar=calendar).exists():
        raise ActionRefused(
            _("SLA policies count in this calendar's hours: change them first."),
            code="in_use",
        )
    audit.record(
        "calendar.delete",
        workspace=calendar.workspace,
        actor=by.user,
        obj=calendar,
        before=audit.snapshot(calendar, ["name", "time_zone", "week"]),
    )
    calendar.delete()


@transaction.atomic
def add_holiday(
    calendar: BusinessCalendar, *, by: Member, date: dt.date, name: str = "", every_year: bool
) -> Holiday:
    _configure(by, calendar.workspace)
    BusinessCalendar.objects.select_for_update().filter(pk=calendar.pk).first()
    if Holiday.objects.filter(calendar=calendar, date=date).exists():
        raise ActionRefused(_("This day is already a holiday."), field="date")
    holiday = Holiday.objects.create(
        calendar=calendar, date=date, name=name.strip()[:80], every_year=every_year
    )
    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())
    audit.record(
        "holiday.add",
        workspace=calendar.workspace,
        actor=by.user,
        obj=calendar,
        after={"date": date, "name": holiday.name, "every_year": every_year},
    )
    return holiday


@transaction.atomic
def remove_holiday(holiday: Holiday, *, by: Member) -> None:
    calendar = holiday.calendar
    _configure(by, calendar.workspace)
    audit.record(
        "holiday.remove",
        workspace=calendar.workspace,
        actor=by.user,
        obj=calendar,
        before={"date": holiday.date, "name": holiday.name, "every_year": holiday.every_year},
    )
    holiday.delete()
    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())


# --- SLA policies ---------------------------------------------------------------------------


def _check_policy(workspace: Workspace, values: dict[str, Any], exclude: int | None) -> None:
    name = str(values.get("name") or "").strip()
    if not name:
        raise ActionRefused(_("A policy needs a name."), field="name")
    values["name"] = name
    same_name = SlaPolicy.objects.filter(workspace=workspace, name__iexact=name)
    if exclude:
        same_name = same_name.exclude(pk=exclude)
    if same_name.exists():
        raise ActionRefused(
            _("A policy called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    channel, calendar = values.get("channel"), values.get("calendar")
    if channel is not None and channel.workspace_id != workspace.pk:
        raise ActionRefused(_("That channel does not exist here."), field="channel")
    if calendar is not None and calendar.workspace_id != workspace.pk:
        raise ActionRefused(_("That calendar does not exist here."), field="calendar")
    priority = values.get("priority")
    if priority is not None and priority not in Priority.values:
        raise ActionRefused(_("Unknown priority."), field="priority")
    targets = [
        values.get(f"{n}_minutes") for n in ("first_response", "next_response", "resolution")
    ]
    if not any(targets):
        raise ActionRefused(_("Set at least one target."), field="first_response_minutes")
    for name_, value in zip(
        ("first_response", "next_response", "resolution"), targets, strict=True
    ):
        if value is not None and not 1 <= int(value) <= 60 * 24 * 90:
            raise ActionRefused(
                _("A target is between 1 minute and 90 days."), field=f"{name_}_minutes"
            )
    warn = int(values.get("warn_at_percent") or 80)
    if not 10 <= warn <= 99:
        raise ActionRefused(_("Warn between 10 % and 99 % of the target."), field="warn_at_percent")
    values["warn_at_percent"] = warn
    if values.get("is_active", True):
        clash = SlaPolicy.objects.filter(
            workspace=workspace, channel=channel, priority=priority, is_active=True
        )
        if exclude:
            clash = clash.exclude(pk=exclude)
        if clash.exists():
            raise ActionRefused(
                _("Another active policy already covers this channel and priority: %(name)s.")
                % {"name": clash.first()},
                field="channel",
            )


@transaction.atomic
def create_policy(workspace: Workspace, *, by: Member, **values: Any) -> SlaPolicy:
    _configure(by, workspace)
    unknown = set(values) - set(SLA_FIELDS)
    if unknown:
        raise ValueError(f"unknown {sorted(unknown)}")
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    _check_policy(workspace, values, None)
    policy = SlaPolicy.objects.create(workspace=workspace, **values)
    audit.record(
        "sla.create",
        workspace=workspace,
        actor=by.user,
        obj=policy,
        after=audit.snapshot(policy, SLA_FIELDS),
    )
    return policy


@transaction.atomic
def update_policy(policy: SlaPolicy, *, by: Member, **values: Any) -> SlaPolicy:
    _configure(by, policy.workspace)
    unknown = set(values) - set(SLA_FIELDS)
    if unknown:
        raise ValueError(f"unknown {sorted(unknown)}")
    Workspace.objects.select_for_update().filter(pk=policy.workspace_id).first()
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    merged = {name: getattr(policy, name) for name in SLA_FIELDS} | values
    _check_policy(policy.workspace, merged, policy.pk)
    before = audit.snapshot(policy, SLA_FIELDS)
    for key, value in merged.items():
        setattr(policy, key, value)
    policy.save()
    audit.record(
        "sla.update",
        workspace=policy.workspace,
        actor=by.user,
        obj=policy,
        before=before,
        after=audit.snapshot(policy, SLA_FIELDS),
    )
    return policy


@transaction.atomic
def delete_policy(policy: SlaPolicy, *, by: Member) -> None:
    """Running clocks keep the targets they started with; new conversations no longer get it."""
    _configure(by, policy.workspace)
    audit.record(
        "sla.delete",
        workspace=policy.workspace,
        actor=by.user,
        obj=policy,
        before=audit.snapshot(policy, SLA_FIELDS),
    )
    policy.delete()


# --- routing rules ----------------------------------------------------------------------------


def vocabulary(workspace: Workspace) -> routing.Vocabulary:
    from portevoix.networks import registry

    channels = dict(
        Channel.objects.filter(workspace=workspace).values_list("pk", "name").order_by("name")
    )
    departments = dict(
        Department.objects.filter(workspace=workspace, is_active=True)
        .values_list("code", "name")
        .order_by("name")
    )
    networks = tuple(sorted(n.name for n in registry.all_networks()))
    return routing.Vocabulary(channels=channels, departments=departments, networks=networks)


def _rule_actions(workspace: Workspace, values: Mapping[str, Any]) -> routing.Actions:
    department = str(values.get("department") or "")
    if (
        department
        and department != routing.SOCIAL_TEAM
        and not Department.objects.filter(
            workspace=workspace, code=department, is_active=True
        ).exists()
    ):
        raise ActionRefused(_("That department does not exist here."), field="department")
    assignee = values.get("assignee")
    if isinstance(assignee, Member):
        assignee = assignee.pk
    if assignee:
        target = Member.objects.filter(pk=assignee, workspace=workspace, is_active=True).first()
        if target is None or not can(target, "inbox.reply"):
            raise ActionRefused(
                _("Choose an active member who may answer conversations."), field="assignee"
            )
    priority = str(values.get("priority") or "")
    if priority and priority not in routing.PRIORITIES:
        raise ActionRefused(_("Unknown priority."), field="priority")
    return routing.Actions(
        department=department,
        assignee=int(assignee) if assignee else None,
        priority=priority,
        labels=routing.normalise_labels(values.get("labels") or ""),
        auto_reply=_check_replies(values.get("auto_reply") or {}, "auto_reply"),
        hide=bool(values.get("hide")),
        escalate=bool(values.get("escalate")),
    )


def _prepare_rule(
    workspace: Workspace, *, name: str, condition: str, actions: Mapping[str, Any]
) -> tuple[str, dict[str, Any], routing.Actions]:
    name = name.strip()
    if not name:
        raise ActionRefused(_("A rule needs a name."), field="name")
    try:
        tree = routing.parse(condition, vocabulary(workspace))
        rule_actions = _rule_actions(workspace, actions)
        routing.check_rule(tree, rule_actions)
    except routing.RuleError as exc:
        raise ActionRefused(exc.message, field=exc.field) from None
    return name[:120], tree, rule_actions


RULE_FIELDS = ["name", "conditions", "actions", "stop", "is_active", "position"]


@transaction.atomic
def create_rule(
    workspace: Workspace,
    *,
    by: Member,
    name: str,
    condition: str,
    actions: Mapping[str, Any],
    stop: bool = False,
) -> RoutingRule:
    """A new rule, last in the order. ``condition`` is written in the rule language."""
    _configure(by, workspace)
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    name, tree, rule_actions = _prepare_rule(
        workspace, name=name, condition=condition, actions=actions
    )
    last = RoutingRule.objects.filter(workspace=workspace).aggregate(n=Max("position"))["n"]
    rule = RoutingRule.objects.create(
        workspace=workspace,
        position=(last or 0) + 1,
        name=name,
        conditions=tree,
        actions=rule_actions.to_json(),
        stop=stop,
    )
    audit.record(
        "rule.create",
        workspace=workspace,
        actor=by.user,
        obj=rule,
        after=audit.snapshot(rule, RULE_FIELDS),
    )
    return rule


@transaction.atomic
def update_rule(
    rule: RoutingRule,
    *,
    by: Member,
    name: str,
    condition: str,
    actions: Mapping[str, Any],
    stop: bool,
    is_active: bool,
) -> RoutingRule:
    _configure(by, rule.workspace)
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    name, tree, rule_actions = _prepare_rule(
        rule.workspace, name=name, condition=condition, actions=actions
    )
    before = audit.snapshot(rule, RULE_FIELDS)
    rule.name, rule.conditions, rule.actions = name, tree, rule_actions.to_json()
    rule.stop, rule.is_active = stop, is_active
    rule.updated_at = timezone.now()
    rule.save()
    audit.record(
        "rule.update",
        workspace=rule.workspace,
        actor=by.user,
        obj=rule,
        before=before,
        after=audit.snapshot(rule, RULE_FIELDS),
    )
    return rule


@transaction.atomic
def move_rule(rule: RoutingRule, *, by: Member, to: int) -> list[RoutingRule]:
    """Put ``rule`` at position ``to`` (1 is first); the others keep their relative order."""
    _configure(by, rule.workspace)
    Workspace.objects.select_for_update().filter(pk=rule.workspace_id).first()
    rules = list(
        RoutingRule.objects.filter(workspace_id=rule.workspace_id).order_by("position", "id")
    )
    before = [r.pk for r in rules]
    moving = next((r for r in rules if r.pk == rule.pk), None)
    if moving is None:
        raise ActionRefused(_("This rule no longer exists."))
    rules.remove(moving)
    to = max(1, min(int(to), len(rules) + 1))
    rules.insert(to - 1, moving)
    now = timezone.now()
    for position, item in enumerate(rules, start=1):
        if item.position != position:
            RoutingRule.objects.filter(pk=item.pk).update(position=position, updated_at=now)
            item.position = position
    if [r.pk for r in rules] != before:
        audit.record(
            "rule.move",
            workspace=rule.workspace,
            actor=by.user,
            obj=moving,
            before={"order": before},
            after={"order": [r.pk for r in rules]},
        )
    return rules


@transaction.atomic
def delete_rule(rule: RoutingRule, *, by: Member) -> None:
    _configure(by, rule.workspace)
    audit.record(
        "rule.delete",
        workspace=rule.workspace,
        actor=by.user,
        obj=rule,
        before=audit.snapshot(rule, RULE_FIELDS),
    )
    rule.delete()


@transaction.atomic
def add_vip(
    workspace: Workspace, *, by: Member, handle: str, network: str = "", note: str = ""
) -> VipAuthor:
    _configure(by, workspace)
    handle = handle.strip().lstrip("@")[:300]
    if not handle:
        raise ActionRefused(_("Give the author's handle."), field="handle")
    if VipAuthor.objects.filter(
        workspace=workspace, network=network, handle__iexact=handle
    ).exists():
        raise ActionRefused(_("This author is already on the list."), field="handle")
    vip = VipAuthor.objects.create(
        workspace=workspace, handle=handle, network=network, note=note.strip()[:200]
    )
    audit.record(
        "vip.add",
        workspace=workspace,
        actor=by.user,
        obj=vip,
        after=audit.snapshot(vip, ["handle", "network", "note"]),
    )
    return vip


@transaction.atomic
def remove_vip(vip: VipAuthor, *, by: Member) -> None:
    _configure(by, vip.workspace)
    audit.record(
        "vip.remove",
        workspace=vip.workspace,
        actor=by.user,
        obj=vip,
        before=audit.snapshot(vip, ["handle", "network", "note"]),
    )
    vip.delete()


# --- the rota --------------------------------------------------------------------------------


def _check_on_duty_member(workspace: Workspace, member: Member) -> None:
    if member.workspace_id != workspace.pk or not member.is_active:
        raise ActionRefused(_("Choose an active member of this workspace."), field="member")
    if not can(member, "inbox.reply"):
        raise ActionRefused(
            _("%(name)s may not answer conversations, so cannot be on duty.")
            % {"name": member.user.display_name},
            field="member",
        )


@transaction.atomic
def create_shifts(
    workspace: Workspace,
    *,
    by: Member,
    member: Member,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    weeks: int = 1,
    note: str = "",
) -> list[RotaShift]:
    """A shift, repeated on the same weekday and wall-clock times for ``weeks`` weeks.

    Repeats keep the local times across a change of clocks (a 19:00-23:00 shift stays
    19:00-23:00 in the workspace's zone). A shift that overlaps one of the same member is
    refused, as is one longer than three days or ending before it starts.
    """
    _configure(by, workspace)
    _check_on_duty_member(workspace, member)
    for moment in (starts_at, ends_at):
        if moment.tzinfo is None:
            raise ActionRefused(_("Give the time with its time zone."), field="starts_at")
    if ends_at <= starts_at:
        raise ActionRefused(_("A shift ends after it starts."), field="ends_at")
    if ends_at - starts_at > MAX_SHIFT:
        raise ActionRefused(_("A shift lasts at most three days."), field="ends_at")
    if not 1 <= weeks <= MAX_REPEAT_WEEKS:
        raise ActionRefused(
            _("Repeat for 1 to %(n)s weeks.") % {"n": MAX_REPEAT_WEEKS}, field="weeks"
        )
    Member.objects.select_for_update().filter(pk=member.pk).first()
    zone = ZoneInfo(workspace.time_zone)
    local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    made = []
    for week in range(weeks):
        start = _same_wall_time(local_start, week, zone)
        end = _same_wall_time(local_end, week, zone)
        overlapping = RotaShift.objects.filter(
            workspace=workspace, member=member, starts_at__lt=end, ends_at__gt=start
        )
        if overlapping.exists():
            raise ActionRefused(
                _("%(name)s is already on duty during part of this time (%(when)s).")
                % {
                    "name": member.user.display_name,
                    "when": timezone.localtime(start, zone).strftime("%Y-%m-%d %H:%M"),
                },
                field="starts_at",
            )
        made.append(
            RotaShift.objects.create(
                workspace=workspace, member=member, starts_at=start, ends_at=end, note=note[:200]
            )
        )
    audit.record(
        "shift.create",
        workspace=workspace,
        actor=by.user,
        obj=made[0],
        after={
            "member": member,
            "starts_at": made[0].starts_at,
            "ends_at": made[0].ends_at,
            "weeks": weeks,
        },
    )
    return made


def _same_wall_time(local: dt.datetime, weeks: int, zone: ZoneInfo) -> dt.datetime:
    wall = local.replace(tzinfo=None) + dt.timedelta(weeks=weeks)
    return hours.wall_to_utc(wall.date(), wall.hour * 60 + wall.minute, zone)


@transaction.atomic
def delete_shift(shift: RotaShift, *, by: Member) -> None:
    _configure(by, shift.workspace)
    ShiftSwap.objects.filter(shift=shift, state=SwapState.PENDING).update(
        state=SwapState.CANCELLED, answered_at=timezone.now()
    )
    audit.record(
        "shift.delete",
        workspace=shift.workspace,
        actor=by.user,
        obj=shift,
        before={"member": shift.member, "starts_at": shift.starts_at, "ends_at": shift.ends_at},
    )
    shift.delete()


@transaction.atomic
def request_swap(
    shift: RotaShift,
    *,
    by: Member,
    offered_to: Member,
    in_exchange: RotaShift | None = None,
    message: str = "",
) -> ShiftSwap:
    """Ask a colleague to take one's shift (against one of theirs, or as a favour)."""
    _same_workspace(by, shift.workspace)
    shift = (
        RotaShift.objects.select_for_update(of=("self",))
        .select_related("member__user")
        .get(pk=shift.pk)
    )
    if shift.member_id != by.pk and not can(by, "inbox.configure"):
        raise ActionRefused(_("Only the member on duty may offer this shift."), code="forbidden")
    if shift.ends_at <= timezone.now():
        raise ActionRefused(_("This shift is over."), code="past")
    if offered_to.pk == shift.member_id:
        raise ActionRefused(_("Choose someone else."), field="offered_to")
    _check_on_duty_member(shift.workspace, offered_to)
    if in_exchange is not None:
        if in_exchange.workspace_id != shift.workspace_id or in_exchange.member_id != offered_to.pk:
            raise ActionRefused(
                _("The shift in exchange must be one of %(name)s's.")
                % {"name": offered_to.user.display_name},
                field="in_exchange",
            )
        if in_exchange.ends_at <= timezone.now():
            raise ActionRefused(_("This shift is over."), field="in_exchange")
    if ShiftSwap.objects.filter(shift=shift, state=SwapState.PENDING).exists():
        raise ActionRefused(
            _("A swap of this shift is already waiting for an answer."), code="pending"
        )
    swap = ShiftSwap.objects.create(
        shift=shift,
        requested_by=shift.member,
        offered_to=offered_to,
        in_exchange=in_exchange,
        message=message.strip()[:300],
    )
    audit.record(
        "swap.request",
        workspace=shift.workspace,
        actor=by.user,
        obj=shift,
        after={"offered_to": offered_to, "in_exchange": in_exchange and in_exchange.pk},
    )
    notices.swap_requested(swap)
    return swap


@transaction.atomic
def answer_swap(swap: ShiftSwap, *, by: Member, accept: bool) -> ShiftSwap:
    """The colleague accepts (the shifts change hands) or declines."""
    swap = (
        ShiftSwap.objects.select_for_update(of=("self",))
        .select_related("shift", "in_exchange")
        .get(pk=swap.pk)
    )
    _same_workspace(by, swap.shift.workspace)
    if by.pk != swap.offered_to_id:
        raise ActionRefused(_("Only the colleague asked may answer."), code="forbidden")
    if swap.state != SwapState.PENDING:
        raise ActionRefused(_("This swap has already been answered."), code="answered")
    shift = RotaShift.objects.select_for_update().get(pk=swap.shift_id)
    if accept:
        if shift.member_id != swap.requested_by_id:
            raise ActionRefused(_("This shift has changed hands since."), code="stale")
        if shift.ends_at <= timezone.now():
            raise ActionRefused(_("This shift is over."), code="past")
        _check_on_duty_member(shift.workspace, by)
        exchange = None
        if swap.in_exchange_id:
            exchange = RotaShift.objects.select_for_update().get(pk=swap.in_exchange_id)
            if exchange.member_id != by.pk:
                raise ActionRefused(_("This shift has changed hands since."), code="stale")
        _check_free(shift, by, ignore=exchange)
        if exchange is not None:
            _check_free(exchange, swap.requested_by, ignore=shift)
        RotaShift.objects.filter(pk=shift.pk).update(member=by)
        if exchange is not None:
            RotaShift.objects.filter(pk=exchange.pk).update(member=swap.requested_by)
    swap.state = SwapState.ACCEPTED if accept else SwapState.DECLINED
    swap.answered_at = timezone.now()
    swap.save(update_fields=["state", "answered_at"])
    audit.record(
        "swap.accept" if accept else "swap.decline",
        workspace=shift.workspace,
        actor=by.user,
        obj=shift,
        after={"requested_by": swap.requested_by, "offered_to": by},
    )
    notices.swap_answered(swap)
    return swap


def _check_free(shift: RotaShift, member: Member, *, ignore: RotaShift | None) -> None:
    clash = RotaShift.objects.filter(
        workspace_id=shift.workspace_id,
        member=member,
        starts_at__lt=shift.ends_at,
        ends_at__gt=shift.starts_at,
    ).exclude(pk=shift.pk)
    if ignore is not None:
        clash = clash.exclude(pk=ignore.pk)
    if clash.exists():
        raise ActionRefused(
            _("%(name)s is already on duty during part of this shift.")
            % {"name": member.user.display_name},
            code="overlap",
        )


@transaction.atomic
def cancel_swap(swap: ShiftSwap, *, by: Member) -> ShiftSwap:
    swap = ShiftSwap.objects.select_for_update(of=("self",)).select_related("shift").get(pk=swap.pk)
    _same_workspace(by, swap.shift.workspace)
    if by.pk != swap.requested_by_id and not can(by, "inbox.configure"):
        raise ActionRefused(_("Only the member who asked may withdraw it."), code="forbidden")
    if swap.state != SwapState.PENDING:
        raise ActionRefused(_("This swap has already been answered."), code="answered")
    swap.state = SwapState.CANCELLED
    swap.answered_at = timezone.now()
    swap.save(update_fields=["state", "answered_at"])
    audit.record("swap.cancel", workspace=swap.shift.workspace, actor=by.user, obj=swap.shift)
    return swap


# --- a person corrects triage -------------------------------------------------------------------


@transaction.atomic
def correct_route(
    conversation: Conversation,
    *,
    by: Member,
    intent: str | None = None,
    department: str | None = None,
) -> Conversation:
    """A person says what the conversation really is: its intent, its department.

    The conversation moves (``routed_by`` = a person) and triage learns: each changed label is
    recorded as a correction of the workspace, on the text of the conversation's first message,
    so the next similar message is labelled the way the person chose. A conversation that
    leaves an agent's department leaves that agent too.
    """
    from portevoix.inbox.models import RoutedBy
    from portevoix.triage.actions import record_correction
    from portevoix.triage.labels import FIELD_CHOICES, INTENT_TO_DEPARTMENT, Field, Intent

    require(by, "inbox.route")
    _same_workspace(by, conversation.workspace)
    if not Conversation.objects.visible_to(by).filter(pk=conversation.pk).exists():
        from django.http import Http404

        raise Http404("not found")
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .get(pk=conversation.pk)
    )
    if intent is not None and intent not in Intent.__members__.values():
        raise ActionRefused(_("Unknown intent."), field="intent")
    if intent is not None and department is None:
        department = INTENT_TO_DEPARTMENT[Intent(intent)].value
    target: Department | None = None
    if department is not None:
        if department in (routing.SOCIAL_TEAM, "none"):
            target = None
        else:
            target = Department.objects.filter(
                workspace_id=conversation.workspace_id, code=department, is_active=True
            ).first()
            if target is None:
                raise ActionRefused(_("That department does not exist here."), field="department")
    first = conversation.messages.order_by("created_at", "id").first()
    fields = ["intent", "routed_to", "department", "routed_by", "route_note"]
    before = audit.snapshot(conversation, fields)
    if first is not None and first.text.strip():
        if intent is not None and intent != conversation.intent and conversation.intent:
            record_correction(
                conversation.workspace,
                text=first.text,
                field="intent",
                predicted=conversation.intent,
                corrected=intent,
                by=by,
                source_ref=first.message_id,
            )
        triage_labels = set(FIELD_CHOICES[Field.DEPARTMENT])
        if (
            department is not None
            and department != conversation.routed_to
            and department in triage_labels
            and conversation.routed_to in triage_labels
        ):
            record_correction(
                conversation.workspace,
                text=first.text,
                field="department",
                predicted=conversation.routed_to,
                corrected=department,
                by=by,
                source_ref=first.message_id,
            )
    if intent is not None:
        conversation.intent = intent
    if department is not None:
        conversation.routed_to = department
        conversation.department = target
        assignee = conversation.assignee
        if (
            assignee is not None
            and not can(assignee, "inbox.view_all")
            and assignee.department_id != (target.pk if target else None)
        ):
            conversation.assignee = None
    conversation.routed_by = RoutedBy.PERSON
    conversation.route_note = by.user.display_name[:300]
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=[*fields, "assignee", "updated_at"])
    audit.record(
        "conversation.correct",
        workspace=conversation.workspace,
        actor=by.user,
        obj=conversation,
        before=before,
        after=audit.snapshot(conversation, fields),
    )
    return conversation
