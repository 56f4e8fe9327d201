"""Pause (issue 9 §7): hold every outgoing post of a workspace, a channel or a campaign.

:func:`pause` moves the scope's ``scheduled`` publications to ``paused`` (their time is kept);
anything that becomes due in the scope while it is paused — a post approved, submitted, sent
again from the attention page — is paused too, at send time at the latest
(``approvals.actions.send_time_check``). :func:`resume` puts back in ``scheduled`` what is
still within the workspace's lateness limit, and holds the rest (``held``: the attention page
asks a person to send it late or cancel it). :func:`cancel_campaign` cancels what a campaign
has not sent yet. A banner on every page says what is paused (``context_processors.pauses``).

A publication whose network call may be under way (its "sending" mark is set) is never
touched: it ends as published or is reconciled, never sent blind, and if it comes back to
``scheduled`` it is paused then. The crisis mode calls :func:`pause` and :func:`resume`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require
from portevoix.core.sentences import Sentence
from portevoix.publishing.approvals.models import ApprovalStep, LapseReason, Pause, StepState
from portevoix.publishing.compliance import said
from portevoix.publishing.models import (
    HOLDING_STATEMENT_SOURCE,
    Campaign,
    Post,
    PostKind,
    Publication,
    PublicationStates,
)

S = PublicationStates
Scope = Workspace | Channel | Campaign

#: What cancelling a campaign cancels: everything that has not gone out and is not being sent.
CANCELLABLE = (
    S.draft.name,
    S.pending_approval.name,
    S.scheduled.name,
    S.paused.name,
    S.held.name,
    S.waiting_reconnect.name,
    S.rejected.name,
    S.failed.name,
)


def scope_key(scope: Scope) -> str:
    if isinstance(scope, Workspace):
        return "workspace"
    if isinstance(scope, Channel):
        return f"channel:{scope.pk}"
    return f"campaign:{scope.pk}"


def workspace_of(scope: Scope) -> Workspace:
    return scope if isinstance(scope, Workspace) else scope.workspace


def scope_filter(pause: Pause) -> Q:
    """The publications a pause holds."""
    where = Q(post__workspace_id=pause.workspace_id)
    if pause.channel_id is not None:
        where &= Q(channel_id=pause.channel_id)
    elif pause.campaign_id is not None:
        where &= Q(post__campaign_id=pause.campaign_id)
    return where


def active_keys(workspace_id: int) -> frozenset[str]:
    """The scopes paused right now in a workspace (one query)."""
    return frozenset(
        Pause.objects.filter(workspace_id=workspace_id, ended_at__isnull=True).values_list(
            "scope_key", flat=True
        )
    )


def holds_everything(post: Post) -> bool:
    """Is ``post`` held by the workspace's pause? Not a crisis's holding statement (what goes
    out while the crisis holds everything else), nor an answer to a customer (webcare keeps
    answering: a crisis is when people most need an answer); a pause of the channel still
    holds both (a channel taken over must say nothing)."""
    return post.source != HOLDING_STATEMENT_SOURCE and post.kind != PostKind.REPLY


def keys_of(publication: Publication) -> set[str]:
    keys = {f"channel:{publication.channel_id}"}
    if holds_everything(publication.post):
        keys.add("workspace")
    if publication.post.campaign_id is not None:
        keys.add(f"campaign:{publication.post.campaign_id}")
    return keys


def covering(publication: Publication, active: Iterable[str] | None = None) -> bool:
    """Is a pause holding this publication now?"""
    keys = frozenset(active) if active is not None else active_keys(publication.post.workspace_id)
    return bool(keys & keys_of(publication))


#: ``Pause.reason``'s length.
REASON_MAX = 300


def describe(pause: Pause) -> str:
    if pause.channel_id is not None:
        return _("the channel %(name)s") % {"name": pause.channel.name if pause.channel else ""}
    if pause.campaign_id is not None:
        return _("the campaign %(name)s") % {"name": pause.campaign.name if pause.campaign else ""}
    return _("the whole workspace")


def paused_problem(reason: str = "") -> Sentence:
    """What a paused publication shows (stored as a sentence)."""
    if reason:
        return said(
            gettext_noop(
                "Paused: it goes out when publishing resumes, if it is still on time. %(reason)s"
            ),
            reason=reason,
        )
    return said(
        gettext_noop("Paused: it goes out when publishing resumes, if it is still on time.")
    )


def _check(by: Member | None, workspace: Workspace) -> None:
    if by is not None:
        require(by, "post.pause")
        _same_workspace(by, workspace)


def _scope_row(pause: Pause) -> dict[str, object]:
    return {
        "scope": pause.scope_key,
        "channel": pause.channel.name if pause.channel else None,
        "campaign": pause.campaign.name if pause.campaign else None,
    }


def _stored_reason(reason: str | Sentence) -> str:
    """A person's reason as typed; the product's (a crisis, a drill) as a sentence read in
    each reader's language (rendered now only if it would not fit the column)."""
    if isinstance(reason, Sentence):
        stored = reason.dumps()
        return stored if len(stored) <= REASON_MAX else reason.render()[:REASON_MAX]
    return reason.strip()[:REASON_MAX]


