"""Strategy: the versioned canvas and its review prompt, goals, channel levels, KPIs naming
the analytics metric keys, content pillars and their mix; every refused role."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry, User
from portevoix.core.permissions import can
from portevoix.publishing import actions as publishing
from portevoix.strategy import actions, reading
from portevoix.strategy.metrics import METRICS
from portevoix.strategy.models import CanvasVersion, Goal, Kpi, Pillar
from tests.care.conftest import connect
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

ANALYTICS_KEYS = {
    "followers", "follower_growth", "impressions", "reach", "engagements", "engagement_rate",
    "clicks", "video_views", "posts_published", "mentions", "share_of_voice", "leads",
    "deal_value", "first_response_minutes", "sla_compliance", "conversations_resolved",
    "profile_visits",
}  # fmt: skip
MANAGERS = [r for r in ALL_ROLES if r in {"admin", "manager"}]
NOT_MANAGERS = [r for r in ALL_ROLES if r not in MANAGERS]


def test_kpis_name_exactly_the_metric_keys_analytics_measures() -> None:
    assert set(METRICS) == ANALYTICS_KEYS
    assert all(str(m.label) and str(m.unit) for m in METRICS.values())


# --- the canvas ---------------------------------------------------------------------------------


def test_every_save_is_a_version_and_the_history_shows_what_changed(team, client_for) -> None:
    manager = team["manager"]
    actions.save_canvas(team.workspace, by=manager, market="Cosmétiques bio", budget="2 k€")
    second = actions.save_canvas(
        team.workspace, by=manager, market="Cosmétiques bio, France et Belgique", budget="2 k€",
        note="Belgique",
    )  # fmt: skip
    assert second.number == 2
    assert actions.changed_fields(CanvasVersion.objects.get(number=1), second) == ["market"]
    entry = AuditEntry.objects.filter(action="strategy.canvas").first()
    assert entry is not None and entry.after["changed"] == ["market"]
    page = client_for(team["viewer"]).get(reverse("strategy_history", args=[team.workspace.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "France et Belgique" in html and "Version 2" in html and "Belgique" in html


def test_an_empty_canvas_is_refused_and_the_form_keeps_nothing_lost(team, client_for) -> None:
    url = reverse("strategy_canvas", args=[team.workspace.slug])
    response = client_for(team["manager"]).post(url, {"market": "  ", "note": "x"})
    assert response.status_code == 400
    assert "Answer at least one question" in response.content.decode()
    assert not CanvasVersion.objects.exists()


def test_the_page_asks_for_a_review_when_the_strategy_is_old_or_a_campaign_ended(team) -> None:
    manager = team["manager"]
    assert reading.review_reasons(team.workspace)  # nothing written yet
    version = actions.save_canvas(team.workspace, by=manager, market="x")
    assert reading.review_reasons(team.workspace) == []
    later = version.saved_at + dt.timedelta(days=7 * 30)
    assert any("6 months" in r for r in reading.review_reasons(team.workspace, later))
    actions.set_review_interval(team.workspace, by=manager, months=12)
    assert reading.review_reasons(team.workspace, later) == []
    campaign = publishing.save_campaign(team.workspace, by=manager, name="Soldes")
    campaign.ends_on = timezone.now().date()
    campaign.save()
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert any("Soldes" in r for r in reading.review_reasons(team.workspace, tomorrow))


# --- goals, channels, KPIs ------------------------------------------------------------------------


def test_goals_channels_and_kpis(team, client_for) -> None:
    manager = team["manager"]
    channel = connect(team, "acme-linkedin")
    actions.set_goals(team.workspace, by=manager, codes=["leads", "recruitment"])
    leads = Goal.objects.get(code="leads")
    actions.set_channel_strategy(channel, by=manager, level="proactive", goals=[leads])
    channel.refresh_from_db()
    assert channel.strategy_level == "proactive"
    assert list(channel.strategy_goals.all()) == [leads]
    kpi = actions.add_kpi(
        leads, by=manager, metric="leads", target="1200", period="month", channel=channel
    )
    assert kpi.target == Decimal("1200.00")
    with pytest.raises(ActionRefused):
        actions.add_kpi(leads, by=manager, metric="likes", target="1", period="month")
    with pytest.raises(ActionRefused):
        actions.add_kpi(leads, by=manager, metric="leads", target="-1", period="month")
    with pytest.raises(ActionRefused, match="KPIs"):
        actions.set_goals(team.workspace, by=manager, codes=["recruitment"])
    page = client_for(team["viewer"]).get(reverse("strategy", args=[team.workspace.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Generate leads" in html and "Recruitment" in html and "1,200 leads per month" in html
    assert "Proactive" in html


def test_a_level_is_held_over_its_period_and_a_total_added_up_per_period(team, client_for):
    """« 60 minutes per week » read as a weekly allowance of minutes: a level (a rate, a time,
    followers) holds over the period, a ceiling says so, and a total still adds up per period."""
    manager = team["manager"]
    actions.set_goals(team.workspace, by=manager, codes=["customer_service", "brand_awareness"])
    care = Goal.objects.get(code="customer_service")
    awareness = Goal.objects.get(code="brand_awareness")
    actions.add_kpi(care, by=manager, metric="first_response_minutes", target=60, period="week")
    actions.add_kpi(awareness, by=manager, metric="engagement_rate", target="4.5", period="month")
    actions.add_kpi(awareness, by=manager, metric="mentions", target=900, period="month")
    html = client_for(team["viewer"]).get(reverse("strategy", args=[team.workspace.slug]))
    text = " ".join(html.content.decode().split())
    assert "at most 60 minutes over the week" in text
    assert "4.50 % over the month" in text
    assert "900 mentions per month" in text
    assert "per week" not in text


def test_a_bad_kpi_form_answers_400_in_place(team, client_for) -> None:
    actions.set_goals(team.workspace, by=team["manager"], codes=["leads"])
    goal = Goal.objects.get()
    url = reverse("strategy_kpi_add", args=[team.workspace.slug])
    response = client_for(team["manager"]).post(
        url, {"goal": goal.pk, "metric": "nope", "target": "abc", "period": "month"}
    )
    assert response.status_code == 400
    assert not Kpi.objects.exists()


def test_a_kpi_of_another_workspace_is_a_404(team, client_for) -> None:
    actions.set_goals(team.workspace, by=team["manager"], codes=["leads"])
    kpi = actions.add_kpi(
        Goal.objects.get(), by=team["manager"], metric="leads", target=1, period="week"
    )
    outsider = team.outsider
    url = reverse("strategy_kpi_delete", args=[outsider.workspace.slug, kpi.pk])
    assert client_for(outsider).post(url).status_code == 404
    assert Kpi.objects.filter(pk=kpi.pk).exists()


# --- pillars and the mix ------------------------------------------------------------------------


def test_the_target_mix_must_sum_to_100_and_the_actual_mix_counts_labelled_posts(
    team, client_for
) -> None:
    manager = team["manager"]
    channel = connect(team, "acme-insta")
    tips = actions.add_pillar(team.workspace, by=manager, name="Conseils beauté")
    brand = actions.add_pillar(team.workspace, by=manager, name="La marque")
    with pytest.raises(ActionRefused, match="90"):
        actions.set_pillar_targets(team.workspace, by=manager, targets={tips.pk: 60, brand.pk: 30})
    actions.set_pillar_targets(team.workspace, by=manager, targets={tips.pk: 70, brand.pk: 30})
    posts = [
        publishing.schedule_post(
            team.workspace, by=manager, text=f"Post {i}", channels=[channel],
            at=timezone.now() + dt.timedelta(days=i + 1),
        )
        for i in range(4)
    ]  # fmt: skip
    actions.label_post(posts[0], by=team["content"], pillar=tips)
    for post in posts[1:3]:
        actions.label_post(post, by=team["content"], pillar=brand)
    rows, unlabelled = reading.pillar_mix(team.workspace)
    mix = {row.pillar.name: (row.posts, row.actual_percent, row.gap) for row in rows}
    assert mix == {"Conseils beauté": (1, 33, -37), "La marque": (2, 67, 37)}
    assert unlabelled == 1
    url = reverse("strategy_pillar_targets", args=[team.workspace.slug])
    response = client_for(manager).post(url, {f"target_{tips.pk}": "50", f"target_{brand.pk}": "x"})
    assert response.status_code == 400
    assert Pillar.objects.get(pk=tips.pk).target_percent == 70


def test_labelling_a_post_needs_post_create(team, client_for) -> None:
    channel = connect(team, "acme-fb")
    pillar = actions.add_pillar(team.workspace, by=team["manager"], name="Coulisses")
    post = publishing.schedule_post(
        team.workspace, by=team["manager"], text="x", channels=[channel],
        at=timezone.now() + dt.timedelta(days=1),
    )  # fmt: skip
    url = reverse("strategy_post_pillars", args=[team.workspace.slug])
    for role in ALL_ROLES:
        member = team[role]
        response = client_for(member).post(url, {"post": post.pk, "pillar": pillar.pk})
        expected = 302 if can(member, "post.create") and can(member, "strategy.view") else 403
        assert response.status_code == expected, role


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_MANAGERS)
def test_only_managers_change_the_strategy(team, role) -> None:
    member = team[role]
    with pytest.raises(PermissionDenied):
        actions.save_canvas(team.workspace, by=member, market="x")
    with pytest.raises(PermissionDenied):
        actions.set_goals(team.workspace, by=member, codes=["leads"])
    with pytest.raises(PermissionDenied):
        actions.add_pillar(team.workspace, by=member, name="x")
    with pytest.raises(PermissionDenied):
        actions.set_responsibilities(team.workspace, by=member, cells={})
    with pytest.raises(PermissionDenied):
        actions.publish_policy(team.workspace, by=member, text="x")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_page_for_every_role(team, client_for, role) -> None:
    member = team[role]
    client = client_for(member)
    ws = team.workspace.slug
    reads = {
        "strategy": "strategy.view",
        "strategy_history": "strategy.view",
        "strategy_matrix": "strategy.view",
        "strategy_post_pillars": "strategy.view",
        "strategy_canvas": "strategy.manage",
        "strategy_policy_manage": "strategy.manage",
        "strategy_policy": None,
    }
    for name, action in reads.items():
        response = client.get(reverse(name, args=[ws]))
        expected = 200 if action is None or can(member, action) else 403
        assert response.status_code == expected, (name, role)
    writes = [
        "strategy_goals", "strategy_kpi_add", "strategy_pillar_add", "strategy_pillar_targets",
        "strategy_review", "strategy_matrix_roles", "strategy_policy_send",
        "strategy_policy_employees", "strategy_policy_link",
    ]  # fmt: skip
    before = AuditEntry.objects.count()
    for name in writes:
        response = client.post(reverse(name, args=[ws]), {})
        if can(member, "strategy.manage"):
            assert response.status_code in {302, 400}, (name, role)
        else:
            assert response.status_code == 403, (name, role)
    if not can(member, "strategy.manage"):
        assert AuditEntry.objects.count() == before


def test_the_navigation_links_to_the_strategy_page(team, client_for) -> None:
    page = client_for(team["viewer"]).get(reverse("workspace_home", args=[team.workspace.slug]))
    assert reverse("strategy", args=[team.workspace.slug]) in page.content.decode()
    assert "strategy" in [item["key"] for item in page.context["nav"]]


def test_channel_of_another_workspace_is_a_404(team, client_for) -> None:
    channel = connect(team, "acme-x")
    outsider = team.outsider
    url = reverse("strategy_channel", args=[outsider.workspace.slug, channel.pk])
    assert client_for(outsider).post(url, {}).status_code == 404
    assert Channel.objects.get(pk=channel.pk).strategy_level == "active"


def test_french(team, client_for) -> None:
    client = client_for(team["manager"])
    User.objects.filter(pk=team["manager"].user_id).update(language="fr")
    actions.set_goals(team.workspace, by=team["manager"], codes=["brand_awareness"])
    html = client.get(
        reverse("strategy", args=[team.workspace.slug]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Notoriété de la marque" in html
