"""The money pages: leads and deals (by hand, by CSV, the template)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member

from . import actions, imports
from .forms import ImportForm, LeadForm
from .models import Lead, LeadSource, LeadStatus

PAGE = 100


def _zone(member: Member) -> ZoneInfo:
    return ZoneInfo(member.workspace.time_zone or "UTC")


def _leads_context(member: Member, **extra: Any) -> dict[str, Any]:
    leads = Lead.objects.visible_to(member).select_related("channel", "campaign")
    totals = leads.aggregate(
        n=Count("id"),
        won=Count("id", filter=Q(status=LeadStatus.WON)),
        won_value=Sum("value", filter=Q(status=LeadStatus.WON)),
        open_value=Sum("value", filter=Q(status__in=[LeadStatus.NEW, LeadStatus.QUALIFIED])),
    )
    may_record = can(member, "lead.record")
    context: dict[str, Any] = {
        "leads": leads[:PAGE],
        "more": max(0, (totals["n"] or 0) - PAGE),
        "totals": totals,
        "currency": actions.money_settings(member.workspace).currency,
        "may_record": may_record,
        "columns": imports.LEAD_COLUMNS,
        "statuses": LeadStatus.choices,
        "active_section": "analytics",
        "roi_tab": "leads",
    }
    if may_record:
        context["lead_form"] = LeadForm(
            member=member,
            initial={
                "status": LeadStatus.NEW,
                "occurred_on": timezone.localdate(timezone=_zone(member)),
            },
        )
        context["import_form"] = ImportForm()
    context.update(extra)
    return context


@require_safe
def leads_page(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "money.view")
    return render(request, "roi/leads.html", _leads_context(member))


def _moment(day: dt.date | None, zone: ZoneInfo) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=zone)


@require_POST
def lead_add(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "lead.record")
    form = LeadForm(request.POST, member=member)
    if form.is_valid():
        data = form.cleaned_data
        zone = _zone(member)
        channel = Channel.objects.get_for(member, pk=data["channel"]) if data["channel"] else None
        from portevoix.publishing.models import Campaign

        campaign = (
            Campaign.objects.get_for(member, pk=data["campaign"]) if data["campaign"] else None
        )
        try:
            result = actions.record_lead(
                member.workspace,
                by=member,
                source=LeadSource.MANUAL,
                external_id=data["external_id"],
                name=data["name"],
                status=data["status"],
                value=data["value"] or None,
                channel=channel,
                campaign=campaign,
                occurred_at=_moment(data["occurred_on"], zone),
                closed_at=_moment(data["closed_on"], zone),
                note=data["note"],
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if result.created:
                messages.success(request, _("Lead recorded."))
            elif result.changed:
                messages.success(request, _("This lead was already recorded; it is updated."))
            else:
                messages.info(request, _("This lead was already recorded as it is."))
            return redirect("roi_leads", ws=member.workspace.slug)
    return render(request, "roi/leads.html", _leads_context(member, lead_form=form), status=400)


def _import(
    request: HttpRequest,
    *,
    permission: str,
    importer: Callable[..., Any],
    page: str,
    template: str,
    context: Callable[..., dict[str, Any]],
) -> HttpResponse:
    """A CSV import (leads, paid promotion): checked only, or saved whole; the page again with
    its line-numbered report when a line is wrong."""
    member = _member(request)
    require(member, permission)
    form = ImportForm(request.POST, request.FILES)
    report = None
    if form.is_valid():
        report = importer(
            member.workspace,
            by=member,
            data=form.cleaned_data["file"].read(),
            dry_run=form.cleaned_data["dry_run"],
        )
        if report.saved:
            messages.success(
                request,
                _(
                    "%(lines)s line(s) imported: %(created)s new, %(updated)s updated, "
                    "%(unchanged)s unchanged."
                )
                % {
                    "lines": report.lines,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                },
            )
            return redirect(page, ws=member.workspace.slug)
    status = 200 if report is not None and report.ok else 400
    return render(
        request, template, context(member, import_form=form, report=report), status=status
    )


@require_POST
def lead_import(request: HttpRequest, ws: str) -> HttpResponse:
    return _import(
        request,
        permission="lead.record",
        importer=imports.import_leads,
        page="roi_leads",
        template="roi/leads.html",
        context=_leads_context,
    )


@require_safe
def lead_template(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "money.view")
    response = HttpResponse(
        imports.lead_template(member.workspace), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="leads-template.csv"'
    return response


@require_POST
def lead_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    member = _member(request)
    lead = Lead.objects.get_for(member, pk=pk)  # 404 for who sees no money
    require(member, "lead.record")
    if request.POST.get("confirm") != "1":
        # Only the page's own button deletes (it says so in its ``confirm`` field).
        return redirect("roi_leads", ws=member.workspace.slug)
    try:
        actions.delete_lead(lead, by=member)
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Lead deleted."))
    return redirect(reverse("roi_leads", kwargs={"ws": member.workspace.slug}))


@require_safe
def short_link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """``/l/<code>``: a way in without a login (docs/ways-in.md). Sends to the target stored
    for the code, and only there; counts the click unless a robot or a prefetch says it is one.
    """
    from django.http import Http404, HttpResponseRedirect

    from . import shortlinks
    from .models import ShortLink

    if not shortlinks.CODE.match(code):
        raise Http404("not found")
    link = (
        ShortLink.objects.select_related("workspace")
        .filter(code=code, workspace__archived_at__isnull=True)
        .first()
    )
    if link is None:
        raise Http404("not found")
    if not shortlinks.is_robot(request):
        shortlinks.count_click(link)
    response = HttpResponseRedirect(link.target)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- paid promotion -------------------------------------------------------------------------


def _organic(post_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each post's own (unpaid) results: the latest measure of each of its publications."""
    from portevoix.publishing.models import PublicationMetrics

    found: dict[int, dict[str, int]] = {}
    seen: set[int] = set()
    rows = (
        PublicationMetrics.objects.filter(publication__post_id__in=post_ids)
        .order_by("publication_id", "-taken_at")
        .values("publication_id", "publication__post_id", "impressions", "clicks")
    )
    for row in rows:
        if row["publication_id"] in seen:
            continue
        seen.add(row["publication_id"])
        totals = found.setdefault(row["publication__post_id"], {"impressions": 0, "clicks": 0})
        totals["impressions"] += row["impressions"] or 0
        totals["clicks"] += row["clicks"] or 0
    return found


