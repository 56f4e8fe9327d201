"""The analytics page, its CSV files, insights and suggested slots, for every role."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.analytics import actions, rollup
from portevoix.analytics.models import Insight
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import Role, can
from portevoix.notifications.models import Notification
from portevoix.publishing.models import PostingSlot
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


def _url(team, name="analytics", **kwargs):
    return reverse(name, kwargs={"ws": team.workspace.slug, **kwargs})


@pytest.fixture
def history(team, channel, published):
    """Three weeks of posts, most at 12:00 and 19:00 in the audience's zone (which do best)."""
    zone = channel.audience_zone
    today = timezone.now().astimezone(zone).date()
    for days in range(1, 22):
        for hour, engagements in ((12, 80), (19, 60), (9, 10)):
            if hour == 9 and days % 3:
                continue
            at = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(hour), zone)
            rollup.record_post(
                published(at),
                taken_at=at + dt.timedelta(hours=1),
                source="network",
                values={"impressions": engagements * 20, "engagements": engagements},
            )
    return today


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_page(team, client_for, history, role) -> None:
    member = team[role]
    response = client_for(member).get(_url(team))
    if can(member, "analytics.view"):
        assert response.status_code == 200
        body = response.content.decode()
        assert 'id="chart-daily"' in body and "analytics-data" in body
        assert ("Share" in body or "Partager" in body) == can(member, "analytics.report")
        assert ('id="webcare"' in body) == can(member, "inbox.view_all")
        # The long page's list of sections links to sections this member has, and to all.
        toc = body[body.index('class="page-toc"') : body.index("</nav>", body.index("page-toc"))]
        targets = set(re.findall(r'href="#([\w-]+)"', toc))
        sections = set(re.findall(r'<section class="card"[^>]* id="([\w-]+)"', body))
        assert targets == sections - {"insight-form"}
        assert ("#roi" in toc) == can(member, "money.view")
    else:
        assert response.status_code == 403


def test_outsider_gets_nothing(team, client_for, history) -> None:
    assert client_for(team.outsider).get(_url(team)).status_code == 404


def test_heatmap_and_suggestions_follow_the_data(team, client_for, channel, history) -> None:
    response = client_for(team["analyst"]).get(_url(team), {"channel": channel.pk, "days": 30})
    heat = response.context["heat"]
    assert heat["enough"]
    assert heat["posts"] == 21 * 2 + 7
    assert [(s["time"].hour) for s in heat["suggestions"]][:1] == [12]
    assert all(s["posts"] >= 2 for s in heat["suggestions"])


def test_not_enough_data_says_so(team, client_for, channel, published) -> None:
    at = timezone.now() - dt.timedelta(days=1)
    rollup.record_post(published(at), taken_at=at, source="network", values={"engagements": 3})
    response = client_for(team["analyst"]).get(_url(team), {"channel": channel.pk})
    assert not response.context["heat"]["enough"]
    assert response.context["heat"]["suggestions"] == []


def test_csv_has_the_chart_numbers(team, client_for, history) -> None:
    response = client_for(team["viewer"]).get(
        _url(team, "analytics_csv", chart="daily"), {"days": 7}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 7
    assert sum(int(r["engagements"]) for r in rows) > 0
    assert {"day", "impressions", "previous_impressions"} <= set(rows[0])


def test_csv_refuses_bad_filters_with_a_reason(team, client_for, history) -> None:
    client = client_for(team["analyst"])
    response = client.get(
        _url(team, "analytics_csv", chart="daily"), {"start": "2026-03-10", "end": "2026-03-01"}
    )
    assert response.status_code == 400
    assert client.get(_url(team, "analytics_csv", chart="nope")).status_code == 404


def test_a_bad_period_is_said_and_the_page_still_works(team, client_for, history) -> None:
    response = client_for(team["analyst"]).get(
        _url(team), {"start": "2026-03-10", "end": "2026-03-01"}
    )
    assert response.status_code == 400
    assert b'class="error' in response.content
    assert response.context["period"].days == 30


def test_the_analyst_shares_an_insight_and_the_team_is_told(team, client_for, history) -> None:
    analyst = team["analyst"]
    response = client_for(analyst).post(
        _url(team, "analytics_insight"),
        {
            "chart": "heatmap",
            "text": "Midi et 19 h font le double : décalons les créneaux.",
            "start": "2026-03-01",
            "end": "2026-03-31",
        },
    )
    assert response.status_code == 302
    insight = Insight.objects.get()
    assert (insight.author, insight.chart) == (analyst, "heatmap")
    assert AuditEntry.objects.filter(action="insight.write", object_id=str(insight.pk)).exists()
    told = set(
        Notification.objects.filter(kind="analytics.insight").values_list(
            "recipient__role", flat=True
        )
    )
    expected = {r for r in ALL_ROLES if r != Role.ANALYST and can(team[r], "analytics.view")}
    assert told == expected


def test_an_insight_without_text_keeps_the_form(team, client_for, history) -> None:
    response = client_for(team["analyst"]).post(
        _url(team, "analytics_insight"),
        {"chart": "heatmap", "text": "   ", "start": "2026-03-01", "end": "2026-03-31"},
    )
    assert response.status_code == 400
    assert response.context["insight_form"].errors
    assert not Insight.objects.exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_share_an_insight(team, client_for, role) -> None:
    member = team[role]
    response = client_for(member).post(
        _url(team, "analytics_insight"),
        {"chart": "daily", "text": "Bien.", "start": "2026-03-01", "end": "2026-03-31"},
    )
    if can(member, "analytics.report"):
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        assert not Insight.objects.exists()


def test_insight_action_refuses_other_workspaces_channels(team) -> None:
    from portevoix.channels.models import Channel

    foreign = Channel.objects.create(workspace=team.outsider.workspace, network="manual", name="X")
    with pytest.raises(ActionRefused):
        actions.write_insight(
            team.workspace,
            by=team["analyst"],
            chart="daily",
            text="x",
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 2),
            channel=foreign,
        )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_suggested_slots_go_to_the_plan(team, client_for, channel, history, role) -> None:
    member = team[role]
    response = client_for(member).post(_url(team, "analytics_slots", pk=channel.pk) + "?days=30")
    if can(member, "plan.manage"):
        assert response.status_code == 302
        slots = set(PostingSlot.objects.filter(channel=channel).values_list("weekday", "time"))
        assert len(slots) == 3  # one a day, on three days
        assert {time for _, time in slots} == {dt.time(12, 0)}
        assert AuditEntry.objects.filter(action="analytics.slots").exists()
        again = client_for(member).post(_url(team, "analytics_slots", pk=channel.pk) + "?days=30")
        assert again.status_code == 302
        assert PostingSlot.objects.filter(channel=channel).count() == len(slots)
    else:
        assert response.status_code in (403, 404)
        assert not PostingSlot.objects.exists()


def test_a_rate_keeps_its_per_cent_sign_and_days_read_as_the_reports_write_them(
    team, client_for
) -> None:
    import json

    from django.urls import reverse
    from django.utils import translation

    from portevoix.analytics.views import _number

    with translation.override("fr"):
        assert _number(0.137, rate=True) == "13,7\u00a0%"  # never "13,7" then "%" on its own line
    page = client_for(team["manager"]).get(reverse("analytics", kwargs={"ws": "acme"}))
    html = page.content.decode()
    data = json.loads(html.split('id="analytics-data" type="application/json">')[1].split("<")[0])
    assert all(len(label) == 5 and label[2] == "/" for label in data["labels"])  # 05/11
