"""Scheduling a post on channels, and cancelling it. The worker does the publishing.

Whatever the approval settings say is enforced here, for every way in (the pages, the CLI,
the API): :func:`schedule_post` and :func:`submit_post` end in
:func:`portevoix.publishing.approvals.actions.route`, which sends a post out only if it needs
no approval or has it, and refuses a new post on a passive channel or one that breaks a
blocking compliance rule (see docs/approvals.md).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
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
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.models import Post, PostKind, PostMedia, Publication, PublicationStates


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
    now = timezone.now()
    if at is not None:
        if at.tzinfo is None:
            raise ActionRefused(_("Give the time with its time zone."), field="at")
        if at < now - dt.timedelta(minutes=1):
            raise ActionRefused(_("This time is in the past."), field="at")
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


@transaction.atomic
def cancel_publication(publication: Publication, *, by: Member | None) -> Publication:
    workspace = publication.post.workspace
    if by is not None:
        require(by, "post.create")
        _same_workspace(by, workspace)
    publication = Publication.objects.select_for_update().get(pk=publication.pk)
    if publication.state not in {
        PublicationStates.scheduled.name,
        PublicationStates.waiting_reconnect.name,
        PublicationStates.failed.name,
    }:
        raise ActionRefused(
            _("Only a publication that has not gone out can be cancelled."), code="state"
        )
    if publication.locked_until and publication.locked_until > timezone.now():
        raise ActionRefused(
            _("This publication is being sent right now; look again in a moment."), code="busy"
        )
    publication.transition(PublicationStates.cancelled)
    audit.record(
        "publication.cancel",
        workspace=workspace,
        actor=by.user if by else None,
        obj=publication,
    )
    return publication
