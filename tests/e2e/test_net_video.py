"""One video for Facebook, LinkedIn and X through the composer (issue 11: video).

The three networks answer from their stateful fakes on loopback (the contract suites' fakes,
which count every upload step and every post). A manager uploads a video in the composer: a
video too long for X is refused in X's card, in French, with the duration; a short one passes
on the three cards, is scheduled, and the worker sends it: each network received one upload and
one post, with the video's bytes.

Elements are found by name, id and data attributes; the refusal is checked in the card's text
because that sentence is what this test is about.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from portevoix.publishing.models import Post, Publication
from portevoix.worker import runner
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.e2e.test_every_network import Fakes, connect_every_network, fakes, settle
from tests.media.test_media import mp4

__all__ = ["fakes"]  # the fixture, shared with the every-network composer test

NETWORKS = ("facebook", "linkedin", "x")


def test_one_video_for_facebook_linkedin_and_x(
    browse: Browse, live_team: Team, fakes: Fakes, tmp_path: Path
) -> None:
    channels = {n: c for n, c in connect_every_network(live_team, fakes).items() if n in NETWORKS}
    long_film = tmp_path / "conference.mp4"
    long_film.write_bytes(mp4(200.0))
    film = tmp_path / "atelier.mp4"
    film.write_bytes(mp4(30.0))

    page = browse.page("manager")
    login(page, "manager@acme.test")
    visit(page, "/w/acme/calendar/compose/")
    page.locator("#c-title").fill("Vidéo")
    page.locator("#c-text").fill("Notre atelier en vidéo.")
    for channel in channels.values():
        page.locator(f"#ch-{channel.pk}").check()

    # 3 min 20: X refuses it (2 min 20 at most), in the reader's language; the others take it.
    page.locator("#composer-upload").set_input_files([str(long_film)])
    expect(page.locator("#library-choice input[name=media]:checked")).to_have_count(1)
    x_card = page.locator("#checks .check-card.preview-x")
    expect(x_card.locator(".problems li")).to_contain_text("Dure 3:20", timeout=20_000)
    expect(x_card.locator(".problems li")).to_contain_text("2:20")
    expect(page.locator("#checks .check-card.ok")).to_have_count(2, timeout=20_000)
    shots = os.environ.get("PV_SCREENSHOTS_PUBLISHING")
    if shots:
        page.screenshot(path=f"{shots}/composer-video-too-long.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{shots}/composer-video-too-long-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

    # The short one instead: three cards pass.
    page.locator("#library-choice input[name=media]:checked").uncheck()
    page.locator("#composer-upload").set_input_files([str(film)])
    expect(page.locator("#checks .check-card.ok")).to_have_count(3, timeout=20_000)
    page.locator("#when-now").check()
    settle(page, "#c-title", "Vidéo")
    with page.expect_navigation():
        page.locator("button[name=submit]").click()
    expect(page.locator(".message-success")).to_be_visible()
    post = Post.objects.get(title="Vidéo")
    assert [m.asset.name for m in post.media.select_related("asset")] == ["atelier.mp4"]

    now = timezone.now()
    Publication.objects.filter(post=post).update(scheduled_at=now, next_attempt_at=now)
    for _ in range(12):
        if not runner.run_once([Publication]):
            break
    states = {p.channel.network: (p.state, p.problem) for p in post.publications.all()}
    assert {n: s for n, (s, _) in states.items()} == dict.fromkeys(NETWORKS, "published"), states

    data = film.read_bytes()
    graph = fakes.graph.graph
    assert graph.video_calls["start"] == 1 and graph.video_calls["finish"] == 1
    [video] = graph.of_type("video")
    assert video["received"] == data and video["description"] == "Notre atelier en vidéo."
    assert graph.posts["500600700/feed"] == 0
    li = fakes.linkedin.state
    assert li.video_calls["initialize"] == 1 and li.video_calls["finalize"] == 1
    assert li.post_requests == 1 and li.posts[0]["content"]["media"]["id"] in li.videos
    assert next(iter(li.videos.values()))["data"] == data
    xs = fakes.x.state
    assert xs.video_calls["INIT"] == 1 and xs.video_calls["FINALIZE"] == 1
    assert xs.post_requests == 1
    assert next(iter(xs.videos.values()))["data"] == data
