"""The KPIs listening measures: mentions of the brand and its share of voice (issue 13's goals
with issue 12's listening), counted as the listening page counts them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portevoix.analytics import goals, kpis
from portevoix.listening import actions, pipeline, sources, stats
from portevoix.listening.models import ListeningQuery, Mention
from portevoix.strategy.models import Goal, Kpi
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def post(n: int, text: str, days_ago: float, network: str = "sandbox") -> pipeline.PublicPost:
    return pipeline.PublicPost(
        external_id=f"k{n}",
        network=network,
        text=text,
        posted_at=timezone.now() - dt.timedelta(days=days_ago),
        author_handle=f"author{n}",
        author_reach=100,
        language="fr",
    )


def window() -> dict[str, dt.datetime]:
    now = timezone.now()
    return {"start": now - dt.timedelta(days=30), "end": now + dt.timedelta(minutes=1)}


@pytest.fixture
def heard(team):
    admin = team["admin"]
    actions.create_query(team.workspace, by=admin, name="Acme", kind="brand", text='"acme"')
    actions.create_query(team.workspace, by=admin, name="Velours", kind="product", text="velours")
    actions.create_query(team.workspace, by=admin, name="Rival", kind="competitor", text='"rival"')
    actions.create_query(
        team.workspace, by=admin, name="Autre", kind="competitor", text='"autre marque"'
    )
    pipeline.ingest(
        sources.sandbox_source(),
        [
            post(1, "acme, toujours au top", 1),
            post(2, "le sérum velours de acme", 2),  # the brand and a product: one mention
            post(3, "rival, bof", 3),
            post(4, "acme ou rival ? j'hésite", 4),  # a voice for each
            post(5, "rival et autre marque, pareil", 5),  # a voice for each competitor
            post(6, "acme il y a longtemps", 45),  # before the period
            post(7, "acme vu sur bluesky", 1, network="bluesky"),
            post(8, "rien à voir", 1),  # matches nothing: not stored
        ],
    )
    return team


def test_mentions_count_each_brand_mention_once_in_the_period(heard) -> None:
    assert kpis.measure(heard.workspace, "mentions", **window()) == 4.0  # 1, 2, 4, 7


def test_share_of_voice_is_the_listening_pages_share(heard) -> None:
    # Brand 4 (1, 2, 4, 7); competitors: rival 3 (3, 4, 5), the other brand 1 (5).
    share = kpis.measure(heard.workspace, "share_of_voice", **window())
    assert share == pytest.approx(4 / 8)
    now = timezone.now()
    rows = stats.share_of_voice(
        Mention.objects.filter(
            workspace=heard.workspace, posted_at__gte=now - dt.timedelta(days=30)
        ),
        ListeningQuery.objects.filter(workspace=heard.workspace),
    )
    assert rows[0]["own"] and rows[0]["count"] == 4
    assert sum(r["count"] for r in rows) == 8


def test_a_channel_narrows_listening_to_its_network(heard, channel) -> None:
    assert channel.network == "sandbox"
    assert kpis.measure(heard.workspace, "mentions", channel=channel, **window()) == 3.0
    assert kpis.measure(
        heard.workspace, "share_of_voice", channel=channel, **window()
    ) == pytest.approx(3 / 7)


def test_nothing_listened_for_is_no_figure_not_a_zero(team) -> None:
    assert kpis.measure(team.workspace, "mentions", **window()) is None
    assert kpis.measure(team.workspace, "share_of_voice", **window()) is None
    actions.create_query(team.workspace, by=team["admin"], name="Acme", kind="brand", text="acme")
    # Listened for and not heard: zero mentions; no competitor: no share of voice.
    assert kpis.measure(team.workspace, "mentions", **window()) == 0.0
    assert kpis.measure(team.workspace, "share_of_voice", **window()) is None


def test_the_goals_page_shows_the_share_of_voice_as_a_percentage(heard) -> None:
    goal, _ = Goal.objects.get_or_create(workspace=heard.workspace, code="brand_awareness")
    kpi = Kpi.objects.create(
        workspace=heard.workspace,
        goal=goal,
        metric="share_of_voice",
        target=Decimal("60"),
        period="year",
    )
    now = timezone.now()
    progress = goals.kpi_progress(kpi, heard.workspace, now)
    # 50 % (4 of 8) or, when the year holds the 45-day-old mention too, 55.6 % (5 of 9).
    assert progress.value in (pytest.approx(50.0), pytest.approx(500 / 9))
    assert progress.status == "behind"
    page = signed_in(heard["manager"].user).get(
        reverse("analytics", kwargs={"ws": heard.workspace.slug})
    )
    html = page.content.decode()
    assert page.status_code == 200
    row = re.sub(r"[ \t\n]+", " ", html[html.index("Part de voix") :])
    shown = "50,0\u00a0%" if progress.value == pytest.approx(50.0) else "55,6\u00a0%"
    assert row.startswith(
        f'Part de voix <span class="muted small">(sur l’année)</span></td> <td class="num">{shown}</td>'
    )


def test_figures_are_rounded_not_cut(team) -> None:
    """Django's number_format cuts a float's decimals: 59.99 minutes read "59 min", under a
    60-minute target it was not under."""
    from django.utils import translation

    from portevoix.analytics import views

    with translation.override("en"):
        assert views._kpi_number(59.99, "first_response_minutes") == "60\u00a0min"
        assert views._kpi_number(500 / 9, "share_of_voice") == "55.6\u00a0%"
        assert views._number(0.04996, rate=True) == "5.0\u00a0%"
        assert views._points(0.012345) == "+1.23"
