"""Listening: what the brand listens for (queries), where it listens (sources), what it heard
(mentions). See ``docs/listening.md``."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Workspace
from portevoix.core.permissions import RestrictedQuerySet
from portevoix.worker.graph import State, StateGraph
from portevoix.worker.models import Outcome, StatefulModel


class QueryKind(models.TextChoices):
    BRAND = "brand", _("Brand")
    PRODUCT = "product", _("Product")
    EXECUTIVE = "executive", _("Executive")
    COMPETITOR = "competitor", _("Competitor")
    INDUSTRY = "industry", _("Industry term")
    HASHTAG = "hashtag", _("Hashtag")


#: Kinds that speak of the brand itself, for the share of voice against competitors.
OWN_KINDS = frozenset({QueryKind.BRAND, QueryKind.PRODUCT, QueryKind.EXECUTIVE})


class ListeningQuery(models.Model):
    """One thing the workspace listens for, written in the query language (query.py)."""

    VIEW_ACTION = "listening.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="listening_queries"
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=QueryKind.choices)
    text = models.TextField(_("query"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["kind", "name", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="listening_query_name_unique"
            ),
        ]
        verbose_name = _("listening query")
        verbose_name_plural = _("listening queries")

    def __str__(self) -> str:
        return self.name


class SourceKind(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox world")
    JETSTREAM = "jetstream", _("Bluesky (Jetstream)")
    MASTODON_STREAM = "mastodon-stream", _("Mastodon streaming")
    MASTODON_TAG = "mastodon-tag", _("Mastodon hashtag timeline")
    MASTODON_SEARCH = "mastodon-search", _("Mastodon search")
    YOUTUBE_SEARCH = "youtube-search", _("YouTube search")
    INSTAGRAM_HASHTAG = "instagram-hashtag", _("Instagram hashtags")
    INSTAGRAM_TAGS = "instagram-tags", _("Instagram: media the account is tagged in")
    X_SEARCH = "x-search", _("X recent search")


class SourceStates(StateGraph):
    # ``reading`` reads one slice (a stream: up to a minute on one connection; a timeline or
    # the sandbox: what is new), commits the cursor after each batch, and comes back to
    # itself, due again after the kind's pause (sources.PAUSE).
    reading = State(initial=True, handler="handle_reading", try_interval=60, max_attempts=12)
    # A manager switched it off; nothing reads it until switched on again.
    paused = State()
    # After max_attempts errors in a row; a manager starts it again from the sources page.
    failed = State(failure=True)
    reading.transitions_to(reading, paused)
    paused.transitions_to(reading)
    failed.transitions_to(reading, paused)
    lease_seconds = 30.0


class ListeningSource(StatefulModel):
    """One public stream, read once for every workspace, with where reading stopped.

    The row is the job (``docs/worker.md``): a worker or ``portevoix listen`` leases it, so two
    processes never read the same stream; the cursor it commits is where the next reader,
    after a restart or in another process, starts again."""

    STATE_GRAPH = SourceStates
    WAITING_FOR_PERSON: ClassVar[frozenset[str]] = frozenset()

    name = models.SlugField(_("name"), max_length=60, unique=True)
    network = models.CharField(_("network"), max_length=20)
    kind = models.CharField(
        _("kind"), max_length=20, choices=SourceKind.choices, default=SourceKind.SANDBOX
    )
    #: Jetstream's WebSocket URL, or the Mastodon instance's URL.
    url = models.CharField(_("address"), max_length=300, blank=True)
    #: Mastodon: ``public`` or a hashtag (streaming), the hashtag (timeline), the words (search).
    target = models.CharField(_("what to read"), max_length=200, blank=True)
    #: Mastodon: the connected channel whose user token reads the stream or the search.
    channel = models.ForeignKey(
        "channels.Channel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("token of the channel"),
    )
    #: Mastodon: a token configured for the instance (encrypted), when no channel lends one.
    token_encrypted = models.TextField(blank=True)
    #: Who added it (None: the installation's own). Every workspace's queries read it.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    #: Opaque to everyone but the source's reader (the sandbox: the last interaction id;
    #: Jetstream: unix microseconds; Mastodon: the newest status id).
    cursor = models.CharField(_("cursor"), max_length=200, blank=True)
    read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    #: When the newest post read was posted, and how far behind it the reading was.
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True)
    lag_seconds = models.FloatField(_("lag"), null=True, blank=True)
    items_read = models.PositiveBigIntegerField(_("items read"), default=0)
    mentions_stored = models.PositiveBigIntegerField(_("mentions stored"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    #: YouTube and X: the listening query whose terms are asked of the network (None with
    #: target ``all``: every active query of the workspace that added it).
    query = models.ForeignKey(
        ListeningQuery,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("listening query"),
    )
    #: A quota or a rate limit stopped reading until then (the page says why: ``problem``).
    waiting_until = models.DateTimeField(_("waiting until"), null=True, blank=True)
    #: YouTube: the quota units this source spent on ``units_day`` (a Pacific-time date).
    units_day = models.CharField(max_length=10, blank=True)
    units_spent = models.PositiveIntegerField(_("quota units spent today"), default=0)

    class Meta:
        ordering = ["name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["kind", "url", "target"], name="listening_source_read_once"
            ),
        ]
        verbose_name = _("listening source")
        verbose_name_plural = _("listening sources")

    def __str__(self) -> str:
        return self.name

    def handle_reading(self) -> Outcome:
        from . import sources

        return sources.read_slice(self)


class Mention(models.Model):
    """A public post that matched at least one of a workspace's queries: one row per post
    and workspace, however often the source delivered it."""

    VIEW_ACTION = "listening.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="mentions")
    source = models.ForeignKey(ListeningSource, on_delete=models.PROTECT, related_name="+")
    network = models.CharField(_("network"), max_length=20)
    external_id = models.CharField(max_length=300)
    author_handle = models.CharField(_("author"), max_length=300)
    #: The author's id on the network when the source gave one the inbox also uses (a DID on
    #: Bluesky, a user id on X, a channel id on YouTube); empty otherwise.
    author_id = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=300, blank=True)
    #: The author's followers when the post was read.
    author_reach = models.PositiveIntegerField(_("reach"), default=0)
    text = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=12, blank=True)
    url = models.CharField(max_length=500, blank=True)
    posted_at = models.DateTimeField(_("posted"))
    received_at = models.DateTimeField(default=timezone.now)
    queries = models.ManyToManyField(ListeningQuery, related_name="mentions", blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=12, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    intent = models.CharField(_("intent"), max_length=20, blank=True)
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idea = models.ForeignKey(
        "publishing.Idea", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-posted_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"], name="mention_once_per_source"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "posted_at"], name="mention_ws_time_idx"),
            models.Index(
                fields=["workspace", "network", "external_id"], name="mention_ws_post_idx"
            ),
        ]
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")

    def __str__(self) -> str:
        return f"@{self.author_handle}: {self.text[:40]}"

    @property
    def ref(self) -> str:
        return f"mention:{self.pk}"


class AccountSide(models.TextChoices):
    OWN = "own", _("Ours")
    COMPETITOR = "competitor", _("Competitor")


class FollowedStates(StateGraph):
    # ``following`` collects the account's public figures and comes back to itself, due again
    # after competitors.INTERVAL (6 hours).
    following = State(initial=True, handler="handle_following", try_interval=6 * 3600)
    # After max_attempts errors in a row (an account that no longer exists); a manager
    # starts it again or removes it.
    failed = State(failure=True)
    following.transitions_to(following)
    failed.transitions_to(following)


class FollowedAccount(StatefulModel):
    """A public account followed beside the brand's: a competitor's, or one of the brand's own
    for the comparison. Collected on a schedule (one :class:`AccountSnapshot` per collection)."""

    VIEW_ACTION = "listening.view"
    STATE_GRAPH = FollowedStates
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="followed_accounts"
    )
    side = models.CharField(
        _("side"), max_length=12, choices=AccountSide.choices, default=AccountSide.COMPETITOR
    )
    #: Whose account it is (``Rosée Paris``): the table groups an actor's accounts.
    label = models.CharField(_("name"), max_length=120)
    network = models.CharField(_("network"), max_length=20)
    #: ``handle.bsky.social``, ``user@instance.social``, or a sandbox handle.
    handle = models.CharField(_("account"), max_length=300)
    display_name = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["side", "label", "network", "handle"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "network", "handle"], name="followed_account_once"
            ),
        ]
        verbose_name = _("followed account")
        verbose_name_plural = _("followed accounts")

    def __str__(self) -> str:
        return f"{self.label} ({self.network}: {self.handle})"

    def handle_following(self) -> Outcome:
        from . import competitors

        return competitors.collect_row(self)


class AccountSnapshot(models.Model):
    """What one collection saw of a followed account's public figures."""

    account = models.ForeignKey(FollowedAccount, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    followers = models.PositiveIntegerField(_("followers"), default=0)
    #: Posts (not replies, not reposts) in the window read, and the window in days.
    posts = models.PositiveIntegerField(_("posts"), default=0)
    window_days = models.FloatField(default=0)
    posts_per_week = models.FloatField(_("posts per week"), default=0)
    #: Likes + reposts + replies per post, averaged over the posts read.
    engagement_per_post = models.FloatField(_("engagement per post"), default=0)
    #: The three most engaging posts read: ``[{"text", "url", "at", "engagement"}]``.
    best_posts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-taken_at", "-pk"]
        verbose_name = _("account snapshot")
        verbose_name_plural = _("account snapshots")

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class InstagramHashtagUse(models.Model):
    """A hashtag an Instagram business account searched (or was configured to search): Meta
    allows 30 different hashtags per account in a rolling 7 days, counted from the first query
    of each (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-
    facebook-login/hashtag-search)."""

    account_id = models.CharField(max_length=64)
    hashtag = models.CharField(max_length=100)
    #: Instagram's own id of the hashtag (static and global), once asked.
    hashtag_id = models.CharField(max_length=64, blank=True)
    first_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account_id", "hashtag"], name="ig_hashtag_use_once"),
        ]
        verbose_name = _("Instagram hashtag searched")
        verbose_name_plural = _("Instagram hashtags searched")

    def __str__(self) -> str:
        return f"{self.account_id} #{self.hashtag}"
