"""Posts and their publications, one per channel.

A :class:`Publication` is the background job that puts one post on one channel. Its state
graph is the rule "no post is published twice, none is lost" (ARCHITECTURE §4):

- ``scheduled``: due at the planned time; the handler publishes with an idempotency key that is
  stable for this (post, channel), and stores the network's post id in the same statement as
  the move to ``published``;
- ``outcome_unknown``: the call may have been accepted (a timeout after sending); the handler
  asks the network (``reconcile``) and never publishes blindly;
- ``waiting_reconnect``: the channel's token was refused; reconnecting the channel requeues it;
- ``rejected``: the network refused the post for good (too long, bad image...): the author
  sees why at once; ``failed``: the worker gave up after repeated transient errors.
"""

from __future__ import annotations

import datetime as dt
import mimetypes

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.models import Workspace
from portevoix.core.permissions import RestrictedQuerySet
from portevoix.networks.errors import (
    AuthExpired,
    OutcomeUnknown,
    Permanent,
    RateLimited,
)
from portevoix.networks.types import MediaItem, OutgoingPost
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel

#: A post more than this late (the worker was down) is not sent: a stale promotion is worse
#: than none. The author reschedules it.
TOO_LATE = dt.timedelta(hours=6)


class Post(models.Model):
    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    text = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    source = models.CharField(max_length=16, default="web")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self) -> str:
        return self.text[:60]


def media_path(instance: PostMedia, filename: str) -> str:
    return f"posts/{instance.post.workspace_id}/{instance.post_id}/{filename}"


class PostMedia(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="media")
    file = models.FileField(upload_to=media_path)
    mime_type = models.CharField(max_length=100)
    alt_text = models.CharField(_("description"), max_length=1500, blank=True)
    size = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.file.name or ""

    def as_media_item(self) -> MediaItem:
        with self.file.open("rb") as handle:
            data = handle.read()
        name = self.file.name or "media"
        return MediaItem(
            data=data,
            mime_type=self.mime_type or mimetypes.guess_type(name)[0] or "",
            alt_text=self.alt_text,
            filename=name.rsplit("/", 1)[-1],
        )


class PublicationStates(StateGraph):
    scheduled = State(initial=True, handler="handle_scheduled", try_interval=60, max_attempts=5)
    outcome_unknown = State(handler="handle_outcome_unknown", try_interval=120, max_attempts=10)
    waiting_reconnect = State()
    published = State(terminal=True)
    rejected = State(terminal=True)
    cancelled = State(terminal=True)
    failed = State(failure=True)
    scheduled.transitions_to(
        scheduled, published, outcome_unknown, waiting_reconnect, rejected, cancelled
    )
    outcome_unknown.transitions_to(outcome_unknown, published, scheduled, waiting_reconnect)
    waiting_reconnect.transitions_to(scheduled, cancelled)
    failed.transitions_to(scheduled, cancelled)


class Publication(StatefulModel):
    STATE_GRAPH = PublicationStates
    VIEW_ACTION = "post.view"
    WORKSPACE_PATH = "post__workspace"

    objects = RestrictedQuerySet.as_manager()

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="publications")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="publications")
    scheduled_at = models.DateTimeField(_("scheduled for"))
    idempotency_key = models.CharField(max_length=120, unique=True)
    network_post_id = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=500, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    error_message = models.TextField(_("problem"), blank=True)

    class Meta:
        ordering = ["-scheduled_at"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self) -> str:
        return f"{self.post} → {self.channel}"

    def outgoing(self) -> OutgoingPost:
        media = tuple(m.as_media_item() for m in self.post.media.all())
        return OutgoingPost(text=self.post.text, media=media, language=self.post.workspace.language)

    def _refused(self, state: str, message: str) -> Outcome:
        return Outcome(state, fields={"error_message": message[:2000]})

    def handle_scheduled(self) -> Outcome:
        now = timezone.now()
        if now - self.scheduled_at > TOO_LATE:
            late = int((now - self.scheduled_at).total_seconds() // 3600)
            return self._refused(
                "rejected",
                f"Not published: it was due {late} hours ago and is no longer timely. "
                "Reschedule it if it still makes sense.",
            )
        channel = Channel.objects.get(pk=self.channel_id)
        if channel.state == ChannelStates.disconnected.name:
            return self._refused("rejected", f"The channel {channel.name} is disconnected.")
        if channel.state == ChannelStates.needs_reconnect.name:
            return self._refused(
                "waiting_reconnect", f"The channel {channel.name} needs to be reconnected."
            )
        try:
            network = channel.client()
            ref = network.publish(self.outgoing(), idempotency_key=self.idempotency_key)
        except OutcomeUnknown as exc:
            return Outcome("outcome_unknown", fields={"error_message": exc.message[:2000]})
        except RateLimited as exc:
            return Outcome("scheduled", at=exc.reset_at)
        except AuthExpired as exc:
            Channel.objects.filter(pk=channel.pk, state=ChannelStates.active.name).update(
                state=ChannelStates.needs_reconnect.name,
                state_changed_at=now,
                next_attempt_at=None,
                health_message=exc.message[:500],
            )
            return self._refused("waiting_reconnect", exc.message)
        except Permanent as exc:
            return self._refused("rejected", exc.message)
        return Outcome(
            "published",
            fields={
                "network_post_id": ref.post_id,
                "url": ref.url,
                "published_at": ref.published_at or now,
                "error_message": "",
            },
        )

    def handle_outcome_unknown(self) -> Outcome:
        channel = Channel.objects.get(pk=self.channel_id)
        try:
            network = channel.client()
            ref = network.reconcile(self.idempotency_key, post=self.outgoing())
        except RateLimited as exc:
            return Outcome("outcome_unknown", at=exc.reset_at)
        except AuthExpired as exc:
            return self._refused("waiting_reconnect", exc.message)
        if ref is None:
            # The network has no such post: publishing again with the same key is safe.
            return Outcome("scheduled", fields={"error_message": ""})
        return Outcome(
            "published",
            fields={
                "network_post_id": ref.post_id,
                "url": ref.url,
                "published_at": ref.published_at or timezone.now(),
                "error_message": "",
            },
        )
