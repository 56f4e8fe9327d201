"""What money adds to the analytics page: the return on investment per channel and per
campaign, against the previous period, and the clicks on short links (rows for the charts,
their tables and their CSV files; see ``analytics/views.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _

from portevoix.channels.models import Channel
from portevoix.core.models import Member
from portevoix.core.permissions import can
from portevoix.reports import charts

from . import figures

#: Charts of the analytics page that show money: only who has ``money.view`` gets them.
MONEY_CHARTS = frozenset({"roi", "roi_campaigns"})
CHARTS = frozenset({"roi", "roi_campaigns", "link_clicks"})


def roi_table(
    member: Member, period: Any, channel: Channel | None, by: str
) -> list[dict[str, Any]]:
    """Rows per channel or campaign, this period and the previous one."""
    workspace = member.workspace
    previous = period.previous()
    rows = figures.roi_rows(
        workspace, period.start, period.end, period.zone, by=by, channel=channel
    )
    before = figures.roi_rows(
        workspace, previous.start, previous.end, period.zone, by=by, channel=channel
    )
    figures.compare(rows, before, by)
    for row in rows:
        if not row[by]:
            row[by] = _("No channel") if by == "channel" else _("No campaign")
    return rows


def click_rows(member: Member, period: Any, channel: Channel | None) -> list[dict[str, Any]]:
    """Short-link clicks per day, with the same day of the previous period."""
    previous = period.previous()
    now = figures.click_days(member.workspace, period.start, period.end, channel=channel)
    then = figures.click_days(member.workspace, previous.start, previous.end, channel=channel)
    shift = dt.timedelta(days=period.days)
    return [
        {
            "day": day,
            "clicks": now.get(day, 0),
            "previous_day": day - shift,
            "previous_clicks": then.get(day - shift, 0),
        }
        for day in period.each_day()
    ]


def rows(chart: str, member: Member, period: Any, channel: Channel | None) -> list[dict[str, Any]]:
    """The CSV rows of one of money's charts; 404 for a chart the member may not see."""
    if chart in MONEY_CHARTS and not can(member, "money.view"):
        raise Http404("not found")
    if chart == "roi":
        return _csv(roi_table(member, period, channel, "channel"), "channel")
    if chart == "roi_campaigns":
        return _csv(roi_table(member, period, channel, "campaign"), "campaign")
    if chart == "link_clicks":
        return click_rows(member, period, channel)
    raise Http404("not found")


def _csv(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != f"{by}_id"} for row in rows]


def context(member: Member, period: Any, channel: Channel | None) -> dict[str, Any]:
    """What the analytics page shows of money: clicks for everyone who sees analytics; the
    return on investment and the budgets only for who sees money."""
    clicks = click_rows(member, period, channel)
    result: dict[str, Any] = {
        "link_clicks": clicks,
        "link_clicks_total": sum(r["clicks"] for r in clicks),
        "link_clicks_previous": sum(r["previous_clicks"] for r in clicks),
        "link_posts": figures.clicks_by_post(
            member.workspace, period.start, period.end, channel=channel
        ),
        "sees_money": can(member, "money.view"),
    }
    if result["sees_money"]:
        from django.utils import timezone

        from .actions import money_settings

        by_channel = roi_table(member, period, channel, "channel")
        by_campaign = roi_table(member, period, channel, "campaign")
        today = timezone.localdate(timezone=period.zone)
        budgets = figures.budget_rows(member.workspace, today, current_only=True)
        result.update(
            roi_channels=by_channel,
            roi_campaigns=by_campaign,
            currency=money_settings(member.workspace).currency,
            budgets=budgets,
            over_budgets=[b for b in budgets if b["over"]],
            roi_chart={
                "channels": [str(r["channel"]) for r in by_channel],
                "spent": [float(r["spent"]) for r in by_channel],
                "previous_spent": [float(r["previous_spent"]) for r in by_channel],
                "value_won": [float(r["value_won"]) for r in by_channel],
                "cost_per_lead": [
                    float(r["cost_per_lead"]) if r["cost_per_lead"] is not None else None
                    for r in by_channel
                ],
                "previous_cost_per_lead": [
                    float(r["previous_cost_per_lead"])
                    if r["previous_cost_per_lead"] is not None
                    else None
                    for r in by_channel
                ],
                "text": {
                    "spent": _("Spent"),
                    "previous_spent": _("Spent, previous period"),
                    "value_won": _("Value of deals won"),
                    "cost_per_lead": _("Cost per lead"),
                    "previous_cost_per_lead": _("Cost per lead, previous period"),
                },
            },
        )
    result["clicks_chart"] = {
        "labels": [charts.day_label(r["day"]) for r in clicks],
        "clicks": [r["clicks"] for r in clicks],
        "previous_clicks": [r["previous_clicks"] for r in clicks],
        "text": {
            "clicks": _("Clicks on short links"),
            "previous_clicks": _("Clicks, previous period"),
        },
    }
    return result
