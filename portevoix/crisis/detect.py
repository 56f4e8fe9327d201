"""Crisis detection: is the rate of negative items far above what this hour usually brings?

The method (``docs/crisis.md`` explains it to users):

1. **Counts.** Every closed UTC hour, the workspace's inbound items (every source of
   :mod:`portevoix.crisis.signals`) are counted into :class:`HourlyVolume`: all items and the
   negative ones. Every counted hour has a row, zeros included.
2. **Baseline.** For each of the 168 hours of the week (in the workspace's time zone), the
   mean negative count per hour over the last :data:`HISTORY_WEEKS` weeks, smoothed with the
   neighbouring hours (weights ¼ ½ ¼). Until :data:`WARM_WEEKS` weeks of history exist, it is
   blended with a prior: ``rate = w × hour_of_week + (1 − w) × prior``, ``w = weeks / 4``. The
   prior is the workspace's mean hourly rate over whatever history it has (from one day on),
   else the mean over every workspace's counts (not this one's from the tested window on),
   else :data:`DEFAULT_PRIOR`.
3. **Test.** Every run looks at the last half hour, hour and three hours (:data:`WINDOWS`:
   the shortest catches a storm's first minutes, the longest a storm that builds slowly). The
   expected count is the hour-of-week baseline over the window (so scaled to its length),
   never below :data:`MIN_EXPECTED` an hour (so a quiet night does not alert on two
   messages). The observed count ``n`` (distinct authors of negative messages: one customer's
   five angry messages are one voice) alerts when it is at least :data:`MIN_COUNT` and the
   one-sided Poisson tail ``P(X ≥ n | expected)`` is at most :data:`ALPHA` divided by the
   number of windows (Bonferroni; real traffic is burstier than Poisson, which the
   calm-fortnight test and benchmark measure). Beside it, **a word's sudden rise**: a word
   written by at least :data:`TERM_MIN_COUNT` distinct authors of the window, at least
   :data:`TERM_MIN_NEGATIVE` of them and half in a negative message, tested against how often
   it was said in the four weeks before (:func:`word_tail`, level :data:`TERM_ALPHA` split over
   the words tested).
4. **Explanation.** The ratio observed/expected, the weekday and hour, the network most of the
   causing messages came from, and the terms of those messages that are frequent in them but
   not in the week before (so the brand's own name, always there, is not "the topic").
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .signals import Signal

#: The windows tested, ending now: half an hour (a storm's first minutes), an hour (a sharp
#: surge), three hours (a storm that builds slowly).
WINDOWS = (dt.timedelta(minutes=30), dt.timedelta(hours=1), dt.timedelta(hours=3))
WINDOW = WINDOWS[-1]
HISTORY_WEEKS = 8
WARM_WEEKS = 4
#: Negative items per hour assumed when nothing at all has been counted yet.
DEFAULT_PRIOR = 0.5
#: The expected count is never below this many negative items an hour (scaled to the window).
MIN_EXPECTED = 0.5
MIN_COUNT = 5
ALPHA = 1e-5
HOURS_OF_WEEK = 168
#: After an alert, the same workspace is not alerted again for this long.
COOLDOWN = dt.timedelta(hours=6)
#: The term test: a word written by at least this many distinct authors of a window...
TERM_MIN_COUNT = 3
#: ...at least this many of them, and at least half, in a negative message (triage misses
#: some angry messages: "RT si vous aussi vous arrêtez..." reads as neutral)...
TERM_MIN_NEGATIVE = 2
#: ...tested against how often it was said in this period before the window...
TERM_HISTORY = dt.timedelta(weeks=4)
#: ...at this level, split over the words tested (Bonferroni). A hundred times stricter than
#: the volume's: chosen on the development seeds (``docs/benchmarks.md``), where the calm
#: fortnights' most surprising word came at 1.4 in a million and the storms' at 1 in a hundred
#: million or less.
TERM_ALPHA = 1e-7

_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
#: A hashtag: "#" after a space or at the start, then three word characters or more (not an
#: anchor in a link, which :func:`_words` drops with the link).
_HASHTAG = re.compile(r"(?<![\w/&])#(\w{3,})", re.UNICODE)
_STOPWORDS = """
    avec sans pour dans chez mais donc alors aussi encore jamais toujours tout tous toute
    toutes cette cette ceux celle celles comme quand depuis vraiment votre vous nous leur
    leurs elle elles sont suis êtes était fait faire faut peut plus moins très bien même
    merci bonjour quoi cela ceci avoir etre etait etes rien personne this that with what
    have been from they their there your about just still really very when will would
    could should after before again never always thanks hello please
    apres avant pendant selon entre contre vers sous ainsi quand parce puis enfin deja
    autre autres notre notres quel quelle quels quelles sera seront etre voici voila
    during since against between among until while because these those which where
    were them then than also into over only other