def _spend_context(member: Member, **extra: Any) -> dict[str, Any]:
    from . import figures
    from .forms import BoostForm
    from .models import Boost

    boosts = list(
        Boost.objects.visible_to(member).select_related("post", "channel", "campaign")[:PAGE]
    )
    organic = _organic([b.post_id for b in boosts if b.post_id])
    for boost in boosts:
        boost.organic = organic.get(boost.post_id or 0)
    may_spend = can(member, "money.spend")
    today = timezone.localdate(timezone=_zone(member))
    context: dict[str, Any] = {
        "boosts": boosts,
        "currency": actions.money_settings(member.workspace).currency,
        "may_spend": may_spend,
        "columns": imports.SPEND_COLUMNS,
        "over_budgets": [
            r for r in figures.budget_rows(member.workspace, today, current_only=True) if r["over"]
        ],
        "active_section": "analytics",
        "roi_tab": "spend",
    }
    if may_spend:
        context["boost_form"] = BoostForm(member=member, initial={"start_on": today})
        context["import_form"] = ImportForm()
    context.update(extra)
    return context


@require_safe
def spend_page(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "money.view")
    return render(request, "roi/spend.html", _spend_context(member))


def _boost_from_form(member: Member, form: Any, boost: Any = None) -> Any:
    """Record the form's boost; None with the refusal put on the form."""
    from portevoix.publishing.models import Campaign, Post

    data = form.cleaned_data
    try:
        return actions.record_boost(
            member.workspace,
            by=member,
            post=Post.objects.get_for(member, pk=data["post"]) if data["post"] else None,
            channel=Channel.objects.get_for(member, pk=data["channel"])
            if data["channel"]
            else None,
            campaign=Campaign.objects.get_for(member, pk=data["campaign"])
            if data["campaign"]
            else None,
            audience=data["audience"],
            budget=data["budget"] or None,
            spent=data["spent"],
            impressions=data["impressions"],
            clicks=data["clicks"],
            leads=data["leads"],
            start_on=data["start_on"],
            end_on=data["end_on"],
            boost=boost,
        )
    except ActionRefused as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@require_POST
