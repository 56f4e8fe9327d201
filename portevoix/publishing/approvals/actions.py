"""Every change to approvals, and the checks that keep them (issue 9 §0, §5).

* :func:`submit` is what the composer, the channel page's quick post, the CLI and the API end
  in (``publishing.actions.submit_post`` and ``schedule_post`` call it): it refuses a new post
  on a passive channel or one that breaks a blocking compliance rule, then sends the post out
  (``scheduled``, or ``paused`` under a pause) if it needs no approval or already has it for
  this content, else asks for the missing steps (``pending_approval``) and tells the people
  who may decide.
* :func:`approve`, :func:`request_changes`, :func:`reject` decide one step, with a comment;
  :func:`withdraw` takes a post back to edit it.
* :func:`send_time_check` runs in the worker before every send: the channel must still take
  posts, no pause may hold it, no blocking compliance rule may be broken, and the approvals it
  needs must still be there for this content and from people who may still give them.
* Settings: :func:`update_settings` (who approves, launches, channels), :func:`set_trust`
  (publishes directly, per member), :func:`save_route` / :func:`delete_route` (the compliance
  step), and the reminders (:func:`send_reminders`, a housekeeping job).

Every step is in the audit log; people are told through :mod:`.notices`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel, StrategyLevel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Department, Member, User, Workspace
from portevoix.core.permissions import MATRIX, Role, can, require
from portevoix.core.sentences import Sentence
from portevoix.publishing import compliance, pause
from portevoix.publishing.approvals import notices, policy
from portevoix.publishing.approvals.models import (
    ApprovalSettings,
    ApprovalStep,
    ComplianceRoute,
    ComplianceRule,
    LapseReason,
    MemberTrust,
    Pause,
    Severity,
    StepKind,
    StepState,
    lines,
)
from portevoix.publishing.compliance import joined, said
from portevoix.publishing.models import Post, PostKind, Publication, PublicationStates
from portevoix.worker.models import Housekeeping, Outcome
from portevoix.worker.runner import BatchReads, batch_reads

S = PublicationStates

#: Publications a submission moves: not sent, not being sent, not waiting for a person.
SUBMITTABLE = (S.draft.name, S.pending_approval.name, S.scheduled.name, S.paused.name)
#: Reminders stop after this many (the request stays on "waiting for me").
MAX_REMINDERS = 5


def _actor(by: Member | None) -> User | None:
    return by.user if by is not None else None


def create_permission(post: Post) -> str:
    return "inbox.reply" if post.kind == PostKind.REPLY else "post.create"


# --- §0: what a channel takes --------------------------------------------------------------


def refuse_passive(kind: str, channels: Sequence[Channel]) -> None:
    """A passive listener takes no new post (nor campaign); replies and private messages to
    customers still go out there. Raises :class:`ActionRefused`."""
    if kind == PostKind.REPLY:
        return
    passive = [c.name for c in channels if c.strategy_level == StrategyLevel.PASSIVE]
    if passive:
        raise ActionRefused(
            _(
                "%(channels)s: passive listener — no new posts there, only replies and "
                "private messages to customers."
            )
            % {"channels": ", ".join(passive)},
            field="channels",
            code="passive",
        )


def _movable(publication: Publication, now: dt.datetime) -> bool:
    if publication.state not in SUBMITTABLE:
        return False
    if publication.state == S.scheduled.name:
        # Being sent right now (a live lease or a "sending" mark): it lands, or is reconciled.
        if publication.sending_at is not None:
            return False
        if publication.locked_until is not None and publication.locked_until > now:
            return False
    return True


# --- submitting --------------------------------------------------------------------------------


#: The roles' names as message ids, so that a stored sentence names them in each reader's
#: language (the same words as ``Role``'s labels).
ROLE_NAMES = {
    Role.ADMIN: gettext_noop("Admin"),
    Role.MANAGER: gettext_noop("Social Media Manager"),
    Role.CONTENT: gettext_noop("Content Marketer"),
    Role.CREATIVE: gettext_noop("Creative Content Marketer"),
    Role.ANALYST: gettext_noop("Social Media Analyst"),
    Role.AGENT: gettext_noop("Department agent"),
    Role.VIEWER: gettext_noop("Viewer / Executive"),
}


def waiting_problem(steps: Sequence[ApprovalStep]) -> Sentence:
    """What a publication waiting for approval shows: who it waits for (stored as a sentence,
    shown in each reader's language)."""
    parts: list[Sentence] = []
    general = next((s for s in steps if s.kind == StepKind.APPROVAL), None)
    if general is not None and general.approver is not None:
        parts.append(
            said(
                gettext_noop("Waiting for approval by %(who)s."),
                who=general.approver.user.display_name,
            )
        )
    elif general is not None and general.approver_role:
        parts.append(
            said(
                gettext_noop("Waiting for approval by a member with the role %(role)s."),
                role=said(ROLE_NAMES[Role(general.approver_role)]),
            )
        )
    elif general is not None:
        parts.append(said(gettext_noop("Waiting for approval.")))
    departments = [
        s.department.name for s in steps if s.kind == StepKind.COMPLIANCE and s.department
    ]
    if departments:
        parts.append(
            said(
                gettext_noop("Waiting for the compliance step of %(departments)s."),
                departments=", ".join(departments),
            )
        )
    return joined(parts) if parts else said(gettext_noop("Waiting for approval."))


def _lapse(step: ApprovalStep, reason: str, now: dt.datetime, actor: User | None) -> None:
    step.state = StepState.LAPSED
    step.lapse_reason = reason
    step.lapsed_at = now
    step.remind_at = None
    step.save(update_fields=["state", "lapse_reason", "lapsed_at", "remind_at"])
    audit.record(
        "approval.lapse",
        workspace=step.post.workspace,
        actor=actor,
        obj=step.post,
        after={"step": step.pk, "kind": step.kind, "reason": reason},
    )


def _settle_steps(
    post: Post, verdict: policy.Verdict, *, actor: User | None, note: str, now: dt.datetime
) -> list[ApprovalStep]:
    """Lapse what no longer counts, ask for what is missing; returns the new steps."""
    for step in verdict.changed:
        _lapse(step, LapseReason.CONTENT_CHANGED, now, actor)
    for step in verdict.decider_left:
        _lapse(step, LapseReason.DECIDER_LEFT, now, actor)
    for step in verdict.surplus:
        _lapse(step, LapseReason.NOT_NEEDED, now, actor)
    if note:
        for step in verdict.waiting.values():
            step.note = note
            step.save(update_fields=["note"])
    if not verdict.missing:
        return []
    settings = policy.settings_of(post.workspace_id)
    remind = dt.timedelta(hours=settings.remind_after_hours or 4)
    created = []
    for need in verdict.missing:
        general = need.kind == StepKind.APPROVAL
        step = ApprovalStep.objects.create(
            post=post,
            kind=need.kind,
            department_id=need.department_id,
            approver=settings.approver if general else None,
            approver_role=settings.approver_role if general else "",
            why=need.why,
            requested_by=actor,
            requested_at=now,
            note=note,
            remind_at=now + remind,
        )
        audit.record(
            "approval.request",
            workspace=post.workspace,
            actor=actor,
            obj=post,
            after={
                "step": step.pk,
                "kind": step.kind,
                "department": step.department.name if step.department else None,
                "approver": str(step.approver.user) if step.approver else None,
                "role": step.approver_role or None,
                "why": need.why,
            },
        )
        created.append(step)
    deciders = policy.Deciders(post.workspace_id)
    for step in created:
        notices.step_requested(step, deciders.members_for(step, post.author_id))
    return created


def _release(publications: Sequence[Publication], workspace_id: int) -> None:
    """Cleared publications go out at their time, or wait under a pause."""
    active = pause.active_keys(workspace_id)
    for publication in publications:
        if pause.covering(publication, active):
            if publication.state != S.paused.name:
                publication.transition(S.paused, problem=pause.paused_problem().dumps())
        elif publication.state != S.scheduled.name:
            publication.transition(S.scheduled, at=publication.scheduled_at)


def hold_reason(verdict: policy.Verdict) -> Sentence | None:
    """Why a post that had its approvals waits again (None for a first request)."""
    if verdict.changed:
        return said(gettext_noop("The content changed after it was approved."))
    if verdict.decider_left:
        return said(gettext_noop("The person who approved it may no longer approve it."))
    return None


def _hold(publications: Sequence[Publication], post: Post, reason: Sentence | None) -> None:
    waiting = list(
        post.approval_steps.filter(state=StepState.WAITING).select_related(
            "approver__user", "department"
        )
    )
    said_now = waiting_problem(waiting)
    problem = (joined([reason, said_now]) if reason is not None else said_now).dumps()
    for publication in publications:
        if publication.state != S.pending_approval.name:
            publication.transition(S.pending_approval, problem=problem)
        elif publication.problem != problem:
            publication.problem = problem
            publication.save(update_fields=["problem"])


def route(
    post: Post,
    publications: Sequence[Publication],
    *,
    by: Member | None,
    note: str = "",
) -> policy.Verdict:
    """Send ``publications`` out or ask for approval, from what ``post`` needs now.

    Runs inside the caller's transaction, with the post and the publications locked."""
    now = timezone.now()
    plan = policy.plan_for(post, publications, now=now)
    verdict = policy.verdict(post, publications, plan=plan)
    _settle_steps(post, verdict, actor=_actor(by), note=note.strip(), now=now)
    if verdict.cleared:
        _release(publications, post.workspace_id)
    else:
        _hold(publications, post, hold_reason(verdict))
    return verdict


def check_before_saving(
    workspace: Workspace, kind: str, text: str, channels: Sequence[Channel]
) -> None:
    """What ``schedule_post`` refuses before it saves anything: a passive channel, a text
    that breaks a blocking compliance rule."""
    refuse_passive(kind, channels)
    blocks = compliance.blocking(compliance.check_draft(workspace, text, channels))
    if blocks:
        raise compliance.refusal(blocks)


@transaction.atomic
def submit(post: Post, *, by: Member | None, note: str = "") -> Post:
    """Send ``post`` out, or ask for the approvals it needs (see the module's docstring).

    ``by`` is the member submitting (None: the operator or the system). Works for every kind
    of post: a reply to a customer needs ``inbox.reply`` rather than ``post.create``."""
    if by is not None:
        require(by, create_permission(post))
        _same_workspace(by, post.workspace)
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("workspace", "campaign")
        .get(pk=post.pk)
    )
    now = timezone.now()
    publications = [
        p
        for p in post.publications.select_for_update(of=("self",)).select_related("channel", "post")
        if _movable(p, now)
    ]
    if not publications:
        raise ActionRefused(
            _(
                "Nothing to submit: every channel of this post has gone out, is going out or "
                "was cancelled."
            ),
            code="state",
        )
    refuse_passive(post.kind, [p.channel for p in publications])
    if post.campaign is not None and post.campaign.cancelled_at is not None:
        raise ActionRefused(
            _("The campaign %(name)s is cancelled.") % {"name": post.campaign.name},
            field="campaign",
            code="cancelled",
        )
    rules = compliance.RuleSet.load(post.workspace_id)
    blocks = compliance.blocking(
        f for p in publications for f in compliance.check_publication(p, rules)
    )
    if blocks:
        raise compliance.refusal(blocks)
    verdict = route(post, publications, by=by, note=note)
    audit.record(
        "post.submit",
        workspace=post.workspace,
        actor=_actor(by),
        obj=post,
        after={
            "channels": [p.channel.name for p in publications],
            "outcome": "scheduled" if verdict.cleared else "pending_approval",
            "note": note.strip()[:500],
        },
    )
    return post


