"""Every change to money: leads and deals, the workspace's money settings.

Each action checks permission, validates, writes in one transaction with its audit entry.
``record_lead`` is the one way a lead is written, from the pages, the CSV import and the
CRM's webhook (the API); it is idempotent on (workspace, source, external id).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.channels.models import Channel
from portevoix.core import audit
from portevoix.core.actions import ActionRefused, _same_workspace
from portevoix.core.models import Member, Workspace
from portevoix.core.permissions import require

from .models import (
    CLOSED,
    Boost,
    Budget,
    Lead,
    LeadSource,
    LeadStatus,
    MoneySettings,
    SpendSource,
)

if TYPE_CHECKING:
    from portevoix.inbox.models import Conversation
    from portevoix.publishing.models import Campaign, Post

AUDIT_LABELS = {
    "lead.record": gettext_noop("Lead recorded"),
    "lead.update": gettext_noop("Lead updated"),
    "lead.delete": gettext_noop("Lead deleted"),
    "lead.import": gettext_noop("Leads imported from a CSV file"),
    "money.settings": gettext_noop("Money settings changed"),
    "boost.record": gettext_noop("Paid promotion recorded"),
    "boost.update": gettext_noop("Paid promotion updated"),
    "boost.delete": gettext_noop("Paid promotion deleted"),
    "boost.import": gettext_noop("Paid promotion imported from a CSV file"),
    "budget.set": gettext_noop("Budget planned"),
    "budget.update": gettext_noop("Budget changed"),
    "budget.delete": gettext_noop("Budget deleted"),
}

#: The largest amount a field takes (14 digits, 2 after the point).
MAX_AMOUNT = Decimal("999999999999.99")
CURRENCY = re.compile(r"^[A-Z]{3}$")
LEAD_FIELDS = [
    "source",
    "external_id",
    "name",
    "status",
    "value",
    "currency",
    "channel",
    "campaign",
    "post",
    "conversation",
    "occurred_at",
    "closed_at",
    "note",
]


def money_settings(workspace: Workspace) -> MoneySettings:
    """The workspace's money settings (made with their defaults the first time)."""
    found: MoneySettings | None = getattr(workspace, "_money_settings_cache", None)
    if found is None:
        found, _created = MoneySettings.objects.get_or_create(workspace=workspace)
        workspace._money_settings_cache = found  # type: ignore[attr-defined]
    return found


