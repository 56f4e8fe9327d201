"""A/B experiments split by time: the interval method, "not enough data yet", who may start one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from portevoix.analytics import actions, experiments, rollup
from portevoix.analytics.models import Experiment
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import can
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


def test_wilson_and_newcombe_match_the_published_examples() -> None:
    # Newcombe (1998), table II, example (a): 56/70 against 48/80 -> 0.2, (0.0524, 0.3339).
    difference, lower, upper = experiments.newcombe(48, 80, 56, 70)
    assert difference == pytest.approx(0.2)
    assert (lower, upper) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3339, abs=1e-4))
    low, high = experiments.wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)


def _pair(published, hours_apart=24, *, a=(1000, 30), b=(1000, 60), age=dt.timedelta(days=2)):
    first_at = timezone.now() - age - dt.timedelta(hours=hours_apart)
    first = published(first_at, text="Variante A")
    second = published(first_at + dt.timedelta(hours=hours_apart), text="Variante B")
    for publication, (impressions, engagements) in ((first, a), (second, b)):
        assert publication.published_at is not None
        rollup.record_post(
            publication,
            taken_at=publication.published_at + dt.timedelta(hours=24),
            source="network",
            values={"impressions": impressions, "engagements": engagements},
        )
    return first, second


def test_b_does_better_with_its_interval(team, published) -> None:
    first, second = _pair(published)
    experiment = actions.start_experiment(
        team.workspace, by=team["content"], name="Question ou affirmation",
        variant_a=first, variant_b=second, metric="engagement_rate",
    )  # fmt: skip
    result = experiments.result(experiment)
    assert result.enough and result.verdict == "b_better"
    assert result.difference == pytest.approx(0.03)
    assert result.lower is not None and 0 < result.lower < 0.03 < result.upper
    assert AuditEntry.objects.filter(action="experiment.create").exists()


def test_variants_are_compared_at_the_same_age(team, published) -> None:
    first, second = _pair(published, age=dt.timedelta(hours=30))
    # A later reading of A (at 5 days) would not be fair to B, which is 30 hours old.
    rollup.record_post(
        first,
        taken_at=first.published_at + dt.timedelta(days=2, hours=1),
        source="network",
        values={"impressions": 5000, "engagements": 500},
    )
    experiment = Experiment.objects.create(
        workspace=team.workspace, name="x", channel=first.channel, metric="engagement_rate",
        variant_a=first, variant_b=second,
    )  # fmt: skip
    result = experiments.result(experiment)
    assert result.a.impressions == 1000


def test_not_enough_data_yet(team, published) -> None:
    first, second = _pair(published, a=(150, 3), b=(120, 5))
    experiment = Experiment.objects.create(
        workspace=team.workspace, name="x", channel=first.channel, metric="click_rate",
        variant_a=first, variant_b=second,
    )  # fmt: skip
    result = experiments.result(experiment)
    assert result.verdict == "not_enough"
    assert result.difference is None


@translation.override("en")
def test_variants_must_be_comparable(team, published) -> None:
    first, second = _pair(published, hours_apart=30)  # 06:00 apart in the day
    with pytest.raises(ActionRefused, match="comparable"):
        actions.start_experiment(
            team.workspace, by=team["content"], name="x",
            variant_a=first, variant_b=second, metric="engagement_rate",
        )  # fmt: skip
    with pytest.raises(ActionRefused, match="different"):
        actions.start_experiment(
            team.workspace, by=team["content"], name="x",
            variant_a=first, variant_b=first, metric="engagement_rate",
        )  # fmt: skip


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_start_one(team, client_for, published, role) -> None:
    first, second = _pair(published)
    member = team[role]
    response = client_for(member).post(
        reverse("analytics_experiment", kwargs={"ws": team.workspace.slug}),
        {
            "name": "Emoji",
            "variant_a": first.pk,
            "variant_b": second.pk,
            "metric": "engagement_rate",
        },
    )
    if can(member, "post.create"):
        assert response.status_code == 302
        assert Experiment.objects.count() == 1
        page = client_for(member).get(reverse("analytics", kwargs={"ws": team.workspace.slug}))
        assert "Newcombe" in page.content.decode()
    else:
        assert response.status_code == 403
        assert not Experiment.objects.exists()


def test_a_refused_experiment_keeps_the_form(team, client_for, published) -> None:
    first, second = _pair(published, hours_apart=30)
    response = client_for(team["manager"]).post(
        reverse("analytics_experiment", kwargs={"ws": team.workspace.slug}),
        {
            "name": "Emoji",
            "variant_a": first.pk,
            "variant_b": second.pk,
            "metric": "engagement_rate",
        },
    )
    assert response.status_code == 400
    form = response.context["experiment_form"]
    assert form.errors and form.data["name"] == "Emoji"