# --- deciding ----------------------------------------------------------------------------------


def _locked_step(step: ApprovalStep, by: Member | None) -> tuple[ApprovalStep, Post]:
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .get(pk=step.post_id)
    )
    step = (
        ApprovalStep.objects.select_for_update(of=("self",))
        .select_related("approver__user", "department", "post")
        .get(pk=step.pk)
    )
    if by is not None:
        _same_workspace(by, post.workspace)
        if not policy.Deciders(post.workspace_id).may_decide(by, step, post.author_id):
            if post.author_id is not None and by.user_id == post.author_id:
                raise PermissionDenied(_("Nobody approves their own post."))
            raise PermissionDenied(_("This approval is not yours to give."))
    if step.state != StepState.WAITING:
        raise ActionRefused(
            _("This request was already answered (%(state)s).")
            % {"state": step.get_state_display()},
            code="state",
        )
    return step, post


def _decide(
    step: ApprovalStep, state: str, *, by: Member | None, comment: str, fingerprint: str
) -> None:
    step.state = state
    step.decided_by = _actor(by)
    step.decided_at = timezone.now()
    step.comment = comment.strip()
    step.fingerprint = fingerprint
    step.remind_at = None
    step.save(
        update_fields=[
            "state",
            "decided_by",
            "decided_at",
            "comment",
            "fingerprint",
            "remind_at",
        ]
    )


