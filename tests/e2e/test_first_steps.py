"""What a new user stumbled on in the demo, in a real browser (issue 8, section 5).

Language after login, channels in the navigation, the channel page at 1280 px, the account
pages (two-factor, sessions) styled and within a phone's width.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portevoix.channels.models import Channel
from portevoix.core import demo
from portevoix.core.models import User
from tests.e2e.conftest import DESKTOP, PHONE, Browse, Watch, login, visit

SLUG = demo.SLUG


def test_an_english_browser_gets_the_workspaces_language_after_login(
    browse: Browse, demo_site: None, live_server: Any
) -> None:
    assert User.objects.get(email="sophie@lumiere.demo").language == ""  # "workspace default"
    # The session's contexts are French (conftest); this one is an English browser.
    browser = browse.page("opener").context.browser
    assert browser is not None
    context = browser.new_context(locale="en-US", viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    watch = Watch("english browser")
    watch.attach(context)
    context._portevoix_watch = watch  # type: ignore[attr-defined]
    browse.watches.append(watch)
    page = context.new_page()
    visit(page, "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # before login: the browser
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # after: the workspace
    visit(page, "/profile/")  # outside a workspace: the last workspace's language
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    visit(page, f"/w/{SLUG}/calendar/")
    expect(page.locator("#sidenav a.nav-calendar")).to_have_text("Calendrier")


def test_channels_are_in_the_main_navigation(browse: Browse, demo_site: None) -> None:
    page = browse.page()
    login(page, "lucas@lumiere.demo", demo.PASSWORD)
    link = page.locator("#sidenav a.nav-channels")
    expect(link).to_have_text("Canaux")
    with page.expect_navigation():
        link.click()
    expect(page).to_have_url(f"{page.url.split('/w/')[0]}/w/{SLUG}/settings/channels/")
    expect(page.locator("#sidenav a.nav-channels")).to_have_attribute("aria-current", "page")
    channel = Channel.objects.filter(workspace__slug=SLUG).order_by("name").first()
    assert channel is not None
    visit(page, f"/w/{SLUG}/settings/channels/{channel.pk}/")
    expect(page.locator("#sidenav a.nav-channels")).to_have_attribute("aria-current", "page")


def _outside(page: Page, inner: str, outer: str) -> list[str]:
    """Elements matching ``inner`` whose box goes past the right edge of their ``outer``."""
    found: list[str] = page.evaluate(
        """([inner, outer]) => [...document.querySelectorAll(inner)].filter(el => {
               const box = el.closest(outer).getBoundingClientRect();
               const mine = el.getBoundingClientRect();
               return mine.right > box.right + 0.5 || mine.left < box.left - 0.5;
           }).map(el => el.textContent.trim())""",
        [inner, outer],
    )
    return found


def test_the_channel_page_fits_its_cards_at_1280(browse: Browse, demo_site: None) -> None:
    channel = Channel.objects.filter(workspace__slug=SLUG).order_by("name").first()
    assert channel is not None
    page = browse.page()
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    visit(page, f"/w/{SLUG}/settings/channels/{channel.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # The health card: every value (dates, the "Connecté" pill) inside the card.
    assert _outside(page, ".card .facts dd, .card .facts dd .badge", ".card") == []
    # The header's pill keeps its own height, beside the button, not stretched to it.
    pill = page.locator(".page-head .row .badge").first.bounding_box()
    button = page.locator(".page-head .row .btn").first.bounding_box()
    assert pill is not None and button is not None
    assert pill["height"] < button["height"] * 0.8, (pill, button)


@pytest.mark.parametrize("path", ["/accounts/2fa/", "/accounts/sessions/"])
def test_account_pages_are_styled_and_fit_a_phone(
    browse: Browse, demo_site: None, path: str
) -> None:
    page = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    visit(page, path)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.locator("main .card").first).to_be_visible()
    buttons = page.locator("main a.btn, main button.btn")
    assert buttons.count() >= 1
    if path == "/accounts/sessions/":
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('main table')].map(t => t.scrollWidth))"
        )
        assert widest <= PHONE["width"], widest
        expect(page.locator("main table.sessions td[data-label]").first).to_be_visible()
