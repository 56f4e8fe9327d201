"""Scheduling a post on channels, and what a person decides about a publication that needs
them: retry, send late, mark as published, cancel. The worker does the publishing.

Whatever the approval settings say is enforced here, for every way in (the pages, the CLI,
the API): :func:`schedule_post` and :func:`submit_post` end in
:func:`portevoix.publishing.approvals.actions.route`, which sends a post out only if it needs
no approval or has it, and refuses a new post on a passive channel or one that breaks a
blocking compliance rule (see docs/approvals.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from portevoix.core.permissions import require
from portevoix.networks.errors import NetworkError
from portevoix.networks.types import MediaItem, OutgoingPost
from portevoix.publishing import media
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.labels import state_label
from portevoix.publishing.models import (
    NEEDS_PERSON,
    Post,
    PostKind,
    PostMedia,
    Publication,
    PublicationStates,
)
from portevoix.publishing.scheduling import check_when


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


def compose_problems(channel: Channel, text: str, uploads: Sequence[Upload]) -> list[str]:
    """What the channel's network would refuse, checked before anything is saved."""
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
    return network.validate(OutgoingPost(text=text, media=media))


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
) -> Post:
    """A post with one publication per channel, due at ``at`` (now when omitted).

    It goes out only if it needs no approval (the author publishes directly, no launch or
    channel rule asks for it); otherwise it waits for approval (``pending_approval``) and the
    approvers are told. A passive channel, or a blocking compliance rule, refuses it."""
    if by is not None:
        require(by, "post.create")
        _same_workspace(by, workspace)
    if not channels:
        raise ActionRefused(_("Choose at least one channel."), field="channels")
    # The type comes from the bytes, not from what the sender said; bombs are refused.
    uploads = [media.checked(upload) for upload in uploads]
    now = timezone.now()
    if at is not None:
        check_when(at, now=now)  # aware, not past, not years ahead (publishing/scheduling.py)
    problems: list[str] = []
    for channel in channels:
        if channel.workspace_id != workspace.pk:
            raise ActionRefused(_("That channel does not exist here."), field="channels")
        if channel.state == ChannelStates.disconnected.name:
            problems.append(_("%(channel)s is disconnected.") % {"channel": channel.name})
            continue
        problems.extend(
            f"{channel.name}: {problem}" for problem in compose_problems(channel, text, uploads)
        )
    if problems:
        raise ActionRefused(" ".join(problems), field="text", code="invalid_post")
    approvals.check_before_saving(workspace, PostKind.POST, text, channels)
    author: User | None = by.user if by is not None else None
    post = Post.objects.create(workspace=workspace, text=text, author=author, source=source)
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


def submit_post(post: Post, *, by: Member | None, note: str = "") -> Post:
    """The composer's one entry point (and the inbox's, for replies): send ``post`` out, or
    ask for the approvals it needs. See :func:`portevoix.publishing.approvals.actions.submit`."""
    return approvals.submit(post, by=by, note=note)


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
