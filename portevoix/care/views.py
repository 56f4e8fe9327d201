"""Webcare pages: how the team works (hours, rota, rules, SLA) and how it does (metrics).

Views parse and render; :mod:`portevoix.care.actions` decides. Reading needs a place in the
inbox (the social team, department agents, analysts); changing the team's rules needs
``inbox.configure``; anyone who answers may say they are away and swap their own shifts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member
from portevoix.core.permissions import can, require, require_any
from portevoix.core.views import _member
from portevoix.strategy.responsibility import webcare_member_ids, webcare_responsible_ids

from . import actions, assignment, rota, routing, sla
from .forms import (
    RULE_PRIORITIES,
    AgentForm,
    CalendarForm,
    HolidayForm,
    PolicyForm,
    RuleForm,
    SettingsForm,
    ShiftForm,
    SwapForm,
    TryForm,
    VipForm,
    replying_members,
)
from .models import (
    BusinessCalendar,
    Holiday,
    RotaShift,
    RoutingRule,
    ShiftSwap,
    SlaClock,
    SlaPolicy,
    SwapState,
    VipAuthor,
    workspace_settings,
)


def _reader(request: HttpRequest) -> Member:
    """The member, who must work in the inbox (or read analytics, for the metrics)."""
    me = _member(request)
    require_any(me, "inbox.view_all", "inbox.view_assigned")
    return me


def _social(request: HttpRequest) -> Member:
    """Rules, hours and SLA policies are the social team's: those who see every conversation."""
    me = _member(request)
    require(me, "inbox.view_all")
    return me


def _run[T](form: forms.Form, call: Callable[[], T]) -> T | None:
    try:
        return call()
    except ActionRefused as exc:
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, exc.message)
        return None


def _context(me: Member, tab: str, **extra: Any) -> dict[str, Any]:
    return {
        "tab": tab,
        "active_section": "inbox",
        "can_configure": can(me, "inbox.configure"),
        "sees_all": can(me, "inbox.view_all"),
        **extra,
    }


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    return moment.astimezone(zone) if moment is not None else None


# --- overview: right now, how the team works, people ---------------------------------------


