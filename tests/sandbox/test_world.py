"""The simulated world: engagement with a daily rhythm, customers, mentions and crises."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import py3langid
import time_machine

from portevoix.networks.sandbox import SandboxNetwork
from portevoix.networks.types import Credentials, MediaItem, OutgoingPost
from portevoix.sandbox import service, world
from portevoix.sandbox.models import (
    Intent,
    SandboxAccount,
    SandboxInteraction,
    SandboxPost,
)

from ..networks.contract import PNG_1PX
from .conftest import MONDAY, AccountFactory

HOUR = timedelta(hours=1)
IMAGE = (MediaItem(PNG_1PX, "image/png", alt_text="Le sérum", filename="s.png"),)
TEXT = "Notre nouveau sérum Éclat arrive demain ✨ Vous l'attendiez ? #skincare"


def publish_at(account: SandboxAccount, moment: datetime, key: str = "p", **post: object) -> str:
    with time_machine.travel(moment, tick=False):
        network = SandboxNetwork()
        network.connect(Credentials(service.credentials_for(account)))
        return network.publish(OutgoingPost(**{"text": TEXT, **post}), idempotency_key=key).post_id


def counters(post_id: str) -> tuple[int, int, int, int]:
    post = SandboxPost.objects.get(network_id=post_id)
    return post.impressions, post.likes, post.shares, post.comments


def quiet(make_account: AccountFactory, handle: str, **fields: object) -> SandboxAccount:
    """An account whose customers stay silent: only engagement moves."""
    fields.setdefault("seed", 1)
    return make_account(
        handle, now=MONDAY, follower_count=20000, inbound_per_day=0, mentions_per_day=0, **fields
    )


def messages(account: SandboxAccount) -> list[tuple[object, ...]]:
    return list(
        SandboxInteraction.objects.filter(account=account)
        .order_by("pk")
        .values_list("kind", "created_at", "text", "language", "intent", "sentiment", "addressed")
    )


def test_engagement_grows_over_the_hours(make_account: AccountFactory) -> None:
    account = quiet(make_account, "grows")
    post_id = publish_at(account, MONDAY + 18 * HOUR, media=IMAGE)
    history = []
    for hours in (19, 20, 22, 26, 42, 72):
        world.advance(account, MONDAY + hours * HOUR)
        history.append(counters(post_id))
    impressions = [h[0] for h in history]
    assert impressions == sorted(impressions) and impressions[0] > 0
    assert impressions[-1] > 4000
    final = history[-1]
    assert 0 < final[1] < final[0]  # likes
    assert final[2] < final[1]  # shares are rarer than likes
    # Early hours bring more than late ones (the post ages).
    assert impressions[1] - impressions[0] > (impressions[-1] - impressions[-2]) / 30


def test_engagement_depends_on_the_hour_in_the_audience_time_zone(
    make_account: AccountFactory,
) -> None:
    night = quiet(make_account, "night")
    evening = quiet(make_account, "evening")
    # 03:00 and 20:00 in Paris (UTC+1 in January).
    night_post = publish_at(night, MONDAY + 2 * HOUR)
    evening_post = publish_at(evening, MONDAY + 19 * HOUR)
    world.advance(night, MONDAY + 5 * HOUR)
    world.advance(evening, MONDAY + 22 * HOUR)
    assert counters(evening_post)[0] > 4 * counters(night_post)[0]
    audience = world.Audience(list(evening.cohorts.all()))
    assert audience.activity(MONDAY + 19 * HOUR) > 5 * audience.activity(MONDAY + 2 * HOUR)


def test_a_new_york_audience_is_awake_at_other_hours(make_account: AccountFactory) -> None:
    account = quiet(
        make_account,
        "nyc",
        cohorts=[{"time_zone": "America/New_York", "language": "en", "size": 1}],
    )
    audience = world.Audience(list(account.cohorts.all()))
    # 02:00 UTC is 21:00 in New York, 19:00 UTC is 14:00.
    assert audience.activity(MONDAY + 2 * HOUR) > audience.activity(MONDAY + 8 * HOUR)


def test_images_do_better_than_text(make_account: AccountFactory) -> None:
    text = quiet(make_account, "text")
    image = quiet(make_account, "image")
    text_post = publish_at(text, MONDAY + 18 * HOUR)
    image_post = publish_at(image, MONDAY + 18 * HOUR, media=IMAGE)
    for account in (text, image):
        world.advance(account, MONDAY + 48 * HOUR)
    assert counters(image_post)[0] > 1.5 * counters(text_post)[0]
    assert counters(image_post)[1] > 2 * counters(text_post)[1]


def test_quality_score_rewards_a_good_post(account: SandboxAccount) -> None:
    good = world.quality_score(account, TEXT, [{"alt_text": "x"}], "same")
    poor = world.quality_score(account, "ok", [], "same")
    shouting = world.quality_score(account, "ACHETEZ " * 10 + "#a #b #c #d #e #f #g", [], "same")
    assert good > poor and good > shouting
    assert all(0.2 <= q <= 2.5 for q in (good, poor, shouting))
    account.quality_bias = 1.0
    assert world.quality_score(account, TEXT, [], "same") > world.quality_score(
        SandboxAccount(seed=account.seed), TEXT, [], "same"
    )


def test_customers_write_in_french_and_english_across_every_intent(
    make_account: AccountFactory,
) -> None:
    account = make_account(
        "busy",
        now=MONDAY,
        inbound_per_day=400,
        follower_count=50000,
        cohorts=[
            {"time_zone": "Europe/Paris", "language": "fr", "size": 50},
            {"time_zone": "Europe/London", "language": "en", "size": 50},
        ],
    )
    for day in range(3):
        publish_at(account, MONDAY + (day * 24 + 12) * HOUR, key=f"d{day}", media=IMAGE)
    world.advance(account, MONDAY + 72 * HOUR)
    rows = list(SandboxInteraction.objects.filter(account=account))
    assert len(rows) > 800
    for language in ("fr", "en"):
        intents = {r.intent for r in rows if r.language == language}
        assert intents == {i.value for i in Intent}, language
    kinds = Counter(r.kind for r in rows)
    assert kinds["comment"] and kinds["dm"] and kinds["mention"]
    comments = [r for r in rows if r.kind == "comment"]
    assert all(r.in_reply_to and r.thread_id for r in comments)
    assert sum(
        SandboxPost.objects.filter(account=account).values_list("comments", flat=True)
    ) == len(comments)
    # The truth is kept with the text: languages agree with a language detector.
    sample = [r for r in rows if len(r.text) > 40][:300]
    agree = sum(py3langid.classify(r.text)[0] == r.language for r in sample)
    assert agree > 0.8 * len(sample)
    by_intent = {r.intent: r for r in rows}
    assert by_intent["praise"].sentiment == "positive"
    assert by_intent["legal"].sentiment == "negative"
    # Social-media style: some texts lost their capitals or accents, some got emojis.
    assert any(r.text == r.text.lower() and any(c.isalpha() for c in r.text) for r in rows)
    assert any(ord(c) > 0x1F000 for r in rows for c in r.text)
    # Customers write when the audience is awake.
    hours = Counter(r.created_at.hour for r in rows if r.kind != "comment")
    assert hours[19] > 3 * max(hours[2], 1)


def test_mentions_of_the_brand_and_its_competitors(make_account: AccountFactory) -> None:
    account = make_account("talked", now=MONDAY, mentions_per_day=100, inbound_per_day=0)
    world.advance(account, MONDAY + 48 * HOUR)
    mentions = SandboxInteraction.objects.filter(account=account, kind="mention")
    assert mentions.filter(target="brand", addressed=False).count() > 20
    competitors = mentions.filter(target="competitor")
    assert competitors.count() > 20
    assert set(competitors.values_list("about", flat=True)) == {"Rosée Paris", "Belle Peau"}
    assert not competitors.filter(addressed=True).exists()


def test_a_crisis_makes_negative_mentions_surge(make_account: AccountFactory) -> None:
    calm = make_account("calm", now=MONDAY, seed=7)
    storm = make_account("storm", now=MONDAY, seed=7)
    for account in (calm, storm):
        world.advance(account, MONDAY + 24 * HOUR)
    world.start_crisis(
        storm,
        intensity=1.0,
        topic="les réactions allergiques au sérum Éclat",
        topic_en="the allergic reactions to the Éclat serum",
    )
    assert world.crisis_level(storm, MONDAY + 24 * HOUR) == 0.0
    assert world.crisis_level(storm, MONDAY + 27 * HOUR) == 1.0
    for account in (calm, storm):
        world.advance(account, MONDAY + 48 * HOUR)

    def negative_mentions(account: SandboxAccount) -> int:
        return SandboxInteraction.objects.filter(
            account=account,
            kind="mention",
            sentiment="negative",
            created_at__gte=MONDAY + 24 * HOUR,
        ).count()

    assert negative_mentions(storm) > 5 * max(negative_mentions(calm), 1)
    angry = SandboxInteraction.objects.filter(account=storm, is_crisis=True)
    assert (
        angry.filter(text__icontains="sérum").exists()
        or angry.filter(text__icontains="serum").exists()
    )
    assert angry.filter(addressed=True).exists() and angry.filter(addressed=False).exists()
    assert set(angry.values_list("intent", flat=True)) <= {"complaint", "legal"}
    # Before the crisis, both worlds were the same (but for the tagged handle).
    before = [m[4:] for m in messages(calm) if m[1] < MONDAY + 24 * HOUR]
    assert before and before == [m[4:] for m in messages(storm) if m[1] < MONDAY + 24 * HOUR]
    # Once over, it is over.
    world.end_crisis(storm)
    assert world.crisis_level(storm, MONDAY + 49 * HOUR) == 0.0


def test_a_storm_of_one_intensity_is_always_as_loud(make_account: AccountFactory) -> None:
    """A staged storm is a scenario: its people follow the expected curve, give or take one,
    whatever the seed (a Poisson draw per quarter hour made some intensity-1 storms heard from
    two people in their first half hour, others from eleven)."""
    start = MONDAY + 13 * HOUR  # Monday 14:00 in Paris
    early: list[int] = []
    whole: list[int] = []
    for seed in range(1, 25):
        account = quiet(make_account, f"loud{seed}", seed=seed)
        world.start_crisis(account, 1.0, "le retard de livraison", at=start)
        world.advance(account, start + HOUR / 2)
        storm = SandboxInteraction.objects.filter(account=account, is_crisis=True)
        early.append(storm.count())
        world.advance(account, start + 6 * HOUR)
        whole.append(storm.count())
    audience = world.Audience(list(account.cohorts.all()))
    expected = sum(
        world._storm_expected(account, audience, start + n * world.STEP) for n in range(2)
    )
    assert expected > 3
    assert set(early) <= {math.floor(expected), math.ceil(expected)}, early
    assert max(whole) - min(whole) <= 1, whole
    # The offset differs between storms: the count is the expected one on average.
    assert len(set(early)) == 2
    assert abs(sum(early) / len(early) - expected) < 0.35


def test_the_world_is_deterministic_given_a_seed(make_account: AccountFactory) -> None:
    def run(
        handle: str, seed: int, chunks: int
    ) -> tuple[list[tuple[object, ...]], tuple[int, ...]]:
        account = make_account(handle, now=MONDAY, seed=seed)
        post_id = publish_at(account, MONDAY + 8 * HOUR, media=IMAGE)
        for n in range(1, chunks + 1):
            world.advance(account, MONDAY + (36 * n // chunks) * HOUR)
        tagged = f"@{account.handle}"
        texts = [(*m[:2], str(m[2]).replace(tagged, "@brand"), *m[3:]) for m in messages(account)]
        return texts, counters(post_id)

    first = run("one", 42, 1)
    again = run("two", 42, 3)  # advanced in three calls: same world
    other = run("three", 43, 1)
    assert first[0] and first == again
    assert other != first


def test_advance_all_moves_simulated_accounts_only(make_account: AccountFactory) -> None:
    live = make_account("live", now=MONDAY, simulate=True)
    frozen = make_account("frozen", now=MONDAY, simulate=False)
    steps = world.advance_all(MONDAY + 2 * HOUR)
    assert steps == 8
    live.refresh_from_db()
    frozen.refresh_from_db()
    assert live.simulated_until == MONDAY + 2 * HOUR
    assert frozen.simulated_until == MONDAY
    assert world.advance(live, MONDAY + HOUR) == 0  # never backwards
    assert service.advance_all(MONDAY + 2 * HOUR) == 0


def test_reads_catch_up_with_the_clock(make_account: AccountFactory) -> None:
    account = make_account("reader", now=MONDAY, simulate=True, inbound_per_day=200)
    with time_machine.travel(MONDAY + 20 * HOUR, tick=False):
        network = SandboxNetwork()
        network.connect(Credentials(service.credentials_for(account)))
        batch = network.fetch_inbound(None)
    assert batch.items
    account.refresh_from_db()
    assert account.simulated_until == MONDAY + 20 * HOUR


def test_the_audience_rhythm_follows_daylight_saving_time(make_account: AccountFactory) -> None:
    only_eight_pm = [0.0] * 20 + [1.0] + [0.0] * 3
    account = make_account(
        "dst",
        cohorts=[
            {
                "time_zone": "Europe/Paris",
                "language": "fr",
                "size": 1,
                "activity_curve": only_eight_pm,
            }
        ],
    )
    audience = world.Audience(list(account.cohorts.all()))
    # Paris moves to UTC+2 on 29 March 2026: 20:00 local is 19:00 UTC before, 18:00 after.
    assert audience.activity(datetime.fromisoformat("2026-03-27T19:30:00+00:00")) == 1.0
    assert audience.activity(datetime.fromisoformat("2026-03-30T18:30:00+00:00")) == 1.0
    assert audience.activity(datetime.fromisoformat("2026-03-30T19:30:00+00:00")) == 0.0


def test_customers_answer_the_brand_answers(make_account: AccountFactory) -> None:
    account = quiet(make_account, "webcare")
    moment = MONDAY + 10 * HOUR
    post_id = publish_at(account, moment - HOUR)
    asked = []
    with time_machine.travel(moment, tick=False):
        network = SandboxNetwork()
        network.connect(Credentials(service.credentials_for(account)))
        for n in range(30):
            private = n % 2 == 0
            message = service.inject_interaction(
                account,
                f"Colis {n} jamais reçu",
                kind="dm" if private else "comment",
                in_reply_to="" if private else post_id,
                author_handle=f"client{n}",
                intent="complaint",
                sentiment="negative",
            )
            answer = network.reply(
                message.message_id,
                "Désolés, on regarde !",
                idempotency_key=f"a{n}",
                private=private,
            )
            asked.append((message, answer.post_id))
    answer_ids = [answer_id for _, answer_id in asked]

    def answers_back() -> list[SandboxInteraction]:
        return list(SandboxInteraction.objects.filter(in_reply_to__in=answer_ids))

    world.advance(account, moment + 36 * HOUR)
    back = {i.in_reply_to: i for i in answers_back()}
    assert len(back) == len(answers_back())  # at most one answer back per answer
    assert 5 <= len(back) <= 25
    for message, answer_id in asked:
        item = back.get(answer_id)
        if item is None:
            continue
        assert item.author_handle == message.author_handle
        assert item.kind == message.kind
        assert item.thread_id == message.thread_id
        assert moment <= item.created_at <= moment + 24 * HOUR + world.STEP
        assert item.intent in {"complaint", "praise"}
    # Advancing further brings nothing more.
    world.advance(account, moment + 72 * HOUR)
    assert len(answers_back()) == len(back)


def test_every_template_fills_for_an_account_without_products(db: None) -> None:
    account = service.create_account("plain", now=MONDAY, inbound_per_day=500, simulate=False)
    other = service.create_account("plain2", now=MONDAY, simulate=False)
    assert account.seed != other.seed  # each account lives its own world
    world.start_crisis(account, 1.0, at=MONDAY)
    world.advance(account, MONDAY + 24 * HOUR)
    texts = list(SandboxInteraction.objects.filter(account=account).values_list("text", flat=True))
    assert len(texts) > 300
    assert not [t for t in texts if "{" in t or "}" in t or "votre votre" in t.lower()]
    # Every template of every intent renders without a slot left over.
    for language in ("fr", "en"):
        writer = world.Writer(account, world._rng(language), language)
        for intent, pool in world.templates()["inbound"][language].items():
            for template in pool:
                text, sentiment = writer._render(template, world.DEFAULT_SENTIMENT[intent])
                assert "{" not in text and sentiment in {"positive", "neutral", "negative"}
