"""One rule for times: the channel's audience zone, shown on the form; gaps and overlaps refused
there; an explicit offset kept; nothing years ahead."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.publishing import actions
from portevoix.publishing.models import Post, Publication
from portevoix.publishing.scheduling import ScheduleTimeError, check_when, localize, parse_when
from portevoix.sandbox import service

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _january_2027():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def channel(team):
    account = service.create_account("acme-tz", workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Insta",
    )


def speak(member, language: str) -> None:
    """Once logged in, the account's language decides."""
    member.user.language = language
    member.user.save(update_fields=["language"])


def post_url(channel) -> str:
    return reverse("channel_quick_post", kwargs={"ws": "acme", "pk": channel.pk})


# --- the rule, as functions ----------------------------------------------------------------


def test_a_wall_clock_time_is_read_in_the_zone():
    moment = parse_when("2027-06-15T09:30", PARIS, now=NOW)
    assert moment.astimezone(dt.UTC) == dt.datetime(2027, 6, 15, 7, 30, tzinfo=dt.UTC)
    moment = parse_when("2027-06-15T09:30", NEW_YORK, now=NOW)
    assert moment.astimezone(dt.UTC) == dt.datetime(2027, 6, 15, 13, 30, tzinfo=dt.UTC)


def test_a_time_in_the_spring_gap_is_refused_naming_the_zone():
    with translation.override("en"), pytest.raises(ScheduleTimeError) as caught:
        localize(dt.datetime(2027, 3, 28, 2, 30), PARIS)
    assert caught.value.code == "dst_gap" and caught.value.field == "at"
    assert "Europe/Paris" in caught.value.message and "forward" in caught.value.message
    # The same wall-clock time exists in New York (its clocks changed two weeks earlier).
    assert localize(dt.datetime(2027, 3, 28, 2, 30), NEW_YORK).utcoffset() == dt.timedelta(hours=-4)
    with pytest.raises(ScheduleTimeError):
        localize(dt.datetime(2027, 3, 14, 2, 30), NEW_YORK)


def test_a_time_that_happens_twice_is_refused_with_both_offsets():
    with translation.override("fr"), pytest.raises(ScheduleTimeError) as caught:
        localize(dt.datetime(2027, 10, 31, 2, 30), PARIS)
    assert caught.value.code == "dst_ambiguous"
    message = caught.value.message
    assert "Europe/Paris" in message and "+02:00" in message and "+01:00" in message
    assert "deux fois" in message


def test_an_explicit_offset_is_kept_as_given():
    # In the gap, but the offset says which instant: kept, not refused, not shifted.
    moment = parse_when("2027-03-28T02:30+01:00", PARIS, now=NOW)
    assert moment.astimezone(dt.UTC) == dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC)
    moment = parse_when("2027-10-31T02:30+01:00", PARIS, now=NOW)
    assert moment.astimezone(dt.UTC) == dt.datetime(2027, 10, 31, 1, 30, tzinfo=dt.UTC)
    moment = parse_when("2027-06-15T09:30Z", NEW_YORK, now=NOW)
    assert moment == dt.datetime(2027, 6, 15, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59", "9999-12-31T23:59-05:00", "2207-01-01T09:00", "2029-02-01T09:00"]
)
def test_far_future_is_refused_with_a_reason(text):
    with translation.override("en"), pytest.raises(ScheduleTimeError) as caught:
        check_when(parse_when(text, PARIS, now=NOW), now=NOW)
    assert caught.value.code == "too_far" and "two years" in caught.value.message


def test_the_action_refuses_far_future_and_past(team, channel):
    for at, code in (
        (dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.UTC), "too_far"),
        (NOW - dt.timedelta(hours=1), "past"),
        (dt.datetime(2027, 6, 1, 9, 0), "naive"),
    ):
        with pytest.raises(ActionRefused) as caught:
            actions.schedule_post(
                team.workspace, by=team["content"], text="x", channels=[channel], at=at
            )
        assert caught.value.code == code and caught.value.field == "at"
    assert not Post.objects.exists()


# --- the form ------------------------------------------------------------------------------


def test_the_form_names_the_zone_it_uses(team, client_for, channel):
    speak(team["content"], "en")
    client = client_for(team["content"])
    html = client.get(post_url(channel)).content.decode()
    assert "Publish at (Europe/Paris time)" in html and "the workspace’s time zone" in html
    channel_actions.update_channel(
        channel,
        by=team["admin"],
        name=channel.name,
        owner_department=None,
        strategy_level=channel.strategy_level,
        time_zone="America/New_York",
    )
    html = client.get(post_url(channel)).content.decode()
    assert "Publish at (America/New_York time)" in html and "audience time zone" in html


