"""The sandbox world: an audience with a daily rhythm, customers who write in, and crises.

Time moves in fixed 15-minute steps aligned on UTC (``STEP``). ``advance(account, until)``
simulates every whole step between the account's ``simulated_until`` and ``until``; each
step draws from a random generator seeded by (account seed, step start), and each post's
engagement from one seeded by (account seed, step start, post key), so the world is
deterministic given a seed, whether it is advanced in one call or in many.

In each step:

- every post younger than a week gains impressions in proportion to the followers, the
  share of the audience awake at that local hour (``SandboxFollowerCohort`` curves, in each
  cohort's time zone, weekends apart), the post's quality, its content type (video > image >
  text) and its age (exponential decay); impressions turn into likes, shares and comments;
- customers comment under recent posts (from those new comments), write private messages
  and mention the account, in French or English after the audience's mix, with the intents
  of ``Intent`` and their truth kept on the row;
- people talk about the brand without tagging it, and about its competitors (only a search
  finds those);
- during a crisis (``start_crisis``), negative mentions, complaints and angry comments
  surge, then ebb.

Texts come from ``data/messages.json`` (templates with slots, then social-media noise:
lower case, lost accents, typos, emojis).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from .models import (
    Flavour,
    Intent,
    InteractionKind,
    PostKind,
    SandboxAccount,
    SandboxFollowerCohort,
    SandboxInteraction,
    SandboxPost,
    Target,
)

STEP = timedelta(minutes=15)
#: A storm reaches its peak this long after it starts (a post that goes viral spreads within
#: the hour; it then holds for about half a day and ebbs over a day or two).
STORM_RAMP_HOURS = 1.0
#: At intensity 1 and at its peak, one in 500 of the account's followers' worth of people write
#: about the storm each hour (most of them not followers, and most without tagging the account:
#: only listening finds those). It is never less than twelve times the usual mention volume.
#:
#: How many write in each quarter hour follows that curve exactly (:func:`storm_people`): a
#: staged storm is a scenario, like the scripted injects of a crisis exercise, so two teams
#: drilling the same intensity face the same storm, and "intensity 1" means one loudness, not
#: a draw that is sometimes half as loud. Who writes, when within the quarter hour, in which
#: language and what they say stay random.
STORM_AUDIENCE_PER_HOUR = 0.002
_STEP_SECONDS = int(STEP.total_seconds())
#: Posts stop gaining anything after this age.
ACTIVE_FOR = timedelta(days=7)
#: Share of the followers a post of quality 1 reaches per hour at full activity.
REACH_PER_HOUR = 0.08
#: Hours after which a post's reach has fallen to 1/e, per kind of network.
DECAY_HOURS = {Flavour.PHOTO: 10.0, Flavour.PRO: 20.0, Flavour.MICRO: 3.0}
#: Reach by content type: people stop on pictures and videos.
CONTENT_REACH = {"text": 0.7, "image": 1.4, "video": 1.8}
#: Engagement rates (per impression) at quality 1.
LIKE_RATE = {"text": 0.025, "image": 0.045, "video": 0.04}
SHARE_RATE = 0.004
COMMENT_RATE = 0.0015

#: A customer answers the brand's answer within this delay, or never.
FOLLOW_UP_WITHIN = timedelta(hours=24)
#: Share of the brand's answers that get an answer back; mean delay of that answer.
FOLLOW_UP_RATE = 0.55
FOLLOW_UP_DELAY = timedelta(hours=2)
#: (kind of answer back, its intent or None for the original intent, its sentiment, weight).
FOLLOW_UPS: dict[bool, list[tuple[str, str | None, str, float]]] = {
    True: [  # the customer had a problem
        ("details", None, "neutral", 5),
        ("thanks", "praise", "positive", 3),
        ("still_waiting", "complaint", "negative", 2),
    ],
    False: [
        ("thanks", "praise", "positive", 6),
        ("another_question", "question", "neutral", 4),
    ],
}
PROBLEMS = {"complaint", "support", "legal", "purchase"}

DATA = Path(__file__).resolve().parent / "data"

#: Which intents customers write with, by channel (relative weights).
INTENT_WEIGHTS: dict[str, dict[str, float]] = {
    InteractionKind.COMMENT: {
        "question": 18, "praise": 26, "pricing": 16, "purchase": 8, "complaint": 10,
        "support": 6, "spam": 8, "other": 6, "legal": 1, "hr": 1,
    },
    InteractionKind.DM: {
        "question": 12, "praise": 6, "pricing": 12, "purchase": 10, "complaint": 20,
        "support": 16, "legal": 5, "hr": 8, "press": 5, "spam": 4, "other": 2,
    },
    InteractionKind.MENTION: {
        "praise": 35, "complaint": 20, "question": 15, "other": 15, "press": 5,
        "pricing": 5, "spam": 5,
    },
}  # fmt: skip
DEFAULT_SENTIMENT = {
    "pricing": "neutral",
    "purchase": "neutral",
    "complaint": "negative",
    "support": "neutral",
    "question": "neutral",
    "praise": "positive",
    "legal": "negative",
    "hr": "neutral",
    "press": "neutral",
    "spam": "neutral",
    "other": "neutral",
}


def floor_step(moment: datetime) -> datetime:
    """The start of the step ``moment`` falls in (UTC)."""
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % _STEP_SECONDS, tz=UTC)


@cache
def templates() -> dict[str, Any]:
    with open(DATA / "messages.json", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    return min(n, _poisson(rng, n * min(p, 0.9)))


# -- quality ------------------------------------------------------------------------------------

_HASHTAG = re.compile(r"#\w+")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def quality_score(
    account: SandboxAccount, text: str, media: Sequence[Mapping[str, Any]], salt: str
) -> float:
    """How much the audience likes a post (0.2..2.5, 1 is ordinary).

    Length in the sweet spot, a question, a few hashtags, an emoji, described media help;
    a one-liner, a wall of text, hashtag soup or shouting hurt; the account's bias and a
    seeded draw do the rest.
    """
    score = 1.0 + 0.5 * account.quality_bias
    length = len(text.strip())
    if 80 <= length <= 600:
        score += 0.15
    elif length < 20:
        score -= 0.2
    elif length > 1500:
        score -= 0.15
    if "?" in text:
        score += 0.1
    tags = len(_HASHTAG.findall(text))
    if 1 <= tags <= 3:
        score += 0.1
    elif tags > 6:
        score -= 0.25
    if _EMOJI.search(text):
        score += 0.05
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 20 and sum(c.isupper() for c in letters) > 0.6 * len(letters):
        score -= 0.3
    if media and all(m.get("alt_text") for m in media):
        score += 0.05
    score *= math.exp(_rng(account.seed, "quality", salt).gauss(0.0, 0.2))
    return round(min(2.5, max(0.2, score)), 4)


# -- the audience ---------------------------------------------------------------------------------


@dataclass
class _Cohort:
    zone: ZoneInfo
    language: str
    weight: float
    curve: list[float]
    weekend: float


class Audience:
    """The account's cohorts: how active they are at a moment, and who among them writes."""

    def __init__(self, cohorts: Sequence[SandboxFollowerCohort]) -> None:
        total = sum(c.size for c in cohorts) or 1
        self.cohorts = [
            _Cohort(
                ZoneInfo(c.time_zone),
                c.language,
                c.size / total,
                [float(v) for v in (list(c.activity_curve) + [0.5] * 24)[:24]],
                c.weekend_factor,
            )
            for c in cohorts
        ] or [_Cohort(ZoneInfo("Europe/Paris"), "fr", 1.0, [0.5] * 24, 1.0)]
        #: The storm's people summed up to each step (:func:`storm_people`), per storm.
        self.storm_memo: dict[tuple[object, ...], dict[datetime, float]] = {}
        monday = datetime(2024, 1, 1, tzinfo=UTC)
        self.mean = (
            sum(self.activity(monday + timedelta(hours=h)) for h in range(24 * 7)) / (24 * 7)
        ) or 0.5

    def _levels(self, moment: datetime) -> list[float]:
        levels = []
        for cohort in self.cohorts:
            local = moment.astimezone(cohort.zone)
            level = cohort.curve[local.hour]
            if local.weekday() >= 5:
                level *= cohort.weekend
            levels.append(min(1.0, level) * cohort.weight)
        return levels

    def activity(self, moment: datetime) -> float:
        """Share of the audience scrolling at ``moment`` (0..1)."""
        return sum(self._levels(moment))

    def language(self, rng: random.Random, moment: datetime) -> str:
        """The language of someone writing at ``moment``: awake cohorts write more."""
        levels = self._levels(moment)
        if sum(levels) <= 0:
            return self.cohorts[0].language
        return rng.choices([c.language for c in self.cohorts], weights=levels)[0]


