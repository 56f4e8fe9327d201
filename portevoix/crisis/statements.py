"""Holding statements and the inbox in surge (issue 12 §5).

* A **holding statement** is drafted in the incident (one text, a variant per channel where
  needed), sent to legal through publishing's approvals (``submit_post``: a post whose
  ``source`` is ``"crisis"`` needs the legal department's step, ``approvals.policy``), and
  once legal approves it goes out on every channel chosen, as one post with a publication per
  channel, through the normal exactly-once delivery. The workspace's pause does not hold it
  (``publishing.pause.keys_of``); it is never "too late" (``late_ok``).
* **Crisis conversations**: conversations whose messages mention the crisis's terms get the
  workspace's "Crisis" label (the inbox's queue: filter by that label) and are listed on the
  incident's surge page.
* **Bulk reply**: the approved statement answers the selected crisis conversations, each
  through the inbox's ``reply`` action (and so the delivery engine), at most once each.
* **Extra members on duty**: a rota shift from now until a chosen time (care's
  ``create_shifts``), told through the one notification path; closing the incident ends the
  shifts still running.

Every function that changes something checks permission, writes the audit entry and the
incident's timeline in its transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel, ChannelStates, StrategyLevel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import can, require
from portevoix.core.sentences import Sentence, counted
from portevoix.publishing.actions import Composition, MediaChoice, Variant, When

from .actions import _timeline  # the one way to write the timeline
from .models import (
    CrisisConversation,
    DutyCall,
    HoldingStatement,
    Incident,
    StatementMedia,
    StatementReply,
    TimelineKind,
)

#: A statement's text, and each variant, holds at most this much (networks say less).
MAX_TEXT = 5000
#: Conversations looked at for the crisis's terms: those active since this long before the
#: incident opened.
LOOKBACK = dt.timedelta(hours=24)
#: Extra members are called on duty for at most this long (care's longest shift).
MAX_DUTY = dt.timedelta(days=3)
ON_DUTY = "crisis.on_duty"


def _lock_open(incident: Incident, by: Member, action: str) -> Incident:
    if by.workspace_id != incident.workspace_id:
        raise Http404("not found")
    require(by, "crisis.view")
    require(by, action)
    locked: Incident = (
        Incident.objects.select_for_update().select_related("workspace").get(pk=incident.pk)
    )
    if locked.workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")
    if locked.closed_at is not None:
        raise ActionRefused(_("This incident is closed."))
    return locked


# --- the channels a statement goes out on --------------------------------------------------


def statement_channels(workspace: Workspace, incident: Incident | None = None) -> list[Channel]:
    """The channels that take posts: connected, not passive listeners; for a drill's incident,
    the sandbox's only (a drill's statement never reaches a real audience)."""
    found = (
        Channel.objects.filter(workspace=workspace)
        .exclude(state=ChannelStates.disconnected.name)
        .exclude(strategy_level=StrategyLevel.PASSIVE)
    )
    if incident is not None and incident.drill_id is not None:
        found = found.filter(network="sandbox")
    return list(found.order_by("name", "pk"))


def channel_problems(
    channels: Sequence[Channel],
    text: str,
    variants: Mapping[str, str],
    media: MediaChoice | None = None,
    channel_media: Mapping[int, MediaChoice] | None = None,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[int, list[str]]:
    """What each channel's network would refuse in the statement as it would go out there
    (its limits: length, an image Instagram needs, one video for YouTube, a video's format
    or duration...), before anything is sent: publishing's own checks, on each channel's
    text and media (:func:`portevoix.publishing.composer.checks`), with the choices a
    network asks of whoever posts (``options``, by channel id: TikTok's)."""
    from portevoix.publishing import composer

    composition = _composition(
        text, variants, channels, media, channel_media or {}, options=options or {}
    )
    found: dict[int, list[str]] = {}
    for check in composer.checks(composition):
        channel = check.channel
        problems = [*reconnect_problems(channel), *check.problems]
        if problems:
            found[channel.pk] = problems
    return found


def reconnect_problems(channel: Channel) -> list[str]:
    """What a channel says before any text is written: that it must be reconnected first."""
    if channel.state == ChannelStates.needs_reconnect.name:
        return [_("This channel must be reconnected first.")]
    return []


def _composition(
    text: str,
    variants: Mapping[str, str],
    channels: Sequence[Channel],
    media: MediaChoice | None,
    channel_media: Mapping[int, MediaChoice],
    title: str = "",
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> Composition:
    """The statement as publishing's composition: one text, a variant per channel with its
    own media where it has some, the common media for the others."""
    return Composition(
        text=text,
        title=title,
        media=(media,) if media is not None else (),
        variants=tuple(
            Variant(
                channel=channel,
                text=str(variants.get(str(channel.pk)) or ""),
                media=(channel_media[channel.pk],) if channel.pk in channel_media else None,
                options=dict((options or {}).get(str(channel.pk)) or {}),
            )
            for channel in channels
        ),
        when=When.NOW,
    )


def media_of(statement: HoldingStatement) -> tuple[MediaChoice | None, dict[int, MediaChoice]]:
    """The statement's media for every channel, and each channel's own."""
    common: MediaChoice | None = None
    own: dict[int, MediaChoice] = {}
    for row in statement.media.select_related("asset").prefetch_related("asset__renditions"):
        choice = MediaChoice(row.asset, row.alt_text)
        if row.channel_id is None:
            common = choice
        else:
            own[row.channel_id] = choice
    return common, own


def _check_media(
    workspace: Workspace, media: MediaChoice | None, channel_media: Mapping[int, MediaChoice]
) -> None:
    for choice in ([media] if media is not None else []) + list(channel_media.values()):
        if choice.asset.workspace_id != workspace.pk:
            raise ActionRefused(_("That media item does not exist here."), field="media")
        if choice.asset.archived_at is not None:
            raise ActionRefused(
                _("%(name)s is archived in the media library.") % {"name": choice.asset.name},
                field="media",
            )
        if len(choice.alt_text) > 1500:
            raise ActionRefused(_("A description has at most 1,500 characters."), field="media")


def _set_media(
    statement: HoldingStatement,
    media: MediaChoice | None,
    channel_media: Mapping[int, MediaChoice],
) -> bool:
    """Store the statement's media; True when they changed."""
    before = media_of(statement)
    wanted = {channel: choice for channel, choice in channel_media.items() if choice is not None}
    if before == (media, wanted):
        return False
    StatementMedia.objects.filter(statement=statement).delete()
    rows = (
        [
            StatementMedia(
                statement=statement, channel_id=None, asset=media.asset, alt_text=media.alt_text
            )
        ]
        if media is not None
        else []
    )
    rows += [
        StatementMedia(
            statement=statement, channel_id=channel, asset=choice.asset, alt_text=choice.alt_text
        )
        for channel, choice in sorted(wanted.items())
    ]
    StatementMedia.objects.bulk_create(rows)
    return True


def _media_audit(media: MediaChoice | None, channel_media: Mapping[int, MediaChoice]) -> Any:
    return {
        "media": media.asset.name if media is not None else None,
        "channel_media": {str(k): v.asset.name for k, v in sorted(channel_media.items())},
    }


# --- where a statement stands --------------------------------------------------------------


@dataclass
class Standing:
    """A statement's state, from its post's approval steps and publications."""

    #: draft, waiting, approved, rejected, changes
    code: str
    legal_approved: bool = False
    approved_by: str = ""
    approved_at: dt.datetime | None = None
    comment: str = ""
    #: One row per channel: (channel, publication or None).
    deliveries: list[Any] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(
            {
                "draft": _("Draft"),
                "waiting": _("Waiting for legal"),
                "approved": _("Approved by legal"),
                "rejected": _("Rejected"),
                "changes": _("Changes requested"),
            }[self.code]
        )

    @property
    def published(self) -> int:
        return sum(1 for _c, p in self.deliveries if p is not None and p.state == "published")


def _legal_approvals(steps: Any, workspace_id: int) -> Any:
    """The approved steps of ``steps`` that count as legal's word on a statement: legal's
    compliance step, or, in a workspace without a legal department, the general approval."""
    from portevoix.publishing.approvals import policy
    from portevoix.publishing.approvals.models import StepKind, StepState

    steps = steps.filter(state=StepState.APPROVED)
    legal = policy.legal_department_id(workspace_id)
    if legal is not None:
        return steps.filter(kind=StepKind.COMPLIANCE, department_id=legal)
    return steps.filter(kind=StepKind.APPROVAL)


def _approving_step(post: Any) -> Any:
    """The step that makes a statement "approved by legal" for its current content."""
    steps = _legal_approvals(post.approval_steps.select_related("decided_by"), post.workspace_id)
    fingerprint = post.content_fingerprint()
    for step in steps.order_by("-decided_at"):
        if step.fingerprint == fingerprint:
            return step
    return None


def standing(statement: HoldingStatement) -> Standing:
    from portevoix.publishing.approvals.models import StepState

    post = statement.post
    channels = {
        c.pk: c for c in Channel.objects.filter(pk__in=[int(i) for i in statement.channel_ids])
    }
    if post is None:
        return Standing("draft", deliveries=[(c, None) for c in channels.values()])
    publications = list(post.publications.select_related("channel").order_by("channel__name"))
    deliveries = [(p.channel, p) for p in publications]
    step = _approving_step(post)
    if step is not None:
        return Standing(
            "approved",
            legal_approved=True,
            approved_by=str(step.decided_by.display_name) if step.decided_by else "",
            approved_at=step.decided_at,
            comment=step.comment,
            deliveries=deliveries,
        )
    last = post.approval_steps.exclude(state=StepState.LAPSED).order_by("-id").first()
    states = {p.state for p in publications}
    if last is not None and last.state == StepState.REJECTED:
        return Standing("rejected", comment=last.comment, deliveries=deliveries)
    if "pending_approval" in states:
        return Standing("waiting", deliveries=deliveries)
    if last is not None and last.state == StepState.CHANGES:
        return Standing("changes", comment=last.comment, deliveries=deliveries)
    return Standing("draft", deliveries=deliveries)


def first_approved_at(incident: Incident) -> dt.datetime | None:
    """When legal first approved one of the incident's holding statements (a drill's score:
    the time to the holding statement), or None."""
    from portevoix.publishing.approvals.models import ApprovalStep

    posts = HoldingStatement.objects.filter(incident=incident, post__isnull=False).values("post_id")
    steps = _legal_approvals(ApprovalStep.objects.filter(post_id__in=posts), incident.workspace_id)
    first: dt.datetime | None = (
        steps.order_by("decided_at").values_list("decided_at", flat=True).first()
    )
    return first


def editable(statement: HoldingStatement) -> bool:
    """A statement is edited while it has not been sent to legal (or came back)."""
    if statement.post_id is None:
        return True
    return standing(statement).code in ("draft", "changes")


def current_statement(incident: Incident) -> HoldingStatement | None:
    found: HoldingStatement | None = (
        HoldingStatement.objects.filter(incident=incident).select_related("post").first()
    )
    return found


def answering_statement(incident: Incident) -> HoldingStatement | None:
    """The statement the crisis's conversations are answered with: the newest one legal has
    approved. A new draft started from it does not take its place until legal approves that
    one too (a creative's draft "x" had switched the bulk reply off)."""
    for statement in HoldingStatement.objects.filter(incident=incident).select_related("post"):
        if statement.post_id is not None and standing(statement).legal_approved:
            return statement
    return None


# --- drafting and sending to legal ---------------------------------------------------------


def _clean(text: str, variants: Mapping[str, str], channel_ids: Sequence[int], incident: Incident):  # type: ignore[no-untyped-def]
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write the statement."), field="text")
    if len(text) > MAX_TEXT:
        raise ActionRefused(
            _("A statement holds at most %(n)s characters.") % {"n": MAX_TEXT}, field="text"
        )
    allowed = {c.pk: c for c in statement_channels(incident.workspace, incident)}
    chosen = [allowed[i] for i in dict.fromkeys(channel_ids) if i in allowed]
    if len(chosen) != len(set(channel_ids)):
        raise ActionRefused(
            _("Choose channels of this workspace that take posts."), field="channels"
        )
    if not chosen:
        raise ActionRefused(_("Choose at least one channel."), field="channels")
    kept: dict[str, str] = {}
    for key, value in variants.items():
        value = str(value).strip()
        if value and int(key) in allowed and value != text:
            if len(value) > MAX_TEXT:
                raise ActionRefused(
                    _("A statement holds at most %(n)s characters.") % {"n": MAX_TEXT},
                    field="text",
                )
            kept[str(int(key))] = value
    return text, kept, chosen


@transaction.atomic
def _options(
    given: Mapping[str, Mapping[str, str]], chosen: Sequence[Channel]
) -> dict[str, dict[str, str]]:
    """The networks' choices kept for the chosen channels whose network asks for some (TikTok),
    only the keys it knows, empty answers left out (as publishing keeps them)."""
    from portevoix.networks.tiktok import OPTION_KEYS

    kept: dict[str, dict[str, str]] = {}
    for channel in chosen:
        if channel.network != "tiktok":
            continue
        values = given.get(str(channel.pk)) or {}
        found = {k: str(values[k])[:64] for k in OPTION_KEYS if str(values.get(k) or "").strip()}
        if found:
            kept[str(channel.pk)] = found
    return kept


def save_statement(
    incident: Incident,
    *,
    by: Member,
    text: str,
    channel_ids: Sequence[int],
    variants: Mapping[str, str] | None = None,
    statement: HoldingStatement | None = None,
    media: MediaChoice | None = None,
    channel_media: Mapping[int, MediaChoice] | None = None,
    network_options: Mapping[str, Mapping[str, str]] | None = None,
) -> HoldingStatement:
    """Draft a holding statement (or edit one not yet with legal), with the image or video
    it carries on every channel (``media``) and a channel's own instead (``channel_media``,
    by channel id), and the choices a network asks of whoever posts (``network_options``, by
    channel id: TikTok's, checked with the rest before legal)."""
    incident = _lock_open(incident, by, "post.create")
    text, kept, chosen = _clean(text, variants or {}, channel_ids, incident)
    options = _options(network_options or {}, chosen)
    own = {pk: c for pk, c in (channel_media or {}).items() if pk in {ch.pk for ch in chosen}}
    _check_media(incident.workspace, media, own)
    now = timezone.now()
    if statement is None:
        statement = HoldingStatement.objects.create(
            incident=incident,
            text=text,
            variants=kept,
            channel_ids=[c.pk for c in chosen],
            network_options=options,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        with translation.override(incident.workspace.language or "fr"):
            _timeline(
                incident,
                TimelineKind.STATEMENT,
                Sentence(gettext_noop("Drafted: %(text)s"), {"text": text}),
                by,
            )
        action = "crisis.statement_draft"
    else:
        statement = HoldingStatement.objects.select_for_update().get(pk=statement.pk)
        if statement.incident_id != incident.pk:
            raise Http404("not found")
        if not editable(statement):
            raise ActionRefused(
                _("This statement is with legal or approved: take it back to edit it."),
                code="state",
            )
        statement.text = text
        statement.variants = kept
        statement.channel_ids = [c.pk for c in chosen]
        statement.network_options = options
        statement.updated_at = now
        statement.save(
            update_fields=["text", "variants", "channel_ids", "network_options", "updated_at"]
        )
        action = "crisis.statement_edit"
    _set_media(statement, media, own)
    assets = [c.asset for c in ([media] if media else []) + list(own.values())]
    if assets:
        from portevoix.media.actions import ensure_renditions

        ensure_renditions(assets, chosen)
    audit.record(
        action,
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        after={
            "statement": statement.pk,
            "text": text[:1000],
            "channels": [c.name for c in chosen],
            "variants": sorted(kept),
            **_media_audit(media, own),
        },
    )
    return statement


def _post_rows(statement: HoldingStatement, by: Member) -> Any:
    """The statement's post, made or brought up to date through publishing's ``save_post``:
    a publication per channel with its variant, the statement's media as the post's media
    and a channel's own media as its variant's. Publications not gone out go back to draft
    (they are submitted again); what went out keeps the record of what it carried."""
    from portevoix.publishing.actions import save_post
    from portevoix.publishing.models import HOLDING_STATEMENT_SOURCE, Post, Publication

    incident = statement.incident
    channels = list(Channel.objects.filter(pk__in=statement.channel_ids).order_by("name", "pk"))
    with translation.override(incident.workspace.language or "fr"):
        title = _("Holding statement: %(title)s") % {"title": incident.title}
    post = statement.post
    if post is None:
        now = timezone.now()
        post = Post.objects.create(
            workspace=incident.workspace,
            title=title[:200],
            text=statement.text,
            author=by.user,
            source=HOLDING_STATEMENT_SOURCE,
            created_at=now,
            updated_at=now,
        )
        statement.post = post
        statement.save(update_fields=["post"])
    media, own = media_of(statement)
    composition = _composition(
        statement.text,
        statement.variants,
        channels,
        media,
        own,
        title=title[:200],
        options=statement.network_options,
    )
    post = save_post(incident.workspace, by=by, composition=composition, post=post)
    # Never "too late": legal may take an hour.
    Publication.objects.filter(post=post, state="draft").update(late_ok=True)
    return post


def _refuse_problems(
    statement: HoldingStatement,
    channels: Sequence[Channel],
    media: MediaChoice | None,
    own: Mapping[int, MediaChoice],
    *,
    field: str,
) -> None:
    """Refuse, naming each channel and what its network would refuse in the statement as it
    would go out there (its text, media and the network's choices)."""
    problems = channel_problems(
        channels, statement.text, statement.variants, media, own, options=statement.network_options
    )
    if problems:
        names = {c.pk: c.name for c in channels}
        raise ActionRefused(
            " ".join(f"{names[pk]}: {' '.join(found)}" for pk, found in sorted(problems.items())),
            field=field,
            code="invalid_post",
        )


@transaction.atomic
def send_to_legal(statement: HoldingStatement, *, by: Member, note: str = "") -> HoldingStatement:
    """Submit the statement through publishing's approvals: legal's step is asked for (and
    legal told); once approved, it goes out on its channels at once."""
    from portevoix.publishing.actions import submit_post

    statement = (
        HoldingStatement.objects.select_for_update(of=("self",))
        .select_related("post")
        .get(pk=statement.pk)
    )
    incident = _lock_open(statement.incident, by, "post.create")
    if not editable(statement):
        raise ActionRefused(_("This statement was already sent to legal."), code="state")
    channels = list(Channel.objects.filter(pk__in=statement.channel_ids).order_by("name"))
    _refuse_problems(statement, channels, *media_of(statement), field="text")
    post = _post_rows(statement, by)
    submit_post(post, by=by, note=note)
    with translation.override(incident.workspace.language or "fr"):
        _timeline(
            incident,
            TimelineKind.STATEMENT,
            # The text legal is asked to approve (the first draft may have been edited since).
            Sentence(
                gettext_noop("Sent to legal for approval (%(channels)s): %(text)s"),
                {"channels": ", ".join(c.name for c in channels), "text": statement.text},
            ),
            by,
        )
    audit.record(
        "crisis.statement_submit",
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        after={"statement": statement.pk, "post": post.pk},
    )
    return statement


def media_changeable(statement: HoldingStatement) -> bool:
    """Legal approved the statement and a channel has not received it yet (it waits for its
    channel's pause, a reconnect, or the worker): its media may still change, which sends it
    back to legal."""
    from portevoix.publishing.actions import EDITABLE

    post = statement.post
    if post is None or not standing(statement).legal_approved:
        return False
    return bool(post.publications.filter(state__in=EDITABLE, sending_at__isnull=True).exists())


@transaction.atomic
def change_media(
    statement: HoldingStatement,
    *,
    by: Member,
    media: MediaChoice | None,
    channel_media: Mapping[int, MediaChoice] | None = None,
) -> HoldingStatement:
    """Change the media of a statement legal approved, on the channels it has not reached
    yet: legal's approval was given for the statement with its media, so it lapses and the
    statement goes back to legal (publishing's approvals: the content changed)."""
    from portevoix.publishing.actions import submit_post

    statement = (
        HoldingStatement.objects.select_for_update(of=("self",))
        .select_related("post")
        .get(pk=statement.pk)
    )
    incident = _lock_open(statement.incident, by, "post.create")
    if not media_changeable(statement):
        raise ActionRefused(
            _(
                "Only the media of a statement approved by legal that has not gone out on "
                "every channel can change here."
            ),
            code="state",
        )
    own = {pk: c for pk, c in (channel_media or {}).items() if pk in set(statement.channel_ids)}
    _check_media(incident.workspace, media, own)
    if not _set_media(statement, media, own):
        raise ActionRefused(_("These are the statement's media already."), field="media")
    assets = [c.asset for c in ([media] if media else []) + list(own.values())]
    channels = list(Channel.objects.filter(pk__in=statement.channel_ids).order_by("name"))
    if assets:
        from portevoix.media.actions import ensure_renditions

        ensure_renditions(assets, channels)
    from portevoix.publishing.actions import EDITABLE

    assert statement.post is not None  # media_changeable
    waiting = set(
        statement.post.publications.filter(state__in=EDITABLE).values_list("channel_id", flat=True)
    )
    _refuse_problems(statement, [c for c in channels if c.pk in waiting], media, own, field="media")
    statement.updated_at = timezone.now()
    statement.save(update_fields=["updated_at"])
    post = _post_rows(statement, by)
    submit_post(post, by=by)
    with translation.override(incident.workspace.language or "fr"):
        _timeline(
            incident,
            TimelineKind.STATEMENT,
            Sentence(gettext_noop("Media changed after legal's approval: sent back to legal")),
            by,
        )
    audit.record(
        "crisis.statement_media",
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        after={"statement": statement.pk, **_media_audit(media, own)},
    )
    return statement


@transaction.atomic
def take_back(statement: HoldingStatement, *, by: Member) -> HoldingStatement:
    """Take a statement waiting for legal back to edit it (publishing's ``withdraw``)."""
    from portevoix.publishing.approvals import actions as approvals

    statement = (
        HoldingStatement.objects.select_for_update(of=("self",))
        .select_related("post")
        .get(pk=statement.pk)
    )
    incident = _lock_open(statement.incident, by, "post.create")
    if statement.post is None or standing(statement).code != "waiting":
        raise ActionRefused(_("This statement is not waiting for legal."), code="state")
    approvals.withdraw(statement.post, by=by)
    with translation.override(incident.workspace.language or "fr"):
        _timeline(
            incident, TimelineKind.STATEMENT, Sentence(gettext_noop("Taken back to edit")), by
        )
    return statement


def on_step_decided(step: Any, post: Any, by: Member | None) -> None:
    """Publishing's approvals tell us when a holding statement is decided: the timeline."""
    from portevoix.publishing.approvals.models import StepState
    from portevoix.publishing.models import HOLDING_STATEMENT_SOURCE

    if post.source != HOLDING_STATEMENT_SOURCE:
        return
    statement = (
        HoldingStatement.objects.filter(post_id=post.pk)
        .select_related("incident__workspace")
        .first()
    )
    if statement is None:
        return
    incident = statement.incident
    with translation.override(incident.workspace.language or "fr"):
        department = step.department.name if step.department_id else _("the approver")
    if step.state == StepState.APPROVED:
        text = Sentence(
            gettext_noop("Approved by %(department)s: it goes out on every channel chosen"),
            {"department": department},
        )
    elif step.state == StepState.REJECTED:
        text = Sentence(
            gettext_noop("Rejected by %(department)s: %(comment)s"),
            {"department": department, "comment": step.comment},
        )
    else:
        text = Sentence(
            gettext_noop("%(department)s asked for changes: %(comment)s"),
            {"department": department, "comment": step.comment},
        )
    _timeline(incident, TimelineKind.STATEMENT, text, by)


# --- crisis conversations ------------------------------------------------------------------


def crisis_label(workspace: Workspace) -> Any:
    """The workspace's "Crisis" label in the inbox (made the first time)."""
    from portevoix.inbox.models import Label

    with translation.override(workspace.language or "fr"):
        name = _("Crisis")
    found = Label.objects.filter(workspace=workspace, name__iexact=name).first()
    if found is None:
        found = Label.objects.create(workspace=workspace, name=name, color="#c0392b")
        audit.record(
            "label.create", workspace=workspace, actor=None, obj=found, after={"name": name}
        )
    return found


def _matching(incident: Incident, conversation_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Conversations (id -> the term found) whose messages mention the crisis's terms."""
    from portevoix.inbox.models import InboundMessage

    terms = [t for t in incident.terms if t.strip()]
    if not terms:
        return {}
    since = incident.opened_at - LOOKBACK
    if incident.alert is not None:
        since = min(since, incident.alert.window_start)
    messages = InboundMessage.objects.filter(
        conversation__workspace_id=incident.workspace_id, created_at__gte=since
    )
    # A drill's incident labels its drill's conversations only; a real one, none of a drill's.
    from .drills import drill_conversations_q, exclude_drill_conversations

    if incident.drill_id is not None:
        drill = incident.drill
        assert drill is not None
        messages = messages.filter(
            conversation__channel__network="sandbox",
            conversation__created_at__gte=drill.started_at,
            conversation__created_at__lt=drill.ended_at or drill.ends_at,
        )
    elif drill_conversations_q(incident.workspace_id, "conversation__") is not None:
        messages = exclude_drill_conversations(messages, incident.workspace_id, "conversation__")
    if incident.closed_at is not None:
        messages = messages.filter(created_at__lte=incident.closed_at)
    if conversation_ids is not None:
        messages = messages.filter(conversation_id__in=list(conversation_ids))
    query = Q()
    for term in terms:
        query |= Q(text__icontains=term)
    found: dict[int, str] = {}
    for conversation_id, text in messages.filter(query).values_list("conversation_id", "text"):
        if conversation_id in found:
            continue
        low = text.lower()
        found[conversation_id] = next((t for t in terms if t.lower() in low), terms[0])
    return found


def label_conversations(
    incident: Incident, *, by: Member | None = None, conversation_ids: Sequence[int] | None = None
) -> int:
    """Label the conversations that mention the crisis's terms (the inbox's crisis queue).
    Returns how many were labelled now. Runs in the caller's transaction."""
    if incident.closed_at is not None:
        return 0
    matches = _matching(incident, conversation_ids)
    if not matches:
        return 0
    known = set(
        CrisisConversation.objects.filter(
            incident=incident, conversation_id__in=list(matches)
        ).values_list("conversation_id", flat=True)
    )
    new = {cid: term for cid, term in matches.items() if cid not in known}
    if not new:
        return 0
    from portevoix.inbox.models import Conversation

    label = crisis_label(incident.workspace)
    CrisisConversation.objects.bulk_create(
        [
            CrisisConversation(incident=incident, conversation_id=cid, term=t)
            for cid, t in new.items()
        ],
        ignore_conflicts=True,
    )
    through = Conversation.labels.through
    through.objects.bulk_create(
        [through(conversation_id=cid, label_id=label.pk) for cid in new],
        ignore_conflicts=True,
    )
    audit.record(
        "crisis.label_conversations",
        workspace=incident.workspace,
        actor=by.user if by is not None else None,
        obj=incident,
        after={"label": label.name, "conversations": sorted(new)},
    )
    return len(new)


@transaction.atomic
def refresh_conversations(incident: Incident, *, by: Member) -> int:
    """Look again for the crisis's conversations (after the terms changed, say)."""
    incident = _lock_open(incident, by, "crisis.view")
    count = label_conversations(incident, by=by)
    if count:
        with translation.override(incident.workspace.language or "fr"):
            _timeline(
                incident,
                TimelineKind.SURGE,
                counted(
                    "%(count)s conversation labelled as a crisis conversation",
                    "%(count)s conversations labelled as crisis conversations",
                    {"count": count},
                ),
                by,
            )
    return count


def on_ingested(ingested: Any) -> None:
    """New messages while an incident is open: label the conversations that mention it."""
    workspace_id = ingested.channel.workspace_id
    key = ("crisis incidents", workspace_id)
    if key not in ingested.page:
        ingested.page[key] = list(
            Incident.objects.filter(workspace_id=workspace_id, closed_at__isnull=True)
            .select_related("workspace", "alert", "drill")
            .order_by("opened_at")
        )
    ids = {m.conversation_id for m in ingested.messages}
    if not ids:
        return
    # A drill's incident and a real one may be open together: each labels its own.
    for incident in ingested.page[key]:
        if incident.terms:
            label_conversations(incident, conversation_ids=sorted(ids))


def crisis_conversations(incident: Incident, member: Member) -> list[Any]:
    """The incident's conversations the member may see, newest first."""
    from portevoix.inbox.models import Conversation

    ids = CrisisConversation.objects.filter(incident=incident).values_list(
        "conversation_id", flat=True
    )
    return list(
        Conversation.objects.visible_to(member)
        .filter(pk__in=ids)
        .select_related("channel", "customer")
        .order_by("-last_message_at")[:500]
    )


# --- bulk reply with the statement ---------------------------------------------------------


@dataclass
class BulkResult:
    sent: int = 0
    skipped: int = 0
    refused: list[str] = field(default_factory=list)


def reply_with_statement(
    statement: HoldingStatement, conversations: Sequence[Any], *, by: Member
) -> BulkResult:
    """Answer each selected crisis conversation with the approved statement (its channel's
    variant), each through the inbox's ``reply`` action in its own transaction; a
    conversation already answered with this statement is skipped (never twice)."""
    from portevoix.inbox import actions as inbox

    if by.workspace_id != statement.incident.workspace_id:
        raise Http404("not found")
    require(by, "crisis.view")
    require(by, "inbox.reply")
    if not standing(statement).legal_approved:
        raise ActionRefused(
            _("The statement is not approved by legal: it cannot be sent yet."), code="state"
        )
    if statement.incident.closed_at is not None:
        raise ActionRefused(_("This incident is closed."))
    if not conversations:
        raise ActionRefused(_("Select at least one conversation."), field="conversations")
    allowed = set(
        CrisisConversation.objects.filter(incident=statement.incident).values_list(
            "conversation_id", flat=True
        )
    )
    result = BulkResult()
    for conversation in conversations:
        if conversation.pk not in allowed:
            result.refused.append(
                _("@%(handle)s: not a crisis conversation.")
                % {"handle": conversation.customer.handle}
            )
            continue
        try:
            with transaction.atomic():
                if StatementReply.objects.filter(
                    statement=statement, conversation=conversation
                ).exists():
                    result.skipped += 1
                    continue
                # The row first: a second sender waits on it, then finds it (never twice).
                row = StatementReply.objects.create(
                    statement=statement, conversation=conversation, sent_by=by
                )
                answer = inbox.reply(
                    conversation, by=by, text=statement.text_for(conversation.channel_id)
                )
                row.reply = answer
                row.save(update_fields=["reply"])
                result.sent += 1
        except IntegrityError:
            result.skipped += 1
        except ActionRefused as exc:
            result.refused.append(f"@{conversation.customer.handle}: {exc.message}")
    if result.sent:
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update()
                .select_related("workspace")
                .get(pk=statement.incident_id)
            )
            with translation.override(incident.workspace.language or "fr"):
                _timeline(
                    incident,
                    TimelineKind.SURGE,
                    counted(
                        "Holding statement sent in reply to %(count)s conversation",
                        "Holding statement sent in reply to %(count)s conversations",
                        {"count": result.sent},
                    ),
                    by,
                )
            audit.record(
                "crisis.bulk_reply",
                workspace=incident.workspace,
                actor=by.user,
                obj=incident,
                after={"statement": statement.pk, "sent": result.sent, "skipped": result.skipped},
            )
    return result


# --- extra members on duty -----------------------------------------------------------------


def on_duty_now(incident: Incident) -> set[int]:
    """The members this incident called whose shift still runs."""
    return set(
        DutyCall.objects.filter(
            incident=incident, shift__isnull=False, shift__ends_at__gt=timezone.now()
        ).values_list("member_id", flat=True)
    )


def callable_members(incident: Incident) -> list[Member]:
    """Who may be called on duty: active members who answer conversations, and are not
    already on duty for this incident (once their shift ends, they may be called again)."""
    members = Member.objects.filter(workspace_id=incident.workspace_id, is_active=True).exclude(
        pk__in=on_duty_now(incident)
    )
    return [m for m in members.select_related("user") if can(m, "inbox.reply")]


@transaction.atomic
def call_on_duty(
    incident: Incident, *, by: Member, members: Sequence[Member], until: dt.datetime
) -> list[DutyCall]:
    """Put ``members`` on the rota from now until ``until`` (at most three days; the shifts
    end when the incident closes), and tell them."""
    from portevoix.care import actions as care
    from portevoix.notifications.actions import notify

    incident = _lock_open(incident, by, "crisis.declare")
    if not members:
        raise ActionRefused(_("Choose who to call."), field="members")
    now = timezone.now()
    if until.tzinfo is None:
        raise ActionRefused(_("Give the time with its time zone."), field="until")
    until = until.replace(second=0, microsecond=0)  # the rota counts in minutes
    if until.tzinfo is None:
        raise ActionRefused(_("Give the time with its time zone."), field="until")
    if until <= now:
        raise ActionRefused(_("Choose a time in the future."), field="until")
    if until - now > MAX_DUTY:
        raise ActionRefused(_("A call on duty lasts at most three days."), field="until")
    calls: list[DutyCall] = []
    already = on_duty_now(incident)
    for member in members:
        if member.workspace_id != incident.workspace_id:
            raise ActionRefused(_("Choose active members of this workspace."), field="members")
        if member.pk in already:
            raise ActionRefused(
                _("%(name)s is already on duty for this incident.")
                % {"name": member.user.display_name},
                field="members",
            )
        with translation.override(incident.workspace.language or "fr"):
            note = _("Crisis: %(title)s") % {"title": incident.title}
        shifts = care.create_shifts(
            incident.workspace, by=by, member=member, starts_at=now, ends_at=until, note=note
        )
        calls.append(
            DutyCall.objects.create(
                incident=incident, member=member, shift=shifts[0], called_by=by, called_at=now
            )
        )
    notify(
        incident.workspace,
        ON_DUTY,
        members,
        obj=incident,
        params={
            "title": incident.title,
            "until_at": until.isoformat(),
            "by": by.user.display_name,
        },
        url=reverse("crisis_surge", kwargs={"ws": incident.workspace.slug, "pk": incident.pk}),
    )
    # Read in each reader's language; the time is written day first on a 24-hour clock, as
    # both languages write it (``portevoix/formats``).
    _timeline(
        incident,
        TimelineKind.SURGE,
        Sentence(
            gettext_noop("Called on duty until %(until)s: %(names)s"),
            {
                "until": timezone.localtime(until, _zone(incident)).strftime("%d/%m/%Y %H:%M"),
                "names": ", ".join(m.user.display_name for m in members),
            },
        ),
        by,
    )
    audit.record(
        "crisis.call_on_duty",
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        after={"members": [m.user.email for m in members], "until": until.isoformat()},
    )
    return calls


def _zone(incident: Incident) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(incident.workspace.time_zone)


def end_duty(incident: Incident, now: dt.datetime) -> int:
    """Closing the incident ends the shifts it called that still run (in the close's
    transaction); shifts not started yet are removed."""
    from portevoix.care.models import RotaShift

    ids = list(
        DutyCall.objects.filter(incident=incident, shift__isnull=False).values_list(
            "shift_id", flat=True
        )
    )
    if not ids:
        return 0
    running = RotaShift.objects.filter(pk__in=ids, starts_at__lt=now, ends_at__gt=now)
    count = running.update(ends_at=now)
    RotaShift.objects.filter(pk__in=ids, starts_at__gte=now).delete()
    return count


def duty_now(incident: Incident) -> list[DutyCall]:
    now = timezone.now()
    return list(
        DutyCall.objects.filter(incident=incident)
        .filter(shift__starts_at__lte=now, shift__ends_at__gt=now)
        .select_related("member__user", "shift")
    )


def _on_duty_title(params: Mapping[str, Any]) -> str:
    return _("You are called on duty for the crisis “%(title)s”") % {
        "title": params.get("title", "")
    }


def register() -> None:
    """The notification kind, and the hooks into publishing's approvals and the inbox."""
    from django.utils.translation import gettext_lazy

    from portevoix.inbox.ingest import on_ingested as inbox_hook
    from portevoix.notifications.kinds import Delivery, Kind
    from portevoix.notifications.kinds import register as add
    from portevoix.publishing.approvals import actions as approvals

    add(
        Kind(
            code=ON_DUTY,
            label=gettext_lazy("Called on duty for a crisis"),
            help=gettext_lazy(
                "A manager calls you on duty while an incident is open: you are on the rota "
                "until the time given, or until the incident closes."
            ),
            title=_on_duty_title,
            template="crisis/notifications/on_duty.txt",
            default=Delivery.BOTH,
            audience="inbox.reply",
        )
    )
    approvals.on_step_decided(on_step_decided)
    inbox_hook(on_ingested)
