"""The calendar agenda: publications day by day in the workspace's time zone, per role."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import actions
from portevoix.core.permissions import MATRIX
from portevoix.publishing import actions as publishing
from portevoix.sandbox import service
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(team):
    account = service.create_account("acme-cal", workspace=team.workspace)
    channel = actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Insta",
    )
    paris = ZoneInfo("Europe/Paris")
    tomorrow = timezone.now().astimezone(paris).date() + dt.timedelta(days=1)
    # 23:30 in Paris is already the next day in UTC: the agenda must file it under Paris's day.
    late = dt.datetime.combine(tomorrow, dt.time(23, 30), paris)
    publishing.schedule_post(
        team.workspace, by=team["admin"], text="Tard le soir", channels=[channel], at=late
    )
    far = dt.datetime.combine(tomorrow + dt.timedelta(days=60), dt.time(9), paris)
    publishing.schedule_post(
        team.workspace, by=team["admin"], text="Dans deux mois", channels=[channel], at=far
    )
    return tomorrow, far


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_the_calendar(team, client_for, planned, role):
    response = client_for(team[role]).get(reverse("calendar", kwargs={"ws": "acme"}))
    assert response.status_code == (200 if "post.view" in MATRIX[role] else 403)


def test_days_in_the_workspace_zone_and_paging(team, client_for, planned):
    tomorrow, far = planned
    client = client_for(team["viewer"])
    html = client.get(reverse("calendar", kwargs={"ws": "acme"})).content.decode()
    assert f'id="day-{tomorrow:%Y%m%d}"' in html and "Tard le soir" in html and ">23:30<" in html
    assert "Dans deux mois" not in html
    later = client.get(reverse("calendar", kwargs={"ws": "acme"}), {"from": far.date().isoformat()})
    assert "Dans deux mois" in later.content.decode()
    # A date that cannot be read is refused with the reason, not silently replaced.
    bad = client.get(reverse("calendar", kwargs={"ws": "acme"}), {"from": "not-a-date"})
    assert bad.status_code == 400 and "2027-03-28" in bad.content.decode()  # the example


def test_outsider_sees_nothing(team, client_for, planned):
    other = team.outsider.workspace.slug
    html = client_for(team.outsider).get(reverse("calendar", kwargs={"ws": other})).content.decode()
    assert "Tard le soir" not in html
    assert (
        client_for(team.outsider).get(reverse("calendar", kwargs={"ws": "acme"})).status_code == 404
    )
