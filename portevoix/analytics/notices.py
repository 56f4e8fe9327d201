"""What analytics tells people: an insight the analyst wrote on a chart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

INSIGHT = "analytics.insight"


def _insight_title(params: Mapping[str, Any]) -> str:
    return gettext("%(author)s wrote an insight on “%(chart)s”") % {
        "author": params.get("author", ""),
        "chart": gettext(str(params.get("chart_label", ""))),
    }


def register_kinds() -> None:
    from portevoix.notifications.kinds import Delivery, Kind, register

    register(
        Kind(
            code=INSIGHT,
            label=_("An analyst wrote an insight on a chart"),
            help=_("What the numbers say and what to change, from the analytics dashboards."),
            title=_insight_title,
            template="analytics/notifications/insight.txt",
            default=Delivery.BOTH,
            audience="analytics.view",
        )
    )
