"""Every change to posts: compose, save, submit, reschedule, cancel, and what a person decides
about a publication that needs them (retry, send late, mark as published, cancel). The worker
publishes.

:func:`submit_post` is the one way from a draft to "goes out": the composer, the channel
page's quick post (:func:`schedule_post`), the CLI, the import and the demo all come through
it.

Whatever the approval settings say is enforced for every way in: :func:`submit_post` and
:func:`schedule_post` end in the approvals (:mod:`portevoix.publishing.approvals.actions`),
which send a post out only if it needs no approval or has it, and refuse a new post on a
passive channel or one that breaks a blocking compliance rule (see docs/approvals.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, User, Workspace
from portevoix.core.permissions import can, require
from portevoix.media.actions import ensure_renditions
from portevoix.media.models import Asset
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import MediaItem, OutgoingPost
from portevoix.publishing import choices, media, scheduling
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.labels import state_label
from portevoix.publishing.models import (
    NEEDS_PERSON,
    Campaign,
    CreativeRequest,
    CreativeRequestState,
    Idea,
    IdeaState,
    Post,
    PostingSlot,
    PostKind,
    PostMedia,
    Publication,
    PublicationStates,
    RecurringDate,
    Timing,
)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    alt_text: str = ""
    mime_type: str = ""

    @property
    def mime(self) -> str:
        return (
            self.mime_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        )


def compose_problems(
    channel: Channel,
    text: str,
    uploads: Sequence[Upload],
    *,
    in_reply_to: str | None = None,
    options: Mapping[str, str] | None = None,
) -> list[str]:
    """What the channel's network would refuse, checked before anything is saved.

    ``in_reply_to``: the message answered, for an answer (a network may check an answer
    differently from a post: an Instagram comment needs no image). ``options``: the author's
    choices for a network that asks for some (TikTok), checked whole."""
    media = tuple(
        MediaItem(data=u.data, mime_type=u.mime, alt_text=u.alt_text, filename=u.filename)
        for u in uploads
    )
    try:
        # The server's own limits as last read (a Mastodon instance may allow 5,000
        # characters, or no video), else the network's documented ones.
        network = channel.network_class(limits=channel.cached_limits())
    except NetworkError as exc:
        return [exc.message]
    return network.validate(
        OutgoingPost(text=text, media=media, in_reply_to=in_reply_to, options=options)
    )


@transaction.atomic
def schedule_post(
    workspace: Workspace,
    *,
    by: Member | None,
    text: str,
    channels: Sequence[Channel],
    at: dt.datetime | None = None,
    uploads: Sequence[Upload] = (),
    source: str = "web",
    options: Mapping[int, Mapping[str, str]] | None = None,
) -> Post:
    """A post with one publication per channel, due at ``at`` (now when omitted).

    It goes out only if it needs no approval (the author publishes directly, no launch or
    channel rule asks for it); otherwise it waits for approval (``pending_approval``) and the
    approvers are told. A passive channel, or a blocking compliance rule, refuses it.
    ``options``: per channel id, the author's choices for a network that asks for some
    (TikTok, :mod:`portevoix.publishing.choices`); such a channel without them is refused here,
    with the network's sentences, not later by the worker."""
    if by is not None:
        require(by, "post.create")
        _same_workspace(by, workspace)
    if not channels:
        raise ActionRefused(_("Choose at least one channel."), field="channels")
    # The type comes from the bytes, not from what the sender said; bombs are refused.
    uploads = [media.checked(upload) for upload in uploads]
    now = timezone.now()
    if at is not None:
        # aware, not past, not years ahead (publishing/scheduling.py)
        at = scheduling.check_when(at, now=now)
    problems: list[str] = []
    for channel in channels:
        if channel.workspace_id != workspace.pk:
            raise ActionRefused(_("That channel does not exist here."), field="channels")
        if channel.state == ChannelStates.disconnected.name:
            problems.append(_("%(channel)s is disconnected.") % {"channel": channel.name})
            continue
        chosen = _choices_for(channel, options)
        problems.extend(
            f"{channel.name}: {problem}"
            for problem in compose_problems(channel, text, uploads, options=chosen)
        )
    if problems:
        raise ActionRefused(" ".join(problems), field="text", code="invalid_post")
    approvals.check_before_saving(workspace, PostKind.POST, text, channels)
    author: User | None = by.user if by is not None else None
    post = Post.objects.create(
        workspace=workspace, text=text, author=author, source=source, add_utm=False
    )
    for position, upload in enumerate(uploads):
        item = PostMedia(
            post=post,
            mime_type=upload.mime,
            alt_text=upload.alt_text,
            size=len(upload.data),
            position=position,
        )
        item.file.save(upload.filename, ContentFile(upload.data), save=False)
        item.save()
    due = at or now
    publications = [
        Publication.objects.create(
            post=post,
            channel=channel,
            scheduled_at=due,
            state=PublicationStates.draft.name,
            next_attempt_at=None,
            network_options={k: v for k, v in (_choices_for(channel, options) or {}).items() if v},
        )
        for channel in channels
    ]
    audit.record(
        "post.schedule",
        workspace=workspace,
        actor=author,
        obj=post,
        after={
            "text": text[:500],
            "channels": [c.name for c in channels],
            "at": due.isoformat(),
            "media": [u.filename for u in uploads],
        },
    )
    # Out at its time, or waiting for approval: whatever the settings say, for every way in.
    approvals.route(post, publications, by=by)
    return post


