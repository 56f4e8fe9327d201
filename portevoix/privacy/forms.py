"""Forms of the personal-data page: they parse and show; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portevoix.networks.registry import all_networks

from .actions import PersonError, checked_handle, normalise_handle
from .models import MAX_DAYS, MIN_DAYS


def network_choices() -> list[tuple[str, str]]:
    return [(n.name, str(n.label)) for n in all_networks()]


class PersonForm(forms.Form):
    """Who the request is about: one author on one network."""

    network = forms.ChoiceField(label=_("Network"), choices=())
    handle = forms.CharField(
        label=_("Handle"),
        max_length=300,
        help_text=_("As on their profile, with or without the @ (alice.bsky.social)."),
    )
    reference = forms.CharField(
        label=_("Request reference"),
        max_length=80,
        required=False,
        help_text=_("Your own reference for the request (a ticket number), kept in the audit log."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["network"].choices = network_choices()  # type: ignore[attr-defined]

    def clean_handle(self) -> str:
        try:
            return checked_handle(self.cleaned_data["handle"])
        except PersonError as exc:
            if exc.code == "no_handle":
                raise forms.ValidationError(_("Give the person's handle.")) from None
            raise forms.ValidationError(_("A handle has no spaces.")) from None


class EraseForm(PersonForm):
    """The erasure, confirmed by typing the handle again."""

    confirm = forms.CharField(
        label=_("Type the handle again to confirm"),
        max_length=300,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("network", "handle", "reference"):
            self.fields[name].widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        handle = data.get("handle")
        confirm = normalise_handle(data.get("confirm") or "")
        if handle and confirm.casefold() != handle.casefold():
            self.add_error("confirm", _("This is not the same handle: nothing was erased."))
        return data


class RetentionForm(forms.Form):
    conversations_days = forms.IntegerField(
        label=_("Delete closed conversations after (days)"),
        required=False,
        min_value=MIN_DAYS,
        max_value=MAX_DAYS,
        help_text=_(
            "Resolved conversations and spam whose last message is older, with their messages "
            "and the customers left with nothing. Blank: kept until erased."
        ),
    )
    mentions_days = forms.IntegerField(
        label=_("Delete listening mentions after (days)"),
        required=False,
        min_value=MIN_DAYS,
        max_value=MAX_DAYS,
        help_text=_("Public posts heard by listening, by the date they were posted. Blank: kept."),
    )
