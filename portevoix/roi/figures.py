"""The numbers money gives the dashboards: leads and deal values for a period (the strategy's
KPIs ``leads`` and ``deal_value``, through ``analytics.kpis.measure``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from portevoix.channels.models import Channel
from portevoix.core.models import Workspace

from .models import Lead, LeadStatus


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