def _audit_decision(step: ApprovalStep, post: Post, action: str, by: Member | None) -> None:
    audit.record(
        action,
        workspace=post.workspace,
        actor=_actor(by),
        obj=post,
        after={
            "step": step.pk,
            "kind": step.kind,
            "department": step.department.name if step.department else None,
            "comment": step.comment[:1000],
            "waited_seconds": int(step.waited.total_seconds()),
        },
    )


def _pending(post: Post) -> list[Publication]:
    return list(
        post.publications.select_for_update(of=("self",))
        .filter(state=S.pending_approval.name)
        .select_related("channel", "post")
    )


@transaction.atomic
def approve(
    step: ApprovalStep,
    *,
    by: Member | None,
    fingerprint: str | None = None,
    comment: str = "",
) -> ApprovalStep:
    """Approve one step for the post's current content. ``fingerprint`` is the content the
    approver read (the review page sends it): if the post changed since, nothing is approved.

    A post that breaks a blocking compliance rule cannot be approved. When every step the
    post needs is approved, its publications go out at their time (or wait under a pause)."""
    step, post = _locked_step(step, by)
    current = post.content_fingerprint()
    if fingerprint is not None and fingerprint != current:
        raise ActionRefused(
            _("The post changed while you were reading it: read it again before deciding."),
            code="changed",
        )
    pending = _pending(post)
    rules = compliance.RuleSet.load(post.workspace_id)
    blocks = compliance.blocking(f for p in pending for f in compliance.check_publication(p, rules))
    if blocks:
        raise ActionRefused(
            _("A post that breaks a compliance rule cannot be approved: %(reasons)s")
            % {"reasons": joined([f.sentence() for f in blocks]).render()},
            code="compliance",
        )
    _decide(step, StepState.APPROVED, by=by, comment=comment, fingerprint=current)
    _audit_decision(step, post, "approval.approve", by)
    if pending:
        route(post, pending, by=by)
    notices.step_decided(step)
    _decided(step, post, by)
    return step


