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
