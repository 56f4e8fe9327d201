"""A/B experiments: two variants of a post on one channel, split by time, and their result.

Both variants are compared at the same age: each one's latest snapshot taken no later than
the younger variant's age (a post measured at 7 days is not compared with one measured at
6 hours). The metric is a proportion of impressions (engagements or clicks per impression);
the result is the difference B − A with a 95 % interval by **Newcombe's hybrid score method**
(method 10 of Newcombe 1998: Wilson score intervals of each proportion, combined), which
behaves well for small rates. "Not enough data yet" while a variant is unmeasured, has fewer
than :data:`MIN_IMPRESSIONS` impressions, or fewer than :data:`MIN_EVENTS` engagements or
clicks in all: the interval would then say more than the data.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.utils import timezone

from portevoix.publishing.models import Publication

from .models import Experiment, ExperimentMetric, PostSnapshot

Z95 = 1.959963984540054
MIN_IMPRESSIONS = 200
MIN_EVENTS = 10
#: Variants count as published at comparable times within this much of each other's local
#: time of day.
COMPARABLE_WITHIN = dt.timedelta(hours=2)


def wilson(events: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if trials <= 0:
        return 0.0, 1.0
    p = events / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p2 − p1 and its interval (Newcombe's hybrid score method)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    difference = p2 - p1
    lower = difference - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    upper = difference + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return difference, lower, upper


@dataclass
class Variant:
    publication: Publication
    impressions: int | None
    events: int | None
    measured_at: dt.datetime | None

    @property
    def rate(self) -> float | None:
        if not self.impressions or self.events is None:
            return None
        return self.events / self.impressions


@dataclass
class Result:
    a: Variant
    b: Variant
    age: dt.timedelta | None
    enough: bool
    difference: float | None = None
    lower: float | None = None
    upper: float | None = None

    @property
    def verdict(self) -> str:
        """``not_enough``, ``b_better``, ``a_better`` or ``no_difference`` (the interval
        contains zero)."""
        if not self.enough or self.lower is None or self.upper is None:
            return "not_enough"
        if self.lower > 0:
            return "b_better"
        if self.upper < 0:
            return "a_better"
        return "no_difference"


def _at_age(publication: Publication, age: dt.timedelta, field: str) -> Variant:
    assert publication.published_at is not None
    snap = (
        PostSnapshot.objects.filter(
            publication=publication, taken_at__lte=publication.published_at + age
        )
        .order_by("-taken_at", "-id")
        .first()
    )
    if snap is None:
        return Variant(publication, None, None, None)
    return Variant(publication, snap.impressions, getattr(snap, field), snap.taken_at)


def result(experiment: Experiment, now: dt.datetime | None = None) -> Result:
    now = now or timezone.now()
    field = "clicks" if experiment.metric == ExperimentMetric.CLICK_RATE else "engagements"
    a, b = experiment.variant_a, experiment.variant_b
    if a.published_at is None or b.published_at is None:
        empty_a = Variant(a, None, None, None)
        return Result(empty_a, Variant(b, None, None, None), None, False)
    age = min(now - a.published_at, now - b.published_at)
    va, vb = _at_age(a, age, field), _at_age(b, age, field)
    enough = (
        va.impressions is not None
        and vb.impressions is not None
        and va.events is not None
        and vb.events is not None
        and min(va.impressions, vb.impressions) >= MIN_IMPRESSIONS
        and va.events + vb.events >= MIN_EVENTS
    )
    out = Result(va, vb, age, enough)
    if enough:
        assert va.impressions and vb.impressions and va.events is not None
        assert vb.events is not None
        out.difference, out.lower, out.upper = newcombe(
            va.events, va.impressions, vb.events, vb.impressions
        )
    return out


def comparable(a: Publication, b: Publication) -> bool:
    """Published (or planned) at about the same local time of day, on different days."""
    zone = a.channel.audience_zone
    first = (a.published_at or a.scheduled_at).astimezone(zone)
    second = (b.published_at or b.scheduled_at).astimezone(zone)
    minutes = abs((first.hour * 60 + first.minute) - (second.hour * 60 + second.minute))
    minutes = min(minutes, 24 * 60 - minutes)
    return dt.timedelta(minutes=minutes) <= COMPARABLE_WITHIN