#: Called with (step, post, by) in the decision's transaction, after each decision (the
#: crisis's timeline records legal's word on a holding statement).
_decided_handlers: list[Callable[[ApprovalStep, Post, Member | None], Any]] = []


def on_step_decided(handler: Callable[[ApprovalStep, Post, Member | None], Any]) -> None:
    if handler not in _decided_handlers:
        _decided_handlers.append(handler)


def _decided(step: ApprovalStep, post: Post, by: Member | None) -> None:
    for handler in list(_decided_handlers):
        handler(step, post, by)


def _close_others(step: ApprovalStep, post: Post, by: Member | None) -> None:
    now = timezone.now()
    for other in post.approval_steps.filter(state=StepState.WAITING).exclude(pk=step.pk):
        _lapse(other, LapseReason.OTHER_STEP, now, _actor(by))


def _who(by: Member | None) -> Sentence:
    return said("%(name)s", name=by.user.display_name) if by else said(gettext_noop("the system"))


def _comment_required(comment: str) -> None:
    if not comment.strip():
        raise ActionRefused(
            _("Say what to change or why: the author reads it."), field="comment", code="comment"
        )


@transaction.atomic
def request_changes(step: ApprovalStep, *, by: Member | None, comment: str) -> ApprovalStep:
    """Send the post back to its author with a comment: its publications become drafts."""
    # Who may decide first: a role that may not is refused as such, whatever it wrote.
    step, post = _locked_step(step, by)
    _comment_required(comment)
    _decide(step, StepState.CHANGES, by=by, comment=comment, fingerprint=post.content_fingerprint())
    _close_others(step, post, by)
    for publication in _pending(post):
        publication.transition(
            S.draft,
            problem=said(
                gettext_noop("Changes requested by %(who)s: %(comment)s"),
                who=_who(by),
                comment=step.comment,
            ).dumps(),
        )
    _audit_decision(step, post, "approval.request_changes", by)
    notices.step_decided(step)
    _decided(step, post, by)
    return step


