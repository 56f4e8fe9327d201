from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member
from portevoix.core.permissions import can

from .models import Severity


def _member_label(member: Member) -> str:
    return str(member.user.display_name)


class IncidentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=Member.objects.none(),
        required=False,
        help_text=_("Who leads the response (you, if nobody is chosen)."),
    )
    terms = forms.CharField(
        label=_("Terms of the crisis"),
        required=False,
        max_length=1000,
        help_text=_("Separated by commas; scheduled posts are scanned for them."),
    )

    def __init__(self, *args: Any, workspace_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = Member.objects.filter(workspace_id=workspace_id, is_active=True).select_related(
            "user"
        )
        allowed = [m.pk for m in people if can(m, "crisis.view")]
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = people.filter(pk__in=allowed).order_by("user__email")
        field.label_from_instance = _member_label  # type: ignore[method-assign,assignment]


class TermsForm(forms.Form):
    terms = forms.CharField(
        label=_("Terms of the crisis"),
        required=False,
        max_length=1000,
        help_text=_("Separated by commas; scheduled posts are scanned for them."),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened and what was done, for the post-incident report."),
    )
    resume = forms.BooleanField(
        label=_("Resume publishing as it closes"),
        required=False,
        help_text=_(
            "The posts this crisis paused go back to their times; those now too late wait on "
            "the attention page for someone to send them late or cancel them. Unticked, "
            "publishing stays paused until someone resumes it."
        ),
    )

    def __init__(self, *args: object, paused: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not paused:
            del self.fields["resume"]


#: Characters a line of the playbook's text boxes holds (a card of a three-column grid).
WRAP = 28


class PlaybookForm(forms.Form):
    tasks = forms.CharField(
        label=_("Tasks, one a line"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tall enough to read the whole list without scrolling a box inside the page (seed
        # 001's lists run to ten lines and more), one line to spare for the next task. The
        # playbook's cards hold about 28 characters a line: a longer task wraps.
        text = str(self.data.get("tasks", "") if self.is_bound else self.initial.get("tasks", ""))
        lines = sum(max(1, -(-len(line) // WRAP)) for line in text.splitlines())
        self.fields["tasks"].widget.attrs["rows"] = min(40, max(5, lines + 1))
