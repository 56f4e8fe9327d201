"""Every change to the strategy, the responsibility matrix and the employee policy.

Each action checks permission (``strategy.manage`` for the strategy, the matrix and the
policy; ``post.create`` to label a post with a pillar; any active member to acknowledge the
policy), validates, locks what it changes, writes the audit entry in the same transaction and
sends e-mails only after the transaction commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel, StrategyLevel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require
from portevoix.publishing.models import Post

from .metrics import METRICS
from .models import (
    CANVAS_FIELDS,
    CanvasVersion,
    Employee,
    EmployeeAcknowledgement,
    Goal,
    GoalCode,
    Kpi,
    Level,
    Period,
    Pillar,
    PolicyAcknowledgement,
    PolicyVersion,
    PostPillar,
    Responsibility,
    StrategySettings,
    Task,
)

AUDIT_LABELS = {
    "strategy.canvas": gettext_noop("Strategy canvas saved"),
    "strategy.review_rule": gettext_noop("Strategy review interval changed"),
    "strategy.goals": gettext_noop("Business goals chosen"),
    "strategy.channel": gettext_noop("Channel level and goals changed"),
    "strategy.kpi_add": gettext_noop("KPI added"),
    "strategy.kpi_delete": gettext_noop("KPI removed"),
    "strategy.pillar_add": gettext_noop("Content pillar added"),
    "strategy.pillar_delete": gettext_noop("Content pillar removed"),
    "strategy.pillar_targets": gettext_noop("Content mix targets changed"),
    "strategy.post_pillar": gettext_noop("Post labelled with a pillar"),
    "strategy.matrix": gettext_noop("Responsibility matrix changed"),
    "policy.publish": gettext_noop("Employee policy published"),
    "policy.acknowledge": gettext_noop("Employee policy acknowledged"),
    "policy.employees_import": gettext_noop("Employees imported"),
    "policy.requests_send": gettext_noop("Policy acknowledgement links sent"),
    "policy.employee_acknowledge": gettext_noop("Employee policy acknowledged by link"),
}

POLICY_PAGE_PURPOSE = "policy_page"
POLICY_ACK_PURPOSE = "policy_ack"
POLICY_PAGE_DAYS = 365
POLICY_ACK_DAYS = 30
MAX_IMPORT_ROWS = 5000


def _same_workspace(by: Member, workspace_id: int) -> None:
    if by.workspace_id != workspace_id:
        from django.http import Http404

        raise Http404("not found")


def _lock_workspace(workspace_id: int) -> None:
    """Serialise version numbers and whole-set changes of one workspace."""
    Workspace.objects.select_for_update().filter(pk=workspace_id).first()


# --- the canvas ---------------------------------------------------------------------------


@transaction.atomic
def save_canvas(
    workspace: Workspace, *, by: Member, note: str = "", **answers: str
) -> CanvasVersion:
    """A new version of the canvas (every save is one: the history shows who changed what)."""
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    unknown = set(answers) - set(CANVAS_FIELDS)
    if unknown:
        raise ValueError(f"unknown canvas fields {sorted(unknown)}")
    _lock_workspace(workspace.pk)
    last = CanvasVersion.objects.filter(workspace=workspace).order_by("-number").first()
    values = {name: (answers.get(name) or "").strip() for name in CANVAS_FIELDS}
    if not any(values.values()):
        raise ActionRefused(_("Answer at least one question of the canvas."))
    version = CanvasVersion.objects.create(
        workspace=workspace,
        number=(last.number + 1) if last else 1,
        note=note.strip()[:300],
        saved_by=by.user,
        **values,
    )
    audit.record(
        "strategy.canvas",
        workspace=workspace,
        actor=by.user,
        obj=version,
        before={"version": last.number} if last else None,
        after={"version": version.number, "changed": changed_fields(last, version)},
    )
    return version


def changed_fields(old: CanvasVersion | None, new: CanvasVersion) -> list[str]:
    return [
        name for name in CANVAS_FIELDS if (getattr(old, name) if old else "") != getattr(new, name)
    ]


@transaction.atomic
def set_review_interval(workspace: Workspace, *, by: Member, months: int) -> StrategySettings:
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    if not 1 <= months <= 36:
        raise ActionRefused(_("Choose between 1 and 36 months."), field="review_after_months")
    row, _created = StrategySettings.objects.select_for_update().get_or_create(workspace=workspace)
    before = row.review_after_months
    row.review_after_months = months
    row.save(update_fields=["review_after_months"])
    audit.record(
        "strategy.review_rule",
        workspace=workspace,
        actor=by.user,
        obj=workspace,
        before={"review_after_months": before},
        after={"review_after_months": months},
    )
    return row


# --- goals, channels, KPIs -------------------------------------------------------------------


@transaction.atomic
def set_goals(workspace: Workspace, *, by: Member, codes: Iterable[str]) -> list[Goal]:
    """The goals the workspace pursues. A goal that still has KPIs cannot be dropped."""
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    wanted = set(codes)
    if wanted - set(GoalCode.values):
        raise ActionRefused(_("Unknown goal."), field="goals")
    _lock_workspace(workspace.pk)
    current = {g.code: g for g in Goal.objects.filter(workspace=workspace)}
    dropped = [current[c] for c in set(current) - wanted]
    blocked = [g for g in dropped if g.kpis.exists()]
    if blocked:
        raise ActionRefused(
            _("Remove the KPIs of “%(goal)s” before dropping it.")
            % {"goal": GoalCode(blocked[0].code).label},
            field="goals",
        )
    for goal in dropped:
        goal.delete()
    for code in sorted(wanted - set(current)):
        Goal.objects.create(workspace=workspace, code=code)
    audit.record(
        "strategy.goals",
        workspace=workspace,
        actor=by.user,
        obj=workspace,
        before={"goals": sorted(current)},
        after={"goals": sorted(wanted)},
    )
    return list(Goal.objects.filter(workspace=workspace))


@transaction.atomic
def set_channel_strategy(
    channel: Channel, *, by: Member, level: str, goals: Iterable[Goal]
) -> Channel:
    """A channel's level (passive listener, active, proactive) and the goals it serves."""
    require(by, "strategy.manage")
    _same_workspace(by, channel.workspace_id)
    if level not in StrategyLevel.values:
        raise ActionRefused(_("Unknown strategy level."), field="level")
    goals = list(goals)
    if any(g.workspace_id != channel.workspace_id for g in goals):
        raise ActionRefused(_("Unknown goal."), field="goals")
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    before = {
        "strategy_level": channel.strategy_level,
        "goals": sorted(channel.strategy_goals.values_list("code", flat=True)),
    }
    Channel.objects.filter(pk=channel.pk).update(strategy_level=level)
    channel.strategy_level = level
    channel.strategy_goals.set(goals)
    audit.record(
        "strategy.channel",
        workspace=channel.workspace,
        actor=by.user,
        obj=channel,
        before=before,
        after={"strategy_level": level, "goals": sorted(g.code for g in goals)},
    )
    return channel


