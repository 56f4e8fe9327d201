"""Forms of the inbox pages. They parse; the actions decide."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Department, Member, Workspace
from portevoix.inbox.models import Label, Priority

LANGUAGE_CHOICES = [("", _("Any language")), ("fr", _("French")), ("en", _("English"))]


def aware(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A wall-clock time read in ``zone``; a time that does not exist there (the hour skipped
    when clocks go forward) or that exists twice (when they go back) is refused."""
    if value.tzinfo is not None:
        return value
    early = value.replace(tzinfo=zone, fold=0)
    late = value.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        raise forms.ValidationError(
            _("This time happens twice that night (the clocks go back): choose another."),
            code="ambiguous",
        )
    back = early.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if back != value:
        raise forms.ValidationError(
            _("This time does not exist that night (the clocks go forward): choose another."),
            code="gap",
        )
    return early


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input read in a given time zone (the form says which)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *args: Any, zone: dt.tzinfo | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)
        self.zone = zone or timezone.get_current_timezone()

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return aware(value.replace(tzinfo=None) if value.tzinfo else value, self.zone)
        parsed = None
        for fmt in list(self.input_formats or []):
            try:
                parsed = dt.datetime.strptime(str(value).strip(), fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return aware(parsed, self.zone)


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Answer"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10000,
        required=False,
    )
    private = forms.TypedChoiceField(
        label=_("Where"),
        choices=[("0", _("In public, under the message")), ("1", _("In private"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    image = forms.FileField(label=_("Image"), required=False)
    alt_text = forms.CharField(label=_("Image description"), max_length=1500, required=False)
    resolve = forms.BooleanField(label=_("Resolve once sent"), required=False)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Private note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        help_text=_("Only the team sees it. Type @ and a colleague's name to tell them."),
    )


class HandOffForm(forms.Form):
    note = forms.CharField(
        label=_("What you need from them"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        required=False,
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"] = forms.ModelChoiceField(
            queryset=Department.objects.filter(workspace=workspace, is_active=True),
            label=_("Department"),
        )
        self.order_fields(["department", "note"])


class HandOffLinkForm(forms.Form):
    recipient = forms.CharField(
        label=_("For whom"),
        max_length=200,
        required=False,
        help_text=_("Their name, so that you know whose link it is."),
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=14, initial=3)


class ExternalAnswerForm(forms.Form):
    """What someone without an account writes through a hand-off link."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    text = forms.CharField(
        label=_("Your answer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10000,
        required=False,
        help_text=_("The social team reads it and sends it to the customer."),
    )


class SnoozeForm(forms.Form):
    def __init__(self, *args: Any, zone: dt.tzinfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["until"] = LocalDateTimeField(label=_("Until"), zone=zone)


class AssignForm(forms.Form):
    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = forms.ModelChoiceField(
            queryset=members, required=False, label=_("Assignee"), empty_label=_("— nobody —")
        )


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.NORMAL
    )


class LabelsForm(forms.Form):
    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["labels"] = forms.ModelMultipleChoiceField(
            queryset=Label.objects.filter(workspace=workspace),
            required=False,
            label=_("Labels"),
            widget=forms.CheckboxSelectMultiple,
        )


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    color = forms.CharField(
        label=_("Colour"),
        max_length=7,
        initial="#5b6475",
        widget=forms.TextInput(attrs={"type": "color"}),
    )


class CustomerNotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes about this customer"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
    )


class CannedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, required=False)
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_(
            "Variables: {customer_name}, {customer_handle}, {agent_name}, {brand}, {channel}."
        ),
    )


class OfferForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 2}))
    link = forms.URLField(label=_("Link"), max_length=500, required=False, assume_scheme="https")
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, required=False)
    keywords = forms.CharField(
        label=_("Keywords"),
        max_length=300,
        required=False,
        help_text=_("Products or words, separated by commas: a message naming one gets it first."),
    )

    def __init__(self, *args: Any, zone: dt.tzinfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["valid_from"] = LocalDateTimeField(label=_("Valid from"), zone=zone)
        self.fields["valid_until"] = LocalDateTimeField(label=_("Valid until"), zone=zone)


class ApprovalRuleForm(forms.Form):
    RULES = [
        ("default", _("Default (agents: yes; the social team: no)")),
        ("yes", _("Public answers need approval")),
        ("no", _("Public answers go out at once")),
    ]
    rule = forms.ChoiceField(label=_("Rule"), choices=RULES)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"] = forms.ModelChoiceField(
            queryset=Department.objects.filter(workspace=workspace, is_active=True),
            required=False,
            label=_("Department"),
            empty_label=_("— none —"),
        )
        self.fields["member"] = forms.ModelChoiceField(
            queryset=Member.objects.filter(workspace=workspace, is_active=True).select_related(
                "user"
            ),
            required=False,
            label=_("Member"),
            empty_label=_("— none —"),
        )
        self.fields["member"].label_from_instance = lambda m: str(m.user)  # type: ignore[attr-defined]
        self.order_fields(["department", "member", "rule"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("department")) == bool(data.get("member")):
            raise forms.ValidationError(_("Choose a department or a member."))
        return data


def zone_of(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC
