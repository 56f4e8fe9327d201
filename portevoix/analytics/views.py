"""The analytics page: key figures against the previous period, charts with their data tables
and CSV files, the best time to post, post types and frequency, campaigns, webcare and
approval waits; insights written on the charts; suggested slots taken into the plan."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member
from portevoix.publishing.models import Publication, PublicationStates
from portevoix.reports import charts

from . import actions, dashboard, experiments, goals, kpis
from .actions import CHARTS
from .models import Experiment, ExperimentMetric, Insight

TYPE_LABELS = {
    "image": gettext_lazy("Image"),
    "video": gettext_lazy("Video"),
    "link": gettext_lazy("Link"),
    "text": gettext_lazy("Text"),
}
METRIC_LABELS = {
    "impressions": gettext_lazy("Impressions"),
    "reach": gettext_lazy("Reach"),
    "engagements": gettext_lazy("Engagements"),
    "engagement_rate": gettext_lazy("Engagement rate"),
    "clicks": gettext_lazy("Clicks"),
    "video_views": gettext_lazy("Video views"),
    "posts_published": gettext_lazy("Posts published"),
    "followers": gettext_lazy("Followers"),
    "follower_growth": gettext_lazy("Follower growth"),
    "profile_visits": gettext_lazy("Profile visits"),
}
WEEKDAYS = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)


def _fixed(value: float, places: int) -> str:
    """``value`` with ``places`` decimals, rounded: Django's ``number_format`` cuts a float's
    decimals off (55.56 would read 55,5 and 59.99 minutes 59)."""
    return formats.number_format(round(value, places), decimal_pos=places, use_l10n=True)


def _number(value: float | None, *, rate: bool = False) -> str:
    """A figure as people read it: thousands grouped, a rate in per cent; "—" for no data."""
    if value is None:
        return "—"
    if rate:
        return _fixed(100 * value, 1) + "\u00a0%"
    return formats.number_format(round(value), use_l10n=True, force_grouping=True)


class FilterForm(forms.Form):
    channel = forms.IntegerField(
        label=gettext_lazy("Channel"), required=False, min_value=1, max_value=2**63 - 1
    )
    start = forms.DateField(label=gettext_lazy("From"), required=False)
    end = forms.DateField(label=gettext_lazy("To"), required=False)
    days = forms.IntegerField(required=False)


class InsightForm(forms.Form):
    chart = forms.ChoiceField(label=gettext_lazy("Chart"), choices=())
    text = forms.CharField(
        label=gettext_lazy("Insight"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=actions.MAX_INSIGHT,
    )
    channel = forms.IntegerField(required=False, widget=forms.HiddenInput)
    start = forms.DateField(widget=forms.HiddenInput)
    end = forms.DateField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["chart"]).choices = [
            (k, _(v)) for k, v in CHARTS.items()
        ]


class ExperimentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    variant_a = forms.TypedChoiceField(label=gettext_lazy("Variant A"), coerce=int, choices=())
    variant_b = forms.TypedChoiceField(label=gettext_lazy("Variant B"), coerce=int, choices=())
    metric = forms.ChoiceField(label=gettext_lazy("Metric"), choices=ExperimentMetric.choices)

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        zone = ZoneInfo(member.workspace.time_zone or "UTC")
        candidates = (
            Publication.objects.visible_to(member)
            .filter(
                state__in=[PublicationStates.published.name, PublicationStates.scheduled.name],
                scheduled_at__gte=now - dt.timedelta(days=60),
                scheduled_at__lte=now + dt.timedelta(days=30),
            )
            .select_related("channel", "post")
            .order_by("-scheduled_at")[:200]
        )
        choices = []
        for p in candidates:
            when = (p.published_at or p.scheduled_at).astimezone(zone)
            label = f"{p.channel.name} · {when:%d/%m %H:%M} · {(p.text or p.post.text)[:50]}"
            choices.append((p.pk, label))
        cast(forms.ChoiceField, self.fields["variant_a"]).choices = choices
        cast(forms.ChoiceField, self.fields["variant_b"]).choices = choices


class Filters:
    """The page's filters, read from the query string; ``error`` says what was refused."""

    def __init__(
        self, request: HttpRequest, member: Member, params: QueryDict | None = None
    ) -> None:
        workspace = member.workspace
        self.zone = ZoneInfo(workspace.time_zone or "UTC")
        today = timezone.now().astimezone(self.zone).date()
        self.error = ""
        self.channels_all: QuerySet[Channel] = Channel.objects.visible_to(member).order_by("name")
        form = FilterForm(request.GET if params is None else params)
        data = form.cleaned_data if form.is_valid() else {}
        if not form.is_valid():
            self.error = _("The filters could not be read; the last 30 days are shown.")
        self.channel: Channel | None = None
        if data.get("channel"):
            self.channel = self.channels_all.filter(pk=data["channel"]).first()
            if self.channel is None:
                self.error = _("There is no such channel; every channel is shown.")
        start, end = data.get("start"), data.get("end")
        days = data.get("days")
        if start and end:
            if end < start:
                self.error = _("The period ends before it starts; the last 30 days are shown.")
                start = end = None
            elif (end - start).days >= dashboard.MAX_DAYS:
                self.error = _("A period is at most a year; the last 30 days are shown.")
                start = end = None
        if start and end:
            self.period = dashboard.Period(start, end, self.zone)
            self.days = None
        else:
            self.days = days if days in dashboard.PERIODS else 30
            self.period = dashboard.last_days(self.days, self.zone, today)
        self.channels = (
            self.channels_all.filter(pk=self.channel.pk) if self.channel else self.channels_all
        )
        #: Every channel of the workspace: its own rollups answer (see dashboard.daily).
        self.whole = workspace if self.channel is None else None

    def query(self, **extra: Any) -> str:
        params = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        if self.channel:
            params["channel"] = str(self.channel.pk)
        params.update(extra)
        from django.utils.http import urlencode

        return urlencode(params)

    @property
    def heat_zone(self) -> ZoneInfo:
        return self.channel.audience_zone if self.channel else self.zone


