"""A manager connects the company's LinkedIn page in the browser, through a fake LinkedIn
authorisation page on loopback (``tests/networks/fake_linkedin.py``), and posts to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portevoix.channels.models import Channel
from portevoix.networks import linkedin
from portevoix.publishing.models import Publication
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, visit
from tests.e2e.test_channels import cli
from tests.networks.fake_linkedin import CLIENT_ID, CLIENT_SECRET, ORG_ID, FakeLinkedIn


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        monkeypatch.setattr(linkedin, "DEFAULT_API_URL", server.base_url)
        monkeypatch.setattr(linkedin, "DEFAULT_AUTH_URL", server.base_url + "/oauth/v2")
        yield server


def test_connect_a_linkedin_page_in_the_browser(
    browse: Browse, live_team: Team, fake: FakeLinkedIn, tmp_path: Path
) -> None:
    shots = tmp_path
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    card = page.locator("[data-network=linkedin]")
    expect(card).to_be_visible()
    with page.expect_navigation():
        card.locator("a:not(.btn-primary)").click()
    expect(page.locator("[data-testid=oauth-callback]")).to_contain_text(
        "/w/acme/settings/channels/oauth/callback/"
    )
    page.screenshot(path=str(shots / "linkedin-connect-1280.png"), full_page=True)

    page.locator("input[name=oauth-organization_id]").fill(ORG_ID)
    page.locator("input[name=channel-name]").fill("Lumière recrute")
    page.locator("input[name=oauth-client_id]").fill(CLIENT_ID)
    # The app's secret missing: the browser does not send the form.
    expect(page.locator("input[name=oauth-client_secret]")).to_have_attribute("required", "")
    page.locator("main form button[type=submit]").click()
    assert "/oauth/" in page.url and not fake.state.requests
    page.locator("input[name=oauth-client_secret]").fill(CLIENT_SECRET)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # LinkedIn's authorisation page (the fake), asking for the page's scopes.
    expect(page.locator("h1")).to_contain_text("Porte-voix would like to access")
    expect(page.locator("body")).to_contain_text("w_organization_social")
    with page.expect_navigation():
        page.locator("#allow").click()
    page.wait_for_url("**/settings/channels/*/")
    expect(page.locator("h1")).to_have_text("Lumière recrute")
    expect(page.locator("[data-health=ok]")).to_be_visible()
    assert CLIENT_SECRET not in page.content()

    channel = Channel.objects.get(network="linkedin")
    assert channel.account_id == f"urn:li:organization:{ORG_ID}"
    assert channel.token_expires_at is not None

    # A post from the CLI reaches the fake LinkedIn once, as the page, hashtag and all.
    code, out, err = cli(
        "post", "--workspace", "acme", "--channel", "Lumière recrute", "On recrute ! #emploi"
    )
    assert code == 0, err + out
    publication = Publication.objects.get(channel=channel)
    assert publication.state == "published"
    assert publication.network_post_id.startswith("urn:li:share:")
    [stored] = fake.state.posts
    assert stored["author"] == f"urn:li:organization:{ORG_ID}"
    assert stored["commentary"] == "On recrute ! {hashtag|\\#|emploi}"
    assert fake.state.post_requests == 1

    phone = browse.page("phone", viewport=PHONE)
    login(phone, "manager@acme.test")
    visit(phone, "/w/acme/settings/channels/connect/linkedin/oauth/")
    phone.screenshot(path=str(shots / "linkedin-connect-390.png"), full_page=True)
    page.screenshot(path=str(shots / "linkedin-connected-1280.png"), full_page=True)
    if keep := __import__("os").environ.get("PV_KEEP_SHOTS"):
        import shutil

        shutil.copytree(shots, keep, dirs_exist_ok=True)
