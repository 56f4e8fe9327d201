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


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("followers", _("Followers"), _("people")),
        Metric("follower_growth", _("Follower growth"), _("people")),
        Metric("impressions", _("Impressions"), _("views")),
        Metric("reach", _("Reach"), _("people")),
        Metric("engagements", _("Engagements"), _("interactions")),
        Metric("engagement_rate", _("Engagement rate"), _("%")),
        Metric("clicks", _("Link clicks"), _("clicks")),
        Metric("video_views", _("Video views"), _("views")),
        Metric("posts_published", _("Posts published"), _("posts")),
        Metric("mentions", _("Mentions"), _("mentions")),
        Metric("share_of_voice", _("Share of voice"), _("%")),
        Metric("leads", _("Leads"), _("leads")),
        Metric("deal_value", _("Deal value"), _("€")),
        Metric("first_response_minutes", _("First response time"), _("minutes")),
        Metric("sla_compliance", _("Answered within the SLA"), _("%")),
        Metric("conversations_resolved", _("Conversations resolved"), _("conversations")),
        Metric("profile_visits", _("Profile visits"), _("visits")),
    )
}


def metric_choices() -> list[tuple[str, _StrPromise]]:
    return [(m.key, m.label) for m in METRICS.values()]
