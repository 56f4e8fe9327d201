"""The sandbox network's world, in the database.

These tables are the *network's* side, not Porte-voix's: what a social network would hold
on its own servers. ``SandboxPost`` is what the network really received (one row per post,
thread part, reply or private answer), ``SandboxCall`` every call that reached it, so tests
and benchmarks can prove that no post arrived twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: Local-hour activity (0..23) of a consumer audience: evenings and lunch.
CONSUMER_CURVE: list[float] = [
    0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.20, 0.45, 0.60, 0.55, 0.50, 0.60,
    0.80, 0.75, 0.55, 0.50, 0.55, 0.65, 0.80, 0.95, 1.00, 0.95, 0.70, 0.35,
]  # fmt: skip
#: Local-hour activity of a professional audience: mornings, lunch, office hours.
PROFESSIONAL_CURVE: list[float] = [
    0.03, 0.02, 0.02, 0.02, 0.03, 0.06, 0.20, 0.55, 0.95, 1.00, 0.85, 0.75,
    0.90, 0.80, 0.70, 0.65, 0.60, 0.50, 0.35, 0.25, 0.20, 0.15, 0.08, 0.05,
]  # fmt: skip


def default_curve() -> list[float]:
    return list(CONSUMER_CURVE)


def default_products() -> list[str]:
    """No products named: the world says "your serum" and the like."""
    return []


def empty_list() -> list[Any]:
    return []


def empty_dict() -> dict[str, Any]:
    return {}


class Flavour(models.TextChoices):
    PHOTO = "photo", _("Sandbox photo network (Instagram-like)")
    PRO = "pro", _("Sandbox professional network (LinkedIn-like)")
    MICRO = "micro", _("Sandbox microblog (X-like)")


class SandboxAccount(models.Model):
    """One account on the sandbox network, with its audience and the world around it."""

    workspace = models.ForeignKey(
        "core.Workspace",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sandbox_accounts",
        verbose_name=_("workspace"),
    )
    handle = models.SlugField(_("handle"), max_length=60, unique=True, allow_unicode=False)
    display_name = models.CharField(_("display name"), max_length=120)
    flavour = models.CharField(
        _("kind of network"), max_length=10, choices=Flavour.choices, default=Flavour.PHOTO
    )
    #: The access token the network hands out (the sandbox's own secret, never logged).
    token = models.CharField(max_length=80, unique=True, editable=False)
    token_expires_at = models.DateTimeField(_("token expires"), null=True, blank=True)
    follower_count = models.PositiveIntegerField(_("followers"), default=5000)
    #: Added to every post's quality score: a brand whose audience likes it (-1..1).
    quality_bias = models.FloatField(_("quality bias"), default=0.0)
    #: Customers who write in (comments, DMs, mentions) per day at average activity.
    inbound_per_day = models.FloatField(_("inbound messages per day"), default=20.0)
    #: Public mentions of the brand (not addressed to it) and of competitors per day.
    mentions_per_day = models.FloatField(_("mentions per day"), default=8.0)
    brand_name = models.CharField(_("brand name"), max_length=120, blank=True)
    products = models.JSONField(_("products"), default=default_products, blank=True)
    competitors = models.JSONField(_("competitors"), default=empty_list, blank=True)
    seed = models.BigIntegerField(_("random seed"), default=1)
    #: Whether ``advance_all`` moves this account's world forward.
    simulate = models.BooleanField(_("simulated"), default=True)
    #: The world has been simulated up to this moment (a step boundary).
    simulated_until = models.DateTimeField(_("simulated until"), default=timezone.now)
    crisis_topic = models.CharField(_("crisis topic"), max_length=200, blank=True)
    crisis_topic_en = models.CharField(_("crisis topic (English)"), max_length=200, blank=True)
    crisis_intensity = models.FloatField(_("crisis intensity"), default=0.0)
    crisis_started_at = models.DateTimeField(_("crisis started"), null=True, blank=True)
    crisis_ends_at = models.DateTimeField(_("crisis ends"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["handle"]
        verbose_name = _("sandbox account")
        verbose_name_plural = _("sandbox accounts")

    def __str__(self) -> str:
        return f"@{self.handle} (sandbox)"

    @property
    def brand(self) -> str:
        return self.brand_name or self.display_name

    def crisis_active(self, at: datetime) -> bool:
        return (
            self.crisis_intensity > 0
            and self.crisis_started_at is not None
            and self.crisis_started_at <= at
            and (self.crisis_ends_at is None or at < self.crisis_ends_at)
        )


class SandboxFollowerCohort(models.Model):
    """Part of an account's audience: where they live, which language, when they scroll."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="cohorts")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    language = models.CharField(_("language"), max_length=8, default="fr")
    #: Relative weight of this cohort in the audience.
    size = models.PositiveIntegerField(_("size"), default=100)
    #: 24 numbers in 0..1: how active this cohort is at each local hour.
    activity_curve = models.JSONField(_("daily activity"), default=default_curve)
    #: Activity on Saturdays and Sundays relative to weekdays.
    weekend_factor = models.FloatField(_("weekend factor"), default=1.0)

    class Meta:
        ordering = ["account", "-size", "pk"]
        verbose_name = _("sandbox follower cohort")
        verbose_name_plural = _("sandbox follower cohorts")

    def __str__(self) -> str:
        return f"{self.account.handle}: {self.size} in {self.time_zone} ({self.language})"