def test_the_form_reads_the_time_in_the_channels_zone_not_the_members(team, client_for, channel):
    member = team["content"]
    member.user.time_zone = "Asia/Tokyo"  # the member's own zone plays no part
    member.user.save()
    channel_actions.update_channel(
        channel,
        by=team["admin"],
        name=channel.name,
        owner_department=None,
        strategy_level=channel.strategy_level,
        time_zone="America/New_York",
    )
    client = client_for(member)
    response = client.post(
        post_url(channel), {"text": "Bonjour New York", "at": "2027-06-15T09:30"}
    )
    assert response.status_code == 302
    publication = Publication.objects.get()
    assert publication.scheduled_at == dt.datetime(2027, 6, 15, 13, 30, tzinfo=dt.UTC)
    entry = AuditEntry.objects.get(action="post.schedule")
    assert dt.datetime.fromisoformat(entry.after["at"]) == publication.scheduled_at


def test_the_form_keeps_an_explicit_offset(team, client_for, channel):
    client = client_for(team["content"])
    response = client.post(post_url(channel), {"text": "Offset", "at": "2027-06-15T09:30+09:00"})
    assert response.status_code == 302
    assert Publication.objects.get().scheduled_at == dt.datetime(2027, 6, 15, 0, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("language", "at", "words"),
    [
        ("en", "2027-03-28T02:30", ["does not exist in Europe/Paris", "forward"]),
        ("fr", "2027-03-28T02:30", ["n’existe pas", "Europe/Paris"]),
        ("en", "2027-10-31T02:30", ["happens twice in Europe/Paris", "+02:00", "+01:00"]),
        ("fr", "2027-10-31T02:30", ["deux fois", "Europe/Paris"]),
        ("en", "9999-12-31T23:59", ["two years"]),
        ("fr", "9999-12-31T23:59", ["deux ans"]),
        ("en", "demain matin", ["2027-03-28 09:30"]),
    ],
)
def test_the_form_refuses_in_place_and_keeps_what_was_typed(
    team, client_for, channel, language, at, words
):
    speak(team["content"], language)
    client = client_for(team["content"])
    response = client.post(post_url(channel), {"text": "Texte gardé", "at": at})
    assert response.status_code == 400
    html = response.content.decode()
    for word in words:
        assert word in html, (word, html[html.find("error") - 200 : html.find("error") + 400])
    assert "Texte gardé" in html and f'value="{at}"' in html
    assert not Post.objects.exists()


def test_the_audience_zone_is_edited_on_the_channel_page(team, client_for, channel):
    url = reverse("channel_detail", kwargs={"ws": "acme", "pk": channel.pk})
    data = {
        "save": "1",
        "channel-name": "Insta",
        "channel-strategy_level": "active",
        "channel-time_zone": "America/Montreal",
    }
    assert client_for(team["content"]).post(url, data).status_code == 403
    channel.refresh_from_db()
    assert channel.time_zone == ""
    assert client_for(team["manager"]).post(url, data).status_code == 302
    channel.refresh_from_db()
    assert channel.time_zone == "America/Montreal"
    assert channel.audience_zone.key == "America/Montreal"
    entry = AuditEntry.objects.filter(action="channel.update").latest("created_at")
    assert entry.before["time_zone"] == "" and entry.after["time_zone"] == "America/Montreal"
    response = client_for(team["manager"]).post(url, {**data, "channel-time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    channel.refresh_from_db()
    assert channel.time_zone == "America/Montreal"
    # Blank again: the workspace's zone.
    client_for(team["manager"]).post(url, {**data, "channel-time_zone": ""})
    channel.refresh_from_db()
    assert channel.time_zone == "" and channel.audience_zone.key == "Europe/Paris"


def test_an_unknown_zone_is_refused_by_the_action(team, channel):
    with pytest.raises(ActionRefused) as caught:
        channel_actions.update_channel(
            channel,
            by=team["admin"],
            name=channel.name,
            owner_department=None,
            strategy_level=channel.strategy_level,
            time_zone="Europe/Atlantis",
        )
    assert caught.value.field == "time_zone"
