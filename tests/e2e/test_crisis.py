"""Issue 12's "Done when", in a real browser: in a demo-like world the sandbox's staged crisis
raises an explained alert; a manager opens an incident from it and pauses publishing; a member
of each of two departments ticks their checklist; legal approves a holding statement that goes
out on every channel (one network call per channel); closing produces the report. Once in
French (the product's default), then the key steps again in English.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from portevoix.core.models import Member
from portevoix.core.permissions import Role
from portevoix.crisis.models import Alert, HoldingStatement, Incident, StatementReply
from portevoix.publishing.approvals.models import Pause
from portevoix.publishing.models import Publication
from portevoix.sandbox import world
from portevoix.sandbox.models import SandboxCall
from portevoix.worker import runner
from tests.conftest import Team, make_user
from tests.crisis.sim import MONDAY, replay_for
from tests.e2e.conftest import Browse, login, visit
from tests.publishing.conftest import run_publications

EVERY = dt.timedelta(minutes=15)
CRISIS = "/w/acme/crisis/"


@pytest.fixture
def storm(live_team: Team) -> dict[str, object]:
    """Two demo-like sandbox accounts; the storm staged on the first, replayed through the
    inbox with detection every 15 minutes (as the worker runs it) until it alerts."""
    main = replay_for(live_team, "lumiere", seed=5)
    other = replay_for(live_team, "lumiere-pro", seed=6, follower_count=4200, inbound_per_day=6.0)
    start = MONDAY + dt.timedelta(days=1, hours=13)  # a Tuesday, 14:00 in Paris
    assert main.run(MONDAY, start, EVERY) == []
    other.advance(start)
    world.start_crisis(
        main.account, 10.0, "le retard de livraison", topic_en="the delivery delay", at=start
    )
    alerts = main.run(start, start + dt.timedelta(hours=3), EVERY)
    assert len(alerts) == 1
    legal = Member.objects.create(
        workspace=live_team.workspace,
        user=make_user("legal@acme.test", "Laure Juriste"),
        role=Role.AGENT,
        department=live_team.department("legal"),
    )
    return {"alert": alerts[0], "channels": [main.channel, other.channel], "legal": legal}


def _publish_calls() -> list[str]:
    return list(
        SandboxCall.objects.filter(operation="publish", outcome="ok").values_list(
            "account__handle", flat=True
        )
    )


def _tick_first(page: Page, department_id: int) -> None:
    visit(page, page.url)
    box = page.locator(f"#dept-{department_id} button.tick").first
    with page.expect_navigation():
        box.click()
    expect(page.locator(f"#dept-{department_id} li.done")).to_have_count(1)


def _statement_and_legal(
    manager: Page, legal: Page, incident: Incident, text: str, *, english: bool
) -> HoldingStatement:
    visit(manager, f"{CRISIS}incidents/{incident.pk}/")
    with manager.expect_navigation():
        manager.locator("#response a[href$='/statement/']").click()
    manager.locator("textarea[name=text]").fill(text)
    # Each network's limits are checked for each channel before anything leaves.
    expect(manager.locator(".statement-channel [data-ok]")).to_have_count(2)
    with manager.expect_navigation():
        manager.locator("button[name=op][value=send]").click()
    expect(manager.locator(".message-success")).to_be_visible()
    state = manager.locator("#standing [data-statement-state]")
    expect(state).to_have_attribute("data-statement-state", "waiting")
    expect(state).to_have_text("Waiting for legal" if english else re.compile("juridique"))
    statement = HoldingStatement.objects.get(incident=incident)
    assert statement.post is not None

    # Nothing leaves before legal's word, pause or not.
    run_publications()
    assert _publish_calls() == []

    # Legal reads it on the approvals page and approves it.
    visit(legal, f"/w/acme/approvals/posts/{statement.post.pk}/")
    decision = legal.locator("section.decision")
    expect(decision).to_be_visible()
    with legal.expect_navigation():
        decision.locator("button.btn-primary").click()
    expect(legal.locator(".message-success")).to_be_visible()

    # Out on every channel, through the delivery engine: one network call per channel.
    run_publications()
    calls = _publish_calls()
    assert sorted(calls) == ["lumiere", "lumiere-pro"], calls
    run_publications()
    assert len(_publish_calls()) == 2  # never twice
    visit(manager, f"{CRISIS}incidents/{incident.pk}/statement/")
    expect(manager.locator("#standing [data-statement-state]")).to_have_attribute(
        "data-statement-state", "approved"
    )
    expect(manager.locator("#deliveries [data-publication-state=published]")).to_have_count(2)
    return statement


def _close_and_report(manager: Page, incident: Incident, *, english: bool) -> None:
    visit(manager, f"{CRISIS}incidents/{incident.pk}/")
    close = manager.locator("form[action$='/close/']")
    close.locator("textarea").fill(
        "Statement out; customers answered."
        if english
        else "Déclaration publiée ; clients rappelés."
    )
    with manager.expect_navigation():
        close.locator("button[type=submit]").click()
    expect(manager.locator(".message-success")).to_be_visible()
    link = manager.locator("a[href$='report.pdf']")
    expect(link).to_have_text("Post-incident report (PDF)" if english else re.compile("PDF"))
    # Fetched with the page's session (a click would start a download the watch reads as an
    # aborted request).
    href = link.get_attribute("href")
    assert href is not None
    report = manager.request.get(manager.url.split("/w/")[0] + href)
    assert report.ok and report.headers["content-type"] == "application/pdf"
    assert report.body()[:5] == b"%PDF-"


def test_the_crisis_is_handled_end_to_end_in_french_then_in_english(
    browse: Browse, live_team: Team, storm: dict[str, object]
) -> None:
    alert = storm["alert"]
    assert isinstance(alert, Alert)
    legal_member = storm["legal"]
    assert isinstance(legal_member, Member)

    # --- in French --------------------------------------------------------------------------
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    visit(manager, CRISIS)
    expect(manager.locator("html")).to_have_attribute("lang", "fr")
    # The alert, explained in words.
    with manager.expect_navigation():
        manager.locator(f"a[href$='/alerts/{alert.pk}/']").first.click()
    expect(manager.locator("main")).to_contain_text("messages négatifs")
    expect(manager.locator("main")).to_contain_text("retard")
    with manager.expect_navigation():
        manager.locator("main form.stack button.btn-primary").click()
    incident = Incident.objects.get(alert=alert)
    expect(manager.locator("h1")).to_have_text(incident.title)

    # Pause every scheduled post: it asks first, and a "no" pauses nothing.
    asked: list[str] = []

    def decline(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    manager.once("dialog", decline)
    manager.locator("form[action$='/pause/'] button.btn-danger").click()
    expect(manager.locator("h1")).to_have_text(incident.title)
    assert asked and "pause" in asked[0].lower()
    assert not Pause.objects.filter(workspace=live_team.workspace, ended_at__isnull=True).exists()
    manager.once("dialog", lambda dialog: dialog.accept())
    with manager.expect_navigation():
        manager.locator("form[action$='/pause/'] button.btn-danger").click()
    assert Pause.objects.filter(workspace=live_team.workspace, ended_at__isnull=True).exists()

    # A member of each of two departments ticks their list.
    sales = browse.page("sales")
    login(sales, "agent@acme.test")
    visit(sales, f"{CRISIS}incidents/{incident.pk}/")
    _tick_first(sales, live_team.department("sales").pk)
    legal = browse.page("legal")
    login(legal, "legal@acme.test")
    visit(legal, f"{CRISIS}incidents/{incident.pk}/")
    _tick_first(legal, live_team.department("legal").pk)
    # Neither may tick the other's list.
    expect(sales.locator(f"#dept-{live_team.department('legal').pk} button.tick")).to_have_count(0)

    _statement_and_legal(
        manager,
        legal,
        incident,
        "Nous savons que des commandes sont en retard. Nous revenons vers chacun de vous.",
        english=False,
    )
    # The inbox in surge: every crisis conversation answered with the statement at once.
    visit(manager, f"{CRISIS}incidents/{incident.pk}/surge/")
    boxes = manager.locator("#crisis-conversations input[name=conversations]")
    count = boxes.count()
    assert count >= 1
    manager.locator("input[data-select-all=conversations]").check()
    for n in range(count):
        expect(boxes.nth(n)).to_be_checked()
    with manager.expect_navigation():
        manager.locator("form[action$='/surge/reply/'] button.btn-primary").click()
    expect(manager.locator(".message-success")).to_be_visible()
    answers = StatementReply.objects.filter(statement__incident=incident)
    assert answers.count() == count
    # They go out although publishing is paused: the pause holds posts, not answers. One
    # worker cycle sends a batch of them (tests/crisis/test_response.py follows every one to
    # the network); the rest are set aside so that the English part counts the next
    # statement's calls alone.
    rows = Publication.objects.filter(post__inbox_reply__in=[a.reply_id for a in answers])
    assert set(rows.values_list("state", flat=True)) == {"scheduled"}
    sent = runner.run_once([Publication])
    assert sent == min(count, runner.BATCH)
    assert rows.filter(state="published").count() == sent
    rows.filter(state="scheduled").update(state="cancelled", next_attempt_at=None)
    visit(manager, f"{CRISIS}incidents/{incident.pk}/")
    timeline = manager.locator("#timeline")
    expect(timeline).to_contain_text("Approuvée par Juridique")
    expect(timeline).to_contain_text("Ventes")
    _close_and_report(manager, incident, english=False)

    # --- the key steps in English -----------------------------------------------------------
    for page in (manager, legal):
        with page.expect_navigation():
            page.locator("form.language button[name=language]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    visit(manager, CRISIS)
    form = manager.locator("main form.stack").first
    form.locator("input[name=title]").fill("Delivery delays, again")
    with manager.expect_navigation():
        form.locator("button.btn-primary").click()
    second = Incident.objects.exclude(pk=incident.pk).get()
    expect(manager.locator("#response h2")).to_have_text("Response")
    visit(legal, f"{CRISIS}incidents/{second.pk}/")
    _tick_first(legal, live_team.department("legal").pk)
    SandboxCall.objects.all().delete()
    _statement_and_legal(
        manager,
        legal,
        second,
        "We know some orders are late. We are coming back to each of you.",
        english=True,
    )
    visit(manager, f"{CRISIS}incidents/{second.pk}/")
    expect(manager.locator("#timeline")).to_contain_text("Holding statement")
    _close_and_report(manager, second, english=True)
