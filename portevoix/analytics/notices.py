"""What analytics tells people: an insight the analyst wrote on a chart; a scheduled report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

INSIGHT = "analytics.insight"
REPORT = "analytics.report"


def _report_title(params: Mapping[str, Any]) -> str:
    return gettext("Report “%(report)s” is ready") % {"report": params.get("report", "")}


def _report_files(params: Mapping[str, Any], language: str) -> list[tuple[str, bytes, str]]:
    from portevoix.analytics.reports import attachments

    return attachments(params, language)


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
    register(
        Kind(
            code=REPORT,
            label=_("A scheduled report you receive is ready"),
            help=_("The weekly or monthly analytics report, with its PDF and CSV by e-mail."),
            title=_report_title,
            template="analytics/notifications/report.txt",
            default=Delivery.BOTH,
            audience="analytics.view",
            attachments=_report_files,
        )
    )
