"""Competitors side by side: public accounts followed beside the brand's own.

Each :class:`~portevoix.listening.models.FollowedAccount` is a row with a state: every
:data:`INTERVAL` the worker collects its public figures from public endpoints and stores one
:class:`~portevoix.listening.models.AccountSnapshot`:

* **Bluesky**, on the public AppView without a login:
  ``app.bsky.actor.getProfile`` (followers) and ``app.bsky.feed.getAuthorFeed``
  (``filter=posts_no_replies``; reposts left out) —
  https://docs.bsky.app/docs/api/app-bsky-actor-get-profile,
  https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed;
* **Mastodon**, on the account's own instance: ``GET /api/v1/accounts/lookup?acct=``
  then ``GET /api/v1/accounts/:id/statuses?exclude_replies=true&exclude_reblogs=true`` —
  https://docs.joinmastodon.org/methods/accounts/#lookup,
  https://docs.joinmastodon.org/methods/accounts/#statuses;
* **the sandbox world**, for the demo: the account's followers and the posts the world holds.

From the posts of the last :data:`WINDOW_DAYS` days read (one page: up to 100 on Bluesky, 40
on Mastodon): the posting rhythm (posts per week over the span they cover), the engagement per
post (likes + reposts + replies, and quotes on Bluesky) and the three best posts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from django.utils import timezone

from portevoix.networks.http import GuardedTransport
from portevoix.networks.mastodon import plain_text
from portevoix.worker.models import Outcome

from .models import AccountSnapshot, FollowedAccount

INTERVAL = 6 * 3600
WINDOW_DAYS = 28
#: Bluesky's public AppView (no login).
APPVIEW = "https://public.api.bsky.app"
NETWORKS = ("bluesky", "mastodon", "sandbox")


class AccountNotFound(Exception):
    """The network does not know this account (a typo, a deleted account)."""


@dataclass(frozen=True)
class PublicPostFigures:
    text: str
    url: str
    at: datetime
    engagement: int


@dataclass(frozen=True)
class Collected:
    display_name: str
    url: str
    followers: int
    posts: list[PublicPostFigures]
    #: The page read was full: older posts in the window may exist beyond it.
    page_full: bool = False


def http_client(*, read: float = 15.0, follow_redirects: bool = True) -> httpx.Client:
    """A client for the networks' endpoints, through the guard against private addresses:
    competitors, the authors of Bluesky mentions, and the listening sources (Mastodon, X,
    YouTube), each with the read timeout its network needs. Sources that send a key in the
    address (YouTube) or a bearer token (X) do not follow redirects."""
    return httpx.Client(
        transport=GuardedTransport(),
        timeout=httpx.Timeout(15.0, read=read),
        follow_redirects=follow_redirects,
        headers={"User-Agent": "Porte-voix listening"},
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def normalise_handle(network: str, handle: str) -> str:
    """What is stored: ``name.bsky.social``, ``user@instance.social``, a sandbox handle.
    Raises ValueError with what is expected."""
    value = handle.strip().lstrip("@").strip()
    if network == "bluesky":
        if value.startswith("https://bsky.app/profile/"):
            value = value.removeprefix("https://bsky.app/profile/").split("/")[0]
        if not re.fullmatch(r"(did:plc:[a-z2-7]{24}|([a-z0-9-]+\.)+[a-z0-9-]+)", value.lower()):
            raise ValueError("bluesky")
        return value.lower()
    if network == "mastodon":
        found = re.fullmatch(r"https?://([^/]+)/@([^/@]+)/?", value)
        if found:
            value = f"{found.group(2)}@{found.group(1)}"
        if not re.fullmatch(r"[A-Za-z0-9_.-]+@([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+", value):
            raise ValueError("mastodon")
        return value
    if network == "sandbox":
        if not re.fullmatch(r"[a-z0-9_-]+", value.lower()):
            raise ValueError("sandbox")
        return value.lower()
    raise ValueError("network")


def from_canvas(text: str) -> list[tuple[str, str]]:
    """Accounts written in the strategy canvas's competitors (``@name.bsky.social``,
    ``@user@instance.social``) as (network, handle) pairs, in the order written."""
    found: list[tuple[str, str]] = []
    for match in re.finditer(r"(?<![\w@])@([A-Za-z0-9_.-]+)(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?", text):
        user, domain = match.group(1).rstrip("."), match.group(2)
        if domain:
            pair = ("mastodon", f"{user}@{domain[1:].rstrip('.')}")
        elif "." in user:
            pair = ("bluesky", user.lower())
        else:
            continue
        if pair not in found:
            found.append(pair)
    return found


# --- the networks ----------------------------------------------------------------------------


def _bluesky(handle: str, http: httpx.Client) -> Collected:
    profile = http.get(f"{APPVIEW}/xrpc/app.bsky.actor.getProfile", params={"actor": handle})
    if profile.status_code == 400:
        raise AccountNotFound(handle)
    profile.raise_for_status()
    info = profile.json()
    feed = http.get(
        f"{APPVIEW}/xrpc/app.bsky.feed.getAuthorFeed",
        params={"actor": handle, "limit": "100", "filter": "posts_no_replies"},
    )
    feed.raise_for_status()
    posts: list[PublicPostFigures] = []
    items = feed.json().get("feed", [])
    for item in items:
        if item.get("reason"):  # a repost of someone else's post
            continue
        post = item.get("post") or {}
        record = post.get("record") or {}
        at = _time(record.get("createdAt")) or _time(post.get("indexedAt"))
        uri = str(post.get("uri", ""))
        if at is None or not uri:
            continue
        rkey = uri.rsplit("/", 1)[-1]
        posts.append(
            PublicPostFigures(
                text=str(record.get("text", "")),
                url=f"https://bsky.app/profile/{info.get('handle', handle)}/post/{rkey}",
                at=at,
                engagement=sum(
                    _int(post.get(k))
                    for k in ("likeCount", "repostCount", "replyCount", "quoteCount")
                ),
            )
        )
    return Collected(
        display_name=str(info.get("displayName") or ""),
        url=f"https://bsky.app/profile/{info.get('handle', handle)}",
        followers=_int(info.get("followersCount")),
        posts=posts,
        page_full=len(items) >= 100,
    )


def _mastodon(handle: str, http: httpx.Client) -> Collected:
    user, _, domain = handle.partition("@")
    base = f"https://{domain}"
    lookup = http.get(f"{base}/api/v1/accounts/lookup", params={"acct": user})
    if lookup.status_code == 404:
        raise AccountNotFound(handle)
    lookup.raise_for_status()
    account = lookup.json()
    statuses = http.get(
        f"{base}/api/v1/accounts/{quote(str(account['id']), safe='')}/statuses",
        params={"limit": "40", "exclude_replies": "true", "exclude_reblogs": "true"},
    )
    statuses.raise_for_status()
    posts: list[PublicPostFigures] = []
    page = statuses.json()
    for status in page:
        at = _time(status.get("created_at"))
        if at is None or status.get("reblog"):
            continue
        posts.append(
            PublicPostFigures(
                text=plain_text(str(status.get("content") or "")),
                url=str(status.get("url") or status.get("uri") or ""),
                at=at,
                engagement=sum(
                    _int(status.get(k))
                    for k in ("favourites_count", "reblogs_count", "replies_count")
                ),
            )
        )
    return Collected(
        display_name=str(account.get("display_name") or ""),
        url=str(account.get("url") or ""),
        followers=_int(account.get("followers_count")),
        posts=posts,
        page_full=len(page) >= 40,
    )


def _sandbox(handle: str) -> Collected:
    from portevoix.sandbox.models import PostKind, SandboxAccount

    account = SandboxAccount.objects.filter(handle=handle).first()
    if account is None:
        raise AccountNotFound(handle)
    since = timezone.now() - timedelta(days=WINDOW_DAYS)
    rows = list(
        account.posts.filter(
            kind=PostKind.POST, part=0, deleted_at__isnull=True, received_at__gte=since
        ).order_by("-received_at")[:100]
    )
    return Collected(
        display_name=account.display_name,
        url="",
        followers=account.follower_count,
        posts=[
            PublicPostFigures(
                text=row.text,
                url="",
                at=row.received_at,
                engagement=row.likes + row.shares + row.comments,
            )
            for row in rows
        ],
        page_full=len(rows) >= 100,
    )


def collect(network: str, handle: str, *, http: httpx.Client | None = None) -> Collected:
    if network == "sandbox":
        return _sandbox(handle)
    with http or http_client() as session:
        if network == "bluesky":
            return _bluesky(handle, session)
        if network == "mastodon":
            return _mastodon(handle, session)
    raise AccountNotFound(f"{network}: {handle}")


def snapshot(account: FollowedAccount, found: Collected) -> AccountSnapshot:
    now = timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    recent = [p for p in found.posts if p.at >= since]
    if recent:
        oldest = min(p.at for p in recent)
        # The span the posts cover: the whole window when the page reached back that far.
        covers_window = len(recent) < len(found.posts) or not found.page_full
        days = WINDOW_DAYS if covers_window else max(1.0, (now - oldest).total_seconds() / 86400)
    else:
        days = WINDOW_DAYS
    best = sorted(recent, key=lambda p: p.engagement, reverse=True)[:3]
    return AccountSnapshot.objects.create(
        account=account,
        taken_at=now,
        followers=found.followers,
        posts=len(recent),
        window_days=round(days, 2),
        posts_per_week=round(len(recent) / days * 7, 2),
        engagement_per_post=(
            round(sum(p.engagement for p in recent) / len(recent), 2) if recent else 0.0
        ),
        best_posts=[
            {
                "text": p.text[:500],
                "url": p.url,
                "at": p.at.isoformat(),
                "engagement": p.engagement,
            }
            for p in best
        ],
    )


def collect_row(account: FollowedAccount, *, http: httpx.Client | None = None) -> Outcome:
    """The handler of ``following``: one snapshot, then due again after :data:`INTERVAL`."""
    try:
        found = collect(account.network, account.handle, http=http)
    except AccountNotFound:
        return Outcome(
            "failed",
            fields={"problem": f"{account.network} does not know the account {account.handle}."},
        )
    snapshot(account, found)
    fields: dict[str, Any] = {"problem": ""}
    if found.display_name:
        fields["display_name"] = found.display_name[:300]
    if found.url:
        fields["url"] = found.url[:500]
    return Outcome("following", delay=INTERVAL, fields=fields)