def parse_amount(
    text: str | Decimal | int | float | None, *, field: str = "value"
) -> Decimal | None:
    """An amount as people type it (``1234.5``, ``1 234,50``, ``1,234.50``); None if blank.

    Refused: negative amounts, more than two decimals, more than the largest amount."""
    if text is None:
        return None
    if isinstance(text, Decimal | int | float):
        raw = str(text)
    else:
        raw = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
        if not raw:
            return None
        if "," in raw and "." in raw:
            # The last separator is the decimal one: 1,234.50 or 1.234,50.
            if raw.rfind(",") > raw.rfind("."):
                raw = raw.replace(".", "").replace(",", ".")
            else:
                raw = raw.replace(",", "")
        else:
            raw = raw.replace(",", ".")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ActionRefused(
            _("“%(value)s” is not an amount (write 1234.50).") % {"value": text}, field=field
        ) from None
    if not amount.is_finite():
        raise ActionRefused(_("Enter an amount."), field=field)
    if amount < 0:
        raise ActionRefused(_("An amount cannot be negative."), field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise ActionRefused(_("An amount has at most two decimals."), field=field)
    if amount > MAX_AMOUNT:
        raise ActionRefused(_("This amount is too large."), field=field)
    return amount.quantize(Decimal("0.01"))


def check_currency(workspace: Workspace, currency: str, *, field: str = "currency") -> str:
    """The workspace's currency, or a refusal: sums never mix currencies."""
    expected = money_settings(workspace).currency
    code = (currency or "").strip().upper()
    if not code:
        return expected
    if not CURRENCY.match(code):
        raise ActionRefused(
            _("Write the currency as its three-letter code (EUR, USD...)."), field=field
        )
    if code != expected:
        raise ActionRefused(
            _(
                "This workspace counts money in %(expected)s; convert %(code)s amounts before "
                "recording them."
            )
            % {"expected": expected, "code": code},
            field=field,
        )
    return code


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        raise ActionRefused(_("Give the date with its time zone."), field=field)
    # Stored and compared in UTC: the same instant sent again is no change.
    return value.astimezone(dt.UTC) if value is not None else None


@dataclass(frozen=True)
class LeadResult:
    lead: Lead
    #: A new row (False: the same source and external id were already known and updated).
    created: bool
    #: Something changed (False: the call repeated what was already recorded).
    changed: bool


def _check_links(
    workspace: Workspace,
    *,
    channel: Channel | None,
    campaign: Campaign | None,
    post: Post | None,
    conversation: Conversation | None,
) -> None:
    for field, obj in (
        ("channel", channel),
        ("campaign", campaign),
        ("post", post),
        ("conversation", conversation),
    ):
        if obj is not None and obj.workspace_id != workspace.pk:
            raise ActionRefused(_("Choose one of this workspace’s."), field=field)


def record_lead(
    workspace: Workspace,
    *,
    by: Member | None,
    source: str,
    external_id: str = "",
    name: str | None = None,
    status: str | None = None,
    value: Decimal | str | int | None = None,
    currency: str | None = None,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
    post: Post | None = None,
    conversation: Conversation | None = None,
    occurred_at: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
    note: str | None = None,
) -> LeadResult:
    """Record a lead or a deal; the same (workspace, source, external id) again updates it.

    ``by`` is the member who records it (``lead.record``). ``by=None`` is for the CRM's
    webhook only (``source="crm"``), whose caller has checked the webhook's secret.

    On an update, an argument left out (``None``) keeps what is recorded: the CRM may send a
    deal's new status alone. What the lead came from is filled in when known: a post's
    campaign, a conversation's channel, the channel of a post that went out on one channel.
    Amounts are in the workspace's currency. A won or lost lead gets its closing date (now,
    unless given); reopening it clears it.
    """
    if by is not None:
        require(by, "lead.record")
        _same_workspace(by, workspace)
    elif source != LeadSource.CRM:
        raise ActionRefused(_("Only the CRM records leads without a member."), field="source")
    elif workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")
    if source not in LeadSource.values:
        raise ActionRefused(_("Choose where the lead comes from."), field="source")
    external_id = (external_id or "").strip()
    if len(external_id) > 200:
        raise ActionRefused(_("An external id has at most 200 characters."), field="external_id")
    if source != LeadSource.MANUAL and not external_id:
        raise ActionRefused(
            _("A lead from a CRM or a file needs its id there (it keeps it from counting twice)."),
            field="external_id",
        )
    if status is not None and status not in LeadStatus.values:
        raise ActionRefused(
            _("The status is one of: %(choices)s.") % {"choices": ", ".join(LeadStatus.values)},
            field="status",
        )
    if name is not None and len(name.strip()) > 200:
        raise ActionRefused(_("A name has at most 200 characters."), field="name")
    amount = parse_amount(value)
    code = check_currency(workspace, currency or "") if (currency or amount is not None) else ""
    occurred_at = _aware(occurred_at, "occurred_at")
    closed_at = _aware(closed_at, "closed_at")
    _check_links(
        workspace, channel=channel, campaign=campaign, post=post, conversation=conversation
    )
    # What the lead came from, when it says so through another link.
    if post is not None and campaign is None and post.campaign_id is not None:
        campaign = post.campaign
    if conversation is not None and channel is None:
        channel = conversation.channel
    if post is not None and channel is None:
        channels = list(post.publications.values_list("channel_id", flat=True).distinct())
        if len(channels) == 1:
            channel = Channel.objects.get(pk=channels[0])

    given: dict[str, Any] = {
        "name": name.strip() if name is not None else None,
        "status": status,
        "value": amount,
        "currency": code or None,
        "channel": channel,
        "campaign": campaign,
        "post": post,
        "conversation": conversation,
        "occurred_at": occurred_at,
        "closed_at": closed_at,
        "note": note.strip() if note is not None else None,
    }
    given = {k: v for k, v in given.items() if v is not None}
    with transaction.atomic():
        lead = _existing(workspace, source, external_id)
        created = lead is None
        if lead is None:
            lead = Lead(workspace=workspace, source=source, external_id=external_id, recorded_by=by)
            before = None
        else:
            before = audit.snapshot(lead, LEAD_FIELDS)
        for key, val in given.items():
            setattr(lead, key, val)
        if lead.value is not None and not lead.currency:
            lead.currency = money_settings(workspace).currency
        if lead.status in CLOSED:
            if lead.closed_at is None:
                lead.closed_at = timezone.now()
        elif "closed_at" not in given:
            lead.closed_at = None
        if lead.closed_at is not None and lead.closed_at < lead.occurred_at:
            raise ActionRefused(_("A deal closes after the lead came in."), field="closed_at")
        after = audit.snapshot(lead, LEAD_FIELDS)
        if before == after:
            return LeadResult(lead=lead, created=False, changed=False)
        lead.updated_at = timezone.now()
        if created:
            try:
                with transaction.atomic():
                    lead.save()
            except IntegrityError:
                # The same lead arrived twice at once (a webhook delivered twice): the other
                # call recorded it; apply this one as an update of it.
                return record_lead(
                    workspace, by=by, source=source, external_id=external_id, **given
                )
        else:
            lead.save()
        audit.record(
            "lead.record" if created else "lead.update",
            workspace=workspace,
            actor=by.user if by is not None else None,
            actor_label="" if by is not None else "crm",
            obj=lead,
            before=before,
            after=after,
        )
    return LeadResult(lead=lead, created=created, changed=True)


def _existing(workspace: Workspace, source: str, external_id: str) -> Lead | None:
    if not external_id:
        return None
    return (
        Lead.objects.select_for_update()
        .filter(workspace=workspace, source=source, external_id=external_id)
        .first()
    )


def update_lead(
    lead: Lead,
    *,
    by: Member,
    name: str,
    status: str,
    value: Decimal | str | None,
    channel: Channel | None,
    campaign: Campaign | None,
    occurred_at: dt.datetime | None,
    closed_at: dt.datetime | None,
    note: str,
) -> Lead:
    """Change a lead from its page: every field as given (blank clears it). Its source and
    external id stay: they are what keeps the CRM and the files from counting it twice."""
    require(by, "lead.record")
    workspace = lead.workspace
    _same_workspace(by, workspace)
    if status not in LeadStatus.values:
        raise ActionRefused(_("Choose a status."), field="status")
    if len(name.strip()) > 200:
        raise ActionRefused(_("A name has at most 200 characters."), field="name")
    amount = parse_amount(value)
    occurred = _aware(occurred_at, "occurred_on")
    closed = _aware(closed_at, "closed_on")
    _check_links(workspace, channel=channel, campaign=campaign, post=None, conversation=None)
    with transaction.atomic():
        row: Lead = Lead.objects.select_for_update().get(pk=lead.pk)
        before = audit.snapshot(row, LEAD_FIELDS)
        row.name = name.strip()
        row.status = status
        row.value = amount
        row.currency = money_settings(workspace).currency if amount is not None else ""
        row.channel = channel
        row.campaign = campaign
        row.occurred_at = occurred or row.occurred_at
        row.note = note.strip()
        if status in CLOSED:
            row.closed_at = closed or row.closed_at or timezone.now()
        else:
            row.closed_at = None
        if row.closed_at is not None and row.closed_at < row.occurred_at:
            raise ActionRefused(_("A deal closes after the lead came in."), field="closed_on")
        after = audit.snapshot(row, LEAD_FIELDS)
        if before != after:
            row.updated_at = timezone.now()
            row.save()
            audit.record(
                "lead.update",
                workspace=workspace,
                actor=by.user,
                obj=row,
                before=before,
                after=after,
            )
    return row


@transaction.atomic
def delete_lead(lead: Lead, *, by: Member) -> None:
    """Remove a lead recorded by mistake (the audit log keeps what it was)."""
    require(by, "lead.record")
    _same_workspace(by, lead.workspace)
    before = audit.snapshot(lead, LEAD_FIELDS)
    audit.record("lead.delete", workspace=lead.workspace, actor=by.user, obj=lead, before=before)
    lead.delete()


@transaction.atomic
def update_money_settings(
    workspace: Workspace, *, by: Member, currency: str, short_links_default: bool
) -> MoneySettings:
    """The workspace's currency (while no amount is recorded) and the short-link default."""
    require(by, "budget.manage")
    _same_workspace(by, workspace)
    settings: MoneySettings = MoneySettings.objects.select_for_update().get(
        pk=money_settings(workspace).pk
    )
    code = (currency or "").strip().upper()
    if not CURRENCY.match(code):
        raise ActionRefused(
            _("Write the currency as its three-letter code (EUR, USD...)."), field="currency"
        )
    if code != settings.currency and _has_amounts(workspace):
        raise ActionRefused(
            _("Amounts are already recorded in %(code)s: the currency can no longer change.")
            % {"code": settings.currency},
            field="currency",
        )
    before = audit.snapshot(settings, ["currency", "short_links_default"])
    settings.currency = code
    settings.short_links_default = bool(short_links_default)
    settings.save()
    workspace._money_settings_cache = settings  # type: ignore[attr-defined]
    audit.record(
        "money.settings",
        workspace=workspace,
        actor=by.user,
        obj=settings,
        before=before,
        after=audit.snapshot(settings, ["currency", "short_links_default"]),
    )
    return settings


def _has_amounts(workspace: Workspace) -> bool:
    return (
        Lead.objects.filter(workspace=workspace, value__isnull=False).exists()
        or Boost.objects.filter(workspace=workspace).exists()
        or Budget.objects.filter(workspace=workspace).exists()
    )


# --- paid promotion ------------------------------------------------------------------------

BOOST_FIELDS = [
    "source",
    "external_id",
    "post",
    "channel",
    "campaign",
    "audience",
    "budget",
    "spent",
    "currency",
    "impressions",
    "clicks",
    "leads",
    "start_on",
    "end_on",
]


@dataclass(frozen=True)
class BoostResult:
    boost: Boost
    created: bool
    changed: bool


def _count(value: int | str | None, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip().replace(" ", "").replace("\u00a0", ""))
    except ValueError:
        raise ActionRefused(_("Enter a whole number."), field=field) from None
    if number < 0:
        raise ActionRefused(_("A count cannot be negative."), field=field)
    if number > 2_000_000_000:
        raise ActionRefused(_("This number is too large."), field=field)
    return number


def record_boost(
    workspace: Workspace,
    *,
    by: Member,
    source: str = SpendSource.MANUAL,
    external_id: str = "",
    post: Post | None = None,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
    audience: str = "",
    budget: Decimal | str | int | None = None,
    spent: Decimal | str | int | None,
    currency: str = "",
    impressions: int | str | None = None,
    clicks: int | str | None = None,
    leads: int | str | None = None,
    start_on: dt.date,
    end_on: dt.date | None = None,
    boost: Boost | None = None,
) -> BoostResult:
    """Record what a paid promotion (a boosted post, an ad) cost and brought.

    ``boost`` given: edit that row. Otherwise idempotent on (workspace, source, external id)
    when an external id is given (an ads export imported twice updates its rows). The post,
    when given, fills in its campaign, and its channel when it went out on one channel only.
    """
    require(by, "money.spend")
    _same_workspace(by, workspace)
    if source not in SpendSource.values:
        raise ActionRefused(_("Choose where the figures come from."), field="source")
    external_id = (external_id or "").strip()
    if len(external_id) > 200:
        raise ActionRefused(_("An external id has at most 200 characters."), field="external_id")
    amount = parse_amount(spent, field="spent")
    if amount is None:
        raise ActionRefused(_("Enter what was spent (0 if nothing yet)."), field="spent")
    planned = parse_amount(budget, field="budget")
    code = check_currency(workspace, currency)
    end_on = end_on or start_on
    if end_on < start_on:
        raise ActionRefused(_("The end comes after the start."), field="end_on")
    if len(audience.strip()) > 300:
        raise ActionRefused(_("A target group has at most 300 characters."), field="audience")
    _check_links(workspace, channel=channel, campaign=campaign, post=post, conversation=None)
    if post is not None and campaign is None and post.campaign_id is not None:
        campaign = post.campaign
    if post is not None and channel is None:
        channels = list(post.publications.values_list("channel_id", flat=True).distinct())
        if len(channels) == 1:
            channel = Channel.objects.get(pk=channels[0])
    if post is None and channel is None and campaign is None:
        raise ActionRefused(
            _("Say what was promoted: a post, or at least its channel or campaign."),
            field="post",
        )
    values: dict[str, Any] = {
        "external_id": external_id,
        "post": post,
        "channel": channel,
        "campaign": campaign,
        "audience": audience.strip(),
        "budget": planned,
        "spent": amount,
        "currency": code,
        "impressions": _count(impressions, "impressions"),
        "clicks": _count(clicks, "clicks"),
        "leads": _count(leads, "leads"),
        "start_on": start_on,
        "end_on": end_on,
    }
    with transaction.atomic():
        if boost is not None:
            if boost.workspace_id != workspace.pk:
                raise ActionRefused(_("Choose one of this workspace’s."), field="post")
            row: Boost | None = Boost.objects.select_for_update().get(pk=boost.pk)
        elif external_id:
            row = (
                Boost.objects.select_for_update()
                .filter(workspace=workspace, source=source, external_id=external_id)
                .first()
            )
        else:
            row = None
        created = row is None
        if row is None:
            row = Boost(workspace=workspace, source=source, recorded_by=by)
            before = None
        else:
            before = audit.snapshot(row, BOOST_FIELDS)
        for key, val in values.items():
            setattr(row, key, val)
        after = audit.snapshot(row, BOOST_FIELDS)
        if before == after:
            return BoostResult(boost=row, created=False, changed=False)
        row.updated_at = timezone.now()
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise ActionRefused(
                _("Another paid promotion already has this external id."), field="external_id"
            ) from None
        audit.record(
            "boost.record" if created else "boost.update",
            workspace=workspace,
            actor=by.user,
            obj=row,
            before=before,
            after=after,
        )
    return BoostResult(boost=row, created=created, changed=True)


@transaction.atomic
def delete_boost(boost: Boost, *, by: Member) -> None:
    require(by, "money.spend")
    _same_workspace(by, boost.workspace)
    before = audit.snapshot(boost, BOOST_FIELDS)
    audit.record("boost.delete", workspace=boost.workspace, actor=by.user, obj=boost, before=before)
    boost.delete()


# --- budgets --------------------------------------------------------------------------------

BUDGET_FIELDS = ["channel", "campaign", "start_on", "end_on", "planned", "currency", "note"]


def set_budget(
    workspace: Workspace,
    *,
    by: Member,
    planned: Decimal | str | int | None,
    start_on: dt.date,
    end_on: dt.date,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
    note: str = "",
    budget: Budget | None = None,
) -> Budget:
    """Plan an amount for a channel, a campaign, both, or the whole workspace (neither), over
    ``[start_on, end_on]``; ``budget`` given: change that one."""
    require(by, "budget.manage")
    _same_workspace(by, workspace)
    amount = parse_amount(planned, field="planned")
    if amount is None:
        raise ActionRefused(_("Enter the planned amount."), field="planned")
    if end_on < start_on:
        raise ActionRefused(_("The end comes after the start."), field="end_on")
    if (end_on - start_on).days > 366 * 5:
        raise ActionRefused(_("A budget covers five years at most."), field="end_on")
    if len(note.strip()) > 300:
        raise ActionRefused(_("A note has at most 300 characters."), field="note")
    _check_links(workspace, channel=channel, campaign=campaign, post=None, conversation=None)
    with transaction.atomic():
        if budget is not None:
            if budget.workspace_id != workspace.pk:
                raise ActionRefused(_("Choose one of this workspace’s."), field="planned")
            row: Budget = Budget.objects.select_for_update().get(pk=budget.pk)
            before = audit.snapshot(row, BUDGET_FIELDS)
        else:
            row = Budget(workspace=workspace)
            before = None
        row.channel = channel
        row.campaign = campaign
        row.start_on = start_on
        row.end_on = end_on
        row.planned = amount
        row.currency = money_settings(workspace).currency
        row.note = note.strip()
        row.save()
        audit.record(
            "budget.set" if before is None else "budget.update",
            workspace=workspace,
            actor=by.user,
            obj=row,
            before=before,
            after=audit.snapshot(row, BUDGET_FIELDS),
        )
    return row


@transaction.atomic
def delete_budget(budget: Budget, *, by: Member) -> None:
    require(by, "budget.manage")
    _same_workspace(by, budget.workspace)
    before = audit.snapshot(budget, BUDGET_FIELDS)
    audit.record(
        "budget.delete", workspace=budget.workspace, actor=by.user, obj=budget, before=before
    )
    budget.delete()
