from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import QueryKind
from .query import MAX_LENGTH


class QueryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("About"), choices=QueryKind.choices)
    text = forms.CharField(
        label=_("Query"),
        max_length=MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "query-text"}),
        help_text=_(
            'Words, "exact phrases", AND, OR, NOT or -, parentheses, "two words"~5 or '
            "x NEAR/5 y, lumi* for words that start so, lang:fr, -author:handle."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
