"""The numbers money gives the dashboards: leads and deal values for a period (the strategy's
KPIs ``leads`` and ``deal_value``, through ``analytics.kpis.measure``), the return on
investment per channel and campaign, short-link clicks, budgets against spend.

Every function returns plain rows that the pages draw, the tables list and the CSV files write.
A boost's spend and results are spread evenly over its days, so a period that holds half of a
boost's days counts half of it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum

from portevoix.channels.models import Channel
from portevoix.core.models import Workspace

from .models import Boost, Budget, Lead, LeadStatus, LinkClicks


def lead_kpi(
    workspace: Workspace,
    metric: str,
    *,
    channel: Channel | None,
    start: dt.datetime,
    end: dt.datetime,
) -> float | None:
    """``leads``: leads that came in during ``[start, end)``; ``deal_value``: the value of the
    deals won in it. ``None`` while the workspace has recorded no lead at all (not measured);
    0 once it does."""
    leads = Lead.objects.filter(workspace=workspace)
    if not leads.exists():
        return None
    if channel is not None:
        leads = leads.filter(channel=channel)
    if metric == "leads":
        return float(leads.filter(occurred_at__gte=start, occurred_at__lt=end).count())
    if metric == "deal_value":
        won = leads.filter(status=LeadStatus.WON, closed_at__gte=start, closed_at__lt=end)
        return float(won.aggregate(total=Sum("value"))["total"] or 0)
    raise ValueError(f"not a lead metric: {metric!r}")


# --- return on investment -------------------------------------------------------------------

#: Groupings of the return-on-investment tables.
GROUPS = ("channel", "campaign")


def _overlap(start: dt.date, end: dt.date, first: dt.date, last: dt.date) -> float:
    """The share of the days ``start..end`` that fall in ``first..last`` (both inclusive)."""
    days = (end - start).days + 1
    inside = (min(end, last) - max(start, first)).days + 1
    return max(0, inside) / days if days > 0 else 0.0


def _money(value: Decimal | float) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def boost_share(boost: Boost, first: dt.date, last: dt.date) -> float:
    """How much of a boost counts in ``first..last``: its spend and results spread evenly
    over its days."""
    return _overlap(boost.start_on, boost.end_on, first, last)


def spent_in(
    workspace: Workspace,
    first: dt.date,
    last: dt.date,
    *,
    channel_id: int | None = None,
    campaign_id: int | None = None,
) -> Decimal:
    boosts = Boost.objects.filter(workspace=workspace, start_on__lte=last, end_on__gte=first)
    if channel_id is not None:
        boosts = boosts.filter(channel_id=channel_id)
    if campaign_id is not None:
        boosts = boosts.filter(campaign_id=campaign_id)
    return _money(sum(float(b.spent) * boost_share(b, first, last) for b in boosts))


def _ratio(num: float | Decimal | None, den: float | int | Decimal | None) -> Decimal | None:
    if num is None or not den:
        return None
    return _money(Decimal(num) / Decimal(den))


def roi_rows(
    workspace: Workspace,
    first: dt.date,
    last: dt.date,
    zone: ZoneInfo,
    *,
    by: str,
    channel: Channel | None = None,
) -> list[dict[str, Any]]:
    """Per channel or per campaign over local days ``first..last``: paid spend and its results,
    short-link clicks, leads, value won, cost per lead and per click, value per unit spent."""
    if by not in GROUPS:
        raise ValueError(by)
    key = f"{by}_id"
    start_at = dt.datetime.combine(first, dt.time(0), zone)
    end_at = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone)
    rows: dict[int | None, dict[str, Any]] = defaultdict(
        lambda: {
            "spent": 0.0,
            "paid_impressions": 0.0,
            "paid_clicks": 0.0,
            "paid_leads": 0.0,
            "link_clicks": 0,
            "leads": 0,
            "value_won": Decimal("0.00"),
        }
    )
    boosts = Boost.objects.filter(workspace=workspace, start_on__lte=last, end_on__gte=first)
    clicks = LinkClicks.objects.filter(link__workspace=workspace, day__gte=first, day__lte=last)
    leads = Lead.objects.filter(workspace=workspace)
    if channel is not None:
        boosts = boosts.filter(channel=channel)
        clicks = clicks.filter(link__channel=channel)
        leads = leads.filter(channel=channel)
    for boost in boosts:
        share = boost_share(boost, first, last)
        row = rows[getattr(boost, key)]
        row["spent"] += float(boost.spent) * share
        for field in ("impressions", "clicks", "leads"):
            row[f"paid_{field}"] += (getattr(boost, field) or 0) * share
    for group, n in clicks.values_list(f"link__{key}").annotate(n=Sum("count")):
        rows[group]["link_clicks"] += n or 0
    came_in = leads.filter(occurred_at__gte=start_at, occurred_at__lt=end_at)
    for group, n in came_in.values_list(key).annotate(n=Count("id")):
        rows[group]["leads"] += n
    won = leads.filter(status=LeadStatus.WON, closed_at__gte=start_at, closed_at__lt=end_at)
    for group, value in won.values_list(key).annotate(v=Sum("value")):
        rows[group]["value_won"] += value or 0
    names = _names(workspace, by, [k for k in rows if k is not None])
    result = []
    for group, row in rows.items():
        spent = _money(row["spent"])
        paid_clicks = round(row["paid_clicks"])
        result.append(
            {
                by: names.get(group, "") if group is not None else "",
                f"{by}_id": group,
                "spent": spent,
                "paid_impressions": round(row["paid_impressions"]),
                "paid_clicks": paid_clicks,
                "paid_leads": round(row["paid_leads"]),
                "link_clicks": row["link_clicks"],
                "leads": row["leads"],
                "value_won": _money(row["value_won"]),
                "cost_per_lead": _ratio(spent, row["leads"]) if spent else None,
                "cost_per_click": _ratio(spent, paid_clicks) if spent else None,
                "value_per_spent": _ratio(row["value_won"], spent),
            }
        )
    result.sort(key=lambda r: (r[by] == "", -r["spent"], -r["leads"], r[by]))
    return result


def compare(current: list[dict[str, Any]], previous: list[dict[str, Any]], by: str) -> None:
    """Add the previous period's spend, leads and cost per lead to each row of ``current``
    (a group only in the previous period gets a row with zeros this period)."""
    before = {row[f"{by}_id"]: row for row in previous}
    for row in current:
        old = before.pop(row[f"{by}_id"], None)
        row["previous_spent"] = old["spent"] if old else Decimal("0.00")
        row["previous_leads"] = old["leads"] if old else 0
        row["previous_cost_per_lead"] = old["cost_per_lead"] if old else None
    for old in before.values():
        row = {k: (0 if isinstance(v, int) else v) for k, v in old.items()}
        row.update(
            spent=Decimal("0.00"),
            paid_impressions=0,
            paid_clicks=0,
            paid_leads=0,
            link_clicks=0,
            leads=0,
            value_won=Decimal("0.00"),
            cost_per_lead=None,
            cost_per_click=None,
            value_per_spent=None,
            previous_spent=old["spent"],
            previous_leads=old["leads"],
            previous_cost_per_lead=old["cost_per_lead"],
        )
        row[f"{by}_id"] = old[f"{by}_id"]
        row[by] = old[by]
        current.append(row)


def _names(workspace: Workspace, by: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    if by == "channel":
        return dict(
            Channel.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", "name")
        )
    from portevoix.publishing.models import Campaign

    return dict(Campaign.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", "name"))


def click_days(
    workspace: Workspace, first: dt.date, last: dt.date, *, channel: Channel | None = None
) -> dict[dt.date, int]:
    """Short-link clicks per day (the UTC day of the click)."""
    rows = LinkClicks.objects.filter(link__workspace=workspace, day__gte=first, day__lte=last)
    if channel is not None:
        rows = rows.filter(link__channel=channel)
    return dict(rows.values_list("day").annotate(n=Sum("count")))


def clicks_by_post(
    workspace: Workspace,
    first: dt.date,
    last: dt.date,
    *,
    channel: Channel | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The posts whose short links were clicked most in the period."""
    rows = LinkClicks.objects.filter(
        link__workspace=workspace, day__gte=first, day__lte=last, link__post__isnull=False
    )
    if channel is not None:
        rows = rows.filter(link__channel=channel)
    found = (
        rows.values(
            "link__post_id",
            "link__post__title",
            "link__post__text",
            "link__channel__name",
            "link__campaign__name",
        )
        .annotate(clicks=Sum("count"))
        .order_by("-clicks")[:limit]
    )
    return [
        {
            "post_id": r["link__post_id"],
            "post": (r["link__post__title"] or r["link__post__text"] or "")[:80],
            "channel": r["link__channel__name"] or "",
            "campaign": r["link__campaign__name"] or "",
            "clicks": r["clicks"],
        }
        for r in found
    ]