def _choices_for(
    channel: Channel, options: Mapping[int, Mapping[str, str]] | None
) -> dict[str, str] | None:
    """The author's choices for ``channel`` when its network asks for some (an empty dict
    when none were given, so they are refused as missing), else None."""
    if not choices.takes_choices(channel):
        return None
    return {str(k): str(v) for k, v in ((options or {}).get(channel.pk) or {}).items()}


# --- the composer -------------------------------------------------------------------------

S = PublicationStates
#: Not gone out, and nobody is sending them: the composer may change these (they go back to
#: draft while they are edited, then through ``submit_post`` again).
EDITABLE = frozenset(
    s.name
    for s in (
        S.draft,
        S.pending_approval,
        S.paused,
        S.scheduled,
        S.held,
        S.rejected,
        S.failed,
        S.waiting_reconnect,
        # A manual channel's post not yet published by hand: it can still change or go.
        S.waiting_manual,
    )
)
#: Out, or perhaps out: never changed, their variant is the record of what went out.
GONE_OUT = frozenset(s.name for s in (S.published, S.outcome_unknown, S.needs_check, S.cancelled))


class When(enum.StrEnum):
    NOW = "now"
    AT = "at"  # one instant for every channel
    LOCAL = "local"  # the same wall-clock time in each channel's audience zone
    SLOT = "slot"  # each channel's next free posting slot


@dataclass(frozen=True)
class MediaChoice:
    asset: Asset
    #: The description for this post (empty: the library's).
    alt_text: str = ""


@dataclass(frozen=True)
class Variant:
    """One channel's version; empty fields take the post's."""

    channel: Channel
    text: str = ""
    link: str = ""
    first_comment: str = ""
    thread: tuple[str, ...] = ()
    #: ``None``: the post's media; a tuple (even empty): this channel's own.
    media: tuple[MediaChoice, ...] | None = None
    #: The choices this channel's network asks of the author (TikTok), as
    #: ``Publication.network_options``.
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Composition:
    text: str
    variants: tuple[Variant, ...]
    title: str = ""
    campaign: Campaign | None = None
    media: tuple[MediaChoice, ...] = ()
    add_utm: bool = True
    #: Links go out as the product's short links, which count clicks (portevoix.roi).
    short_links: bool = False
    when: When = When.NOW
    #: ``When.AT``: an aware instant.
    at: dt.datetime | None = None
    #: ``When.LOCAL``: a wall-clock time, read in each channel's audience zone.
    local: dt.datetime | None = None
    #: The zone ``at`` was typed in (shown again by the composer); blank: the workspace's.
    time_zone: str = ""


def free_slot(
    channel: Channel, *, after: dt.datetime, taken: set[dt.datetime] | None = None
) -> dt.datetime | None:
    """The first posting slot of ``channel`` after ``after`` with nothing planned there (in
    the channel's audience zone), within four weeks; ``None`` when it has no slot."""
    slots = list(PostingSlot.objects.filter(channel=channel).order_by("weekday", "time"))
    if not slots:
        return None
    zone = channel.audience_zone
    busy = set(taken or set())
    busy.update(
        Publication.objects.filter(
            channel=channel, scheduled_at__gte=after, scheduled_at__lte=after + SLOT_HORIZON
        )
        .exclude(state=S.cancelled.name)
        .values_list("scheduled_at", flat=True)
    )
    start = after.astimezone(zone).date()
    for offset in range(SLOT_HORIZON.days + 1):
        day = start + dt.timedelta(days=offset)
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            try:
                moment = scheduling.localize(dt.datetime.combine(day, slot.time), zone)
            except scheduling.ScheduleTimeError:
                continue  # a slot in a daylight-saving gap that day
            if moment > after and not any(abs(moment - b) < SLOT_SPAN for b in busy):
                return moment
    return None


SLOT_HORIZON = dt.timedelta(days=28)
#: Another post within this of a slot takes it.
SLOT_SPAN = dt.timedelta(minutes=30)


def _times(
    composition: Composition, workspace: Workspace, now: dt.datetime
) -> dict[int, dt.datetime]:
    """When each channel's publication is due."""
    when = composition.when
    times: dict[int, dt.datetime] = {}
    for variant in composition.variants:
        channel = variant.channel
        if when == When.AT:
            if composition.at is None or composition.at.tzinfo is None:
                raise ActionRefused(_("Give the date and time."), field="at")
            times[channel.pk] = composition.at
        elif when == When.LOCAL:
            if composition.local is None:
                raise ActionRefused(_("Give the date and time."), field="at")
            try:
                times[channel.pk] = scheduling.localize(composition.local, channel.audience_zone)
            except scheduling.ScheduleTimeError as exc:
                raise ActionRefused(f"{channel.name}: {exc.message}", field="at") from None
        elif when == When.SLOT:
            moment = free_slot(channel, after=now)
            if moment is None:
                raise ActionRefused(
                    _(
                        "%(channel)s has no free posting slot in the next four weeks: add "
                        "slots, or choose a time."
                    )
                    % {"channel": channel.name},
                    field="when",
                )
            times[channel.pk] = moment
        else:
            times[channel.pk] = now
    return times