@transaction.atomic
def reject(step: ApprovalStep, *, by: Member | None, comment: str) -> ApprovalStep:
    """Refuse the post, with the reason: what it had not sent is cancelled."""
    # Who may decide first: a role that may not is refused as such, whatever it wrote.
    step, post = _locked_step(step, by)
    _comment_required(comment)
    _decide(
        step, StepState.REJECTED, by=by, comment=comment, fingerprint=post.content_fingerprint()
    )
    _close_others(step, post, by)
    now = timezone.now()
    for publication in post.publications.select_for_update():
        if _movable(publication, now):
            publication.transition(
                S.cancelled,
                problem=said(
                    gettext_noop("Rejected by %(who)s: %(comment)s"),
                    who=_who(by),
                    comment=step.comment,
                ).dumps(),
            )
    _audit_decision(step, post, "approval.reject", by)
    notices.step_decided(step)
    _decided(step, post, by)
    return step


@transaction.atomic
def withdraw(post: Post, *, by: Member | None) -> Post:
    """The author takes a post waiting for approval back to edit it (a manager may too)."""
    post = Post.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=post.pk)
    if by is not None:
        _same_workspace(by, post.workspace)
        if by.user_id != post.author_id:
            require(by, "approval.manage")
        else:
            require(by, create_permission(post))
    now = timezone.now()
    waiting = list(post.approval_steps.select_for_update().filter(state=StepState.WAITING))
    pending = _pending(post)
    if not waiting and not pending:
        raise ActionRefused(_("This post is not waiting for approval."), code="state")
    for step in waiting:
        step.post = post
        _lapse(step, LapseReason.WITHDRAWN, now, _actor(by))
    for publication in pending:
        publication.transition(S.draft, problem=said(gettext_noop("Taken back to edit.")).dumps())
    audit.record("post.withdraw", workspace=post.workspace, actor=_actor(by), obj=post)
    return post


# --- at send time ------------------------------------------------------------------------------


def _attention(publication: Publication, kind: str) -> Callable[[], None]:
    from portevoix.publishing import events

    pk = publication.pk

    def send() -> None:
        events.publication_needs_attention(pk, kind)

    return send


def _reconcile_later(post_id: int) -> Callable[[], None]:
    def run() -> None:
        reconcile_post(post_id)

    return run


#: What a workspace holds that the send-time check reads: one statement answers which of
#: them exist, and only those are read (most workspaces have no pause on, many no rules).
_PRESENT_SQL = (
    "SELECT EXISTS (SELECT 1 FROM {pause} WHERE workspace_id = %s AND ended_at IS NULL), "
    "EXISTS (SELECT 1 FROM {rule} WHERE workspace_id = %s AND is_active = %s "
    "AND severity = %s), "
    "EXISTS (SELECT 1 FROM {settings} WHERE workspace_id = %s), "
    "EXISTS (SELECT 1 FROM {route} WHERE workspace_id = %s AND is_active = %s)"
)


