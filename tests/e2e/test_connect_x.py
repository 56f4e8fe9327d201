"""A manager connects the customer-service X account in the browser, through a fake X
authorisation page on loopback (``tests/networks/fake_x.py``), and posts to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from portevoix.channels.models import Channel
from portevoix.networks import x
from portevoix.publishing.models import Publication
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.e2e.test_channels import cli
from tests.networks.fake_x import CLIENT_ID, CLIENT_SECRET, USER_ID, FakeX


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeX]:
    with FakeX() as server:
        monkeypatch.setattr(x, "DEFAULT_API_URL", server.base_url)
        monkeypatch.setattr(x, "DEFAULT_AUTH_URL", server.base_url + "/i/oauth2/authorize")
        yield server


def test_connect_an_x_account_in_the_browser(browse: Browse, live_team: Team, fake: FakeX) -> None:
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    with page.expect_navigation():
        page.locator("[data-network=x] a:not(.btn-primary)").click()
    page.locator("input[name=oauth-client_id]").fill(CLIENT_ID)
    page.locator("input[name=oauth-client_secret]").fill(CLIENT_SECRET)
    page.locator("input[name=channel-name]").fill("Service client X")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Porte-voix wants to access your X account")
    expect(page.locator("body")).to_contain_text("offline.access")
    with page.expect_navigation():
        page.locator("#allow").click()
    page.wait_for_url("**/settings/channels/*/")
    expect(page.locator("h1")).to_have_text("Service client X")
    # A two-hour token that Porte-voix renews itself: no expiry warning.
    expect(page.locator("[data-health=ok]").first).to_be_visible()
    assert CLIENT_SECRET not in page.content()
    channel = Channel.objects.get(network="x")
    assert channel.account_id == USER_ID and channel.handle == "@lumiere_sav"
    assert channel.get_credentials().get("refresh_token")

    code, out, err = cli("post", "--workspace", "acme", "--channel", "Service client X", "Bonjour")
    assert code == 0, err + out
    publication = Publication.objects.get(channel=channel)
    assert publication.state == "published"
    assert [p["text"] for p in fake.state.posts] == ["Bonjour"]
    assert fake.state.post_requests == 1
