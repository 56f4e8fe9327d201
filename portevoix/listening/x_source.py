"""X as a listening source: the recent search (the last 7 days).

https://docs.x.com/x-api/posts/search/api-reference/get-tweets-search-recent —
``GET /2/tweets/search/recent?query=…&since_id=…`` with ``expansions=author_id`` and
``user.fields=public_metrics`` (the author's followers: the mention's reach). The query is
compiled from the workspace's listening queries where X's operators allow it
(:mod:`.pushdown`); what X cannot be asked (prefixes ``lumi*``, proximity, a NOT of a group)
is filtered here by the one matcher. Cursor: the newest post id read (``since_id``); a burst of
several pages moves it once every page is stored.

Credentials: the OAuth 2.0 token of a connected X channel of the workspace, renewed (and
stored on the channel) when it runs out. X bills every post read and sells search only with a
paid plan: ``403 client-not-enrolled`` (or a bare ``Forbidden``) and ``402`` stop this source
with "this X app has no access to search (paid plan needed)", and nothing else. A ``429``
waits until ``x-rate-limit-reset``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence
from portevoix.networks.errors import AuthExpired
from portevoix.networks.http import parse_reset
from portevoix.networks.x import DEFAULT_API_URL

from . import competitors, pipeline, pushdown, sources
from .models import ListeningSource

#: Pages of 100 posts read per slice at most (every post read is billed).
MAX_PAGES = 3
FIELDS = {
    "tweet.fields": "created_at,lang,author_id",
    "expansions": "author_id",
    "user.fields": "username,name,public_metrics",
}


def _time(value: Any) -> datetime:
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def posts_of(body: dict[str, Any]) -> list[pipeline.PublicPost]:
    """The posts of a search answer, with their authors from ``includes.users``."""
    users = {
        str(u.get("id")): u
        for u in ((body.get("includes") or {}).get("users") or [])
        if isinstance(u, dict)
    }
    posts = []
    for row in body.get("data") or []:
        if not isinstance(row, dict) or not row.get("id") or not row.get("text"):
            continue
        user = users.get(str(row.get("author_id")), {})
        username = str(user.get("username") or row.get("author_id") or "")
        followers = (user.get("public_metrics") or {}).get("followers_count")
        posts.append(
            pipeline.PublicPost(
                external_id=str(row["id"]),
                network="x",
                text=str(row["text"]),
                posted_at=_time(row.get("created_at")),
                author_handle=username,
                author_id=str(row.get("author_id") or ""),
                author_name=str(user.get("name") or ""),
                author_reach=followers if isinstance(followers, int) and followers > 0 else 0,
                language=str(row.get("lang") or "")[:12] if row.get("lang") != "und" else "",
                url=f"https://x.com/{username}/status/{row['id']}",
            )
        )
    return posts


def paid_plan_needed(detail: str = "") -> sources.SourceRefused:
    return sources.SourceRefused(
        f"This X app has no access to search (paid plan needed). {detail}".strip(),
        sentence=Sentence(gettext_noop("This X app has no access to search (paid plan needed).")),
    )


class _Reader:
    def __init__(self, source: ListeningSource, http: httpx.Client) -> None:
        self.source = source
        self.http = http
        self.network: Any = sources.channel_client(source)
        credentials = self.network.credentials
        self.api = (credentials.get("api_url") or DEFAULT_API_URL).rstrip("/")

    def _token(self, *, renew: bool) -> str:
        network = self.network
        credentials = network.credentials
        expires = credentials.get("expires_at")
        try:
            stale = bool(expires) and _time(expires) - timedelta(minutes=2) <= datetime.now(UTC)
            if renew or stale:
                if not credentials.get("refresh_token"):
                    raise AuthExpired("no refresh token", network="x", code="no_refresh")
                credentials = network.refresh_credentials()
        except AuthExpired:
            raise _reconnect() from None
        return str(credentials.get("access_token"))

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        for attempt in (1, 2):
            response = self.http.get(
                f"{self.api}/2/tweets/search/recent",
                params=params,
                headers={"Authorization": f"Bearer {self._token(renew=attempt == 2)}"},
            )
            if response.status_code == 401 and attempt == 1:
                continue
            if response.status_code < 300:
                body = response.json()
                return body if isinstance(body, dict) else {}
            raise self._error(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        detail = str(body.get("detail") or body.get("title") or response.reason_phrase)[:300]
        reason = str(body.get("reason") or "")
        if status == 429:
            until = parse_reset(response.headers.get("x-rate-limit-reset"))
            return sources.SourceWaiting(
                until or datetime.now(UTC) + timedelta(minutes=15),
                Sentence(gettext_noop("X's rate limit is reached: reading again when it resets.")),
            )
        if status == 401:
            return _reconnect()
        if status in (402, 403) or reason in ("client-not-enrolled", "CreditsDepleted"):
            return paid_plan_needed(detail)
        if status >= 500:
            return RuntimeError(f"X answered {status}: {detail}")
        return sources.SourceRefused(
            f"X refused the search ({status}): {detail}",
            sentence=Sentence(
                gettext_noop("X refused the search (%(status)s): %(detail)s"),
                {"status": str(status), "detail": detail},
            ),
        )


def _reconnect() -> sources.SourceRefused:
    return sources.SourceRefused(
        "X no longer accepts the channel's token: reconnect the channel.",
        sentence=Sentence(
            gettext_noop(
                "X no longer accepts the token of the channel this source reads with (expired "
                "or revoked): reconnect the channel, then start the source again."
            )
        ),
    )


def client() -> httpx.Client:
    return competitors.http_client(read=30.0, follow_redirects=False)


def read_slice(source: ListeningSource, *, http: httpx.Client | None = None) -> tuple[int, int]:
    """Read the posts newer than the cursor; returns (posts read, mentions stored)."""
    pushed = pushdown.for_source(source, "x")
    if not pushed.text:
        raise sources.SourceRefused(
            "Nothing of the listening queries can be asked of X.",
            sentence=Sentence(
                gettext_noop(
                    "Nothing of this source's listening queries can be asked of X (X needs a "
                    "word, a phrase, a hashtag or an author; or no query is active): change "
                    "the query."
                )
            ),
        )
    cursor = source.cursor if source.cursor.isdigit() else ""
    params = {"query": pushed.text, "max_results": "100", **FIELDS}
    if cursor:
        params["since_id"] = cursor
    read = stored = 0
    newest = cursor
    with http or client() as session:
        reader = _Reader(source, session)
        for _page in range(MAX_PAGES):
            body = reader.search(params)
            posts = posts_of(body)
            now_stored = pipeline.ingest(source, posts) if posts else 0
            sources.commit(
                source,
                cursor=None,
                read=len(posts),
                stored=now_stored,
                last_event_at=max((p.posted_at for p in posts), default=None),
            )
            read += len(posts)
            stored += now_stored
            meta = body.get("meta") or {}
            top = str(meta.get("newest_id") or "")
            if top.isdigit() and sources.cursor_key(top) > sources.cursor_key(newest):
                newest = top
            token = meta.get("next_token")
            if not cursor or not token:
                break  # the first read takes the newest page only: listening starts now
            params["next_token"] = str(token)
    if newest and newest != cursor:
        sources.commit(source, cursor=newest, read=0, stored=0)
    return read, stored