def overview(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    workspace = me.workspace
    settings = workspace_settings(workspace)
    now = timezone.now()
    status = rota.status(workspace, now, settings=settings)
    initial = {
        "calendar": settings.calendar_id,
        "after_hours": settings.after_hours,
        "closed_reply_fr": (settings.closed_replies or {}).get("fr", ""),
        "closed_reply_en": (settings.closed_replies or {}).get("en", ""),
        "assignment": settings.assignment,
        "default_capacity": settings.default_capacity,
        "careful_triage": settings.careful_triage,
    }
    form = SettingsForm(request.POST or None, workspace=workspace, initial=initial)
    status_code = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if form.is_valid():
            done = _run(form, lambda: actions.update_settings(workspace, by=me, **form.values()))
            if done is not None:
                messages.success(request, _("Settings saved."))
                return redirect("care_overview", ws=ws)
        status_code = 400
    if not can(me, "inbox.configure"):
        for field in form.fields.values():
            field.disabled = True
    people = replying_members(workspace)
    found = rota.profiles(people)
    load = assignment.loads(workspace.pk, [m.pk for m in people])
    on_duty = {m.pk for m in status.on_duty}
    webcare = webcare_member_ids(workspace.pk)
    rows = [
        {
            "member": m,
            "profile": found.get(m.pk),
            "available": found[m.pk].available if m.pk in found else True,
            "receives": assignment.receives(m, found.get(m.pk), webcare),
            "capacity": assignment.capacity(found.get(m.pk), settings),
            "load": load[m.pk],
            "on_duty": m.pk in on_duty,
            "editable": m.pk == me.pk or can(me, "inbox.configure"),
        }
        for m in people
    ]
    return render(
        request,
        "care/overview.html",
        _context(
            me,
            "overview",
            watch=_watch(me, now),
            form=form,
            status=status,
            opens_at=_local(status.opens_at, status.zone),
            rows=rows,
            settings=settings,
        ),
        status=status_code,
    )


@require_POST
def agent_update(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    target = Member.objects.filter(workspace=me.workspace, pk=pk).select_related("user").first()
    if target is None:
        raise Http404("not found")
    form = AgentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        changes: dict[str, Any] = {"available": data["available"]}
        if can(me, "inbox.configure"):
            changes["auto_assign"] = {"yes": True, "no": False}.get(data["auto_assign"] or "")
            changes["capacity"] = data["capacity"]
        try:
            actions.update_agent(target, by=me, **changes)
            messages.success(request, _("Saved."))
        except ActionRefused as exc:
            messages.error(request, exc.message)
    else:
        messages.error(
            request, _("Check the values: %(errors)s") % {"errors": form.errors.as_text()}
        )
    return redirect("care_overview", ws=ws)


def _watch(me: Member, now: dt.datetime, limit: int = 8) -> list[dict[str, Any]]:
    """The open conversations closest to (or past) a deadline, with their clock."""
    from portevoix.inbox.models import ACTIVE_STATES

    from .notices import conversation_url

    clocks = (
        SlaClock.objects.visible_to(me)
        .filter(state="running", conversation__state__in=ACTIVE_STATES)
        .select_related(
            "calendar", "conversation__customer", "conversation__channel", "conversation__workspace"
        )
        .order_by("next_attempt_at")[: limit * 3]
    )
    rows = []
    for clock in clocks:
        reading = sla.read(clock, clock.conversation, now)
        if reading is None or reading.due_at is None:
            continue
        rows.append(
            {
                "conversation": clock.conversation,
                "reading": reading,
                "url": conversation_url(clock.conversation),
            }
        )
    rows.sort(key=lambda row: row["reading"].due_at)
    return rows[:limit]


@require_GET
def on_duty(request: HttpRequest, ws: str) -> HttpResponse:
    """The on-duty indicator (htmx polls it)."""
    me = _reader(request)
    status = rota.status(me.workspace, timezone.now())
    return render(
        request,
        "care/_on_duty.html",
        {"status": status, "opens_at": _local(status.opens_at, status.zone)},
    )


# --- routing rules ---------------------------------------------------------------------------


def rules(request: HttpRequest, ws: str) -> HttpResponse:
    me = _social(request)
    workspace = me.workspace
    form = RuleForm(request.POST or None, workspace=workspace)
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if form.is_valid():
            made = _run(
                form,
                lambda: actions.create_rule(
                    workspace,
                    by=me,
                    name=form.cleaned_data["name"],
                    condition=form.cleaned_data["condition"],
                    actions=form.actions(),
                    stop=form.cleaned_data["stop"],
                ),
            )
            if made is not None:
                messages.success(request, _("Rule “%(name)s” added.") % {"name": made.name})
                return redirect("care_rules", ws=ws)
        status = 400
    return render(request, "care/rules.html", _rules_context(me, form=form), status=status)


def _rules_context(me: Member, **extra: Any) -> dict[str, Any]:
    workspace = me.workspace
    vocabulary = actions.vocabulary(workspace)
    language = translation.get_language() or "en"
    members = {m.pk: m for m in replying_members(workspace)}
    listed = []
    for rule in RoutingRule.objects.visible_to(me).order_by("position", "id"):
        rule_actions = routing.Actions.from_json(rule.actions)
        listed.append(
            {
                "rule": rule,
                "condition": routing.render(rule.conditions or {"all": []}, vocabulary, language),
                "actions": rule_actions,
                "department": _department_label(rule_actions.department, vocabulary),
                "assignee": members.get(rule_actions.assignee or 0),
            }
        )
    return _context(
        me,
        "rules",
        rules=listed,
        vocabulary=vocabulary,
        reference=_reference(vocabulary),
        vips=VipAuthor.objects.visible_to(me),
        vip_form=VipForm(),
        try_form=TryForm(),
        priorities={code: label for code, label in RULE_PRIORITIES if code},
        **extra,
    )


def _department_label(code: str, vocabulary: routing.Vocabulary) -> str:
    if not code:
        return ""
    if code == routing.SOCIAL_TEAM:
        return _("The social media team")
    return vocabulary.departments.get(code, code)


def _reference(vocabulary: routing.Vocabulary) -> list[tuple[str, str, str]]:
    """(field, how to write it, its values) for the reference card."""
    from portevoix.inbox.views import INTENTS, KINDS, SENTIMENTS

    return [
        ("intent", "intent is pricing", ", ".join(f"{k} ({v})" for k, v in INTENTS.items())),
        (
            "sentiment",
            "sentiment is negative",
            ", ".join(f"{k} ({v})" for k, v in SENTIMENTS.items()),
        ),
        ("language", "language in fr, en", ", ".join(vocabulary.choices("language"))),
        ("kind", "kind is dm", ", ".join(f"{k} ({v})" for k, v in KINDS.items() if k != "quote")),
        ("channel", 'channel is "Instagram"', ", ".join(vocabulary.channels.values())),
        (
            "department",
            "department is sales",
            ", ".join([routing.SOCIAL_TEAM, *vocabulary.departments]),
        ),
        ("network", "network is mastodon", ", ".join(vocabulary.networks)),
        ("text", 'text contains "commande", colis', _("whole words, without case or accents")),
        ("text", 'text matches "\\d{8}"', _("a regular expression")),
        ("followers", "followers >= 10000", _("the author's followers, where the network says")),
        ("author", "author is vip", _("the VIP list below")),
        ("time", "time between 18:00 and 23:00 on sat, sun", _("the team's time zone")),
        ("team", "team is closed", _("open or closed (the team's hours)")),
    ]


def rule_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    rule: RoutingRule = RoutingRule.objects.get_for(me, pk=pk)
    workspace = me.workspace
    vocabulary = actions.vocabulary(workspace)
    language = translation.get_language() or "en"
    form = RuleForm(
        request.POST or None,
        workspace=workspace,
        initial=RuleForm.initial_for(rule, vocabulary, language),
    )
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if form.is_valid():
            done = _run(
                form,
                lambda: actions.update_rule(
                    rule,
                    by=me,
                    name=form.cleaned_data["name"],
                    condition=form.cleaned_data["condition"],
                    actions=form.actions(),
                    stop=form.cleaned_data["stop"],
                    is_active=form.cleaned_data["is_active"],
                ),
            )
            if done is not None:
                messages.success(request, _("Rule saved."))
                return redirect("care_rules", ws=ws)
        status = 400
    if not can(me, "inbox.configure"):
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "care/rule_edit.html",
        _context(me, "rules", form=form, rule=rule, reference=_reference(vocabulary)),
        status=status,
    )


def _confirmed(request: HttpRequest) -> bool:
    """A removal form says ``confirm=1``: a bare POST (a replayed request, a stray tool) removes
    nothing."""
    if request.POST.get("confirm") == "1":
        return True
    messages.error(request, _("Nothing was removed: use the button on the page."))
    return False


@require_POST
def rule_move(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    require(me, "inbox.configure")
    rule: RoutingRule = RoutingRule.objects.get_for(me, pk=pk)
    try:
        to = int(request.POST.get("to", ""))
    except ValueError:
        messages.error(request, _("Give the new position as a number."))
        return redirect("care_rules", ws=ws)
    try:
        actions.move_rule(rule, by=me, to=to)
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("care_rules", ws=ws)


@require_POST
def rule_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    require(me, "inbox.configure")
    rule: RoutingRule = RoutingRule.objects.get_for(me, pk=pk)
    if not _confirmed(request):
        return redirect("care_rule_edit", ws=ws, pk=rule.pk)
    actions.delete_rule(rule, by=me)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("care_rules", ws=ws)


def rule_try(request: HttpRequest, ws: str) -> HttpResponse:
    """Run triage and the rules over a sample message; nothing is stored."""
    from portevoix.triage.service import label_items

    me = _social(request)
    form = TryForm(request.POST or None)
    result: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid():
        workspace = me.workspace
        text, kind = form.cleaned_data["text"], form.cleaned_data["kind"]
        (label,) = label_items([{"text": text, "kind": kind}], workspace=workspace, count=False)
        from . import flow

        team = flow.Team.load(workspace, timezone.now())
        department = label.department.value
        if department not in team.departments and department != routing.SOCIAL_TEAM:
            department = routing.SOCIAL_TEAM
        facts = routing.Facts(
            channel_id=0,
            network="",
            kind=kind,
            language=label.language.value,
            sentiment=label.sentiment.value,
            intent=label.intent.value,
            department=department,
            text=text,
            at=timezone.now(),
            zone=team.zone,
            team_open=lambda: team.hours.is_open(timezone.now()),
        )
        decision = routing.decide(team.rules, facts)
        vocabulary = actions.vocabulary(workspace)
        from portevoix.inbox.views import INTENTS, SENTIMENTS

        result = {
            "label": label,
            "sentiment": SENTIMENTS.get(label.sentiment.value, label.sentiment.value),
            "intent": INTENTS.get(label.intent.value, label.intent.value),
            "decision": decision,
            "department": _department_label(decision.department, vocabulary),
            "triage_department": _department_label(decision.triage_department, vocabulary),
        }
    return render(
        request,
        "care/_try.html",
        {"try_form": form, "result": result},
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )


@require_POST
def vip_add(request: HttpRequest, ws: str) -> HttpResponse:
    me = _social(request)
    require(me, "inbox.configure")
    form = VipForm(request.POST)
    if form.is_valid():
        try:
            actions.add_vip(me.workspace, by=me, **form.cleaned_data)
            messages.success(request, _("Added to the VIP list."))
        except ActionRefused as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Give the author's handle."))
    return redirect("care_rules", ws=ws)


@require_POST
def vip_remove(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    require(me, "inbox.configure")
    vip: VipAuthor = VipAuthor.objects.get_for(me, pk=pk)
    if not _confirmed(request):
        return redirect("care_rules", ws=ws)
    actions.remove_vip(vip, by=me)
    messages.success(request, _("Removed from the VIP list."))
    return redirect("care_rules", ws=ws)


# --- business hours -----------------------------------------------------------------------------


def calendars(request: HttpRequest, ws: str) -> HttpResponse:
    me = _social(request)
    workspace = me.workspace
    form = CalendarForm(
        request.POST or None,
        initial={
            "time_zone": workspace.time_zone,
            **{f"day_{i}": "09:00-12:30, 13:30-18:00" for i in range(5)},
        },
    )
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if form.is_valid():
            made = _run(
                form,
                lambda: actions.create_calendar(
                    workspace,
                    by=me,
                    name=form.cleaned_data["name"],
                    time_zone=form.cleaned_data["time_zone"],
                    week=form.cleaned_data["week"],
                ),
            )
            if made is not None:
                messages.success(request, _("Calendar “%(name)s” created.") % {"name": made.name})
                return redirect("care_calendar", ws=ws, pk=made.pk)
        status = 400
    now = timezone.now()
    listed = []
    settings = workspace_settings(workspace)
    for calendar in BusinessCalendar.objects.visible_to(me):
        hours = sla.hours_of(calendar)
        listed.append(
            {
                "calendar": calendar,
                "open": hours.is_open(now),
                "next_open": _local(hours.next_open(now), calendar.zone),
                "days": _week_rows(calendar),
                "is_team": settings.calendar_id == calendar.pk,
            }
        )
    return render(
        request,
        "care/calendars.html",
        _context(me, "hours", form=form, calendars=listed),
        status=status,
    )


def _week_rows(calendar: BusinessCalendar) -> list[tuple[str, str]]:
    from .forms import DAY_NAMES
    from .hours import format_slots

    closed = pgettext("a day without opening hours", "closed")
    return [
        (capfirst(str(name)), format_slots(slots) or closed)
        for name, slots in zip(DAY_NAMES, calendar.week, strict=True)
    ]


def calendar_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    calendar: BusinessCalendar = BusinessCalendar.objects.get_for(me, pk=pk)
    form = CalendarForm(
        request.POST if request.POST.get("intent") == "save" else None,
        initial=CalendarForm.initial_for(calendar),
    )
    holiday_form = HolidayForm(request.POST if request.POST.get("intent") == "holiday" else None)
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        intent = request.POST.get("intent")
        if intent == "save" and form.is_valid():
            done = _run(
                form,
                lambda: actions.update_calendar(
                    calendar,
                    by=me,
                    name=form.cleaned_data["name"],
                    time_zone=form.cleaned_data["time_zone"],
                    week=form.cleaned_data["week"],
                ),
            )
            if done is not None:
                messages.success(request, _("Hours saved."))
                return redirect("care_calendar", ws=ws, pk=pk)
        elif intent == "holiday" and holiday_form.is_valid():
            made = _run(
                holiday_form,
                lambda: actions.add_holiday(calendar, by=me, **holiday_form.cleaned_data),
            )
            if made is not None:
                messages.success(request, _("Holiday added."))
                return redirect("care_calendar", ws=ws, pk=pk)
        elif intent == "delete":
            try:
                actions.delete_calendar(calendar, by=me)
                messages.success(request, _("Calendar deleted."))
                return redirect("care_calendars", ws=ws)
            except ActionRefused as exc:
                messages.error(request, exc.message)
                return redirect("care_calendar", ws=ws, pk=pk)
        status = 400
    if not can(me, "inbox.configure"):
        for field in [*form.fields.values(), *holiday_form.fields.values()]:
            field.disabled = True
    now = timezone.now()
    hours = sla.hours_of(calendar)
    return render(
        request,
        "care/calendar_edit.html",
        _context(
            me,
            "hours",
            calendar=calendar,
            form=form,
            day_fields=[form[f"day_{i}"] for i in range(7)],
            holiday_form=holiday_form,
            holidays=calendar.holidays.all(),
            open_now=hours.is_open(now),
            next_open=_local(hours.next_open(now), calendar.zone),
        ),
        status=status,
    )


@require_POST
def holiday_remove(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    holiday = (
        Holiday.objects.select_related("calendar")
        .filter(pk=pk, calendar__workspace=me.workspace)
        .first()
    )
    if holiday is None:
        raise Http404("not found")
    require(me, "inbox.configure")
    if not _confirmed(request):
        return redirect("care_calendar", ws=ws, pk=holiday.calendar_id)
    actions.remove_holiday(holiday, by=me)
    messages.success(request, _("Holiday removed."))
    return redirect("care_calendar", ws=ws, pk=holiday.calendar_id)


# --- SLA policies ---------------------------------------------------------------------------------


def policies(request: HttpRequest, ws: str) -> HttpResponse:
    me = _social(request)
    workspace = me.workspace
    form = PolicyForm(request.POST or None, workspace=workspace)
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if form.is_valid():
            made = _run(form, lambda: actions.create_policy(workspace, by=me, **form.cleaned_data))
            if made is not None:
                messages.success(request, _("Policy “%(name)s” created.") % {"name": made.name})
                return redirect("care_policies", ws=ws)
        status = 400
    rows = SlaPolicy.objects.visible_to(me).select_related("channel", "calendar")
    ordered = sorted(rows, key=lambda p: (-p.specificity, p.name))
    return render(
        request,
        "care/policies.html",
        _context(me, "sla", form=form, policies=ordered),
        status=status,
    )


def policy_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _social(request)
    policy: SlaPolicy = SlaPolicy.objects.get_for(me, pk=pk)
    initial = {name: getattr(policy, name) for name in actions.SLA_FIELDS}
    initial["channel"], initial["calendar"] = policy.channel_id, policy.calendar_id
    form = PolicyForm(request.POST or None, workspace=me.workspace, initial=initial)
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if "delete" in request.POST:
            actions.delete_policy(policy, by=me)
            messages.success(request, _("Policy deleted."))
            return redirect("care_policies", ws=ws)
        if form.is_valid():
            done = _run(form, lambda: actions.update_policy(policy, by=me, **form.cleaned_data))
            if done is not None:
                messages.success(request, _("Policy saved."))
                return redirect("care_policies", ws=ws)
        status = 400
    if not can(me, "inbox.configure"):
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "care/policy_edit.html",
        _context(me, "sla", form=form, policy=policy),
        status=status,
    )


# --- the rota -------------------------------------------------------------------------------------


def _week_start(request: HttpRequest, zone: ZoneInfo) -> dt.date:
    today = timezone.now().astimezone(zone).date()
    raw = request.GET.get("week", "")
    try:
        day = dt.date.fromisoformat(raw) if raw else today
    except ValueError:
        day = today
    if not 1 < day.year < 9999:
        day = today  # weeks around it must exist
    return day - dt.timedelta(days=day.weekday())


def rota_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    workspace = me.workspace
    zone = ZoneInfo(workspace.time_zone)
    monday = _week_start(request, zone)
    form = ShiftForm(
        request.POST or None,
        workspace=workspace,
        initial={
            "day": monday + dt.timedelta(days=5),
            "start": "18:00",
            "end": "23:00",
            # The responsibility matrix: those responsible for webcare come first.
            "member": next(iter(webcare_responsible_ids(workspace.pk)), None),
        },
    )
    status = 200
    if request.method == "POST":
        require(me, "inbox.configure")
        if form.is_valid() and "starts_at" in form.cleaned_data:
            data = form.cleaned_data
            made = _run(
                form,
                lambda: actions.create_shifts(
                    workspace,
                    by=me,
                    member=data["member"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    weeks=data["weeks"],
                    note=data["note"],
                ),
            )
            if made is not None:
                messages.success(request, _("Shift added."))
                return redirect(f"{request.path}?week={data['day'].isoformat()}")
        status = 400
    start = dt.datetime.combine(monday, dt.time(), zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), zone)
    now = timezone.now()
    days: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    pending = {
        s.shift_id: s
        for s in ShiftSwap.objects.filter(
            shift__workspace=workspace, state=SwapState.PENDING
        ).select_related("offered_to__user")
    }
    for shift in rota.shifts_between(workspace, start, end):
        local_start, local_end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
        day = max(local_start.date(), monday)
        days[day].append(
            {
                "shift": shift,
                "start": local_start,
                "end": local_end,
                "now": shift.starts_at <= now < shift.ends_at,
                "mine": shift.member_id == me.pk,
                "past": shift.ends_at <= now,
                "swap": pending.get(shift.pk),
            }
        )
    week = [
        {
            "day": monday + dt.timedelta(days=i),
            "shifts": days.get(monday + dt.timedelta(days=i), []),
        }
        for i in range(7)
    ]
    status_now = rota.status(workspace, now)
    mine_upcoming = list(
        RotaShift.objects.filter(member=me, ends_at__gt=now).order_by("starts_at")[:20]
    )
    colleagues_shifts = list(
        RotaShift.objects.filter(workspace=workspace, ends_at__gt=now)
        .exclude(member=me)
        .select_related("member__user")
        .order_by("starts_at")[:100]
    )
    return render(
        request,
        "care/rota.html",
        _context(
            me,
            "rota",
            form=form,
            week=week,
            monday=monday,
            previous=monday - dt.timedelta(days=7),
            following=monday + dt.timedelta(days=7),
            today=now.astimezone(zone).date(),
            zone=workspace.time_zone,
            status=status_now,
            opens_at=_local(status_now.opens_at, status_now.zone),
            swap_form=SwapForm(workspace=workspace, exclude=me.pk),
            mine=mine_upcoming,
            colleagues_shifts=colleagues_shifts,
            asked_of_me=ShiftSwap.objects.filter(
                offered_to=me, state=SwapState.PENDING
            ).select_related("shift", "requested_by__user", "in_exchange"),
            my_requests=ShiftSwap.objects.filter(
                requested_by=me, state=SwapState.PENDING
            ).select_related("shift", "offered_to__user"),
            can_reply=can(me, "inbox.reply"),
        ),
        status=status,
    )


@require_POST
def shift_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    require(me, "inbox.configure")
    shift: RotaShift = RotaShift.objects.get_for(me, pk=pk)
    if not _confirmed(request):
        return redirect("care_rota", ws=ws)
    try:
        actions.delete_shift(shift, by=me)
        messages.success(request, _("Shift removed."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("care_rota", ws=ws)


@require_POST
def swap_request(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    shift: RotaShift = RotaShift.objects.select_related("member__user").get_for(me, pk=pk)
    form = SwapForm(request.POST, workspace=me.workspace, exclude=shift.member_id)
    if not form.is_valid():
        messages.error(request, _("Choose a colleague."))
        return redirect("care_rota", ws=ws)
    exchange = None
    if form.cleaned_data.get("in_exchange"):
        exchange = RotaShift.objects.filter(
            pk=form.cleaned_data["in_exchange"], workspace=me.workspace
        ).first()
    try:
        actions.request_swap(
            shift,
            by=me,
            offered_to=form.cleaned_data["offered_to"],
            in_exchange=exchange,
            message=form.cleaned_data["message"],
        )
        messages.success(request, _("Asked. Your colleague is told."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("care_rota", ws=ws)


@require_POST
def swap_answer(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    swap = ShiftSwap.objects.visible_to(me).filter(pk=pk).first()
    if swap is None:
        raise Http404("not found")
    try:
        if request.POST.get("answer") == "cancel":
            actions.cancel_swap(swap, by=me)
            messages.success(request, _("Swap withdrawn."))
        else:
            accept = request.POST.get("answer") == "accept"
            actions.answer_swap(swap, by=me, accept=accept)
            messages.success(
                request,
                _("The shift is yours.") if accept else _("Declined. Your colleague is told."),
            )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("care_rota", ws=ws)


# --- metrics -------------------------------------------------------------------------------------

PERIODS = (7, 30, 90)


@require_GET
def metrics_page(request: HttpRequest, ws: str) -> HttpResponse:
    from .metrics import summary
    from .models import WebcareStat

    me = _social(request)
    workspace = me.workspace
    zone = ZoneInfo(workspace.time_zone)
    try:
        days = int(request.GET.get("days", "7"))
    except ValueError:
        days = 7
    if days not in PERIODS:
        days = 7
    until = timezone.now()
    since = until - dt.timedelta(days=days)
    rows = WebcareStat.objects.visible_to(me).filter(hour__gte=since, hour__lte=until)
    result = summary(rows, zone, since, until)
    departments = dict(Department.objects.filter(workspace=workspace).values_list("pk", "name"))
    people = {
        m.pk: m.user.display_name
        for m in Member.objects.filter(workspace=workspace).select_related("user")
    }
    by_department = sorted(
        (
            (departments.get(pk, "") if pk else _("The social media team"), totals)
            for pk, totals in result.by_department.items()
        ),
        key=lambda item: -item[1].inbound,
    )
    by_member = sorted(
        (
            (people.get(pk, "") if pk else _("Nobody (unassigned)"), totals)
            for pk, totals in result.by_assignee.items()
        ),
        key=lambda item: -item[1].first_responses,
    )
    peak = max(result.by_hour_of_day) or 1
    hours_chart = [
        {"hour": hour, "count": count, "percent": round(100 * count / peak)}
        for hour, count in enumerate(result.by_hour_of_day)
    ]
    return render(
        request,
        "care/metrics.html",
        _context(
            me,
            "metrics",
            days=days,
            periods=PERIODS,
            total=result.total,
            by_department=by_department,
            by_member=by_member,
            hours_chart=hours_chart,
            by_day=result.by_day,
            last_refresh=rows.order_by("-hour").values_list("hour", flat=True).first(),
        ),
    )


@require_POST
def correct(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """A person corrects triage on a conversation (the form is ``care/_correct.html``)."""
    from portevoix.inbox.models import Conversation

    from .forms import CorrectForm

    me = _reader(request)
    require(me, "inbox.route")
    conversation: Conversation = Conversation.objects.get_for(me, pk=pk)
    form = CorrectForm(request.POST, workspace=me.workspace)
    if form.is_valid():
        try:
            actions.correct_route(
                conversation,
                by=me,
                intent=form.cleaned_data["intent"] or None,
                department=form.cleaned_data["department"] or None,
            )
            messages.success(request, _("Corrected. Triage learns from it."))
        except ActionRefused as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Choose an intent or a department."))
    target = request.POST.get("next", "")
    from django.utils.http import url_has_allowed_host_and_scheme

    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("inbox", ws=ws)