@transaction.atomic
def add_kpi(
    goal: Goal,
    *,
    by: Member,
    metric: str,
    target: Decimal | str | int,
    period: str,
    channel: Channel | None = None,
) -> Kpi:
    require(by, "strategy.manage")
    _same_workspace(by, goal.workspace_id)
    if metric not in METRICS:
        raise ActionRefused(_("Choose a metric from the list."), field="metric")
    if period not in Period.values:
        raise ActionRefused(_("Choose a period."), field="period")
    try:
        value = Decimal(str(target))
    except InvalidOperation:
        raise ActionRefused(_("The target is a number."), field="target") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise ActionRefused(_("The target is a positive number."), field="target")
    if channel is not None and channel.workspace_id != goal.workspace_id:
        raise ActionRefused(_("Unknown channel."), field="channel")
    kpi = Kpi.objects.create(
        workspace_id=goal.workspace_id,
        goal=goal,
        metric=metric,
        target=value.quantize(Decimal("0.01")),
        period=period,
        channel=channel,
    )
    audit.record(
        "strategy.kpi_add",
        workspace=goal.workspace,
        actor=by.user,
        obj=kpi,
        after=audit.snapshot(kpi, ["goal", "metric", "target", "period", "channel"]),
    )
    return kpi


@transaction.atomic
def delete_kpi(kpi: Kpi, *, by: Member) -> None:
    require(by, "strategy.manage")
    _same_workspace(by, kpi.workspace_id)
    kpi = Kpi.objects.select_for_update().get(pk=kpi.pk)
    before = audit.snapshot(kpi, ["goal", "metric", "target", "period", "channel"])
    audit.record(
        "strategy.kpi_delete", workspace=kpi.workspace, actor=by.user, obj=kpi, before=before
    )
    kpi.delete()


