from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MarkPublishedForm(forms.Form):
    """A person says the post is out: its link, or its id, or one of the candidates found."""

    url = forms.CharField(
        label=_("Link to the post on the network"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
    )
    post_id = forms.CharField(
        label=_("Or its id on the network"),
        required=False,
        max_length=500,
        help_text=_("Only when the post has no link (the sandbox network has none)."),
    )
    candidate = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
