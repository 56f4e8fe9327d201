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


class SubscriptionForm(forms.Form):
    url = forms.URLField(
        label=_("Receiver URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Your endpoint that receives the events (HTTPS)."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=[], widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        from portevoix.api.models import Event

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["events"].choices = Event.choices  # type: ignore[attr-defined]
