"""record_lead: the one way a lead or deal is written (pages, CSV, the CRM's webhook)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.publishing.models import Post, Publication, PublicationStates
from portevoix.roi import actions
from portevoix.roi.models import Lead

UTC = dt.UTC


def test_a_crm_lead_sent_twice_is_one_row(team, channel, campaign) -> None:
    at = dt.datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    first = actions.record_lead(
        team.workspace,
        by=None,
        source="crm",
        external_id="D-42",
        name="Boulangerie Martin",
        value="1 200,50",
        channel=channel,
        campaign=campaign,
        occurred_at=at,
    )
    again = actions.record_lead(
        team.workspace,
        by=None,
        source="crm",
        external_id="D-42",
        name="Boulangerie Martin",
        value=Decimal("1200.50"),
        channel=channel,
        campaign=campaign,
        occurred_at=at.astimezone(dt.timezone(dt.timedelta(hours=1))),
    )
    assert first.created and first.changed
    assert not again.created and not again.changed
    assert Lead.objects.filter(workspace=team.workspace).count() == 1
    lead = first.lead
    assert lead.value == Decimal("1200.50") and lead.currency == "EUR"
    entries = AuditEntry.objects.filter(workspace=team.workspace, action__startswith="lead.")
    assert [e.action for e in entries] == ["lead.record"]
    assert entries[0].actor_label == "crm"


def test_an_update_keeps_what_it_does_not_say_and_closes_the_deal(team, channel) -> None:
    actions.record_lead(
        team.workspace, by=None, source="crm", external_id="D-7", channel=channel, value=500
    )
    result = actions.record_lead(
        team.workspace, by=None, source="crm", external_id="D-7", status="won"
    )
    lead = Lead.objects.get(pk=result.lead.pk)
    assert result.changed and not result.created
    assert lead.channel == channel and lead.value == Decimal("500.00")
    assert lead.status == "won" and lead.closed_at is not None
    reopened = actions.record_lead(
        team.workspace, by=None, source="crm", external_id="D-7", status="qualified"
    )
    assert reopened.lead.closed_at is None
    assert AuditEntry.objects.filter(action="lead.update").count() == 2


def test_the_same_external_id_from_another_source_is_another_lead(team) -> None:
    actions.record_lead(team.workspace, by=team["analyst"], source="csv", external_id="42")
    actions.record_lead(team.workspace, by=None, source="crm", external_id="42")
    assert Lead.objects.filter(workspace=team.workspace).count() == 2


def test_manual_leads_without_an_id_are_each_their_own(team) -> None:
    for _ in range(2):
        actions.record_lead(team.workspace, by=team["manager"], source="manual", name="Salon")
    assert Lead.objects.filter(workspace=team.workspace, source="manual").count() == 2


def test_a_post_tells_its_campaign_and_its_only_channel(team, channel, campaign) -> None:
    post = Post.objects.create(workspace=team.workspace, text="Soldes", campaign=campaign)
    Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
        state=PublicationStates.published.name,
    )
    lead = actions.record_lead(team.workspace, by=team["admin"], source="manual", post=post).lead
    assert lead.campaign == campaign and lead.channel == channel


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source": "fax"}, "source"),
        ({"source": "csv"}, "external_id"),
        ({"source": "manual", "status": "maybe"}, "status"),
        ({"source": "manual", "value": "-3"}, "value"),
        ({"source": "manual", "value": "12.345"}, "value"),
        ({"source": "manual", "value": "douze"}, "value"),
        ({"source": "manual", "value": "10", "currency": "USD"}, "currency"),
        ({"source": "manual", "value": "10", "currency": "euro"}, "currency"),
        ({"source": "manual", "occurred_at": dt.datetime(2026, 1, 1)}, "occurred_at"),
        (
            {
                "source": "manual",
                "status": "won",
                "occurred_at": dt.datetime(2026, 2, 1, tzinfo=UTC),
                "closed_at": dt.datetime(2026, 1, 1, tzinfo=UTC),
            },
            "closed_at",
        ),
    ],
)
def test_bad_input_is_refused_with_its_field(team, kwargs, field) -> None:
    with pytest.raises(ActionRefused) as refused:
        actions.record_lead(team.workspace, by=team["manager"], **kwargs)
    assert refused.value.field == field
    assert not Lead.objects.exists()


def test_links_of_another_workspace_are_refused(team, channel) -> None:
    from tests.conftest import make_team

    other = make_team("globex")
    with pytest.raises(ActionRefused) as refused:
        actions.record_lead(other.workspace, by=other["admin"], source="manual", channel=channel)
    assert refused.value.field == "channel"


@pytest.mark.parametrize("role", ["content", "creative", "agent", "viewer"])
def test_roles_without_lead_record_are_refused(team, role) -> None:
    with pytest.raises(PermissionDenied):
        actions.record_lead(team.workspace, by=team[role], source="manual", name="x")
    assert not Lead.objects.exists()


def test_an_outsider_cannot_record_in_another_workspace(team) -> None:
    with pytest.raises(Http404):
        actions.record_lead(team.workspace, by=team.outsider, source="manual")


def test_without_a_member_only_the_crm_records(team) -> None:
    with pytest.raises(ActionRefused):
        actions.record_lead(team.workspace, by=None, source="csv", external_id="1")


def test_leads_are_seen_by_the_roles_that_see_money(team) -> None:
    actions.record_lead(team.workspace, by=team["analyst"], source="manual", value="10")
    for role in ("admin", "manager", "content", "analyst", "viewer"):
        assert Lead.objects.visible_to(team[role]).count() == 1
    for role in ("creative", "agent"):
        assert Lead.objects.visible_to(team[role]).count() == 0
    assert Lead.objects.visible_to(team.outsider).count() == 0


def test_the_currency_changes_only_while_no_amount_is_recorded(team) -> None:
    actions.update_money_settings(
        team.workspace, by=team["manager"], currency="chf", short_links_default=True
    )
    actions.record_lead(team.workspace, by=team["manager"], source="manual", value="10")
    assert Lead.objects.get().currency == "CHF"
    with pytest.raises(ActionRefused):
        actions.update_money_settings(
            team.workspace, by=team["manager"], currency="EUR", short_links_default=True
        )
    with pytest.raises(PermissionDenied):
        actions.update_money_settings(
            team.workspace, by=team["content"], currency="CHF", short_links_default=False
        )


def test_amounts_as_people_write_them() -> None:
    assert actions.parse_amount("1 234,50") == Decimal("1234.50")
    assert actions.parse_amount("1,234.50") == Decimal("1234.50")
    assert actions.parse_amount("1.234,5") == Decimal("1234.50")
    assert actions.parse_amount("") is None


def test_leads_and_deal_value_answer_the_strategy_kpis(team, channel) -> None:
    from portevoix.analytics.kpis import measure

    start = dt.datetime(2026, 11, 1, tzinfo=UTC)
    end = dt.datetime(2026, 12, 1, tzinfo=UTC)
    assert measure(team.workspace, "leads", start=start, end=end) is None
    for number, (status, value) in enumerate([("won", "1000"), ("lost", "300"), ("new", "")]):
        actions.record_lead(
            team.workspace,
            by=None,
            source="crm",
            external_id=f"K-{number}",
            status=status,
            value=value or None,
            channel=channel if number else None,
            occurred_at=dt.datetime(2026, 11, 2 + number, tzinfo=UTC),
            closed_at=dt.datetime(2026, 11, 20, tzinfo=UTC) if status != "new" else None,
        )
    assert measure(team.workspace, "leads", start=start, end=end) == 3
    assert measure(team.workspace, "leads", channel=channel, start=start, end=end) == 2
    assert measure(team.workspace, "deal_value", start=start, end=end) == 1000
    assert measure(team.workspace, "deal_value", channel=channel, start=start, end=end) == 0
    assert measure(team.workspace, "leads", start=end, end=end + dt.timedelta(days=30)) == 0


def test_the_demo_fills_a_month_of_leads_and_deals(team, channel, campaign) -> None:
    from portevoix.roi.demo import load_money_demo

    made = load_money_demo(team.workspace)
    assert made > 10
    leads = Lead.objects.filter(workspace=team.workspace)
    assert leads.count() == made
    assert leads.filter(status="won", value__isnull=False).exists()
    assert leads.filter(channel=channel).exists() and leads.filter(campaign=campaign).exists()
    assert load_money_demo(team.workspace) == made and leads.count() == made  # idempotent


def test_two_deliveries_at_the_same_moment_make_one_row(team, monkeypatch) -> None:
    """The second delivery did not see the first's row (it was not committed yet when it
    looked): the unique constraint refuses its insert, and it is applied as an update."""
    actions.record_lead(team.workspace, by=None, source="crm", external_id="R-1", value="10")
    real = actions._existing
    calls = []

    def blind_once(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(actions, "_existing", blind_once)
    result = actions.record_lead(
        team.workspace, by=None, source="crm", external_id="R-1", status="won"
    )
    assert len(calls) == 2 and not result.created
    lead = Lead.objects.get(workspace=team.workspace)
    assert lead.status == "won" and lead.value == Decimal("10.00")
