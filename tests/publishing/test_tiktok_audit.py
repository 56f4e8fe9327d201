"""What TikTok's audit asks of an app that posts (Content Posting API, "Required UX
Implementation": https://developers.tiktok.com/doc/content-sharing-guidelines): the creator's
options read live (``POST /v2/post/publish/creator_info/query/``, the recorded example of
https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info in
tests/networks/fixtures/tiktok/creator_info.json), shown in the composer for a TikTok variant,
chosen by the author with no default, refused on the server when missing, and sent as chosen."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from django.urls import reverse

from portevoix.channels.models import Channel
from portevoix.core.permissions import MATRIX
from portevoix.media import processing
from portevoix.media.specs import spec_for
from portevoix.networks import tiktok
from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import InvalidInput
from portevoix.networks.types import Credentials, MediaItem, OutgoingPost
from portevoix.publishing import actions
from portevoix.publishing.models import Publication
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[1] / "networks" / "fixtures" / "tiktok"
API = "https://open.tiktokapis.com"
CREATOR_INFO = f"{API}/v2/post/publish/creator_info/query/"
INIT = f"{API}/v2/post/publish/video/init/"
STATUS = f"{API}/v2/post/publish/status/fetch/"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data["_source"].startswith("https://developers.tiktok.com/"), name
    return data


def answer(name: str) -> httpx.Response:
    return httpx.Response(200, json=load(name)["body"])


CHOSEN = {
    "tiktok_privacy": "MUTUAL_FOLLOW_FRIENDS",
    "tiktok_comment": "on",
    "tiktok_consent": "on",
}
LEVELS = frozenset({"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"})


# -- the module ---------------------------------------------------------------------------------


def test_creator_info_reads_the_documented_answer() -> None:
    with respx.mock() as api:
        api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        network = tiktok.TikTokNetwork(timeout=2)
        network.resume(
            Credentials({"access_token": "act.x", "open_id": "o1"}),
            _account(),
        )
        info = network.creator_info()
    assert info.nickname == "Tik Toker"
    assert info.privacy_levels == ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
    assert info.interactions_disabled == {"stitch"}
    assert info.max_video_seconds == 300


def _account() -> Any:
    from portevoix.networks.types import AccountInfo

    return AccountInfo(network="tiktok", account_id="o1", handle="@tiktok")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "choose who can see the post"),
        ({**CHOSEN, "tiktok_privacy": "FOLLOWER_OF_CREATOR"}, "cannot post to followers"),
        ({**CHOSEN, "tiktok_consent": ""}, "Music Usage Confirmation"),
        ({**CHOSEN, "tiktok_stitch": "on"}, "turned off stitches"),
        ({**CHOSEN, "tiktok_disclose": "on"}, "say whose"),
        (
            {
                **CHOSEN,
                "tiktok_privacy": "SELF_ONLY",
                "tiktok_disclose": "on",
                "tiktok_branded": "on",
            },
            "branded content cannot be private",
        ),
    ],
)
def test_the_required_choices_are_refused_when_missing_or_wrong(
    options: dict[str, str], expected: str
) -> None:
    from django.utils import translation

    with translation.override("en"):
        problems = tiktok.audit_problems(
            options, privacy_levels=LEVELS, interactions_disabled=frozenset({"stitch"})
        )
    assert any(expected in p for p in problems), problems


def test_the_choices_made_are_enough() -> None:
    assert not tiktok.audit_problems(CHOSEN, privacy_levels=LEVELS)
    branded = {**CHOSEN, "tiktok_disclose": "on", "tiktok_branded": "on", "tiktok_your_brand": "on"}
    assert not tiktok.audit_problems(branded, privacy_levels=LEVELS)


def test_the_refusal_speaks_french() -> None:
    from django.utils import translation

    with translation.override("fr"):
        problems = tiktok.audit_problems({}, privacy_levels=LEVELS)
    assert any("TikTok\u00a0: choisissez qui peut voir la publication" in p for p in problems)


def test_a_post_goes_with_the_authors_choices() -> None:
    video = MediaItem(b"\0" * 100, "video/mp4", filename="v.mp4", public_url="http://localhost/v")
    limits = replace(
        tiktok.TikTokNetwork.limits,
        privacy_levels=LEVELS,
        interactions_disabled=frozenset({"stitch"}),
    )
    options = {**CHOSEN, "tiktok_disclose": "on", "tiktok_branded": "on"}
    with respx.mock() as api:
        init = api.post(INIT).mock(return_value=answer("video_init_file.json"))
        api.put(url__startswith="https://open-upload.tiktokapis.com/").mock(
            return_value=httpx.Response(201)
        )
        api.post(STATUS).mock(return_value=answer("status_complete.json"))
        network = tiktok.TikTokNetwork(
            timeout=2, limits=limits, journal=MemoryJournal(), poll_interval=0
        )
        network.resume(
            Credentials({"access_token": "act.x", "open_id": "o1", "audited": "yes"}), _account()
        )
        network.publish(
            OutgoingPost("Les coulisses", media=(video,), options=options), idempotency_key="k"
        )
        # Without the choices the product must collect, nothing is sent.
        with pytest.raises(InvalidInput):
            network.publish(
                OutgoingPost("Les coulisses", media=(video,), options={}), idempotency_key="k2"
            )
    assert init.call_count == 1
    info = json.loads(init.calls[0].request.content)["post_info"]
    assert info["privacy_level"] == "MUTUAL_FOLLOW_FRIENDS"
    assert info["disable_comment"] is False
    assert info["disable_duet"] is True  # not allowed by the author
    assert info["disable_stitch"] is True  # turned off by the creator
    assert info["brand_content_toggle"] is True and info["brand_organic_toggle"] is False


def test_a_video_longer_than_the_creators_maximum_is_refused_at_compose_time() -> None:
    limits = replace(tiktok.TikTokNetwork.limits, max_video_seconds=60)
    info = processing.FileInfo("video", "video/mp4", 1080, 1920, 1, 90.0)
    found = processing.check_video(
        info,
        1000,
        capabilities=tiktok.TikTokNetwork.capabilities,
        limits=limits,
        spec=spec_for("tiktok"),
    )
    assert {"code": "too_long", "limit": 60, "value": 90.0} in found


# -- the composer ------------------------------------------------------------------------------


@pytest.fixture
def channel(team) -> Channel:
    row = Channel(
        workspace=team.workspace,
        network="tiktok",
        name="TikTok Lumière",
        account_id="o1",
        handle="@tiktok",
    )
    row.set_credentials(
        Credentials(
            {"access_token": "act.x", "open_id": "o1", "refresh_token": "r", "audited": "yes"}
        )
    )
    row.save()
    return row


@pytest.fixture(autouse=True)
def english(team) -> None:
    """The members read English here (the French reader is in test_the_refusal_speaks_french)."""
    for member in team.members.values():
        type(member.user).objects.filter(pk=member.user.pk).update(language="en")


def compose_url() -> str:
    return reverse("compose", kwargs={"ws": "acme"})


def form(channel: Channel, **extra: str) -> dict[str, Any]:
    return {
        "title": "Coulisses",
        "text": "Les coulisses du défilé",
        "channels": [str(channel.pk)],
        "when": "now",
        "time_zone": "Europe/Paris",
        **extra,
    }


def panel_url(channel: Channel) -> str:
    return reverse("compose_tiktok", kwargs={"ws": "acme", "pk": channel.pk})


def test_the_composer_shows_the_creators_options_with_no_default(
    team, client_for, channel: Channel
) -> None:
    with respx.mock() as api:
        asked = api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        # The TikTok channel chosen in the composer: its panel comes (htmx), read live.
        page = client_for(team["content"]).post(panel_url(channel), {"channels": [channel.pk]})
    assert asked.called  # read live, when the author prepares a post
    html = page.content.decode()
    assert page.status_code == 200
    assert "Posting to TikTok as Tik Toker" in html
    assert f'name="v{channel.pk}-tiktok_privacy"' in html
    assert '<option value="" selected>' in html  # no privacy chosen for the author
    assert 'value="SELF_ONLY"' in html and 'value="FOLLOWER_OF_CREATOR"' not in html
    assert (
        f'id="v{channel.pk}-tiktok_stitch" name="v{channel.pk}-tiktok_stitch" value="on" disabled'
        in html
    )
    assert tiktok.MUSIC_USAGE_URL in html
    assert tiktok.BRANDED_CONTENT_URL not in html  # only once branded content is chosen
    assert "This account may post videos of up to 300 seconds." in html


def test_the_composer_still_opens_when_tiktok_does_not_answer(
    team, client_for, channel: Channel
) -> None:
    with respx.mock() as api:
        api.post(CREATOR_INFO).mock(return_value=httpx.Response(503, json={}))
        page = client_for(team["content"]).post(panel_url(channel), {"channels": [channel.pk]})
    assert page.status_code == 200
    assert f'name="v{channel.pk}-tiktok_privacy"' in page.content.decode()
    assert "The choices below are the account's as last read." in page.content.decode().replace(
        "&#x27;", "'"
    )


def test_the_panel_follows_the_channels_chosen(team, client_for, channel: Channel) -> None:
    prefix = f"v{channel.pk}-"
    client = client_for(team["content"])
    with respx.mock() as api:
        asked = api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        # A new post with no channel chosen: TikTok is not asked, no panel.
        page = client.get(compose_url())
        assert not asked.called
        assert f'name="{prefix}tiktok_privacy"' not in page.content.decode()
        assert f'id="tiktok-panel-{channel.pk}"' in page.content.decode()
        # Chosen with choices already made: the panel comes back with them, read afresh.
        chosen = {prefix + k: v for k, v in CHOSEN.items()}
        shown = client.post(panel_url(channel), {"channels": [channel.pk], **chosen})
        assert asked.call_count == 1
        html = shown.content.decode()
        assert '<option value="MUTUAL_FOLLOW_FRIENDS" selected>' in html
        assert (
            f'id="{prefix}tiktok_consent" name="{prefix}tiktok_consent" value="on" checked' in html
        )
        # Left out: the panel goes, what was chosen is kept hidden; TikTok is not asked.
        gone = client.post(panel_url(channel), chosen)
        assert asked.call_count == 1
    html = gone.content.decode()
    assert "Posting to TikTok" not in html
    assert (
        f'<input type="hidden" name="{prefix}tiktok_privacy" value="MUTUAL_FOLLOW_FRIENDS">' in html
    )
    assert f'<input type="hidden" name="{prefix}tiktok_consent" value="on">' in html


def test_the_panel_is_for_members_who_write(team, client_for, channel: Channel) -> None:
    with respx.mock(assert_all_called=False) as api:
        asked = api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        refused = client_for(team["viewer"]).post(panel_url(channel), {"channels": [channel.pk]})
    assert refused.status_code == 403
    assert not asked.called


def test_submitting_without_the_choices_is_refused_in_place(
    team, client_for, channel: Channel
) -> None:
    with respx.mock(assert_all_called=False) as api:
        api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        response = client_for(team["content"]).post(compose_url(), {**form(channel), "submit": "1"})
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    assert "TikTok: choose who can see the post (there is no default)." in html
    assert "Music Usage Confirmation" in html
    assert 'value="Les coulisses du défilé"' in html or "Les coulisses du défilé" in html
    assert not Publication.objects.filter(state="scheduled").exists()


def test_the_choices_are_kept_with_the_channels_version(team, client_for, channel: Channel) -> None:
    prefix = f"v{channel.pk}-"
    chosen = {prefix + k: v for k, v in CHOSEN.items()}
    with respx.mock(assert_all_called=False) as api:
        api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        response = client_for(team["content"]).post(
            compose_url(), {**form(channel), **chosen, "save": "1"}
        )
    assert response.status_code == 302
    publication = Publication.objects.get(channel=channel)
    assert publication.network_options == CHOSEN
    problems = actions.publication_problems(publication)
    assert not any("choose who can see" in p or "Music Usage" in p for p in problems), problems
    # Shown again as chosen when the post is opened.
    with respx.mock(assert_all_called=False) as api:
        api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        page = client_for(team["content"]).get(
            reverse("post_edit", kwargs={"ws": "acme", "pk": publication.post_id})
        )
    html = page.content.decode()
    assert '<option value="MUTUAL_FOLLOW_FRIENDS" selected>' in html
    assert f'id="{prefix}tiktok_consent" name="{prefix}tiktok_consent" value="on" checked' in html


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_post_to_tiktok_from_the_composer(team, client_for, channel, role) -> None:
    prefix = f"v{channel.pk}-"
    chosen = {prefix + k: v for k, v in CHOSEN.items()}
    with respx.mock(assert_all_called=False) as api:
        api.post(CREATOR_INFO).mock(return_value=answer("creator_info.json"))
        response = client_for(team[role]).post(
            compose_url(), {**form(channel), **chosen, "save": "1"}
        )
    if "post.create" in MATRIX[role]:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        assert not Publication.objects.exists()
