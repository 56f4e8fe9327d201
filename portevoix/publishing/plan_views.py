"""The content plan around the calendar: campaigns, the ideas backlog, creative requests,
posting slots and recurring dates. Views parse and render; ``publishing.actions`` writes."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.query import query_date, query_id
from portevoix.core.views import _member, _refusal_to_form
from portevoix.media import actions as media_actions
from portevoix.media.models import Asset
from portevoix.publishing import actions, exchange, scheduling
from portevoix.publishing.models import (
    Campaign,
    CreativeRequest,
    CreativeRequestState,
    Idea,
    IdeaState,
    Post,
    PostingSlot,
    Publication,
    RecurringDate,
    Weekday,
)


def _channels_field(me: Member, required: bool = False) -> forms.ModelMultipleChoiceField[Channel]:
    return forms.ModelMultipleChoiceField(
        queryset=Channel.objects.visible_to(me, "post.view")
        .exclude(state=ChannelStates.disconnected.name)
        .order_by("name"),
        required=required,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Channels"),
    )


# --- campaigns ----------------------------------------------------------------------------


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    goal = forms.CharField(label=gettext_lazy("Goal"), max_length=300, required=False)
    starts_on = forms.DateField(
        label=gettext_lazy("Starts"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Ends"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    color = forms.CharField(
        label=gettext_lazy("Colour"),
        max_length=7,
        initial="#3558d6",
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    def __init__(self, *args: Any, me: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"] = _channels_field(me)


@require_safe
def campaigns(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    items = Campaign.objects.visible_to(me).prefetch_related("channels")
    return render(
        request,
        "publishing/campaigns.html",
        {
            "campaigns": items,
            "can_manage": can(me, "plan.manage"),
            "active_section": "calendar",
            "tab": "campaigns",
        },
    )


def campaign_edit(request: HttpRequest, ws: str, pk: int | None = None) -> HttpResponse:
    me = _member(request)
    require(me, "plan.manage")
    campaign = Campaign.objects.get_for(me, pk=pk) if pk is not None else None
    initial: dict[str, Any] = {}
    if campaign is not None:
        initial = {
            "name": campaign.name,
            "goal": campaign.goal,
            "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on,
            "color": campaign.color,
            "channels": list(campaign.channels.all()),
        }
    form = CampaignForm(request.POST or None, me=me, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        channels = list(data.pop("channels"))
        try:
            actions.save_campaign(me.workspace, by=me, campaign=campaign, channels=channels, **data)
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns", ws=ws)
    return render(
        request,
        "publishing/campaign_edit.html",
        {"form": form, "campaign": campaign, "active_section": "calendar", "tab": "campaigns"},
        status=400 if request.method == "POST" else 200,
    )


# --- ideas --------------------------------------------------------------------------------


class IdeaForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Your idea"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Details"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, me: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"] = forms.ModelChoiceField(
            queryset=Campaign.objects.visible_to(me, "idea.propose").filter(
                cancelled_at__isnull=True
            ),
            required=False,
            label=gettext_lazy("Campaign"),
            empty_label=gettext_lazy("— none —"),
        )


def ideas(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "idea.propose")
    form = IdeaForm(request.POST or None, me=me, prefix="idea")
    if request.method == "POST" and form.is_valid():
        try:
            actions.propose_idea(me.workspace, by=me, **form.cleaned_data)
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Idea proposed: a manager will accept or decline it."))
            return redirect("ideas", ws=ws)
    items = Idea.objects.visible_to(me).select_related(
        "proposed_by", "decided_by", "campaign", "post"
    )
    return render(
        request,
        "publishing/ideas.html",
        {
            "form": form,
            "proposed": [i for i in items if i.state == IdeaState.PROPOSED],
            "accepted": [i for i in items if i.state == IdeaState.ACCEPTED],
            "done": [i for i in items if i.state in (IdeaState.DECLINED, IdeaState.USED)][:30],
            "can_decide": can(me, "idea.decide"),
            "can_post": can(me, "post.create"),
            "active_section": "calendar",
            "tab": "ideas",
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def idea_decide(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    idea: Idea = Idea.objects.get_for(me, pk=pk)
    try:
        actions.decide_idea(
            idea,
            by=me,
            accept=request.POST.get("decision") == "accept",
            note=request.POST.get("note", ""),
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("ideas", ws=ws)


# --- creative requests ----------------------------------------------------------------------


class RequestForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("What you need"), max_length=200)
    brief = forms.CharField(
        label=gettext_lazy("Brief"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("The message, the mood, what must be on it, what must not."),
    )
    deadline = forms.CharField(
        label=gettext_lazy("Deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, me: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.me = me
        self.fields["deadline"].help_text = _("In %(zone)s time.") % {
            "zone": me.workspace.time_zone
        }
        self.fields["channels"] = _channels_field(me, required=True)
        self.fields["channels"].help_text = _("The visual is made in each one's sizes.")
        creatives = [
            m
            for m in Member.objects.visible_to(me, "post.view")
            .filter(is_active=True)
            .select_related("user")
            if can(m, "creative.deliver")
        ]
        self.fields["assignee"] = forms.ChoiceField(
            label=gettext_lazy("For"),
            required=False,
            choices=[("", _("whoever is free"))]
            + [(str(m.pk), m.user.display_name) for m in creatives],
        )

    def clean_deadline(self) -> dt.datetime:
        try:
            return scheduling.parse_when(self.cleaned_data["deadline"], scheduling_zone(self.me))
        except scheduling.ScheduleTimeError as exc:
            raise forms.ValidationError(exc.message) from None


def scheduling_zone(me: Member) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(me.workspace.time_zone)


@require_safe
def creative_requests(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    items = (
        CreativeRequest.objects.visible_to(me)
        .select_related("requested_by", "assignee", "post")
        .prefetch_related("channels")
    )
    open_items = [i for i in items if i.state == CreativeRequestState.OPEN]
    mine = [i for i in open_items if i.assignee_id == me.user_id]
    return render(
        request,
        "publishing/requests.html",
        {
            # What is for me first, then the rest of the queue (each request shown once).
            "open": [i for i in open_items if i not in mine],
            "mine": mine,
            "done": [i for i in items if i.state != CreativeRequestState.OPEN][:30],
            "can_request": can(me, "post.create"),
            "active_section": "calendar",
            "tab": "requests",
        },
    )


def creative_request_new(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.create")
    post = None
    post_id = query_id(request, "post")
    if post_id is None and request.POST.get("post", "").isdigit():
        post_id = int(request.POST["post"])
    if post_id is not None:
        post = Post.objects.get_for(me, pk=post_id)
    initial: dict[str, Any] = {
        "deadline": (timezone.now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT17:00")
    }
    if post is not None:
        initial["title"] = post.title or post.text[:80]
        initial["channels"] = [p.channel for p in post.publications.select_related("channel")]
    form = RequestForm(request.POST or None, me=me, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        assignee = (
            Member.objects.filter(workspace=me.workspace, pk=int(data["assignee"])).first()
            if data["assignee"]
            else None
        )
        try:
            item = actions.request_creative(
                me.workspace,
                by=me,
                title=data["title"],
                brief=data["brief"],
                channels=list(data["channels"]),
                deadline=data["deadline"],
                post=post,
                assignee=assignee,
            )
        except ActionRefused as exc:
            _refusal_to_form(form, exc)
        else:
            messages.success(request, _("Request sent to the creative team."))
            return redirect("creative_request", ws=ws, pk=item.pk)
    return render(
        request,
        "publishing/request_new.html",
        {"form": form, "post": post, "active_section": "calendar", "tab": "requests"},
        status=400 if request.method == "POST" else 200,
    )


def creative_request(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    item: CreativeRequest = (
        CreativeRequest.objects.select_related("post", "requested_by", "assignee")
        .prefetch_related("channels", "assets")
        .get_for(me, pk=pk)
    )
    error = ""
    if request.method == "POST":
        if "cancel" in request.POST:
            try:
                actions.cancel_creative(item, by=me)
            except ActionRefused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Request cancelled."))
            return redirect("creative_requests", ws=ws)
        require(me, "creative.deliver")
        try:
            with transaction.atomic():
                _deliver(request, me, item)
        except ActionRefused as exc:
            error = exc.message
        else:
            messages.success(request, _("Delivered: the requester can schedule the post."))
            return redirect("creative_request", ws=ws, pk=pk)
    library = Asset.objects.visible_to(me).filter(archived_at__isnull=True)[:40]
    return render(
        request,
        "publishing/request.html",
        {
            "item": item,
            "error": error,
            "library": library,
            "can_deliver": can(me, "creative.deliver") and item.is_open,
            "can_cancel": can(me, "post.create") and item.is_open,
            "active_section": "calendar",
            "tab": "requests",
        },
        status=400 if error else 200,
    )


def _deliver(request: HttpRequest, me: Member, item: CreativeRequest) -> None:
    """The chosen library items and the uploaded files, delivered (all or nothing)."""
    chosen = [int(v) for v in request.POST.getlist("assets") if v.isdigit()]
    assets = list(Asset.objects.visible_to(me).filter(pk__in=chosen))
    channels = list(item.channels.all())
    for upload in request.FILES.getlist("file"):
        assets.append(
            media_actions.upload(
                me.workspace,
                by=me,
                filename=upload.name or "visual",
                data=upload.read(),
                alt_text=request.POST.get("alt_text", ""),
                tags=[item.title[:40]],
                networks=media_actions.channel_networks(channels),
            )
        )
    actions.deliver_creative(item, by=me, assets=assets, note=request.POST.get("note", ""))


# --- posting slots and recurring dates ------------------------------------------------------


class SlotForm(forms.Form):
    weekday = forms.TypedChoiceField(label=gettext_lazy("Day"), choices=Weekday.choices, coerce=int)
    time = forms.TimeField(
        label=gettext_lazy("Time"), widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args: Any, me: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"] = forms.ModelChoiceField(
            queryset=Channel.objects.visible_to(me, "post.view")
            .exclude(state=ChannelStates.disconnected.name)
            .order_by("name"),
            label=gettext_lazy("Channel"),
        )
        self.order_fields(["channel", "weekday", "time"])


MONTHS = [(i, dt.date(2024, i, 1)) for i in range(1, 13)]


class DateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    month = forms.TypedChoiceField(label=gettext_lazy("Month"), coerce=int, choices=[])
    day = forms.IntegerField(label=gettext_lazy("Day"), min_value=1, max_value=31)
    end_month = forms.TypedChoiceField(
        label=gettext_lazy("Until month"), coerce=int, choices=[], required=False, empty_value=None
    )
    end_day = forms.IntegerField(
        label=gettext_lazy("Until day"), min_value=1, max_value=31, required=False
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.utils.dateformat import format as date_format

        months = [(i, date_format(d, "F")) for i, d in MONTHS]
        self.fields["month"].choices = months  # type: ignore[attr-defined]
        self.fields["end_month"].choices = [("", "—"), *months]  # type: ignore[attr-defined]


def plan_settings(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    data = request.POST if request.method == "POST" else None
    slot_form = SlotForm(data if data and "add_slot" in data else None, me=me, prefix="slot")
    date_form = DateForm(data if data and "add_date" in data else None, prefix="date")
    if request.method == "POST":
        require(me, "plan.manage")
        if "add_slot" in request.POST and slot_form.is_valid():
            try:
                actions.add_slot(
                    slot_form.cleaned_data["channel"],
                    by=me,
                    weekday=slot_form.cleaned_data["weekday"],
                    time=slot_form.cleaned_data["time"],
                )
            except ActionRefused as exc:
                _refusal_to_form(slot_form, exc)
            else:
                messages.success(request, _("Posting slot added."))
                return redirect("plan_settings", ws=ws)
        elif "add_date" in request.POST and date_form.is_valid():
            try:
                actions.add_recurring_date(me.workspace, by=me, **date_form.cleaned_data)
            except ActionRefused as exc:
                _refusal_to_form(date_form, exc)
            else:
                messages.success(request, _("Date added to the calendar."))
                return redirect("plan_settings", ws=ws)
        elif "remove_slot" in request.POST:
            slot = PostingSlot.objects.get_for(me, pk=request.POST["remove_slot"])
            actions.remove_slot(slot, by=me)
            return redirect("plan_settings", ws=ws)
        elif "remove_date" in request.POST:
            item = RecurringDate.objects.get_for(me, pk=request.POST["remove_date"])
            actions.remove_recurring_date(item, by=me)
            return redirect("plan_settings", ws=ws)
    return render(
        request,
        "publishing/plan_settings.html",
        {
            "slots": PostingSlot.objects.visible_to(me).select_related("channel"),
            "dates": RecurringDate.objects.visible_to(me),
            "slot_form": slot_form,
            "date_form": date_form,
            "can_manage": can(me, "plan.manage"),
            "active_section": "calendar",
            "tab": "plan",
        },
        status=400 if request.method == "POST" else 200,
    )


# --- import, export, feeds ----------------------------------------------------------------


def plan_import(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.create")
    report = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or (upload.size or 0) > 2_000_000:
            messages.error(request, _("Choose a CSV file of at most 2 MB."))
        else:
            report = exchange.import_plan(
                me.workspace,
                by=me,
                data=upload.read(),
                dry_run=bool(request.POST.get("dry_run")),
                submit=bool(request.POST.get("submit")),
            )
            if report.ok and not report.dry_run:
                messages.success(
                    request,
                    ngettext(
                        "%(count)s post imported.", "%(count)s posts imported.", report.created
                    )
                    % {"count": report.created},
                )
                return redirect("calendar", ws=ws)
    return render(
        request,
        "publishing/import.html",
        {
            "report": report,
            "columns": exchange.COLUMNS,
            "active_section": "calendar",
            "tab": "plan",
        },
        status=400 if report is not None and not report.ok else 200,
    )


@require_safe
def plan_export(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "post.view")
    from zoneinfo import ZoneInfo

    rows = (
        Publication.objects.visible_to(me)
        .filter(post__kind="post")
        .select_related("post", "post__campaign", "channel")
        .order_by("scheduled_at")
    )
    start = query_date(request, "from")
    if start is not None:
        rows = rows.filter(scheduled_at__date__gte=start)
    zone = ZoneInfo(me.workspace.time_zone)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plan-{me.workspace.slug}.csv"'
    writer = csv.writer(response)
    for line in exchange.export_rows(rows, zone):
        writer.writerow(line)
    return response


def feeds(request: HttpRequest, ws: str) -> HttpResponse:
    """A member's own links to their plan as an iCal feed: create, see when used, revoke."""
    me = _member(request)
    require(me, "post.view")
    new_link = ""
    if request.method == "POST":
        if "revoke" in request.POST:
            mine = {str(t.pk): t for t in exchange.feeds_of(me)}
            token_row = mine.get(request.POST["revoke"])
            if token_row is None:
                raise Http404("no such feed")
            exchange.revoke_feed(token_row, by=me)
            messages.success(request, _("The link no longer works."))
            return redirect("plan_feeds", ws=ws)
        try:
            _row, token = exchange.issue_feed(by=me)
        except ActionRefused as exc:
            messages.error(request, exc.message)
            return redirect("plan_feeds", ws=ws)
        new_link = request.build_absolute_uri(reverse("ical_feed", kwargs={"token": token}))
    return render(
        request,
        "publishing/feeds.html",
        {
            "feeds": exchange.feeds_of(me),
            "new_link": new_link,
            "active_section": "calendar",
            "tab": "plan",
        },
    )


@require_safe
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The plan for a calendar application: no login, a secret link (see docs)."""
    member = exchange.open_feed(token)
    if member is None:
        raise Http404("no such feed")
    response = HttpResponse(exchange.ical(member), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
