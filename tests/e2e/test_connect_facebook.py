"""Connecting a Facebook page from the browser, through a fake Facebook Login on loopback.

The fake (``tests/networks/fake_facebook.py``) plays the login dialog, the token exchanges and
the Graph API; Porte-voix is pointed at it through the Meta settings, as an operator would
point it at Meta. Then a post goes out through the worker's path and reaches the fake once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from portevoix.channels.models import Channel
from portevoix.networks import meta
from portevoix.publishing.models import Publication
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.e2e.test_channels import cli
from tests.networks.fake_facebook import FakeGraph, FakeGraphServer


@pytest.fixture
def fake_meta() -> Iterator[FakeGraphServer]:
    before = meta.app()
    with FakeGraphServer(FakeGraph()) as server:
        server.graph.add_page("500600700", "Lumière & Co", "lumiereco", "page-token-e2e-1")
        server.graph.add_page("500600701", "Lumière Recrute", "lumiererecrute", "page-token-e2e-2")
        meta.configure(
            app_id=server.graph.app_id,
            app_secret=server.graph.app_secret,
            graph_url=server.url,
            dialog_url=server.url,
        )
        try:
            yield server
        finally:
            meta.configure(
                app_id=before.app_id,
                app_secret=before.app_secret,
                graph_url=before.graph_url,
                dialog_url=before.dialog_url,
            )


def test_connect_a_facebook_page_with_facebook_login_and_post(
    browse: Browse, live_team: Team, fake_meta: FakeGraphServer
) -> None:
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    card = page.locator("[data-network=facebook]")
    expect(card).to_be_visible()
    with page.expect_navigation():
        card.locator("a[href$='/facebook/oauth/']").click()
    expect(page.locator("label[for=id_oauth-instance_url]")).to_contain_text("Page")
    page.locator("input[name=oauth-instance_url]").fill("Lumière & Co")
    page.locator("input[name=channel-name]").fill("Facebook Lumière")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # The (fake) Facebook Login dialog, on its own origin.
    assert page.url.startswith(fake_meta.url + "/v26.0/dialog/oauth?")
    expect(page.locator("h1")).to_contain_text("Porte-voix wants to manage your pages")
    with page.expect_navigation():
        page.locator("#allow").click()
    expect(page.locator("h1")).to_have_text("Facebook Lumière")
    expect(page.locator("[data-health=ok]")).to_be_visible()
    channel = Channel.objects.get(network="facebook")
    assert channel.account_id == "500600700"
    assert channel.get_credentials().get("page_access_token") == "page-token-e2e-1"
    assert "page-token-e2e-1" not in page.content()

    code, out, err = cli("post", "--workspace", "acme", "--channel", channel.name, "Bonjour !")
    assert code == 0, err + out
    publication = Publication.objects.get(channel=channel)
    assert publication.state == "published"
    assert publication.network_post_id.startswith("500600700_")
    assert fake_meta.graph.posts["500600700/feed"] == 1


def test_facebook_login_with_an_unknown_page_says_which_exist(
    browse: Browse, live_team: Team, fake_meta: FakeGraphServer
) -> None:
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/facebook/oauth/")
    page.locator("input[name=oauth-instance_url]").fill("Autre page")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    with page.expect_navigation():
        page.locator("#allow").click()
    expect(page.locator(".messages, [role=alert]").first).to_contain_text("Lumière Recrute")
    assert not Channel.objects.filter(network="facebook").exists()
