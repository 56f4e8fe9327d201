"""Approvals, compliance and pause in a real browser (issue 9 §0, §5, §6, §7).

A creative content marketer's quick post waits for approval (she cannot publish it alone);
a manager is told, finds it under "waiting for me" and approves it; the author hears back. A
post that breaks a blocking compliance rule shows where, and cannot be approved. A passive
channel offers no new post, while a reply there still goes out. A pause shows a banner on
every page until it is resumed.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.notifications.models import Notification
from portevoix.publishing import actions as publishing
from portevoix.publishing import compliance
from portevoix.publishing.approvals.models import ApprovalStep, RuleKind, Severity, StepState
from portevoix.publishing.models import Post, PostKind, Publication
from portevoix.sandbox import service
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, visit, watch_of
from tests.e2e.test_attention import no_serious_violation, shoot

APPROVALS = "/w/acme/approvals/"


def _channel(team: Team, handle: str = "acme-e2e", **extra: object) -> Channel:
    account = service.create_account(handle, workspace=team.workspace, simulate=False)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def channel(live_team: Team) -> Channel:
    return _channel(live_team, name="Insta")


def _quick_post(channel: Channel) -> str:
    return f"/w/acme/settings/channels/{channel.pk}/post/"


def test_a_manager_approves_from_waiting_for_me(
    browse: Browse, live_team: Team, channel: Channel
) -> None:
    # The creative content marketer cannot publish alone: the page says so, then she submits.
    author = browse.page("creative")
    login(author, "creative@acme.test")
    visit(author, _quick_post(channel))
    expect(author.locator("#approval-note")).to_be_visible()
    author.locator("textarea[name=text]").fill("La routine du soir en 3 gestes 🌙")
    with author.expect_navigation():
        author.locator("main form button[type=submit]").click()
    expect(author.locator(".message-success")).to_be_visible()
    post = Post.objects.get(text__startswith="La routine du soir")
    assert list(post.publications.values_list("state", flat=True)) == ["pending_approval"]
    no_serious_violation(author)

    # The manager is told, and the navigation counts what waits for her.
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    assert Notification.objects.filter(
        recipient=live_team["manager"], kind="approval.requested"
    ).exists()
    count = manager.locator("#sidenav a.nav-approvals .nav-count")
    expect(count).to_have_attribute("data-count", "1")
    with manager.expect_navigation():
        manager.locator("#sidenav a.nav-approvals").click()
    expect(manager).to_have_url(re.compile(APPROVALS))
    item = manager.locator(".approval-item").first
    expect(item).to_contain_text("La routine du soir")
    expect(item.locator(".waited")).to_be_visible()
    no_serious_violation(manager)
    shoot(manager, "approvals")
    with manager.expect_navigation():
        item.get_by_role("link", name=re.compile("Lire et décider|Read and decide")).click()
    expect(manager.locator("h1")).to_contain_text("La routine du soir")
    no_serious_violation(manager)
    shoot(manager, "approval-review")
    decision = manager.locator("section.decision")
    decision.locator("textarea[name=comment]").fill("Parfait, on garde.")
    with manager.expect_navigation():
        decision.locator("button.btn-primary").click()
    expect(manager.locator(".message-success")).to_be_visible()

    # Approved: it goes out at its time; the count is gone; the author hears back.
    publication = Publication.objects.get(post=post)
    assert publication.state == "scheduled"
    step = ApprovalStep.objects.get(post=post)
    assert step.state == StepState.APPROVED and step.comment == "Parfait, on garde."
    expect(manager.locator("#sidenav a.nav-approvals .nav-count")).to_have_count(0)
    visit(author, "/w/acme/notifications/")
    expect(author.locator(".notice-item").first).to_contain_text("validé")

    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "manager@acme.test")
    visit(phone, f"/w/acme/approvals/posts/{post.pk}/")
    no_serious_violation(phone)
    shoot(phone, "approval-review-phone")


def test_a_post_that_breaks_a_compliance_rule_cannot_be_approved(
    browse: Browse, live_team: Team, channel: Channel
) -> None:
    post = publishing.schedule_post(
        live_team.workspace,
        by=live_team["creative"],
        text="Notre crème guérit les rougeurs en une nuit.",
        channels=[channel],
        at=timezone.now() + dt.timedelta(hours=3),
    )
    # The rule arrives after the post was written: the approval is where it is caught.
    compliance.create_rule(
        live_team.workspace,
        by=live_team["manager"],
        name="Allégations thérapeutiques",
        kind=RuleKind.BANNED,
        severity=Severity.BLOCK,
        values="guérit",
        message="Un cosmétique ne soigne pas.",
    )
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, f"/w/acme/approvals/posts/{post.pk}/")
    # Where the text breaks the rule, and why.
    expect(page.locator("mark.finding-block")).to_have_text("guérit")
    expect(page.locator(".finding-list")).to_contain_text("Un cosmétique ne soigne pas.")
    approve = page.locator("section.decision button.btn-primary")
    expect(approve).to_be_disabled()
    expect(page.locator("section.decision .error")).to_be_visible()
    no_serious_violation(page)
    shoot(page, "approval-blocked")
    # Asking for changes still works, with the reason.
    page.locator("section.decision textarea[name=comment]").fill("Pas de « guérit », merci.")
    with page.expect_navigation():
        page.get_by_role(
            "button", name=re.compile("Demander des modifications|Request changes")
        ).click()
    publication = Publication.objects.get(post=post)
    assert publication.state == "draft"
    assert ApprovalStep.objects.get(post=post).state == StepState.CHANGES


def test_a_passive_channel_offers_no_new_post_and_takes_a_reply(
    browse: Browse, live_team: Team
) -> None:
    passive = _channel(live_team, "acme-listen", name="Écoute", strategy_level="passive")
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, _quick_post(passive))
    expect(page.locator(".passive-notice")).to_be_visible()
    expect(page.locator("textarea[name=text]")).to_have_count(0)
    no_serious_violation(page)

    # A reply to a customer there goes out, through the same entry point as a post.
    reply = Post.objects.create(
        workspace=live_team.workspace,
        kind=PostKind.REPLY,
        text="Merci pour votre message, nous regardons.",
        author=live_team["manager"].user,
    )
    Publication.objects.create(
        post=reply,
        channel=passive,
        scheduled_at=timezone.now(),
        state="draft",
        in_reply_to="sandbox-message-1",
    )
    publishing.submit_post(reply, by=live_team["manager"])
    assert list(reply.publications.values_list("state", flat=True)) == ["scheduled"]
    visit(page, f"/w/acme/settings/channels/{passive.pk}/")
    expect(page.locator("main")).to_contain_text("Merci pour votre message")


def test_a_pause_shows_on_every_page_until_resumed(
    browse: Browse, live_team: Team, channel: Channel
) -> None:
    post = publishing.schedule_post(
        live_team.workspace,
        by=live_team["manager"],
        text="Soldes d'hiver : -20 % sur tout",
        channels=[channel],
        at=timezone.now() + dt.timedelta(hours=2),
    )
    page = browse.page()
    login(page, "manager@acme.test")
    visit(page, "/w/acme/pause/")
    start = page.locator("main form[action$='/pause/start/']")
    start.locator("[name=reason]").fill("Incident en cours")
    with page.expect_navigation():
        start.locator("button[type=submit]").click()
    banner = page.locator(".pause-banner")
    expect(banner).to_be_visible()
    assert Publication.objects.get(post=post).state == "paused"
    no_serious_violation(page)
    shoot(page, "pause")
    visit(page, "/w/acme/calendar/")
    expect(page.locator(".pause-banner")).to_be_visible()
    visit(page, "/w/acme/pause/")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Reprendre|Resume")).first.click()
    expect(page.locator(".pause-banner")).to_have_count(0)
    assert Publication.objects.get(post=post).state == "scheduled"


def test_settings_and_rules_pages_read_well_on_a_desktop_and_a_phone(
    browse: Browse, live_team: Team, channel: Channel
) -> None:
    compliance.create_rule(
        live_team.workspace,
        by=live_team["manager"],
        name="Rendement chiffré",
        kind=RuleKind.REGEX,
        severity=Severity.WARN,
        values=r"\d+\s?% de rendement",
        message="Un rendement chiffré cite sa source.",
    )
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        extra = {"viewport": viewport, "is_mobile": True, "has_touch": True} if viewport else {}
        page = browse.page(name, **extra)
        login(page, "manager@acme.test")
        for path, shot in (
            ("/w/acme/settings/approvals/", "approval-settings"),
            ("/w/acme/settings/compliance/", "compliance-rules"),
            (_quick_post(channel), "quick-post"),
        ):
            visit(page, path)
            no_serious_violation(page)
            shoot(page, f"{shot}-{name}")
        # A wrong regular expression is refused in place, with what was typed.
        visit(page, "/w/acme/settings/compliance/")
        page.locator("main details:has(input[name=rule]) > summary").click()
        form = page.locator("main form:has(input[name=rule])")
        form.locator("[name=rule-name]").fill("Cassée")
        form.locator("[name=rule-kind]").select_option("regex")
        form.locator("[name=rule-values]").fill("(abc")
        with page.expect_navigation(), watch_of(page).expect_status(400):
            form.locator("button[type=submit]").click()
        form = page.locator("main form:has(input[name=rule])")
        expect(form.locator("[name=rule-values]")).to_have_value("(abc")
        expect(form.locator(".error")).to_be_visible()
