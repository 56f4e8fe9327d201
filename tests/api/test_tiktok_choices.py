"""TikTok's required choices through the API (the audit's "Required UX Implementation",
https://developers.tiktok.com/doc/content-sharing-guidelines): the creator's options read live
(``GET /channels/{id}/posting-options``: the recorded example answer of
https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info, in
tests/networks/fixtures/tiktok/creator_info.json), the choices given with the post as TikTok's
API names them, checked when they are given and when the post is submitted (400 with TikTok's
sentences per channel), never accepted and refused later by the worker."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from django.utils import timezone

from portevoix.channels import clients
from portevoix.channels.models import Channel
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.publishing import actions as post_actions
from portevoix.publishing.models import Publication
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[1] / "networks" / "fixtures" / "tiktok"
CREATOR_INFO = "https://open.tiktokapis.com/v2/post/publish/creator_info/query/"
GOOD = {"privacy_level": "MUTUAL_FOLLOW_FRIENDS", "disable_comment": False, "consent": True}


def recorded(name: str) -> httpx.Response:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data["_source"].startswith("https://developers.tiktok.com/"), name
    return httpx.Response(200, json=data["body"])


@pytest.fixture(autouse=True)
def _fresh_clients():
    clients.clear()
    yield
    clients.clear()


def body(channel: Channel, film, choices: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    at = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0).isoformat()
    made: dict[str, Any] = {
        "text": "Les coulisses du défilé",
        "channels": [channel.pk],
        "media": [film.pk],
        "when": "at",
        "at": at,
        **extra,
    }
    if choices is not None:
        made["network_options"] = {str(channel.pk): choices}
    return made


# -- the creator's options, read live ---------------------------------------------------------


def test_the_creators_options_are_read_live(team, api_as, tiktok_channel) -> None:
    with respx.mock() as api:
        asked = api.post(CREATOR_INFO).mock(return_value=recorded("creator_info.json"))
        response = api_as(team["content"]).get(f"/channels/{tiktok_channel.pk}/posting-options")
    assert asked.call_count == 1
    assert response.status_code == 200, response.content
    got = response.json()
    assert got["creator_nickname"] == "Tik Toker"
    assert got["privacy_level_options"] == [
        "PUBLIC_TO_EVERYONE",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    ]
    assert got["stitch_disabled"] is True and got["comment_disabled"] is False
    assert got["max_video_post_duration_sec"] == 300


def test_when_tiktok_cannot_answer_the_api_says_so(team, api_as, tiktok_channel) -> None:
    with respx.mock() as api:
        api.post(CREATOR_INFO).mock(return_value=httpx.Response(503, text="<html>busy</html>"))
        response = api_as(team["content"]).get(f"/channels/{tiktok_channel.pk}/posting-options")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "network_unavailable"
    assert "TikTok could not be asked for the account's options just now" in error["message"]


def test_a_network_that_asks_no_choices_says_so(team, api_as, channel) -> None:
    response = api_as(team["content"]).get(f"/channels/{channel.pk}/posting-options")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_choices"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_read_the_creators_options(team, api_as, tiktok_channel, role) -> None:
    with respx.mock(assert_all_called=False) as api:
        api.post(CREATOR_INFO).mock(return_value=recorded("creator_info.json"))
        response = api_as(team[role]).get(f"/channels/{tiktok_channel.pk}/posting-options")
    if "post.create" in MATRIX[role] and "channel.view" in MATRIX[role]:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code in (403, 404)
        if "channel.view" in MATRIX[role]:
            assert response.status_code == 403


# -- posts with the choices ---------------------------------------------------------------------


def test_a_tiktok_post_with_valid_choices_is_accepted_and_kept(
    team, api_as, tiktok_channel, film
) -> None:
    response = api_as(team["manager"]).post("/posts", body(tiktok_channel, film, GOOD, submit=True))
    assert response.status_code == 201, response.content
    publication = Publication.objects.get(channel=tiktok_channel)
    assert publication.state == "scheduled"
    assert publication.network_options == {
        "tiktok_privacy": "MUTUAL_FOLLOW_FRIENDS",
        "tiktok_comment": "on",
        "tiktok_consent": "on",
    }
    # What the worker checks before it sends: nothing to refuse.
    assert not post_actions.publication_problems(publication)
    shown = response.json()["publications"][0]["network_options"]
    assert shown["privacy_level"] == "MUTUAL_FOLLOW_FRIENDS"
    assert shown["disable_comment"] is False and shown["disable_duet"] is True
    assert shown["consent"] is True


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ({}, "TikTok: choose who can see the post (there is no default)."),
        ({**GOOD, "consent": False}, "Music Usage Confirmation"),
        (
            {**GOOD, "privacy_level": "FOLLOWER_OF_CREATOR"},
            "TikTok: this account cannot post to followers.",
        ),
        (
            {**GOOD, "disable_stitch": False},
            "TikTok: the account turned off stitches; it cannot be allowed here.",
        ),
        ({**GOOD, "disclose_commercial_content": True}, "say whose"),
        (
            {**GOOD, "privacy_level": "SELF_ONLY", "brand_content_toggle": True},
            "TikTok: branded content cannot be private (only me): choose another audience.",
        ),
    ],
)
def test_each_kind_of_wrong_choice_is_refused_with_tiktoks_sentence(
    team, api_as, tiktok_channel, film, choices, expected
) -> None:
    response = api_as(team["manager"]).post(
        "/posts", body(tiktok_channel, film, choices, submit=True)
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_choices"
    assert error["field"] == "network_options"
    assert expected in error["message"]
    assert any(
        d["loc"] == ["network_options", str(tiktok_channel.pk)] and expected in d["message"]
        for d in error["details"]
    ), error["details"]
    assert not Publication.objects.exists()  # nothing saved


def test_a_submitted_tiktok_post_without_choices_is_refused_at_once(
    team, api_as, tiktok_channel, film
) -> None:
    response = api_as(team["manager"]).post("/posts", body(tiktok_channel, film, None, submit=True))
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert {tuple(d["loc"]) for d in details} == {("network_options", str(tiktok_channel.pk))}
    assert not Publication.objects.exists()


def test_choices_outside_the_schema_are_refused(team, api_as, tiktok_channel, film) -> None:
    for wrong in ({**GOOD, "privacy_level": "EVERYONE"}, {**GOOD, "allow_comment": True}):
        response = api_as(team["manager"]).post("/posts", body(tiktok_channel, film, wrong))
        assert response.status_code == 422, response.content
        assert response.json()["error"]["code"] == "invalid_request"


def test_choices_for_a_channel_that_asks_none_are_refused(
    team, api_as, channel, tiktok_channel, film
) -> None:
    made = body(tiktok_channel, film, GOOD)
    made["channels"] = [channel.pk, tiktok_channel.pk]
    made["network_options"] = {str(channel.pk): GOOD}
    response = api_as(team["manager"]).post("/posts", made)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_choices"


def test_a_draft_gets_its_choices_later_then_goes(team, api_as, tiktok_channel, film) -> None:
    api = api_as(team["manager"])
    made = api.post("/posts", body(tiktok_channel, film, None))
    assert made.status_code == 201, made.content  # a draft may wait for its choices
    post_id = made.json()["id"]
    refused = api.post(f"/posts/{post_id}/submit")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_choices"
    wrong = api.put(
        f"/posts/{post_id}/network-options/{tiktok_channel.pk}",
        {**GOOD, "disable_stitch": False},
    )
    assert wrong.status_code == 400
    assert "turned off stitches" in wrong.json()["error"]["details"][0]["message"]
    assert Publication.objects.get(channel=tiktok_channel).network_options == {}
    chosen = api.put(f"/posts/{post_id}/network-options/{tiktok_channel.pk}", GOOD)
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["publications"][0]["network_options"]["privacy_level"] == (
        "MUTUAL_FOLLOW_FRIENDS"
    )
    assert AuditEntry.objects.filter(action="post.choices", object_id=str(post_id)).exists()
    sent = api.post(f"/posts/{post_id}/submit")
    assert sent.status_code == 200, sent.content
    assert sent.json()["publications"][0]["state"] == "scheduled"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_set_the_choices(team, api_as, tiktok_channel, film, role) -> None:
    post = api_as(team["manager"]).post("/posts", body(tiktok_channel, film, None)).json()
    response = api_as(team[role]).put(
        f"/posts/{post['id']}/network-options/{tiktok_channel.pk}", GOOD
    )
    if "post.create" in MATRIX[role]:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code in (403, 404)
        if "post.view" in MATRIX[role]:
            assert response.status_code == 403
        assert Publication.objects.get(channel=tiktok_channel).network_options == {}
