"""Forms of the webcare pages. They parse; the actions decide and refuse."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import Case, When
from django.utils.text import capfirst
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.forms import ZONE_CHOICES
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import can
from portevoix.inbox.models import Priority
from portevoix.strategy.responsibility import webcare_responsible_ids

from . import hours, routing
from .models import AfterHours, BusinessCalendar, Strategy

DAY_NAMES = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)
RULE_PRIORITIES = [
    ("", _("— unchanged —")),
    ("low", _("Low")),
    ("normal", _("Normal")),
    ("high", _("High")),
    ("urgent", _("Urgent")),
]


def replying_members(workspace: Workspace) -> list[Member]:
    members = Member.objects.filter(workspace=workspace, is_active=True).select_related("user")
    return [m for m in members if can(m, "inbox.reply")]


class MemberChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.user.display_name)


class SettingsForm(forms.Form):
    calendar = forms.ModelChoiceField(
        queryset=BusinessCalendar.objects.none(),
        required=False,
        label=_("The team's hours"),
        empty_label=_("Around the clock"),
        help_text=_("Out of these hours, the rota answers, or the team says it is closed."),
    )
    after_hours = forms.ChoiceField(
        label=_("Outside these hours"), choices=AfterHours.choices, widget=forms.RadioSelect
    )
    closed_reply_fr = forms.CharField(
        label=_("Automatic reply when closed, in French"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("{opens} becomes when the team will answer (“lundi 15 juin à 09:00”)."),
    )
    closed_reply_en = forms.CharField(
        label=_("Automatic reply when closed, in English"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Customers who write in another language get the English one."),
    )
    assignment = forms.ChoiceField(label=_("Automatic assignment"), choices=Strategy.choices)
    default_capacity = forms.IntegerField(
        label=_("Open conversations per person"),
        min_value=1,
        max_value=500,
        help_text=_("Automatic assignment gives nobody more than this, unless set per person."),
    )
    careful_triage = forms.BooleanField(
        label=_("Careful triage: every message read by the language model"),
        required=False,
        help_text=_(
            "Better tone and specific complaints (on the last blind test, 0.94 instead of 0.90 "
            "for the tone, 0.99 instead of 0.98 for specific complaints; the same routing, "
            "0.94–0.95), at about 10 ms a message instead of 0.9: about 100 messages a second "
            "for each worker process instead of 1,100. Leave it off when the inbox receives "
            "more than that at its peaks."
        ),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["calendar"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = BusinessCalendar.objects.filter(workspace=workspace)

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "calendar": data["calendar"],
            "after_hours": data["after_hours"],
            "closed_replies": {"fr": data["closed_reply_fr"], "en": data["closed_reply_en"]},
            "assignment": data["assignment"],
            "default_capacity": data["default_capacity"],
            "careful_triage": data["careful_triage"],
        }


class AgentForm(forms.Form):
    available = forms.BooleanField(label=_("Available"), required=False)
    auto_assign = forms.ChoiceField(
        label=_("Receives conversations automatically"),
        required=False,
        choices=[("", _("By role")), ("yes", _("Yes")), ("no", _("No"))],
    )
    capacity = forms.IntegerField(label=_("Capacity"), required=False, min_value=1, max_value=500)


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=ZONE_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index, name in enumerate(DAY_NAMES):
            self.fields[f"day_{index}"] = forms.CharField(
                label=capfirst(name),
                required=False,
                max_length=200,
                help_text=_("For example 09:00-12:30, 13:30-18:00; empty: closed."),
                widget=forms.TextInput(attrs={"placeholder": "09:00-12:30, 13:30-18:00"}),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        week = []
        for index in range(7):
            try:
                week.append([list(s) for s in hours.parse_slots(data.get(f"day_{index}") or "")])
            except hours.HoursError as exc:
                self.add_error(f"day_{index}", str(exc))
        data["week"] = week
        return data

    @staticmethod
    def initial_for(calendar: BusinessCalendar) -> dict[str, Any]:
        initial: dict[str, Any] = {"name": calendar.name, "time_zone": calendar.time_zone}
        for index, slots in enumerate(calendar.week):
            initial[f"day_{index}"] = hours.format_slots(slots)
        return initial


class HolidayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(label=_("Name"), max_length=80, required=False)
    every_year = forms.BooleanField(label=_("Every year"), required=False)


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, label=_("Channel"), empty_label=_("Any")
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=[("", _("Any")), *Priority.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    calendar = forms.ModelChoiceField(
        queryset=BusinessCalendar.objects.none(),
        required=False,
        label=_("Counted in the hours of"),
        empty_label=_("Around the clock"),
    )
    first_response_minutes = forms.IntegerField(
        label=_("First response within (minutes)"), required=False, min_value=1
    )
    next_response_minutes = forms.IntegerField(
        label=_("Next response within (minutes)"), required=False, min_value=1
    )
    resolution_minutes = forms.IntegerField(
        label=_("Resolved within (minutes)"), required=False, min_value=1
    )
    warn_at_percent = forms.IntegerField(
        label=_("Warn at (% of the target)"), min_value=10, max_value=99, initial=80
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (
            ("channel", Channel.objects.filter(workspace=workspace)),
            ("calendar", BusinessCalendar.objects.filter(workspace=workspace)),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    condition = forms.CharField(
        label=_("When"),
        required=False,
        max_length=routing.MAX_SOURCE,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=_("Empty: every message. See the reference below."),
    )
    department = forms.ChoiceField(label=_("Send to"), required=False)
    assignee = MemberChoiceField(
        queryset=Member.objects.none(),
        required=False,
        label=_("Assign to"),
        empty_label=_("— unchanged —"),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=RULE_PRIORITIES, required=False)
    labels = forms.CharField(
        label=_("Labels"), required=False, max_length=400, help_text=_("Separated by commas.")
    )
    auto_reply_fr = forms.CharField(
        label=_("Automatic reply in French"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    auto_reply_en = forms.CharField(
        label=_("Automatic reply in English"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    hide = forms.BooleanField(
        label=_("Hide it (spam and abuse only)"),
        required=False,
        help_text=_("Marked as spam, out of the queues. Never for an unhappy customer."),
    )
    escalate = forms.BooleanField(label=_("Escalate to the managers"), required=False)
    stop = forms.BooleanField(label=_("Stop here: later rules do not apply"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(workspace=workspace, is_active=True)
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _t("— unchanged —")),
            (routing.SOCIAL_TEAM, _t("The social media team")),
            *[(d.code, d.name) for d in departments],
        ]
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = Member.objects.filter(
            pk__in=[m.pk for m in replying_members(workspace)]
        ).select_related("user")

    def actions(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "department": data["department"],
            "assignee": data["assignee"].pk if data["assignee"] else None,
            "priority": data["priority"],
            "labels": data["labels"],
            "auto_reply": {"fr": data["auto_reply_fr"], "en": data["auto_reply_en"]},
            "hide": data["hide"],
            "escalate": data["escalate"],
        }

    @staticmethod
    def initial_for(rule: Any, vocabulary: routing.Vocabulary, language: str) -> dict[str, Any]:
        actions = routing.Actions.from_json(rule.actions)
        return {
            "name": rule.name,
            "condition": routing.render(rule.conditions or {"all": []}, vocabulary, language),
            "department": actions.department,
            "assignee": actions.assignee,
            "priority": actions.priority,
            "labels": ", ".join(actions.labels),
            "auto_reply_fr": actions.auto_reply.get("fr", ""),
            "auto_reply_en": actions.auto_reply.get("en", ""),
            "hide": actions.hide,
            "escalate": actions.escalate,
            "stop": rule.stop,
            "is_active": rule.is_active,
        }


class TryForm(forms.Form):
    text = forms.CharField(
        label=_("A message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            ("comment", _("Comment")),
            ("dm", _("Private message")),
            ("mention", _("Mention")),
        ],
    )


class VipForm(forms.Form):
    handle = forms.CharField(label=_("Handle"), max_length=300)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ShiftForm(forms.Form):
    member = MemberChoiceField(queryset=Member.objects.none(), label=_("On duty"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(
        label=_("Until"),
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_("Earlier than the start: the next day."),
    )
    weeks = forms.IntegerField(
        label=_("Every week, for (weeks)"), min_value=1, max_value=26, initial=1
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(workspace.time_zone)
        field = self.fields["member"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Member.objects.filter(
            pk__in=[m.pk for m in replying_members(workspace)]
        ).select_related("user")
        # Those responsible for webcare in the responsibility matrix are listed first.
        first = webcare_responsible_ids(workspace.pk)
        if first:
            field.queryset = field.queryset.order_by(
                Case(When(pk__in=first, then=0), default=1), "user__full_name", "user__email"
            )
        for name in ("start", "end"):
            self.fields[name].help_text = _t("Time in %(zone)s.") % {"zone": workspace.time_zone}
        self.fields["end"].help_text = _t(
            "Time in %(zone)s; earlier than the start: the next day."
        ) % {"zone": workspace.time_zone}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, start, end = data.get("day"), data.get("start"), data.get("end")
        if day is None or start is None or end is None:
            return data
        try:
            data["starts_at"] = wall_time(day, start, self.zone)
            end_day = day + dt.timedelta(days=1) if end <= start else day
            data["ends_at"] = wall_time(end_day, end, self.zone)
        except ValueError as exc:
            self.add_error("start", str(exc))
        return data


def wall_time(day: dt.date, clock: dt.time, zone: ZoneInfo) -> dt.datetime:
    """An aware moment; a time the clocks skip or repeat that day is refused."""
    naive = dt.datetime.combine(day, clock)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        if back != naive:
            raise ValueError(
                _t("%(time)s does not exist on %(day)s: the clocks jump forward.")
                % {"time": clock.strftime("%H:%M"), "day": day.isoformat()}
            )
        raise ValueError(
            _t("%(time)s happens twice on %(day)s (the clocks go back): choose another time.")
            % {"time": clock.strftime("%H:%M"), "day": day.isoformat()}
        )
    return first


class SwapForm(forms.Form):
    offered_to = MemberChoiceField(queryset=Member.objects.none(), label=_("Colleague"))
    in_exchange = forms.IntegerField(required=False, widget=forms.HiddenInput)
    message = forms.CharField(label=_("Message"), max_length=300, required=False)

    def __init__(self, *args: Any, workspace: Workspace, exclude: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["offered_to"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Member.objects.filter(
            pk__in=[m.pk for m in replying_members(workspace) if m.pk != exclude]
        ).select_related("user")


LANGUAGES = dict(settings.LANGUAGES)


class CorrectForm(forms.Form):
    """What a person says a conversation really is (triage learns from it)."""

    intent = forms.ChoiceField(label=_("Intent"), required=False)
    department = forms.ChoiceField(label=_("Department"), required=False)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        from portevoix.inbox.views import INTENTS

        super().__init__(*args, **kwargs)
        intent = self.fields["intent"]
        assert isinstance(intent, forms.ChoiceField)
        intent.choices = [("", _t("— unchanged —")), *INTENTS.items()]
        department = self.fields["department"]
        assert isinstance(department, forms.ChoiceField)
        department.choices = [
            ("", _t("— unchanged —")),
            (routing.SOCIAL_TEAM, _t("The social media team")),
            *[
                (d.code, d.name)
                for d in Department.objects.filter(workspace=workspace, is_active=True)
            ],
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("intent") and not data.get("department"):
            raise forms.ValidationError(_t("Choose an intent or a department."))
        return data
