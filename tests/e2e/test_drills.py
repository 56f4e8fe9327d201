"""Issue 12 §6 in a real browser: a manager starts a staged crisis drill on the sandbox world;
the alert comes, marked as a drill; an incident is opened from it; a department member ticks
their checklist; legal approves the holding statement (with a picture uploaded on its page);
an agent answers a drill conversation in the inbox within its SLA; the drill is ended and
scored, and each member's part appears in their training record. In French, then the key steps again in English.

The sandbox world moves on a simulated clock (``crisis.replay``): the drill the manager starts
in the browser is moved an hour back with the world's storm, then that hour is replayed
through the real inbox with detection every 15 minutes, as the worker would have run it.

Elements are found by name, id and data attributes, never by visible text (except the language
checks).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import Page, expect

from portevoix.channels import actions as channel_actions
from portevoix.core.models import Member
from portevoix.core.permissions import Role
from portevoix.crisis.models import Drill, DrillResult, HoldingStatement, Incident
from portevoix.crisis.replay import Replay
from portevoix.inbox.models import Conversation
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxAccount
from tests.conftest import Team, make_user
from tests.crisis.sim import DEMO_LIKE
from tests.e2e.conftest import Browse, login, visit
from tests.images import image_bytes
from tests.publishing.conftest import run_publications

EVERY = dt.timedelta(minutes=15)
HOUR = dt.timedelta(hours=1)
CRISIS = "/w/acme/crisis/"


@pytest.fixture
def world(live_team: Team) -> dict[str, object]:
    """A sandbox account whose world moves (a drill runs only on those), two calm days
    replayed up to an hour ago, and a member of the legal department."""
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - dt.timedelta(days=2)
    account = service.create_account(
        "lumiere",
        workspace=live_team.workspace,
        seed=5,
        simulate=True,
        token_lifetime=None,
        now=start,
        **DEMO_LIKE,
    )
    channel = channel_actions.connect_channel(
        live_team.workspace,
        by=live_team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="lumiere",
    )
    replay = Replay(channel=channel, account=account)
    assert replay.run(start, now - HOUR, HOUR) == []
    legal = Member.objects.create(
        workspace=live_team.workspace,
        user=make_user("legal@acme.test", "Laure Juriste"),
        role=Role.AGENT,
        department=live_team.department("legal"),
    )
    return {"replay": replay, "legal": legal, "from": now - HOUR}


def start_drill(page: Page, scenario: str) -> Drill:
    visit(page, f"{CRISIS}drills/")
    page.locator("select[name=scenario]").select_option(scenario)
    page.locator("select[name=hours]").select_option("2")
    with page.expect_navigation():
        page.locator("main form.stack button.btn-primary").click()
    expect(page.locator(".message-success")).to_be_visible()
    return Drill.objects.get(state="running")


def replay_drill_hour(drill: Drill, replay: Replay, since: dt.datetime) -> list[object]:
    """The drill started in the browser moved back to ``since`` with its storm, then the
    world replayed to now through the inbox with detection every 15 minutes."""
    back = drill.started_at - since
    Drill.objects.filter(pk=drill.pk).update(
        started_at=F("started_at") - back, ends_at=F("ends_at") - back
    )
    SandboxAccount.objects.filter(pk=replay.account.pk).update(
        crisis_started_at=F("crisis_started_at") - back,
        crisis_ends_at=F("crisis_ends_at") - back,
    )
    replay.account.refresh_from_db()
    return list(replay.run(since, timezone.now(), EVERY))


def tick_all(page: Page, department_id: int) -> None:
    """Tick every task of the department's list, one after the other."""
    box = page.locator(f"#dept-{department_id} button.tick[aria-pressed=false]")
    total = page.locator(f"#dept-{department_id} li").count()
    while box.count():
        with page.expect_navigation():
            box.first.click()
    expect(page.locator(f"#dept-{department_id} li.done")).to_have_count(total)


