"""Webcare in a real browser: the team's rules, the rota and the clocks, at desk and phone width.

PV_SCREENSHOTS=docs/screenshots ./dev e2e -k webcare
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from playwright.sync_api import expect

from portevoix.core import demo
from tests.e2e.conftest import PHONE, Browse, login, visit, watch_of
from tests.e2e.test_screenshots import shots_dir

SLUG = demo.SLUG
PARIS = ZoneInfo("Europe/Paris")
PAGES = [
    ("webcare", ""),
    ("webcare-rules", "rules/"),
    ("webcare-hours", "hours/"),
    ("webcare-sla", "sla/"),
    ("webcare-rota", "rota/"),
    ("webcare-metrics", "metrics/"),
]


def shoot(page: Any, name: str, folder: Any) -> None:
    page.evaluate("document.fonts.ready.then(() => true)")
    if folder is not None:
        page.screenshot(path=folder / f"{name}.png", full_page=True, animations="disabled")


def test_webcare_pages_at_desk_and_phone_width(browse: Browse, demo_site: None) -> None:
    folder = shots_dir()
    page = browse.page("desktop")
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    for name, path in PAGES:
        visit(page, f"/w/{SLUG}/webcare/{path}")
        expect(page.locator("main h1")).to_have_text("Webcare")
        shoot(page, name, folder)
    visit(page, f"/w/{SLUG}/webcare/hours/")
    calendar = page.locator("main .card h2 a").first
    calendar.click()
    expect(page).to_have_url(re.compile(r"/webcare/hours/\d+/$"))
    shoot(page, "webcare-calendar", folder)
    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "lucas@lumiere.demo", demo.PASSWORD)
    for name, path in PAGES[:1] + PAGES[4:5] + PAGES[1:2]:
        visit(phone, f"/w/{SLUG}/webcare/{path}")
        shoot(phone, f"{name}-phone", folder)


def test_a_rule_is_written_tried_and_refused_when_it_would_hide_a_complaint(
    browse: Browse, demo_site: None
) -> None:
    page = browse.page()
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    visit(page, f"/w/{SLUG}/webcare/rules/")
    form = page.locator("main form:has(textarea[name=condition])")
    form.locator("input[name=name]").fill("Râleurs")
    form.locator("textarea[name=condition]").fill("ton est negative")
    form.locator("input[name=hide]").check()
    with watch_of(page).expect_status(400), page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Masquer est réservé au spam et aux abus")
    expect(form.locator("textarea[name=condition]")).to_have_value("ton est negative")
    form.locator("input[name=hide]").uncheck()
    form.locator("select[name=priority]").select_option("high")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator(".rule-list")).to_contain_text("Râleurs")
    expect(page.locator(".rule-list")).to_contain_text("ton est negative")
    # Try a message: triage and the rules, nothing stored.
    box = page.locator("#try-box")
    box.locator("textarea[name=text]").fill("C'est combien le coffret Velours ?")
    box.locator("button[type=submit]").click()
    expect(page.locator("#try-box .try-result")).to_contain_text("Prix et promotions")


def test_the_on_duty_member_and_the_closed_team_on_a_saturday_night(
    browse: Browse, transactional_db: None, live_server: Any, settings: Any
) -> None:
    """A message at 21:00 on a Saturday goes to the member on duty; with the team closed, the
    customer gets the automatic reply (through the sandbox, sent once by the worker)."""
    from portevoix.care import actions
    from portevoix.care.models import AfterHours
    from portevoix.channels import actions as channel_actions
    from portevoix.inbox.models import Conversation
    from portevoix.publishing.models import Publication
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxPost
    from portevoix.worker import runner
    from tests.conftest import make_team

    settings.PORTEVOIX_BASE_URL = live_server.url
    saturday = dt.datetime(2026, 6, 13, 21, 0, tzinfo=PARIS)
    with time_machine.travel(saturday - dt.timedelta(hours=1), tick=True):
        team = make_team()
        account = service.create_account("acme-care", workspace=team.workspace, simulate=False)
        channel = channel_actions.connect_channel(
            team.workspace,
            by=team["admin"],
            network="sandbox",
            credentials=service.credentials_for(account),
            name="Instagram",
        )
        channel.handle_active()  # the first sync: nothing yet
        calendar = actions.create_calendar(
            team.workspace,
            by=team["admin"],
            name="Bureau",
            time_zone="Europe/Paris",
            week=actions.parse_week(["09:00-18:00"] * 5 + ["", ""]),
        )
        actions.update_settings(team.workspace, by=team["admin"], calendar=calendar)
        actions.create_policy(
            team.workspace, by=team["admin"], name="Standard", first_response_minutes=60
        )
        actions.create_shifts(
            team.workspace,
            by=team["admin"],
            member=team["content"],
            starts_at=saturday - dt.timedelta(hours=3),
            ends_at=saturday + dt.timedelta(minutes=20),
        )

    def sync() -> None:
        channel.refresh_from_db()
        outcome = channel.handle_active()
        type(channel).objects.filter(pk=channel.pk).update(**outcome.fields)

    with time_machine.travel(saturday, tick=True):
        service.inject_interaction(
            account, "Bonsoir, ma commande n'est pas arrivée", author_handle="client1"
        )
        sync()
        page = browse.page()
        login(page, "content@acme.test")
        visit(page, f"/w/{team.workspace.slug}/webcare/")
        expect(page.locator("#on-duty")).to_contain_text("Permanence")
        expect(page.locator("#on-duty")).to_contain_text("Content Marketer")
        expect(page.locator("main .watch")).to_contain_text("@client1")
        assert Conversation.objects.get().assignee_id == team["content"].pk

    # Later that night nobody is on duty any more, and the team says so.
    later = saturday + dt.timedelta(minutes=40)
    actions.update_settings(team.workspace, by=team["admin"], after_hours=AfterHours.CLOSED)
    with time_machine.travel(later, tick=True):
        service.inject_interaction(
            account,
            "Hello, is anyone there? My parcel is late",
            kind="dm",
            author_handle="john",
            language="en",
        )
        sync()
        visit(page, f"/w/{team.workspace.slug}/webcare/")
        expect(page.locator("#on-duty")).to_contain_text("Clos")
        closed = Conversation.objects.get(customer__handle="john")
        assert closed.assignee_id is None
        text = closed.replies.get().post.text
        assert text.startswith("Thank you for your message! Our team is closed")
        assert "Monday 15 June at 09:00 (Paris time)" in text
        runner.run_once(models=[Publication])
        runner.run_once(models=[Publication])
        received = SandboxPost.objects.filter(account=account, kind="dm")
        assert [post.text for post in received] == [text]  # the customer got it, once