def prime_send_time_reads(reads: BatchReads, workspace_id: int) -> None:
    """Answer at once, for the rows of one batch, the send-time reads of what the workspace
    does not have: no active pause, no blocking rule, no approval settings, no active
    compliance route. One statement for the four (they were four queries per batch); what
    exists is read as before (:func:`send_time_check`, ``policy.plan_for``). The answers are
    as fresh as the batch, like every read it shares."""
    if ("present", workspace_id) in reads:
        return
    conn = connections[Publication.objects.db]
    sql = _PRESENT_SQL.format(
        pause=conn.ops.quote_name(Pause._meta.db_table),
        rule=conn.ops.quote_name(ComplianceRule._meta.db_table),
        settings=conn.ops.quote_name(ApprovalSettings._meta.db_table),
        route=conn.ops.quote_name(ComplianceRoute._meta.db_table),
    )
    block = str(Severity.BLOCK)
    params: list[int | str | bool] = [
        workspace_id,
        workspace_id,
        True,
        block,
        workspace_id,
        workspace_id,
        True,
    ]
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    paused, rules, settings, routes = (bool(v) for v in row) if row else (True,) * 4
    reads[("present", workspace_id)] = True
    if not paused:
        reads[("pauses", workspace_id)] = frozenset()
    if not rules:
        reads[("blocking rules", workspace_id)] = compliance.RuleSet()
    if not settings:
        reads[("approval settings", workspace_id)] = ApprovalSettings(workspace_id=workspace_id)
    if not routes:
        reads[("compliance routes", workspace_id)] = []


def send_time_check(publication: Publication) -> Outcome | None:
    """The worker's last word before a send (``states.handle_scheduled``): None to send, or
    where the publication goes instead.

    * a new post on a channel now at the passive listener level: ``rejected``;
    * a pause holds it: ``paused`` (its time is kept);
    * it breaks a blocking compliance rule: ``rejected``, with the reasons;
    * its approvals no longer count (the content changed, the approver lost the right, the
      author no longer publishes directly, a launch or the channel now requires approval):
      ``pending_approval``, and the missing steps are asked for once the result is written.
    """
    post = publication.post
    channel = publication.channel
    if post.kind == PostKind.POST and channel.strategy_level == StrategyLevel.PASSIVE:
        return Outcome(
            S.rejected,
            fields={
                "problem": said(
                    gettext_noop(
                        "The channel %(name)s is now a passive listener: it takes no new posts."
                    ),
                    name=channel.name,
                ).dumps()
            },
            after=_attention(publication, "rejected"),
        )
    # Rows claimed together read the workspace's pauses, rules and settings once.
    reads = batch_reads(publication)
    workspace_id = post.workspace_id
    prime_send_time_reads(reads, workspace_id)
    paused = reads.get_or_load(("pauses", workspace_id), lambda: pause.active_keys(workspace_id))
    if pause.covering(publication, paused):
        return Outcome(S.paused, fields={"problem": pause.paused_problem().dumps()})
    rules = reads.get_or_load(
        ("blocking rules", workspace_id),
        lambda: compliance.RuleSet.load(workspace_id, blocking_only=True),
    )
    blocks = compliance.blocking(compliance.check_publication(publication, rules))
    if blocks:
        return Outcome(
            S.rejected,
            fields={
                "problem": said(
                    gettext_noop(
                        "Not sent: it breaks the workspace's compliance rules. %(reasons)s"
                    ),
                    reasons=joined([f.sentence() for f in blocks]),
                ).dumps()
            },
            after=_attention(publication, "rejected"),
        )
    # What this publication needs (its channel, its texts, the author), and whether the post
    # has it for its current content.
    verdict = policy.verdict(post, [publication], surplus=False, reads=reads)
    if verdict.cleared:
        return None
    problem = hold_reason(verdict) or said(gettext_noop("It needs approval before it goes out."))
    return Outcome(
        S.pending_approval, fields={"problem": problem.dumps()}, after=_reconcile_later(post.pk)
    )


@transaction.atomic
def reconcile_post(post_id: int) -> policy.Verdict | None:
    """Bring a post's steps in line with what it needs (after the worker held it, and from
    the reminders job for a post waiting with no request): lapse what no longer counts, ask
    for what is missing, and release it if nothing is missing any more."""
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        return None
    pending = _pending(post)
    if not pending:
        return None
    verdict = route(post, pending, by=None)
    return verdict


# --- reminders ---------------------------------------------------------------------------------


