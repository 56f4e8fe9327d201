"""The team features in a real browser: log in, language, invitations, roles, deactivation,
phone layout and keyboard access.

Elements are found by URL, name, id, CSS class and data attributes, never by visible text:
the interface is translated, and its wording changes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portevoix.core.models import Member, User
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, logout, visit, watch_of

LOGIN_URL = re.compile(r"/accounts/login/")
ACME_HOME = re.compile(r"/w/acme/$")


def role_cell(page: Page, member: Member):
    """The role cell of ``member``'s row in the team list."""
    row = page.locator("tbody tr").filter(
        has=page.locator(f'a[href$="/team/members/{member.pk}/"]')
    )
    return row.locator("td[data-role]")


def submit(page: Page, form_selector: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form_selector} button[type=submit]").first.click()


# --- 1. log in ------------------------------------------------------------------------------


def test_log_in_with_email_and_password(page: Page, live_team: Team) -> None:
    login(page, "admin@acme.test")
    expect(page).to_have_url(ACME_HOME)
    expect(page.locator("body.app")).to_be_visible()
    expect(page.locator("#sidenav a.nav-team")).to_be_visible()


def test_wrong_password_stays_on_the_login_page_with_an_error(page: Page, live_team: Team) -> None:
    login(page, "admin@acme.test", "not-the-password")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.locator("main .form-errors[role=alert] .error")).to_be_visible()
    expect(page.locator("body.entrance")).to_be_visible()
    # Nothing was logged in: a workspace page sends back to the login form.
    page.goto("/w/acme/")
    expect(page).to_have_url(LOGIN_URL)


# --- 2. language --------------------------------------------------------------------------