""".split()  # noqa: SIM905 - a list of words reads better as text


def poisson_tail(n: int, lam: float) -> float:
    """P(X ≥ n) for X ~ Poisson(lam), summed in log space (exact enough for small n)."""
    if n <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    term = math.exp(-lam)
    below = 0.0
    for k in range(n):
        if k:
            term *= lam / k
        below += term
    return max(0.0, 1.0 - below) if below < 0.999999 else _upper_sum(n, lam)


def _upper_sum(n: int, lam: float) -> float:
    """P(X ≥ n) summed from n upwards (when 1 − P(X < n) would lose every digit)."""
    log_term = -lam + n * math.log(lam) - math.lgamma(n + 1)
    total = 0.0
    k = n
    while True:
        term = math.exp(log_term)
        total += term
        if term < total * 1e-12 or k > n + 1000:
            return total
        k += 1
        log_term += math.log(lam) - math.log(k)


def word_tail(k: int, expected_messages: float, said: int, messages: int) -> float:
    """P(at least ``k`` of the window's messages carry a word) when ``expected_messages`` are
    expected in the window and the word was in ``said`` of the ``messages`` before.

    The word's rate is not known, only estimated from what was said: with a Gamma(said + 1,
    messages + 1) belief about it, the count is negative binomial (``r = said + 1``,
    ``q = (messages + 1) / (messages + 1 + expected_messages)``), whose mean is the Poisson's
    ``expected_messages × (said + 1) / (messages + 1)`` but whose tail is heavier when the word
    was rarely seen or the history is short: a word seen twice in a week could as well be
    said every other day."""
    if k <= 0:
        return 1.0
    if expected_messages <= 0:
        return 0.0
    r = said + 1
    log_q = math.log(messages + 1) - math.log(messages + 1 + expected_messages)
    log_not_q = math.log(expected_messages) - math.log(messages + 1 + expected_messages)

    def log_pmf(x: int) -> float:
        return math.lgamma(x + r) - math.lgamma(r) - math.lgamma(x + 1) + r * log_q + x * log_not_q

    below = sum(math.exp(log_pmf(x)) for x in range(k))
    if below < 0.999999:
        return max(0.0, 1.0 - below)
    total, x = 0.0, k
    while True:
        term = math.exp(log_pmf(x))
        total += term
        if term < total * 1e-12 or x > k + 1000:
            return total
        x += 1


def hour_of_week(moment: dt.datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return local.weekday() * 24 + local.hour


@dataclass
class Baseline:
    """Expected negative items per hour for each hour of the week, and how it was made."""

    rates: list[float]
    weeks: float
    prior: float

    def expected(self, start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> float:
        """Expected negative items in ``[start, end)``, hour by hour (partial hours pro rata)."""
        total = 0.0
        moment = start
        while moment < end:
            nxt = min(
                end, moment.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            )
            total += self.rates[hour_of_week(moment, zone)] * (nxt - moment) / dt.timedelta(hours=1)
            moment = nxt
        return total


def build_baseline(
    hours: Sequence[tuple[dt.datetime, int]],
    zone: ZoneInfo,
    *,
    global_prior: float | None = None,
) -> Baseline:
    """The baseline from ``(utc hour, negative count)`` pairs of counted hours."""
    if hours:
        first = min(h for h, _ in hours)
        last = max(h for h, _ in hours)
        weeks = min(WARM_WEEKS, ((last - first) + dt.timedelta(hours=1)) / dt.timedelta(days=7))
    else:
        weeks = 0.0
    if len(hours) >= 24:
        prior = sum(n for _, n in hours) / len(hours)
    elif global_prior is not None:
        prior = global_prior
    else:
        prior = DEFAULT_PRIOR
    sums = [0.0] * HOURS_OF_WEEK
    seen = [0] * HOURS_OF_WEEK
    for moment, negative in hours:
        slot = hour_of_week(moment, zone)
        sums[slot] += negative
        seen[slot] += 1
    raw = [sums[i] / seen[i] if seen[i] else prior for i in range(HOURS_OF_WEEK)]
    smoothed = [
        0.25 * raw[(i - 1) % HOURS_OF_WEEK] + 0.5 * raw[i] + 0.25 * raw[(i + 1) % HOURS_OF_WEEK]
        for i in range(HOURS_OF_WEEK)
    ]
    w = weeks / WARM_WEEKS
    rates = [w * s + (1 - w) * prior for s in smoothed]
    return Baseline(rates=rates, weeks=weeks, prior=prior)


@dataclass(frozen=True)
class Vocabulary:
    """What was said before the tested windows: how many messages, and by how many distinct
    authors each word (folded) was written (a customer who repeats a word is one voice)."""

    messages: int
    counts: Mapping[str, int]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        """From texts alone (each its own author)."""
        counts: Counter[str] = Counter()
        messages = 0
        for text in texts:
            messages += 1
            counts.update(_words(text).keys())
        return cls(messages=messages, counts=counts)

    @classmethod
    def of_signals(cls, signals: Iterable[Signal]) -> Vocabulary:
        """From the signals: each word counted once per distinct author who wrote it."""
        authors: dict[str, set[str]] = {}
        messages = 0
        for s in signals:
            messages += 1
            who = author_of(s)
            for key in _words(s.text):
                authors.setdefault(key, set()).add(who)
        return cls(messages=messages, counts={key: len(v) for key, v in authors.items()})

    def share(self, key: str) -> float:
        """The share of messages that carry the word, never 0: a word not seen yet counts as
        seen once (so a short history makes every word less surprising)."""
        return (self.counts.get(key, 0) + 1) / (self.messages + 1)


def author_of(s: Signal) -> str:
    """Who wrote it: the author when the source knows it, else the message itself."""
    return s.author or s.ref


@dataclass
class Finding:
    """A window whose negative count departs from the baseline."""

    start: dt.datetime
    end: dt.datetime
    observed: int
    expected: float
    p_value: float
    weeks: float
    network: str
    terms: list[str]
    weekday: int
    hour: int
    causes: list[Signal] = field(default_factory=list)
    #: The word whose sudden rise raised the alert ("" when the volume alone did).
    term: str = ""

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else 0.0


def _fold(word: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c)
    )


STOPWORDS = frozenset(_fold(w) for w in _STOPWORDS)


def _words(text: str) -> dict[str, str]:
    """The text's terms, folded -> shown: its words (4 letters or more, no stop words, handles
    or links) and its hashtags, each one term with its "#" ("#boycottLumiere": a storm's
    hashtag is a term people pick up from each other, like its words)."""
    words: dict[str, str] = {}
    for tag in _HASHTAG.findall(text):
        words.setdefault("#" + _fold(tag), "#" + tag)
    text = re.sub(r"[@#]\S+|https?://\S+", " ", text)
    for word in _WORD.findall(text):
        key = _fold(word)
        if key not in STOPWORDS:
            words.setdefault(key, word.lower())
    return words


def top_terms(texts: Iterable[str], background: Iterable[str] = (), limit: int = 3) -> list[str]:
    """The words that set ``texts`` apart: in at least two of them, ranked by their share of
    ``texts`` minus their share of ``background`` (what was said before), at least twice it."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    total = 0
    for text in texts:
        total += 1
        for key, word in _words(text).items():
            counts[key] += 1
            shown.setdefault(key, word)
    before: Counter[str] = Counter()
    seen = 0
    for text in background:
        seen += 1
        before.update(_words(text).keys())
    if not total:
        return []
    scored = []
    for key, n in counts.items():
        share = n / total
        usual = before[key] / seen if seen else 0.0
        if n >= 2 and share >= 2 * usual:
            scored.append((share - usual, n, key))
    scored.sort(key=lambda row: (-row[0], -row[1], row[2]))
    return [shown[key] for _, _, key in scored[:limit]]


