"""The API tokens and webhooks pages in a real browser: a token made, shown once, usable;
screenshots at desktop and phone widths (SCREENSHOTS_DIR, when set, keeps them)."""

from __future__ import annotations

import os

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import Team
from tests.e2e.conftest import PHONE, login, visit


def _shoot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_make_a_token_and_use_it(page: Page, live_team: Team, live_server) -> None:
    login(page, "content@acme.test")
    visit(page, "/w/acme/settings/api/tokens/")
    page.fill("input[name=name]", "CMS")
    page.check("input[name=scopes][value='posts:read']")
    with page.expect_navigation():
        page.locator("main form.stack button[type=submit]").click()
    secret = page.locator("[data-testid=token-secret]").inner_text()
    assert secret.startswith("pvk_")
    _shoot(page, "api-tokens-1280")
    answer = httpx.get(
        f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.json()["email"] == "content@acme.test"
    visit(page, "/w/acme/settings/api/tokens/")
    expect(page.locator("[data-testid=token-secret]")).to_have_count(0)
    page.set_viewport_size(PHONE)
    visit(page, "/w/acme/settings/api/tokens/")
    _shoot(page, "api-tokens-390")


def test_webhooks_pages(page: Page, live_team: Team) -> None:
    from portevoix.api import actions, webhooks

    admin = live_team["admin"]
    subscription, _secret = actions.create_subscription(
        live_team.workspace, by=admin, url="https://crm.example.com/hooks/porte-voix",
        events=["post.published", "post.failed", "conversation.created"], description="CRM",
    )  # fmt: skip
    webhooks.emit(live_team.workspace.pk, "post.failed", "1", {"post_id": 1})
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/webhooks/")
    _shoot(page, "webhooks-1280")
    visit(page, f"/w/acme/settings/webhooks/{subscription.pk}/deliveries/")
    _shoot(page, "webhook-deliveries-1280")
    page.set_viewport_size(PHONE)
    visit(page, "/w/acme/settings/webhooks/")
    _shoot(page, "webhooks-390")
