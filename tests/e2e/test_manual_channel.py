"""A manual channel in a real browser (issue 11 §3): a creative plans a post for the Snapchat
channel, a manager approves it; at its time the worker only reminds the owner, who opens the
reminder, marks the post published with its link (a bad link first, kept in the field) and
enters its results; the calendar shows it published, with its link."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.networks.manual import ManualNetwork
from portevoix.publishing.models import Post, Publication, PublicationMetrics
from portevoix.worker import runner
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, visit, watch_of
from tests.e2e.test_attention import no_serious_violation, shoot

LINK = "https://www.snapchat.com/add/acme/story/42"


@pytest.fixture
def snapchat(live_team: Team) -> Channel:
    return channel_actions.connect_channel(
        live_team.workspace,
        by=live_team["admin"],
        network="manual",
        credentials={"label": "Snapchat", "account": "acme"},
        name="Snapchat",
        owner=live_team["content"].user,
    )


def test_a_post_for_a_manual_channel_is_planned_approved_reminded_and_marked(
    browse: Browse, live_team: Team, snapchat: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(
        ManualNetwork, "publish", lambda self, post, *, idempotency_key: sent.append(post.text)
    )
    # The creative plans it; she may not publish alone.
    author = browse.page("creative")
    login(author, "creative@acme.test")
    visit(author, f"/w/acme/settings/channels/{snapchat.pk}/post/")
    # The text is checked live (compliance): let that answer arrive before leaving the page.
    with author.expect_response(re.compile(r"/compliance/check/")):
        author.locator("textarea[name=text]").fill("Les coulisses du shooting 📸")
    with author.expect_navigation():
        author.locator("main form button[type=submit]").click()
    expect(author.locator(".message-success")).to_be_visible()
    post = Post.objects.get(text__startswith="Les coulisses")
    publication = Publication.objects.get(post=post)
    assert publication.state == "pending_approval"

    # A manager approves it.
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    visit(manager, f"/w/acme/approvals/posts/{post.pk}/")
    with manager.expect_navigation():
        manager.locator("section.decision button.btn-primary").click()
    expect(manager.locator(".message-success")).to_be_visible()
    publication.refresh_from_db()
    assert publication.state == "scheduled"

    # Its time comes: the worker does not send it, it reminds the owner.
    Publication.objects.filter(pk=publication.pk).update(
        scheduled_at=timezone.now() - dt.timedelta(minutes=1),
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
    )
    for _ in range(3):
        runner.run_once([Publication])
    publication.refresh_from_db()
    assert publication.state == "waiting_manual"
    assert sent == []

    owner = browse.page("owner")
    login(owner, "content@acme.test")
    visit(owner, "/w/acme/notifications/")
    reminder = owner.locator(".notice-item[data-kind='manual.post_due']")
    expect(reminder).to_have_count(1)
    expect(reminder).to_contain_text("Les coulisses du shooting")
    with owner.expect_navigation():
        reminder.get_by_role("button", name=re.compile("Ouvrir|Open")).click()
    expect(owner).to_have_url(re.compile(rf"/by-hand/{publication.pk}/$"))
    expect(owner.locator("#by-hand-text")).to_have_value(re.compile("Les coulisses du shooting"))
    no_serious_violation(owner)
    shoot(owner, "manual-waiting")

    # A link that is not a web address first (the browser lets it through): refused, kept.
    done = owner.locator("form[action$='/published/']")
    done.locator("input[name='done-url']").fill("ftp://snapchat.com/story")
    with watch_of(owner).expect_status(400), owner.expect_navigation():
        done.locator("button[type=submit]").click()
    expect(
        owner.locator("form[action$='/published/'] .error, form[action$='/published/'] .errorlist")
    ).not_to_have_count(0)
    expect(owner.locator("input[name='done-url']")).to_have_value("ftp://snapchat.com/story")
    owner.locator("input[name='done-url']").fill(LINK)
    with owner.expect_navigation():
        owner.locator("form[action$='/published/'] button[type=submit]").click()
    expect(owner.locator(".message-success")).to_be_visible()
    expect(owner.locator("[data-state='published']")).to_be_visible()
    publication.refresh_from_db()
    assert (publication.state, publication.url) == ("published", LINK)

    # Its results.
    results = owner.locator("form.results-form")
    results.locator("input[name='results-reach']").fill("1200")
    results.locator("input[name='results-likes']").fill("40")
    with owner.expect_navigation():
        results.locator("button[type=submit]").click()
    expect(owner.locator(".message-success")).to_be_visible()
    expect(owner.locator("tr[data-results]")).to_contain_text("1200")
    snapshot = PublicationMetrics.objects.get(publication=publication)
    assert (snapshot.reach, snapshot.likes, snapshot.source) == (1200, 40, "form")
    no_serious_violation(owner)
    shoot(owner, "manual-results")

    # The calendar shows it published, with its link.
    visit(owner, "/w/acme/calendar/?view=list")
    item = owner.locator(f"article.plan-item[data-post='{post.pk}']")
    expect(item.locator(".state-published")).to_be_visible()
    expect(item.locator("a.see-it")).to_have_attribute("href", LINK)
    assert sent == []

    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "content@acme.test")
    visit(phone, f"/w/acme/calendar/by-hand/{publication.pk}/")
    no_serious_violation(phone)
    shoot(phone, "manual-results-phone")


def test_a_manual_channel_is_connected_in_the_browser(browse: Browse, live_team: Team) -> None:
    page = browse.page()
    login(page, "admin@acme.test")
    visit(page, "/w/acme/settings/channels/connect/")
    card = page.locator(".network-card[data-network='manual']")
    with page.expect_navigation():
        card.get_by_role("link").first.click()
    page.locator("input[name='cred-label']").fill("Snapchat")
    page.locator("input[name='cred-account']").fill("acme")
    page.locator("select[name='cred-owner']").select_option(label="Content Marketer")
    no_serious_violation(page)
    shoot(page, "manual-connect")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator(".message-success")).to_be_visible()
    channel = Channel.objects.get(network="manual")
    assert channel.owner == live_team["content"].user
    expect(page.locator("main")).to_contain_text("Content Marketer")
    no_serious_violation(page)
    shoot(page, "manual-channel")
