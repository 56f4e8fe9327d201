"""Mastodon as a listening source: streaming, tag timelines and search on chosen instances.

A Mastodon server only knows the posts of its own users and of the accounts they follow: a
stream sees what its server sees. So listening reads several instances, each a source row:

* **streaming** (``mastodon-stream``, target ``public`` or a hashtag): the server-sent events
  of ``GET /api/v1/streaming/public`` or ``/api/v1/streaming/hashtag?tag=…``
  (https://docs.joinmastodon.org/methods/streaming/), which need a user token since 4.2 — the
  token of a connected Mastodon channel, or one configured for the instance. A stream has no
  cursor: each slice first catches up from the committed cursor with the matching timeline
  (``min_id``), then streams, so nothing posted while nobody listened is lost;
* **tag timeline** (``mastodon-tag``): ``GET /api/v1/timelines/tag/:hashtag?min_id=…``
  (https://docs.joinmastodon.org/methods/timelines/#tag), public on most servers;
* **search** (``mastodon-search``): ``GET /api/v2/search?type=statuses&min_id=…``
  (https://docs.joinmastodon.org/methods/search/#v2), with a token.

The cursor is the newest status id read (ids grow with time on a server). A post is stored
under its ``uri`` (the same on every server that knows it), so the same post read on two
instances is one mention.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from portevoix.channels import crypto
from portevoix.networks.mastodon import plain_text

from . import competitors, pipeline, sources
from .models import ListeningSource

PAGE = 40
#: Pages read per slice when catching up or polling (40 posts each).
MAX_PAGES = 10
FLUSH_SECONDS = 2.0
FLUSH_EVENTS = 200


def client() -> httpx.Client:
    return competitors.http_client(read=20.0)


def instance_url(value: str) -> str:
    """``mastodon.social``, ``https://Mastodon.Social/`` or ``mastodon.social:443`` →
    ``https://mastodon.social``: one instance, one spelling (the same stream is read once)."""
    value = value.strip()
    if "://" not in value:
        value = "https://" + value
    return sources.origin(value, ("http", "https"))


def token_of(source: ListeningSource) -> str:
    if source.channel_id and source.channel is not None and source.channel.network == "mastodon":
        token = source.channel.get_credentials().get("access_token", "")
        if token:
            return str(token)
    if source.token_encrypted:
        return str(crypto.decrypt(source.token_encrypted).get("access_token", ""))
    return ""


def _headers(source: ListeningSource, *, required: bool) -> dict[str, str]:
    token = token_of(source)
    if not token and required:
        raise sources.SourceRefused(
            "Mastodon asks for a user token here: choose a connected Mastodon channel or "
            "give a token for this instance."
        )
    return {"Authorization": f"Bearer {token}"} if token else {}


def _time(value: Any) -> datetime:
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def post_of(status: dict[str, Any], instance: str) -> pipeline.PublicPost | None:
    """A status (https://docs.joinmastodon.org/entities/Status/) as a public post."""
    status = status.get("reblog") or status
    uri = status.get("uri") or status.get("url")
    if not isinstance(uri, str) or not uri:
        return None
    if status.get("visibility") not in (None, "public", "unlisted"):
        return None
    account = status.get("account") or {}
    acct = str(account.get("acct") or account.get("username") or "")
    if acct and "@" not in acct:
        acct = f"{acct}@{urlsplit(instance).hostname}"
    text = plain_text(str(status.get("content") or ""))
    spoiler = str(status.get("spoiler_text") or "")
    if spoiler:
        text = f"{spoiler}\n{text}"
    if not text.strip():
        return None
    followers = account.get("followers_count")
    return pipeline.PublicPost(
        external_id=uri,
        network="mastodon",
        text=text,
        posted_at=_time(status.get("created_at")),
        author_handle=acct,
        author_name=str(account.get("display_name") or ""),
        author_reach=followers if isinstance(followers, int) and followers > 0 else 0,
        language=str(status.get("language") or "")[:12],
        url=str(status.get("url") or uri),
    )


