"""The "Needs attention" page and the notification bell, in a real browser, in French and
English: a post refused by the network is retried, another is marked as published with its
link (a bad link first, kept in the field), and the bell's count goes down as things are read.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portevoix.channels import actions as channel_actions
from portevoix.publishing import actions as publishing
from portevoix.publishing.events import publication_needs_attention
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, visit, watch_of
from tests.e2e.test_accessibility import violations

ATTENTION = "/w/acme/attention/"
NOTIFICATIONS = "/w/acme/notifications/"


def _waiting(team: Team, state: str, text: str, problem: str, **fields: Any) -> Publication:
    channel = team.workspace.channels.first()
    if channel is None:
        account = service.create_account("acme-e2e", workspace=team.workspace, simulate=False)
        channel = channel_actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="sandbox",
            credentials=service.credentials_for(account),
            name="Insta",
        )
    post = publishing.schedule_post(
        team.workspace,
        by=team["content"],
        text=text,
        channels=[channel],
        at=timezone.now() + dt.timedelta(hours=1),
    )
    publication = post.publications.get()
    if state == "needs_check":
        publication.transition("outcome_unknown")
    publication.transition(state, problem=problem, fields=fields or None)
    publication_needs_attention(publication.pk, state)
    return publication


@pytest.fixture
def waiting(live_team: Team) -> dict[str, Publication]:
    return {
        "refused": _waiting(
            live_team,
            "rejected",
            "Coffrets de Noël 🎁",
            "The image is 14.2 MB; this account accepts 8 MB at most.",
        ),
        "unsure": _waiting(
            live_team,
            "needs_check",
            "Le sérum Velours arrive lundi 🌸",
            "Two posts look like this one.",
            sending_at=timezone.now(),
            candidates=[
                {"post_id": "a1", "url": "", "text": "Le sérum Velours arrive lundi 🌸"},
                {"post_id": "b2", "url": "", "text": "Le sérum Velours arrive lundi !"},
            ],
        ),
    }


def shots() -> Path | None:
    folder = os.environ.get("PV_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shoot(page: Page, name: str) -> None:
    folder = shots()
    if folder is not None:
        page.evaluate("document.fonts.ready.then(() => true)")
        page.screenshot(path=folder / f"acme-{name}.png", full_page=True, animations="disabled")


def no_serious_violation(page: Page) -> None:
    found = violations(page)
    assert not found, found


def test_attention_page_in_french_and_english_with_a_retry(
    browse: Browse, live_team: Team, waiting: dict[str, Publication]
) -> None:
    page = browse.page()
    login(page, "content@acme.test")
    # French first (the browser's language): the navigation counts what waits.
    count = page.locator("#sidenav a.nav-attention .nav-count")
    expect(count).to_have_attribute("data-count", "2")
    with page.expect_navigation():
        page.locator("#sidenav a.nav-attention").click()
    expect(page).to_have_url(re.compile(ATTENTION))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text("À traiter")
    refused = page.locator(f"#publication-{waiting['refused'].pk}")
    expect(refused).to_contain_text("accepts 8 MB at most")
    unsure = page.locator(f"#publication-{waiting['unsure'].pk}")
    expect(unsure.locator(".candidate")).to_have_count(2)
    no_serious_violation(page)
    shoot(page, "attention")

    # English: the same page, the other language.
    with page.expect_navigation():
        page.locator("form.language button[name=language]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Needs attention")
    expect(refused.locator("[data-action=retry]")).to_be_visible()

    # Retry the refused post: it leaves the page, and the count goes down.
    with page.expect_navigation():
        refused.locator("[data-action=retry]").click()
    expect(page.locator(".message-success")).to_be_visible()
    expect(page.locator(f"#publication-{waiting['refused'].pk}")).to_have_count(0)
    expect(count).to_have_attribute("data-count", "1")
    publication = Publication.objects.get(pk=waiting["refused"].pk)
    assert publication.state == "scheduled" and publication.late_ok

    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "content@acme.test")
    visit(phone, ATTENTION)
    no_serious_violation(phone)
    shoot(phone, "attention-phone")


def test_mark_as_published_with_its_link_a_bad_link_first(
    browse: Browse, live_team: Team, waiting: dict[str, Publication]
) -> None:
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, ATTENTION)
    pk = waiting["unsure"].pk
    item = page.locator(f"#publication-{pk}")
    item.locator("[data-action=mark-published]").click()
    field = item.locator(f"input[name=pub{pk}-url]")
    field.fill("ftp://files.example/post-42")
    with page.expect_navigation(), watch_of(page).expect_status(400):
        item.locator("details form button[type=submit]").click()
    # Refused in place, with what was typed.
    item = page.locator(f"#publication-{pk}")
    expect(item.locator("details.mark-published")).to_have_attribute("open", "")
    expect(item.locator(f"input[name=pub{pk}-url]")).to_have_value("ftp://files.example/post-42")
    expect(item.locator(".error")).to_be_visible()
    no_serious_violation(page)
    item.locator(f"input[name=pub{pk}-url]").fill("https://social.example/@acme/42")
    with page.expect_navigation():
        item.locator("details form button[type=submit]").click()
    expect(page.locator(f"#publication-{pk}")).to_have_count(0)
    publication = Publication.objects.get(pk=pk)
    assert publication.state == "published"
    assert publication.url == "https://social.example/@acme/42"


def test_the_bells_count_goes_down_as_notifications_are_read(
    browse: Browse, live_team: Team, waiting: dict[str, Publication]
) -> None:
    page = browse.page()
    login(page, "content@acme.test")
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("data-unread", "2")
    expect(bell.locator(".bell-count")).to_have_text("2")
    with page.expect_navigation():
        bell.click()
    expect(page).to_have_url(re.compile(NOTIFICATIONS))
    items = page.locator(".notice-item[data-unread='1']")
    expect(items).to_have_count(2)
    no_serious_violation(page)
    shoot(page, "notifications")

    # Read one: the count goes down to 1.
    with page.expect_navigation():
        items.first.locator("[data-action=read]").click()
    expect(page.locator("#bell")).to_have_attribute("data-unread", "1")

    # Read the other in another tab; the first tab's bell catches up when it polls.
    other = page.context.new_page()
    visit(other, NOTIFICATIONS)
    with other.expect_navigation():
        other.locator("[data-action=read-all]").click()
    expect(other.locator("#bell")).to_have_attribute("data-unread", "0")
    page.evaluate(
        """() => htmx.ajax('GET', document.querySelector('#bell').getAttribute('hx-get'),
                           {target: '#bell', swap: 'outerHTML'})"""
    )
    expect(page.locator("#bell")).to_have_attribute("data-unread", "0")
    expect(page.locator("#bell .bell-count")).to_have_count(0)

    # Opening a notification leads to the post on the attention page.
    with page.expect_navigation():
        page.locator(".notice-item").first.locator("form[action$='/open/'] button").click()
    expect(page).to_have_url(re.compile(rf"{ATTENTION}#publication-\d+$"))

    visit(page, "/w/acme/notifications/preferences/")
    no_serious_violation(page)
    shoot(page, "notification-preferences")
    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "content@acme.test")
    visit(phone, NOTIFICATIONS)
    no_serious_violation(phone)
    shoot(phone, "notifications-phone")
