from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portevoix.api.actions import DEFAULT_DAYS, MAX_DAYS
from portevoix.api.models import Scope


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What the token is for (“Newsroom CMS”, “Helpdesk sync”)."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A token never does more than your role allows, whatever its scopes."),
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=MAX_DAYS, initial=DEFAULT_DAYS
    )
