"""Metrics: first response and resolution times, SLA compliance and volume by hour, per member
and per department, stored for analytics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse

from portevoix.care import actions, metrics, sla
from portevoix.care.models import WebcareStat
from portevoix.inbox.models import Conversation, ConversationState
from portevoix.worker.models import Housekeeping
from tests.care.conftest import PARIS, ingest_one, office_calendar, paris

pytestmark = pytest.mark.django_db

MONDAY = paris(2026, 6, 15, 9, 0)


def answer(conversation: Conversation, at: dt.datetime, *, resolve: dt.datetime | None = None):
    with transaction.atomic():
        conversation.first_response_at = at
        conversation.last_reply_at = at
        if resolve is not None:
            conversation.state = ConversationState.RESOLVED
            conversation.resolved_at = resolve
        conversation.save()
        sla.conversation_changed(conversation, now=at)


@pytest.fixture
def day(team, channel, clock):
    """Monday: three social-team questions (one answered late) and a sales question."""
    calendar = office_calendar(team)
    actions.create_policy(
        team.workspace,
        by=team["admin"],
        name="Standard",
        calendar=calendar,
        first_response_minutes=30,
    )
    clock(MONDAY)
    first = ingest_one(channel, "Vous êtes ouverts le dimanche ?", at=MONDAY, author="a")
    second = ingest_one(channel, "Vous livrez en Belgique ?", at=MONDAY, author="b")
    clock(paris(2026, 6, 15, 10, 15))
    third = ingest_one(
        channel,
        "Le sérum convient-il aux peaux sensibles ?",
        at=paris(2026, 6, 15, 10, 15),
        author="c",
    )
    sales = ingest_one(
        channel, "Quel est le prix du coffret Velours ?", at=paris(2026, 6, 15, 10, 15), author="d"
    )
    for conversation in (first, second, third):
        Conversation.objects.filter(pk=conversation.pk).update(assignee=team["content"])
        conversation.refresh_from_db()
    answer(first, paris(2026, 6, 15, 9, 10), resolve=paris(2026, 6, 15, 11, 10))
    answer(second, paris(2026, 6, 15, 9, 50))  # 50 minutes: late
    answer(sales, paris(2026, 6, 15, 10, 25))
    clock(paris(2026, 6, 15, 18, 0))
    return {"first": first, "second": second, "third": third, "sales": sales}


def test_refresh_stores_hourly_rows_per_department_and_member(team, day) -> None:
    metrics.refresh(team.workspace, MONDAY - dt.timedelta(hours=2), paris(2026, 6, 15, 18, 0))
    rows = WebcareStat.objects.filter(workspace=team.workspace)
    nine = rows.filter(hour=paris(2026, 6, 15, 9, 0), assignee=team["content"]).get()
    assert nine.inbound == 2 and nine.conversations == 2
    assert nine.first_responses == 2
    assert nine.first_response_seconds == 10 * 60 + 50 * 60
    assert nine.sla_met == 1  # the 10-minute answer; the 50-minute one missed at 09:30
    assert nine.sla_breached == 1
    sales = rows.filter(department__code="sales").values_list("hour", "first_responses")
    assert list(sales) == [(paris(2026, 6, 15, 10, 0), 1)]
    resolved = rows.filter(resolved=1).get()
    assert resolved.hour == paris(2026, 6, 15, 11, 0)
    assert resolved.resolution_seconds == 2 * 3600 + 10 * 60
    # The third question was never answered: its missed target counts at 10:45.
    ten = rows.filter(hour=paris(2026, 6, 15, 10, 0), assignee=team["content"]).get()
    assert ten.sla_breached == 1 and ten.first_responses == 0


def test_refresh_is_idempotent(team, day) -> None:
    window = (MONDAY - dt.timedelta(hours=2), paris(2026, 6, 15, 18, 0))
    metrics.refresh(team.workspace, *window)
    first = list(WebcareStat.objects.values_list("hour", "inbound", "sla_met", "sla_breached"))
    metrics.refresh(team.workspace, *window)
    again = list(WebcareStat.objects.values_list("hour", "inbound", "sla_met", "sla_breached"))
    assert first == again


def test_business_time_is_measured_apart_from_calendar_time(team, channel, clock) -> None:
    office_calendar(team)
    actions.create_policy(
        team.workspace,
        by=team["admin"],
        name="Standard",
        calendar=team.workspace.business_calendars.get(),
        first_response_minutes=60,
    )
    friday = paris(2026, 6, 12, 17, 30)
    clock(friday)
    conversation = ingest_one(channel, "Vous êtes ouverts le dimanche ?", at=friday)
    answer(conversation, paris(2026, 6, 15, 9, 15))
    metrics.refresh(team.workspace, friday, paris(2026, 6, 15, 10, 0))
    row = WebcareStat.objects.get(first_responses=1)
    assert row.first_response_business_seconds == 45 * 60  # 30 min Friday + 15 min Monday
    assert row.first_response_seconds > 60 * 3600


def test_the_summary_adds_up_and_the_page_shows_it(team, day, client_for) -> None:
    metrics.refresh(team.workspace, MONDAY - dt.timedelta(hours=2), paris(2026, 6, 15, 18, 0))
    rows = WebcareStat.objects.all()
    result = metrics.summary(rows, PARIS, MONDAY - dt.timedelta(days=1), paris(2026, 6, 15, 18, 0))
    assert result.total.inbound == 4 and result.total.conversations == 4
    assert result.total.compliance == pytest.approx(2 / 4)
    assert result.by_hour_of_day[9] == 2 and result.by_hour_of_day[10] == 2
    assert result.by_assignee[team["content"].pk].first_responses == 2
    page = client_for(team["manager"]).get(
        reverse("care_metrics", kwargs={"ws": team.workspace.slug}) + "?days=7"
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "50 %" in text and "Ventes" in text and "Content Marketer" in text


def test_the_job_refreshes_recent_days(team, day) -> None:
    from portevoix.care import jobs

    summary = jobs.refresh_metrics(Housekeeping(name="care-metrics"))
    assert summary.endswith("row(s) of metrics rebuilt")
    assert WebcareStat.objects.exists()
