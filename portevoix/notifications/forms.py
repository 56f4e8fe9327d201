from __future__ import annotations

from typing import Any

from django import forms

from portevoix.notifications import kinds
from portevoix.notifications.kinds import Delivery


class PreferencesForm(forms.Form):
    """One choice per kind of notification offered to the member."""

    def __init__(self, *args: Any, offered: list[kinds.Kind], current: dict[str, str], **kw: Any):
        super().__init__(*args, **kw)
        for kind in offered:
            self.fields[kind.code] = forms.ChoiceField(
                label=kind.label,
                help_text=kind.help,
                choices=Delivery.choices,
                initial=current.get(kind.code, kind.default.value),
            )
