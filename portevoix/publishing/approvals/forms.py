"""Forms of the approval, compliance and pause pages. They parse; the actions decide."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import MATRIX, Role, can
from portevoix.publishing.approvals.models import RuleKind, Severity
from portevoix.publishing.models import Campaign

TEXTAREA = forms.Textarea(attrs={"rows": 4})


def wall_clock(value: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    """A browser's wall-clock time in ``zone``; None for a time that does not exist there (a
    DST gap). An ambiguous time (the hour that repeats) is the first one."""
    if value is None:
        return None
    naive = value.replace(tzinfo=None)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware


class ChannelChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.network_label})"


def channel_field(workspace: Workspace, label: Any, help_text: Any = "") -> ChannelChoices:
    return ChannelChoices(
        queryset=Channel.objects.filter(workspace=workspace).exclude(state="disconnected"),
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.CheckboxSelectMultiple,
    )


class MemberChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user} ({obj.get_role_display()})"


APPROVER_MODES = (
    ("anyone", _("Anyone who may approve posts (admins and managers)")),
    ("person", _("One person")),
    ("role", _("One role")),
)


class ApprovalSettingsForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Who approves"),
        choices=APPROVER_MODES,
        widget=forms.RadioSelect,
        help_text=_("One approval, never a committee; plus the compliance steps below."),
    )
    approver = MemberChoice(
        queryset=Member.objects.none(),
        required=False,
        label=_("The person"),
        help_text=_("Approval follows experience, not job title."),
    )
    approver_role = forms.ChoiceField(label=_("The role"), required=False)
    everyone = forms.BooleanField(
        label=_("Every post needs approval, whoever writes it (a launch, a sensitive period)"),
        required=False,
    )
    everyone_until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    remind_after_hours = forms.IntegerField(
        label=_("Remind the approvers after (hours)"), min_value=1, max_value=168, initial=4
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.zone = ZoneInfo(workspace.time_zone)
        members = [
            m
            for m in Member.objects.filter(workspace=workspace, is_active=True).select_related(
                "user"
            )
            if can(m, "post.view")
        ]
        approver = self.fields["approver"]
        assert isinstance(approver, forms.ModelChoiceField)
        approver.queryset = Member.objects.filter(pk__in=[m.pk for m in members]).select_related(
            "user"
        )
        role = self.fields["approver_role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [("", "—")] + [
            (r.value, r.label) for r in Role if r != Role.ADMIN and "post.view" in MATRIX[r.value]
        ]
        self.fields["everyone_until"].help_text = _(
            "In the workspace's time zone (%(zone)s). Empty: until you switch it off."
        ) % {"zone": workspace.time_zone}
        self.fields["channels"] = channel_field(
            workspace,
            _("Channels where every post needs approval"),
            _("A sensitive account: every post there waits for approval."),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mode = data.get("mode")
        if mode == "person" and not data.get("approver"):
            self.add_error("approver", _("Choose the person."))
        if mode == "role" and not data.get("approver_role"):
            self.add_error("approver_role", _("Choose the role."))
        if data.get("everyone_until") is not None:
            until = wall_clock(data["everyone_until"], self.zone)
            if until is None:
                self.add_error(
                    "everyone_until",
                    _("This time does not exist in %(zone)s (the clocks go forward).")
                    % {"zone": self.workspace.time_zone},
                )
            data["everyone_until"] = until
        return data


TRUST_CHOICES = (
    ("default", _("As the role says")),
    ("yes", _("Publishes directly")),
    ("no", _("Submits for approval")),
)


class TrustForm(forms.Form):
    trust = forms.ChoiceField(label=_("Publishing"), choices=TRUST_CHOICES)

    def value(self) -> bool | None:
        return {"default": None, "yes": True, "no": False}[self.cleaned_data["trust"]]


class RouteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), label=_("Department that checks")
    )
    words = forms.CharField(
        label=_("Topic words"),
        required=False,
        widget=TEXTAREA,
        help_text=_(
            "One word or phrase a line (case and accents do not matter): crédit, taux, santé..."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = Department.objects.filter(workspace=workspace, is_active=True)
        self.fields["channels"] = channel_field(
            workspace, _("Channels"), _("Every post on these channels goes to the department.")
        )


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=RuleKind.choices)
    severity = forms.ChoiceField(
        label=_("When broken"), choices=Severity.choices, widget=forms.RadioSelect
    )
    values = forms.CharField(
        label=_("Words, disclaimer, sites or expression"),
        widget=TEXTAREA,
        help_text=_(
            "Banned words: one a line. Disclaimer: its text. Sites: one a line "
            "(shop.example.com). Regular expression: one line."
        ),
    )
    topic = forms.CharField(
        label=_("Disclaimer required when the text mentions"),
        required=False,
        widget=TEXTAREA,
        help_text=_("One word a line. Empty: on every post."),
    )
    message = forms.CharField(
        label=_("Reason shown"),
        max_length=300,
        required=False,
        help_text=_("Why the rule exists, shown with what it finds."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"] = channel_field(
            workspace, _("Only on these channels"), _("None ticked: on every channel.")
        )


class BrandGuideForm(forms.Form):
    tone = forms.CharField(label=_("Tone of voice"), required=False, widget=TEXTAREA)
    use_words = forms.CharField(
        label=_("Words we use"), required=False, widget=TEXTAREA, help_text=_("One a line.")
    )
    avoid_words = forms.CharField(
        label=_("Words we avoid"),
        required=False,
        widget=TEXTAREA,
        help_text=_("One a line; pointed out in the text, as warnings."),
    )


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to request changes or to reject: the author reads it."),
    )
    fingerprint = forms.CharField(widget=forms.HiddenInput, required=False)


class PauseForm(forms.Form):
    scope = forms.ChoiceField(label=_("Pause"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        help_text=_("Shown in the banner on every page."),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("workspace", _("The whole workspace"))]
        channels = Channel.objects.filter(workspace=workspace).exclude(state="disconnected")
        choices += [
            (f"channel:{c.pk}", _("Channel: %(name)s") % {"name": c.name}) for c in channels
        ]
        campaigns = Campaign.objects.filter(workspace=workspace, cancelled_at__isnull=True)
        choices += [
            (f"campaign:{c.pk}", _("Campaign: %(name)s") % {"name": c.name}) for c in campaigns
        ]
        scope = self.fields["scope"]
        assert isinstance(scope, forms.ChoiceField)
        scope.choices = choices


class CancelCampaignForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), label=_("Campaign"))
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    confirm = forms.BooleanField(
        label=_("Yes: cancel everything of this campaign that has not gone out"), required=True
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign = self.fields["campaign"]
        assert isinstance(campaign, forms.ModelChoiceField)
        campaign.queryset = Campaign.objects.filter(workspace=workspace, cancelled_at__isnull=True)