def _check_composition(workspace: Workspace, composition: Composition) -> None:
    if not composition.variants:
        raise ActionRefused(_("Choose at least one channel."), field="channels")
    seen: set[int] = set()
    for variant in composition.variants:
        channel = variant.channel
        if channel.workspace_id != workspace.pk or channel.pk in seen:
            raise ActionRefused(_("That channel does not exist here."), field="channels")
        seen.add(channel.pk)
        if channel.state == ChannelStates.disconnected.name:
            raise ActionRefused(
                _("%(channel)s is disconnected.") % {"channel": channel.name}, field="channels"
            )
        if len(variant.thread) > MAX_THREAD_PARTS:
            raise ActionRefused(_("A thread has at most 25 follow-ups here."), field="thread")
    if composition.campaign is not None and composition.campaign.workspace_id != workspace.pk:
        raise ActionRefused(_("That campaign does not exist here."), field="campaign")
    for choice in _all_media(composition):
        if choice.asset.workspace_id != workspace.pk:
            raise ActionRefused(_("That media item does not exist here."), field="media")
        if len(choice.alt_text) > 1500:
            raise ActionRefused(_("A description has at most 1,500 characters."), field="media")
    wrote = composition.text.strip() or any(v.text.strip() for v in composition.variants)
    if not wrote and not composition.media:
        raise ActionRefused(_("Write the text of the post."), field="text")


MAX_THREAD_PARTS = 25


def _all_media(composition: Composition) -> list[MediaChoice]:
    found = list(composition.media)
    for variant in composition.variants:
        found.extend(variant.media or ())
    return found


def _lock(post: Post) -> list[Publication]:
    """The post's publications, locked; refused while one is being sent."""
    rows = list(Publication.objects.select_for_update().filter(post=post).select_related("channel"))
    now = timezone.now()
    for row in rows:
        if row.state in EDITABLE and (
            row.sending_at is not None or (row.locked_until and row.locked_until > now)
        ):
            raise ActionRefused(
                _("%(channel)s: this post is being sent right now; look again in a moment.")
                % {"channel": row.channel.name},
                code="busy",
            )
    return rows


def _to_draft(publication: Publication, **fields: object) -> None:
    if publication.state == S.draft.name:
        for name, value in fields.items():
            setattr(publication, name, value)
        publication.save(update_fields=[*fields, "problem"] if fields else None)
    else:
        publication.transition(S.draft, fields=dict(fields))


def _media_rows(
    post: Post, choices: Sequence[MediaChoice], publication: Publication | None
) -> None:
    for position, choice in enumerate(choices):
        asset = choice.asset
        row = PostMedia(
            post=post,
            publication=publication,
            asset=asset,
            mime_type=asset.mime_type,
            alt_text=choice.alt_text or asset.alt_text,
            size=asset.size,
            position=position,
        )
        row.file.name = asset.file.name
        row.save()


@transaction.atomic
def save_post(
    workspace: Workspace, *, by: Member, composition: Composition, post: Post | None = None
) -> Post:
    """Create or change a post as a draft (the composer's save and autosave).

    Publications that have not gone out go back to draft while they are changed; what went
    out is never changed (a variant that used the post's text or media keeps a copy of them).
    """
    require(by, "post.create")
    _same_workspace(by, workspace)
    _check_composition(workspace, composition)
    now = timezone.now()
    times = _times(composition, workspace, now)
    rows = _lock(post) if post is not None else []
    if post is not None:
        if post.workspace_id != workspace.pk:
            raise ActionRefused(_("That post does not exist here."))
        post = Post.objects.select_for_update().get(pk=post.pk)
        before = {"text": post.text[:500], "channels": sorted(r.channel.name for r in rows)}
    else:
        post = Post(workspace=workspace, author=by.user, source="web", created_at=now)
        before = None
    out = [r for r in rows if r.state not in EDITABLE]
    for row in out:
        # Keep the record of what went out before the post's own text or media change.
        frozen = []
        if not row.text and post.text != composition.text:
            row.text = post.text
            frozen.append("text")
        if frozen:
            row.save(update_fields=frozen)
        if not row.own_media.exists() and post.pk:
            for item in post.media.filter(publication__isnull=True):
                item.pk = None
                item.publication = row
                item.save()
    post.title = composition.title.strip()[:200]
    post.text = composition.text
    post.campaign = composition.campaign
    post.add_utm = composition.add_utm
    post.short_links = composition.short_links
    post.timing = Timing.LOCAL if composition.when in (When.LOCAL, When.SLOT) else Timing.INSTANT
    post.time_zone = composition.time_zone if composition.when == When.AT else ""
    post.updated_at = now
    post.save()
    by_channel = {r.channel_id: r for r in rows}
    wanted = {v.channel.pk for v in composition.variants}
    for row in rows:
        if row.channel_id in wanted or row.state not in EDITABLE:
            continue
        if row.state == S.draft.name and row.first_attempt_at is None:
            row.delete()
        else:
            row.transition(S.cancelled)
    PostMedia.objects.filter(post=post, publication__isnull=True).delete()
    _media_rows(post, composition.media, None)
    for variant in composition.variants:
        channel = variant.channel
        fields = {
            "text": variant.text if variant.text.strip() else "",
            "link": variant.link.strip(),
            "first_comment": variant.first_comment.strip(),
            "thread": [{"text": part} for part in variant.thread if part.strip()],
            "scheduled_at": times[channel.pk],
            "network_options": {k: v for k, v in variant.options.items() if v},
        }
        existing = by_channel.get(channel.pk)
        if existing is not None and existing.state not in EDITABLE:
            continue  # gone out on this channel: nothing to change
        if existing is None:
            row = Publication.objects.create(
                post=post, channel=channel, state=S.draft.name, next_attempt_at=None, **fields
            )
        else:
            row = existing
            _to_draft(row, **fields)
        PostMedia.objects.filter(publication=row).delete()
        if variant.media is not None:
            _media_rows(post, variant.media, row)
    assets = [c.asset for c in _all_media(composition)]
    if assets:
        ensure_renditions(assets, [v.channel for v in composition.variants])
    audit.record(
        "post.save",
        workspace=workspace,
        actor=by.user,
        obj=post,
        before=before,
        after={
            "text": post.text[:500],
            "channels": sorted(v.channel.name for v in composition.variants),
            "when": str(composition.when),
        },
    )
    return post