# --- content pillars ---------------------------------------------------------------------------


@transaction.atomic
def add_pillar(workspace: Workspace, *, by: Member, name: str, description: str = "") -> Pillar:
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    name = name.strip()
    if not name:
        raise ActionRefused(_("A pillar needs a name."), field="name")
    if Pillar.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ActionRefused(
            _("A pillar called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    pillar = Pillar.objects.create(
        workspace=workspace, name=name[:80], description=description.strip()[:300]
    )
    audit.record(
        "strategy.pillar_add",
        workspace=workspace,
        actor=by.user,
        obj=pillar,
        after=audit.snapshot(pillar, ["name", "description"]),
    )
    return pillar


@transaction.atomic
def delete_pillar(pillar: Pillar, *, by: Member) -> None:
    """Remove a pillar; its share goes back to nobody, so the mix must be set again when it
    had one (the targets then no longer sum to 100, and the page says so)."""
    require(by, "strategy.manage")
    _same_workspace(by, pillar.workspace_id)
    pillar = Pillar.objects.select_for_update().get(pk=pillar.pk)
    audit.record(
        "strategy.pillar_delete",
        workspace=pillar.workspace,
        actor=by.user,
        obj=pillar,
        before=audit.snapshot(pillar, ["name", "target_percent"]),
    )
    pillar.delete()


@transaction.atomic
def set_pillar_targets(
    workspace: Workspace, *, by: Member, targets: Mapping[int, int]
) -> list[Pillar]:
    """The target mix: one whole percentage per pillar, summing to exactly 100."""
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    _lock_workspace(workspace.pk)
    pillars = list(Pillar.objects.select_for_update().filter(workspace=workspace))
    if not pillars:
        raise ActionRefused(_("Add a pillar first."))
    if set(targets) != {p.pk for p in pillars}:
        raise ActionRefused(_("Give a share to every pillar (0 is allowed)."))
    if any(not isinstance(v, int) or not 0 <= v <= 100 for v in targets.values()):
        raise ActionRefused(_("Each share is a whole number from 0 to 100."))
    total = sum(targets.values())
    if total != 100:
        raise ActionRefused(
            _("The shares sum to %(total)d%%; they must sum to 100%%.") % {"total": total}
        )
    before = {p.name: p.target_percent for p in pillars}
    for pillar in pillars:
        pillar.target_percent = targets[pillar.pk]
        pillar.save(update_fields=["target_percent"])
    audit.record(
        "strategy.pillar_targets",
        workspace=workspace,
        actor=by.user,
        obj=workspace,
        before=before,
        after={p.name: p.target_percent for p in pillars},
    )
    return pillars


@transaction.atomic
def label_post(post: Post, *, by: Member, pillar: Pillar | None) -> None:
    """Say which pillar a post speaks to (None: no pillar)."""
    require(by, "post.create")
    _same_workspace(by, post.workspace_id)
    if pillar is not None and pillar.workspace_id != post.workspace_id:
        raise ActionRefused(_("Unknown pillar."), field="pillar")
    Post.objects.select_for_update().filter(pk=post.pk).first()
    row = PostPillar.objects.filter(post=post).select_related("pillar").first()
    before = row.pillar.name if row else None
    if pillar is None:
        PostPillar.objects.filter(post=post).delete()
    else:
        PostPillar.objects.update_or_create(post=post, defaults={"pillar": pillar})
    audit.record(
        "strategy.post_pillar",
        workspace=post.workspace,
        actor=by.user,
        obj=post,
        before={"pillar": before},
        after={"pillar": pillar.name if pillar else None},
    )


# --- the responsibility matrix ------------------------------------------------------------------


@transaction.atomic
def set_responsibilities(
    workspace: Workspace, *, by: Member, cells: Mapping[tuple[int, str], str]
) -> None:
    """Replace the matrix: ``cells[(member_id, task)]`` is a level, or "" for nothing."""
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    _lock_workspace(workspace.pk)
    members = {m.pk: m for m in Member.objects.filter(workspace=workspace, is_active=True)}
    for (member_id, task), level in cells.items():
        if member_id not in members:
            raise ActionRefused(_("Unknown member."))
        if task not in Task.values or (level and level not in Level.values):
            raise ActionRefused(_("Unknown task or level."))
    existing = {
        (r.member_id, r.task): r.level
        for r in Responsibility.objects.filter(member__workspace=workspace)
    }
    wanted = {key: level for key, level in cells.items() if level}
    for key in set(existing) - set(wanted):
        if key[0] in members:
            Responsibility.objects.filter(member_id=key[0], task=key[1]).delete()
    for (member_id, task), level in wanted.items():
        if existing.get((member_id, task)) != level:
            Responsibility.objects.update_or_create(
                member_id=member_id, task=task, defaults={"level": level}
            )

    def show(rows: Mapping[tuple[int, str], str]) -> dict[str, str]:
        return {
            f"{members[m].user.email if m in members else m}:{t}": lv
            for (m, t), lv in sorted(rows.items())
        }

    audit.record(
        "strategy.matrix",
        workspace=workspace,
        actor=by.user,
        obj=workspace,
        before=show({k: v for k, v in existing.items() if k[0] in members}),
        after=show(wanted),
    )


# --- the employee policy ------------------------------------------------------------------------


def current_policy(workspace_id: int) -> PolicyVersion | None:
    return PolicyVersion.objects.filter(workspace_id=workspace_id).order_by("-number").first()


@transaction.atomic
def publish_policy(workspace: Workspace, *, by: Member, text: str, note: str = "") -> PolicyVersion:
    """A new version: every member and employee is asked to acknowledge it again."""
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    text = text.strip()
    if not text:
        raise ActionRefused(_("The policy needs a text."), field="text")
    _lock_workspace(workspace.pk)
    last = current_policy(workspace.pk)
    if last is not None and last.text == text:
        raise ActionRefused(_("This is the text in force already."), field="text")
    version = PolicyVersion.objects.create(
        workspace=workspace,
        number=(last.number + 1) if last else 1,
        text=text,
        note=note.strip()[:300],
        published_by=by.user,
    )
    audit.record(
        "policy.publish",
        workspace=workspace,
        actor=by.user,
        obj=version,
        after={"version": version.number, "note": version.note},
    )
    return version


@transaction.atomic
def acknowledge_policy(version: PolicyVersion, *, by: Member) -> PolicyAcknowledgement:
    """The member read this version and follows it. Only the version in force."""
    if not by.is_active:
        raise PermissionDenied
    _same_workspace(by, version.workspace_id)
    _lock_workspace(version.workspace_id)
    current = current_policy(version.workspace_id)
    if current is None or current.pk != version.pk:
        raise ActionRefused(_("A newer version is in force: read it first."))
    ack, created = PolicyAcknowledgement.objects.get_or_create(version=version, member=by)
    if created:
        audit.record(
            "policy.acknowledge",
            workspace=version.workspace,
            actor=by.user,
            obj=version,
            after={"version": version.number},
        )
    return ack


def needs_acknowledgement(member: Member) -> PolicyVersion | None:
    """The version in force if this member has not acknowledged it yet."""
    current = current_policy(member.workspace_id)
    if current is None or current.acks.filter(member=member).exists():
        return None
    return current


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_employees(text: str) -> tuple[list[dict[str, str]], list[tuple[int, str]]]:
    """Rows ``name,email[,department]`` (a header line is allowed); errors by line number."""
    rows: list[dict[str, str]] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for line, record in enumerate(reader, start=1):
        cells = [c.strip() for c in record]
        if not any(cells):
            continue
        if line == 1 and len(cells) >= 2 and cells[1].lower() in {"email", "e-mail", "courriel"}:
            continue
        if len(rows) + len(errors) >= MAX_IMPORT_ROWS:
            errors.append((line, _("Too many lines: at most %(n)d.") % {"n": MAX_IMPORT_ROWS}))
            break
        if len(cells) < 2 or len(cells) > 3:
            errors.append((line, _("Expected: name, e-mail address[, department].")))
            continue
        name, email = cells[0], cells[1].lower()
        department = cells[2] if len(cells) == 3 else ""
        if not name or len(name) > 150:
            errors.append((line, _("The name is missing or longer than 150 characters.")))
            continue
        try:
            validate_email(email)
        except ValidationError:
            errors.append(
                (line, _("“%(email)s” is not an e-mail address.") % {"email": email[:80]})
            )
            continue
        if email in seen:
            errors.append((line, _("The same address as line %(line)d.") % {"line": seen[email]}))
            continue
        if len(department) > 80:
            errors.append((line, _("The department is longer than 80 characters.")))
            continue
        seen[email] = line
        rows.append({"name": name, "email": email, "department": department})
    return rows, errors


@transaction.atomic
def import_employees(workspace: Workspace, *, by: Member, text: str) -> ImportReport:
    """Add or update employees from a CSV. Any bad line: nothing is imported, and the report
    names every bad line (the text stays in the form to be corrected)."""
    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    rows, errors = parse_employees(text)
    report = ImportReport(errors=errors)
    if errors:
        return report
    if not rows:
        report.errors.append((1, _("The file has no employee.")))
        return report
    _lock_workspace(workspace.pk)
    known = {e.email: e for e in Employee.objects.filter(workspace=workspace)}
    for row in rows:
        found = known.get(row["email"])
        if found is None:
            Employee.objects.create(workspace=workspace, **row)
            report.created += 1
        elif (found.name, found.department) != (row["name"], row["department"]):
            found.name, found.department = row["name"], row["department"]
            found.save(update_fields=["name", "department"])
            report.updated += 1
    audit.record(
        "policy.employees_import",
        workspace=workspace,
        actor=by.user,
        obj=workspace,
        after={"created": report.created, "updated": report.updated},
    )
    return report


def register_purposes() -> None:
    from portevoix.core import access

    access.register(
        access.Purpose(
            code=POLICY_PAGE_PURPOSE,
            target="core.workspace",
            issue_action="strategy.manage",
            max_lifetime=dt.timedelta(days=POLICY_PAGE_DAYS * 2),
            default_lifetime=dt.timedelta(days=POLICY_PAGE_DAYS),
        )
    )
    access.register(
        access.Purpose(
            code=POLICY_ACK_PURPOSE,
            target="strategy.employeeacknowledgement",
            issue_action="strategy.manage",
            max_lifetime=dt.timedelta(days=90),
            default_lifetime=dt.timedelta(days=POLICY_ACK_DAYS),
            max_uses=None,
            check=_ack_link_check,
        )
    )


def _ack_link_check(request: EmployeeAcknowledgement) -> str | None:
    """A link for a version no longer in force opens nothing."""
    current = current_policy(request.workspace_id)
    return None if current is not None and current.pk == request.version_id else "closed"


def issue_policy_page_link(workspace: Workspace, *, by: Member) -> str:
    """A public, read-only link to the policy in force (shown once)."""
    from portevoix.core.actions import issue_access_token

    _row, token = issue_access_token(POLICY_PAGE_PURPOSE, workspace, by=by)
    return absolute(reverse("strategy_policy_public", kwargs={"token": token}))


def absolute(path: str) -> str:
    return str(settings.PORTEVOIX_BASE_URL) + path


@transaction.atomic
def send_acknowledgement_links(workspace: Workspace, *, by: Member) -> int:
    """E-mail each employee who has not acknowledged the version in force a signed link that
    records their acknowledgement. Returns how many were sent."""
    from portevoix.core.actions import issue_access_token

    require(by, "strategy.manage")
    _same_workspace(by, workspace.pk)
    version = current_policy(workspace.pk)
    if version is None:
        raise ActionRefused(_("Publish the policy first."))
    _lock_workspace(workspace.pk)
    done = set(
        EmployeeAcknowledgement.objects.filter(
            version=version, acknowledged_at__isnull=False
        ).values_list("employee_id", flat=True)
    )
    outgoing: list[tuple[str, str, str]] = []
    for employee in Employee.objects.filter(workspace=workspace).exclude(pk__in=done):
        request, _created = EmployeeAcknowledgement.objects.get_or_create(
            workspace=workspace, version=version, employee=employee
        )
        EmployeeAcknowledgement.objects.filter(pk=request.pk).update(sent_at=timezone.now())
        _row, token = issue_access_token(POLICY_ACK_PURPOSE, request, by=by)
        link = absolute(reverse("strategy_policy_ack_link", kwargs={"token": token}))
        outgoing.append((employee.email, employee.name, link))
    audit.record(
        "policy.requests_send",
        workspace=workspace,
        actor=by.user,
        obj=version,
        after={"version": version.number, "sent": len(outgoing)},
    )
    language = workspace.language

    def send() -> None:
        with translation.override(language):
            for email, name, link in outgoing:
                send_mail(
                    _("%(workspace)s: our social media policy") % {"workspace": workspace.name},
                    _(
                        "Hello %(name)s,\n\nPlease read the social media policy of "
                        "%(workspace)s and confirm that you have read it:\n\n%(link)s\n\n"
                        "The link is personal and only records your acknowledgement."
                    )
                    % {"name": name, "workspace": workspace.name, "link": link},
                    None,
                    [email],
                )

    transaction.on_commit(send)
    return len(outgoing)


def open_acknowledgement_link(token: str) -> EmployeeAcknowledgement:
    """Check the link (a use is audited by ``use_access_token``); the row it opens."""
    from portevoix.core.actions import use_access_token

    _row, target = use_access_token(token, purpose=POLICY_ACK_PURPOSE)
    assert isinstance(target, EmployeeAcknowledgement)
    return target


@transaction.atomic
def acknowledge_by_link(request: EmployeeAcknowledgement) -> EmployeeAcknowledgement:
    """The one thing the link does: this employee acknowledged this version."""
    request = (
        EmployeeAcknowledgement.objects.select_for_update()
        .select_related("employee", "version", "workspace")
        .get(pk=request.pk)
    )
    if request.acknowledged_at is None:
        request.acknowledged_at = timezone.now()
        request.save(update_fields=["acknowledged_at"])
        audit.record(
            "policy.employee_acknowledge",
            workspace=request.workspace,
            actor=None,
            actor_label=f"link: {POLICY_ACK_PURPOSE} ({request.employee.email})",
            obj=request,
            after={"version": request.version.number, "employee": request.employee.email},
        )
    return request


def matrix_from_roles(workspace: Workspace, *, by: Member) -> None:
    """Start the matrix from seed 002's four roles (replaces what is there)."""
    from .responsibility import cells_from_roles

    members = Member.objects.filter(workspace=workspace, is_active=True)
    cells = {(m.pk, str(t)): "" for m in members for t in Task.values}
    cells.update(cells_from_roles(members))
    set_responsibilities(workspace, by=by, cells=cells)
