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
    # Each carries its author, the same person whether the inbox or listening heard them.
    assert {s.author for s in found} == {"sandbox:clara"}


def test_a_storm_at_a_competitor_or_on_an_industry_hashtag_is_not_the_brands_crisis(team) -> None:
    """Detection reads the mentions its own queries found (brand, products, executives), not
    what it follows about others: the same surge raises the alert only when it is about us."""
    from django.utils import timezone

    from portevoix.crisis import actions as crisis_actions
    from portevoix.crisis import signals
    from portevoix.crisis.models import Alert
    from portevoix.listening import actions as listening_actions
    from portevoix.listening import pipeline, sources
    from portevoix.listening.models import Mention

    by = team["admin"]
    for name, kind, text in [
        ("Marque", "brand", "acme"),
        ("Produits", "product", '"sérum éclat"'),
        ("Rosée Paris", "competitor", '"rosée paris"'),
        ("Beauté", "industry", "cosmétiques"),
        ("#skincare", "hashtag", "#skincare"),
    ]:
        listening_actions.create_query(team.workspace, by=by, name=name, kind=kind, text=text)
    # Ten past an hour: the first messages are in the hour before, which the check counts.
    now = timezone.now().replace(minute=10, second=0, microsecond=0) - dt.timedelta(hours=1)

    def surge(about: str, prefix: str) -> None:
        pipeline.ingest(
            sources.sandbox_source(),
            [
                pipeline.PublicPost(
                    external_id=f"{prefix}-{n}",
                    network="sandbox",
                    text=f"Je boycotte {about}, c'est une honte, produit dangereux 😡",
                    author_handle=f"{prefix}-{n}",
                    posted_at=now - dt.timedelta(minutes=20 - n),
                )
                for n in range(12)
            ],
        )

    surge("Rosée Paris", "rival")
    surge("les cosmétiques #skincare", "trade")
    others = Mention.objects.filter(external_id__regex=r"^(rival|trade)-")
    assert others.count() == 24
    assert others.filter(sentiment="negative").count() >= 20  # an angry crowd, not ours
    assert signals.gather(team.workspace.pk, now - dt.timedelta(hours=1), now) == []
    assert crisis_actions.check_workspace(team.workspace, now) is None

    surge("le sérum Éclat", "ours")  # the product's query: this one is about us
    found = signals.gather(team.workspace.pk, now - dt.timedelta(hours=1), now)
    assert {s.author for s in found} == {f"sandbox:ours-{n}" for n in range(12)}
    alert = crisis_actions.check_workspace(team.workspace, now)
    assert alert is not None and Alert.objects.filter(workspace=team.workspace).count() == 1


