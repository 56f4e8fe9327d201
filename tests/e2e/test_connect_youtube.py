"""Connecting a YouTube channel in the browser, through a fake Google on loopback.

The fake (``tests/networks/fake_youtube.py``) serves the consent page, the token endpoint and
the Data API; the module's endpoints are pointed at it, as a deployment could point them at
a proxy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from portevoix.channels import clients
from portevoix.channels.models import Channel
from portevoix.networks import youtube
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.networks.fake_youtube import FakeYouTube


@pytest.fixture
def fake_google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeYouTube]:
    clients.clear()
    with FakeYouTube().running() as server:
        monkeypatch.setattr(youtube.YouTubeNetwork, "api_root", server.url)
        monkeypatch.setattr(youtube.YouTubeNetwork, "token_uri", server.token_uri)
        monkeypatch.setattr(youtube.YouTubeNetwork, "auth_uri", server.auth_uri)
        monkeypatch.setattr(youtube, "LEDGER", youtube.QuotaLedger())
        yield server
    clients.clear()


def test_connect_youtube_through_google_consent(
    browse: Browse, live_team: Team, fake_google: FakeYouTube
) -> None:
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    card = page.locator("[data-network=youtube]")
    expect(card).to_be_visible()
    with page.expect_navigation():
        card.get_by_role("link", name="YouTube").last.click()
    # The page says which redirect address to register, and that uploads stay private.
    expect(page.get_by_test_id("oauth-callback")).to_contain_text("/oauth/callback/")
    page.locator("input[name=oauth-client_id]").fill(fake_google.client_id)
    page.locator("input[name=oauth-client_secret]").fill(fake_google.client_secret)
    page.locator("input[name=channel-name]").fill("Conférences")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # Google's consent page (the fake), then back to Porte-voix.
    expect(page.locator("h1")).to_contain_text("YouTube")
    with page.expect_navigation():
        page.locator("#allow").click()
    # Coming back trades the code, reads the channel and stores it: slow on a busy machine.
    expect(page.locator("h1")).to_have_text("Conférences", timeout=20_000)
    expect(page.locator("[data-health=ok]")).to_be_visible()
    channel = Channel.objects.get(network="youtube")
    assert channel.handle == "@lumieretv"
    assert channel.get_credentials().get("refresh_token") in fake_google.refresh_tokens
    assert fake_google.posts["/token"] == 1
