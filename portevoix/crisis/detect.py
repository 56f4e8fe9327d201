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
   else the mean over every workspace's counts, else :data:`DEFAULT_PRIOR`.
3. **Test.** Every run looks at the last half hour, hour and three hours (:data:`WINDOWS`:
   the shortest catches a storm's first minutes, the longest a storm that builds slowly). The
   expected count is the hour-of-week baseline over the window (so scaled to its length),
   never below :data:`MIN_EXPECTED` an hour (so a quiet night does not alert on two
   messages). The observed count ``n`` alerts when it is at least :data:`MIN_COUNT` and the
   one-sided Poisson tail ``P(X ≥ n | expected)`` is at most :data:`ALPHA` divided by the
   number of windows (Bonferroni; 1 in 100,000 in all: run every 15 minutes, about one false
   alert in 20 years of truly Poisson traffic; real traffic is burstier, which the
   calm-fortnight test and benchmark measure).
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
from collections.abc import Iterable, Sequence
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

_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_STOPWORDS = """
    avec sans pour dans chez mais donc alors aussi encore jamais toujours tout tous toute
    toutes cette cette ceux celle celles comme quand depuis vraiment votre vous nous leur
    leurs elle elles sont suis êtes était fait faire faut peut plus moins très bien même
    merci bonjour quoi cela ceci avoir etre etait etes rien personne this that with what
    have been from they their there your about just still really very when will would
    could should after before again never always thanks hello please
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

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else 0.0


def _fold(word: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c)
    )


STOPWORDS = frozenset(_fold(w) for w in _STOPWORDS)


def _words(text: str) -> dict[str, str]:
    """The text's words (4 letters or more, no stop words, handles or links): folded -> shown."""
    text = re.sub(r"[@#]\S+|https?://\S+", " ", text)
    words: dict[str, str] = {}
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


def evaluate(
    signals: Sequence[Signal],
    baseline: Baseline,
    *,
    end: dt.datetime,
    zone: ZoneInfo,
    background: Iterable[str] = (),
    windows: Sequence[dt.timedelta] = WINDOWS,
) -> Finding | None:
    """The finding for the windows ending at ``end`` (the most significant one), or None when
    each is within the usual."""
    best: tuple[float, dt.datetime, list[Signal], float] | None = None
    for window in windows:
        start = end - window
        negative = [s for s in signals if s.is_negative and start <= s.at < end]
        floor = MIN_EXPECTED * (window / dt.timedelta(hours=1))
        expected = max(floor, baseline.expected(start, end, zone))
        if len(negative) < MIN_COUNT:
            continue
        p_value = poisson_tail(len(negative), expected)
        if p_value <= ALPHA / len(windows) and (best is None or p_value < best[0]):
            best = (p_value, start, negative, expected)
    if best is None:
        return None
    p_value, start, negative, expected = best
    observed = len(negative)
    network = Counter(s.network for s in negative).most_common(1)[0][0]
    local = (start + (end - start) / 2).astimezone(zone)
    return Finding(
        start=start,
        end=end,
        observed=observed,
        expected=expected,
        p_value=p_value,
        weeks=baseline.weeks,
        network=network,
        terms=top_terms((s.text for s in negative), background),
        weekday=local.weekday(),
        hour=local.hour,
        causes=negative,
    )