def _carried(pool: Iterable[Signal]) -> tuple[Counter[str], Counter[str], dict[str, str]]:
    """Per word (folded): how many distinct authors wrote it, how many of them in a negative
    message, and the word as first written. One customer who writes the word three times, or
    on two channels, is one author: a crowd is made of people."""
    authors: dict[str, set[str]] = {}
    angry: dict[str, set[str]] = {}
    shown: dict[str, str] = {}
    for s in pool:
        who = author_of(s)
        for key, word in _words(s.text).items():
            authors.setdefault(key, set()).add(who)
            if s.is_negative:
                angry.setdefault(key, set()).add(who)
            shown.setdefault(key, word)
    carried = Counter({key: len(v) for key, v in authors.items()})
    negative = Counter({key: len(v) for key, v in angry.items()})
    return carried, negative, shown


def _rising(carried: Counter[str], negative: Counter[str]) -> dict[str, int]:
    """The words to test, each with its count of distinct authors: written by at least
    :data:`TERM_MIN_COUNT` people, at least :data:`TERM_MIN_NEGATIVE` of them and at least
    half in a negative message (a new product everyone praises is not a crisis)."""
    return {
        key: n
        for key, n in carried.items()
        if n >= TERM_MIN_COUNT and negative[key] >= TERM_MIN_NEGATIVE and 2 * negative[key] >= n
    }


