"""The metrics a KPI can name. The analytics app measures each key with
``measure(workspace, metric, *, channel=None, start, end)``; these keys are the contract
between the two apps, so they never change once released (add new ones instead)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


@dataclass(frozen=True)
class Metric:
    key: str
    label: _StrPromise
    unit: _StrPromise
    #: A total adds up over the period (clicks, posts): its target is "per month" and is due
    #: pro rata. A level is read at a moment or averaged (followers, a rate, minutes): its
    #: target holds "over the month".
    total: bool = False
    #: The first response time: the target is a ceiling.
    lower_is_better: bool = False


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("followers", _("Followers"), _("people")),
        Metric("follower_growth", _("Follower growth"), _("people"), total=True),
        Metric("impressions", _("Impressions"), _("views"), total=True),
        Metric("reach", _("Reach"), _("people"), total=True),
        Metric("engagements", _("Engagements"), _("interactions"), total=True),
        Metric("engagement_rate", _("Engagement rate"), _("%")),
        Metric("clicks", _("Link clicks"), _("clicks"), total=True),
        Metric("video_views", _("Video views"), _("views"), total=True),
        Metric("posts_published", _("Posts published"), _("posts"), total=True),
        Metric("mentions", _("Mentions"), _("mentions"), total=True),
        Metric("share_of_voice", _("Share of voice"), _("%")),
        Metric("leads", _("Leads"), _("leads"), total=True),
        Metric("deal_value", _("Deal value"), _("€"), total=True),
        Metric(
            "first_response_minutes",
            _("First response time"),
            _("minutes"),
            lower_is_better=True,
        ),
        Metric("sla_compliance", _("Answered within the SLA"), _("%")),
        Metric(
            "conversations_resolved", _("Conversations resolved"), _("conversations"), total=True
        ),
        Metric("profile_visits", _("Profile visits"), _("visits"), total=True),
    )
}


def metric_choices() -> list[tuple[str, _StrPromise]]:
    return [(m.key, m.label) for m in METRICS.values()]
