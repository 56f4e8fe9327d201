"""What the listening page shows about a set of mentions: volume and sentiment per day, share
of voice, top authors, rising terms and hashtags. Plain Python over the database's rows."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import regex
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString

from portevoix.crisis.detect import poisson_tail

from .models import OWN_KINDS, ListeningQuery, Mention, QueryKind
from .query import fold

SENTIMENTS = ("positive", "neutral", "negative")
#: Rising terms: the last day against the days before it.
RECENT = dt.timedelta(hours=24)
BASELINE = dt.timedelta(days=14)
#: A term needs this many mentions in the last day to rise...
MIN_RECENT = 3
#: ...1.5 times its usual daily rate...
MIN_RATIO = 1.5
#: ...and a count that its usual rate would reach by chance at most this often (Poisson): "5
#: today against 2.1 a day" happens one day in sixteen, and is not a trend.
RISE_ALPHA = 0.01

_STOP = (
    "alors aussi avec avoir avait cette comme dans depuis des elle elles encore est etait "
    "etre fait faire franchement jamais leur leurs mais meme moi mon nous pas plus pour "
    "pourquoi quand que quel quelle qui rien sans ses sont sur tous tout tres une vos "
    "votre vous deja bien cest jai ils ont vraiment avant apres chez ceux celle cela quoi "
    "about after again also and are been before but can could did does for from had has "
    "have her him his how into its just like more most not now only our out over really "
    "she should some than that the their them then there these they this those very was "
    "were what when where which while who why will with would you your yours still "
    "fois enfin toujours autre autres aucun aucune donc ici voila juste trop peu beaucoup "
    "moins tant ceci celui dont entre vers sous been being each every here much many other "
    "same such too yet merci bonjour bonsoir salut thanks thank hello please"
)
STOP_WORDS = frozenset(_STOP.split())
#: Words as written (letters and digits, accents kept), for the spelling shown of a term.
_WORDS = regex.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Day:
    """One bar of the volume chart: a local day, or one hour of it (``hour``)."""

    day: dt.date
    counts: dict[str, int]
    hour: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def get(self, sentiment: str) -> int:
        return self.counts.get(sentiment, 0)


def volume_by_day(
    mentions: QuerySet[Mention], start: dt.datetime, end: dt.datetime, zone: ZoneInfo
) -> list[Day]:
    """Mentions per local day and sentiment, every day of the period (zeros included)."""
    counts: dict[dt.date, Counter[str]] = {}
    for posted_at, sentiment in mentions.values_list("posted_at", "sentiment").iterator(
        chunk_size=5000
    ):
        day = posted_at.astimezone(zone).date()
        key = sentiment if sentiment in SENTIMENTS else "neutral"
        counts.setdefault(day, Counter())[key] += 1
    first, last = (
        start.astimezone(zone).date(),
        (end - dt.timedelta(seconds=1)).astimezone(zone).date(),
    )
    days = []
    day = first
    while day <= last:
        days.append(Day(day, dict(counts.get(day, Counter()))))
        day += dt.timedelta(days=1)
    return days


def volume_by_hour(
    mentions: QuerySet[Mention], start: dt.datetime, end: dt.datetime, zone: ZoneInfo
) -> list[Day]:
    """Mentions per local hour and sentiment from ``start`` (an hour) to ``end``, zeros
    included: the last 24 hours as 24 bars, not two partial days."""
    counts: dict[dt.datetime, Counter[str]] = {}
    for posted_at, sentiment in mentions.values_list("posted_at", "sentiment").iterator(
        chunk_size=5000
    ):
        hour = posted_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        key = sentiment if sentiment in SENTIMENTS else "neutral"
        counts.setdefault(hour, Counter())[key] += 1
    bars = []
    moment = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    while moment < end:
        local = moment.astimezone(zone)
        bars.append(Day(local.date(), dict(counts.get(moment, Counter())), hour=local.hour))
        moment += dt.timedelta(hours=1)
    return bars


def chart(days: list[Day], *, width: int = 720, height: int = 200) -> SafeString:
    """Mentions per day stacked by sentiment (negative at the bottom), drawn by the reports'
    chart vocabulary (ADR 1201): each sentiment its own fill besides its colour."""
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    from portevoix.reports import charts

    labels = {"negative": _("negative"), "neutral": _("neutral"), "positive": _("positive")}
    return charts.stacked_bar_chart(
        [
            _("%(hour)s h") % {"hour": d.hour}
            if d.hour is not None
            else date_format(d.day, "SHORT_DATE_FORMAT")
            for d in days
        ],
        [
            charts.Series(labels[s], [float(d.get(s)) for d in days])
            for s in ("negative", "neutral", "positive")
        ],
        title=_("Volume and sentiment"),
        width=width,
        height=height,
    )


def share_of_voice(
    mentions: QuerySet[Mention], queries: QuerySet[ListeningQuery]
) -> list[dict[str, Any]]:
    """The brand (its brand, product and executive queries together) against each competitor
    query: mentions of each, and their share of the total."""
    own = {q.pk for q in queries if q.kind in OWN_KINDS}
    competitors = [q for q in queries if q.kind == QueryKind.COMPETITOR]
    if not competitors:
        return []
    through = Mention.queries.through.objects.filter(mention__in=mentions)
    brand = through.filter(listeningquery_id__in=own).values("mention_id").distinct().count()
    per_query = dict(
        through.filter(listeningquery_id__in=[q.pk for q in competitors])
        .values_list("listeningquery_id")
        .annotate(n=Count("mention_id", distinct=True))
    )
    rows: list[dict[str, Any]] = [{"name": None, "count": brand, "own": True}] + [
        {"name": q.name, "count": per_query.get(q.pk, 0), "own": False} for q in competitors
    ]
    total = sum(r["count"] for r in rows) or 1
    for row in rows:
        row["share"] = round(100 * row["count"] / total)
    return rows


def top_authors(mentions: QuerySet[Mention], limit: int = 10) -> list[dict[str, Any]]:
    """The authors with the most followers, then the most mentions. Mentions without an author
    (Instagram's hashtag search names none) are nobody's: they are left out, not "@"."""
    rows = (
        mentions.exclude(author_handle="")
        .values("author_handle", "network")
        .annotate(reach=Max("author_reach"), count=Count("pk"), last=Max("posted_at"))
        .order_by("-reach", "-count", "author_handle")[:limit]
    )
    return [dict(row) for row in rows]


def _terms(text: str) -> set[str]:
    words = fold(text).split()
    out: set[str] = set()
    for index, word in enumerate(words):
        if word in "#@":
            continue
        if index and words[index - 1] == "#":
            out.add("#" + word)
        elif index and words[index - 1] == "@":
            continue
        elif len(word) >= 4 and not word.isdigit() and word not in STOP_WORDS:
            out.add(word)
    return out


def _spellings(text: str, into: dict[str, Counter[str]]) -> None:
    """Count how ``text`` writes each word it has, by the word's folded form: a term is shown
    as people write it ("réponse", "#Soldes"), not as the matcher folds it ("reponse")."""
    for word in _WORDS.findall(text):
        folded = fold(word).split()
        if len(folded) == 1:
            into.setdefault(folded[0], Counter())[word.lower()] += 1


def rising(
    mentions: QuerySet[Mention], now: dt.datetime | None = None, limit: int = 12
) -> list[dict[str, Any]]:
    """Terms and hashtags of the last 24 hours against their daily rate over the 14 days
    before: ``ratio`` = (last day + 1) / (baseline per day + 1). A term rises with at least
    :data:`MIN_RECENT` mentions in the last day, :data:`MIN_RATIO` times the usual, and a count
    the usual rate would reach by chance at most :data:`RISE_ALPHA` of days (Poisson, the
    rate never below one mention in the 14 days). Words of the workspace's own queries rise
    with everything else and are left in: a surge of the brand's name is news too.

    ``term`` is the folded key (what the idea and draft actions send back); ``label`` is the
    spelling most used in the last day's mentions."""
    now = now or timezone.now()
    recent: Counter[str] = Counter()
    baseline: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    rows = mentions.filter(posted_at__gte=now - RECENT - BASELINE, posted_at__lt=now)
    for text, posted_at in rows.values_list("text", "posted_at").iterator(chunk_size=5000):
        if posted_at >= now - RECENT:
            recent.update(_terms(text))
            _spellings(text, spellings)
        else:
            baseline.update(_terms(text))
    days = BASELINE / dt.timedelta(days=1)
    out: list[dict[str, Any]] = []
    for term, count in recent.items():
        if count < MIN_RECENT:
            continue
        per_day = baseline.get(term, 0) / days
        ratio = (count + 1) / (per_day + 1)
        if ratio < MIN_RATIO or poisson_tail(count, max(per_day, 1 / days)) > RISE_ALPHA:
            continue
        word = term.removeprefix("#")
        written = spellings.get(word)
        label = written.most_common(1)[0][0] if written else word
        out.append(
            {
                "term": term,
                "label": ("#" + label) if term.startswith("#") else label,
                "hashtag": term.startswith("#"),
                "recent": count,
                "baseline": round(per_day, 1),
                "ratio": round(ratio, 1),
                "score": ratio * math.log1p(count),
            }
        )
    out.sort(key=lambda r: (-r["score"], r["term"]))
    return out[:limit]


def term_mentions(
    mentions: QuerySet[Mention], term: str, now: dt.datetime | None = None, limit: int = 10
) -> list[Mention]:
    """The mentions of the last 24 hours in which a rising ``term`` (as :func:`rising` names
    it: folded, ``#`` for a hashtag) occurs, the most reached authors first."""
    now = now or timezone.now()
    found = [
        m
        for m in mentions.filter(posted_at__gte=now - RECENT, posted_at__lt=now).order_by(
            "-author_reach", "-posted_at", "pk"
        )
        if term in _terms(m.text)
    ]
    return found[:limit]