def statement_approved(
    manager: Page, legal: Page, incident: Incident, text: str, picture: Path
) -> None:
    visit(manager, f"{CRISIS}incidents/{incident.pk}/statement/")
    manager.locator("textarea[name=text]").fill(text)
    # A picture uploaded with it (it joins the media library), described.
    manager.locator("input[name=media_file]").set_input_files(str(picture))
    manager.locator("input[name=media_alt]").fill("Notre équipe du service client")
    with manager.expect_navigation():
        manager.locator("button[name=op][value=send]").click()
    expect(manager.locator("#standing [data-statement-state]")).to_have_attribute(
        "data-statement-state", "waiting"
    )
    statement = HoldingStatement.objects.get(incident=incident)
    expect(manager.locator("#statement-media [data-media]")).to_have_count(1)
    assert statement.post is not None and statement.post.media.count() == 1
    visit(legal, f"/w/acme/approvals/posts/{statement.post_id}/")
    with legal.expect_navigation():
        legal.locator("section.decision button.btn-primary").click()
    expect(legal.locator(".message-success")).to_be_visible()
    run_publications()
    visit(manager, f"{CRISIS}incidents/{incident.pk}/statement/")
    expect(manager.locator("#standing [data-statement-state]")).to_have_attribute(
        "data-statement-state", "approved"
    )


def reply_in_inbox(page: Page, conversation: Conversation, text: str) -> None:
    visit(page, f"/w/acme/inbox/c/{conversation.pk}/")
    page.locator("#id_text").fill(text)
    with page.expect_navigation():
        page.locator("section.reply-box button.btn-primary[type=submit]").click()
    expect(page.locator("li.entry-reply")).to_have_count(1)


def end_drill(page: Page, drill: Drill) -> None:
    visit(page, f"{CRISIS}drills/{drill.pk}/")
    # Ending it asks first (steps not done yet score nothing).
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator(f"form[action$='/drills/{drill.pk}/end/'] button").click()
    expect(page.locator(".message-success")).to_be_visible()


