"""The statistics of detection: Poisson tail, baseline with its prior, the test, the topic."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest

from portevoix.crisis import detect
from portevoix.crisis.signals import Signal

PARIS = ZoneInfo("Europe/Paris")
TUESDAY_14 = dt.datetime(2026, 1, 13, 13, 0, tzinfo=dt.UTC)  # 14:00 in Paris


def test_poisson_tail_matches_the_sum_of_the_probabilities() -> None:
    def exact(n: int, lam: float) -> float:
        return 1 - sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(n))

    for n, lam in [(1, 0.5), (5, 0.5), (8, 2.0), (3, 3.0)]:
        assert detect.poisson_tail(n, lam) == pytest.approx(exact(n, lam), rel=1e-6)
    # Far in the tail, where 1 - P(X < n) would round to 0: summed from n upwards.
    far = detect.poisson_tail(40, 0.5)
    assert 0 < far < 1e-50
    assert detect.poisson_tail(0, 1.0) == 1.0


def _hours(
    weeks: int, rate_at: dict[int, int], zone: ZoneInfo = PARIS
) -> list[tuple[dt.datetime, int]]:
    start = dt.datetime(2026, 1, 5, 0, 0, tzinfo=zone).astimezone(dt.UTC)
    rows = []
    for h in range(weeks * 168):
        moment = start + dt.timedelta(hours=h)
        rows.append((moment, rate_at.get(detect.hour_of_week(moment, zone), 0)))
    return rows


def test_the_baseline_learns_each_hour_of_the_week_once_warm() -> None:
    # Four weeks with 4 negative messages every Tuesday at 14:00 and none otherwise.
    tuesday_14 = 1 * 24 + 14
    baseline = detect.build_baseline(_hours(4, {tuesday_14: 4}), PARIS)
    assert baseline.weeks == 4
    assert baseline.rates[tuesday_14] == pytest.approx(0.5 * 4)  # smoothed ¼ ½ ¼
    assert baseline.rates[tuesday_14 + 1] == pytest.approx(0.25 * 4)
    assert baseline.rates[0] == 0


def test_cold_start_leans_on_the_prior() -> None:
    one_week = detect.build_baseline(_hours(1, {38: 4}), PARIS)
    assert one_week.weeks == pytest.approx(1)
    prior = 4 / 168
    assert one_week.prior == pytest.approx(prior)
    # A quarter of the hour's own rate, three quarters of the prior.
    assert one_week.rates[38] == pytest.approx(0.25 * 2 + 0.75 * prior)
    nothing = detect.build_baseline([], PARIS)
    assert nothing.rates == [detect.DEFAULT_PRIOR] * 168
    assert detect.build_baseline([], PARIS, global_prior=0.2).rates[5] == pytest.approx(0.2)


def _negative(
    at: dt.datetime, text: str = "livraison en retard encore", network: str = "bluesky"
) -> Signal:
    return Signal(at, network, True, text, f"inbox:{at.timestamp()}")


def test_a_surge_is_found_and_explained() -> None:
    baseline = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    end = TUESDAY_14 + dt.timedelta(hours=1)
    surge = [
        _negative(TUESDAY_14 + dt.timedelta(minutes=5 * n), f"le retard de livraison #{n}")
        for n in range(7)
    ]
    calm = [Signal(TUESDAY_14, "sandbox", False, "merci !", "inbox:x")]
    found = detect.evaluate(surge + calm, baseline, end=end, zone=PARIS)
    assert found is not None
    assert found.observed == 7 and found.expected == detect.MIN_EXPECTED
    assert found.p_value <= detect.ALPHA
    assert (found.weekday, found.hour) == (1, 14)  # Tuesday, 14:00 in Paris
    assert found.network == "bluesky"
    assert sorted(found.terms) == ["livraison", "retard"]


def test_a_few_negative_messages_are_not_a_crisis() -> None:
    baseline = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    end = TUESDAY_14 + dt.timedelta(hours=1)
    few = [
        _negative(TUESDAY_14 + dt.timedelta(minutes=10 * n)) for n in range(detect.MIN_COUNT - 1)
    ]
    assert detect.evaluate(few, baseline, end=end, zone=PARIS) is None
    # The same count at an hour that always brings that many is the usual.
    busy = detect.build_baseline(_hours(4, {1 * 24 + 14: 7, 1 * 24 + 13: 7, 1 * 24 + 15: 7}), PARIS)
    seven = [_negative(TUESDAY_14 + dt.timedelta(minutes=5 * n)) for n in range(7)]
    assert detect.evaluate(seven, busy, end=end, zone=PARIS) is None


def test_the_topic_leaves_out_what_is_always_said() -> None:
    causes = [
        "Lumière Cosmétiques : le sérum Éclat donne des allergies",
        "allergies après le sérum, Lumière Cosmétiques répondez",
        "Lumière Cosmétiques allergies partout #scandale",
    ]
    before = ["Lumière Cosmétiques merci pour la livraison", "j'adore Lumière Cosmétiques"] * 5
    terms = detect.top_terms(causes, before)
    assert terms[0] == "allergies"
    assert "lumière" not in terms and "cosmétiques" not in terms


def test_a_storms_first_half_hour_is_tested_against_half_an_hours_baseline() -> None:
    quiet = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    first = [_negative(TUESDAY_14 + dt.timedelta(minutes=4 * n)) for n in range(6)]
    found = detect.evaluate(first, quiet, end=end, zone=PARIS)
    assert found is not None
    assert found.end - found.start == dt.timedelta(minutes=30)
    # The floor is MIN_EXPECTED an hour, scaled to the half hour.
    assert found.expected == pytest.approx(detect.MIN_EXPECTED / 2)
    # Where this hour usually brings four negative messages, half an hour expects two, and six
    # are not a crisis.
    busy = detect.build_baseline(_hours(4, {1 * 24 + 14: 4, 1 * 24 + 13: 4, 1 * 24 + 15: 4}), PARIS)
    assert busy.expected(TUESDAY_14, end, PARIS) == pytest.approx(2.0)
    assert detect.evaluate(first, busy, end=end, zone=PARIS) is None


def test_a_mention_that_reached_the_inbox_is_counted_once(team) -> None:
    from django.utils import timezone

    from portevoix.channels import actions as channel_actions
    from portevoix.crisis import signals
    from portevoix.inbox.ingest import ingest
    from portevoix.listening import actions as listening_actions
    from portevoix.listening import pipeline, sources
    from portevoix.networks.types import Author, InboundItem, InboundKind
    from portevoix.sandbox import service

    account = service.create_account("acme-sbx", workspace=team.workspace)
    channel = channel_actions.connect_channel(
        team.workspace, by=team["admin"], network="sandbox",
        credentials=service.credentials_for(account), name="Acme",
    )  # fmt: skip
    listening_actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text="acme"
    )
    now = timezone.now()
    ingest(
        channel,
        [
            InboundItem(
                network="sandbox", message_id="m-1", kind=InboundKind.MENTION,
                author=Author(id="u1", handle="clara"), text="@acme-sbx acme livre en retard",
                created_at=now - dt.timedelta(minutes=5),
            )
        ],
    )  # fmt: skip
    heard = [
        pipeline.PublicPost(
            external_id=key,
            network="sandbox",
            text=text,
            author_handle="clara",
            posted_at=now - dt.timedelta(minutes=5),
        )
        for key, text in [("m-1", "@acme-sbx acme livre en retard"), ("m-2", "acme, bof")]
    ]
    assert pipeline.ingest(sources.sandbox_source(), heard) == 2
    found = signals.gather(team.workspace.pk, now - dt.timedelta(hours=1), now)
    assert sorted(s.ref.split(":")[0] for s in found) == ["inbox", "mention"]
    assert [s.text for s in found if s.ref.startswith("mention:")] == ["acme, bof"]
