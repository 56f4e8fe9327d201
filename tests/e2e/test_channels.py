"""A user connects channels from the browser and posts to them with the CLI.

The Bluesky test runs against the real reference servers of ``@atproto/dev-env`` started on
loopback by ``tests/networks/conftest.py``.
"""

from __future__ import annotations

import argparse
import io

import pytest
from playwright.sync_api import expect

from portevoix.channels import cli as channels_cli
from portevoix.channels.models import Channel
from portevoix.cli import build_parser
from portevoix.publishing.models import Publication
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit, watch_of
from tests.networks.conftest import DevEnv, bluesky_devenv  # noqa: F401 - fixture


def cli(*argv: str) -> tuple[int, str, str]:
    args: argparse.Namespace = build_parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    return channels_cli.run(args, out, err), out.getvalue(), err.getvalue()


def test_connect_a_sandbox_channel_and_post_with_the_cli(browse: Browse, live_team: Team) -> None:
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    page.locator("[data-network=sandbox] a.btn-primary").click()
    page.locator("input[name=cred-handle]").fill("acme-photos")
    page.locator("input[name=channel-name]").fill("Photos")
    page.locator("select[name=channel-owner_department]").select_option(label="Marketing")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Photos")
    expect(page.locator("[data-health=ok]")).to_be_visible()

    code, _out, err = cli("post", "--workspace", "acme", "--channel", "Photos", "Bonjour 🌸")
    assert code == 0, err
    page.reload()
    expect(page.locator("tr[data-state=published]")).to_have_count(1)


@pytest.mark.bluesky
def test_connect_bluesky_from_the_browser_and_post_with_the_cli(
    browse: Browse,
    live_team: Team,
    bluesky_devenv: DevEnv,  # noqa: F811
) -> None:
    account = bluesky_devenv.account("brand")
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/bluesky/")
    page.locator("input[name=cred-pds_url]").fill(bluesky_devenv.pds_url)
    page.locator("input[name=cred-handle]").fill(account["handle"])
    page.locator("input[name=cred-app_password]").fill("not-the-password")
    with watch_of(page).expect_status(400), page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # A wrong app password: a clear message in place, nothing saved, the address kept.
    expect(page.locator(".form-errors, .error").first).to_be_visible()
    assert page.locator("input[name=cred-pds_url]").input_value() == bluesky_devenv.pds_url
    assert not Channel.objects.exists()

    page.locator("input[name=cred-app_password]").fill(account["app_password"])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-health=ok]")).to_be_visible()
    channel = Channel.objects.get(network="bluesky")
    assert account["app_password"] not in page.content()

    code, out, err = cli(
        "post",
        "--workspace",
        "acme",
        "--channel",
        channel.name,
        "Bonjour Bluesky, depuis Porte-voix",
    )
    assert code == 0, err + out
    publication = Publication.objects.get(channel=channel)
    assert publication.state == "published" and publication.network_post_id.startswith("at://")

    # The record really is on the PDS, once, and publishing again with the same key changes nothing.
    from atproto import Client

    client = Client(base_url=bluesky_devenv.pds_url)
    client.login(account["handle"], account["app_password"], fetch_bsky_profile=False)  # type: ignore[call-arg]
    records = client.com.atproto.repo.list_records(
        {"repo": channel.account_id, "collection": "app.bsky.feed.post"}
    ).records
    texts = [r.value.text for r in records]
    assert texts.count("Bonjour Bluesky, depuis Porte-voix") == 1
    page.reload()
    expect(page.locator("tr[data-state=published]")).to_have_count(1)
    assert publication.url and publication.url in out  # the CLI printed where the post is
