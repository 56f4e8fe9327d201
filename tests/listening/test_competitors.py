"""Competitors side by side: public figures collected as rows, from recorded HTTP built from
the networks' documentation (``fixtures/README.md``) and from the sandbox world."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
import respx
from django.urls import reverse
from django.utils import timezone

from portevoix.listening import actions, competitors
from portevoix.listening.models import AccountSnapshot, FollowedAccount
from portevoix.worker import runner
from tests.conftest import ALL_ROLES, Team, signed_in

pytestmark = pytest.mark.django_db


def _ago(days: float) -> str:
    return (timezone.now() - dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")


def feed_item(n: int, days: float, likes: int, *, repost: bool = False) -> dict[str, Any]:
    """An item of app.bsky.feed.getAuthorFeed (https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed)."""
    item: dict[str, Any] = {
        "post": {
            "uri": f"at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k{n:011d}",
            "cid": "bafyreib2rxk3rh6kzwq",
            "author": {"did": "did:plc:z72i7hdynmk6r22z27h6tvur", "handle": "rosee.bsky.social"},
            "record": {"$type": "app.bsky.feed.post", "text": f"Post {n}", "createdAt": _ago(days)},
            "replyCount": 1,
            "repostCount": 2,
            "likeCount": likes,
            "quoteCount": 0,
            "indexedAt": _ago(days),
        }
    }
    if repost:
        item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost"}
    return item


@respx.mock
def test_bluesky_figures_from_the_public_appview(team: Team) -> None:
    respx.get(f"{competitors.APPVIEW}/xrpc/app.bsky.actor.getProfile").mock(
        return_value=httpx.Response(
            200,
            json={
                "did": "did:plc:z72i7hdynmk6r22z27h6tvur",
                "handle": "rosee.bsky.social",
                "displayName": "Rosée Paris",
                "followersCount": 12840,
                "followsCount": 120,
                "postsCount": 950,
            },
        )
    )
    feed = respx.get(f"{competitors.APPVIEW}/xrpc/app.bsky.feed.getAuthorFeed").mock(
        return_value=httpx.Response(
            200,
            json={
                "feed": [
                    feed_item(1, 1, 40),
                    feed_item(2, 3, 10),
                    feed_item(3, 5, 99, repost=True),  # someone else's post: left out
                    feed_item(4, 10, 4),
                    feed_item(5, 40, 500),  # older than the window
                ]
            },
        )
    )
    account = actions.follow_account(
        team.workspace,
        by=team["analyst"],
        label="Rosée Paris",
        network="bluesky",
        handle="@Rosee.bsky.social",
        side="competitor",
    )
    assert account.handle == "rosee.bsky.social"
    assert runner.run_once([FollowedAccount]) == 1
    assert feed.calls[0].request.url.params["filter"] == "posts_no_replies"
    snap = AccountSnapshot.objects.get(account=account)
    assert snap.followers == 12840
    assert snap.posts == 3
    assert snap.posts_per_week == pytest.approx(3 / 28 * 7, abs=0.01)
    # likes + reposts + replies: (43 + 13 + 7) / 3
    assert snap.engagement_per_post == pytest.approx(21.0)
    assert [p["engagement"] for p in snap.best_posts] == [43, 13, 7]
    account.refresh_from_db()
    assert account.display_name == "Rosée Paris"
    assert account.next_attempt_at > timezone.now() + dt.timedelta(hours=5)


@respx.mock
def test_mastodon_figures_and_an_unknown_account(team: Team) -> None:
    respx.get("https://mastodon.example/api/v1/accounts/lookup").mock(
        side_effect=lambda request: (
            httpx.Response(
                200,
                json={
                    "id": "23634",
                    "username": "bellepeau",
                    "acct": "bellepeau",
                    "display_name": "Belle Peau",
                    "url": "https://mastodon.example/@bellepeau",
                    "followers_count": 318,
                },
            )
            if request.url.params["acct"] == "bellepeau"
            else httpx.Response(404, json={"error": "Record not found"})
        )
    )
    respx.get("https://mastodon.example/api/v1/accounts/23634/statuses").mock(
        return_value=httpx.Response(
            200,
            json=[
                {
                    "id": "1",
                    "created_at": _ago(2),
                    "content": "<p>Nouvelle gamme</p>",
                    "url": "https://mastodon.example/@bellepeau/1",
                    "favourites_count": 12,
                    "reblogs_count": 3,
                    "replies_count": 1,
                    "reblog": None,
                }
            ],
        )
    )
    found = actions.follow_account(
        team.workspace, by=team["admin"], label="Belle Peau", network="mastodon",
        handle="https://mastodon.example/@bellepeau", side="competitor",
    )  # fmt: skip
    missing = actions.follow_account(
        team.workspace, by=team["admin"], label="Typo", network="mastodon",
        handle="nobody@mastodon.example", side="competitor",
    )  # fmt: skip
    runner.run_once([FollowedAccount])
    snap = AccountSnapshot.objects.get(account=found)
    assert (snap.followers, snap.posts, snap.engagement_per_post) == (318, 1, 16.0)
    assert snap.best_posts[0]["text"] == "Nouvelle gamme"
    missing.refresh_from_db()
    assert missing.state == "failed" and "nobody@mastodon.example" in missing.problem


def test_sandbox_figures_and_the_page(team: Team) -> None:
    from portevoix.sandbox import service

    account = service.create_account("rosee-paris", display_name="Rosée Paris", follower_count=4200)
    now = timezone.now()
    for n, likes in enumerate([5, 30, 12]):
        account.posts.create(
            network_id=f"sbx-{n}",
            idempotency_key=f"k{n}",
            text=f"Post {n}",
            received_at=now - dt.timedelta(days=n + 1),
            likes=likes,
            shares=1,
            comments=0,
        )
    actions.follow_account(
        team.workspace, by=team["admin"], label="Rosée Paris", network="sandbox",
        handle="rosee-paris", side="competitor",
    )  # fmt: skip
    runner.run_once([FollowedAccount])
    snap = AccountSnapshot.objects.get()
    assert (snap.followers, snap.posts) == (4200, 3)
    assert snap.engagement_per_post == pytest.approx((6 + 31 + 13) / 3, abs=0.01)
    client = signed_in(team["viewer"].user)
    page = client.get(reverse("listening_competitors", kwargs={"ws": team.workspace.slug}))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Rosée Paris" in body and "<svg" in body
    assert re.search("4[\u00a0\u202f ,]200", body)  # grouped as the language writes it
    assert "Follow an account" not in body and "Suivre un compte" not in body  # viewer


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_listening_managers_follow_accounts(team: Team, role: str) -> None:
    client = signed_in(team[role].user)
    url = reverse("listening_competitors", kwargs={"ws": team.workspace.slug})
    response = client.post(
        url, {"label": "X", "side": "competitor", "network": "sandbox", "handle": f"x-{role}"}
    )
    if role in ("admin", "manager", "analyst"):
        assert response.status_code == 302
    else:
        assert response.status_code == 403
    assert FollowedAccount.objects.filter(handle=f"x-{role}").exists() == (
        response.status_code == 302
    )


def test_a_bad_handle_is_shown_in_place(team: Team) -> None:
    client = signed_in(team["manager"].user)
    url = reverse("listening_competitors", kwargs={"ws": team.workspace.slug})
    response = client.post(
        url, {"label": "Rosée", "side": "competitor", "network": "mastodon", "handle": "rosee"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "roseeparis@mastodon.social" in body and 'value="Rosée"' in body


def test_canvas_competitors_are_suggested() -> None:
    text = "Rosée : @rosee-paris.bsky.social et @rosee@mastodon.social ; site rosee.fr ; @marque"
    assert competitors.from_canvas(text) == [
        ("bluesky", "rosee-paris.bsky.social"),
        ("mastodon", "rosee@mastodon.social"),
    ]


def test_another_workspace_cannot_touch_an_account(team: Team) -> None:
    account = actions.follow_account(
        team.workspace, by=team["admin"], label="R", network="sandbox", handle="r",
        side="competitor",
    )  # fmt: skip
    outsider = signed_in(team.outsider.user)
    response = outsider.post(
        reverse(
            "listening_account_unfollow",
            kwargs={"ws": team.outsider.workspace.slug, "pk": account.pk},
        )
    )
    assert response.status_code == 404
    assert FollowedAccount.objects.filter(pk=account.pk).exists()


def test_the_demo_fills_sources_and_competitors(team: Team) -> None:
    from portevoix.listening import demo
    from portevoix.listening.models import ListeningSource, Mention
    from portevoix.sandbox import service

    service.create_account("acme-shop", display_name="Acme", workspace=team.workspace)
    for name, kind, text in demo.QUERIES:
        actions.create_query(team.workspace, by=team["admin"], name=name, kind=kind, text=text)
    demo.load_sources_demo(team.workspace)
    demo.load_competitors_demo(team.workspace)
    demo.load_sources_demo(team.workspace)  # again: nothing doubled
    demo.load_competitors_demo(team.workspace)
    for network in ("bluesky", "mastodon", "youtube", "instagram", "x"):
        source = ListeningSource.objects.get(network=network)
        assert source.state == "paused" and source.mentions_stored > 0
        assert Mention.objects.filter(source=source).count() == source.mentions_stored
    sources_page = signed_in(team["viewer"].user).get(
        reverse("listening_sources", kwargs={"ws": team.workspace.slug})
    )
    assert "Recherche YouTube" in sources_page.content.decode()
    assert "#skincare" in sources_page.content.decode()
    rows = FollowedAccount.objects.filter(workspace=team.workspace)
    assert {a.side for a in rows} == {"own", "competitor"} and rows.count() == 3
    assert all(a.snapshots.count() == 5 for a in rows)
    assert all(a.snapshots.first().posts_per_week > 0 for a in rows if a.side == "competitor")
    page = signed_in(team["viewer"].user).get(
        reverse("listening_competitors", kwargs={"ws": team.workspace.slug})
    )
    body = page.content.decode()
    assert body.count('class="pv-figure"') == 1  # the followers' line, over five days
    assert body.count("<svg") >= 3  # and the two bar charts
    # Followers are written with the language's thousands separator (18 400, 18,400).
    biggest = max(a.snapshots.order_by("-taken_at").first().followers for a in rows)
    assert biggest >= 1000
    assert f'<td class="num">{biggest}</td>' not in body
    grouped = re.escape(f"{biggest // 1000}") + "[\u00a0\u202f ,]" + f"{biggest % 1000:03d}"
    assert re.search(f'<td class="num">{grouped}</td>', body), biggest


def test_the_charts_labels_fit_inside_them(team: Team) -> None:
    """The followers chart cut its line labels ("Lumière Cosmétiq…" past its right edge):
    each label now fits inside the chart, and the network is named only when it tells the
    accounts apart."""
    from portevoix.reports.charts import CHAR_WIDTH

    now = timezone.now()
    for handle, label in (("lumiere", "Lumière Cosmétiques"), ("rosee", "Rosée Paris")):
        account = FollowedAccount.objects.create(
            workspace=team.workspace, label=label, network="sandbox", handle=handle,
            side="competitor",
        )  # fmt: skip
        for days in (0, 1, 2):
            AccountSnapshot.objects.create(
                account=account, taken_at=now - dt.timedelta(days=days), followers=18_400
            )
    page = signed_in(team["viewer"].user).get(
        reverse("listening_competitors", kwargs={"ws": team.workspace.slug})
    )
    body = page.content.decode()
    charts = re.findall(r'<svg[^>]*class="pv-chart".*?</svg>', body, flags=re.S)
    assert len(charts) == 3
    for svg in charts:
        width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))  # type: ignore[union-attr]
        for attributes, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", svg):
            if "text-anchor" in attributes:
                continue  # centred or ending at x: only texts drawn rightwards can run over
            x = float(re.search(r'x="([\d.]+)"', attributes).group(1))  # type: ignore[union-attr]
            assert x + len(text) * CHAR_WIDTH <= width, text
    assert "Lumière Cosmétiques (18" in body
    assert "· sandbox" not in body  # one network: its name says nothing