def spend_add(request: HttpRequest, ws: str) -> HttpResponse:
    from .forms import BoostForm

    member = _member(request)
    require(member, "money.spend")
    form = BoostForm(request.POST, member=member)
    if form.is_valid() and _boost_from_form(member, form) is not None:
        messages.success(request, _("Paid promotion recorded."))
        return redirect("roi_spend", ws=member.workspace.slug)
    return render(request, "roi/spend.html", _spend_context(member, boost_form=form), status=400)


def spend_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    from .forms import BoostForm
    from .models import Boost

    member = _member(request)
    boost = Boost.objects.get_for(member, pk=pk)
    require(member, "money.spend")
    if request.method == "POST":
        form = BoostForm(request.POST, member=member)
        if form.is_valid() and _boost_from_form(member, form, boost) is not None:
            messages.success(request, _("Paid promotion updated."))
            return redirect("roi_spend", ws=member.workspace.slug)
        status = 400
    elif request.method in ("GET", "HEAD"):
        form = BoostForm(
            member=member,
            initial={
                "post": boost.post_id,
                "channel": boost.channel_id,
                "campaign": boost.campaign_id,
                "audience": boost.audience,
                "budget": boost.budget if boost.budget is not None else "",
                "spent": boost.spent,
                "impressions": boost.impressions,
                "clicks": boost.clicks,
                "leads": boost.leads,
                "start_on": boost.start_on,
                "end_on": boost.end_on,
            },
        )
        status = 200
    else:
        from django.http import HttpResponseNotAllowed

        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "roi/edit.html",
        {
            "form": form,
            "title": _("Edit a paid promotion"),
            "action": reverse("roi_spend_edit", kwargs={"ws": ws, "pk": boost.pk}),
            "back": reverse("roi_spend", kwargs={"ws": ws}),
            "active_section": "analytics",
            "roi_tab": "spend",
        },
        status=status,
    )


@require_POST
def spend_import(request: HttpRequest, ws: str) -> HttpResponse:
    return _import(
        request,
        permission="money.spend",
        importer=imports.import_spend,
        page="roi_spend",
        template="roi/spend.html",
        context=_spend_context,
    )


