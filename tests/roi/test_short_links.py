"""Short links: made when a post that asks for them goes out, the public redirect ``/l/<code>``
(a way in without a login), a counter per link per day, robots not counted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from portevoix.publishing import actions as publishing
from portevoix.publishing.models import Post, Publication
from portevoix.roi import shortlinks
from portevoix.roi.models import LinkClicks, ShortLink

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
BASE = "https://pv.example"


@pytest.fixture
def post(team, channel, campaign):
    item = publishing.schedule_post(
        team.workspace,
        by=team["manager"],
        text="Nos soldes https://shop.example/soldes et le blog https://blog.example/hiver.",
        channels=[channel],
        at=timezone.now() + dt.timedelta(days=1),
    )
    Post.objects.filter(pk=item.pk).update(short_links=True, add_utm=True, campaign=campaign)
    return Post.objects.get(pk=item.pk)


@override_settings(PORTEVOIX_BASE_URL=BASE)
def test_the_links_go_out_as_short_links_with_the_same_code_every_time(post, channel) -> None:
    publication = Publication.objects.get(post=post)
    text = publication.outgoing().text
    links = list(ShortLink.objects.order_by("id"))
    assert len(links) == 2
    for link in links:
        assert f"{BASE}/l/{link.code}" in text
        assert shortlinks.CODE.match(link.code)
        assert link.channel == channel and link.post == post and link.campaign == post.campaign
    # The target keeps the UTM tags the post asked for.
    assert links[0].target.startswith("https://shop.example/soldes?utm_source=")
    assert "shop.example" not in text and "blog.example" not in text
    # The preview, the check and the call all see the same text: no new link, same codes.
    assert publication.outgoing().text == text
    assert ShortLink.objects.count() == 2


def test_a_post_without_the_option_keeps_its_links(team, channel) -> None:
    item = publishing.schedule_post(
        team.workspace,
        by=team["manager"],
        text="https://shop.example/soldes",
        channels=[channel],
        at=timezone.now() + dt.timedelta(days=1),
    )
    assert "https://shop.example/soldes" in item.publications.get().outgoing().text
    assert not ShortLink.objects.exists()


def test_the_composer_sets_the_option_and_previews_a_short_link(team, client_for, channel):
    client = client_for(team["content"])
    day = timezone.localdate() + dt.timedelta(days=2)
    response = client.post(
        reverse("compose", kwargs={"ws": team.workspace.slug}),
        {
            "title": "Soldes",
            "text": "Les soldes https://shop.example/soldes",
            "channels": [str(channel.pk)],
            "when": "at",
            "at": f"{day.isoformat()}T10:00",
            "time_zone": "Europe/Paris",
            "short_links": "1",
            "save": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    post = Post.objects.get()
    assert post.short_links is True
    assert "/l/" in post.publications.get().outgoing().text


def test_the_workspace_default_ticks_the_composer_box(team, client_for, channel) -> None:
    from portevoix.roi import actions

    client = client_for(team["content"])
    page = client.get(reverse("compose", kwargs={"ws": team.workspace.slug})).content.decode()
    assert 'id="c-short" name="short_links" value="1" >' in page
    actions.update_money_settings(
        team.workspace, by=team["manager"], currency="EUR", short_links_default=True
    )
    page = client.get(reverse("compose", kwargs={"ws": team.workspace.slug})).content.decode()
    assert 'id="c-short" name="short_links" value="1" checked>' in page


def _link(post) -> ShortLink:
    Publication.objects.get(post=post).outgoing()
    return ShortLink.objects.order_by("id").first()


def test_the_redirect_sends_to_the_stored_target_and_counts_one_row_per_day(post) -> None:
    link = _link(post)
    url = reverse("roi_short_link", kwargs={"code": link.code})
    for _ in range(3):
        response = Client().get(url, HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 302
        assert response["Location"] == link.target
        assert response["Cache-Control"] == "no-store"
    assert LinkClicks.objects.get(link=link).count == 3
    assert LinkClicks.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_USER_AGENT": "facebookexternalhit/1.1"},
        {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
        {"HTTP_USER_AGENT": "Slackbot-LinkExpanding 1.0"},
        {"HTTP_USER_AGENT": BROWSER, "HTTP_SEC_PURPOSE": "prefetch"},
        {"HTTP_USER_AGENT": BROWSER, "HTTP_PURPOSE": "prefetch"},
        {},
    ],
)
def test_robots_and_prefetches_are_sent_on_but_not_counted(post, headers) -> None:
    link = _link(post)
    response = Client().get(reverse("roi_short_link", kwargs={"code": link.code}), **headers)
    assert response.status_code == 302 and response["Location"] == link.target
    assert not LinkClicks.objects.exists()


def test_no_open_redirect_and_nothing_for_unknown_codes(post, team) -> None:
    link = _link(post)
    client = Client()
    for code in ("A" * 12, "x", link.code + "x", "../../evil"):
        assert client.get(f"/l/{code}", HTTP_USER_AGENT=BROWSER).status_code == 404
    # A URL in the query string changes nothing: only the stored target is used.
    response = client.get(f"/l/{link.code}?next=https://evil.example/", HTTP_USER_AGENT=BROWSER)
    assert response["Location"] == link.target
    assert client.post(f"/l/{link.code}").status_code == 405
    # An archived workspace's links stop.
    team.workspace.archived_at = timezone.now()
    team.workspace.save()
    assert client.get(f"/l/{link.code}", HTTP_USER_AGENT=BROWSER).status_code == 404


def test_clicks_per_channel_campaign_and_post_on_the_dashboard(
    post, team, client_for, channel
) -> None:
    link = _link(post)
    for _ in range(4):
        Client().get(f"/l/{link.code}", HTTP_USER_AGENT=BROWSER)
    page = client_for(team["creative"]).get(
        reverse("analytics", kwargs={"ws": team.workspace.slug})
    )
    html = page.content.decode()
    assert 'id="link-clicks"' in html and "Soldes d&#x27;hiver" in html
    # Clicks are analytics; the money tables are not for the creative.
    assert 'id="roi"' not in html
    manager = client_for(team["manager"]).get(
        reverse("analytics", kwargs={"ws": team.workspace.slug})
    )
    assert 'id="roi-channels"' in manager.content.decode()
    csv = client_for(team["creative"]).get(
        reverse("analytics_csv", kwargs={"ws": team.workspace.slug, "chart": "link_clicks"})
    )
    assert csv.status_code == 200
    today = timezone.now().astimezone(dt.UTC).date().isoformat()
    assert f"{today},4," in csv.content.decode()
    refused = client_for(team["creative"]).get(
        reverse("analytics_csv", kwargs={"ws": team.workspace.slug, "chart": "roi"})
    )
    assert refused.status_code == 404
