"""Paid promotion (by hand and by CSV), budgets against spend, the return on investment per
channel and campaign, the money settings and editing a lead; who may and who may not."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from portevoix.roi import actions, figures
from portevoix.roi.models import Boost, Budget, Lead, LeadSource


def _url(team, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"ws": team.workspace.slug, **kwargs})


def _today():
    return timezone.localdate()


def test_a_content_marketer_records_a_boost_by_hand(team, client_for, channel, campaign):
    client = client_for(team["content"])
    response = client.post(
        _url(team, "roi_spend_add"),
        {
            "channel": str(channel.pk),
            "campaign": str(campaign.pk),
            "audience": "25-45, Lyon",
            "budget": "150",
            "spent": "120,50",
            "impressions": "18000",
            "clicks": "240",
            "leads": "6",
            "start_on": "2026-11-03",
            "end_on": "2026-11-09",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    boost = Boost.objects.get()
    assert boost.spent == Decimal("120.50") and boost.currency == "EUR"
    assert boost.channel == channel and boost.campaign == campaign and boost.clicks == 240
    page = client.get(_url(team, "roi_spend")).content.decode()
    assert "25-45, Lyon" in page and f'data-boost="{boost.pk}"' in page


def test_a_wrong_boost_keeps_what_was_typed(team, client_for, channel):
    client = client_for(team["content"])
    response = client.post(
        _url(team, "roi_spend_add"),
        {
            "channel": str(channel.pk),
            "audience": "Étudiants",
            "spent": "-4",
            "start_on": "2026-11-09",
            "end_on": "2026-11-03",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Un montant ne peut pas être négatif." in html and 'value="Étudiants"' in html
    assert not Boost.objects.exists()


@pytest.mark.parametrize("role", ["creative", "analyst", "viewer"])
def test_who_may_not_record_spend_is_refused(team, client_for, channel, role):
    response = client_for(team[role]).post(
        _url(team, "roi_spend_add"),
        {"channel": str(channel.pk), "spent": "10", "start_on": "2026-11-03"},
    )
    assert response.status_code == 403
    assert not Boost.objects.exists()
    with pytest.raises(PermissionDenied):
        actions.record_boost(
            team.workspace, by=team[role], channel=channel, spent="10", start_on=_today()
        )


def test_the_creative_sees_no_money_pages(team, client_for):
    client = client_for(team["creative"])
    for name in ("roi_spend", "roi_budgets", "roi_settings", "roi_spend_template"):
        assert client.get(_url(team, name)).status_code == 403, name


SPEND_CSV = """external_id,start,end,spent,currency,budget,channel,campaign,audience,impressions,clicks,leads
AD-1,2026-11-01,2026-11-10,100.00,EUR,120,{channel},Soldes d'hiver,Lyon,10000,200,4
AD-2,2026-11-05,,50,,,{channel},,,,,
"""


def test_a_spend_csv_imported_twice_counts_once(team, client_for, channel, campaign):
    client = client_for(team["content"])
    for _ in range(2):
        response = client.post(
            _url(team, "roi_spend_import"),
            {
                "file": SimpleUploadedFile(
                    "ads.csv", SPEND_CSV.format(channel=channel.name).encode(), "text/csv"
                )
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    assert Boost.objects.count() == 2
    first = Boost.objects.get(external_id="AD-1")
    assert first.campaign == campaign and first.clicks == 200
    assert Boost.objects.get(external_id="AD-2").end_on == dt.date(2026, 11, 5)


def test_a_wrong_spend_line_saves_nothing_and_says_which(team, client_for, channel):
    client = client_for(team["content"])
    wrong = SPEND_CSV.format(channel=channel.name) + "AD-3,2026-11-05,,douze,,,Nowhere,,,,,\n"
    response = client.post(
        _url(team, "roi_spend_import"),
        {"file": SimpleUploadedFile("ads.csv", wrong.encode(), "text/csv")},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<td>4</td>" in html and "Nowhere" in html
    assert not Boost.objects.exists()


def test_the_spend_template_has_the_columns(team, client_for, channel):
    response = client_for(team["viewer"]).get(_url(team, "roi_spend_template"))
    assert response.status_code == 200
    assert response.content.decode().splitlines()[0].startswith("external_id,start,end,spent")


def test_spend_is_spread_over_its_days(team, channel):
    actions.record_boost(
        team.workspace,
        by=team["content"],
        channel=channel,
        spent="100",
        start_on=dt.date(2026, 11, 1),
        end_on=dt.date(2026, 11, 10),
    )
    got = figures.spent_in(team.workspace, dt.date(2026, 11, 6), dt.date(2026, 11, 30))
    assert got == Decimal("50.00")


def test_budget_against_spend_and_the_over_budget_warning(team, client_for, channel, campaign):
    today = _today()
    first = today.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    client = client_for(team["manager"])
    response = client.post(
        _url(team, "roi_budget_add"),
        {
            "channel": str(channel.pk),
            "start_on": first.isoformat(),
            "end_on": last.isoformat(),
            "planned": "100",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    budget = Budget.objects.get()
    actions.record_boost(
        team.workspace,
        by=team["content"],
        channel=channel,
        campaign=campaign,
        spent="130",
        start_on=first,
        end_on=last,
    )
    row = figures.budget_rows(team.workspace, today)[0]
    assert row["budget"] == budget and row["spent"] == Decimal("130.00") and row["over"]
    assert 'data-over="1"' in client.get(_url(team, "roi_budgets")).content.decode()
    assert 'id="over-budget"' in client.get(_url(team, "roi_spend")).content.decode()
    strategy = client.get(reverse("strategy", kwargs={"ws": team.workspace.slug}))
    html = strategy.content.decode()
    assert 'id="budget"' in html and 'data-over="1"' in html
    analytics = client.get(reverse("analytics", kwargs={"ws": team.workspace.slug}))
    assert 'id="over-budget"' in analytics.content.decode()


def test_budgets_are_planned_by_managers_only(team, client_for, channel):
    today = _today()
    data = {"start_on": today.isoformat(), "end_on": today.isoformat(), "planned": "10"}
    assert client_for(team["content"]).post(_url(team, "roi_budget_add"), data).status_code == 403
    # The strategy page shows no budget to who sees no money.
    html = client_for(team["creative"]).get(reverse("strategy", kwargs={"ws": team.workspace.slug}))
    assert 'id="budget"' not in html.content.decode()
    assert not Budget.objects.exists()


def test_cost_per_lead_and_period_comparison(team, channel, campaign):
    zone = timezone.get_current_timezone()
    today = _today()
    start = today - dt.timedelta(days=9)
    actions.record_boost(
        team.workspace,
        by=team["content"],
        channel=channel,
        spent="200",
        clicks=80,
        start_on=start,
        end_on=today,
    )
    actions.record_boost(
        team.workspace,
        by=team["content"],
        channel=channel,
        spent="50",
        start_on=start - dt.timedelta(days=10),
        end_on=start - dt.timedelta(days=1),
    )
    for n in range(4):
        actions.record_lead(
            team.workspace,
            by=team["analyst"],
            source=LeadSource.MANUAL,
            channel=channel,
            status="won" if n == 0 else "new",
            value="500" if n == 0 else None,
            occurred_at=timezone.now() - dt.timedelta(days=1),
        )
    rows = figures.roi_rows(team.workspace, start, today, zone, by="channel")
    before = figures.roi_rows(
        team.workspace,
        start - dt.timedelta(days=10),
        start - dt.timedelta(days=1),
        zone,
        by="channel",
    )
    figures.compare(rows, before, "channel")
    row = next(r for r in rows if r["channel_id"] == channel.pk)
    assert row["spent"] == Decimal("200.00") and row["leads"] == 4
    assert row["cost_per_lead"] == Decimal("50.00") and row["cost_per_click"] == Decimal("2.50")
    assert row["value_won"] == Decimal("500.00") and row["value_per_spent"] == Decimal("2.50")
    assert row["previous_spent"] == Decimal("50.00") and row["previous_leads"] == 0


def test_the_money_settings_form(team, client_for):
    client = client_for(team["manager"])
    response = client.post(_url(team, "roi_settings"), {"currency": "chf"})
    assert response.status_code == 302
    assert actions.money_settings(team.workspace).currency == "CHF"
    bad = client.post(_url(team, "roi_settings"), {"currency": "Fr."})
    assert bad.status_code == 400 and 'value="Fr."' in bad.content.decode()
    # Who sees money reads the settings; only who plans budgets changes them.
    assert client_for(team["analyst"]).get(_url(team, "roi_settings")).status_code == 200
    refused = client_for(team["analyst"]).post(_url(team, "roi_settings"), {"currency": "USD"})
    assert refused.status_code == 403
    assert actions.money_settings(team.workspace).currency == "CHF"


def test_editing_a_lead(team, client_for, channel):
    lead = actions.record_lead(
        team.workspace,
        by=team["analyst"],
        source=LeadSource.CSV,
        external_id="CRM-9",
        name="Hôtel du Port",
        occurred_at=timezone.now() - dt.timedelta(days=3),
    ).lead
    client = client_for(team["analyst"])
    page = client.get(_url(team, "roi_lead_edit", pk=lead.pk))
    assert page.status_code == 200 and "Hôtel du Port" in page.content.decode()
    day = timezone.localdate().isoformat()
    response = client.post(
        _url(team, "roi_lead_edit", pk=lead.pk),
        {
            "name": "Hôtel du Port",
            "status": "won",
            "value": "900",
            "channel": str(channel.pk),
            "occurred_on": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
            "closed_on": day,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lead.refresh_from_db()
    assert lead.status == "won" and lead.value == Decimal("900.00") and lead.channel == channel
    assert lead.external_id == "CRM-9" and lead.source == "csv"
    assert Lead.objects.count() == 1
    wrong = client.post(
        _url(team, "roi_lead_edit", pk=lead.pk),
        {"name": "X", "status": "won", "value": "abc", "occurred_on": day},
    )
    assert wrong.status_code == 400 and 'value="abc"' in wrong.content.decode()
    refused = client_for(team["content"]).post(
        _url(team, "roi_lead_edit", pk=lead.pk), {"name": "Y", "status": "new", "occurred_on": day}
    )
    assert refused.status_code == 403


def test_deal_value_kpis_are_hidden_from_who_sees_no_money(team, client_for):
    from portevoix.strategy import actions as strategy
    from portevoix.strategy.models import Goal

    goal = strategy.set_goals(team.workspace, by=team["manager"], codes=["direct_sales"])
    goal = Goal.objects.get(workspace=team.workspace, code="direct_sales")
    strategy.add_kpi(goal, by=team["manager"], metric="deal_value", target=98765, period="month")
    actions.record_lead(
        team.workspace,
        by=team["analyst"],
        source=LeadSource.MANUAL,
        status="won",
        value="43210",
        occurred_at=timezone.now(),
    )
    ws = team.workspace.slug
    creative = client_for(team["creative"])
    manager = client_for(team["manager"])
    for name in ("strategy", "analytics"):
        hidden = creative.get(reverse(name, kwargs={"ws": ws})).content.decode()
        shown = manager.get(reverse(name, kwargs={"ws": ws})).content.decode()
        assert "98765" not in hidden.replace("\u202f", "").replace(" ", "").replace(",", "")
        assert "data-money-hidden" in hidden and "data-money-hidden" not in shown
        assert "98" in shown
    csv = creative.get(reverse("analytics_csv", kwargs={"ws": ws, "chart": "goals"}))
    body = csv.content.decode()
    assert "deal_value" in body and "98765" not in body and "43210" not in body
    assert (
        "98765"
        in manager.get(
            reverse("analytics_csv", kwargs={"ws": ws, "chart": "goals"})
        ).content.decode()
    )


def test_the_demo_fills_a_month_of_spend_budgets_and_clicks(team, channel, campaign) -> None:
    from portevoix.publishing import actions as publishing
    from portevoix.publishing.models import Publication
    from portevoix.roi.demo import load_spend_demo
    from portevoix.roi.models import LinkClicks

    post = publishing.schedule_post(
        team.workspace,
        by=team["manager"],
        text="https://shop.example/soldes",
        channels=[channel],
        at=timezone.now() + dt.timedelta(days=1),
    )
    Publication.objects.filter(post=post).update(
        state="published", published_at=timezone.now() - dt.timedelta(days=3)
    )
    made = load_spend_demo(team.workspace)
    assert made["boosts"] >= 5 and made["budgets"] == 2
    assert Boost.objects.filter(post=post).exists()
    assert LinkClicks.objects.filter(link__channel=channel).exists() or made["links"] == 0
    again = load_spend_demo(team.workspace)
    assert again["budgets"] == 0 and Budget.objects.count() == 2
    rows = figures.budget_rows(team.workspace, timezone.localdate())
    assert rows and all(r["current"] for r in rows)