def distinct_authors(pool: Iterable[Signal]) -> int:
    return len({author_of(s) for s in pool})


def rising_words(
    signals: Sequence[Signal], *, end: dt.datetime, windows: Sequence[dt.timedelta] = WINDOWS
) -> list[str]:
    """The words (folded) the term test would test in the longest window (:func:`_rising`).
    Cheap: the vocabulary of the weeks before is read only when there is one."""
    start = end - max(windows)
    carried, negative, _shown = _carried(s for s in signals if start <= s.at < end)
    return list(_rising(carried, negative))


def evaluate(
    signals: Sequence[Signal],
    baseline: Baseline,
    *,
    end: dt.datetime,
    zone: ZoneInfo,
    background: Iterable[str] = (),
    windows: Sequence[dt.timedelta] = WINDOWS,
    vocabulary: Vocabulary | None = None,
    totals: Baseline | None = None,
) -> Finding | None:
    """The finding for the windows ending at ``end`` (the most significant test), or None when
    each is within the usual.

    Two tests per window, both counting people (distinct authors), not messages. **Volume**:
    ``n`` authors of negative messages against the hour-of-week ``baseline`` of negative
    messages ``E`` (``P(X ≥ n | E)`` at most :data:`ALPHA` split over the windows). **A word's
    sudden rise** (given the ``vocabulary`` of the weeks before and ``totals``, the
    hour-of-week baseline of all messages ``T``): each word written by ``k ≥``
    :data:`TERM_MIN_COUNT` distinct authors of the window, at least :data:`TERM_MIN_NEGATIVE`
    of them and half in a negative message, against how often it was said before
    (:func:`word_tail`: negative binomial, mean ``T × its usual share``; at most
    :data:`TERM_ALPHA` split over the words and windows tested): a word new to the baseline,
    written by several people at once, is a topic rising, well before the volume alone
    stands out."""
    # (p-value, level, window start, negative messages, expected, word, shown, its messages)
    tests: list[tuple[float, float, dt.datetime, list[Signal], float, str, str, list[Signal]]]
    tests = []
    words_tested = 0
    for window in windows:
        start = end - window
        pool = [s for s in signals if start <= s.at < end]
        negative = [s for s in pool if s.is_negative]
        floor = MIN_EXPECTED * (window / dt.timedelta(hours=1))
        expected = max(floor, baseline.expected(start, end, zone))
        # Counted in people: one customer's five angry messages are one voice.
        voices = distinct_authors(negative)
        if voices >= MIN_COUNT:
            p_value = poisson_tail(voices, expected)
            tests.append((p_value, ALPHA / len(windows), start, negative, expected, "", "", []))
        if vocabulary is None or totals is None:
            continue
        carried, bad, shown = _carried(pool)
        usual = max(floor, totals.expected(start, end, zone))
        for key, k in _rising(carried, bad).items():
            words_tested += 1
            p_value = word_tail(k, usual, vocabulary.counts.get(key, 0), vocabulary.messages)
            hits = [s for s in pool if key in _words(s.text)]
            tests.append((p_value, TERM_ALPHA, start, negative, expected, key, shown[key], hits))
    # The words' level is split over every word tested, in every window.
    passed = [row for row in tests if row[0] <= (row[1] / words_tested if row[5] else row[1])]
    if not passed:
        return None
    p_value, _level, start, negative, expected, key, word, hits = min(passed, key=lambda r: r[0])
    # The causes: the negative messages of the window, and those that carry the word.
    causes = sorted(set(negative) | set(hits), key=lambda s: (s.at, s.ref))
    observed = len(negative)
    network = Counter(s.network for s in causes).most_common(1)[0][0]
    # The hour the reader is in: the one the window ends in (not its middle, which for a
    # storm caught in its first minutes is the quiet hour before).
    local = (end - dt.timedelta(seconds=1)).astimezone(zone)
    terms = top_terms((s.text for s in causes), background)
    if word:
        terms = [word, *(t for t in terms if _fold(t) != key)][:3]
    return Finding(
        start=start,
        end=end,
        observed=observed,
        expected=expected,
        p_value=p_value,
        weeks=baseline.weeks,
        network=network,
        terms=terms,
        weekday=local.weekday(),
        hour=local.hour,
        causes=causes,
        term=word,
    )
