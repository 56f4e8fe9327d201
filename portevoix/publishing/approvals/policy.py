"""Who needs approval, who may give it, and whether a post has what it needs (issue 9 §5).

No committees: a post needs at most **one approval** — from the approver the workspace names
(one person, whatever their role, or one role), else from anyone with ``post.approve`` — plus,
in a regulated sector, **one compliance step per department** a compliance route sends it to
(finance or health words, named channels). Nobody approves their own post.

A post needs the approval when:

* its author does not publish directly: the role's default (``post.publish_now``: admin,
  manager, content marketer) unless a manager granted or withdrew it for that member
  (:class:`MemberTrust`); a post made by the operator (the CLI without ``--as``) or the
  system has no author and is trusted;
* (posts, not replies) the workspace requires approval from everyone for now (a launch), or
  one of its channels always requires it.

Replies to customers (``Post.kind == "reply"``) follow the author's trust override, else the
inbox's reply rules (``inbox.actions.needs_approval``: per member, per department, else a
department agent's public reply waits and a content marketer's does not); private replies
need no approval and go to no compliance step.

Approvals are given for one content fingerprint (``Post.content_fingerprint``) and count only
while the content is the same and the person who gave them may still give them: that is
checked when the post is submitted, when a step is decided and again at send time.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils import timezone

from portevoix.core.models import Member
from portevoix.core.permissions import can, has_role, holding
from portevoix.publishing.approvals.models import (
    ApprovalSettings,
    ApprovalStep,
    ComplianceRoute,
    MemberTrust,
    StepKind,
    StepState,
    lines,
)
from portevoix.worker import rows
from portevoix.worker.runner import BatchReads

if TYPE_CHECKING:
    from portevoix.publishing.models import Post, Publication

#: ``Post.source`` of a crisis's holding statement (``publishing.models``).
HOLDING_STATEMENT_SOURCE = "crisis"

#: Publications that are not over: what a plan and a fingerprint are about.
OVER = ("published", "cancelled")

NeedKey = tuple[str, int | None]


# --- trust -----------------------------------------------------------------------------------


def trust_override(member: Member, *, loaded: bool = False) -> bool | None:
    """The manager's word on ``member`` (None: the role's default). ``loaded``: the member was
    selected with its ``publishing_trust`` (``author_member``); otherwise it is read now."""
    trust: MemberTrust | None
    if loaded:
        try:
            trust = member.publishing_trust
        except MemberTrust.DoesNotExist:
            trust = None
    else:
        trust = MemberTrust.objects.filter(member=member).only("publishes_directly").first()
    return None if trust is None else trust.publishes_directly


def publishes_directly(member: Member | None, kind: str = "post", *, loaded: bool = False) -> bool:
    """May this member's posts (``kind="reply"``: replies) go out without approval, before
    channel and launch rules? Never for a member who may no longer write them."""
    if member is None or not member.is_active:
        return False
    if not can(member, "inbox.reply" if kind == "reply" else "post.create"):
        return False
    override = trust_override(member, loaded=loaded)
    if override is not None:
        return override
    if kind == "reply":
        # Replies follow the inbox's approval rules (per member, per department, else a
        # department agent's public answers wait): one rule for the inbox and the worker.
        from portevoix.inbox.actions import needs_approval

        return not needs_approval(member, private=False)
    return can(member, "post.publish_now")


@functools.cache
def _author_read(alias: str) -> tuple[rows.Joined, str]:
    """The member with its user, department and trust: written once (the worker reads it for
    every claimed batch; the ORM's ``select_related`` took more CPU than the query)."""
    joined = rows.Joined(Member, ("user", "department", "publishing_trust"), alias)
    sql = f"{joined.sql(rows.table(Member, alias))} WHERE t0.workspace_id = %s AND t0.user_id = %s"
    return joined, sql


def author_member(post: Post) -> Member | None:
    """The author's membership of the post's workspace (one per workspace and user), with its
    user, department and ``publishing_trust`` loaded."""
    if post.author_id is None:
        return None
    alias = Member.objects.db
    joined, sql = _author_read(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [post.workspace_id, post.author_id])
        row = cursor.fetchone()
    return joined.build(row) if row is not None else None


def settings_of(workspace_id: int) -> ApprovalSettings:
    """The workspace's settings, or unsaved defaults."""
    found = list(
        ApprovalSettings.objects.filter(workspace_id=workspace_id)
        .select_related("approver")
        .order_by()[:1]
    )
    return found[0] if found else ApprovalSettings(workspace_id=workspace_id)


# --- what a post needs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One approval a post needs: the general one, or a department's compliance step."""

    kind: str
    department_id: int | None = None
    #: Why: for the approval, codes ("author", "everyone", "channel") and the channels;
    #: for a compliance step, the routes, the words found and the channels.
    why: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> NeedKey:
        return (self.kind, self.department_id)


@dataclass
class Plan:
    needs: list[Need] = field(default_factory=list)

    @property
    def needs_anything(self) -> bool:
        return bool(self.needs)

    @property
    def approval(self) -> Need | None:
        return next((n for n in self.needs if n.kind == StepKind.APPROVAL), None)

    @property
    def compliance(self) -> list[Need]:
        return [n for n in self.needs if n.kind == StepKind.COMPLIANCE]


def live_publications(post: Post) -> list[Publication]:
    return [p for p in post.publications.all() if p.state not in OVER]


def plan_for(
    post: Post,
    publications: Sequence[Publication] | None = None,
    *,
    now: dt.datetime | None = None,
    reads: BatchReads | None = None,
) -> Plan:
    """What ``post`` needs before its ``publications`` (default: those not over) go out.

    ``reads``: the worker's reads shared by rows claimed together
    (:class:`portevoix.worker.runner.BatchReads`): the author, the settings and the routes
    are read once per batch."""
    from portevoix.publishing.compliance import find_phrase, publication_units
    from portevoix.publishing.models import PostKind

    publications = list(publications) if publications is not None else live_publications(post)
    public = [p for p in publications if not p.private]
    if not public:
        # Private answers to customers: no approval, no compliance step.
        return Plan()
    now = now or timezone.now()
    reads = reads if reads is not None else BatchReads()
    who = reads.get_or_load(
        ("author", post.workspace_id, post.author_id), lambda: author_member(post)
    )
    needs: list[Need] = []
    reasons: list[str] = []
    channels: list[str] = []
    if post.author_id is not None and not publishes_directly(who, post.kind, loaded=True):
        reasons.append("author")
    if post.kind == PostKind.POST:
        settings = reads.get_or_load(
            ("approval settings", post.workspace_id), lambda: settings_of(post.workspace_id)
        )
        if settings.pk is not None:
            if settings.everyone_now(now):
                reasons.append("everyone")
            locked = reads.get_or_load(
                ("approval channels", settings.pk),
                lambda: set(settings.channels.values_list("pk", flat=True)),
            )
            channels = sorted({p.channel.name for p in public if p.channel_id in locked})
            if channels:
                reasons.append("channel")
    if reasons:
        needs.append(Need(StepKind.APPROVAL, None, {"reasons": reasons, "channels": channels}))
    routes = reads.get_or_load(
        ("compliance routes", post.workspace_id),
        lambda: list(
            ComplianceRoute.objects.filter(workspace_id=post.workspace_id, is_active=True)
            .select_related("department")
            .prefetch_related("channels")
        ),
    )
    if routes:
        units = [unit for p in public for unit in publication_units(p)]
        by_department: dict[int, dict[str, list[str]]] = {}
        for route in routes:
            route_channels = {c.pk for c in route.channels.all()}
            hit_channels = sorted(
                {p.channel.name for p in public if p.channel_id in route_channels}
            )
            hit_words = []
            for word in lines(route.words):
                found = next((h for u in units for h in find_phrase(word, u.text, limit=1)), None)
                if found is not None:
                    hit_words.append(found.excerpt)
            if not hit_channels and not hit_words:
                continue
            why = by_department.setdefault(
                route.department_id, {"routes": [], "words": [], "channels": []}
            )
            why["routes"].append(route.name)
            why["words"] = list(dict.fromkeys([*why["words"], *hit_words]))
            why["channels"] = list(dict.fromkeys([*why["channels"], *hit_channels]))
        for department_id, why in sorted(by_department.items()):
            needs.append(Need(StepKind.COMPLIANCE, department_id, why))
    if post.source == HOLDING_STATEMENT_SOURCE:
        _holding_statement_need(post, needs, reads)
    return Plan(needs)


def legal_department_id(workspace_id: int) -> int | None:
    from portevoix.core.models import Department

    return (
        Department.objects.filter(workspace_id=workspace_id, code="legal", is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _holding_statement_need(post: Post, needs: list[Need], reads: BatchReads) -> None:
    """A crisis's holding statement needs the legal department's step, whatever it says
    (issue 12 §5); a workspace without a legal department gives it the general approval."""
    legal = reads.get_or_load(
        ("legal department", post.workspace_id), lambda: legal_department_id(post.workspace_id)
    )
    if legal is not None:
        if not any(n.key == (StepKind.COMPLIANCE, legal) for n in needs):
            needs.append(
                Need(
                    StepKind.COMPLIANCE,
                    legal,
                    {"reasons": ["crisis"], "routes": [], "words": [], "channels": []},
                )
            )
    elif not any(n.kind == StepKind.APPROVAL for n in needs):
        needs.insert(0, Need(StepKind.APPROVAL, None, {"reasons": ["crisis"], "channels": []}))


def approval_expected(member: Member, channels: Sequence[Any], kind: str = "post") -> bool:
    """Before the text is written: will this member's post on these channels wait for an
    approval (not counting compliance steps, which depend on the text)?"""
    if not publishes_directly(member, kind):
        return True
    if kind != "post":
        return False
    settings = settings_of(member.workspace_id)
    if settings.pk is None:
        return False
    if settings.everyone_now():
        return True
    locked = set(settings.channels.values_list("pk", flat=True))
    return any(c.pk in locked for c in channels)


# --- who may decide --------------------------------------------------------------------------


class Deciders:
    """Answers "may this member decide this step?" for the steps of one workspace, with the
    queries it needs done once."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._roles: dict[tuple[str, int | None], bool] = {}

    def _others_in_role(self, role: str, author_id: int | None) -> bool:
        key = (role, author_id)
        if key not in self._roles:
            members = Member.objects.filter(
                holding([role]), workspace_id=self.workspace_id, is_active=True
            )
            if author_id is not None:
                members = members.exclude(user_id=author_id)
            self._roles[key] = members.exists()
        return self._roles[key]

    def may_decide(self, member: Member | None, step: ApprovalStep, author_id: int | None) -> bool:
        if member is None or not member.is_active or member.workspace_id != self.workspace_id:
            return False
        if author_id is not None and member.user_id == author_id:
            return False  # nobody approves their own post
        if step.kind == StepKind.COMPLIANCE:
            return (
                step.department_id is not None
                and member.department_id == step.department_id
                and can(member, "post.approve_compliance")
            )
        approver = step.approver
        if approver is not None and approver.is_active and approver.user_id != author_id:
            return member.pk == approver.pk
        if step.approver_role and self._others_in_role(step.approver_role, author_id):
            return has_role(member, step.approver_role)
        return can(member, "post.approve")

    def still_counts(self, step: ApprovalStep, author_id: int | None) -> bool:
        """An approved step counts only while the person who gave it may still give it."""
        if step.decided_by_id is None:
            return False
        member = (
            Member.objects.filter(workspace_id=self.workspace_id, user_id=step.decided_by_id)
            .select_related("user")
            .first()
        )
        if member is None or not member.is_active:
            return False
        if author_id is not None and member.user_id == author_id:
            return False
        if step.kind == StepKind.COMPLIANCE:
            return member.department_id == step.department_id and can(
                member, "post.approve_compliance"
            )
        return (
            can(member, "post.approve")
            or (step.approver_id is not None and member.pk == step.approver_id)
            or (bool(step.approver_role) and has_role(member, step.approver_role))
        )

    def members_for(self, step: ApprovalStep, author_id: int | None) -> list[Member]:
        """Everyone who may decide ``step`` (to tell them, or to find them on a page)."""
        members = Member.objects.filter(workspace_id=self.workspace_id, is_active=True)
        if step.kind == StepKind.COMPLIANCE:
            members = members.filter(department_id=step.department_id)
        return [m for m in members.select_related("user") if self.may_decide(m, step, author_id)]


# --- where a post stands ---------------------------------------------------------------------


@dataclass
class Verdict:
    """What ``post`` has against what it needs, for its current content."""

    plan: Plan
    fingerprint: str
    #: Approved for this content, by someone who may still approve.
    satisfied: dict[NeedKey, ApprovalStep] = field(default_factory=dict)
    waiting: dict[NeedKey, ApprovalStep] = field(default_factory=dict)
    #: Approved for other content: they lapse.
    changed: list[ApprovalStep] = field(default_factory=list)
    #: Approved by someone who may no longer approve: they lapse.
    decider_left: list[ApprovalStep] = field(default_factory=list)
    #: Waiting for a step the post no longer needs: they lapse.
    surplus: list[ApprovalStep] = field(default_factory=list)
    missing: list[Need] = field(default_factory=list)

    @property
    def cleared(self) -> bool:
        return all(need.key in self.satisfied for need in self.plan.needs)


def step_key(step: ApprovalStep) -> NeedKey:
    return (step.kind, step.department_id if step.kind == StepKind.COMPLIANCE else None)


def verdict(
    post: Post,
    publications: Sequence[Publication] | None = None,
    *,
    plan: Plan | None = None,
    steps: Iterable[ApprovalStep] | None = None,
    surplus: bool = True,
    reads: BatchReads | None = None,
) -> Verdict:
    """Where ``post`` stands for ``publications`` (default: those not over). ``surplus=False``
    skips looking for waiting requests it no longer needs (the worker only asks "may it go
    out?")."""
    plan = plan if plan is not None else plan_for(post, publications, reads=reads)
    if not plan.needs_anything:
        if not surplus:
            return Verdict(plan=plan, fingerprint="")
        # Nothing needed: waiting requests (an edit made them moot) lapse.
        moot = [
            s
            for s in (steps if steps is not None else post.approval_steps.all())
            if s.state == StepState.WAITING
        ]
        return Verdict(plan=plan, fingerprint="", surplus=moot)
    fingerprint = post.content_fingerprint()
    result = Verdict(plan=plan, fingerprint=fingerprint)
    needed = {need.key: need for need in plan.needs}
    deciders = Deciders(post.workspace_id)
    rows = (
        list(steps)
        if steps is not None
        else list(post.approval_steps.select_related("approver").order_by("-decided_at", "-id"))
    )
    for step in rows:
        key = step_key(step)
        if step.state == StepState.WAITING:
            if key in needed:
                result.waiting[key] = step
            else:
                result.surplus.append(step)
        elif step.state == StepState.APPROVED:
            if key not in needed or key in result.satisfied:
                continue
            if step.fingerprint != fingerprint:
                result.changed.append(step)
            elif not deciders.still_counts(step, post.author_id):
                result.decider_left.append(step)
            else:
                result.satisfied[key] = step
    for key, need in needed.items():
        if key in result.satisfied:
            if key in result.waiting:
                result.surplus.append(result.waiting.pop(key))
        elif key not in result.waiting:
            result.missing.append(need)
    return result
