"""The scheduled reports page: the reports, their history with the PDF (in each language) and
the CSV of every period, the form to make one, "send now" and a preview."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member

from . import actions, reports
from .models import REPORT_SECTIONS, ReportFile, ReportFrequency, ReportRun, ScheduledReport


def _eligible(member: Member) -> QuerySet[Member]:
    """The members who may receive a report: active, and allowed to see analytics."""
    rows = Member.objects.filter(workspace=member.workspace, is_active=True).select_related("user")
    return rows.filter(pk__in=[m.pk for m in rows if can(m, "analytics.view")]).order_by(
        "user__full_name", "user__email"
    )


def _member_label(member: Member) -> str:
    return f"{member.user.display_name} ({member.get_role_display()})"


class ReportForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    frequency = forms.ChoiceField(
        label=gettext_lazy("Every"), choices=ReportFrequency.choices, initial="weekly"
    )
    sections = forms.MultipleChoiceField(
        label=gettext_lazy("Parts of the dashboard"),
        choices=(),
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Channels (none chosen: every channel)"),
        queryset=Channel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipients = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Recipients"),
        queryset=Member.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": gettext_lazy("Only members who see analytics can receive a report.")
        },
    )

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sections = self.fields["sections"]
        assert isinstance(sections, forms.MultipleChoiceField)
        sections.choices = [(code, str(label)) for code, label in REPORT_SECTIONS.items()]
        channels = self.fields["channels"]
        assert isinstance(channels, forms.ModelMultipleChoiceField)
        channels.queryset = Channel.objects.visible_to(member).order_by("name")
        recipients = self.fields["recipients"]
        assert isinstance(recipients, forms.ModelMultipleChoiceField)
        recipients.queryset = _eligible(member)
        recipients.label_from_instance = _member_label  # type: ignore[method-assign,assignment]


def _page(request: HttpRequest, member: Member, form: ReportForm | None = None) -> HttpResponse:
    rows = (
        ScheduledReport.objects.visible_to(member)
        .prefetch_related("channels", "recipients__user")
        .select_related("created_by__user")
    )
    listing = []
    for report in rows:
        runs = list(report.runs.prefetch_related("files").order_by("-period_end", "-id")[:24])
        listing.append(
            {
                "report": report,
                "sections": [
                    str(REPORT_SECTIONS[c]) for c in report.sections if c in REPORT_SECTIONS
                ],
                "may_read": reports.may_read(member, report),
                "runs": [
                    {"run": run, "languages": sorted(f.language for f in run.files.all())}
                    for run in runs
                ],
                "next": reports.period_of(
                    report.frequency,
                    timezone.now().astimezone(reports.zone_of(report.workspace)).date(),
                    reports.zone_of(report.workspace),
                ),
            }
        )
    can_write = can(member, "analytics.report")
    if form is None and can_write:
        form = ReportForm(member=member, initial={"sections": ["overview", "daily", "heatmap"]})
    return render(
        request,
        "analytics/reports.html",
        {
            "active_section": "analytics",
            "listing": listing,
            "form": form,
            "can_write": can_write,
            "language_names": dict(_languages()),
        },
        status=400 if form is not None and form.errors else 200,
    )


def _languages() -> list[tuple[str, str]]:
    from django.conf import settings

    return [(code, str(name)) for code, name in settings.LANGUAGES]


@require_safe
def reports_page(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.view")
    return _page(request, member)


@require_POST
def report_create(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.report")
    form = ReportForm(request.POST, member=member)
    if form.is_valid():
        try:
            report = actions.create_report(
                member.workspace,
                by=member,
                name=form.cleaned_data["name"],
                frequency=form.cleaned_data["frequency"],
                sections=form.cleaned_data["sections"],
                channels=list(form.cleaned_data["channels"]),
                recipients=list(form.cleaned_data["recipients"]),
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Report “%(name)s” created: it is sent at the end of each period.")
                % {"name": report.name},
            )
            return redirect(
                reverse("analytics_reports", kwargs={"ws": ws}) + f"#report-{report.pk}"
            )
    return _page(request, member, form)


def _report(member: Member, pk: int) -> ScheduledReport:
    report: ScheduledReport = ScheduledReport.objects.get_for(member, pk=pk)
    return report


@require_POST
def report_toggle(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.report")
    report = _report(member, pk)
    actions.set_report_active(report, by=member, active=not report.active)
    messages.success(request, _("Report resumed.") if report.active else _("Report paused."))
    return redirect(reverse("analytics_reports", kwargs={"ws": ws}) + f"#report-{report.pk}")


@require_POST
def report_send(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.report")
    report = _report(member, pk)
    run, created = actions.send_report_now(report, by=member)
    period = {"start": run.period_start, "end": run.period_end}
    if created:
        messages.success(
            request,
            _("The report of %(start)s → %(end)s is being made and sent.") % period,
        )
    else:
        messages.info(
            request,
            _(
                "The report of %(start)s → %(end)s was already made: it is not sent twice. "
                "Download it from the history."
            )
            % period,
        )
    return redirect(reverse("analytics_reports", kwargs={"ws": ws}) + f"#report-{report.pk}")


def _pdf_response(content: bytes, name: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    how = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{how}; filename="{name}"'
    return response


@require_safe
def report_preview(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """The report of the last finished period as it would be sent, in the reader's language;
    nothing is stored or sent."""
    member = _member(request)
    require(member, "analytics.report")
    report = _report(member, pk)
    if not reports.may_read(member, report):
        raise Http404("not found")
    period = reports.last_finished(report, timezone.now())
    content = reports.render_pdf(report, period, language=get_language() or "fr")
    name = f"{slugify(report.name) or 'report'}-preview.pdf"
    return _pdf_response(content, name, inline=True)


def _run(member: Member, pk: int) -> ReportRun:
    run: ReportRun = ReportRun.objects.get_for(member, pk=pk)
    if not reports.may_read(member, run.report):
        raise Http404("not found")
    return run


def _file_name(run: ReportRun, ext: str) -> str:
    return (
        f"{slugify(run.report.name) or 'report'}-{run.period_start:%Y%m%d}-"
        f"{run.period_end:%Y%m%d}.{ext}"
    )


@require_safe
def run_pdf(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.view")
    run = _run(member, pk)
    files = {f.language: f for f in ReportFile.objects.filter(run=run)}
    language = request.GET.get("language") or get_language() or ""
    chosen = files.get(language) or next(iter(files.values()), None)
    if chosen is None:
        raise Http404("not found")
    return _pdf_response(bytes(chosen.pdf), _file_name(run, "pdf"))


@require_safe
def run_csv(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.view")
    run = _run(member, pk)
    if run.produced_at is None:
        raise Http404("not found")
    response = HttpResponse(run.csv, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(run, "csv")}"'
    return response