def send_reminders(row: Housekeeping) -> str:
    """Housekeeping ``approval-reminders``: recall waiting requests to their approvers (every
    workspace's interval, at most :data:`MAX_REMINDERS` times), and ask again for posts left
    waiting with no request (a crash between the worker's result and the request)."""
    now = timezone.now()
    reminded = repaired = 0
    with row.leased_atomic():
        due = list(
            ApprovalStep.objects.select_for_update(of=("self",))
            .filter(state=StepState.WAITING, remind_at__lte=now)
            .select_related("post__workspace", "approver__user", "department")
            .order_by("remind_at")[:500]
        )
        settings: dict[int, ApprovalSettings] = {}
        for step in due:
            workspace_id = step.post.workspace_id
            if workspace_id not in settings:
                settings[workspace_id] = policy.settings_of(workspace_id)
            every = dt.timedelta(hours=settings[workspace_id].remind_after_hours or 4)
            step.reminders_sent += 1
            step.remind_at = now + every if step.reminders_sent < MAX_REMINDERS else None
            step.save(update_fields=["reminders_sent", "remind_at"])
            deciders = policy.Deciders(workspace_id).members_for(step, step.post.author_id)
            notices.step_reminder(step, deciders)
            audit.record(
                "approval.remind",
                workspace=step.post.workspace,
                actor=None,
                obj=step.post,
                after={
                    "step": step.pk,
                    "reminder": step.reminders_sent,
                    "waited_seconds": int(step.waited.total_seconds()),
                },
            )
            reminded += 1
    stranded = (
        Publication.objects.filter(state=S.pending_approval.name)
        .exclude(post__approval_steps__state=StepState.WAITING)
        .values_list("post_id", flat=True)
        .distinct()[:200]
    )
    for post_id in list(stranded):
        verdict = reconcile_post(post_id)
        if verdict is not None:
            repaired += 1
    return f"{reminded} reminder(s), {repaired} post(s) asked again"


# --- settings ----------------------------------------------------------------------------------

SETTINGS_FIELDS = [
    "approver",
    "approver_role",
    "everyone",
    "everyone_until",
    "remind_after_hours",
]


def _settings_snapshot(settings: ApprovalSettings) -> dict[str, Any]:
    data = audit.snapshot(settings, SETTINGS_FIELDS) if settings.pk else {}
    if settings.pk:
        data["channels"] = sorted(c.name for c in settings.channels.all())
    return data


@transaction.atomic
def update_settings(
    workspace: Workspace,
    *,
    by: Member | None,
    approver: Member | None = None,
    approver_role: str = "",
    everyone: bool = False,
    everyone_until: dt.datetime | None = None,
    channels: Sequence[Channel] = (),
    remind_after_hours: int = 4,
) -> ApprovalSettings:
    """Who approves, whether everyone needs approval for now, which channels always need it.

    Requests waiting for the general approval follow the new approver at once."""
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    if approver is not None and approver_role:
        raise ActionRefused(
            _("Name one person or one role, not both: no committees."), field="approver_role"
        )
    if approver is not None:
        if approver.workspace_id != workspace.pk or not approver.is_active:
            raise ActionRefused(_("Choose an active member of this workspace."), field="approver")
        if not can(approver, "post.view"):
            raise ActionRefused(
                _("The approver must be able to see the posts (not a department agent)."),
                field="approver",
            )
    if approver_role:
        if approver_role not in Role.values:
            raise ActionRefused(_("Choose a role."), field="approver_role")
        if "post.view" not in MATRIX[approver_role]:
            raise ActionRefused(
                _("That role cannot see the posts: choose another."), field="approver_role"
            )
    if everyone_until is not None and everyone_until.tzinfo is None:
        raise ActionRefused(_("Give the time with its time zone."), field="everyone_until")
    if not 1 <= int(remind_after_hours) <= 168:
        raise ActionRefused(_("Remind after 1 to 168 hours (a week)."), field="remind_after_hours")
    if any(c.workspace_id != workspace.pk for c in channels):
        raise ActionRefused(_("That channel does not exist here."), field="channels")
    settings: ApprovalSettings
    settings, _created = ApprovalSettings.objects.select_for_update().get_or_create(
        workspace=workspace
    )
    before = _settings_snapshot(settings) if not _created else {}
    settings.approver = approver
    settings.approver_role = approver_role
    settings.everyone = everyone
    settings.everyone_until = everyone_until if everyone else None
    settings.remind_after_hours = int(remind_after_hours)
    settings.updated_by = _actor(by)
    settings.updated_at = timezone.now()
    settings.save()
    settings.channels.set(channels)
    ApprovalStep.objects.filter(
        post__workspace=workspace, kind=StepKind.APPROVAL, state=StepState.WAITING
    ).update(approver=approver, approver_role=approver_role)
    audit.record(
        "approval.settings",
        workspace=workspace,
        actor=_actor(by),
        obj=settings,
        before=before or None,
        after=_settings_snapshot(settings),
    )
    return settings


