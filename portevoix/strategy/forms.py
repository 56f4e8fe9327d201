"""Forms of the strategy pages. They parse; the actions decide and refuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel, StrategyLevel
from portevoix.core.models import Workspace

from .metrics import metric_choices
from .models import CANVAS_FIELDS, CanvasVersion, Goal, GoalCode, Period


class CanvasForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CanvasVersion
        fields = [*CANVAS_FIELDS, "note"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in CANVAS_FIELDS}


class ReviewForm(forms.Form):
    review_after_months = forms.IntegerField(
        label=_("Ask for a review after (months)"), min_value=1, max_value=36
    )


class GoalsForm(forms.Form):
    goals = forms.MultipleChoiceField(
        label=_("Goals"),
        choices=GoalCode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class GoalChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(GoalCode(obj.code).label)


class GoalMultipleField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(GoalCode(obj.code).label)


class ChannelStrategyForm(forms.Form):
    level = forms.ChoiceField(label=_("Level"), choices=StrategyLevel.choices)
    goals = GoalMultipleField(
        label=_("Goals it serves"),
        queryset=Goal.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["goals"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Goal.objects.filter(workspace=workspace)


class KpiForm(forms.Form):
    goal = GoalChoiceField(label=_("Goal"), queryset=Goal.objects.none())
    metric = forms.ChoiceField(label=_("Metric"), choices=metric_choices)
    target = forms.DecimalField(label=_("Target"), min_value=0, max_digits=14, decimal_places=2)
    period = forms.ChoiceField(label=_("Period"), choices=Period.choices, initial=Period.MONTH)
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.none(),
        required=False,
        empty_label=_("Every channel"),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        goal = self.fields["goal"]
        channel = self.fields["channel"]
        assert isinstance(goal, forms.ModelChoiceField)
        assert isinstance(channel, forms.ModelChoiceField)
        goal.queryset = Goal.objects.filter(workspace=workspace)
        channel.queryset = Channel.objects.filter(workspace=workspace, disconnected_at__isnull=True)


class PillarForm(forms.Form):
    name = forms.CharField(label=_("Pillar"), max_length=80)
    description = forms.CharField(label=_("What it speaks of"), max_length=300, required=False)


class PolicyForm(forms.Form):
    text = forms.CharField(
        label=_("Policy text"), widget=forms.Textarea(attrs={"rows": 14}), max_length=50000
    )
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)


class EmployeeImportForm(forms.Form):
    csv_text = forms.CharField(
        label=_("Employees (CSV)"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=500_000,
        help_text=_("One line each: name, e-mail address, department (optional)."),
    )
    csv_file = forms.FileField(label=_("…or a CSV file"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("csv_file")
        if upload is not None:
            if upload.size > 2_000_000:
                raise forms.ValidationError(_("The file is larger than 2 MB."))
            raw = upload.read()
            try:
                data["csv_text"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        if not (data.get("csv_text") or "").strip():
            raise forms.ValidationError(_("Paste the lines or choose a file."))
        return data
