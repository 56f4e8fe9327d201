"""Posts and their publications, one per channel.

A :class:`Publication` is the background job that puts one post on one channel. Its state
graph is the rule "no post is published twice, none is lost" (ARCHITECTURE §4); the handlers
live in :mod:`portevoix.publishing.states`, where the rule is spelled out.

- ``scheduled``: due at the planned time; the handler commits a "sending" mark, then calls
  the network with the publication's own random idempotency key, and stores the network's post
  id in the same statement as the move to ``published``;
- ``outcome_unknown``: the call may have been accepted (a timeout after sending, a worker that
  died mid-call); the handler asks the network (``reconcile``) and never publishes blindly;
- ``needs_check``: reconcile could not be sure: a person looks at the candidates on the network;
- ``waiting_reconnect``: the channel's token was refused; reconnecting the channel requeues it;
- ``held``: too late for the workspace's lateness limit: a person sends it late or cancels it;
- ``rejected``: the network refused the post for good (too long, bad image...): the author
  sees why at once; ``failed``: the worker gave up after repeated errors.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import mimetypes
import secrets
from typing import IO, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portevoix.channels.models import Channel
from portevoix.core.models import Workspace
from portevoix.core.permissions import RestrictedQuerySet
from portevoix.networks.types import MediaItem, OutgoingPost, ThreadPart, Visibility
from portevoix.publishing import utm
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel


class Campaign(models.Model):
    """A named stretch of the content plan: a goal, dates, channels and a colour."""

    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    goal = models.CharField(_("goal"), max_length=300, blank=True)
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    color = models.CharField(_("colour"), max_length=7, default="#3558d6")
    channels = models.ManyToManyField(Channel, blank=True, related_name="campaigns")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="campaign_name_unique")
        ]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class PostKind(models.TextChoices):
    POST = "post", _("Post")
    #: An answer to a customer (public, or private when ``Publication.private``): webcare
    #: replies go out through the same delivery, approvals and attention page as posts.
    REPLY = "reply", _("Reply")


#: ``Post.source`` of a crisis's holding statement: it needs legal's approval
#: (``approvals.policy.plan_for``) and is not held by the workspace's pause (``pause.keys_of``).
HOLDING_STATEMENT_SOURCE = "crisis"


class Timing(models.TextChoices):
    INSTANT = "instant", _("At the same instant on every channel")
    LOCAL = "local", _("At the same local time in each channel's audience time zone")


class Post(models.Model):
    """What the team wants to say; each channel's variant and delivery is a ``Publication``."""

    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    kind = models.CharField(max_length=8, choices=PostKind.choices, default=PostKind.POST)
    #: An internal name for the plan ("Soldes d'hiver, teaser 1"); never published.
    title = models.CharField(_("title"), max_length=200, blank=True)
    #: The text every channel starts from (each ``Publication`` may have its own variant).
    text = models.TextField(_("text"))
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name=_("campaign"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    source = models.CharField(max_length=16, default="web")
    #: How a post for several channels is timed: one instant for all (read in ``time_zone``),
    #: or the same wall-clock time in each channel's audience time zone.
    timing = models.CharField(
        _("timing"), max_length=8, choices=Timing.choices, default=Timing.INSTANT
    )
    #: The zone an instant was typed in (blank: the workspace's); shown by the composer.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    #: Links carry UTM tags per channel and campaign (``publishing.utm``).
    add_utm = models.BooleanField(_("add UTM tags to links"), default=True)
    #: Links go out as the product's short links (``/l/<code>``), which count clicks
    #: (``portevoix.roi``); the composer's default is the workspace's money setting.
    short_links = models.BooleanField(_("count clicks with short links"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self) -> str:
        return self.title or self.text[:60]

    def content_fingerprint(self) -> str:
        """A digest of everything that would go out: the text, each channel's variant, the
        media and their descriptions. An approval is given for one fingerprint and lapses when
        it changes (an edit); a new time does not change it."""
        parts: list[object] = [self.text]
        for media in self.media.all():
            parts.append(
                (
                    "media",
                    media.file.name,
                    media.alt_text,
                    media.position,
                    media.asset_id,
                    media.publication_id,
                )
            )
        for publication in sorted(self.publications.all(), key=lambda p: p.channel_id):
            parts.append(
                (
                    publication.channel_id,
                    publication.text,
                    publication.link,
                    publication.first_comment,
                    publication.thread,
                    publication.in_reply_to,
                    publication.private,
                )
            )
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def media_path(instance: PostMedia, filename: str) -> str:
    return f"posts/{instance.post.workspace_id}/{instance.post_id}/{filename}"


class PostMedia(models.Model):
    """An image or video of a post: for every channel, or (``publication``) for one channel
    only, which then takes its own list instead of the post's."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="media")
    #: Set when this channel's variant has its own media.
    publication = models.ForeignKey(
        "Publication", on_delete=models.CASCADE, null=True, blank=True, related_name="own_media"
    )
    #: The library item (its rendition for the channel's network is what goes out).
    asset = models.ForeignKey(
        "media.Asset", on_delete=models.PROTECT, null=True, blank=True, related_name="uses"
    )
    file = models.FileField(upload_to=media_path, max_length=300)
    mime_type = models.CharField(max_length=100)
    alt_text = models.CharField(_("description"), max_length=1500, blank=True)
    size = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.file.name or ""

    def as_media_item(self, network: str = "") -> MediaItem:
        """The file that goes out on ``network``: the library's rendition for it if there is
        one, else the file itself."""
        file, mime = self.file, self.mime_type
        rendition = self.asset.rendition_for(network) if self.asset and network else None
        if rendition is not None:
            file, mime = rendition.file, rendition.mime_type
        name = file.name or "media"
        mime = mime or mimetypes.guess_type(name)[0] or ""
        from portevoix.media.public import media_url

        public_url = media_url(self, network) if self.pk else ""
        if mime.startswith("video/"):
            # A video stays in storage: the network modules read it chunk by chunk.
            storage, stored_name = file.storage, name

            def opener() -> IO[bytes]:
                handle: IO[bytes] = storage.open(stored_name, "rb")
                return handle

            return MediaItem(
                mime_type=mime,
                alt_text=self.alt_text,
                filename=name.rsplit("/", 1)[-1],
                public_url=public_url,
                opener=opener,
                length=file.size,
            )
        with file.open("rb") as handle:
            data = handle.read()
        return MediaItem(
            data=data,
            mime_type=mime,
            alt_text=self.alt_text,
            filename=name.rsplit("/", 1)[-1],
            public_url=public_url,
        )


class PublicationStates(StateGraph):
    scheduled = State(initial=True, handler="handle_scheduled", try_interval=60, max_attempts=20)
    outcome_unknown = State(handler="handle_outcome_unknown", try_interval=60, max_attempts=30)
    # Before sending: being written, waiting for an approval, paused (a campaign, a channel or
    # the whole workspace; the crisis mode pauses too). The worker never touches these.
    draft = State()
    pending_approval = State()
    paused = State()
    # Waiting for a person after a problem.
    waiting_reconnect = State()
    needs_check = State()
    held = State()
    rejected = State()
    # A manual channel's post at its time: the worker never sends it; its owner was reminded
    # and publishes it by hand, then marks it published (with its link) or not published.
    waiting_manual = State()
    published = State(terminal=True)
    cancelled = State(terminal=True)
    #: The owner of a manual channel said it was not published (their reason in ``problem``).
    not_published = State(terminal=True)
    failed = State(failure=True)
    scheduled.transitions_to(
        scheduled,
        published,
        outcome_unknown,
        waiting_reconnect,
        rejected,
        held,
        cancelled,
        draft,
        pending_approval,
        paused,
        waiting_manual,
    )
    # Nothing here leads back to the network: a manual post is only ever published by a person.
    waiting_manual.transitions_to(published, not_published, cancelled, draft, scheduled)
    outcome_unknown.transitions_to(
        outcome_unknown, published, scheduled, waiting_reconnect, needs_check
    )
    draft.transitions_to(pending_approval, scheduled, paused, cancelled)
    pending_approval.transitions_to(draft, scheduled, paused, cancelled)
    paused.transitions_to(scheduled, draft, pending_approval, held, cancelled)
    # The states where a person decides: send (again), edit, cancel, or say it is out (with its
    # link). Going back to ``scheduled`` is always safe: its handler reconciles first when an
    # earlier attempt may have reached the network (the "sending" mark), whatever path led back.
    for _waiting in (waiting_reconnect, needs_check, held, rejected, failed):
        _waiting.transitions_to(scheduled, cancelled, published, draft)
    del _waiting

    # Rows are renewed by the worker's heartbeat while a handler runs; a killed worker's rows
    # are free again after this (a row in the middle of a network call is held until the
    # call's timeout has passed, see ``states.mark_sending``).
    lease_seconds = 15.0
    # Retries of a network that is down are at most this far apart: a short outage ends with
    # the post going out minutes after the network is back, not hours.
    max_backoff = 900.0


def new_idempotency_key() -> str:
    """Random per publication: a restored backup, a reinstall or a staging copy posting to the
    same account never meets a key that an older record already used."""
    return f"pv-{secrets.token_urlsafe(24)}"


class Publication(StatefulModel):
    STATE_GRAPH = PublicationStates
    VIEW_ACTION = "post.view"
    WORKSPACE_PATH = "post__workspace"
    #: Loaded with each claimed row, so the handler needs no query of its own for them.
    CLAIM_RELATED = ("post", "post__workspace", "post__campaign", "channel")
    #: The ops page lists a publication left in these states for long; drafts, approvals and
    #: pauses go at the team's own pace (``failed`` is listed as failed).
    WAITING_FOR_PERSON: ClassVar[frozenset[str]] = frozenset(
        {"waiting_reconnect", "needs_check", "held", "rejected"}
    )
    CLAIM_PREFETCH = ("post__media__asset__renditions",)

    objects = RestrictedQuerySet.as_manager()

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="publications")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="publications")
    scheduled_at = models.DateTimeField(_("scheduled for"))
    idempotency_key = models.CharField(max_length=120, unique=True, default=new_idempotency_key)
    network_post_id = models.CharField(max_length=500, blank=True)
    #: Every id the network gave this publication (a thread's parts, a first comment): a
    #: reconcile of another publication never takes one of these for its own.
    network_post_ids = models.JSONField(default=list, blank=True)
    url = models.URLField(max_length=500, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    #: When the first call to the network was made: reconcile looks only at posts made after.
    first_attempt_at = models.DateTimeField(_("first attempt"), null=True, blank=True)
    #: The durable "sending" mark, committed before each call and cleared only by a definite
    #: answer (published, refused before accepting, or a reconcile that found nothing). A row
    #: found with it is reconciled, never sent blind.
    sending_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    #: What reconcile found but could not be sure of (``needs_check``), for a person.
    candidates = models.JSONField(default=list, blank=True)
    #: A person chose to send it although it is later than the workspace's limit.
    late_ok = models.BooleanField(default=False)
    # -- this channel's variant (empty: the post's own) ------------------------------------
    text = models.TextField(_("text for this channel"), blank=True)
    link = models.URLField(_("link"), max_length=1000, blank=True)
    first_comment = models.TextField(_("first comment"), blank=True)
    #: Follow-up parts of a thread: ``[{"text": "..."}]``.
    thread = models.JSONField(_("thread"), default=list, blank=True)
    #: A reply: the network id of the message answered (``Post.kind == "reply"``).
    in_reply_to = models.CharField(max_length=500, blank=True)
    #: A private answer (a direct message) rather than a public reply.
    private = models.BooleanField(_("private"), default=False)
    #: The choices this channel's network asks of the author (TikTok: who can see it, the
    #: interactions allowed, the commercial disclosure, the consent): ``{"tiktok_privacy":
    #: "PUBLIC_TO_EVERYONE", ...}``. The network module checks them (``OutgoingPost.options``).
    network_options = models.JSONField(_("network options"), default=dict, blank=True)

    class Meta:
        ordering = ["-scheduled_at"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self) -> str:
        return f"{self.post} → {self.channel}"

    @property
    def effective_text(self) -> str:
        """What goes out on this channel: its variant, else the post's text."""
        return self.text or self.post.text

    def media_rows(self) -> list[PostMedia]:
        """This channel's media: its own list if it has one, else the post's."""
        rows = list(self.post.media.all())
        own = [m for m in rows if m.publication_id == self.pk]
        return own or [m for m in rows if m.publication_id is None]

    def utm_tags(self) -> dict[str, str] | None:
        if not self.post.add_utm or self.post.kind != PostKind.POST:
            return None
        campaign = self.post.campaign
        return utm.tags_for(self.channel.name, campaign.name if campaign else None)

    def outgoing(self) -> OutgoingPost:
        network = self.channel.network
        media = tuple(m.as_media_item(network) for m in self.media_rows())
        tags = self.utm_tags()

        shorten = self.post.short_links and self.post.kind == PostKind.POST and bool(self.pk)

        def tagged(value: str) -> str:
            value = utm.tag_links(value, tags) if tags else value
            if shorten and value:
                # The links become the product's short links, which count clicks (roi app).
                from portevoix.roi.shortlinks import shorten_links

                value = shorten_links(self, value)
            return value

        text = self.effective_text
        if self.link and self.link not in text:
            text = f"{text}\n{self.link}" if text else self.link
        text = tagged(text)
        return OutgoingPost(
            text=text,
            media=media,
            thread=tuple(
                ThreadPart(tagged(str(part.get("text", ""))))
                for part in self.thread
                if isinstance(part, dict)
            ),
            in_reply_to=self.in_reply_to or None,
            visibility=Visibility.DIRECT if self.private else Visibility.PUBLIC,
            language=self.post.workspace.language,
            first_comment=tagged(self.first_comment),
            options=self.options_for_network(),
        )

    def options_for_network(self) -> dict[str, str] | None:
        """The author's choices for networks that ask for some (TikTok), else None."""
        if self.channel.network != "tiktok" or self.post.kind != PostKind.POST:
            return None
        stored = self.network_options if isinstance(self.network_options, dict) else {}
        return {str(k): str(v) for k, v in stored.items()}

    def handle_scheduled(self) -> Outcome:
        from portevoix.publishing import states

        return states.handle_scheduled(self)

    def handle_outcome_unknown(self) -> Outcome:
        from portevoix.publishing import states

        return states.handle_outcome_unknown(self)

    @property
    def needs_person(self) -> bool:
        return self.state in NEEDS_PERSON


#: States in which a publication waits for a person (the attention page lists them).
NEEDS_PERSON = frozenset(
    s.name
    for s in (
        PublicationStates.waiting_reconnect,
        PublicationStates.needs_check,
        PublicationStates.held,
        PublicationStates.rejected,
        PublicationStates.failed,
    )
)

# --- results -----------------------------------------------------------------------------


class MetricSource(models.TextChoices):
    NETWORK = "network", _("From the network")
    FORM = "form", _("Entered by hand")
    CSV = "csv", _("Imported from a CSV file")


class PublicationMetrics(models.Model):
    """A publication's results at one moment: append-only, the latest is the current one.

    Where a post's results are kept, whoever measured them: a network's API (``source``
    ``network``) or a person, for a manual channel (entered in a form or imported from a CSV
    file). ``None`` means "not measured", never zero.
    """

    VIEW_ACTION = "post.view"
    WORKSPACE_PATH = "publication__post__workspace"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "reach",
        "impressions",
        "likes",
        "comments",
        "shares",
        "clicks",
    )
    objects = RestrictedQuerySet.as_manager()

    publication = models.ForeignKey("Publication", on_delete=models.CASCADE, related_name="metrics")
    taken_at = models.DateTimeField(_("measured on"))
    source = models.CharField(max_length=8, choices=MetricSource.choices)
    reach = models.PositiveBigIntegerField(_("reach"), null=True, blank=True)
    impressions = models.PositiveBigIntegerField(_("impressions"), null=True, blank=True)
    likes = models.PositiveBigIntegerField(_("likes"), null=True, blank=True)
    comments = models.PositiveBigIntegerField(_("comments"), null=True, blank=True)
    shares = models.PositiveBigIntegerField(_("shares"), null=True, blank=True)
    clicks = models.PositiveBigIntegerField(_("clicks"), null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["publication", "-taken_at"], name="pub_metrics_latest")]
        verbose_name = _("results")
        verbose_name_plural = _("results")

    def __str__(self) -> str:
        return f"{self.publication_id} @ {self.taken_at:%Y-%m-%d %H:%M}"

    def values(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in self.FIELDS}


