"""The training record (issue 13 §2): per member, the drills taken part in and their scores,
the employee policy acknowledged, the compliance rules acknowledged.

A member reads their own record; whoever edits the strategy (``strategy.manage``: managers
and admins) reads everyone's and the team overview (:func:`require_reader`). Acknowledging
the compliance rules in force is the one write (:func:`acknowledge_compliance`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import can

from .models import ComplianceAcknowledgement

AUDIT_LABELS = {
    "training.compliance_ack": gettext_noop("Compliance rules acknowledged"),
}
#: Who reads every member's record and the overview.
MANAGE = "strategy.manage"


def require_reader(me: Member, member: Member) -> None:
    """``me`` may read ``member``'s record: their own, or anyone's for a manager."""
    if member.workspace_id != me.workspace_id:
        raise Http404("not found")
    if member.pk != me.pk and not can(me, MANAGE):
        raise PermissionDenied(_("Only managers read other members' training records."))


def active_rules(workspace_id: int) -> list[Any]:
    from portevoix.publishing.approvals.models import ComplianceRule

    return list(
        ComplianceRule.objects.filter(workspace_id=workspace_id, is_active=True).order_by(
            "name", "pk"
        )
    )


def rules_fingerprint(rules: list[Any]) -> str:
    """What the active rules say, hashed: a change to any of them asks everyone again."""
    content = [
        [
            r.name,
            r.kind,
            r.severity,
            r.values,
            r.topic,
            r.message,
            sorted(r.channels.values_list("pk", flat=True)),
        ]
        for r in rules
    ]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def acknowledge_compliance(
    workspace: Workspace, *, by: Member, fingerprint: str
) -> ComplianceAcknowledgement:
    """``by`` read the compliance rules in force (those whose ``fingerprint`` they were shown)
    and follows them."""
    if by.workspace_id != workspace.pk:
        raise Http404("not found")
    if not by.is_active:
        raise PermissionDenied
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    rules = active_rules(workspace.pk)
    if not rules:
        raise ActionRefused(_("There are no compliance rules to acknowledge."))
    current = rules_fingerprint(rules)
    if fingerprint != current:
        raise ActionRefused(_("The rules changed while you read them: read them again."))
    ack, created = ComplianceAcknowledgement.objects.get_or_create(
        member=by,
        fingerprint=current,
        defaults={"workspace": workspace, "rules": [r.name for r in rules]},
    )
    if created:
        audit.record(
            "training.compliance_ack",
            workspace=workspace,
            actor=by.user,
            obj=ack,
            after={"rules": ack.rules},
        )
    return ack


@dataclass
class Record:
    member: Member
    drills: list[Any] = field(default_factory=list)
    policy_version: Any = None
    policy_acknowledged_at: dt.datetime | None = None
    policy_earlier: list[Any] = field(default_factory=list)
    rules: list[Any] = field(default_factory=list)
    fingerprint: str = ""
    compliance_acknowledged_at: dt.datetime | None = None
    compliance_last: ComplianceAcknowledgement | None = None

    @property
    def policy_ok(self) -> bool:
        return self.policy_version is None or self.policy_acknowledged_at is not None

    @property
    def compliance_ok(self) -> bool:
        return not self.rules or self.compliance_acknowledged_at is not None

    @property
    def drill_count(self) -> int:
        return len(self.drills)

    @property
    def mean_drill_score(self) -> int | None:
        scores = [r.drill.score for r in self.drills if r.drill.score is not None]
        return round(sum(scores) / len(scores)) if scores else None

    @property
    def last_drill(self) -> Any:
        return self.drills[0] if self.drills else None


def records(workspace: Workspace, members: list[Member]) -> list[Record]:
    """The training records of ``members`` (of ``workspace``), read in a few queries."""
    from portevoix.crisis.models import DrillResult
    from portevoix.strategy.actions import current_policy
    from portevoix.strategy.models import PolicyAcknowledgement

    ids = [m.pk for m in members]
    found = {m.pk: Record(member=m) for m in members}
    for result in (
        DrillResult.objects.filter(member_id__in=ids, drill__state="ended")
        .select_related("drill")
        .order_by("-drill__started_at")
    ):
        found[result.member_id].drills.append(result)
    version = current_policy(workspace.pk)
    for ack in (
        PolicyAcknowledgement.objects.filter(member_id__in=ids)
        .select_related("version")
        .order_by("-version__number")
    ):
        record = found[ack.member_id]
        if version is not None and ack.version_id == version.pk:
            record.policy_acknowledged_at = ack.acknowledged_at
        else:
            record.policy_earlier.append(ack)
    rules = active_rules(workspace.pk)
    fingerprint = rules_fingerprint(rules) if rules else ""
    for rules_ack in ComplianceAcknowledgement.objects.filter(member_id__in=ids).order_by(
        "-acknowledged_at"
    ):
        record = found[rules_ack.member_id]
        if record.compliance_last is None:
            record.compliance_last = rules_ack
        if rules_ack.fingerprint == fingerprint:
            record.compliance_acknowledged_at = rules_ack.acknowledged_at
    for record in found.values():
        record.policy_version = version
        record.rules = rules
        record.fingerprint = fingerprint
    return [found[m.pk] for m in members]
