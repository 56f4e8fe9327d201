"""Money in and out of social media: leads and deals (what the work brought), and the
workspace's money settings. See ``docs/analytics.md`` (Return on investment).

Money is its own app rather than part of ``analytics``: it has its own permissions (who sees
money, who enters spend, who records leads), its own ways in (the CRM's webhook, the short
links' redirect) and its own imports, and it keeps ``analytics`` to the metrics the networks
give.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import RestrictedQuerySet

#: Amounts are stored with two decimals, up to a thousand billion (14 digits).
MAX_DIGITS = 14
ZERO = Decimal("0.00")


class MoneySettings(models.Model):
    """One workspace's money settings: the currency its amounts are in, and whether the
    links of new posts become the product's short links."""

    VIEW_ACTION = "money.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="money_settings"
    )
    #: ISO 4217. Every amount of the workspace is in it: sums never mix currencies.
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    #: The composer's default for "count clicks with short links" on a new post.
    short_links_default = models.BooleanField(
        _("count clicks with short links by default"), default=False
    )

    class Meta:
        verbose_name = _("money settings")
        verbose_name_plural = _("money settings")

    def __str__(self) -> str:
        return f"{self.workspace} ({self.currency})"


class LeadSource(models.TextChoices):
    CSV = "csv", _("CSV import")
    CRM = "crm", _("CRM")
    MANUAL = "manual", _("Entered by hand")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New lead")
    QUALIFIED = "qualified", _("Qualified")
    WON = "won", _("Deal won")
    LOST = "lost", _("Lost")


#: A lead's outcome is known (its closing date is set).
CLOSED = frozenset({LeadStatus.WON.value, LeadStatus.LOST.value})


class Lead(models.Model):
    """A lead that social media brought, and the deal it may become (its value and outcome).

    Recorded by hand, by CSV or by the CRM, always through ``actions.record_lead``, which is
    idempotent on (workspace, source, external id): the CRM sending the same deal again, or a
    CSV imported twice, updates the row instead of counting it twice.
    """

    VIEW_ACTION = "money.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="leads")
    source = models.CharField(_("source"), max_length=8, choices=LeadSource.choices)
    #: The CRM's or the file's id of the lead; blank for a lead entered by hand without one.
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    #: The deal's value (expected while open, actual once won); None: not known.
    value = models.DecimalField(
        _("value"), max_digits=MAX_DIGITS, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    channel = models.ForeignKey(
        Channel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel"),
    )
    campaign = models.ForeignKey(
        "publishing.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("campaign"),
    )
    post = models.ForeignKey(
        "publishing.Post",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("post"),
    )
    conversation = models.ForeignKey(
        "inbox.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("conversation"),
    )
    #: When the lead came in (the figures count it on this day).
    occurred_at = models.DateTimeField(_("came in on"), default=timezone.now)
    #: When the deal was won or lost.
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~Q(external_id=""),
                name="roi_lead_external_unique",
            )
        ]
        indexes = [models.Index(fields=["workspace", "occurred_at"], name="roi_lead_day")]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return self.name or self.external_id or f"#{self.pk}"


# --- short links ---------------------------------------------------------------------------


class ShortLink(models.Model):
    """One of the product's own short links: ``/l/<code>`` sends to ``target`` and counts.

    Made when a post that asks for short links goes out (``actions.short_link_for``), one per
    (publication, target): the same link in the same publication always has the same code, so
    the preview, the check against the network's limits and the call all see the same text.
    The redirect only ever sends to a target stored here: never an open redirect.
    """

    VIEW_ACTION = "analytics.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    #: Random, URL-safe, 12 characters (about 71 bits): not guessable, not enumerable.
    code = models.CharField(max_length=32, unique=True)
    target = models.URLField(_("target"), max_length=2000)
    publication = models.ForeignKey(
        "publishing.Publication",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    post = models.ForeignKey(
        "publishing.Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        "publishing.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "target"], name="roi_shortlink_per_publication"
            )
        ]
        verbose_name = _("short link")
        verbose_name_plural = _("short links")

    def __str__(self) -> str:
        return f"/l/{self.code}"


class LinkClicks(models.Model):
    """The clicks on one short link on one day (UTC): a counter, not a row per click."""

    VIEW_ACTION = "analytics.view"
    WORKSPACE_PATH = "link__workspace"
    objects = RestrictedQuerySet.as_manager()

    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="clicks")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "day"], name="roi_linkclicks_per_day")
        ]
        verbose_name = _("clicks on a short link")
        verbose_name_plural = _("clicks on short links")

    def __str__(self) -> str:
        return f"{self.link} {self.day}: {self.count}"


# --- paid promotion ------------------------------------------------------------------------


class SpendSource(models.TextChoices):
    CSV = "csv", _("CSV import")
    MANUAL = "manual", _("Entered by hand")


class Boost(models.Model):
    """A post promoted with money (a boost): its target group, budget, what it cost and what
    it brought, entered by hand on the post or imported from the ads manager's CSV export.

    Idempotent on (workspace, source, external id) like leads: the same export imported
    twice updates the rows.
    """

    VIEW_ACTION = "money.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("source"), max_length=8, choices=SpendSource.choices)
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    post = models.ForeignKey(
        "publishing.Post",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("post"),
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel"),
    )
    campaign = models.ForeignKey(
        "publishing.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("campaign"),
    )
    audience = models.CharField(_("target group"), max_length=300, blank=True)
    budget = models.DecimalField(
        _("budget"), max_digits=MAX_DIGITS, decimal_places=2, null=True, blank=True
    )
    spent = models.DecimalField(_("spent"), max_digits=MAX_DIGITS, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    impressions = models.PositiveIntegerField(_("impressions"), null=True, blank=True)
    clicks = models.PositiveIntegerField(_("clicks"), null=True, blank=True)
    leads = models.PositiveIntegerField(_("leads"), null=True, blank=True)
    start_on = models.DateField(_("from"))
    end_on = models.DateField(_("to"))
    recorded_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~Q(external_id=""),
                name="roi_boost_external_unique",
            )
        ]
        verbose_name = _("boost")
        verbose_name_plural = _("boosts")

    def __str__(self) -> str:
        return self.external_id or f"#{self.pk}"


# --- budgets ------------------------------------------------------------------------------


class Budget(models.Model):
    """An amount planned for a channel or a campaign (or both, or the whole workspace) over a
    period; the spent side is the boosts whose days fall in it (pro rata)."""

    VIEW_ACTION = "money.view"
    objects = RestrictedQuerySet.as_manager()

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel"),
    )
    campaign = models.ForeignKey(
        "publishing.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("campaign"),
    )
    start_on = models.DateField(_("from"))
    end_on = models.DateField(_("to"))
    planned = models.DecimalField(_("planned"), max_digits=MAX_DIGITS, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start_on", "id"]
        verbose_name = _("budget")
        verbose_name_plural = _("budgets")

    def __str__(self) -> str:
        return f"{self.planned} {self.currency} ({self.start_on}–{self.end_on})"