@transaction.atomic
def pause(scope: Scope, *, by: Member | None, reason: str | Sentence = "") -> Pause:
    """Hold every outgoing post of ``scope`` until :func:`resume`; their times are kept.
    ``reason`` may be a :class:`Sentence` (shown with the ``sentence`` filter)."""
    workspace = workspace_of(scope)
    _check(by, workspace)
    if (
        isinstance(scope, Campaign)
        and Campaign.objects.filter(pk=scope.pk, cancelled_at__isnull=False).exists()
    ):
        raise ActionRefused(_("This campaign is cancelled: nothing of it goes out."))
    key = scope_key(scope)
    existing = (
        Pause.objects.select_for_update()
        .filter(workspace=workspace, scope_key=key, ended_at__isnull=True)
        .first()
    )
    if existing is not None:
        raise ActionRefused(
            _("Publishing is already paused for %(scope)s.") % {"scope": describe(existing)},
            code="already_paused",
        )
    now = timezone.now()
    row = Pause.objects.create(
        workspace=workspace,
        channel=scope if isinstance(scope, Channel) else None,
        campaign=scope if isinstance(scope, Campaign) else None,
        scope_key=key,
        reason=_stored_reason(reason),
        started_by=by.user if by else None,
        started_at=now,
    )
    # One statement: scheduled -> paused (declared in the graph), never a row whose network
    # call may be under way (its mark is set): that one lands, or is reconciled.
    count = (
        Publication.objects.filter(scope_filter(row))
        .filter(state=S.scheduled.name, sending_at__isnull=True)
        .exclude(
            Q(post__source=HOLDING_STATEMENT_SOURCE) | Q(post__kind=PostKind.REPLY)
            if key == "workspace"
            else Q(pk__in=[])
        )
        .update(
            state=S.paused.name,
            state_changed_at=now,
            next_attempt_at=None,
            attempts=0,
            last_error="",
            problem=paused_problem(row.reason).dumps(),
        )
    )
    row.paused_count = count
    row.save(update_fields=["paused_count"])
    audit.record(
        "publishing.pause",
        workspace=workspace,
        actor=by.user if by else None,
        obj=row,
        after={**_scope_row(row), "reason": row.reason, "paused": count},
    )
    _tell(row, "publishing.paused", by)
    return row


def active_pause(scope: Scope) -> Pause | None:
    return Pause.objects.filter(
        workspace=workspace_of(scope), scope_key=scope_key(scope), ended_at__isnull=True
    ).first()