class PostKind(models.TextChoices):
    POST = "post", _("post")
    REPLY = "reply", _("public reply")
    DM = "dm", _("private message")
    FIRST_COMMENT = "first_comment", _("first comment")


class SandboxPost(models.Model):
    """Something the network really received from the account, and how it did since."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="posts")
    network_id = models.CharField(_("network id"), max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=PostKind.choices, default=PostKind.POST)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    #: 0 for the post itself, 1.. for the parts of a thread, then the first comment.
    part = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(blank=True)
    #: Descriptors only (mime type, size, alt text, file name, sha256): never the bytes.
    media = models.JSONField(default=empty_list, blank=True)
    language = models.CharField(max_length=8, blank=True)
    visibility = models.CharField(max_length=12, default="public")
    content_warning = models.CharField(max_length=200, blank=True)
    in_reply_to = models.CharField(max_length=120, blank=True, db_index=True)
    thread_root = models.CharField(max_length=80, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    #: How good the audience finds it (0.2..2.5); drawn once, from the text and the seed.
    quality = models.FloatField(default=1.0)
    impressions = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    shares = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key", "part"],
                name="sandbox_post_idempotency_unique",
            ),
        ]
        verbose_name = _("sandbox post")
        verbose_name_plural = _("sandbox posts")

    def __str__(self) -> str:
        return f"{self.network_id}: {self.text[:40]}"

    @property
    def content_type(self) -> str:
        mimes = [str(m.get("mime_type", "")) for m in self.media or []]
        if any(m.startswith("video/") for m in mimes):
            return "video"
        if any(m.startswith("image/") for m in mimes):
            return "image"
        return "text"


class InteractionKind(models.TextChoices):
    COMMENT = "comment", _("comment")
    MENTION = "mention", _("mention")
    DM = "dm", _("private message")


class Intent(models.TextChoices):
    """The truth the world wrote the message with (same values as ``triage.labels.Intent``)."""

    PRICING = "pricing", _("prices and offers")
    PURCHASE = "purchase", _("purchase")
    COMPLAINT = "complaint", _("complaint")
    SUPPORT = "support", _("support")
    QUESTION = "question", _("common question")
    PRAISE = "praise", _("praise")
    LEGAL = "legal", _("legal")
    HR = "hr", _("job application")
    PRESS = "press", _("press")
    SPAM = "spam", _("spam")
    OTHER = "other", _("other")


class Target(models.TextChoices):
    BRAND = "brand", _("the brand")
    COMPETITOR = "competitor", _("a competitor")


class SandboxInteraction(models.Model):
    """An inbound item: a customer's comment, private message, or a public mention.

    ``addressed`` items reach the account's notifications (``fetch_inbound``); the others
    (mentions that do not tag the account, talk about competitors) are only found by a
    search, as listening would.
    """

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="interactions"
    )
    message_id = models.CharField(_("network message id"), max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=InteractionKind.choices)
    addressed = models.BooleanField(default=True)
    target = models.CharField(max_length=12, choices=Target.choices, default=Target.BRAND)
    #: The competitor a mention is about, if any.
    about = models.CharField(max_length=120, blank=True)
    author_handle = models.CharField(max_length=60)
    author_name = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=8, default="fr")
    intent = models.CharField(_("intended label"), max_length=12, choices=Intent.choices)
    sentiment = models.CharField(max_length=10, default="neutral")
    is_crisis = models.BooleanField(default=False)
    #: The truth of a complaint: specific (one order, one account, personal details) or
    #: general; what triage's "specific" signal is measured against.
    specific = models.BooleanField(default=False)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    #: The network id this answers (one of the account's posts, or another message).
    in_reply_to = models.CharField(max_length=120, blank=True, db_index=True)
    #: The post a comment sits under, or the DM conversation.
    thread_id = models.CharField(max_length=120, blank=True)
    #: ``world`` (simulated) or ``injected`` (a test or a person made it).
    source = models.CharField(max_length=10, default="world")
    hidden_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "addressed", "id"], name="sandbox_inbound_idx"),
        ]
        verbose_name = _("sandbox interaction")
        verbose_name_plural = _("sandbox interactions")

    def __str__(self) -> str:
        return f"{self.kind} @{self.author_handle}: {self.text[:40]}"


class Fault(models.TextChoices):
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept", _("timeout after the write was accepted")
    TIMEOUT = "timeout", _("timeout before anything was accepted")
    RATE_LIMITED = "rate_limited", _("429 Too Many Requests, with a reset time")
    SERVER_ERROR = "server_error", _("500 Internal Server Error (nothing stored)")
    UNAVAILABLE = "unavailable", _("503 Service Unavailable (nothing stored)")
    AUTH_EXPIRED = "auth_expired", _("401 token expired")


class SandboxFaults(models.Model):
    """How badly the network behaves for one account: latency, rate limit, queued faults."""

    account = models.OneToOneField(SandboxAccount, on_delete=models.CASCADE, related_name="faults")
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    jitter_ms = models.PositiveIntegerField(_("latency jitter (ms)"), default=0)
    #: Calls allowed per window (0: no limit); the window is fixed, like most networks.
    rate_limit = models.PositiveIntegerField(_("calls per window"), default=0)
    rate_window_seconds = models.PositiveIntegerField(_("window (seconds)"), default=900)
    #: How long a queued ``rate_limited`` fault says to wait.
    rate_reset_seconds = models.PositiveIntegerField(_("reset after (seconds)"), default=60)
    #: The next calls fail in this order, one fault per call (values of ``Fault``).
    queue = models.JSONField(_("next faults"), default=empty_list, blank=True)
    #: Only write calls (publish, reply, delete, hide) consume the queue when true.
    writes_only = models.BooleanField(_("faults on writes only"), default=True)
    #: Faults that strike at random when nothing is queued: {"timeout_after_accept": 0.05}.
    random_faults = models.JSONField(_("random faults"), default=empty_dict, blank=True)
    #: After storing a write, hold the answer this long (the window in which a client that
    #: dies has had its post accepted without knowing it; the chaos benchmark kills there).
    hold_ms = models.PositiveIntegerField(_("answer held after a write (ms)"), default=0)

    class Meta:
        verbose_name = _("sandbox faults")
        verbose_name_plural = _("sandbox faults")

    def __str__(self) -> str:
        return f"faults of @{self.account.handle}"


class SandboxCall(models.Model):
    """Every call the network received, and what it answered (a receipt)."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="calls")
    operation = models.CharField(max_length=20)
    write = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=200, blank=True)
    #: ``ok``, ``duplicate`` (answered with what it already had), a ``Fault`` value,
    #: ``invalid``, ``not_found`` or ``unauthorized``.
    outcome = models.CharField(max_length=24)
    #: Network ids created (not repeated) by this call.
    created_ids = models.JSONField(default=empty_list, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "received_at"], name="sandbox_call_window_idx"),
        ]
        verbose_name = _("sandbox call")
        verbose_name_plural = _("sandbox calls")

    def __str__(self) -> str:
        return f"{self.received_at:%H:%M:%S} {self.operation} {self.outcome}"