def test_a_drill_is_run_scored_and_kept_per_member_in_french_then_in_english(
    browse: Browse, live_team: Team, world: dict[str, object], tmp_path: Path
) -> None:
    replay = world["replay"]
    assert isinstance(replay, Replay)
    legal_member = world["legal"]
    assert isinstance(legal_member, Member)
    since = world["from"]
    assert isinstance(since, dt.datetime)
    sales_id = live_team.department("sales").pk
    picture = tmp_path / "equipe.jpg"
    picture.write_bytes(image_bytes("JPEG", size=(1200, 1200)))

    # --- in French --------------------------------------------------------------------------
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    drill = start_drill(manager, "crisis:10")
    expect(manager.locator("html")).to_have_attribute("lang", "fr")
    assert drill.kind == "crisis" and drill.started_by == live_team["manager"]

    # The storm's hour replayed: the alert comes, and it is the drill's.
    alerts = replay_drill_hour(drill, replay, since)
    assert len(alerts) == 1
    drill.refresh_from_db()
    assert drill.alert is not None and drill.alert.pk == alerts[0].pk  # type: ignore[attr-defined]
    visit(manager, CRISIS)
    # On the crisis page the alert says it is a drill's (a real one would not).
    expect(manager.locator(".crisis-alert [data-drill-alert]")).to_have_text("Exercice")
    with manager.expect_navigation():
        manager.locator(f"a[href$='/alerts/{drill.alert.pk}/']").first.click()
    expect(manager.locator(".drill-note .drill-mark")).to_have_text("Exercice")
    expect(manager.locator("main")).to_contain_text("messages négatifs")
    # The incident, opened from the alert.
    with manager.expect_navigation():
        manager.locator("main form.stack button.btn-primary").click()
    incident = Incident.objects.get(alert=drill.alert)
    drill.refresh_from_db()
    assert drill.incident == incident
    expect(manager.locator(".drill-note")).to_be_visible()

    # A member of sales ticks the sales checklist (and nothing of another's).
    sales = browse.page("sales")
    login(sales, "agent@acme.test")
    visit(sales, f"{CRISIS}incidents/{incident.pk}/")
    tick_all(sales, sales_id)
    expect(sales.locator(f"#dept-{live_team.department('legal').pk} button.tick")).to_have_count(0)

    # Legal approves the holding statement.
    legal = browse.page("legal")
    login(legal, "legal@acme.test")
    statement_approved(
        manager,
        legal,
        incident,
        "Nous savons que des commandes sont en retard. Nous revenons vers chacun de vous.",
        picture,
    )

    # An agent answers the newest drill conversation in the inbox, within its SLA.
    talks = Conversation.objects.filter(
        workspace=live_team.workspace, labels__name="Exercice"
    ).order_by("-created_at")
    assert talks.exists()
    content = browse.page("content")
    login(content, "content@acme.test")
    reply_in_inbox(content, talks[0], "Bonjour, nous regardons votre commande tout de suite.")
    run_publications()

    # Ended and scored; each part shown.
    end_drill(manager, drill)
    drill.refresh_from_db()
    assert drill.state == "ended" and drill.score is not None
    scores = drill.scores
    assert scores["alert_seconds"] is not None and scores["alert_seconds"] <= 3600
    assert scores["incident_seconds"] is not None
    assert scores["statement_seconds"] is not None  # legal's approval is scored
    sales_name = live_team.department("sales").name
    sales_row = next(c for c in scores["checklists"] if c["department"] == sales_name)
    assert sales_row["done"] == sales_row["total"] and sales_row["seconds"] is not None
    assert scores["in_sla"] >= 1
    expect(manager.locator(".drill-score")).to_have_text(str(drill.score))

    # Each member's part, in their training record.
    parts = {r.member.user.email: r for r in DrillResult.objects.filter(drill=drill)}
    assert parts["manager@acme.test"].opened_incident
    assert parts["agent@acme.test"].tasks_done == sales_row["total"]
    assert parts["content@acme.test"].first_replies_in_sla == 1
    for page, member in ((content, live_team["content"]), (sales, live_team["agent"])):
        visit(page, f"/w/acme/training/members/{member.pk}/")
        row = page.locator(f"#drills-title ~ table a[href$='/drills/{drill.pk}/']")
        expect(row).to_have_count(1)
        expect(page.locator("#drills-title ~ table")).to_contain_text(f"{drill.score}/100")

    # --- the key steps in English -----------------------------------------------------------
    for page in (manager, content):
        with page.expect_navigation():
            page.locator("form.language button[name=language]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    evening = start_drill(manager, "evening:3")
    assert evening.kind == "evening"
    visit(manager, CRISIS)
    visit(manager, f"{CRISIS}drills/")
    expect(manager.locator("#running-title .drill-mark")).to_have_text("Drill")
    end_drill(manager, evening)
    evening.refresh_from_db()
    assert evening.state == "ended" and evening.score is not None
    expect(manager.locator("h1")).to_contain_text(re.compile("Busy webcare evening"))
    visit(content, f"/w/acme/training/members/{live_team['content'].pk}/")
    expect(content.locator("#drills-title")).to_have_text("Drills")
    expect(
        content.locator(f"#drills-title ~ table tr:has(a[href$='/drills/{drill.pk}/'])")
    ).to_contain_text("Staged crisis")


def test_a_staged_storm_is_calmed_from_the_crisis_page_and_staged_again(
    browse: Browse, live_team: Team, world: dict[str, object]
) -> None:
    """Staged from the crisis page, a storm could not be stopped (staging again was refused
    for the two days it rages). The card now says it is under way and calms it, asking first."""
    account = SandboxAccount.objects.get(handle="lumiere")
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    visit(manager, CRISIS)
    manager.locator("#stage-intensity").select_option(index=0)
    with manager.expect_navigation():
        manager.locator("form.crisis-stage button[type=submit]").click()
    expect(manager.locator(".message-success")).to_be_visible()
    expect(manager.locator("#storm-under-way")).to_be_visible()
    expect(manager.locator("#stage-intensity")).to_have_count(0)
    account.refresh_from_db()
    assert account.crisis_active(timezone.now())
    # It asks first: a "no" calms nothing.
    manager.once("dialog", lambda dialog: dialog.dismiss())
    manager.locator("form[action$='/stage/calm/'] button").click()
    expect(manager.locator("#storm-under-way")).to_be_visible()
    account.refresh_from_db()
    assert account.crisis_active(timezone.now())
    manager.once("dialog", lambda dialog: dialog.accept())
    with manager.expect_navigation():
        manager.locator("form[action$='/stage/calm/'] button").click()
    expect(manager.locator(".message-success")).to_be_visible()
    expect(manager.locator("#storm-under-way")).to_have_count(0)
    account.refresh_from_db()
    assert not account.crisis_active(timezone.now() + dt.timedelta(seconds=1))
    # And it can be staged again.
    with manager.expect_navigation():
        manager.locator("form.crisis-stage button[type=submit]").click()
    expect(manager.locator("#storm-under-way")).to_be_visible()