def _check(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise sources.SourceRefused(
            f"The instance refuses ({response.status_code}): {_message(response)}"
        )
    if response.status_code == 404:
        raise sources.SourceRefused(f"The instance does not know this (404): {response.url}")
    response.raise_for_status()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.reason_phrase


def _store(source: ListeningSource, statuses: list[dict[str, Any]], instance: str) -> int:
    """Ingest a page of statuses and commit the newest id; returns mentions stored."""
    if not statuses:
        return 0
    posts = [p for p in (post_of(s, instance) for s in statuses) if p is not None]
    stored = pipeline.ingest(source, posts) if posts else 0
    newest = max((str(s.get("id", "")) for s in statuses), key=sources.cursor_key)
    sources.commit(
        source,
        cursor=newest,
        read=len(statuses),
        stored=stored,
        last_event_at=max((p.posted_at for p in posts), default=None),
    )
    return stored


def _poll(
    source: ListeningSource,
    http: httpx.Client,
    path: str,
    params: dict[str, str],
    *,
    headers: dict[str, str],
    key: str | None = None,
) -> tuple[int, int]:
    """Walk forward from the cursor with ``min_id``, up to :data:`MAX_PAGES` pages. Without a
    cursor (the first read) only the newest page is read: listening starts now."""
    instance = instance_url(source.url)
    read = stored = 0
    for _ in range(MAX_PAGES):
        query = {**params, "limit": str(PAGE)}
        if source.cursor:
            query["min_id"] = source.cursor
        response = http.get(f"{instance}{path}", params=query, headers=headers)
        _check(response)
        body = response.json()
        statuses = body.get(key, []) if key and isinstance(body, dict) else body
        if not isinstance(statuses, list) or not statuses:
            break
        first_read = not source.cursor
        stored += _store(source, statuses, instance)
        read += len(statuses)
        if first_read or len(statuses) < PAGE:
            break
    return read, stored


def _tag(target: str) -> str:
    return target.strip().lstrip("#")


def read_tag_slice(source: ListeningSource, *, http: httpx.Client | None = None) -> tuple[int, int]:
    with http or client() as session:
        return _poll(
            source,
            session,
            f"/api/v1/timelines/tag/{quote(_tag(source.target), safe='')}",
            {},
            headers=_headers(source, required=False),
        )


def read_search_slice(
    source: ListeningSource, *, http: httpx.Client | None = None
) -> tuple[int, int]:
    with http or client() as session:
        return _poll(
            source,
            session,
            "/api/v2/search",
            {"q": source.target, "type": "statuses", "resolve": "false"},
            headers=_headers(source, required=True),
            key="statuses",
        )


def _timeline(source: ListeningSource) -> tuple[str, str, dict[str, str]]:
    """(catch-up timeline path, streaming path, streaming params) of a stream source."""
    target = source.target.strip()
    if not target or target == "public":
        return "/api/v1/timelines/public", "/api/v1/streaming/public", {}
    tag = _tag(target)
    return (
        f"/api/v1/timelines/tag/{quote(tag, safe='')}",
        "/api/v1/streaming/hashtag",
        {"tag": tag},
    )


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent events stream; comments (``:thump``) skipped."""
    event, data = "", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", list[str]()
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        yield event or "message", "\n".join(data)


def read_stream_slice(
    source: ListeningSource,
    *,
    http: httpx.Client | None = None,
    seconds: float | None = None,
) -> tuple[int, int]:
    """Catch up from the cursor with the timeline, then stream for up to ``seconds``."""
    seconds = sources.SLICE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    headers = _headers(source, required=True)
    instance = instance_url(source.url)
    timeline, stream_path, params = _timeline(source)
    with http or client() as session:
        read, stored = _poll(source, session, timeline, {}, headers=headers)
        buffer: list[dict[str, Any]] = []
        flush_at = time.monotonic() + FLUSH_SECONDS
        with session.stream(
            "GET",
            f"{instance}{stream_path}",
            params=params,
            headers={**headers, "Accept": "text/event-stream"},
            timeout=httpx.Timeout(15.0, read=max(1.0, min(seconds, 30.0))),
        ) as response:
            if response.status_code >= 400:
                response.read()
                _check(response)
            try:
                for event, data in sse_events(response.iter_lines()):
                    if event == "update":
                        try:
                            status = json.loads(data)
                        except ValueError:
                            continue
                        if isinstance(status, dict):
                            buffer.append(status)
                    if len(buffer) >= FLUSH_EVENTS or time.monotonic() >= flush_at:
                        stored += _store(source, buffer, instance)
                        read += len(buffer)
                        buffer = []
                        flush_at = time.monotonic() + FLUSH_SECONDS
                    if time.monotonic() >= deadline:
                        break
            except httpx.ReadTimeout:
                pass  # a quiet stream: what was read is committed below
            stored += _store(source, buffer, instance)
            read += len(buffer)
    return read, stored


def encrypt_token(token: str) -> str:
    return crypto.encrypt({"access_token": token}) if token else ""
