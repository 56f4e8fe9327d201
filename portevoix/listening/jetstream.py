"""Bluesky's public stream, read through Jetstream (JSON over WebSocket).

Jetstream (https://github.com/bluesky-social/jetstream, README "Consuming Jetstream") turns the
relay's firehose into JSON frames, one event per WebSocket message::

    {"did": "did:plc:…", "time_us": 1725911162329308, "kind": "commit",
     "commit": {"rev": "…", "operation": "create", "collection": "app.bsky.feed.post",
                "rkey": "3l3qo2vuowo2b", "record": {"$type": "app.bsky.feed.post",
                "text": "…", "langs": ["fr"], "createdAt": "…"}, "cid": "…"}}

``wantedCollections=app.bsky.feed.post`` keeps only posts (identity and account events still
come). ``cursor`` is a unix time in microseconds: the server replays from there (about 36 hours
back), and the cursor is valid on every public instance, so a reader may switch instances.

One slice (:func:`read_slice`) opens one connection at the committed cursor minus
:data:`OVERLAP_US` (frames near the cursor may have been received but not committed), reads
for up to ``SLICE_SECONDS``, and every :data:`FLUSH_EVENTS` events or :data:`FLUSH_SECONDS`
feeds the posts to the pipeline and commits the ``time_us`` of the last frame read. A post
is identified by its ``at://`` URI, so a frame read twice is one mention. A connection that the
server closes ends the slice after what was read is committed; the next slice reconnects from
the cursor.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.sync.client import connect

from portevoix.networks.http import AddressGuard

from . import competitors, pipeline, sources
from .models import ListeningSource

#: Jetstream's public instances (README "Public Instances"), tried in turn when one fails.
PUBLIC_INSTANCES = (
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
)
COLLECTION = "app.bsky.feed.post"
#: Read again behind the committed cursor on reconnection: 5 seconds.
OVERLAP_US = 5_000_000
FLUSH_EVENTS = 500
FLUSH_SECONDS = 2.0

Connect = Callable[..., Any]

log = logging.getLogger(__name__)

#: Jetstream's frames carry no profile: the authors of the posts that matched are looked up on
#: Bluesky's public App View (the competitors' one, ``competitors.APPVIEW``;
#: ``app.bsky.actor.getProfiles``, 25 actors a call) for their followers (the mention's reach),
#: handle and name.
APPVIEW = competitors.APPVIEW
PROFILES_PER_CALL = 25


def _did_of(post: pipeline.PublicPost) -> str:
    return post.external_id.removeprefix("at://").split("/", 1)[0]


def with_reach(
    posts: list[pipeline.PublicPost], *, http: httpx.Client | None = None
) -> list[pipeline.PublicPost]:
    """``posts`` with their authors' followers, handle and display name from the App View.
    Optional: an author it cannot read, or an App View that fails, leaves the post as the stream
    gave it (reach 0, the DID as handle) and never keeps the mention from being stored."""
    dids = list(dict.fromkeys(_did_of(p) for p in posts if p.author_reach <= 0))
    if not dids:
        return posts
    profiles: dict[str, dict[str, Any]] = {}
    client = http or competitors.http_client()
    try:
        for start in range(0, len(dids), PROFILES_PER_CALL):
            batch = dids[start : start + PROFILES_PER_CALL]
            response = client.get(
                f"{APPVIEW}/xrpc/app.bsky.actor.getProfiles", params=[("actors", d) for d in batch]
            )
            if response.status_code != 200:
                log.info("Bluesky profiles unavailable (HTTP %s)", response.status_code)
                break
            for profile in response.json().get("profiles") or []:
                if isinstance(profile, dict) and isinstance(profile.get("did"), str):
                    profiles[profile["did"]] = profile
    except Exception as error:  # an optional call: whatever fails, the mention is kept
        log.info("Bluesky profiles unavailable: %s", error)
    finally:
        if http is None:
            client.close()
    out = []
    for post in posts:
        profile = profiles.get(_did_of(post))
        if profile is None:
            out.append(post)
            continue
        followers = profile.get("followersCount")
        handle = profile.get("handle")
        name = profile.get("displayName")
        out.append(
            dataclasses.replace(
                post,
                author_reach=followers if isinstance(followers, int) and followers > 0 else 0,
                author_handle=handle
                if isinstance(handle, str) and handle and post.author_handle.startswith("did:")
                else post.author_handle,
                author_name=name
                if isinstance(name, str) and not post.author_name
                else post.author_name,
            )
        )
    return out


def instance_url(value: str) -> str:
    """A Jetstream's address in one spelling (scheme and host lower-cased, no default port,
    ``/subscribe`` when no path is given): "" for Bluesky's own public instances, whichever
    of them is written, so that the same stream is read once."""
    value = value.strip()
    if not value:
        return ""
    base = sources.origin(value, ("ws", "wss"))
    path = urlsplit(value).path.rstrip("/") or "/subscribe"
    url = f"{base}{path}"
    return "" if url in PUBLIC_INSTANCES else url


def instances(source: ListeningSource) -> list[str]:
    """The URL configured on the source, else the public instances, each failed attempt in a
    row starting one further (a rotation that survives restarts)."""
    if source.url:
        return [source.url]
    start = source.attempts % len(PUBLIC_INSTANCES)
    return list(PUBLIC_INSTANCES[start:] + PUBLIC_INSTANCES[:start])


def subscribe_url(base: str, cursor: str) -> str:
    params: list[tuple[str, str]] = [("wantedCollections", COLLECTION)]
    if cursor.isdigit():
        params.append(("cursor", str(max(0, int(cursor) - OVERLAP_US))))
    joiner = "&" if urlsplit(base).query else "?"
    return f"{base}{joiner}{urlencode(params)}"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def post_of(event: dict[str, Any], handles: dict[str, str]) -> pipeline.PublicPost | None:
    """The post a frame creates, or None (another collection, an update, a deletion)."""
    if event.get("kind") != "commit":
        return None
    commit = event.get("commit") or {}
    if commit.get("operation") != "create" or commit.get("collection") != COLLECTION:
        return None
    record = commit.get("record") or {}
    text = record.get("text")
    did = event.get("did")
    rkey = commit.get("rkey")
    if not isinstance(text, str) or not text or not isinstance(did, str) or not rkey:
        return None
    time_us = event.get("time_us")
    received = (
        datetime.fromtimestamp(time_us / 1_000_000, tz=UTC) if isinstance(time_us, int) else None
    )
    posted = _time(record.get("createdAt")) or received or datetime.now(UTC)
    # A post cannot come from the future: a wrong clock on the author's side.
    if received is not None and posted > received:
        posted = received
    langs = record.get("langs") or []
    handle = handles.get(did, did)
    return pipeline.PublicPost(
        external_id=f"at://{did}/{COLLECTION}/{rkey}",
        network="bluesky",
        text=text,
        posted_at=posted,
        author_handle=handle,
        author_id=did,
        language=str(langs[0])[:12] if langs else "",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
    )


def read_slice(
    source: ListeningSource,
    *,
    seconds: float | None = None,
    connector: Connect = connect,
    max_events: int | None = None,
) -> tuple[int, int]:
    """Read Jetstream for up to ``seconds`` (or ``max_events`` frames) on one connection;
    returns (posts read, mentions stored)."""
    seconds = sources.SLICE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    last_error: Exception | None = None
    for base in instances(source):
        try:
            return _read(source, base, deadline, connector, max_events)
        except (OSError, InvalidStatus, TimeoutError) as error:
            last_error = error  # nothing was read on this instance: try the next one
        except InvalidURI as error:
            raise sources.SourceRefused(f"Jetstream address is not valid: {error}") from error
    assert last_error is not None
    raise last_error


def _read(
    source: ListeningSource,
    base: str,
    deadline: float,
    connector: Connect,
    max_events: int | None,
) -> tuple[int, int]:
    url = subscribe_url(base, source.cursor)
    handles: dict[str, str] = {}
    buffer: list[pipeline.PublicPost] = []
    last_time_us: int | None = None
    events = read = stored = 0
    flush_at = time.monotonic() + FLUSH_SECONDS

    def flush() -> None:
        nonlocal buffer, read, stored, flush_at
        flush_at = time.monotonic() + FLUSH_SECONDS
        if last_time_us is None:
            return
        now_stored = pipeline.ingest(source, buffer, enrich=with_reach) if buffer else 0
        newest = max((p.posted_at for p in buffer), default=None)
        sources.commit(
            source,
            cursor=str(last_time_us),
            read=len(buffer),
            stored=now_stored,
            last_event_at=newest,
        )
        read += len(buffer)
        stored += now_stored
        buffer = []

    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise sources.SourceRefused(f"Jetstream address is not a ws:// or wss:// URL: {base}")
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    # The address a manager typed goes through the same guard as every network call.
    sock = AddressGuard().open(parts.hostname, port, timeout=10)
    with connector(
        url,
        sock=sock,
        server_hostname=parts.hostname if parts.scheme == "wss" else None,
        open_timeout=10,
        close_timeout=2,
        max_size=2**22,
    ) as ws:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (max_events is not None and events >= max_events):
                break
            try:
                frame = ws.recv(timeout=min(remaining, FLUSH_SECONDS))
            except TimeoutError:
                frame = None
            except ConnectionClosed:
                break  # the server ended it: commit what was read, reconnect next slice
            if frame is not None:
                if isinstance(frame, bytes):  # compression is never asked for: text
                    frame = frame.decode(errors="replace")
                try:
                    event = json.loads(frame)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                events += 1
                if isinstance(event.get("time_us"), int):
                    last_time_us = event["time_us"]
                identity = event.get("identity")
                if isinstance(identity, dict) and identity.get("handle"):
                    handles[str(event.get("did"))] = str(identity["handle"])
                post = post_of(event, handles)
                if post is not None:
                    buffer.append(post)
            if len(buffer) >= FLUSH_EVENTS or time.monotonic() >= flush_at:
                flush()
        flush()
    return read, stored
