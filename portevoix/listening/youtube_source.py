"""YouTube as a listening source: ``search.list`` for new videos that may match.

https://developers.google.com/youtube/v3/docs/search/list — ``part=snippet&type=video``,
``q`` compiled from the workspace's listening queries (:mod:`.pushdown`: words, phrases,
``|``, ``-``; the rest is filtered here by the one matcher), ``order=date`` and
``publishedAfter`` as the cursor (the newest ``publishedAt`` read; each read asks from an hour
before it, because YouTube's search index shows a video some time after its publication; what
is read twice is stored once).

Credentials: the OAuth token of a connected YouTube channel of the workspace (refreshed like
the channel's own calls, the new token stored on the channel), or the installation's API key
(``PORTEVOIX_YOUTUBE_API_KEY``), for a workspace without a channel.

**Quota.** A search costs 100 units of the Google project's 10,000 a day
(https://developers.google.com/youtube/v3/determine_quota_cost), which the project's channels
also spend on publishing and comments. Each source therefore keeps its own budget per day
(``PORTEVOIX_YOUTUBE_LISTENING_UNITS``, 2,000 by default: 20 searches), counted on its row
before each call in the Pacific-time day Google counts in, and spreads it over the day (one
read every 86,400 / searches seconds); each search is counted in the project's ledger too
(``channels.quota.DatabaseLedger``, shared with the channels' publishing, in every process).
When its budget, or Google's (``403 quotaExceeded``), is spent, the source waits until
midnight Pacific time and says so on the sources page.

**Reach**: ``channels.list(part=snippet,statistics, id=…)`` for the channels of the videos
that matched (1 unit for up to 50): ``statistics.subscriberCount`` and the channel's handle.
An optional call: when it fails, the mention is stored without its reach.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence
from portevoix.networks.errors import AuthExpired, NetworkError, RateLimited
from portevoix.networks.youtube import (
    API_ROOT,
    DAILY_QUOTA,
    Ledger,
    next_quota_reset,
    quota_day,
)

from . import competitors, pipeline, pushdown, sources
from .models import ListeningSource

log = logging.getLogger(__name__)

SEARCH_UNITS = 100
CHANNELS_UNITS = 1
#: Pages (of 50 videos) read per slice at most, budget allowing.
MAX_PAGES = 3
#: Each read asks from this long before the cursor (YouTube indexes videos late).
OVERLAP = timedelta(hours=1)
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_AUTH_REASONS = frozenset({"authError", "unauthorized", "keyInvalid", "keyExpired"})


def api_url(path: str) -> str:
    return f"{API_ROOT.rstrip('/')}/youtube/v3/{path}"


def budget() -> int:
    return int(getattr(settings, "PORTEVOIX_YOUTUBE_LISTENING_UNITS", 2000) or 2000)


def pause_seconds() -> float:
    """The daily budget's searches spread over the day (at least 10 minutes apart)."""
    searches = max(1, budget() // SEARCH_UNITS)
    return max(600.0, 86400.0 / searches)


def _cursor_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", response.reason_phrase
    details = error.get("errors") or [{}]
    first = details[0] if isinstance(details, list) and details else {}
    reason = str(first.get("reason") or error.get("status") or "")
    return reason, str(error.get("message") or "")[:300]


class _Reader:
    """The HTTP side: the key or the channel's token, one renewal after a 401."""

    def __init__(self, source: ListeningSource, http: httpx.Client) -> None:
        self.source = source
        self.http = http
        self.network: Any = None
        self.key = ""
        if source.channel_id is None and source.url == "apikey":
            self.key = str(getattr(settings, "PORTEVOIX_YOUTUBE_API_KEY", "") or "")
            if not self.key:
                raise sources.SourceRefused(
                    "No YouTube API key is configured (PORTEVOIX_YOUTUBE_API_KEY).",
                    sentence=Sentence(
                        gettext_noop(
                            "No YouTube API key is configured on this installation "
                            "(PORTEVOIX_YOUTUBE_API_KEY): ask its operators, or add the "
                            "source again with a connected YouTube channel."
                        )
                    ),
                )
        else:
            self.network = sources.channel_client(source)
        self.token = ""

    def _token(self, *, renew: bool = False) -> str:
        network = self.network
        try:
            if renew:
                self.token = network.refresh_credentials().get("access_token")
                return self.token
            if not self.token:
                credentials = network.credentials
                token = credentials.get("access_token")
                expires = _cursor_time(credentials.get("expires_at") or "")
                now = datetime.now(UTC)
                if not token or expires is None or expires - timedelta(seconds=60) <= now:
                    token = network.refresh_credentials().get("access_token")
                self.token = token
        except AuthExpired:
            raise _reconnect(self.source) from None
        return self.token

    def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        for attempt in (1, 2):
            headers: dict[str, str] = {"Accept": "application/json"}
            query = dict(params)
            if self.key:
                query["key"] = self.key
            else:
                headers["Authorization"] = f"Bearer {self._token(renew=attempt == 2)}"
            response = self.http.get(api_url(path), params=query, headers=headers)
            if response.status_code == 401 and attempt == 1 and not self.key:
                continue
            if response.status_code >= 400:
                raise self._error(response)
            body = response.json()
            return body if isinstance(body, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, response: httpx.Response) -> Exception:
        reason, message = _reason(response)
        now = datetime.now(UTC)
        if reason in _QUOTA_REASONS:
            return RateLimited(
                message, reset_at=next_quota_reset(now), network="youtube", code=reason
            )
        if response.status_code == 429 or reason in ("rateLimitExceeded", "userRateLimitExceeded"):
            return RateLimited(
                message,
                reset_at=now + timedelta(minutes=15),
                network="youtube",
                code=reason or "429",
            )
        if response.status_code == 401 or reason in _AUTH_REASONS:
            return _reconnect(self.source)
        if response.status_code >= 500:
            return NetworkError(f"YouTube answered {response.status_code}: {message}")
        return sources.SourceRefused(
            f"YouTube refused the search ({response.status_code} {reason}): {message}",
            sentence=Sentence(
                gettext_noop("YouTube refused the search (%(code)s): %(message)s"),
                {"code": f"{response.status_code} {reason}".strip(), "message": message},
            ),
        )


def _reconnect(source: ListeningSource) -> sources.SourceRefused:
    if source.channel_id is None:
        return sources.SourceRefused(
            "Google refuses the installation's YouTube API key.",
            sentence=Sentence(
                gettext_noop(
                    "Google refuses the installation's YouTube API key "
                    "(PORTEVOIX_YOUTUBE_API_KEY): ask its operators."
                )
            ),
        )
    return sources.SourceRefused(
        "YouTube no longer accepts the channel's authorisation: reconnect the channel.",
        sentence=Sentence(
            gettext_noop(
                "YouTube no longer accepts the authorisation of the channel this source reads "
                "with (expired or revoked): reconnect the channel, then start the source again."
            )
        ),
    )


def _quota_used_up(until: datetime, *, google: bool) -> sources.SourceWaiting:
    message = (
        gettext_noop(
            "Google's YouTube quota for the project is used up until midnight Pacific time."
        )
        if google
        else gettext_noop(
            "This source's YouTube quota for today is used up until midnight Pacific time."
        )
    )
    return sources.SourceWaiting(until, Sentence(message))


def project_quota(reader: _Reader) -> tuple[Ledger, str, int]:
    """The ledger, project and daily budget a search spends from: the connected channel's
    Google project (its OAuth client id, counted with its publishing and replies, in every
    process), or the installation's API key's project."""
    from portevoix.channels.quota import DatabaseLedger

    network = reader.network
    if network is not None:
        return network.ledger, network.project, network.budget("units")
    digest = hashlib.sha256(reader.key.encode()).hexdigest()[:16]
    return DatabaseLedger("youtube"), f"apikey:{digest}", DAILY_QUOTA


def _spend(source: ListeningSource, reader: _Reader, units: int, now: datetime) -> None:
    """Count the units before the call, in the source's own budget and in the Google
    project's, or wait until Pacific midnight when either has none left."""
    day = quota_day(now)
    spent = source.units_spent if source.units_day == day else 0
    if spent + units > budget():
        raise _quota_used_up(next_quota_reset(now), google=False)
    ledger, project, daily = project_quota(reader)
    try:
        ledger.spend(project, "units", units, daily, now, label="YouTube listening")
    except RateLimited:
        raise _quota_used_up(next_quota_reset(now), google=True) from None
    sources.spend_units(source, day, units)


def post_of(item: dict[str, Any]) -> tuple[pipeline.PublicPost, str] | None:
    """A ``youtube#searchResult`` as a public post, and its channel's id."""
    video = (item.get("id") or {}).get("videoId")
    snippet = item.get("snippet") or {}
    if not isinstance(video, str) or not video or not isinstance(snippet, dict):
        return None
    title = html.unescape(str(snippet.get("title") or ""))
    description = html.unescape(str(snippet.get("description") or ""))
    text = f"{title}\n{description}".strip()
    if not text:
        return None
    published = _cursor_time(str(snippet.get("publishedAt") or "")) or datetime.now(UTC)
    channel_title = str(snippet.get("channelTitle") or "")
    channel_id = str(snippet.get("channelId") or "")
    return (
        pipeline.PublicPost(
            external_id=video,
            network="youtube",
            text=text,
            posted_at=published,
            author_handle=channel_title or channel_id,
            author_id=channel_id,
            author_name=channel_title,
            url=f"https://www.youtube.com/watch?v={video}",
        ),
        channel_id,
    )


def _with_reach(
    source: ListeningSource, reader: _Reader, channels: dict[str, str]
) -> Callable[[list[pipeline.PublicPost]], list[pipeline.PublicPost]]:
    """The pipeline's ``enrich``: subscribers and handle of the matched videos' channels. An
    optional call (1 unit): any failure leaves the posts as they are."""

    def enrich(posts: list[pipeline.PublicPost]) -> list[pipeline.PublicPost]:
        import dataclasses

        ids = sorted({channels[p.external_id] for p in posts if channels.get(p.external_id)})
        if not ids:
            return posts
        try:
            _spend(source, reader, CHANNELS_UNITS, datetime.now(UTC))
            body = reader.get("channels", {"part": "snippet,statistics", "id": ",".join(ids[:50])})
        except Exception as error:  # optional: it costs the reach, not the mention
            log.info("youtube listening: channels.list failed (%s); stored without reach", error)
            return posts
        found: dict[str, tuple[int, str]] = {}
        for row in body.get("items") or []:
            if not isinstance(row, dict):
                continue
            stats = row.get("statistics") or {}
            try:
                subscribers = int(stats.get("subscriberCount") or 0)
            except (TypeError, ValueError):
                subscribers = 0
            handle = str((row.get("snippet") or {}).get("customUrl") or "")
            found[str(row.get("id"))] = (subscribers, handle)
        completed = []
        for post in posts:
            reach, handle = found.get(channels.get(post.external_id, ""), (0, ""))
            completed.append(
                dataclasses.replace(
                    post, author_reach=reach, author_handle=handle or post.author_handle
                )
            )
        return completed

    return enrich


def client() -> httpx.Client:
    return competitors.http_client(read=30.0, follow_redirects=False)


def read_slice(source: ListeningSource, *, http: httpx.Client | None = None) -> tuple[int, int]:
    """Search the videos published since the cursor; returns (videos read, mentions stored)."""
    pushed = pushdown.for_source(source, "youtube")
    if not pushed.text:
        raise sources.SourceRefused(
            "Nothing of the listening queries can be asked of YouTube.",
            sentence=Sentence(
                gettext_noop(
                    "Nothing of this source's listening queries can be asked of YouTube (only "
                    "prefixes, filters or negations, or no active query): change the query."
                )
            ),
        )
    now = datetime.now(UTC)
    cursor = _cursor_time(source.cursor) if source.cursor else None
    params = {
        "part": "snippet",
        "type": "video",
        "order": "date",
        "maxResults": "50",
        "q": pushed.text,
    }
    if cursor is not None:
        params["publishedAfter"] = _iso(cursor - OVERLAP)
    read = stored = 0
    newest = cursor
    pages = 0
    with http or client() as session:
        reader = _Reader(source, session)
        try:
            for _page in range(MAX_PAGES):
                try:
                    _spend(source, reader, SEARCH_UNITS, now)
                except sources.SourceWaiting:
                    if pages == 0:
                        raise
                    break  # the budget ends a burst: what was read counts, the rest is skipped
                body = reader.get("search", params)
                pages += 1
                found = [p for p in (post_of(i) for i in body.get("items") or []) if p]
                posts = [p for p, _ in found]
                channels = {p.external_id: c for p, c in found}
                fresh = [p for p in posts if cursor is None or p.posted_at > cursor]
                now_stored = (
                    pipeline.ingest(source, posts, enrich=_with_reach(source, reader, channels))
                    if posts
                    else 0
                )
                latest = max((p.posted_at for p in posts), default=None)
                if latest is not None and (newest is None or latest > newest):
                    newest = latest
                sources.commit(
                    source, cursor=None, read=len(fresh), stored=now_stored, last_event_at=latest
                )
                read += len(fresh)
                stored += now_stored
                token = body.get("nextPageToken")
                # The first read takes the newest page only: listening starts now. Older
                # pages are older than the cursor: stop there.
                if cursor is None or not token or len(fresh) < len(posts):
                    break
                params["pageToken"] = str(token)
        except RateLimited as limited:
            if limited.code in _QUOTA_REASONS:
                day = quota_day(now)
                sources.spend_units(source, day, max(0, budget() - source.units_spent))
                # Google's word: nothing more from the project today, for publishing either.
                ledger, project, daily = project_quota(reader)
                ledger.exhaust(project, "units", daily, now)
                raise _quota_used_up(
                    limited.reset_at or next_quota_reset(now), google=True
                ) from None
            raise sources.SourceWaiting(
                limited.reset_at or now + timedelta(minutes=15),
                Sentence(gettext_noop("YouTube asks to slow down: reading again later.")),
            ) from None
    # The cursor moves once every page of the burst is stored (a failure in between reads
    # them again: at least once).
    if newest is not None and (cursor is None or newest > cursor):
        sources.commit(source, cursor=_iso(newest), read=0, stored=0)
    return read, stored
