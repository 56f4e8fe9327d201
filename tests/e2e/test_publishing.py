"""The team's publishing in a real browser: the composer for three channels with an image from
the library (uploaded with its progress), the calendar with drag and drop and its keyboard
alternative, the post published with its link; a visual request from brief to delivered asset
to scheduled post; the pages at phone width.

Elements are found by name, id, URL and data attributes, never by visible text.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from portevoix.channels import actions as channel_actions
from portevoix.publishing.models import CreativeRequest, Post, Publication
from portevoix.sandbox import service
from portevoix.worker import runner
from tests.conftest import Team
from tests.e2e.conftest import PHONE, Browse, login, visit

PARIS = ZoneInfo("Europe/Paris")
SHOTS = os.environ.get("PV_SCREENSHOTS_PUBLISHING", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def connect_three(team: Team) -> list:
    made = []
    for handle, name in (("acme-insta", "Insta"), ("acme-pro", "Pro"), ("acme-news", "News")):
        account = service.create_account(handle, workspace=team.workspace)
        made.append(
            channel_actions.connect_channel(
                team.workspace,
                by=team["admin"],
                network="sandbox",
                credentials=service.credentials_for(account),
                name=name,
            )
        )
    return made


def picture(tmp_path: Path) -> Path:
    path = tmp_path / "velours.png"
    Image.new("RGB", (2600, 1800), (200, 60, 120)).save(path, "PNG")
    return path


def test_compose_for_three_channels_drag_it_and_it_goes_out_with_its_link(
    browse: Browse, live_team: Team, tmp_path: Path
) -> None:
    channels = connect_three(live_team)
    # The creative content marketer writes; her posts need approval (issue 9 §5).
    page = browse.page("creative")
    login(page, "creative@acme.test")
    visit(page, "/w/acme/calendar/compose/")
    page.locator("#c-title").fill("Lancement")
    page.locator("#c-text").fill("Le sérum arrive https://lumiere.example/velours")
    for channel in channels:
        page.locator(f"#ch-{channel.pk}").check()
    # The image goes into the library from the composer, with its progress, and is chosen.
    page.locator("#composer-upload").set_input_files(str(picture(tmp_path)))
    expect(page.locator("#library-choice input[name=media]:checked")).to_have_count(1)
    # Live checks: one card per channel, with the count as the network counts it.
    expect(page.locator("#checks .check-card")).to_have_count(3)
    expect(page.locator("#checks .check-card.ok")).to_have_count(3)
    expect(page.locator("#checks .preview-media img").first).to_be_visible()
    # A version for one channel.
    page.locator(f"#ch-{channels[1].pk}").locator("xpath=../..").locator("summary").click()
    page.locator(f"#v{channels[1].pk}-text").fill("Version pro https://lumiere.example/velours")
    expect(page.locator("#autosave-status")).not_to_be_empty(timeout=15_000)
    shot(page, "composer")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.locator("button[name=submit]").click()
    post = Post.objects.get(title="Lancement")
    assert set(post.publications.values_list("state", flat=True)) == {"pending_approval"}
    assert post.media.get().asset is not None

    # A manager approves it from "waiting for me": then it is planned.
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    with manager.expect_navigation():
        manager.locator("#sidenav a.nav-approvals").click()
    item = manager.locator(".approval-item", has_text="Lancement")
    with manager.expect_navigation():
        item.get_by_role("link", name=re.compile("Lire et décider|Read and decide")).click()
    with manager.expect_navigation():
        manager.locator("section.decision button.btn-primary").click()
    expect(manager.locator(".message-success")).to_be_visible()
    assert set(post.publications.values_list("state", flat=True)) == {"scheduled"}

    # On the calendar (month view), then dragged to three days later.
    visit(page, "/w/acme/calendar/")
    item = page.locator(f".plan-item[data-post='{post.pk}']")
    expect(item).to_have_count(1)
    first = post.publications.first().scheduled_at.astimezone(PARIS)
    target = (first + dt.timedelta(days=3)).date()
    if target.month != first.month:
        visit(page, f"/w/acme/calendar/?view=week&date={first.date().isoformat()}")
        target = first.date() + dt.timedelta(days=1 if first.weekday() < 6 else -1)
    shot(page, "calendar-month")
    with page.expect_navigation():
        page.locator(f".plan-item[data-post='{post.pk}']").drag_to(
            page.locator(f"[data-day='{target.isoformat()}']")
        )
    moved = {p.scheduled_at.astimezone(PARIS) for p in post.publications.all()}
    assert {m.date() for m in moved} == {target} and {m.time() for m in moved} == {first.time()}

    # The keyboard alternative: the Move form, back one day.
    visit(page, f"/w/acme/calendar/?view=list&date={target.isoformat()}")
    card = page.locator(f".plan-item[data-post='{post.pk}']")
    card.locator("details.move summary").focus()
    page.keyboard.press("Enter")
    back = target - dt.timedelta(days=1)
    card.locator("input[name=day]").fill(back.isoformat())
    with page.expect_navigation():
        card.locator("input[name=day]").press("Enter")
    assert {p.scheduled_at.astimezone(PARIS).date() for p in post.publications.all()} == {back}

    # Time passes: it is due; the worker publishes it; the calendar links to each post.
    now = timezone.now()
    Publication.objects.filter(post=post).update(scheduled_at=now, next_attempt_at=now)
    for _ in range(6):
        if not runner.run_once([Publication]):
            break
    states = set(post.publications.values_list("state", flat=True))
    assert states == {"published"}, states
    visit(page, "/w/acme/calendar/?view=list")
    card = page.locator(f".plan-item[data-post='{post.pk}']")
    expect(card.locator(".badge.state-published")).to_have_count(3)
    # Each published post links to itself on the network where the network gives an address
    # (Bluesky, Mastodon); the sandbox keeps its posts in the database and gives none.
    urls = [u for u in post.publications.values_list("url", flat=True) if u]
    expect(card.locator("a.see-it")).to_have_count(len(urls))
    assert {card.locator("a.see-it").nth(i).get_attribute("href") for i in range(len(urls))} == set(
        urls
    )
    sent = Publication.objects.get(post=post, channel=channels[0]).outgoing()
    assert "utm_source=insta" in sent.text


def test_a_visual_request_from_brief_to_delivered_asset_to_scheduled_post(
    browse: Browse, live_team: Team, tmp_path: Path
) -> None:
    channels = connect_three(live_team)
    marketer = browse.page("content")
    login(marketer, "content@acme.test")
    visit(marketer, "/w/acme/calendar/compose/")
    marketer.locator("#c-title").fill("Coffret")
    marketer.locator("#c-text").fill("Le coffret d'hiver")
    marketer.locator(f"#ch-{channels[0].pk}").check()
    expect(marketer.locator("#checks .check-card")).to_have_count(1)
    marketer.wait_for_load_state("networkidle")
    with marketer.expect_navigation():
        marketer.locator("button[name=save]").click()
    post = Post.objects.get(title="Coffret")
    # Ask for a visual from the post.
    with marketer.expect_navigation():
        marketer.locator(f"a[href$='/requests/new/?post={post.pk}']").click()
    marketer.locator("#id_brief").fill("Le coffret ouvert, fond de neige")
    marketer.locator(f"input[name=channels][value='{channels[0].pk}']").check()
    marketer.locator("#id_assignee").select_option(str(live_team["creative"].pk))
    with marketer.expect_navigation():
        marketer.locator("main form button[type=submit]").click()
    request = CreativeRequest.objects.get()
    assert request.post == post
    # The post says it waits; scheduling is refused with the reason, nothing is lost.
    visit(marketer, f"/w/acme/calendar/posts/{post.pk}/")
    expect(marketer.locator(".waits-note")).to_be_visible()

    creative = browse.page("creative")
    login(creative, "creative@acme.test")
    visit(creative, "/w/acme/calendar/requests/")
    with creative.expect_navigation():
        creative.locator(f"a[href$='/requests/{request.pk}/']").first.click()
    creative.locator("#d-file").set_input_files(str(picture(tmp_path)))
    creative.locator("#d-alt").fill("Coffret ouvert sur la neige")
    shot(creative, "request")
    with creative.expect_navigation():
        creative.locator("button[name=deliver]").click()
    request.refresh_from_db()
    assert request.state == "delivered"

    visit(marketer, f"/w/acme/calendar/posts/{post.pk}/")
    expect(marketer.locator(".waits-note")).to_have_count(0)
    expect(marketer.locator("#library-choice input[name=media]:checked")).to_have_count(1)
    expect(marketer.locator("#checks .check-card.ok")).to_have_count(1)
    marketer.wait_for_load_state("networkidle")
    with marketer.expect_navigation():
        marketer.locator("button[name=submit]").click()
    assert post.publications.get().state == "scheduled"
    assert post.media.get().asset == request.assets.get()


def test_the_plan_pages_at_phone_width(browse: Browse, live_team: Team) -> None:
    connect_three(live_team)
    page = browse.page("phone", viewport=PHONE)
    login(page, "content@acme.test")
    for path, name in (
        ("/w/acme/calendar/", "calendar-phone"),
        ("/w/acme/calendar/compose/", "composer-phone"),
        ("/w/acme/media/", "media-phone"),
        ("/w/acme/calendar/ideas/", "ideas-phone"),
    ):
        visit(page, path)
        # The composer checks its draft as it opens (htmx): let that answer come before
        # leaving, or the browser cancels it and the watch reports a failed request.
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        shot(page, name)
    expect(page.locator("main h1")).to_be_visible()
    assert re.search(r"/ideas/$", page.url)
