"""One post for eight channels through the composer (issue 11, "done when": seven at least).

Facebook, Instagram, LinkedIn, X, YouTube and TikTok each answer from their stateful fake on loopback
(the same fakes as their contract suites, counting every POST), beside a sandbox channel and a
manual channel. A manager writes one post in the browser, adds a picture and a video to the
library from the composer, gives YouTube and TikTok the video and every other channel the picture, sees
every channel's live check pass, and schedules it. The worker sends it: each network received
exactly one publishing call, and the manual channel's owner is reminded instead.

Elements are found by name, id and data attributes, never by visible text.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portevoix.channels import actions as channel_actions
from portevoix.channels import clients
from portevoix.channels.models import Channel
from portevoix.networks import linkedin, meta, tiktok, x, youtube
from portevoix.publishing.models import Post, Publication
from portevoix.sandbox import service
from portevoix.worker import runner
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.images import image_bytes
from tests.media.test_media import mp4
from tests.networks import fake_linkedin, fake_x
from tests.networks.fake_facebook import FakeGraph, FakeGraphServer
from tests.networks.fake_linkedin import FakeLinkedIn
from tests.networks.fake_tiktok import CLIENT_KEY, CLIENT_SECRET, FakeTikTok
from tests.networks.fake_x import FakeX
from tests.networks.fake_youtube import FakeYouTube


@dataclass
class Fakes:
    graph: FakeGraphServer
    linkedin: FakeLinkedIn
    x: FakeX
    youtube: FakeYouTube
    tiktok: FakeTikTok


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    before = meta.app()
    clients.clear()
    with (
        FakeGraphServer(FakeGraph(fetch_media=True)) as graph,
        FakeLinkedIn() as li,
        FakeX() as xx,
        FakeYouTube(client_secret="secret-1").running() as yt,
        FakeTikTok().running() as tt,
    ):
        graph.graph.add_page("500600700", "Lumière & Co", "lumiereco", "page-token-7-fb")
        graph.graph.add_ig_user("17841400000000555", "lumiere.co", "500600700")
        meta.configure(
            app_id=graph.graph.app_id,
            app_secret=graph.graph.app_secret,
            graph_url=graph.url,
            dialog_url=graph.url,
        )
        monkeypatch.setattr(linkedin, "DEFAULT_API_URL", li.base_url)
        monkeypatch.setattr(linkedin, "DEFAULT_AUTH_URL", li.base_url + "/oauth/v2")
        monkeypatch.setattr(x, "DEFAULT_API_URL", xx.base_url)
        monkeypatch.setattr(youtube.YouTubeNetwork, "api_root", yt.url)
        monkeypatch.setattr(youtube.YouTubeNetwork, "token_uri", yt.token_uri)
        monkeypatch.setattr(youtube.YouTubeNetwork, "auth_uri", yt.auth_uri)
        monkeypatch.setattr(youtube, "LEDGER", youtube.QuotaLedger())
        monkeypatch.setattr(tiktok.TikTokNetwork, "api_url", tt.url)
        monkeypatch.setattr(tiktok.TikTokNetwork, "auth_url", tt.auth_url)
        try:
            yield Fakes(graph, li, xx, yt, tt)
        finally:
            meta.configure(
                app_id=before.app_id,
                app_secret=before.app_secret,
                graph_url=before.graph_url,
                dialog_url=before.dialog_url,
            )
            clients.clear()


def connect_every_network(team: Team, fakes: Fakes) -> dict[str, Channel]:
    admin = team["admin"]

    def connect(network: str, name: str, credentials: dict[str, str], **extra: object) -> Channel:
        return channel_actions.connect_channel(
            team.workspace,
            by=admin,
            network=network,
            credentials=credentials,
            name=name,
            **extra,  # type: ignore[arg-type]
        )

    account = service.create_account("acme-bac-a-sable", workspace=team.workspace)
    return {
        "facebook": connect(
            "facebook",
            "Facebook",
            {"page_id": "500600700", "page_access_token": "page-token-7-fb"},
        ),
        "instagram": connect(
            "instagram",
            "Instagram",
            {"ig_user_id": "17841400000000555", "page_access_token": "page-token-7-fb"},
        ),
        "linkedin": connect(
            "linkedin",
            "LinkedIn",
            {"access_token": fake_linkedin.GOOD_TOKEN, "organization_id": fake_linkedin.ORG_ID},
        ),
        "x": connect("x", "X", {"access_token": fake_x.GOOD_TOKEN}),
        "youtube": connect(
            "youtube",
            "YouTube",
            {"client_id": "client-1", "client_secret": "secret-1", "refresh_token": "refresh-1"},
        ),
        "tiktok": connect(
            "tiktok",
            "TikTok",
            {
                "client_key": CLIENT_KEY,
                "client_secret": CLIENT_SECRET,
                "access_token": "act.good-tiktok-token",
                "expires_at": (timezone.now() + dt.timedelta(hours=20)).isoformat(),
                "refresh_token": "rft.good-tiktok-refresh",
                "audited": "yes",
            },
        ),
        "sandbox": connect("sandbox", "Bac à sable", service.credentials_for(account)),
        "manual": connect(
            "manual",
            "Snapchat",
            {"label": "Snapchat", "account": "acme"},
            owner=team["content"].user,
        ),
    }


def settle(page: Page, field: str, value: str) -> None:
    """Type into a field and wait for the autosave it triggers (3 s after the last change):
    then no debounced request is left to be cut off by the navigation that follows."""
    with page.expect_response(lambda r: "/compose/autosave/" in r.url, timeout=20_000):
        page.locator(field).fill(value)


def test_one_post_for_eight_channels_goes_through_the_composer(
    browse: Browse, live_team: Team, fakes: Fakes, tmp_path: Path
) -> None:
    channels = connect_every_network(live_team, fakes)
    picture = tmp_path / "vitrine.jpg"
    picture.write_bytes(image_bytes("JPEG", size=(1200, 1200)))
    film = tmp_path / "coulisses.mp4"
    film.write_bytes(mp4(30.0))

    page = browse.page("manager")
    login(page, "manager@acme.test")
    visit(page, "/w/acme/calendar/compose/")
    page.locator("#c-title").fill("Sept réseaux")
    page.locator("#c-text").fill("La nouvelle vitrine de Lumière, en images et en vidéo.")
    for channel in channels.values():
        page.locator(f"#ch-{channel.pk}").check()
    page.locator("#composer-upload").set_input_files([str(picture), str(film)])
    expect(page.locator("#library-choice input[name=media]:checked")).to_have_count(2)
    # Saved as a draft, the composer lists the post's media in each channel's version.
    settle(page, "#c-title", "Sept réseaux")
    with page.expect_navigation():
        page.locator("button[name=save]").click()
    post = Post.objects.get(title="Sept réseaux")
    assets = {m.asset.name: m.asset.pk for m in post.media.select_related("asset")}
    image_id, video_id = assets["vitrine.jpg"], assets["coulisses.mp4"]

    # YouTube takes the video alone; every other channel the picture alone.
    for network, channel in channels.items():
        own = video_id if network in {"youtube", "tiktok"} else image_id
        variant = page.locator(f"#ch-{channel.pk}").locator("xpath=../..")
        details = variant.locator("details.variant-body")
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        variant.locator(f"#v{channel.pk}-own_media").check()
        variant.locator(f"#v{channel.pk}-m{own}").check()
    page.locator(f"#v{channels['x'].pk}-text").fill("La nouvelle vitrine, en images.")
    # TikTok's required choices (its audit's UX rules): who sees it, chosen, and the consent.
    tt = channels["tiktok"].pk
    expect(page.locator(f"#v{tt}-tiktok_privacy")).to_have_value("")
    page.locator(f"#v{tt}-tiktok_privacy").select_option("PUBLIC_TO_EVERYONE")
    page.locator(f"#v{tt}-tiktok_comment").check()
    page.locator(f"#v{tt}-tiktok_consent").check()

    # Every channel's live check passes, one card each.
    expect(page.locator("#checks .check-card")).to_have_count(8, timeout=20_000)
    expect(page.locator("#checks .check-card.ok")).to_have_count(8, timeout=20_000)
    if os.environ.get("PV_SCREENSHOTS_PUBLISHING"):
        page.screenshot(
            path=f"{os.environ['PV_SCREENSHOTS_PUBLISHING']}/composer-seven.png", full_page=True
        )
    page.locator("#when-now").check()
    settle(page, "#c-title", "Sept réseaux")
    with page.expect_navigation():
        page.locator("button[name=submit]").click()
    expect(page.locator(".message-success")).to_be_visible()
    publications = {p.channel.network: p for p in post.publications.select_related("channel")}
    assert set(publications) == set(channels)
    assert {p.state for p in publications.values()} == {"scheduled"}

    # The worker sends it.
    now = timezone.now()
    Publication.objects.filter(post=post).update(scheduled_at=now, next_attempt_at=now)
    for _ in range(12):
        if not runner.run_once([Publication]):
            break
    states = {p.channel.network: p.state for p in post.publications.select_related("channel")}
    assert states == {
        "facebook": "published",
        "instagram": "published",
        "linkedin": "published",
        "x": "published",
        "youtube": "published",
        "tiktok": "published",
        "sandbox": "published",
        "manual": "waiting_manual",
    }, {p.channel.network: (p.state, p.problem) for p in post.publications.all()}

    # What reached each network: one publishing call each, with its own media.
    graph = fakes.graph.graph
    # Facebook: the picture uploaded unpublished, then one feed post that shows it.
    assert graph.posts["500600700/photos"] == 1
    assert graph.posts["500600700/feed"] == 1
    assert graph.posts["17841400000000555/media_publish"] == 1
    assert [f for f in graph.fetched if "/public/media/" in f]  # Instagram fetched the picture
    assert len(fakes.linkedin.state.posts) == 1
    assert fakes.linkedin.state.images  # the picture was uploaded to LinkedIn
    assert [p["text"] for p in fakes.x.state.posts] == ["La nouvelle vitrine, en images."]
    assert fakes.x.state.post_requests == 1
    assert fakes.youtube.posts["/upload/youtube/v3/videos"] == 1
    assert len(fakes.youtube.videos) == 1
    assert fakes.tiktok.init_posts == 1
    assert publications["tiktok"].network_options["tiktok_privacy"] == "PUBLIC_TO_EVERYONE"

    # The calendar shows the post with a state for each of its eight channels.
    visit(page, "/w/acme/calendar/?view=list")
    card = page.locator(f".plan-item[data-post='{post.pk}']")
    expect(card.locator(".badge.state-published")).to_have_count(7)