@transaction.atomic
def resume(scope: Scope | Pause, *, by: Member | None) -> Pause:
    """End a pause: what is still within the lateness limit goes back to ``scheduled`` (at
    its own time); what is later is held for a person (the attention page)."""
    found: Pause | None
    if isinstance(scope, Pause):
        workspace = scope.workspace
        _check(by, workspace)
        found = Pause.objects.select_for_update().filter(pk=scope.pk, ended_at__isnull=True).first()
    else:
        workspace = workspace_of(scope)
        _check(by, workspace)
        found = (
            Pause.objects.select_for_update()
            .filter(workspace=workspace, scope_key=scope_key(scope), ended_at__isnull=True)
            .first()
        )
    if found is None:
        raise ActionRefused(_("Publishing is not paused there."), code="not_paused")
    row: Pause = found
    now = timezone.now()
    row.ended_at = now
    row.ended_by = by.user if by else None
    row.save(update_fields=["ended_at", "ended_by"])
    remaining = active_keys(workspace.pk)
    limit = dt.timedelta(minutes=workspace.lateness_limit_minutes)
    resumed = held = 0
    held_ids: list[int] = []
    # Every paused publication no pause holds any more (those of this scope, and any a
    # pause that ended some other way left behind).
    rows = (
        Publication.objects.select_for_update(of=("self",))
        .filter(post__workspace=workspace, state=S.paused.name)
        .select_related("post", "channel")
    )
    for publication in rows:
        if covering(publication, remaining):
            continue
        if publication.late_ok or publication.scheduled_at >= now - limit:
            publication.transition(S.scheduled, at=publication.scheduled_at)
            resumed += 1
        else:
            zone = ZoneInfo(workspace.time_zone)
            due = publication.scheduled_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            publication.transition(
                S.held,
                problem=said(
                    gettext_noop(
                        "Held after the pause: it was due %(due)s, later than this workspace's "
                        "limit of %(limit)s minutes. Send it late or cancel it."
                    ),
                    due=due,
                    limit=workspace.lateness_limit_minutes,
                ).dumps(),
            )
            held += 1
            held_ids.append(publication.pk)
    row.resumed_count, row.held_count = resumed, held
    row.save(update_fields=["resumed_count", "held_count"])
    audit.record(
        "publishing.resume",
        workspace=workspace,
        actor=by.user if by else None,
        obj=row,
        after={**_scope_row(row), "resumed": resumed, "held": held},
    )
    _tell(row, "publishing.resumed", by)
    for pk in held_ids:
        _needs_attention(pk, "held")
    return row


@transaction.atomic
def cancel_campaign(campaign: Campaign, *, by: Member | None, reason: str = "") -> Campaign:
    """Cancel everything of ``campaign`` that has not gone out (what is being sent right now
    lands, or is reconciled); its waiting approvals lapse and its pause ends."""
    workspace = campaign.workspace
    _check(by, workspace)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.cancelled_at is not None:
        raise ActionRefused(_("This campaign is already cancelled."), code="cancelled")
    now = timezone.now()
    campaign.cancelled_at = now
    campaign.save(update_fields=["cancelled_at"])
    if reason.strip():
        problem = said(
            gettext_noop("The campaign %(name)s was cancelled. %(reason)s"),
            name=campaign.name,
            reason=reason.strip(),
        ).dumps()
    else:
        problem = said(
            gettext_noop("The campaign %(name)s was cancelled."), name=campaign.name
        ).dumps()
    cancelled = 0
    rows = Publication.objects.select_for_update().filter(
        post__campaign=campaign, state__in=CANCELLABLE, sending_at__isnull=True
    )
    post_ids = set()
    for publication in rows:
        publication.transition(S.cancelled, problem=problem)
        cancelled += 1
        post_ids.add(publication.post_id)
    in_flight = Publication.objects.filter(
        post__campaign=campaign, state__in=CANCELLABLE, sending_at__isnull=False
    ).count()
    ApprovalStep.objects.filter(post_id__in=post_ids, state=StepState.WAITING).update(
        state=StepState.LAPSED,
        lapse_reason=LapseReason.CANCELLED,
        lapsed_at=now,
        remind_at=None,
    )
    Pause.objects.filter(
        workspace=workspace, scope_key=scope_key(campaign), ended_at__isnull=True
    ).update(ended_at=now, ended_by=by.user if by else None)
    audit.record(
        "campaign.cancel",
        workspace=workspace,
        actor=by.user if by else None,
        obj=campaign,
        after={"reason": reason.strip(), "cancelled": cancelled, "being_sent": in_flight},
    )
    return campaign


def _tell(row: Pause, kind: str, by: Member | None) -> None:
    from portevoix.publishing.approvals import notices

    notices.pause_changed(row, kind, by)


def _needs_attention(publication_id: int, kind: str) -> None:
    from portevoix.publishing import events

    transaction.on_commit(lambda: events.publication_needs_attention(publication_id, kind))
