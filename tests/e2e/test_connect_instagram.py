"""Connecting an Instagram professional account from the browser, through the fake Facebook
Login on loopback, then publishing an image: the fake fetches it from Porte-voix's signed
public media address (as Instagram does), and publishes the container once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portevoix.channels.models import Channel
from portevoix.networks import meta
from portevoix.publishing.models import Publication
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.e2e.test_channels import cli
from tests.images import image_bytes
from tests.networks.fake_facebook import FakeGraph, FakeGraphServer


@pytest.fixture
def fake_meta() -> Iterator[FakeGraphServer]:
    before = meta.app()
    with FakeGraphServer(FakeGraph(fetch_media=True)) as server:
        server.graph.add_page("500600700", "Lumière & Co", "lumiereco", "page-token-ig-e2e")
        server.graph.add_ig_user("17841400000000555", "lumiere.co", "500600700")
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


def test_connect_instagram_with_facebook_login_and_publish_an_image(
    browse: Browse, live_team: Team, fake_meta: FakeGraphServer, tmp_path: Path
) -> None:
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    with page.expect_navigation():
        page.locator("[data-network=instagram] a[href$='/instagram/oauth/']").click()
    expect(page.locator("label[for=id_oauth-instance_url]")).to_contain_text("Instagram")
    page.locator("input[name=channel-name]").fill("Instagram Lumière")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.startswith(fake_meta.url + "/v26.0/dialog/oauth?")
    assert "instagram_content_publish" in page.url
    with page.expect_navigation():
        page.locator("#allow").click()
    expect(page.locator("h1")).to_have_text("Instagram Lumière")
    expect(page.locator("[data-health=ok]")).to_be_visible()
    channel = Channel.objects.get(network="instagram")
    assert channel.account_id == "17841400000000555" and channel.handle == "@lumiere.co"
    assert channel.limits.get("daily_posts") == 50  # read from content_publishing_limit

    picture = tmp_path / "vitrine.jpg"
    picture.write_bytes(image_bytes("JPEG"))
    code, out, err = cli(
        "post",
        "--workspace",
        "acme",
        "--channel",
        channel.name,
        "--image",
        str(picture),
        "--alt",
        "La vitrine",
        "La nouvelle vitrine",
    )
    assert code == 0, err + out
    publication = Publication.objects.get(channel=channel)
    assert publication.state == "published", publication.problem
    # The fake fetched the image from the live server's signed public address.
    [fetched] = fake_meta.graph.fetched
    assert "/public/media/" in fetched
    assert fake_meta.graph.posts["17841400000000555/media_publish"] == 1
    [media] = fake_meta.graph.of_type("ig_media")
    assert media["caption"] == "La nouvelle vitrine"
    assert publication.network_post_id == media["id"]
