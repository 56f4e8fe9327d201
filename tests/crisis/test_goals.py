"""The goals on the sandbox, as simulated outcomes: the world replayed through the real inbox
(triage labels the sentiment) and listening, detection run every 5 minutes of simulated time as
the worker does (``crisis/jobs.py``)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from portevoix.crisis import detect, notices
from portevoix.crisis.models import Alert
from portevoix.notifications import kinds
from portevoix.notifications.models import EmailDelivery, Notification
from portevoix.sandbox import world

from .sim import MONDAY, replay_for

EVERY = dt.timedelta(minutes=5)


def test_a_replayed_calm_fortnight_raises_no_alert(team) -> None:
    replay = replay_for(team, "calm", seed=3, listen=True)
    alerts = replay.run(MONDAY, MONDAY + dt.timedelta(days=14), EVERY)
    assert replay.ingested > 300  # a real fortnight of customers, not an empty one
    assert replay.heard > 50  # and what listening hears beyond the account's pages
    assert alerts == []
    assert not Alert.objects.exists()


#: The one storm of seeds 1–10 alerted late (at 35 minutes): its four voices by minute 30 wrote
#: two in French ("retard de livraison") and two in English ("delivery delay"), so no word is
#: shared by three people, and four negative voices are short of the volume test's five.
SPLIT_BY_LANGUAGE = pytest.mark.xfail(
    strict=True, reason="four voices split 2-2 between French and English (docs/crisis.md)"
)


@pytest.mark.parametrize("seed", [*range(1, 10), pytest.param(10, marks=SPLIT_BY_LANGUAGE)])
def test_the_storm_at_its_lowest_intensity_alerts_within_30_minutes(team, seed: int) -> None:
    # The staged storm is as loud at every seed (docs/adr/1203-staged-storm-volume.md), so the
    # goal is checked at ten; bench/crisis_detect_offline.py measures it over many more (docs).
    # Four weeks of history, as the demo backfills: with one week (the cold start's prior
    # still weighs three quarters), seeds 1 and 2 were alerted at 35 minutes.
    replay = replay_for(team, "storm", seed=seed, listen=True)
    start = MONDAY + dt.timedelta(days=29, hours=13)  # a Tuesday, 14:00 in Paris
    replay.run(MONDAY, start, EVERY, check=False)  # the history, not checked
    world.start_crisis(
        replay.account, 1.0, "le retard de livraison", topic_en="the delivery delay", at=start
    )
    alerts = replay.run(start, start + dt.timedelta(minutes=30), EVERY)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.raised_at - start <= dt.timedelta(minutes=30)
    # Several angry people at once: the storm's messages are read as negative (triage's third
    # round; before it, most were read neutral and only the word's rise raised the alert).
    assert alert.observed >= detect.TERM_MIN_NEGATIVE
    # Named by what the storm is about, and the messages that caused it are the storm's.
    topic = {"retard", "livraison", "delivery", "delay", "#boycottlumierecosmetiques"}
    assert topic & {t.lower() for t in alert.terms}, alert.terms
    storm = [m for m in alert.messages if re.search(r"retard|delay|boycott", m["text"].lower())]
    assert len(storm) >= detect.TERM_MIN_COUNT
    with translation.override("en"):
        text = notices.explain(notices.alert_params(alert))
    assert re.search(
        r"negative messages? in the last 30 minutes, [\d.]+ times the usual for a Tuesday at "
        r"14:00, on Sandbox, about “",
        text,
    ), text


def test_the_staged_crisis_raises_an_explained_alert_for_who_is_on_duty(team) -> None:
    replay = replay_for(team, "storm", seed=5)
    start = MONDAY + dt.timedelta(days=1, hours=13)  # a Tuesday, 14:00 in Paris
    assert replay.run(MONDAY, start, EVERY) == []
    world.start_crisis(
        replay.account, 10.0, "le retard de livraison", topic_en="the delivery delay", at=start
    )
    alerts = replay.run(start, start + dt.timedelta(hours=3), EVERY)
    assert len(alerts) == 1
    alert = alerts[0]
    # Measured, not promised: the inbox alone sees this storm within two hours (docs/crisis.md).
    assert alert.raised_at - start <= dt.timedelta(hours=2)
    assert alert.observed >= detect.TERM_MIN_COUNT and alert.ratio > 5
    assert {"retard", "livraison"} & set(alert.terms)
    assert alert.messages and all(m["ref"].startswith("inbox:") for m in alert.messages)
    # In the app and by e-mail: whoever is on duty (the team, no calendar: always open) and
    # the members who declare crises; not the viewer, not the outsider.
    told = set(
        Notification.objects.filter(kind="crisis.alert").values_list("recipient__role", flat=True)
    )
    assert {"admin", "manager", "content"} <= told
    assert "viewer" not in told and "creative" not in told
    sent = Notification.objects.filter(kind="crisis.alert")
    assert EmailDelivery.objects.filter(notification__in=sent).count() == sent.count()
    with translation.override("en"):
        rendered = kinds.get("crisis.alert").render(sent[0].params)
    assert re.search(
        r"times the usual for a Tuesday at 1[45]:00, on Sandbox, about “", rendered.title
    )
    assert "Some of the messages:" in rendered.body
    with translation.override("fr"):
        rendered = kinds.get("crisis.alert").render(sent[0].params)
    assert re.search(r"fois plus que d’habitude un mardi à 1[45] h", rendered.title)