@transaction.atomic
def set_trust(member: Member, *, by: Member | None, publishes_directly: bool | None) -> Member:
    """Grant (True) or withdraw (False) "publishes directly" for one member, or go back to
    the role's default (None)."""
    workspace = member.workspace
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    member = Member.objects.select_for_update(of=("self",)).select_related("user").get(pk=member.pk)
    if publishes_directly and not (can(member, "post.create") or can(member, "inbox.reply")):
        raise ActionRefused(
            _("%(name)s's role publishes nothing: there is nothing to trust them with.")
            % {"name": member.user.display_name},
            code="role",
        )
    before = policy.trust_override(member)
    if publishes_directly is None:
        MemberTrust.objects.filter(member=member).delete()
    else:
        MemberTrust.objects.update_or_create(
            member=member,
            defaults={
                "publishes_directly": publishes_directly,
                "set_by": _actor(by),
                "set_at": timezone.now(),
            },
        )
    audit.record(
        "approval.trust",
        workspace=workspace,
        actor=_actor(by),
        obj=member,
        before={"publishes_directly": before},
        after={"publishes_directly": publishes_directly},
    )
    return member


ROUTE_FIELDS = ["name", "department", "words", "is_active"]


@transaction.atomic
def save_route(
    workspace: Workspace,
    *,
    by: Member | None,
    route: ComplianceRoute | None = None,
    name: str,
    department: Department | None,
    words: str = "",
    channels: Sequence[Channel] = (),
    is_active: bool = True,
) -> ComplianceRoute:
    """Create or change a compliance step: these words or channels send posts to this
    department too."""
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    name = name.strip()
    if not name:
        raise ActionRefused(_("Give the compliance step a name."), field="name")
    if department is None or department.workspace_id != workspace.pk:
        raise ActionRefused(_("Choose the department that checks these posts."), field="department")
    if not lines(words) and not channels:
        raise ActionRefused(_("List topic words, or choose channels (or both)."), field="words")
    if any(c.workspace_id != workspace.pk for c in channels):
        raise ActionRefused(_("That channel does not exist here."), field="channels")
    duplicate = ComplianceRoute.objects.filter(workspace=workspace, name__iexact=name)
    if route is not None:
        duplicate = duplicate.exclude(pk=route.pk)
    if duplicate.exists():
        raise ActionRefused(_("Another compliance step already has this name."), field="name")
    before = None
    if route is None:
        route = ComplianceRoute(workspace=workspace)
    else:
        route = ComplianceRoute.objects.select_for_update().get(pk=route.pk, workspace=workspace)
        before = {
            **audit.snapshot(route, ROUTE_FIELDS),
            "channels": sorted(c.name for c in route.channels.all()),
        }
    route.name = name
    route.department = department
    route.words = "\n".join(lines(words))
    route.is_active = is_active
    route.save()
    route.channels.set(channels)
    audit.record(
        "approval.route_save",
        workspace=workspace,
        actor=_actor(by),
        obj=route,
        before=before,
        after={
            **audit.snapshot(route, ROUTE_FIELDS),
            "channels": sorted(c.name for c in channels),
        },
    )
    return route


@transaction.atomic
def delete_route(route: ComplianceRoute, *, by: Member | None) -> None:
    workspace = route.workspace
    if by is not None:
        require(by, "approval.manage")
        _same_workspace(by, workspace)
    audit.record(
        "approval.route_delete",
        workspace=workspace,
        actor=_actor(by),
        obj=route,
        before=audit.snapshot(route, ROUTE_FIELDS),
    )
    route.delete()
