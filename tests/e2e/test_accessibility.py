"""Automated accessibility checks (axe-core, WCAG 2.1 A and AA) on the main pages.

axe-core is vendored from the npm registry (``tests/e2e/vendor/``, MPL-2.0). It cannot prove a
page accessible, but it catches what regresses most often: missing labels, contrast, landmarks,
names of buttons and links, duplicate ids, language of the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from portevoix.core import demo
from tests.e2e.conftest import PHONE, Browse, login, visit

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
SLUG = demo.SLUG


@pytest.fixture
def demo_site(transactional_db: None, live_server: Any, settings: Any) -> None:
    settings.PORTEVOIX_BASE_URL = live_server.url
    demo.load()


def violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE)
    result = page.evaluate(
        """async () => (await axe.run(document, {
              runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
           })).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return [v for v in result if v["impact"] in {"serious", "critical"}]


PAGES = [
    "/w/{slug}/",
    "/w/{slug}/inbox/",
    "/w/{slug}/calendar/",
    "/w/{slug}/team/",
    "/w/{slug}/team/invitations/",
    "/w/{slug}/team/roles/",
    "/w/{slug}/team/departments/",
    "/w/{slug}/settings/",
    "/w/{slug}/settings/audit/",
    "/w/{slug}/settings/channels/",
    "/w/{slug}/settings/channels/connect/sandbox/",
    "/profile/",
]


def test_main_pages_have_no_serious_violation(browse: Browse, demo_site: None) -> None:
    page = browse.page()
    visit(page, "/accounts/login/")
    found = {"/accounts/login/": violations(page)}
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    for path in PAGES:
        visit(page, path.format(slug=SLUG))
        found[path] = violations(page)
    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "sophie@lumiere.demo", demo.PASSWORD)
    visit(phone, f"/w/{SLUG}/inbox/")
    found["phone inbox"] = violations(phone)
    problems = [
        f"{path}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for path, found_here in found.items()
        for v in found_here
    ]
    assert not problems, "\n".join(problems)