# -- texts -----------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)\}")


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _brand_tag(brand: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", _strip_accents(brand.title()))


class Writer:
    """Fills templates for one account and one language, then roughens them."""

    def __init__(self, account: SandboxAccount, rng: random.Random, language: str) -> None:
        self.account = account
        self.rng = rng
        self.language = language if language in ("fr", "en") else "fr"
        self.slots: dict[str, list[str]] = templates()["slots"][self.language]
        #: The competitor the last text named, if any.
        self.competitor = ""
        #: Whether the last text was a specific complaint (an order, an account, personal
        #: details), the truth triage's "specific" signal is measured against.
        self.specific = False

    def pick(self, options: Sequence[str]) -> str:
        return options[self.rng.randrange(len(options))]

    def slot(self, name: str) -> str:
        account, rng = self.account, self.rng
        if name == "brand":
            return account.brand
        if name == "brandtag":
            return _brand_tag(account.brand)
        if name == "handle":
            return f"@{account.handle}"
        if name == "product":
            return self.pick(list(account.products) or self.slots["product"])
        if name == "competitor":
            self.competitor = self.pick(list(account.competitors) or self.slots["competitor"])
            return self.competitor
        if name == "topic":
            topic = account.crisis_topic_en if self.language == "en" else account.crisis_topic
            return topic or account.crisis_topic or self.pick(self.slots["topic"])
        if name == "order":
            return str(rng.randint(100000, 999999))
        if name == "price":
            return str(rng.choice([12, 15, 19, 24, 29, 34, 39, 45, 49, 59, 79]))
        if name == "days":
            return str(rng.randint(3, 21))
        if name == "name":
            return self.pick(self.slots["first_name"])
        if name in self.slots:
            return self.pick(self.slots[name])
        return "{" + name + "}"

    def fill(self, template: str) -> str:
        return _SLOT.sub(lambda m: self.slot(m.group(1)), template)

    def roughen(self, text: str, sentiment: str) -> str:
        """Social-media style: lower case, lost accents, a typo, an emoji or three."""
        rng = self.rng
        if rng.random() < 0.25:
            text = text.lower()
        if self.language == "fr" and rng.random() < 0.15:
            text = _strip_accents(text)
        if rng.random() < 0.1:
            text = text.rstrip(".!")
        if rng.random() < 0.1:
            words = text.split(" ")
            long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
            if long_words:
                i = rng.choice(long_words)
                w = words[i]
                j = rng.randrange(1, len(w) - 2)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
                text = " ".join(words)
        if rng.random() < 0.2:
            emojis = templates()["emojis"].get(sentiment, templates()["emojis"]["neutral"])
            text = f"{text} {rng.choice(emojis) * rng.choice([1, 1, 2, 3])}"
        return text

    def author(self, intent: str) -> tuple[str, str]:
        rng = self.rng
        if intent == "spam":
            handle = self.pick(templates()["spam_handles"]) + str(rng.randint(1, 999))
            return handle, handle.replace("_", " ").title()
        first = self.pick(self.slots["first_name"])
        last = self.pick(self.slots["last_name"])
        base = _strip_accents(first).lower().replace(" ", "").replace("-", "")
        style = rng.randrange(4)
        if style == 0:
            handle = f"{base}_{_strip_accents(last).lower()[:1]}{rng.randint(1, 99)}"
        elif style == 1:
            handle = f"{base}.{_strip_accents(last).lower().replace(' ', '')}"
        elif style == 2:
            handle = f"{base}{rng.choice(['_beauty', '_off', 'xx', '_lfdy', '.pics', '_06'])}"
        else:
            handle = f"{base}{rng.randint(1980, 2008)}"
        return handle, f"{first} {last}"

    def message(self, kind: str, intent: str) -> tuple[str, str]:
        """(text, sentiment) for a customer message of this intent."""
        pool: list[str] = list(templates()["inbound"][self.language][intent])
        if kind == InteractionKind.COMMENT and intent == "praise":
            pool += templates()["reactions"][self.language]
        return self._render(self.pick(pool), DEFAULT_SENTIMENT[intent])

    def mention(self, key: str) -> tuple[str, str]:
        pool = templates()["mentions"][self.language][key]
        default = "neutral"
        if key.endswith("positive"):
            default = "positive"
        elif key.endswith("negative"):
            default = "negative"
        return self._render(self.pick(pool), default)

    def crisis(self) -> tuple[str, str, str]:
        """(text, sentiment, intent) of an angry message about the crisis topic."""
        text, sentiment = self._render(self.pick(templates()["crisis"][self.language]), "negative")
        intent = "legal" if text.startswith("⚖") else "complaint"
        text = text.lstrip("⚖ ")
        return text[:1].upper() + text[1:], sentiment, intent

    def followup(self, key: str, default_sentiment: str) -> tuple[str, str]:
        """A customer's answer to the brand's answer (details, thanks, impatience...)."""
        return self._render(
            self.pick(templates()["followups"][self.language][key]), default_sentiment
        )

    def _render(self, template: str, default_sentiment: str) -> tuple[str, str]:
        sentiment = default_sentiment
        self.specific = template.startswith("* ")
        if self.specific:
            template = template[2:]
        marker = template[:2]
        if marker in ("+ ", "- ", "= "):
            sentiment = {"+ ": "positive", "- ": "negative", "= ": "neutral"}[marker]
            template = template[2:]
        text = self.fill(template)
        if template.startswith("{"):
            text = text[:1].upper() + text[1:]
        return self.roughen(text, sentiment), sentiment


# -- advancing ----------------------------------------------------------------------------------


@dataclass
class _New:
    kind: str
    created_at: datetime
    text: str
    language: str
    intent: str
    sentiment: str
    author: tuple[str, str]
    addressed: bool = True
    target: str = Target.BRAND
    about: str = ""
    in_reply_to: str = ""
    thread_id: str = ""
    is_crisis: bool = False
    specific: bool = False


def crisis_level(account: SandboxAccount, moment: datetime) -> float:
    """0 outside a crisis; during one, rises over :data:`STORM_RAMP_HOURS`, then ebbs over a
    day or two."""
    if not account.crisis_active(moment) or account.crisis_started_at is None:
        return 0.0
    hours = (moment - account.crisis_started_at).total_seconds() / 3600
    ramp = min(1.0, max(hours, 0.0) / STORM_RAMP_HOURS)
    ebb = math.exp(-max(0.0, hours - 12.0) / 24.0)
    return account.crisis_intensity * ramp * ebb


def _storm_expected(account: SandboxAccount, audience: Audience, start: datetime) -> float:
    """The number of people expected to write about the storm in the step from ``start``:
    the storm's volume follows the account's audience, beyond the brand's own pages."""
    middle = start + STEP / 2
    crisis = crisis_level(account, middle)
    if not crisis:
        return 0.0
    per_day = max(
        12 * max(account.mentions_per_day, 10.0),
        account.follower_count * STORM_AUDIENCE_PER_HOUR * 24,
    )
    rhythm = audience.activity(middle) / audience.mean
    return per_day * (STEP / timedelta(days=1)) * max(rhythm, 0.3) * crisis


def storm_people(account: SandboxAccount, audience: Audience, start: datetime) -> int:
    """How many people write about the storm in the step from ``start``.

    Systematic sampling of the expected curve: the people expected since the storm began are
    summed step by step, shifted by one offset drawn once per storm, and each step gets the
    whole people it crosses. Over any stretch the count is the expected one, give or take
    one; a Poisson draw per step would make some storms half as loud in their first half hour
    as others of the same intensity (:data:`STORM_AUDIENCE_PER_HOUR`).
    """
    began = account.crisis_started_at
    if began is None or start + STEP <= began:
        return 0
    key = (account.pk, began, account.crisis_intensity, account.crisis_ends_at)
    # The people expected before each step summed so far: steps come in order, so the sum
    # goes on from the last one instead of starting over from the storm's first step.
    memo = audience.storm_memo.setdefault(key, {floor_step(began): 0.0})
    moment = max(m for m in memo if m <= start)
    before = memo[moment]
    while moment < start:
        before += _storm_expected(account, audience, moment)
        moment += STEP
        memo[moment] = before
    offset = _rng(account.seed, "storm", int(began.timestamp())).random()
    after = before + _storm_expected(account, audience, start)
    memo[start + STEP] = after
    return math.floor(after + offset) - math.floor(before + offset)


def _pick_intent(rng: random.Random, kind: str) -> str:
    weights = INTENT_WEIGHTS[kind]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _step(
    account: SandboxAccount,
    audience: Audience,
    posts: list[SandboxPost],
    start: datetime,
    inbound: bool,
    answers: Sequence[tuple[SandboxPost, SandboxInteraction]] = (),
) -> tuple[list[_New], set[int]]:
    """Simulate one step: returns the new inbound items and the ids of posts that changed."""
    end = start + STEP
    middle = start + STEP / 2
    activity = audience.activity(middle)
    step_rng = _rng(account.seed, "step", int(start.timestamp()))
    items: list[_New] = []
    changed: set[int] = set()
    decay_hours = DECAY_HOURS.get(Flavour(account.flavour), 10.0)
    crisis = crisis_level(account, middle)

    def writer(rng: random.Random) -> Writer:
        return Writer(account, rng, audience.language(rng, middle))

    def when(rng: random.Random, earliest: datetime = start) -> datetime:
        span = (end - earliest).total_seconds()
        return earliest + timedelta(seconds=rng.uniform(0, max(span, 0.0)))

    for post in posts:
        if post.received_at >= end or end - post.received_at > ACTIVE_FOR + STEP:
            continue
        begin = max(start, post.received_at)
        hours = (end - begin).total_seconds() / 3600
        age = ((begin - post.received_at) + (end - begin) / 2).total_seconds() / 3600
        rng = _rng(account.seed, "post", int(start.timestamp()), post.idempotency_key, post.part)
        content = post.content_type
        lam = (
            account.follower_count
            * REACH_PER_HOUR
            * hours
            * activity
            * post.quality
            * CONTENT_REACH[content]
            * math.exp(-age / decay_hours)
        )
        seen = _poisson(rng, lam)
        if not seen:
            continue
        likes = _binomial(rng, seen, LIKE_RATE[content] * post.quality)
        shares = _binomial(rng, seen, SHARE_RATE * post.quality**1.5)
        question = 1.6 if "?" in post.text else 1.0
        comments = _binomial(rng, seen, COMMENT_RATE * post.quality * question)
        post.impressions += seen
        post.likes += likes
        post.shares += shares
        post.comments += comments
        changed.add(post.pk)
        if not inbound:
            continue
        for _ in range(comments):
            w = writer(rng)
            if crisis and rng.random() < min(0.8, 0.4 * crisis):
                text, sentiment, intent = w.crisis()
                is_crisis = True
            else:
                intent = _pick_intent(rng, InteractionKind.COMMENT)
                text, sentiment = w.message(InteractionKind.COMMENT, intent)
                is_crisis = False
            specific = w.specific and not is_crisis
            items.append(
                _New(
                    InteractionKind.COMMENT,
                    when(rng, begin),
                    text,
                    w.language,
                    intent,
                    sentiment,
                    w.author(intent),
                    in_reply_to=post.network_id,
                    thread_id=post.thread_root or post.network_id,
                    is_crisis=is_crisis,
                    specific=specific,
                )
            )

    if not inbound:
        return items, changed

    rng = step_rng
    rhythm = activity / audience.mean
    per_step = STEP / timedelta(days=1)
    # Customers who write to the account: private messages and mentions that tag it.
    for _ in range(_poisson(rng, account.inbound_per_day * per_step * rhythm)):
        kind = InteractionKind.DM if rng.random() < 0.7 else InteractionKind.MENTION
        intent = _pick_intent(rng, kind)
        w = writer(rng)
        text, sentiment = w.message(kind, intent)
        specific = w.specific
        if kind == InteractionKind.MENTION and account.handle not in text:
            text = (
                f"{text} @{account.handle}" if rng.random() < 0.6 else f"@{account.handle} {text}"
            )
        items.append(
            _New(
                kind,
                when(rng),
                text,
                w.language,
                intent,
                sentiment,
                w.author(intent),
                specific=specific,
            )
        )
    # People who talk about the brand without tagging it, and about competitors.
    for _ in range(_poisson(rng, account.mentions_per_day * per_step * rhythm)):
        w = writer(rng)
        if rng.random() < 0.6 or not account.competitors:
            mood = rng.choices(["positive", "neutral", "negative"], weights=[5, 3, 2])[0]
            text, sentiment = w.mention(f"brand_{mood}")
            target, about = Target.BRAND, ""
        else:
            text, sentiment = w.mention("competitor")
            target = Target.COMPETITOR
            about = w.competitor
        intent = {"positive": "praise", "negative": "complaint"}.get(sentiment, "other")
        items.append(
            _New(
                InteractionKind.MENTION,
                when(rng),
                text,
                w.language,
                intent,
                sentiment,
                w.author(intent),
                addressed=False,
                target=target,
                about=about,
            )
        )
    # The storm: many angry mentions, some tag the account, some write privately.
    if crisis:
        for _ in range(storm_people(account, audience, start)):
            w = writer(rng)
            text, sentiment, intent = w.crisis()
            roll = rng.random()
            kind = InteractionKind.DM if roll < 0.1 else InteractionKind.MENTION
            addressed = roll < 0.35
            if kind == InteractionKind.MENTION and addressed and account.handle not in text:
                text = f"@{account.handle} {text}"
            items.append(
                _New(
                    kind,
                    when(rng),
                    text,
                    w.language,
                    intent,
                    sentiment,
                    w.author(intent),
                    addressed=addressed,
                    is_crisis=True,
                )
            )
    items += _followups(account, answers, start, end)
    items.sort(key=lambda item: item.created_at)
    return items, changed


def _followups(
    account: SandboxAccount,
    answers: Sequence[tuple[SandboxPost, SandboxInteraction]],
    start: datetime,
    end: datetime,
) -> list[_New]:
    """Customers who answer the brand's answers, once, a while later (seeded per answer)."""
    items: list[_New] = []
    for answer, original in answers:
        rng = _rng(account.seed, "followup", answer.idempotency_key, answer.part)
        if rng.random() >= FOLLOW_UP_RATE:
            continue
        delay = min(
            timedelta(seconds=rng.expovariate(1 / FOLLOW_UP_DELAY.total_seconds())),
            FOLLOW_UP_WITHIN,
        )
        due = answer.received_at + delay
        if not start <= due < end:
            continue
        options = FOLLOW_UPS[original.intent in PROBLEMS]
        key, intent, sentiment, _ = rng.choices(options, weights=[o[3] for o in options])[0]
        writer = Writer(account, rng, original.language)
        text, sentiment = writer.followup(key, sentiment)
        private = answer.kind == PostKind.DM or original.kind == InteractionKind.DM
        # Impatience about a specific complaint is as specific as the complaint.
        specific = original.specific and (intent or original.intent) == "complaint"
        items.append(
            _New(
                InteractionKind.DM if private else InteractionKind.COMMENT,
                due,
                text,
                writer.language,
                intent or original.intent,
                sentiment,
                (original.author_handle, original.author_name),
                in_reply_to=answer.network_id,
                thread_id=(
                    original.thread_id
                    if private
                    else answer.thread_root or original.thread_id or original.message_id
                ),
                specific=specific,
            )
        )
    return items


def _answers(
    account: SandboxAccount, start: datetime, until: datetime
) -> list[tuple[SandboxPost, SandboxInteraction]]:
    """The brand's answers to messages that may still get an answer back in this window."""
    replies = list(
        SandboxPost.objects.filter(
            account=account,
            kind__in=[PostKind.REPLY, PostKind.DM],
            deleted_at__isnull=True,
            received_at__gte=start - FOLLOW_UP_WITHIN - STEP,
            received_at__lt=until,
        )
        .exclude(in_reply_to="")
        .order_by("received_at", "pk")
    )
    originals = {
        i.message_id: i
        for i in SandboxInteraction.objects.filter(
            account=account, message_id__in=[r.in_reply_to for r in replies]
        )
    }
    return [(r, originals[r.in_reply_to]) for r in replies if r.in_reply_to in originals]


def advance(
    account: SandboxAccount,
    until: datetime,
    *,
    inbound: bool = True,
    max_steps: int | None = 4 * 24 * 35,
) -> int:
    """Simulate the account's world up to ``until`` (whole steps); returns the steps run.

    ``inbound=False`` grows the posts' counters without writing messages (for a history
    that is older than the notification window). ``max_steps`` bounds the work after a
    long pause: older steps are skipped.
    """
    until = floor_step(until)
    caller = account
    with transaction.atomic():
        account = SandboxAccount.objects.select_for_update().get(pk=account.pk)
        start = floor_step(account.simulated_until)
        if until <= start:
            return 0
        if max_steps is not None and (until - start) / STEP > max_steps:
            start = until - STEP * max_steps
        audience = Audience(list(account.cohorts.all()))
        posts = list(
            SandboxPost.objects.filter(
                account=account,
                kind=PostKind.POST,
                deleted_at__isnull=True,
                received_at__lt=until,
                received_at__gte=start - ACTIVE_FOR - STEP,
            ).order_by("received_at", "pk")
        )
        answers = _answers(account, start, until) if inbound else []
        rows: list[SandboxInteraction] = []
        changed: set[int] = set()
        steps = 0
        moment = start
        while moment < until:
            new, touched = _step(account, audience, posts, moment, inbound, answers)
            changed |= touched
            minute = int(moment.timestamp()) // 60
            rows += [
                SandboxInteraction(
                    account=account,
                    message_id=f"sbx-{account.pk}-m{minute}-{n}",
                    kind=item.kind,
                    addressed=item.addressed,
                    target=item.target,
                    about=item.about,
                    author_handle=item.author[0],
                    author_name=item.author[1],
                    language=item.language,
                    intent=item.intent,
                    sentiment=item.sentiment,
                    is_crisis=item.is_crisis,
                    specific=item.specific,
                    text=item.text,
                    created_at=item.created_at,
                    in_reply_to=item.in_reply_to,
                    thread_id=item.thread_id
                    or (
                        f"sbx-dm-{account.pk}-{item.author[0]}"
                        if item.kind == InteractionKind.DM
                        else f"sbx-{account.pk}-m{minute}-{n}"
                    ),
                )
                for n, item in enumerate(new)
            ]
            moment += STEP
            steps += 1
        SandboxInteraction.objects.bulk_create(rows, batch_size=500)
        SandboxPost.objects.bulk_update(
            [p for p in posts if p.pk in changed],
            ["impressions", "likes", "shares", "comments"],
            batch_size=500,
        )
        account.simulated_until = until
        account.save(update_fields=["simulated_until"])
    caller.simulated_until = until
    return steps


def advance_all(now: datetime) -> int:
    """Advance every simulated account to ``now``, one transaction each; returns steps."""
    total = 0
    for pk in SandboxAccount.objects.filter(simulate=True).values_list("pk", flat=True):
        account = SandboxAccount.objects.get(pk=pk)
        total += advance(account, now)
    return total


# -- crises -------------------------------------------------------------------------------------


def start_crisis(
    account: SandboxAccount,
    intensity: float = 1.0,
    topic: str = "",
    *,
    topic_en: str = "",
    at: datetime | None = None,
    hours: float = 48.0,
) -> SandboxAccount:
    """Make negative mentions surge from ``at`` (default: the world's clock) for ``hours``.

    ``intensity`` 1 is a real storm: at its peak, about one in 500 of the account's
    followers' worth of people write about it each hour (at least twelve times the usual
    mention volume), a third of them tagging the account; ``topic`` is what people are angry
    about, as a French noun phrase ("les réactions allergiques au sérum Éclat"), ``topic_en``
    the same in English.
    """
    if intensity <= 0:
        raise ValueError("a crisis needs a positive intensity")
    if at is None:
        account.refresh_from_db(fields=["simulated_until"])
    start = at or account.simulated_until
    account.crisis_intensity = intensity
    account.crisis_topic = topic
    account.crisis_topic_en = topic_en or topic
    account.crisis_started_at = start
    account.crisis_ends_at = start + timedelta(hours=hours)
    account.save(
        update_fields=[
            "crisis_intensity",
            "crisis_topic",
            "crisis_topic_en",
            "crisis_started_at",
            "crisis_ends_at",
        ]
    )
    return account


def end_crisis(account: SandboxAccount, *, at: datetime | None = None) -> SandboxAccount:
    if at is None:
        account.refresh_from_db(fields=["simulated_until"])
    account.crisis_ends_at = at or account.simulated_until
    account.save(update_fields=["crisis_ends_at"])
    return account


def seed_digest(*parts: object) -> int:
    """A stable integer from any values (for seeds derived from names)."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16)


__all__ = [
    "STEP",
    "Audience",
    "Intent",
    "advance",
    "advance_all",
    "crisis_level",
    "end_crisis",
    "floor_step",
    "quality_score",
    "seed_digest",
    "start_crisis",
]
