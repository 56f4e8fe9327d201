"""The composer's TikTok panel follows the channels chosen: it comes, read live from the
creator's account (the stateful fake TikTok on loopback, ``tests/networks/fake_tiktok.py``),
when a TikTok channel is added to the post, goes when it is left out, and comes back with the
choices made and the creator's options read afresh, while what was typed elsewhere stays.
In French, then in English."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portevoix.channels import actions as channel_actions
from portevoix.channels import clients
from portevoix.channels.models import Channel
from portevoix.networks import tiktok
from portevoix.sandbox import service
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.networks.fake_tiktok import CLIENT_KEY, CLIENT_SECRET, FakeTikTok


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    clients.clear()
    with FakeTikTok().running() as server:
        monkeypatch.setattr(tiktok.TikTokNetwork, "api_url", server.url)
        monkeypatch.setattr(tiktok.TikTokNetwork, "auth_url", server.auth_url)
        yield server
    clients.clear()


def connect(team: Team) -> tuple[Channel, Channel]:
    admin = team["admin"]
    tt = channel_actions.connect_channel(
        team.workspace,
        by=admin,
        network="tiktok",
        name="TikTok Lumière",
        credentials={
            "client_key": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "access_token": "act.good-tiktok-token",
            "expires_at": (timezone.now() + dt.timedelta(hours=20)).isoformat(),
            "refresh_token": "rft.good-tiktok-refresh",
            "audited": "yes",
        },
    )
    account = service.create_account("acme-bac-a-sable", workspace=team.workspace)
    sandbox = channel_actions.connect_channel(
        team.workspace,
        by=admin,
        network="sandbox",
        name="Bac à sable",
        credentials=service.credentials_for(account),
    )
    return tt, sandbox


def shots(tmp_path: Path) -> Path:
    where = os.environ.get("PV_SCREENSHOTS_PUBLISHING")
    return Path(where) if where else tmp_path


def test_the_tiktok_panel_follows_the_channels_chosen(
    browse: Browse, live_team: Team, fake: FakeTikTok, tmp_path: Path
) -> None:
    tt, sandbox = connect(live_team)
    asked_at_start = fake.posts["/v2/post/publish/creator_info/query/"]
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, "/w/acme/calendar/compose/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    panel = page.locator(f"#tiktok-panel-{tt.pk}")
    choices = panel.get_by_test_id(f"tiktok-choices-{tt.pk}")
    # No TikTok channel chosen: no panel, and TikTok was not asked.
    expect(choices).to_have_count(0)
    assert fake.posts["/v2/post/publish/creator_info/query/"] == asked_at_start

    page.locator("#c-text").fill("Les coulisses du défilé, en vidéo.")
    page.locator(f"#ch-{sandbox.pk}").check()
    page.locator(f"#ch-{tt.pk}").check()
    # Chosen: the panel comes, read live from the creator's account, nothing chosen for them.
    expect(choices).to_be_visible()
    expect(choices.locator("legend")).to_have_text(
        "Publication sur TikTok en tant que Lumière Paris"
    )
    privacy = page.locator(f"#v{tt.pk}-tiktok_privacy")
    expect(privacy).to_have_value("")
    expect(page.locator(f"#v{tt.pk}-tiktok_stitch")).to_be_disabled()  # turned off by the creator
    privacy.select_option("MUTUAL_FOLLOW_FRIENDS")
    page.locator(f"#v{tt.pk}-tiktok_comment").check()
    page.locator(f"#v{tt.pk}-tiktok_consent").check()
    # The live checks read the choices of the panel: nothing left to choose for TikTok.
    card = page.locator("#checks .check-card", has_text="TikTok Lumière")
    expect(card).to_be_visible(timeout=20_000)
    expect(card).not_to_contain_text("choisissez qui peut voir", timeout=20_000)
    expect(card).not_to_contain_text("confirmez que vous acceptez", timeout=20_000)
    page.screenshot(path=str(shots(tmp_path) / "composer-tiktok-panel-fr.png"), full_page=True)

    # Left out: the panel goes; the rest of the post stays as typed.
    page.locator(f"#ch-{tt.pk}").uncheck()
    expect(choices).to_have_count(0)
    expect(page.locator("#c-text")).to_have_value("Les coulisses du défilé, en vidéo.")
    expect(page.locator(f"#ch-{sandbox.pk}")).to_be_checked()

    # The creator changes their name on TikTok; chosen again, the panel reads it afresh and
    # brings back what was chosen.
    fake.creator["creator_nickname"] = "Lumière Paris officiel"
    page.locator(f"#ch-{tt.pk}").check()
    expect(choices.locator("legend")).to_have_text(
        "Publication sur TikTok en tant que Lumière Paris officiel"
    )
    expect(privacy).to_have_value("MUTUAL_FOLLOW_FRIENDS")
    expect(page.locator(f"#v{tt.pk}-tiktok_comment")).to_be_checked()
    expect(page.locator(f"#v{tt.pk}-tiktok_consent")).to_be_checked()
    expect(page.locator("#c-text")).to_have_value("Les coulisses du défilé, en vidéo.")

    # English: the same panel, in the other language.
    with page.expect_navigation():
        page.locator("form.language button[name=language]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    visit(page, "/w/acme/calendar/compose/")
    expect(choices).to_have_count(0)
    page.locator(f"#ch-{tt.pk}").check()
    expect(choices.locator("legend")).to_have_text("Posting to TikTok as Lumière Paris officiel")
    expect(choices).to_contain_text("Who can see this video")
    expect(page.locator(f"#v{tt.pk}-tiktok_privacy")).to_have_value("")
    page.screenshot(path=str(shots(tmp_path) / "composer-tiktok-panel-en.png"), full_page=True)
    page.locator(f"#ch-{tt.pk}").uncheck()
    expect(choices).to_have_count(0)
