"""A manager connects the company's TikTok account in the browser, through a fake TikTok
authorisation page on loopback (``tests/networks/fake_tiktok.py``); the module's endpoints
are pointed at it, as a deployment could point them at a proxy."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portevoix.channels import clients
from portevoix.channels.models import Channel
from portevoix.networks import tiktok
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, visit
from tests.networks.fake_tiktok import CLIENT_KEY, CLIENT_SECRET, OPEN_ID, FakeTikTok


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    clients.clear()
    with FakeTikTok().running() as server:
        monkeypatch.setattr(tiktok.TikTokNetwork, "api_url", server.url)
        monkeypatch.setattr(tiktok.TikTokNetwork, "auth_url", server.auth_url)
        yield server
    clients.clear()


def test_connect_a_tiktok_account_in_the_browser(
    browse: Browse, live_team: Team, fake: FakeTikTok, tmp_path: Path
) -> None:
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    card = page.locator("[data-network=tiktok]")
    expect(card).to_be_visible()
    with page.expect_navigation():
        card.locator("a:not(.btn-primary)").click()
    expect(page.get_by_test_id("oauth-callback")).to_contain_text("/oauth/callback/")
    # What an unaudited app may do is said before anyone signs in.
    expect(page.get_by_test_id("tiktok-audit")).to_be_visible()
    page.screenshot(path=str(tmp_path / "tiktok-connect-1280.png"), full_page=True)
    page.locator("input[name=oauth-client_key]").fill(CLIENT_KEY)
    page.locator("input[name=channel-name]").fill("Lumière TikTok")
    # The app's secret missing: the browser does not send the form.
    expect(page.locator("input[name=oauth-client_secret]")).to_have_attribute("required", "")
    page.locator("main form button[type=submit]").click()
    assert "/oauth/" in page.url and not fake.requests
    page.locator("input[name=oauth-client_secret]").fill(CLIENT_SECRET)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # TikTok's authorisation page (the fake), then back to Porte-voix.
    expect(page.locator("h1")).to_contain_text("TikTok")
    with page.expect_navigation():
        page.locator("#allow").click()
    # Coming back trades the code, reads the account and its options: slow on a busy machine.
    expect(page.locator("h1")).to_have_text("Lumière TikTok", timeout=20_000)
    expect(page.locator("[data-health=ok]")).to_be_visible()
    expect(page.get_by_test_id("uploads-private")).to_contain_text("TikTok")
    assert CLIENT_SECRET not in page.content()
    page.screenshot(path=str(tmp_path / "tiktok-connected-1280.png"), full_page=True)

    channel = Channel.objects.get(network="tiktok")
    assert channel.account_id == OPEN_ID and channel.handle == "@lumiere.paris"
    assert channel.get_credentials().get("refresh_token") in fake.refresh_tokens
    assert fake.posts["/v2/oauth/token/"] == 1

    phone = browse.page("phone", viewport=PHONE)
    login(phone, "manager@acme.test")
    visit(phone, "/w/acme/settings/channels/connect/tiktok/oauth/")
    phone.screenshot(path=str(tmp_path / "tiktok-connect-390.png"), full_page=True)
    visit(phone, f"/w/acme/settings/channels/{channel.pk}/")
    phone.screenshot(path=str(tmp_path / "tiktok-connected-390.png"), full_page=True)
    if keep := os.environ.get("PV_KEEP_SHOTS"):
        shutil.copytree(tmp_path, keep, dirs_exist_ok=True)
