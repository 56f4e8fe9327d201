"""The scheduling form: what to publish, with which image, and when, in the audience's zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portevoix.publishing.scheduling import ScheduleTimeError, parse_when


class ScheduleField(forms.Field):
    """A moment typed as a wall-clock time in ``zone`` (or with an explicit offset, kept).

    Unlike Django's ``DateTimeField`` it never reads the time in the member's own zone, and it
    refuses a time that falls in a daylight-saving gap or overlap of ``zone`` instead of
    guessing (see :mod:`portevoix.publishing.scheduling`).
    """

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *, zone: ZoneInfo, **kwargs: Any) -> None:
        self.zone = zone
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value
        try:
            return parse_when(str(value), self.zone)
        except ScheduleTimeError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class QuickPostForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 4}))
    image = forms.FileField(
        label=gettext_lazy("Image"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}
        ),
    )
    alt_text = forms.CharField(
        label=gettext_lazy("Image description"),
        required=False,
        max_length=1500,
        help_text=gettext_lazy("Read aloud to blind and partially sighted people."),
    )

    def __init__(self, *args: Any, zone: ZoneInfo, zone_is_channels: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["at"] = ScheduleField(
            zone=zone,
            required=False,
            label=_("Publish at (%(zone)s time)") % {"zone": zone.key},
            help_text=(
                _("In %(zone)s, this channel’s audience time zone. Empty: now.")
                if zone_is_channels
                else _("In %(zone)s, the workspace’s time zone, used by this channel. Empty: now.")
            )
            % {"zone": zone.key},
        )

    def clean_image(self) -> Any:
        image = self.cleaned_data.get("image")
        limit: int = settings.PORTEVOIX_MAX_UPLOAD_BYTES
        if image and image.size > limit:
            raise forms.ValidationError(
                _("This file weighs %(size)s MB; the limit is %(limit)s MB.")
                % {"size": f"{image.size / 1_000_000:.1f}", "limit": f"{limit / 1_000_000:.0f}"},
                code="too_large",
            )
        return image


class MarkPublishedForm(forms.Form):
    """A person says the post is out: its link, or its id, or one of the candidates found."""

    url = forms.CharField(
        label=gettext_lazy("Link to the post on the network"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
    )
    post_id = forms.CharField(
        label=gettext_lazy("Or its id on the network"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Only when the post has no link (the sandbox network has none)."),
    )
    candidate = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