# --- the content plan -------------------------------------------------------------------


class CreativeRequestState(models.TextChoices):
    # A request (une demande): its own context, so the French agrees (ouverte, livrée, annulée).
    OPEN = "open", pgettext_lazy("visual request", "Open")
    DELIVERED = "delivered", pgettext_lazy("visual request", "Delivered")
    CANCELLED = "cancelled", pgettext_lazy("visual request", "Cancelled")


class CreativeRequest(models.Model):
    """A content marketer asks the creative content marketer for a visual (seed 002): a
    brief, the channels it is for (so the sizes), a deadline. The creative delivers assets
    into the media library; a post that waits on the request says so."""

    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="creative_requests"
    )
    title = models.CharField(_("title"), max_length=200)
    brief = models.TextField(_("brief"))
    channels = models.ManyToManyField(
        Channel, blank=True, related_name="creative_requests", verbose_name=_("channels")
    )
    deadline = models.DateTimeField(_("deadline"))
    #: The post that waits on this visual, if any.
    post = models.ForeignKey(
        Post,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="creative_requests",
        verbose_name=_("post"),
    )
    state = models.CharField(
        max_length=12, choices=CreativeRequestState.choices, default=CreativeRequestState.OPEN
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    assets = models.ManyToManyField(
        "media.Asset", blank=True, related_name="creative_requests", verbose_name=_("assets")
    )
    delivery_note = models.TextField(_("note"), blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("creative request")
        verbose_name_plural = _("creative requests")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state == CreativeRequestState.OPEN

    @property
    def is_late(self) -> bool:
        return self.is_open and self.deadline < timezone.now()


class IdeaState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    USED = "used", _("Written")


class Idea(models.Model):
    """The ideas backlog: any member proposes; a manager accepts or declines early (seed
    004: refuse bad ideas at the start, not a finished post at the end)."""

    VIEW_ACTION = "idea.propose"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="ideas")
    title = models.CharField(_("idea"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ideas",
        verbose_name=_("campaign"),
    )
    state = models.CharField(max_length=10, choices=IdeaState.choices, default=IdeaState.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("reason"), max_length=500, blank=True)
    post = models.ForeignKey(
        Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="ideas"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("idea")
        verbose_name_plural = _("ideas")

    def __str__(self) -> str:
        return self.title


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class PostingSlot(models.Model):
    """A regular time to post on a channel, in its audience time zone ("add to the next free
    slot" takes the first one with nothing planned)."""

    VIEW_ACTION = "post.view"
    WORKSPACE_PATH = "channel__workspace"
    objects = RestrictedQuerySet.as_manager()

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posting_slots")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    time = models.TimeField(_("time"))

    class Meta:
        ordering = ["channel__name", "weekday", "time"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "weekday", "time"], name="posting_slot_unique"
            )
        ]
        verbose_name = _("posting slot")
        verbose_name_plural = _("posting slots")

    def __str__(self) -> str:
        return f"{self.channel.name} {self.get_weekday_display()} {self.time:%H:%M}"


class RecurringDate(models.Model):
    """A date the team plans around every year: an awareness day (one day) or a season (from
    one day to another, possibly across the new year)."""

    VIEW_ACTION = "post.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="recurring_dates"
    )
    name = models.CharField(_("name"), max_length=120)
    month = models.PositiveSmallIntegerField(_("month"))
    day = models.PositiveSmallIntegerField(_("day"))
    end_month = models.PositiveSmallIntegerField(_("until month"), null=True, blank=True)
    end_day = models.PositiveSmallIntegerField(_("until day"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["month", "day", "name"]
        verbose_name = _("recurring date")
        verbose_name_plural = _("recurring dates")

    def __str__(self) -> str:
        return self.name

    def covers(self, day: dt.date) -> bool:
        """Whether this date (or season) falls on ``day``, whatever the year."""
        start = (self.month, self.day)
        if self.end_month is None or self.end_day is None:
            if (self.month, self.day) == (2, 29) and not calendar.isleap(day.year):
                return (day.month, day.day) == (2, 28)
            return (day.month, day.day) == start
        end = (self.end_month, self.end_day)
        here = (day.month, day.day)
        if start <= end:
            return start <= here <= end
        return here >= start or here <= end


# The editorial controls (approvals, compliance rules, pauses) keep their tables beside their
# rules; imported here so that Django finds them.
from portevoix.publishing.approvals.models import *  # noqa: E402, F403

__all__ = [
    "NEEDS_PERSON",
    "Campaign",
    "CreativeRequest",
    "Idea",
    "MetricSource",
    "Post",
    "PostMedia",
    "PostingSlot",
    "Publication",
    "PublicationMetrics",
    "PublicationStates",
    "RecurringDate",
]