def waiting_on(post: Post) -> list[CreativeRequest]:
    """The creative requests this post waits on (not delivered yet)."""
    return list(post.creative_requests.filter(state=CreativeRequestState.OPEN))


def publication_problems(publication: Publication) -> list[str]:
    """What the channel's network would refuse in this publication as it would go out."""
    channel = publication.channel
    try:
        network = channel.network_class(limits=channel.cached_limits())
        return network.validate(publication.outgoing())
    except NetworkError as exc:
        return [exc.message]
    except FileNotFoundError as exc:
        return [_("A file of this post is missing: %(name)s") % {"name": exc.filename or ""}]


def ready_problems(rows: Sequence[Publication], *, now: dt.datetime) -> list[str]:
    """Why these publications could not go as they are: a disconnected channel, a time in
    the past or too far ahead, what the network would refuse."""
    problems: list[str] = []
    for row in rows:
        if row.channel.state == ChannelStates.disconnected.name:
            problems.append(_("%(channel)s is disconnected.") % {"channel": row.channel.name})
            continue
        try:
            scheduling.check_when(row.scheduled_at, now=now)
        except scheduling.ScheduleTimeError as exc:
            problems.append(f"{row.channel.name}: {exc.message}")
            continue
        problems.extend(f"{row.channel.name}: {p}" for p in publication_problems(row))
    return problems


@transaction.atomic
def submit_post(post: Post, *, by: Member | None, note: str = "") -> Post:
    """The one way from draft to "goes out", for the composer, the plan's import, the CLI, the
    inbox's replies and the API: every draft publication of ``post`` is checked (the
    network's limits, its time, the visuals it waits on), then the approvals decide
    (:func:`portevoix.publishing.approvals.actions.submit`): out at its time when the post
    needs no approval or has it, else waiting for approval and the approvers told.
    """
    if by is not None:
        require(by, approvals.create_permission(post))
        _same_workspace(by, post.workspace)
    # A reply to a customer has the inbox's own checks (its network's rules for replies).
    rows = [r for r in _lock(post) if r.state == S.draft.name] if post.kind == PostKind.POST else []
    if rows:
        waiting = waiting_on(post)
        if waiting:
            raise ActionRefused(
                _("This post waits on a visual (%(requests)s): it can go once it is delivered.")
                % {"requests": ", ".join(f"« {r.title} »" for r in waiting)},
                code="waiting",
            )
        problems = ready_problems(rows, now=timezone.now())
        if problems:
            raise ActionRefused(" ".join(problems), field="text", code="invalid_post")
    return approvals.submit(post, by=by, note=note)


@transaction.atomic
def set_network_options(
    post: Post, channel: Channel, *, by: Member, options: Mapping[str, str]
) -> Publication:
    """The author's choices for ``channel``'s version of ``post`` (TikTok: who can see it,
    the interactions allowed, the disclosure, the consent), given outside the composer (the
    API). They are checked whole against the creator's options as last read; the version goes
    back to draft, like any change, and goes out once the post is submitted again."""
    require(by, "post.create")
    _same_workspace(by, post.workspace)
    if post.workspace_id != channel.workspace_id:
        raise ActionRefused(_("That channel does not exist here."), field="channels")
    if not choices.takes_choices(channel):
        raise ActionRefused(
            _("%(channel)s asks for no choices with its posts.") % {"channel": channel.name},
            code="no_choices",
            field="network_options",
        )
    rows = {r.channel_id: r for r in _lock(post)}
    row = rows.get(channel.pk)
    if row is None or row.state == S.cancelled.name:
        raise ActionRefused(
            _("This post does not go to %(channel)s.") % {"channel": channel.name},
            field="channels",
        )
    if row.state not in EDITABLE:
        raise ActionRefused(
            _("%(channel)s: already out, its version is kept as it went out.")
            % {"channel": channel.name},
            code="state",
        )
    before = dict(row.network_options or {})
    wanted = {str(k): str(v) for k, v in options.items() if v}
    row.network_options = wanted
    problems = choices.publication_problems(row)
    if problems:
        raise ActionRefused(
            " ".join(f"{channel.name}: {p}" for p in problems),
            code="invalid_choices",
            field="network_options",
        )
    _to_draft(row, network_options=wanted)
    audit.record(
        "post.choices",
        workspace=post.workspace,
        actor=by.user,
        obj=post,
        before={"channel": channel.name, "options": before},
        after={"channel": channel.name, "options": wanted},
    )
    return row