def _chart_rows(chart: str, filters: Filters, member: Member) -> list[dict[str, Any]]:
    period = filters.period
    if chart in ("daily", "followers"):
        rows = dashboard.daily(filters.channels, period, workspace=filters.whole)
        previous = dashboard.daily(filters.channels, period.previous(), workspace=filters.whole)
        for row, before in zip(rows, previous, strict=True):
            row["previous_day"] = before["day"]
            row["previous_impressions"] = before["impressions"]
            row["previous_engagements"] = before["engagements"]
            row["previous_followers"] = before["followers"]
        return rows
    if chart == "overview":
        return dashboard.key_figures(member.workspace, filters.channel, period)
    if chart == "goals":
        rows = goals.csv_rows(member.workspace)
        if not can(member, "money.view"):
            # A deal-value KPI is money: its figures stay with who sees money.
            for row in rows:
                if row["metric"] in kpis.MONEY_METRICS:
                    row.update(value=None, expected_by_now=None, target=None)
        return rows
    if chart == "heatmap":
        return dashboard.heatmap_rows(
            dashboard.heatmap(filters.channels, period, filters.heat_zone, workspace=filters.whole)
        )
    if chart == "types":
        return dashboard.post_types(filters.channels, period)
    if chart == "frequency":
        return dashboard.frequency(filters.channels, period, workspace=filters.whole)
    if chart == "campaigns":
        return dashboard.campaigns(filters.channels, period)
    if chart == "approvals":
        return dashboard.approval_waits(member.workspace, period)
    if chart in ("roi", "roi_campaigns", "link_clicks"):
        from portevoix.roi import dashboard as money

        return money.rows(chart, member, period, filters.channel)
    if chart == "webcare":
        if not can(member, "inbox.view_all"):
            raise Http404("not found")
        from .reports import _webcare as webcare_rows

        # Per department, then per member: the numbers of the page's two tables.
        return webcare_rows(member.workspace, period)
    if chart == "workload":
        return [
            {k: v for k, v in row.items() if k != "member_id"}
            for row in dashboard.workload(member.workspace, period)
        ]
    raise Http404("not found")


