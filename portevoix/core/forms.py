from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import (
    LATENESS_LIMIT_MAX,
    LATENESS_LIMIT_MIN,
    Department,
    LatePolicy,
    Workspace,
)
from portevoix.core.permissions import Role
from portevoix.core.query import MAX_TEXT, MAX_YEAR, MIN_YEAR

COMMON_ZONES = sorted(
    z
    for z in zoneinfo.available_timezones()
    if z.startswith(("Europe/", "America/", "Africa/", "Asia/", "Australia/", "Pacific/"))
    or z == "UTC"
)
ZONE_CHOICES = [(z, z) for z in COMMON_ZONES]


def department_field(workspace: Workspace) -> forms.ModelChoiceField[Department]:
    return forms.ModelChoiceField(
        queryset=Department.objects.filter(workspace=workspace, is_active=True),
        required=False,
        label=_("Department"),
        empty_label=_("— none —"),
        help_text=_("Required for department agents: they see only what is handed to it."),
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.CONTENT)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["department"] = department_field(workspace)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["department"] = department_field(workspace)


class ExtraRolesForm(forms.Form):
    """The roles a member holds besides the main one (admins only; never admin)."""

    extra_roles = forms.MultipleChoiceField(
        label=_("Extra roles"),
        choices=[(r.value, r.label) for r in Role if r != Role.ADMIN],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "In a small team one person is often manager and content marketer too: they may "
            "do what any of their roles allows."
        ),
    )


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=ZONE_CHOICES)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for every member"), required=False
    )
    lateness_limit_minutes = forms.IntegerField(
        label=_("Lateness limit (minutes)"),
        min_value=LATENESS_LIMIT_MIN,
        max_value=LATENESS_LIMIT_MAX,
        help_text=_(
            "A post that could not go out on time (the network failed, the worker was down) is "
            "retried until it is this late: from 5 minutes to 7 days (10,080 minutes)."
        ),
    )
    when_late = forms.ChoiceField(
        label=_("When a post is later than that"),
        choices=LatePolicy.choices,
        widget=forms.RadioSelect,
    )


class WorkspaceCreateForm(forms.Form):
    name = forms.CharField(label=_("Name of the brand or company"), max_length=120)
    slug = forms.SlugField(label=_("Short name (used in addresses)"), max_length=60, required=False)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=ZONE_CHOICES, initial="Europe/Paris"
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="fr")


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    password = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Workspace default")), *settings.LANGUAGES],
        required=False,
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[("", _("Workspace default")), *ZONE_CHOICES],
        required=False,
    )


class BoundedDateField(forms.DateField):
    """A date whose year Porte-voix can compute with (see :mod:`portevoix.core.query`)."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise forms.ValidationError(
                _("Give a date between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR},
                code="out_of_range",
            )


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Who"), required=False, max_length=MAX_TEXT)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=MAX_TEXT,
        help_text=_("Its name or part of it (“role”), or its code (“member.change_role”)."),
        widget=forms.TextInput(attrs={"list": "audit-actions"}),
    )
    since = BoundedDateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = BoundedDateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