# --- budgets --------------------------------------------------------------------------------


def budget_rows(
    workspace: Workspace, today: dt.date, *, current_only: bool = False
) -> list[dict[str, Any]]:
    """Each budget with what was spent in its period (boosts of its channel and campaign,
    pro rata) and whether it is over."""
    budgets = Budget.objects.filter(workspace=workspace).select_related("channel", "campaign")
    if current_only:
        budgets = budgets.filter(start_on__lte=today, end_on__gte=today)
    rows = []
    for budget in budgets.order_by("-start_on", "id"):
        spent = spent_in(
            workspace,
            budget.start_on,
            budget.end_on,
            channel_id=budget.channel_id,
            campaign_id=budget.campaign_id,
        )
        elapsed = _overlap(budget.start_on, budget.end_on, budget.start_on, today)
        rows.append(
            {
                "budget": budget,
                "channel": budget.channel.name if budget.channel else "",
                "campaign": budget.campaign.name if budget.campaign else "",
                "start_on": budget.start_on,
                "end_on": budget.end_on,
                "planned": budget.planned,
                "spent": spent,
                "left": budget.planned - spent,
                "percent": round(100 * spent / budget.planned) if budget.planned else None,
                "elapsed_percent": round(100 * elapsed),
                "over": spent > budget.planned,
                "current": budget.start_on <= today <= budget.end_on,
            }
        )
    return rows