#: Not out yet and movable in time (a time change keeps an approval: the content is the same).
MOVABLE = frozenset(
    s.name
    for s in (
        S.draft,
        S.pending_approval,
        S.paused,
        S.scheduled,
        S.held,
        S.rejected,
        S.waiting_manual,
    )
)


def _zone_of(post: Post, publication: Publication) -> ZoneInfo:
    if post.timing == Timing.LOCAL:
        return publication.channel.audience_zone
    name = post.time_zone or post.workspace.time_zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return publication.channel.audience_zone


@transaction.atomic
def reschedule_post(
    post: Post, *, by: Member, day: dt.date | None = None, at: dt.datetime | None = None
) -> Post:
    """Move what has not gone out to another ``day`` (each channel keeps its time of day, in
    the zone it was planned in) or to the instant ``at``. The content does not change, so an
    approval stays; a scheduled publication stays scheduled."""
    require(by, "post.create")
    _same_workspace(by, post.workspace)
    if (day is None) == (at is None):
        raise ValueError("give a day or an instant")
    rows = [r for r in _lock(post) if r.state in MOVABLE]
    if not rows:
        raise ActionRefused(_("Nothing of this post can be moved any more."), code="state")
    now = timezone.now()
    moves: list[tuple[Publication, dt.datetime]] = []
    for row in rows:
        if at is not None:
            moment = at
        else:
            assert day is not None
            zone = _zone_of(post, row)
            clock = row.scheduled_at.astimezone(zone).time().replace(tzinfo=None)
            try:
                moment = scheduling.localize(dt.datetime.combine(day, clock), zone)
            except scheduling.ScheduleTimeError as exc:
                raise ActionRefused(f"{row.channel.name}: {exc.message}", field="at") from None
        try:
            scheduling.check_when(moment, now=now)
        except scheduling.ScheduleTimeError as exc:
            raise ActionRefused(exc.message, field="at", code=exc.code) from None
        moves.append((row, moment))
    before = {r.channel.name: r.scheduled_at.isoformat() for r in rows}
    for row, moment in moves:
        if row.state in (S.scheduled.name, S.waiting_manual.name):
            # A manual post moved is due again at its new time (its owner is reminded then).
            row.transition(S.scheduled, at=moment, fields={"scheduled_at": moment})
        else:
            row.scheduled_at = moment
            row.save(update_fields=["scheduled_at"])
    Post.objects.filter(pk=post.pk).update(updated_at=now)
    audit.record(
        "post.reschedule",
        workspace=post.workspace,
        actor=by.user,
        obj=post,
        before=before,
        after={r.channel.name: m.isoformat() for r, m in moves},
    )
    return post


@transaction.atomic
def cancel_post(post: Post, *, by: Member) -> Post:
    """Cancel every publication of ``post`` that has not gone out."""
    require(by, "post.create")
    _same_workspace(by, post.workspace)
    rows = [r for r in _lock(post) if r.state in EDITABLE]
    if not rows:
        raise ActionRefused(_("Nothing of this post can be cancelled any more."), code="state")
    for row in rows:
        row.transition(S.cancelled)
    audit.record(
        "post.cancel",
        workspace=post.workspace,
        actor=by.user,
        obj=post,
        after={"channels": sorted(r.channel.name for r in rows)},
    )
    return post


# --- what a person decides about a publication that needs them (the attention page) ------------

#: Where "retry" applies; ``held`` has "send late" instead (the same move, said differently).
RETRYABLE = frozenset(
    {
        PublicationStates.failed.name,
        PublicationStates.rejected.name,
        PublicationStates.waiting_reconnect.name,
        PublicationStates.needs_check.name,
    }
)
CANCELLABLE = NEEDS_PERSON | {PublicationStates.scheduled.name}


def _locked_for_decision(
    publication: Publication, by: Member | None, allowed: frozenset[str]
) -> Publication:
    """The row, locked, after the checks every decision shares: who, where, which state, and
    not while a worker holds it (it may be on the network this very moment)."""
    if by is not None:
        require(by, "post.resolve")
        _same_workspace(by, publication.post.workspace)
    row: Publication = (
        Publication.objects.select_for_update(of=("self",))
        .select_related("post__workspace", "channel")
        .get(pk=publication.pk)
    )
    if row.locked_until is not None and row.locked_until > timezone.now():
        raise ActionRefused(
            _("This publication is being sent right now; look again in a moment."), code="busy"
        )
    if row.state not in allowed:
        raise ActionRefused(
            _("This publication is no longer waiting for this decision (it is now: %(state)s).")
            % {"state": state_label(row.state)},
            code="state",
        )
    return row


def _channel_ready(publication: Publication) -> None:
    channel = publication.channel
    if channel.state == ChannelStates.disconnected.name:
        raise ActionRefused(
            _("The channel %(name)s is disconnected: connect it again first.")
            % {"name": channel.name},
            code="channel",
        )
    if channel.state == ChannelStates.needs_reconnect.name:
        raise ActionRefused(
            _("The channel %(name)s needs to be reconnected first; then the post goes out.")
            % {"name": channel.name},
            code="channel",
        )


