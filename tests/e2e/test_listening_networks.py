"""Listening from X in a real browser (issue 11, listening as far as the API allows): a manager
adds an X recent-search source with the workspace's X channel, sees what X is asked and what is
filtered here; the worker reads it (recorded answers: X without a paid plan) and the page says
so in the reader's language, while the source of another kind reads on."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import respx
from playwright.sync_api import expect

from portevoix.channels.models import Channel
from portevoix.listening import actions
from portevoix.listening.models import ListeningSource
from portevoix.networks.types import Credentials
from portevoix.worker import runner
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit

NOT_ENROLLED = Path(__file__).parent.parent / "networks/fixtures/x/error_403_not_enrolled.json"


def test_a_manager_adds_an_x_source_and_sees_it_needs_a_paid_plan(
    browse: Browse, live_team: Team
) -> None:
    actions.create_query(
        live_team.workspace,
        by=live_team["admin"],
        name="Marque",
        kind="brand",
        text="acme OR lumi*",
    )
    actions.create_query(
        live_team.workspace,
        by=live_team["admin"],
        name="Produit",
        kind="product",
        text='"sérum éclat" lang:fr',
    )
    channel = Channel(
        workspace=live_team.workspace,
        network="x",
        name="X Acme",
        handle="@acme",
        account_id="2244994945",
    )
    channel.set_credentials(Credentials({"access_token": "x-token"}))
    channel.save()

    page = browse.page("manager")
    login(page, "manager@acme.test")
    visit(page, "/w/acme/listening/sources/")
    form = page.locator("main form.stack")
    form.locator("select[name=kind]").select_option("x-search")
    form.locator("select[name=channel]").select_option(str(channel.pk))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator(".message-success")).to_be_visible()
    source = ListeningSource.objects.get(kind="x-search")
    assert source.channel_id == channel.pk and source.target == "all"
    row = page.locator("tr", has_text="Recherche récente X")
    row.locator("summary").click()
    # "acme OR lumi*" cannot be asked (a prefix in an OR): only the product query is.
    expect(row.locator("code")).to_have_text('"serum eclat" lang:fr')
    expect(row).to_contain_text("Non demandé au réseau")
    expect(row).to_contain_text("Marque")

    body = json.loads(NOT_ENROLLED.read_text())
    with respx.mock:
        respx.get("https://api.x.com/2/tweets/search/recent").mock(
            return_value=httpx.Response(body["status"], json=body["body"])
        )
        runner.run_once([ListeningSource])
    source.refresh_from_db()
    assert source.state == "failed"
    visit(page, "/w/acme/listening/sources/")
    row = page.locator("tr", has_text="Recherche récente X")
    expect(row).to_contain_text(
        "Cette application X n’a pas accès à la recherche (offre payante nécessaire)."
    )
    expect(row.locator("button", has_text="Relancer")).to_be_visible()


def test_the_sources_table_fits_a_1280_pixel_screen(browse: Browse, live_team: Team) -> None:
    """The table ran past its card at 1280 px (its last column, the actions, cut off): long
    addresses and searches now wrap in their column, the actions stack."""
    from django.utils import timezone

    from portevoix.listening import sources

    manager = live_team["manager"]
    sources.sandbox_source()
    long_server = "mastodon.une-instance-au-nom-vraiment-tres-long.example.social"
    for kind, target in (
        ("mastodon-tag", "soinsdelapeaunaturels"),
        ("mastodon-search", "lumière cosmétiques sérum éclat"),
    ):
        actions.add_source(
            live_team.workspace, by=manager, kind=kind, url=long_server, target=target, token="t"
        )
    actions.add_source(
        live_team.workspace, by=manager, kind="jetstream",
        url="wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post",
    )  # fmt: skip
    ListeningSource.objects.update(
        lag_seconds=1146, items_read=1_234_567, last_event_at=timezone.now()
    )
    page = browse.page("manager")
    login(page, "manager@acme.test")
    visit(page, "/w/acme/listening/sources/")
    wrap = page.locator(".table-wrap")
    width, room = wrap.evaluate("w => [w.scrollWidth, w.clientWidth]")
    assert width <= room, (width, room)
    expect(page.locator("tbody tr").first).to_contain_text("19 min")
    right = wrap.evaluate("w => w.getBoundingClientRect().right")
    for button in page.locator("tbody button").all():
        assert button.evaluate("b => b.getBoundingClientRect().right") <= right
