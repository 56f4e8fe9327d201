"""Seed 004: a rising term becomes an idea, a rising term or a fresh mention a draft in the
composer, prefilled with the term and the mentions' links; who may do it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.core.models import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.listening import actions, pipeline, sources
from portevoix.listening.models import Mention
from portevoix.publishing.models import Idea
from tests.conftest import ALL_ROLES, Team, signed_in

from .test_listening import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def rising(team: Team) -> str:
    actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text='"acme" OR #acme'
    )
    pipeline.ingest(
        sources.sandbox_source(),
        [post(n, f"acme et la recharge zéro déchet, génial {n}", author=f"a{n}") for n in range(5)]
        + [post(9, "acme, rien de neuf", hours_ago=24 * 5)],
    )
    return "recharge"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_a_rising_term_becomes_an_idea(team: Team, rising: str, role: str) -> None:
    client = signed_in(team[role].user)
    url = reverse("listening_trend_idea", kwargs={"ws": team.workspace.slug})
    response = client.post(url, {"term": rising})
    allowed = {"listening.view", "idea.propose"} <= MATRIX[role]
    if allowed:
        assert response.status_code == 302
        idea = Idea.objects.get()
        assert "recharge" in idea.title and "acme et la recharge" in idea.description
        assert "5 " in idea.description  # its figures
        # Never said before: "new", not "7.0 times the usual (0.0 a day)".
        assert "fois l’habitude" not in idea.description and "0.0" not in idea.description
        assert AuditEntry.objects.filter(action="listening.trend_to_idea").exists()
        # Twice (a double click, a colleague): one idea, and the page says where it is.
        again = client.post(url, {"term": rising}, follow=True).content.decode()
        assert Idea.objects.count() == 1
        assert "déjà dans les idées" in again or "already in the ideas" in again
    else:
        assert response.status_code in (403, 404)
        assert not Idea.objects.exists()


def test_a_term_that_does_not_rise_creates_nothing(team: Team, rising: str) -> None:
    client = signed_in(team["content"].user)
    url = reverse("listening_trend_idea", kwargs={"ws": team.workspace.slug})
    page = client.post(url, {"term": "nouveau"}, follow=True).content.decode()
    assert not Idea.objects.exists()
    assert "no longer rises" in page or "ne monte plus" in page


def test_a_trend_or_a_mention_opens_a_prefilled_draft(team: Team, rising: str) -> None:
    compose = reverse("compose", kwargs={"ws": team.workspace.slug})
    client = signed_in(team["content"].user)
    page = client.get(compose, {"listening_term": rising}).content.decode()
    assert "recharge" in page and "@a0 (sandbox)" in page
    mention = Mention.objects.filter(external_id="p1").get()
    page = client.get(compose, {"listening_mention": mention.pk}).content.decode()
    assert "acme et la recharge zéro déchet, génial 1" in page
    old = Mention.objects.get(external_id="p9")
    page = client.get(compose, {"listening_mention": old.pk}).content.decode()
    assert "acme, rien de neuf" not in page  # no longer fresh: said, not prefilled
    # The listening page offers both while fresh; a viewer gets neither.
    listening = reverse("listening", kwargs={"ws": team.workspace.slug})
    assert f"listening_term={rising}" in client.get(listening).content.decode()
    viewer = signed_in(team["viewer"].user).get(listening).content.decode()
    assert "listening_term=" not in viewer and "listening_mention=" not in viewer
    # A member who may not draft (a department agent) gets no composer.
    assert signed_in(team["agent"].user).get(compose, {"listening_term": rising}).status_code == 403


def test_the_volume_charts_day_labels_never_run_into_each_other() -> None:
    """Over 30 days the chart wrote "04/12/2026" two bars before "06/12/2026", the two
    overlapping; the labels written are now at least as far apart as they are long."""
    import datetime as dt
    import itertools
    import re

    from django.utils import translation

    from portevoix.listening import stats

    first = dt.date(2026, 11, 7)
    days = [stats.Day(first + dt.timedelta(days=n), {"neutral": 3}) for n in range(30)]
    with translation.override("fr"):
        svg = str(stats.chart(days))
    labels = [
        (float(x), text)
        for x, text in re.findall(r'<text x="([\d.]+)"[^>]*>(\d\d/\d\d/\d{4})</text>', svg)
    ]
    assert labels[-1][1] == "06/12/2026"
    for (a, _), (b, text) in itertools.pairwise(labels):
        assert b - a >= len(text) * 5.5, (text, b - a)