def _send_again(publication: Publication, *, by: Member | None, action: str) -> Publication:
    """Back to ``scheduled``, due now, even past the lateness limit (a person decided).

    When an earlier attempt may have reached the network (``sending_at``), the worker asks the
    network before sending anything (see ``publishing.states``). The one exception is
    ``needs_check``: reconcile already could not tell, and the person who looked on the network
    says the post is not there, so the mark is cleared with that decision (docs/delivery.md).
    """
    before = {
        "state": publication.state,
        "sending_at": publication.sending_at,
    }
    fields: dict[str, Any] = {"late_ok": True}
    if publication.state == PublicationStates.needs_check.name:
        fields.update(sending_at=None, candidates=[])
    publication.transition(PublicationStates.scheduled, fields=fields)
    audit.record(
        action,
        workspace=publication.post.workspace,
        actor=by.user if by else None,
        obj=publication,
        before=before,
        after={
            "state": publication.state,
            "late_ok": True,
            "sending_at": publication.sending_at,
        },
    )
    return publication


@transaction.atomic
def retry_publication(publication: Publication, *, by: Member | None) -> Publication:
    """Send a failed, refused, reconnection-waiting or unchecked publication (again), now."""
    publication = _locked_for_decision(publication, by, RETRYABLE)
    _channel_ready(publication)
    return _send_again(publication, by=by, action="publication.retry")


@transaction.atomic
def send_late(publication: Publication, *, by: Member | None) -> Publication:
    """A held publication (later than the workspace's limit) goes out anyway, now."""
    publication = _locked_for_decision(publication, by, frozenset({PublicationStates.held.name}))
    _channel_ready(publication)
    return _send_again(publication, by=by, action="publication.send_late")


