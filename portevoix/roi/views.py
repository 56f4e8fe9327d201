"""The money pages: leads and deals (by hand, by CSV, the template)."""

from __future__ import annotations

import datetime as dt
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


@require_POST
def lead_import(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "lead.record")
    form = ImportForm(request.POST, request.FILES)
    report = None
    if form.is_valid():
        report = imports.import_leads(
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
            return redirect("roi_leads", ws=member.workspace.slug)
    status = 200 if report is not None and report.ok else 400
    return render(
        request,
        "roi/leads.html",
        _leads_context(member, import_form=form, report=report),
        status=status,
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