def workload_figure(member: Member, period: dashboard.Period) -> dict[str, Any]:
    """The team workload as stacked bars (reports' chart vocabulary) and its table."""
    from .reports import WORKLOAD_LABELS

    rows = dashboard.workload(member.workspace, period)
    labels = [str(WORKLOAD_LABELS[f]) for f in dashboard.WORKLOAD_FIELDS]
    series = [
        charts.Series(label, [float(r[f]) for r in rows])
        for label, f in zip(labels, dashboard.WORKLOAD_FIELDS, strict=True)
    ]
    names = [r["member"] for r in rows]
    return {
        "rows": rows,
        "labels": labels,
        "svg": charts.stacked_bar_chart(names, series, title=_("Team workload")) if rows else "",
        "table": charts.table_rows(names, series),
    }


def _webcare(member: Member, filters: Filters) -> dict[str, Any]:
    from portevoix.care.metrics import summary
    from portevoix.care.models import WebcareStat
    from portevoix.core.models import Department

    period = filters.period
    rows = WebcareStat.objects.visible_to(member).filter(
        hour__gte=period.start_at, hour__lt=period.end_at
    )
    result = summary(rows, filters.zone, period.start_at, period.end_at - dt.timedelta(seconds=1))
    workspace = member.workspace
    departments = dict(Department.objects.filter(workspace=workspace).values_list("pk", "name"))
    people = {
        m.pk: m.user.display_name
        for m in Member.objects.filter(workspace=workspace).select_related("user")
    }
    return {
        "total": result.total,
        "by_department": sorted(
            (
                (departments.get(pk, "") if pk else _("The social media team"), t)
                for pk, t in result.by_department.items()
            ),
            key=lambda item: -item[1].inbound,
        ),
        "by_member": sorted(
            (
                (people.get(pk, "") if pk else _("Nobody (unassigned)"), t)
                for pk, t in result.by_assignee.items()
            ),
            key=lambda item: -item[1].first_responses,
        ),
        "days": [{"day": day, "customer_messages": n} for day, n in result.by_day],
    }


def _points(value: float | None) -> str:
    """A difference of proportions in percentage points, signed."""
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + _fixed(100 * value, 2)