def _check_link(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError as exc:
        raise ActionRefused(
            _("Give the full address of the post, starting with https://"), field="url"
        ) from exc
    if len(url) > 500:
        raise ActionRefused(_("This address is too long (500 characters at most)."), field="url")
    return url


@transaction.atomic
def mark_published(
    publication: Publication,
    *,
    by: Member | None,
    url: str = "",
    post_id: str = "",
    candidate: int | None = None,
) -> Publication:
    """A person says the post is on the network: with its link (or its id), or by picking one
    of the candidates reconcile found. Nothing is sent; the row is ``published``."""
    publication = _locked_for_decision(publication, by, NEEDS_PERSON)
    published_at = timezone.now()
    post_id = post_id.strip()
    url = _check_link(url)
    if candidate is not None:
        found = publication.candidates if isinstance(publication.candidates, list) else []
        if not 0 <= candidate < len(found) or not isinstance(found[candidate], dict):
            raise ActionRefused(_("That candidate is not in the list any more."), field="candidate")
        chosen = found[candidate]
        post_id = str(chosen.get("post_id") or "")
        url = _check_link(str(chosen.get("url") or "")) or url
        with contextlib.suppress(ValueError):
            published_at = dt.datetime.fromisoformat(str(chosen.get("created_at") or ""))
        if timezone.is_naive(published_at):
            published_at = timezone.make_aware(published_at, dt.UTC)
    elif not url and not post_id:
        raise ActionRefused(
            _("Give the address of the post on the network, so that everyone can find it."),
            field="url",
        )
    if url and not post_id:
        post_id = (
            publication.channel.network_class.post_id_from_url(
                url, publication.channel.account_info()
            )
            or ""
        )
    if len(post_id) > 500:
        raise ActionRefused(_("This id is too long (500 characters at most)."), field="post_id")
    before = {"state": publication.state}
    publication.transition(
        PublicationStates.published,
        fields={
            "url": url,
            "network_post_id": post_id,
            "network_post_ids": [post_id] if post_id else [],
            "published_at": published_at,
            "sending_at": None,
            "candidates": [],
        },
    )
    audit.record(
        "publication.mark_published",
        workspace=publication.post.workspace,
        actor=by.user if by else None,
        obj=publication,
        before=before,
        after={
            "state": publication.state,
            "url": url,
            "network_post_id": post_id,
            "candidate": candidate,
        },
    )
    return publication


@transaction.atomic
def cancel_publication(publication: Publication, *, by: Member | None) -> Publication:
    """It will not go out. Never while a worker holds the row; a row with the "sending" mark
    may already be on the network (the attention page says so before anyone cancels)."""
    publication = _locked_for_decision(publication, by, CANCELLABLE)
    before = {
        "state": publication.state,
        "sending_at": publication.sending_at,
    }
    publication.transition(PublicationStates.cancelled)
    audit.record(
        "publication.cancel",
        workspace=publication.post.workspace,
        actor=by.user if by else None,
        obj=publication,
        before=before,
        after={"state": publication.state},
    )
    return publication


# --- the content plan: campaigns, ideas, slots, recurring dates, creative requests --------

CAMPAIGN_FIELDS = ["name", "goal", "starts_on", "ends_on", "color"]


@transaction.atomic
def save_campaign(
    workspace: Workspace,
    *,
    by: Member,
    campaign: Campaign | None = None,
    channels: Sequence[Channel] = (),
    **values: object,
) -> Campaign:
    require(by, "plan.manage")
    _same_workspace(by, workspace)
    name = str(values.get("name", "")).strip()
    if not name:
        raise ActionRefused(_("A campaign needs a name."), field="name")
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if isinstance(starts, dt.date) and isinstance(ends, dt.date) and ends < starts:
        raise ActionRefused(_("The campaign ends before it starts."), field="ends_on")
    others = Campaign.objects.filter(workspace=workspace)
    if campaign is not None:
        others = others.exclude(pk=campaign.pk)
    # Compared here, not with iexact: SQLite folds the case of ASCII letters only.
    if any(n.casefold() == name.casefold() for n in others.values_list("name", flat=True)):
        raise ActionRefused(_("There is already a campaign with that name."), field="name")
    if any(c.workspace_id != workspace.pk for c in channels):
        raise ActionRefused(_("That channel does not exist here."), field="channels")
    before = audit.snapshot(campaign, CAMPAIGN_FIELDS) if campaign is not None else None
    if campaign is None:
        campaign = Campaign(workspace=workspace, created_by=by.user)
    else:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign.name = name[:120]
    campaign.goal = str(values.get("goal", "") or "")[:300]
    campaign.starts_on = starts if isinstance(starts, dt.date) else None
    campaign.ends_on = ends if isinstance(ends, dt.date) else None
    colour = str(values.get("color", "") or "#3558d6")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        raise ActionRefused(_("Choose a colour such as #3558d6."), field="color")
    campaign.color = colour
    campaign.save()
    campaign.channels.set(channels)
    audit.record(
        "campaign.save",
        workspace=workspace,
        actor=by.user,
        obj=campaign,
        before=before,
        after={
            **audit.snapshot(campaign, CAMPAIGN_FIELDS),
            "channels": sorted(c.name for c in channels),
        },
    )
    return campaign


@transaction.atomic
def propose_idea(
    workspace: Workspace,
    *,
    by: Member,
    title: str,
    description: str = "",
    campaign: Campaign | None = None,
) -> Idea:
    require(by, "idea.propose")
    _same_workspace(by, workspace)
    if not title.strip():
        raise ActionRefused(_("Say what the idea is."), field="title")
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise ActionRefused(_("That campaign does not exist here."), field="campaign")
    idea = Idea.objects.create(
        workspace=workspace,
        title=title.strip()[:200],
        description=description,
        campaign=campaign,
        proposed_by=by.user,
    )
    audit.record(
        "idea.propose", workspace=workspace, actor=by.user, obj=idea, after={"title": idea.title}
    )
    return idea


@transaction.atomic
def decide_idea(idea: Idea, *, by: Member, accept: bool, note: str = "") -> Idea:
    """A manager accepts or declines an idea, early (seed 004), with a reason."""
    require(by, "idea.decide")
    _same_workspace(by, idea.workspace)
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if idea.state != IdeaState.PROPOSED:
        raise ActionRefused(_("This idea has already been decided."), code="state")
    if not accept and not note.strip():
        raise ActionRefused(
            _("Say why it is declined: the person who proposed it learns from it."),
            field="note",
        )
    idea.state = IdeaState.ACCEPTED if accept else IdeaState.DECLINED
    idea.decided_by = by.user
    idea.decided_at = timezone.now()
    idea.decision_note = note.strip()[:500]
    idea.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit.record(
        "idea.accept" if accept else "idea.decline",
        workspace=idea.workspace,
        actor=by.user,
        obj=idea,
        after={"note": idea.decision_note},
    )
    return idea


@transaction.atomic
def use_idea(idea: Idea, post: Post, *, by: Member) -> Idea:
    """An accepted idea became this post."""
    require(by, "post.create")
    _same_workspace(by, idea.workspace)
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if idea.state not in (IdeaState.ACCEPTED, IdeaState.USED):
        raise ActionRefused(_("Only an accepted idea can be written."), code="state")
    idea.state = IdeaState.USED
    idea.post = post
    idea.save(update_fields=["state", "post"])
    audit.record("idea.use", workspace=idea.workspace, actor=by.user, obj=idea)
    return idea


@transaction.atomic
def add_slot(channel: Channel, *, by: Member, weekday: int, time: dt.time) -> PostingSlot:
    require(by, "plan.manage")
    _same_workspace(by, channel.workspace)
    if weekday not in range(7):
        raise ActionRefused(_("Choose a day of the week."), field="weekday")
    slot, created = PostingSlot.objects.get_or_create(
        channel=channel, weekday=weekday, time=time.replace(second=0, microsecond=0)
    )
    if not created:
        raise ActionRefused(_("This channel already has that slot."), field="time")
    audit.record(
        "slot.add", workspace=channel.workspace, actor=by.user, obj=slot, after={"slot": str(slot)}
    )
    return slot


@transaction.atomic
def remove_slot(slot: PostingSlot, *, by: Member) -> None:
    require(by, "plan.manage")
    _same_workspace(by, slot.channel.workspace)
    audit.record(
        "slot.remove",
        workspace=slot.channel.workspace,
        actor=by.user,
        obj=slot,
        before={"slot": str(slot)},
    )
    slot.delete()


def _check_day(month: int | None, day: int | None, field: str) -> None:
    if month is None or day is None:
        return
    try:
        dt.date(2024, month, day)  # a leap year: 29 February is a date
    except (ValueError, TypeError):
        raise ActionRefused(_("That day does not exist."), field=field) from None


@transaction.atomic
def add_recurring_date(
    workspace: Workspace,
    *,
    by: Member,
    name: str,
    month: int,
    day: int,
    end_month: int | None = None,
    end_day: int | None = None,
    note: str = "",
) -> RecurringDate:
    require(by, "plan.manage")
    _same_workspace(by, workspace)
    if not name.strip():
        raise ActionRefused(_("Give the date a name."), field="name")
    _check_day(month, day, "day")
    if (end_month is None) != (end_day is None):
        raise ActionRefused(_("Give both the month and the day it ends."), field="end_day")
    _check_day(end_month, end_day, "end_day")
    item = RecurringDate.objects.create(
        workspace=workspace,
        name=name.strip()[:120],
        month=month,
        day=day,
        end_month=end_month,
        end_day=end_day,
        note=note[:300],
        created_by=by.user,
    )
    audit.record(
        "recurring_date.add",
        workspace=workspace,
        actor=by.user,
        obj=item,
        after=audit.snapshot(item, ["name", "month", "day", "end_month", "end_day"]),
    )
    return item


@transaction.atomic
def remove_recurring_date(item: RecurringDate, *, by: Member) -> None:
    require(by, "plan.manage")
    _same_workspace(by, item.workspace)
    audit.record(
        "recurring_date.remove",
        workspace=item.workspace,
        actor=by.user,
        obj=item,
        before={"name": item.name},
    )
    item.delete()


@transaction.atomic
def request_creative(
    workspace: Workspace,
    *,
    by: Member,
    title: str,
    brief: str,
    channels: Sequence[Channel],
    deadline: dt.datetime,
    post: Post | None = None,
    assignee: Member | None = None,
) -> CreativeRequest:
    """Ask the creative content marketer for a visual: a brief, the channels (so the sizes),
    a deadline; ``post`` then waits on it."""
    require(by, "post.create")
    _same_workspace(by, workspace)
    if not title.strip():
        raise ActionRefused(_("Give the request a title."), field="title")
    if not brief.strip():
        raise ActionRefused(_("Describe the visual you need."), field="brief")
    if not channels:
        raise ActionRefused(_("Choose the channels it is for."), field="channels")
    if any(c.workspace_id != workspace.pk for c in channels):
        raise ActionRefused(_("That channel does not exist here."), field="channels")
    if deadline.tzinfo is None:
        raise ActionRefused(_("Give the time with its time zone."), field="deadline")
    if deadline < timezone.now():
        raise ActionRefused(_("The deadline is in the past."), field="deadline")
    if post is not None and post.workspace_id != workspace.pk:
        raise ActionRefused(_("That post does not exist here."), field="post")
    if assignee is not None and (
        assignee.workspace_id != workspace.pk or not can(assignee, "creative.deliver")
    ):
        raise ActionRefused(_("This person does not deliver visuals."), field="assignee")
    item = CreativeRequest.objects.create(
        workspace=workspace,
        title=title.strip()[:200],
        brief=brief,
        deadline=deadline,
        post=post,
        requested_by=by.user,
        assignee=assignee.user if assignee is not None else None,
    )
    item.channels.set(channels)
    audit.record(
        "creative.request",
        workspace=workspace,
        actor=by.user,
        obj=item,
        after={
            "title": item.title,
            "deadline": deadline.isoformat(),
            "channels": sorted(c.name for c in channels),
        },
    )
    return item


@transaction.atomic
def deliver_creative(
    item: CreativeRequest, *, by: Member, assets: Sequence[Asset], note: str = ""
) -> CreativeRequest:
    """The creative hands over the visuals (already in the library, sized for each channel);
    the post that waited on them gets them as its media and may now go."""
    require(by, "creative.deliver")
    _same_workspace(by, item.workspace)
    item = CreativeRequest.objects.select_for_update().get(pk=item.pk)
    if item.state != CreativeRequestState.OPEN:
        raise ActionRefused(_("This request is no longer open."), code="state")
    if not assets:
        raise ActionRefused(_("Choose the visuals you deliver."), field="assets")
    if any(a.workspace_id != item.workspace_id for a in assets):
        raise ActionRefused(_("That media item does not exist here."), field="assets")
    channels = list(item.channels.all())
    ensure_renditions(list(assets), channels)
    item.assets.set(assets)
    item.state = CreativeRequestState.DELIVERED
    item.delivered_by = by.user
    item.delivered_at = timezone.now()
    item.delivery_note = note
    item.save(update_fields=["state", "delivered_by", "delivered_at", "delivery_note"])
    post = item.post
    if post is not None and not post.media.filter(publication__isnull=True).exists():
        _media_rows(post, [MediaChoice(a) for a in assets], None)
        Post.objects.filter(pk=post.pk).update(updated_at=timezone.now())
    audit.record(
        "creative.deliver",
        workspace=item.workspace,
        actor=by.user,
        obj=item,
        after={"assets": [a.name for a in assets], "note": note[:300]},
    )
    return item


@transaction.atomic
def cancel_creative(item: CreativeRequest, *, by: Member) -> CreativeRequest:
    require(by, "post.create")
    _same_workspace(by, item.workspace)
    item = CreativeRequest.objects.select_for_update().get(pk=item.pk)
    if item.state != CreativeRequestState.OPEN:
        raise ActionRefused(_("This request is no longer open."), code="state")
    item.state = CreativeRequestState.CANCELLED
    item.save(update_fields=["state"])
    audit.record("creative.cancel", workspace=item.workspace, actor=by.user, obj=item)
    return item
