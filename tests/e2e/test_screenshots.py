"""The main pages of the demo, in a real browser; screenshots for the docs on request.

    PV_SCREENSHOTS=docs/screenshots ./dev e2e -k screenshots

(``PV_``, not ``PORTEVOIX_``: the settings refuse unknown ``PORTEVOIX_*`` variables.)

Without the variable the test still opens every page and fails on an error status, a
JavaScript error or a failed request, so it guards the demo in CI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from portevoix.core import demo
from portevoix.core.models import Member
from tests.e2e.conftest import PHONE, Browse, login, visit

DEMO_LOGIN = "sophie@lumiere.demo"  # Social Media Manager: sees the team and the audit log


def shots_dir() -> Path | None:
    # PORTEVOIX_SCREENSHOTS too, for ./dev shots, should the settings ever accept it.
    folder = os.environ.get("PV_SCREENSHOTS") or os.environ.get("PORTEVOIX_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shoot(page: Page, name: str, folder: Path | None) -> None:
    # Wait until web fonts and Alpine have settled, so the picture is the page people see.
    page.evaluate("document.fonts.ready.then(() => true)")
    if folder is not None:
        page.screenshot(path=folder / f"{name}.png", animations="disabled", caret="hide")


def test_demo_pages(browse: Browse, demo_site: demo.DemoResult) -> None:
    folder = shots_dir()
    slug = demo_site.workspace.slug
    lucas = Member.objects.get(workspace__slug=slug, user__email="lucas@lumiere.demo")
    from portevoix.inbox import actions as inbox_actions
    from portevoix.inbox.models import HandOff, HandOffState

    # The demo's hand-off answered by customer service; one waiting, with a link for a rep.
    answered = HandOff.objects.filter(
        conversation__workspace__slug=slug, state=HandOffState.ANSWERED
    ).first()
    waiting = HandOff.objects.filter(
        conversation__workspace__slug=slug, state=HandOffState.OPEN
    ).first()
    assert answered is not None and waiting is not None, "the demo hands conversations off"
    _, token = inbox_actions.issue_handoff_link(waiting, by=lucas, recipient="Marc (ventes)")

    page = browse.page("desktop")
    visit(page, "/accounts/login/")
    expect(page.locator(".demo-logins")).to_be_visible()
    shoot(page, "login", folder)

    login(page, DEMO_LOGIN, demo.PASSWORD)
    expect(page).to_have_url(re.compile(rf"/w/{slug}/$"))
    pages = [
        ("workspace-home", f"/w/{slug}/"),
        ("attention", f"/w/{slug}/attention/"),
        ("notifications", f"/w/{slug}/notifications/"),
        ("team", f"/w/{slug}/team/"),
        ("member", f"/w/{slug}/team/members/{lucas.pk}/"),
        ("invitations", f"/w/{slug}/team/invitations/"),
        ("roles", f"/w/{slug}/team/roles/"),
        ("audit-log", f"/w/{slug}/settings/audit/"),
        ("inbox", f"/w/{slug}/inbox/"),
        ("inbox-conversation", f"/w/{slug}/inbox/c/{answered.conversation_id}/"),
        ("inbox-approval", f"/w/{slug}/inbox/?queue=approval"),
        ("inbox-setup", f"/w/{slug}/inbox/setup/"),
        ("calendar", f"/w/{slug}/calendar/"),
        ("channels", f"/w/{slug}/settings/channels/"),
        ("channel-connect", f"/w/{slug}/settings/channels/connect/"),
    ]
    for name, path in pages:
        visit(page, path)
        expect(page.locator("main#main")).to_be_visible()
        shoot(page, name, folder)

    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, DEMO_LOGIN, demo.PASSWORD)
    visit(phone, f"/w/{slug}/team/")
    shoot(phone, "team-phone", folder)
    visit(phone, f"/w/{slug}/inbox/")
    shoot(phone, "inbox-phone", folder)
    visit(phone, f"/w/{slug}/attention/")
    shoot(phone, "attention-phone", folder)
    visit(phone, f"/w/{slug}/inbox/c/{answered.conversation_id}/")
    shoot(phone, "inbox-conversation-phone", folder)

    # The hand-off link, in a browser without an account, on a desk and on a phone.
    outside = browse.page("outside")
    visit(outside, f"/h/{token}/")
    expect(outside.locator("textarea[name=text]")).to_be_visible()
    shoot(outside, "handoff-link", folder)
    visit(outside, f"/h/{token}/")  # the same browser
    outside.set_viewport_size(PHONE)
    shoot(outside, "handoff-link-phone", folder)

    browse.check()