@require_safe
def spend_template(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "money.view")
    response = HttpResponse(
        imports.spend_template(member.workspace), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="paid-promotion-template.csv"'
    return response


@require_POST
def spend_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    from .models import Boost

    member = _member(request)
    boost = Boost.objects.get_for(member, pk=pk)
    require(member, "money.spend")
    if request.POST.get("confirm") == "1":
        actions.delete_boost(boost, by=member)
        messages.success(request, _("Paid promotion deleted."))
    return redirect("roi_spend", ws=member.workspace.slug)


# --- budgets --------------------------------------------------------------------------------


def _budgets_context(member: Member, **extra: Any) -> dict[str, Any]:
    from . import figures
    from .forms import BudgetForm

    today = timezone.localdate(timezone=_zone(member))
    may_plan = can(member, "budget.manage")
    context: dict[str, Any] = {
        "budgets": figures.budget_rows(member.workspace, today),
        "currency": actions.money_settings(member.workspace).currency,
        "may_plan": may_plan,
        "active_section": "analytics",
        "roi_tab": "budgets",
    }
    if may_plan:
        first = today.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        context["budget_form"] = BudgetForm(
            member=member, initial={"start_on": first, "end_on": last}
        )
    context.update(extra)
    return context


@require_safe
def budgets_page(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "money.view")
    return render(request, "roi/budgets.html", _budgets_context(member))


@require_POST
def budget_add(request: HttpRequest, ws: str) -> HttpResponse:
    from portevoix.publishing.models import Campaign

    from .forms import BudgetForm

    member = _member(request)
    require(member, "budget.manage")
    form = BudgetForm(request.POST, member=member)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.set_budget(
                member.workspace,
                by=member,
                planned=data["planned"],
                start_on=data["start_on"],
                end_on=data["end_on"],
                channel=Channel.objects.get_for(member, pk=data["channel"])
                if data["channel"]
                else None,
                campaign=Campaign.objects.get_for(member, pk=data["campaign"])
                if data["campaign"]
                else None,
                note=data["note"],
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Budget planned."))
            if request.POST.get("next") == "strategy":
                return redirect(reverse("strategy", kwargs={"ws": ws}) + "#budget")
            return redirect("roi_budgets", ws=ws)
    return render(
        request, "roi/budgets.html", _budgets_context(member, budget_form=form), status=400
    )


@require_POST
def budget_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    from .models import Budget

    member = _member(request)
    budget = Budget.objects.get_for(member, pk=pk)
    require(member, "budget.manage")
    if request.POST.get("confirm") == "1":
        actions.delete_budget(budget, by=member)
        messages.success(request, _("Budget deleted."))
    return redirect("roi_budgets", ws=member.workspace.slug)


# --- settings and editing a lead -----------------------------------------------------------


def money_settings_page(request: HttpRequest, ws: str) -> HttpResponse:
    from django.http import HttpResponseNotAllowed

    from .forms import MoneySettingsForm

    member = _member(request)
    require(member, "money.view")
    current = actions.money_settings(member.workspace)
    may_change = can(member, "budget.manage")
    status = 200
    if request.method == "POST":
        require(member, "budget.manage")
        form = MoneySettingsForm(request.POST)
        if form.is_valid():
            try:
                actions.update_money_settings(
                    member.workspace,
                    by=member,
                    currency=form.cleaned_data["currency"],
                    short_links_default=form.cleaned_data["short_links_default"],
                )
            except ActionRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Money settings saved."))
                return redirect("roi_settings", ws=ws)
        status = 400
    elif request.method in ("GET", "HEAD"):
        form = MoneySettingsForm(
            initial={
                "currency": current.currency,
                "short_links_default": current.short_links_default,
            }
        )
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    if not may_change:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "roi/settings.html",
        {
            "form": form,
            "may_change": may_change,
            "active_section": "analytics",
            "roi_tab": "settings",
        },
        status=status,
    )


def lead_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    from django.http import HttpResponseNotAllowed

    from portevoix.publishing.models import Campaign

    member = _member(request)
    lead = Lead.objects.get_for(member, pk=pk)
    require(member, "lead.record")
    zone = _zone(member)
    status = 200
    if request.method == "POST":
        form = LeadForm(request.POST, member=member)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.update_lead(
                    lead,
                    by=member,
                    name=data["name"],
                    status=data["status"],
                    value=data["value"] or None,
                    channel=Channel.objects.get_for(member, pk=data["channel"])
                    if data["channel"]
                    else None,
                    campaign=Campaign.objects.get_for(member, pk=data["campaign"])
                    if data["campaign"]
                    else None,
                    occurred_at=_moment(data["occurred_on"], zone),
                    closed_at=_moment(data["closed_on"], zone),
                    note=data["note"],
                )
            except ActionRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Lead updated."))
                return redirect("roi_leads", ws=ws)
        status = 400
    elif request.method in ("GET", "HEAD"):
        form = LeadForm(
            member=member,
            initial={
                "name": lead.name,
                "status": lead.status,
                "value": lead.value if lead.value is not None else "",
                "channel": lead.channel_id,
                "campaign": lead.campaign_id,
                "occurred_on": lead.occurred_at.astimezone(zone).date(),
                "closed_on": lead.closed_at.astimezone(zone).date() if lead.closed_at else None,
                "external_id": lead.external_id,
                "note": lead.note,
            },
        )
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    form.fields["external_id"].disabled = True
    return render(
        request,
        "roi/edit.html",
        {
            "form": form,
            "title": _("Edit a lead"),
            "action": reverse("roi_lead_edit", kwargs={"ws": ws, "pk": lead.pk}),
            "back": reverse("roi_leads", kwargs={"ws": ws}),
            "active_section": "analytics",
            "roi_tab": "leads",
        },
        status=status,
    )