def _trial(experiment: Experiment) -> dict[str, Any]:
    result = experiments.result(experiment)
    age = ""
    if result.age is not None:
        hours = int(result.age.total_seconds() // 3600)
        age = (
            ngettext("%(n)s day", "%(n)s days", hours // 24) % {"n": hours // 24}
            if hours >= 48
            else ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
        )
    return {
        "verdict": result.verdict,
        "a_b": [
            (
                label,
                {
                    "text": v.publication.text or v.publication.post.text,
                    "impressions": v.impressions,
                    "events": v.events,
                    "rate": _number(v.rate, rate=True),
                },
            )
            for label, v in (("A", result.a), ("B", result.b))
        ],
        "shown_difference": _points(result.difference),
        "shown_lower": _points(result.lower),
        "shown_upper": _points(result.upper),
        "shown_age": age,
    }


GOAL_STATUS = {
    "on_track": gettext_lazy("On track"),
    "behind": gettext_lazy("Behind"),
    "no_data": gettext_lazy("No data yet"),
}


def _kpi_number(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if metric in goals.PERCENT:
        return _fixed(value, 1) + "\u00a0%"
    if metric == "first_response_minutes":
        return _fixed(value, 0) + "\u00a0min"
    return formats.number_format(round(value), use_l10n=True, force_grouping=True)


def _goal_rows(member: Member) -> list[dict[str, Any]]:
    """The goals and their KPIs, this period so far against the target (analytics/goals.py)."""
    rows = goals.progress(member.workspace)
    sees_money = can(member, "money.view")
    for row in rows:
        for item in row["kpis"]:
            p = item["progress"]
            if not sees_money and p.kpi.metric in kpis.MONEY_METRICS:
                # A deal-value KPI is money: who does not see money sees where it stands only.
                item["status_label"] = GOAL_STATUS[p.status]
                item["shown_value"] = item["shown_expected"] = item["shown_target"] = "—"
                item["percent_of_expected"] = None
                item["money_hidden"] = True
                continue
            item["status_label"] = GOAL_STATUS[p.status]
            item["shown_value"] = _kpi_number(p.value, p.kpi.metric)
            item["shown_expected"] = _kpi_number(p.expected, p.kpi.metric)
            item["shown_target"] = _kpi_number(p.target, p.kpi.metric)
            item["percent_of_expected"] = (
                round(100 * p.value / p.expected) if p.value is not None and p.expected else None
            )
    return rows


def _context(
    request: HttpRequest, member: Member, filters: Filters, **extra: Any
) -> dict[str, Any]:
    period = filters.period
    daily = _chart_rows("daily", filters, member)
    heat = dashboard.heatmap(filters.channels, period, filters.heat_zone, workspace=filters.whole)
    for line in heat["grid"]:
        line["label"] = WEEKDAYS[line["weekday"] - 1]
    for slot in heat["suggestions"]:
        slot["label"] = WEEKDAYS[slot["weekday"] - 1]
    figures = dashboard.key_figures(member.workspace, filters.channel, period)
    for figure in figures:
        figure["label"] = METRIC_LABELS[figure["metric"]]
        rate = figure["metric"] == "engagement_rate"
        figure["shown"] = _number(figure["value"], rate=rate)
        figure["shown_previous"] = _number(figure["previous"], rate=rate)
        if figure["change"] is not None:
            figure["shown_change"] = f"{'+' if figure['change'] >= 0 else ''}" + _number(
                figure["change"], rate=True
            )
    types = dashboard.post_types(filters.channels, period)
    for row in types:
        row["label"] = TYPE_LABELS[row["type"]]
        row["shown_rate"] = _number(row["engagement_rate"], rate=True)
    chart_data = {
        "labels": [charts.day_label(row["day"]) for row in daily],
        "impressions": [row["impressions"] for row in daily],
        "engagements": [row["engagements"] for row in daily],
        "previous_impressions": [row["previous_impressions"] for row in daily],
        "previous_engagements": [row["previous_engagements"] for row in daily],
        "followers": [row["followers"] for row in daily],
        "previous_followers": [row["previous_followers"] for row in daily],
        "types": [str(row["label"]) for row in types],
        "types_rate": [
            round(100 * row["engagement_rate"], 2) if row["engagement_rate"] is not None else None
            for row in types
        ],
        "text": {
            "impressions": _("Impressions"),
            "engagements": _("Engagements"),
            "previous_impressions": _("Impressions, previous period"),
            "previous_engagements": _("Engagements, previous period"),
            "followers": _("Followers"),
            "previous_followers": _("Followers, previous period"),
            "rate": _("Engagement rate (%)"),
        },
    }
    insights = (
        Insight.objects.visible_to(member)
        .filter(period_end__gte=period.start, period_start__lte=period.end)
        .select_related("author__user", "channel")[:50]
    )
    sees_care = can(member, "inbox.view_all")
    trials = [
        {"experiment": e, "result": _trial(e)}
        for e in Experiment.objects.visible_to(member).select_related(
            "channel", "variant_a__post", "variant_b__post", "created_by__user"
        )[:20]
    ]
    from portevoix.roi import dashboard as money

    context = {
        "money": money.context(member, period, filters.channel),
        "goals": _goal_rows(member),
        "perms_strategy": can(member, "strategy.view"),
        "filters": filters,
        "period": period,
        "previous": period.previous(),
        "periods": dashboard.PERIODS,
        "figures": figures,
        "daily": daily,
        "chart_data": chart_data,
        "heat": heat,
        "hours": range(24),
        "types": types,
        "frequency": dashboard.frequency(filters.channels, period, workspace=filters.whole),
        "campaigns": dashboard.campaigns(filters.channels, period),
        "approvals": dashboard.approval_waits(member.workspace, period),
        "workload": workload_figure(member, period),
        "webcare": _webcare(member, filters) if sees_care else None,
        "insights": insights,
        "charts": {k: _(v) for k, v in CHARTS.items()},
        "can_write": can(member, "analytics.report"),
        "can_plan": can(member, "plan.manage"),
        "can_experiment": can(member, "post.create"),
        "trials": trials,
        "experiment_method": _(
            "Difference B − A with its %(level)s interval (Newcombe’s hybrid score method), "
            "both variants measured at the same age."
        )
        % {"level": "95 %"},
        "active_section": "analytics",
    }
    if "insight_form" not in extra:
        context["insight_form"] = InsightForm(
            initial={
                "chart": "daily",
                "start": period.start,
                "end": period.end,
                "channel": filters.channel.pk if filters.channel else None,
            }
        )
    if "experiment_form" not in extra and can(member, "post.create"):
        context["experiment_form"] = ExperimentForm(member=member)
    context.update(extra)
    return context


@require_safe
def dashboard_page(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.view")
    filters = Filters(request, member)
    status = 400 if filters.error else 200
    return render(
        request, "analytics/dashboard.html", _context(request, member, filters), status=status
    )


@require_safe
def csv_download(request: HttpRequest, ws: str, chart: str) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.view")
    if chart not in CHARTS:
        raise Http404("not found")
    filters = Filters(request, member)
    if filters.error:
        raise BadRequest(filters.error)
    rows = _chart_rows(chart, filters, member)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{chart}-{filters.period.start:%Y%m%d}-{filters.period.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    if rows:
        columns = list(rows[0])
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
    else:
        writer.writerow([_("Nothing in this period yet.")])
    return response


@require_POST
def insight_write(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "analytics.report")
    form = InsightForm(request.POST)
    channel = None
    if form.is_valid() and form.cleaned_data.get("channel"):
        channel = Channel.objects.visible_to(member).filter(pk=form.cleaned_data["channel"]).first()
        if channel is None:
            raise Http404("not found")
    if form.is_valid():
        try:
            insight = actions.write_insight(
                member.workspace,
                by=member,
                chart=form.cleaned_data["chart"],
                text=form.cleaned_data["text"],
                period_start=form.cleaned_data["start"],
                period_end=form.cleaned_data["end"],
                channel=channel,
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Insight shared with the team."))
            url = reverse("analytics", kwargs={"ws": member.workspace.slug})
            query = f"start={insight.period_start}&end={insight.period_end}"
            if channel is not None:
                query += f"&channel={channel.pk}"
            return redirect(f"{url}?{query}#insight-{insight.pk}")
    # Keep what was typed, with the errors in place.
    params = request.GET.copy()
    for name in ("start", "end", "channel"):
        if request.POST.get(name):
            params[name] = request.POST[name]
    filters = Filters(request, member, params)
    return render(
        request,
        "analytics/dashboard.html",
        _context(request, member, filters, insight_form=form),
        status=400,
    )


@require_POST
def slots_add(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    member = _member(request)
    require(member, "plan.manage")
    channel = Channel.objects.visible_to(member).filter(pk=pk).first()
    if channel is None:
        raise Http404("not found")
    filters = Filters(request, member)
    heat = dashboard.heatmap(
        Channel.objects.filter(pk=channel.pk), filters.period, channel.audience_zone
    )
    slots = [(s["weekday"] - 1, s["time"]) for s in heat["suggestions"]]
    url = reverse("analytics", kwargs={"ws": member.workspace.slug}) + "?" + filters.query()
    try:
        made = actions.add_suggested_slots(channel, by=member, slots=slots)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect(url + "#heatmap")
    if made:
        messages.success(
            request,
            ngettext(
                "%(n)s posting slot added to %(channel)s.",
                "%(n)s posting slots added to %(channel)s.",
                len(made),
            )
            % {"n": len(made), "channel": channel.name},
        )
    else:
        messages.info(
            request, _("%(channel)s already has these slots.") % {"channel": channel.name}
        )
    return redirect(url + "#heatmap")


@require_POST
def experiment_start(request: HttpRequest, ws: str) -> HttpResponse:
    member = _member(request)
    require(member, "post.create")
    form = ExperimentForm(request.POST, member=member)
    if form.is_valid():
        found = {
            p.pk: p
            for p in Publication.objects.visible_to(member)
            .filter(pk__in=[form.cleaned_data["variant_a"], form.cleaned_data["variant_b"]])
            .select_related("channel", "channel__workspace")
        }
        try:
            actions.start_experiment(
                member.workspace,
                by=member,
                name=form.cleaned_data["name"],
                variant_a=found[form.cleaned_data["variant_a"]],
                variant_b=found[form.cleaned_data["variant_b"]],
                metric=form.cleaned_data["metric"],
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Experiment started."))
            return redirect(
                reverse("analytics", kwargs={"ws": member.workspace.slug}) + "#experiments"
            )
    filters = Filters(request, member)
    return render(
        request,
        "analytics/dashboard.html",
        _context(request, member, filters, experiment_form=form),
        status=400,
    )