def test_counts_made_under_the_old_rule_are_recounted_after_the_upgrade(team) -> None:
    """Migration 0006 empties the hourly counts (made when every mention counted); the next
    check recounts the last four weeks from what is stored, under today's rule."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from portevoix.crisis import actions as crisis_actions
    from portevoix.crisis.models import HourlyVolume
    from portevoix.listening import actions as listening_actions
    from portevoix.listening import pipeline, sources

    by = team["admin"]
    listening_actions.create_query(team.workspace, by=by, name="M", kind="brand", text="acme")
    listening_actions.create_query(
        team.workspace, by=by, name="R", kind="competitor", text='"rosée paris"'
    )
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    pipeline.ingest(
        sources.sandbox_source(),
        [
            pipeline.PublicPost(
                external_id=f"p{n}",
                network="sandbox",
                text=text,
                author_handle=f"a{n}",
                posted_at=hour + dt.timedelta(minutes=10 + n),
            )
            for n, text in enumerate(["acme, bof", "rosée paris, bof", "rosée paris !"])
        ],
    )
    # What the old rule had stored: the competitor's two mentions counted as the brand's.
    HourlyVolume.objects.create(workspace=team.workspace, hour=hour, total=3, negative=0)
    migration = importlib.import_module("portevoix.crisis.migrations.0006_recount_hourly_volumes")
    state = MigrationExecutor(connection).loader.project_state(
        ("crisis", "0006_recount_hourly_volumes")
    )
    migration.recount(state.apps, None)
    assert not HourlyVolume.objects.exists()
    crisis_actions.count_hours(team.workspace, timezone.now())
    assert HourlyVolume.objects.get(hour=hour).total == 1


# --- a word's sudden rise ------------------------------------------------------------------


def _said(texts: list[str]) -> detect.Vocabulary:
    return detect.Vocabulary.of(texts)


#: Four weeks of ordinary messages: the brand, orders, thanks; never a delay.
USUAL = [
    "Lumière Cosmétiques ma commande est arrivée, merci",
    "j'adore la crème Velours de Lumière Cosmétiques",
    "Lumière Cosmétiques le sérum Éclat est trop cher",
    "quand revient le sérum Éclat en stock ?",
] * 150


def test_a_new_word_said_again_and_again_is_a_topic_rising_before_the_volume_stands_out() -> None:
    quiet = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    totals = detect.build_baseline(_hours(4, {}), PARIS, global_prior=1.2)
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    three = [
        _negative(TUESDAY_14 + dt.timedelta(minutes=2), "Lumière Cosmétiques et ce retard !!"),
        _negative(TUESDAY_14 + dt.timedelta(minutes=11), "le retard de livraison, honte"),
        _negative(TUESDAY_14 + dt.timedelta(minutes=25), "boycott après le retard de livraison"),
    ]
    # Three negative messages are not a surge by their number alone...
    assert len(three) < detect.MIN_COUNT
    assert detect.evaluate(three, quiet, end=end, zone=PARIS) is None
    # ...but a word never said in four weeks, in each of them, is.
    found = detect.evaluate(
        three, quiet, end=end, zone=PARIS, vocabulary=_said(USUAL), totals=totals
    )
    assert found is not None
    assert found.term == "retard" and found.terms[0] == "retard"
    assert "livraison" in found.terms
    assert found.end - found.start == dt.timedelta(minutes=30)
    assert found.observed == 3 and found.causes == three
    assert found.p_value <= detect.TERM_ALPHA
    assert (found.weekday, found.hour) == (1, 14)
    # The same three messages where "retard" and "livraison" are what people always say: the
    # usual, nothing rises.
    usual = _said(USUAL + ["livraison en retard"] * 300)
    assert (
        detect.evaluate(three, quiet, end=end, zone=PARIS, vocabulary=usual, totals=totals) is None
    )


def test_a_short_history_makes_a_new_word_less_surprising() -> None:
    quiet = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    totals = detect.build_baseline(_hours(4, {}), PARIS, global_prior=1.2)
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    three = [
        _negative(TUESDAY_14 + dt.timedelta(minutes=5 * n), "le retard de livraison")
        for n in range(3)
    ]
    # A workspace that has heard a dozen messages so far cannot tell a new word from any word.
    assert (
        detect.evaluate(
            three, quiet, end=end, zone=PARIS, vocabulary=_said(USUAL[:12]), totals=totals
        )
        is None
    )


def test_a_new_word_said_in_praise_is_not_a_crisis() -> None:
    quiet = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    totals = detect.build_baseline(_hours(4, {}), PARIS, global_prior=1.2)
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    launch = [
        Signal(
            TUESDAY_14 + dt.timedelta(minutes=4 * n),
            "bluesky",
            False,
            "la palette Aurore 😍",
            f"inbox:{n}",
        )
        for n in range(5)
    ] + [_negative(TUESDAY_14 + dt.timedelta(minutes=21), "palette Aurore déjà en rupture")]
    assert detect.rising_words(launch, end=end) == []
    assert (
        detect.evaluate(launch, quiet, end=end, zone=PARIS, vocabulary=_said(USUAL), totals=totals)
        is None
    )


def _from(author: str, minute: int, text: str, negative: bool = True) -> Signal:
    at = TUESDAY_14 + dt.timedelta(minutes=minute)
    return Signal(at, "sandbox", negative, text, f"inbox:{author}-{minute}", f"sandbox:{author}")


def test_one_customer_writing_a_new_word_again_is_not_a_crowd() -> None:
    quiet = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    totals = detect.build_baseline(_hours(4, {}), PARIS, global_prior=1.2)
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    said = _said(USUAL)
    # Two messages from one customer (the inbox and a public mention), and another's: two
    # people share the new word, not three.
    two = [
        _from("clara", 2, "toujours ce retard de livraison !!"),
        _from("clara", 4, "@acme toujours ce retard de livraison !!"),
        _from("hugo", 20, "le retard de livraison, honte"),
    ]
    assert detect.rising_words(two, end=end) == []
    assert detect.evaluate(two, quiet, end=end, zone=PARIS, vocabulary=said, totals=totals) is None
    # A third person writing it is a crowd rising.
    three = [*two, _from("ines", 25, "boycott après le retard de livraison")]
    found = detect.evaluate(three, quiet, end=end, zone=PARIS, vocabulary=said, totals=totals)
    assert found is not None and found.term == "retard"
    # One angry customer writing six times is one voice, not a surge of negative messages...
    six = [_from("clara", 4 * n, f"commande {n} jamais reçue") for n in range(6)]
    assert detect.evaluate(six, quiet, end=end, zone=PARIS) is None
    # ...where six people are.
    crowd = [_from(f"p{n}", 4 * n, f"commande {n} jamais reçue") for n in range(6)]
    assert detect.evaluate(crowd, quiet, end=end, zone=PARIS) is not None


def test_a_new_hashtag_picked_up_by_three_people_is_a_topic_rising() -> None:
    """A storm's hashtag is passed from one person to the next: a term like its words (before,
    hashtags were dropped with handles, and a storm whose first voices wrote only
    "#boycottLumiere" was heard five minutes later, from its words)."""
    quiet = detect.build_baseline(_hours(4, {}), PARIS, global_prior=0.3)
    totals = detect.build_baseline(_hours(4, {}), PARIS, global_prior=1.2)
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    said = _said([*USUAL, *["J'adore #Lumière et #skincare"] * 100])
    tags = [
        _from("emma", 3, "@lumiere #boycottLumière #LumièreScandale"),
        _from("marine", 11, "#boycottLumiere #LumiereScandale 😒"),
        _from("thomas", 24, "#BoycottLumiere", negative=False),
    ]
    assert detect._words(tags[0].text) == {
        "#boycottlumiere": "#boycottLumière",
        "#lumierescandale": "#LumièreScandale",
    }
    assert sorted(detect.rising_words(tags, end=end)) == ["#boycottlumiere"]
    found = detect.evaluate(tags, quiet, end=end, zone=PARIS, vocabulary=said, totals=totals)
    assert found is not None and found.term == "#boycottLumière"
    assert found.terms[0] == "#boycottLumière" and found.causes == tags
    # The brand's usual hashtag, however often, is not new; nor is a link's anchor a hashtag.
    usual = [_from(f"fan{n}", 3 * n, "Toujours au top #Lumière", negative=n < 2) for n in range(4)]
    assert detect.rising_words(usual, end=end) == ["#lumiere"]
    assert (
        detect.evaluate(usual, quiet, end=end, zone=PARIS, vocabulary=said, totals=totals) is None
    )
    assert detect._words("https://lumiere.fr/faq#livraison-retard A&#123;") == {}


def test_a_word_shared_by_three_people_but_said_in_anger_by_one_is_not_tested() -> None:
    end = TUESDAY_14 + dt.timedelta(minutes=30)
    shop = [
        _from("sophie", 2, "la vendeuse de la boutique de Nantes a été désagréable"),
        _from("karim", 9, "vous ouvrez le dimanche à Nantes ?", negative=False),
        _from("lea", 15, "la boutique de Nantes est superbe", negative=False),
    ]
    assert detect.rising_words(shop, end=end) == []


def test_a_rarely_seen_words_surprise_has_a_heavier_tail_than_the_poisson() -> None:
    # The word's rate is estimated from what was said: seen once in 200 messages, it could as
    # well be said once in 100. The negative binomial's tail accounts for it.
    poisson = detect.poisson_tail(3, 0.5 * 2 / 201)
    assert detect.word_tail(3, 0.5, 1, 200) > 2.5 * poisson
    # Its mean is the Poisson's: (said + 1) / (messages + 1) of the expected messages.
    mean = sum(
        (detect.word_tail(k, 4.0, 5, 100) - detect.word_tail(k + 1, 4.0, 5, 100)) * k
        for k in range(1, 60)
    )
    assert mean == pytest.approx(4.0 * 6 / 101, rel=1e-6)
    # With a long history the two agree.
    assert detect.word_tail(2, 1.0, 50, 100_000) == pytest.approx(
        detect.poisson_tail(2, 51 / 100_001), rel=0.05
    )
    assert detect.word_tail(0, 1.0, 0, 10) == 1.0


def test_an_alerts_chance_is_said_as_one_in_so_many_with_the_detectors_own_rule() -> None:
    from django.utils import translation

    from portevoix.crisis.templatetags.crisis import detection_rule, one_in

    with translation.override("en"):
        assert one_in(3.2e-9) == "about 1 in 310,000,000"
        assert one_in(0.7) == "about even"
        rule = detection_rule()
    assert f"at least {detect.MIN_COUNT} people" in rule
    assert "1 in 300,000" in rule  # ALPHA split over the three windows
    assert f"at least {detect.TERM_MIN_COUNT} people" in rule
    with translation.override("fr"):
        assert one_in(3.2e-9) == "environ 1 sur 310\u00a0000\u00a0000"


def test_the_topic_leaves_out_french_and_english_small_words() -> None:
    texts = [f"Je boycotte après {w} le retard de livraison" for w in ("lundi", "mardi")]
    assert "après" not in detect.top_terms(texts)
