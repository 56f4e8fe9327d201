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


class IntegrationForm(forms.Form):
    """A CRM or helpdesk integration; credentials left blank on a change are kept."""

    name = forms.CharField(label=_("Name"), max_length=80)
    preset = forms.ChoiceField(label=_("System"), choices=[])
    record_kind = forms.ChoiceField(label=_("Creates"), choices=[])
    kind = forms.ChoiceField(label=_("Delivered by"), choices=[])
    url = forms.CharField(
        label=_("Endpoint"),
        max_length=500,
        required=False,
        help_text=_("Generic system over HTTP: the address that receives a JSON POST."),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("Delivered by e-mail: the address of the CRM's or helpdesk's mailbox."),
    )
    mapping = forms.CharField(
        label=_("Field mapping (JSON)"),
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        required=False,
        help_text=_(
            '{"key in the body": "source field"}; dots in a key nest it '
            '("properties.email"); "=text" sends a constant. Empty: the system\'s usual fields.'
        ),
    )
    auth_header = forms.CharField(
        label=_("Authorization header"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Sent as is (Bearer …); kept encrypted, never shown again. Blank: unchanged."),
    )
    oauth_client_id = forms.CharField(label=_("OAuth client id"), max_length=200, required=False)
    oauth_client_secret = forms.CharField(
        label=_("OAuth client secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("HubSpot or Salesforce: the app's client id and secret."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        from portevoix.api.models import IntegrationKind, IntegrationPreset, RecordKind

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["preset"].choices = IntegrationPreset.choices  # type: ignore[attr-defined]
        self.fields["record_kind"].choices = RecordKind.choices  # type: ignore[attr-defined]
        self.fields["kind"].choices = IntegrationKind.choices  # type: ignore[attr-defined]

    def clean_mapping(self) -> object:
        import json

        raw = self.cleaned_data["mapping"].strip()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(
                _("This is not JSON (line %(line)s): %(error)s")
                % {"line": getattr(exc, "lineno", "?"), "error": getattr(exc, "msg", str(exc))}
            ) from None


class HandToCrmForm(forms.Form):
    integration = forms.ChoiceField(label=_("Create in"), choices=[])
    note = forms.CharField(
        label=_("Note for the team there"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )

    def __init__(self, *args: object, integrations: object = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["integration"].choices = [  # type: ignore[attr-defined]
            (str(i.pk), f"{i.name} ({i.get_record_kind_display()})")
            for i in integrations  # type: ignore[attr-defined]
        ]
