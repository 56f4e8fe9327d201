"""Each goal's KPIs against their targets (portevoix/analytics/goals.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from portevoix.analytics import goals
from portevoix.strategy.models import Goal, Kpi

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("week", dt.date(2026, 3, 9), dt.date(2026, 3, 16)),  # 11 March 2026 is a Wednesday
        ("month", dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
        ("quarter", dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("year", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ],
)
def test_the_period_is_the_calendar_one_in_the_workspaces_zone(period, first, last) -> None:
    # 23:30 UTC on 10 March is already 11 March in Paris.
    now = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    start, end = goals.period_bounds(period, now, PARIS)
    assert (start.date(), end.date()) == (first, last)
    assert start.tzinfo == PARIS and start.time() == dt.time(0)


def _kpi(team, metric, target, period="month", channel=None):
    goal, _ = Goal.objects.get_or_create(workspace=team.workspace, code="brand_awareness")
    return Kpi.objects.create(
        workspace=team.workspace,
        goal=goal,
        metric=metric,
        target=Decimal(target),
        period=period,
        channel=channel,
    )


def test_totals_are_due_pro_rata_and_levels_in_full(team, channel, published, monkeypatch):
    now = dt.datetime(2026, 3, 11, 0, 0, tzinfo=PARIS)  # 10 of 31 days of March gone
    posts = _kpi(team, "posts_published", "31", channel=channel)
    for day in range(1, 10):  # nine posts, one a day, 1–9 March
        published(dt.datetime(2026, 3, day, 12, tzinfo=PARIS))
    progress = goals.kpi_progress(posts, team.workspace, now)
    assert progress.value == 9.0
    assert progress.expected == pytest.approx(10.0)  # 31 × 10/31
    assert progress.status == "behind"
    published(dt.datetime(2026, 3, 10, 12, tzinfo=PARIS))
    assert goals.kpi_progress(posts, team.workspace, now).status == "on_track"

    # A rate is a level, compared as a percentage with its target.
    rate = _kpi(team, "engagement_rate", "4.5")
    monkeypatch.setattr(goals.kpis, "measure", lambda *a, **k: 0.05)
    shown = goals.kpi_progress(rate, team.workspace, now)
    assert (shown.value, shown.expected, shown.status) == (pytest.approx(5.0), 4.5, "on_track")
    # The first response: lower is better.
    quick = _kpi(team, "first_response_minutes", "30")
    monkeypatch.setattr(goals.kpis, "measure", lambda *a, **k: 42.0)
    assert goals.kpi_progress(quick, team.workspace, now).status == "behind"
    monkeypatch.setattr(goals.kpis, "measure", lambda *a, **k: None)
    assert goals.kpi_progress(quick, team.workspace, now).status == "no_data"


def test_the_dashboard_shows_each_goal_and_the_csv_has_its_numbers(team, client_for, channel):
    kpi = _kpi(team, "posts_published", "40", channel=channel)
    Goal.objects.create(workspace=team.workspace, code="leads")  # a goal without KPI yet
    client = client_for(team["analyst"])
    page = client.get(reverse("analytics", kwargs={"ws": team.workspace.slug}))
    assert page.status_code == 200
    html = page.content.decode()
    # Nothing published yet, some of the month gone: behind, in words, not colour alone.
    assert f'data-kpi="{kpi.pk}" data-status="behind"' in html
    assert "En retard" in html
    assert "Pas encore de KPI pour cet objectif." in html
    download = client.get(
        reverse("analytics_csv", kwargs={"ws": team.workspace.slug, "chart": "goals"})
    )
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["goal"], r["metric"], r["target"], r["value"]) for r in rows] == [
        ("brand_awareness", "posts_published", "40.0", "0.0")
    ]
