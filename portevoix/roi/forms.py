"""Forms of the money pages: they parse and show; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portevoix.channels.models import Channel
from portevoix.core.models import Member

from .models import LeadStatus

MAX_UPLOAD = 5 * 1024 * 1024


def _choices_of(queryset: Any, empty: str) -> list[tuple[str, str]]:
    return [("", empty), *[(str(o.pk), str(getattr(o, "name", o))) for o in queryset]]


class LeadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=LeadStatus.choices)
    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=30,
        help_text=_("In the workspace’s currency; blank if not known yet."),
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=())
    campaign = forms.ChoiceField(label=_("Campaign"), required=False, choices=())
    occurred_on = forms.DateField(
        label=_("Came in on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    closed_on = forms.DateField(
        label=_("Closed on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For a won or lost deal (blank: today)."),
    )
    external_id = forms.CharField(label=_("Id in the CRM"), max_length=200, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        from portevoix.publishing.models import Campaign

        super().__init__(*args, **kwargs)
        channel_field = self.fields["channel"]
        assert isinstance(channel_field, forms.ChoiceField)
        channel_field.choices = _choices_of(
            Channel.objects.visible_to(member).order_by("name"), str(_("Not known"))
        )
        campaign_field = self.fields["campaign"]
        assert isinstance(campaign_field, forms.ChoiceField)
        campaign_field.choices = _choices_of(
            Campaign.objects.visible_to(member).order_by("name"), str(_("Not known"))
        )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    dry_run = forms.BooleanField(label=_("Only check the file (save nothing)"), required=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("A file of at most 5 MB."))
        return upload


class MoneySettingsForm(forms.Form):
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    short_links_default = forms.BooleanField(
        label=_("Count clicks with short links in new posts"), required=False
    )


def _set_choices(form: forms.Form, name: str, choices: list[tuple[str, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class BoostForm(forms.Form):
    post = forms.ChoiceField(
        label=_("Post"),
        required=False,
        choices=(),
        help_text=_("The boosted post; its campaign and channel are filled in from it."),
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=())
    campaign = forms.ChoiceField(label=_("Campaign"), required=False, choices=())
    audience = forms.CharField(
        label=_("Target group"),
        max_length=300,
        required=False,
        help_text=_("Who the promotion was shown to (ages, places, interests)."),
    )
    budget = forms.CharField(label=_("Budget"), max_length=30, required=False)
    spent = forms.CharField(
        label=_("Spent"), max_length=30, help_text=_("In the workspace’s currency.")
    )
    impressions = forms.IntegerField(label=_("Impressions"), required=False, min_value=0)
    clicks = forms.IntegerField(label=_("Clicks"), required=False, min_value=0)
    leads = forms.IntegerField(label=_("Leads"), required=False, min_value=0)
    start_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        from portevoix.publishing.models import Campaign, Post, PostKind

        super().__init__(*args, **kwargs)
        posts = (
            Post.objects.visible_to(member)
            .filter(kind=PostKind.POST)
            .filter(publications__published_at__isnull=False)
            .distinct()
            .order_by("-created_at")[:200]
        )
        _set_choices(
            self,
            "post",
            [
                ("", str(_("Not a post (an ad of its own)"))),
                *[(str(p.pk), f"#{p.pk} · {(p.title or p.text)[:60]}") for p in posts],
            ],
        )
        _set_choices(
            self,
            "channel",
            _choices_of(Channel.objects.visible_to(member).order_by("name"), str(_("Not known"))),
        )
        _set_choices(
            self,
            "campaign",
            _choices_of(Campaign.objects.visible_to(member).order_by("name"), str(_("Not known"))),
        )


class BudgetForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=())
    campaign = forms.ChoiceField(label=_("Campaign"), required=False, choices=())
    start_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    planned = forms.CharField(
        label=_("Planned amount"), max_length=30, help_text=_("In the workspace’s currency.")
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        from portevoix.publishing.models import Campaign

        super().__init__(*args, **kwargs)
        _set_choices(
            self,
            "channel",
            _choices_of(
                Channel.objects.visible_to(member).order_by("name"), str(_("Every channel"))
            ),
        )
        _set_choices(
            self,
            "campaign",
            _choices_of(
                Campaign.objects.visible_to(member).order_by("name"), str(_("Every campaign"))
            ),
        )