def test_language_switch_is_remembered_on_the_account(
    page: Page, browse: Browse, live_team: Team
) -> None:
    login(page, "content@acme.test")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    submit(page, "form.language:has(button.lang-switch[value=en])")
    expect(page).to_have_url(ACME_HOME)  # back where the switch was pressed
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("button.lang-switch")).to_have_attribute("value", "fr")

    visit(page, "/w/acme/team/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert User.objects.get(email="content@acme.test").language == "en"

    # Logged out and in again in the same browser.
    logout(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    login(page, "content@acme.test")
    expect(page).to_have_url(ACME_HOME)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Another browser, with no cookie and a French Accept-Language: the account decides.
    other = browse.page("other browser")
    visit(other, "/accounts/login/")
    expect(other.locator("html")).to_have_attribute("lang", "fr")
    login(other, "content@acme.test")
    expect(other).to_have_url(ACME_HOME)
    expect(other.locator("html")).to_have_attribute("lang", "en")


# --- 3. invitations -----------------------------------------------------------------------


def test_invited_person_joins_through_the_link(page: Page, browse: Browse, live_team: Team) -> None:
    email = "nouvelle@acme.test"
    login(page, "admin@acme.test")
    visit(page, "/w/acme/team/invitations/")
    form = "main form:has(input[name=email])"
    page.locator(f"{form} input[name=email]").fill(email)
    page.locator(f"{form} select[name=role]").select_option("content")
    submit(page, form)
    expect(page).to_have_url(re.compile(r"/w/acme/team/invitations/$"))
    link = page.locator("input#invitation-link").input_value()
    assert re.search(r"/invitations/[^/]+/$", link), link

    guest = browse.page("invited person")
    visit(guest, link)
    expect(guest.locator("body.entrance")).to_be_visible()
    guest.locator("main input[name=full_name]").fill("Nina Nouvelle")
    guest.locator("main input[name=password]").fill("un-mot-de-passe-solide-42")
    submit(guest, "main form:has(input[name=full_name])")
    expect(guest).to_have_url(ACME_HOME)
    expect(guest.locator(".usermenu .username")).to_have_text("Nina Nouvelle")

    newcomer = Member.objects.get(workspace=live_team.workspace, user__email=email)
    assert newcomer.is_active and newcomer.role == "content"

    visit(page, "/w/acme/team/")
    expect(page.locator("tbody")).to_contain_text(email)
    expect(role_cell(page, newcomer)).to_have_attribute("data-role", "content")

    # The link is used up: opening it again is refused.
    again = browse.page("second use")
    visit(again, link, status=410)


# --- 4. roles -----------------------------------------------------------------------------


def test_admin_changes_a_role(page: Page, live_team: Team) -> None:
    target = live_team["creative"]
    login(page, "admin@acme.test")
    visit(page, "/w/acme/team/")
    expect(role_cell(page, target)).to_have_attribute("data-role", "creative")

    visit(page, f"/w/acme/team/members/{target.pk}/")
    page.locator("main select[name=role]").select_option("analyst")
    submit(page, "main form:has(select[name=role])")
    expect(page).to_have_url(re.compile(rf"/w/acme/team/members/{target.pk}/$"))
    expect(page.locator(".messages .message-success")).to_be_visible()
    expect(page.locator("main select[name=role]")).to_have_value("analyst")

    visit(page, "/w/acme/team/")
    expect(role_cell(page, target)).to_have_attribute("data-role", "analyst")
    target.refresh_from_db()
    assert target.role == "analyst"


def test_last_admin_cannot_demote_themself(page: Page, live_team: Team) -> None:
    admin = live_team["admin"]
    login(page, "admin@acme.test")
    visit(page, f"/w/acme/team/members/{admin.pk}/")
    page.locator("main select[name=role]").select_option("manager")
    with watch_of(page).expect_status(400):
        submit(page, "main form:has(select[name=role])")
    # Shown in place, on the role field, on the same page.
    expect(page).to_have_url(re.compile(rf"/w/acme/team/members/{admin.pk}/$"))
    expect(page.locator("main .field.has-error #id_role_error")).to_be_visible()
    expect(page.locator(".messages .message-success")).to_have_count(0)

    visit(page, "/w/acme/team/")
    expect(role_cell(page, admin)).to_have_attribute("data-role", "admin")
    admin.refresh_from_db()
    assert admin.role == "admin"


# --- 5. deactivation ----------------------------------------------------------------------


def test_deactivation_ends_the_members_open_session(browse: Browse, live_team: Team) -> None:
    target = live_team["creative"]
    theirs = browse.page("member")
    login(theirs, "creative@acme.test")
    expect(theirs).to_have_url(ACME_HOME)

    admin = browse.page("admin")
    login(admin, "admin@acme.test")
    visit(admin, f"/w/acme/team/members/{target.pk}/")
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    admin.on("dialog", accept)
    submit(admin, f"main form[action$='/team/members/{target.pk}/deactivate/']")
    assert dialogs == ["confirm"]
    expect(admin.locator(".messages .message-success")).to_be_visible()
    expect(admin.locator(f"main form[action$='/members/{target.pk}/reactivate/']")).to_be_visible()

    theirs.reload()
    expect(theirs).to_have_url(LOGIN_URL)
    expect(theirs.locator("main input[name=login]")).to_be_visible()
    target.refresh_from_db()
    assert not target.is_active


def test_dismissing_the_confirmation_keeps_the_member(page: Page, live_team: Team) -> None:
    target = live_team["viewer"]
    login(page, "admin@acme.test")
    url = f"/w/acme/team/members/{target.pk}/"
    visit(page, url)
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator(f"main form[action$='/members/{target.pk}/deactivate/'] button").click()
    page.wait_for_timeout(500)  # a submission, had there been one, would be under way
    assert dialogs == ["confirm"]
    expect(page).to_have_url(re.compile(rf"{url}$"))
    expect(page.locator(".messages")).to_have_count(0)
    target.refresh_from_db()
    assert target.is_active


# --- 7. phone -----------------------------------------------------------------------------


def phone_page(browse: Browse) -> Page:
    page = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, "admin@acme.test")
    return page


def test_phone_navigation_is_behind_the_toggle(browse: Browse, live_team: Team) -> None:
    page = phone_page(browse)
    visit(page, "/w/acme/team/")
    toggle = page.locator("button.nav-toggle")
    nav = page.locator("nav#sidenav")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    toggle.click()
    expect(nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.locator("a.nav-team")).to_be_visible()
    toggle.click()
    expect(nav).to_be_hidden()


@pytest.mark.parametrize(
    "path",
    [
        "/w/acme/",
        "/w/acme/settings/audit/",
        "/w/acme/team/",
        "/w/acme/team/invitations/",
        "/w/acme/team/roles/",
    ],
)
def test_no_sideways_scroll_at_phone_width(browse: Browse, live_team: Team, path: str) -> None:
    page = phone_page(browse)
    visit(page, path)
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width + 1, f"{path} scrolls sideways: {scroll_width}px"


def test_desktop_shows_the_navigation_without_a_toggle(page: Page, live_team: Team) -> None:
    login(page, "admin@acme.test")
    expect(page.locator("nav#sidenav")).to_be_visible()
    expect(page.locator("button.nav-toggle")).to_be_hidden()


# --- 8. keyboard --------------------------------------------------------------------------


def test_skip_link_is_the_first_stop(page: Page, live_team: Team) -> None:
    visit(page, "/accounts/login/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_class(re.compile(r"\bskip-link\b"))

    login(page, "admin@acme.test")
    visit(page, "/w/acme/team/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_class(re.compile(r"\bskip-link\b"))
    expect(skip).to_be_in_viewport()  # shown when focused, not left off-screen
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/w/acme/team/#main$"))
    expect(page.locator("main#main")).to_be_focused()


def test_static_assets_load(page: Page, live_team: Team) -> None:
    visit(page, "/accounts/login/")
    for selector, attribute in (
        ("link[rel=stylesheet]", "href"),
        ("link[rel=icon]", "href"),
        ("script[src]", "src"),
        ("header img", "src"),
    ):
        for url in page.locator(selector).evaluate_all(f"els => els.map(e => e.{attribute})"):
            response = page.request.get(url)
            assert response.status == 200, f"{url}: HTTP {response.status}"


def test_the_page_watch_catches_errors(page: Page, live_team: Team) -> None:
    """The guard every other test relies on: it does see errors."""
    visit(page, "/accounts/login/")
    watch = watch_of(page)
    page.evaluate("console.error('deliberate console error')")
    page.evaluate("setTimeout(() => { throw new Error('deliberate uncaught error') }, 0)")
    page.evaluate("fetch('/static/no-such-file.js').catch(() => null)")
    wanted = ("deliberate console error", "deliberate uncaught error", "no-such-file.js")
    for _ in range(50):  # events arrive asynchronously
        found = " | ".join(watch.problems)
        if all(w in found for w in wanted) and "HTTP 404" in found:
            break
        page.wait_for_timeout(100)
    for w in (*wanted, "HTTP 404"):
        assert w in found, found
    watch.problems.clear()
