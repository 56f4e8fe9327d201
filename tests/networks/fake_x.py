"""A small stateful X (API v2) on loopback, for the contract suite and the browser's connect test.

It answers what ``portevoix.networks.x`` calls, in the shapes of X's API reference (see
``fixtures/x/README.md``): OAuth 2.0 with PKCE (an authorisation page with an "Authorize app"
link, the token endpoint that checks the verifier and rotates refresh tokens), ``/2/users/me``,
the v2 media upload and metadata, ``POST /2/tweets`` (refusing duplicate text as X does),
the user's posts and mentions timelines, recent search by ``conversation_id``, lookups with
``public_metrics``, delete. Every ``POST /2/tweets`` reaching it is counted
(``post_requests``); ``hold_next_post`` stores a post and holds its answer past the client's
timeout; ``rate_limit_next`` answers one 429 with X's ``x-rate-limit-*`` headers.

Videos: the chunked upload on ``/2/media/upload`` (``command=INIT``, ``APPEND``, ``FINALIZE``,
``STATUS``), counted per command in ``video_calls``; with ``video_processing_reads`` at N,
``FINALIZE`` answers ``in_progress`` and the N-th ``STATUS`` says ``succeeded``; a file over 512 MB is
refused at ``INIT``, and a post may only carry a video that succeeded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

USER_ID = "2244994945"
USERNAME = "lumiere_sav"
GOOD_TOKEN = "x-good-access-token"
CLIENT_ID = "x-client-id-abc"
CLIENT_SECRET = "x-client-secret-xyz"


@dataclass
class XState:
    tokens: dict[str, str] = field(default_factory=lambda: {GOOD_TOKEN: USER_ID})
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            USER_ID: {"id": USER_ID, "name": "Lumière SAV", "username": USERNAME},
            "99": {
                "id": "99",
                "name": "Client Fidèle",
                "username": "client_fidele",
                "public_metrics": {"followers_count": 120},
            },
        }
    )
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    video_calls: Counter[str] = field(default_factory=Counter)
    video_processing_reads: int = 0
    post_requests: int = 0
    hold_next_post: float = 0.0
    rate_limit_next: bool = False
    subscription_type: str = "None"
    followers: int = 2650
    counter: int = 1880000000000000000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_id(self) -> str:
        with self.lock:
            self.counter += 1
            return str(self.counter)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


class FakeX:
    def __init__(self) -> None:
        self.state = state = XState()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(
                self,
                status: int,
                body: Any = None,
                headers: dict[str, str] | None = None,
                raw: bytes | None = None,
                content_type: str = "application/json",
            ) -> None:
                data = (
                    raw if raw is not None else b"" if body is None else json.dumps(body).encode()
                )
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def _problem(self, status: int, title: str, detail: str, **extra: Any) -> None:
                self._send(
                    status,
                    {
                        "title": title,
                        "detail": detail,
                        "type": "about:blank",
                        "status": status,
                        **extra,
                    },
                )

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _who(self) -> str | None:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                return state.tokens.get(token)

            def _checks(self) -> bool:
                if self._who() is None:
                    self._problem(401, "Unauthorized", "Unauthorized")
                    return False
                if state.rate_limit_next:
                    state.rate_limit_next = False
                    reset = str(int(time.time()) + 900)
                    self._send(
                        429,
                        {
                            "title": "Too Many Requests",
                            "detail": "Too Many Requests",
                            "type": "about:blank",
                            "status": 429,
                        },
                        headers={
                            "x-rate-limit-limit": "100",
                            "x-rate-limit-remaining": "0",
                            "x-rate-limit-reset": reset,
                        },
                    )
                    return False
                return True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/i/oauth2/authorize":
                    return self._authorize_page(query)
                if parts.path == "/i/oauth2/allow":
                    return self._allow(query)
                if not self._checks():
                    return None
                me = self._who() or ""
                if parts.path == "/2/users/me":
                    user = dict(state.users[me])
                    user["subscription_type"] = state.subscription_type
                    if "public_metrics" in query.get("user.fields", ""):
                        user["public_metrics"] = {
                            "followers_count": state.followers,
                            "following_count": 12,
                            "tweet_count": len(state.posts),
                            "listed_count": 3,
                            "like_count": 40,
                        }
                    return self._send(200, {"data": user})
                match = re.match(r"^/2/users/(\d+)/tweets$", parts.path)
                if match:
                    start = _when(query.get("start_time", "1970-01-01T00:00:00Z"))
                    mine = [
                        p
                        for p in state.posts
                        if p["author_id"] == match.group(1) and _when(p["created_at"]) >= start
                    ]
                    mine.sort(key=lambda p: int(p["id"]), reverse=True)
                    return self._send(
                        200,
                        {"data": mine, "meta": {"result_count": len(mine)}}
                        if mine
                        else {"meta": {"result_count": 0}},
                    )
                match = re.match(r"^/2/users/(\d+)/mentions$", parts.path)
                if match:
                    handle = "@" + state.users[match.group(1)]["username"]
                    since = int(query.get("since_id", "0"))
                    found = [p for p in state.posts if handle in p["text"] and int(p["id"]) > since]
                    return self._timeline(found)
                if parts.path == "/2/tweets/search/recent":
                    conversation = query.get("query", "").removeprefix("conversation_id:")
                    found = [
                        p
                        for p in state.posts
                        if p["conversation_id"] == conversation and p["id"] != conversation
                    ]
                    return self._timeline(found)
                if parts.path == "/2/media/upload" and query.get("command") == "STATUS":
                    state.video_calls["STATUS"] += 1
                    video = state.videos.get(query.get("media_id", ""))
                    if video is None or "data" not in video:
                        return self._problem(400, "Invalid Request", "Invalid media_id.")
                    if video["state"] == "in_progress":
                        video["reads"] -= 1
                        if video["reads"] <= 0:
                            video["state"] = "succeeded"
                    return self._send(200, self._video_answer(query["media_id"], video))
                if parts.path == "/2/tweets":
                    ids = query.get("ids", "").split(",")
                    found = [
                        dict(
                            p,
                            public_metrics={
                                "retweet_count": 0,
                                "reply_count": sum(
                                    1 for q in state.posts if _replied(q) == p["id"]
                                ),
                                "like_count": 3,
                                "quote_count": 0,
                                "bookmark_count": 0,
                                "impression_count": 42,
                            },
                        )
                        for p in state.posts
                        if p["id"] in ids
                    ]
                    return self._send(200, {"data": found})
                return self._problem(404, "Not Found Error", f"No route {parts.path}")

            def _timeline(self, found: list[dict[str, Any]]) -> None:
                found = sorted(found, key=lambda p: int(p["id"]), reverse=True)
                authors = {p["author_id"] for p in found}
                body: dict[str, Any] = {"meta": {"result_count": len(found)}}
                if found:
                    body["data"] = found
                    body["includes"] = {
                        "users": [state.users[a] for a in authors if a in state.users]
                    }
                    body["meta"].update(newest_id=found[0]["id"], oldest_id=found[-1]["id"])
                return self._send(200, body)

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self._body()
                if parts.path == "/2/oauth2/token":
                    return self._token({k: v[0] for k, v in parse_qs(raw.decode()).items()})
                if parts.path == "/2/tweets":
                    with state.lock:
                        state.post_requests += 1
                if not self._checks():
                    return None
                if parts.path == "/2/media/upload" and b'name="command"' in raw:
                    return self._chunked(self._form(raw))
                if parts.path == "/2/media/upload":
                    if b'name="media"' not in raw:
                        return self._problem(400, "Invalid Request", "media is required")
                    media_id = state.next_id()
                    state.media[media_id] = {"size": len(raw)}
                    return self._send(
                        200,
                        {
                            "data": {
                                "id": media_id,
                                "media_key": f"3_{media_id}",
                                "size": len(raw),
                                "expires_after_secs": 86400,
                            }
                        },
                    )
                if parts.path == "/2/media/metadata":
                    body = json.loads(raw or b"{}")
                    if body.get("id") not in state.media:
                        return self._problem(400, "Invalid Request", "unknown media")
                    state.media[body["id"]]["alt"] = body["metadata"]["alt_text"]["text"]
                    return self._send(200, {"data": {"associated_metadata": True}})
                if parts.path == "/2/tweets":
                    return self._create(json.loads(raw or b"{}"), self._who() or "")
                return self._problem(404, "Not Found Error", "No route")

            def _form(self, raw: bytes) -> dict[str, Any]:
                kind = self.headers.get("Content-Type", "")
                message = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {kind}\r\n\r\n".encode() + raw
                )
                form: dict[str, Any] = {}
                for part in message.iter_parts():
                    name = str(part.get_param("name", header="content-disposition"))
                    payload = part.get_payload(decode=True)
                    data = payload if isinstance(payload, bytes) else b""
                    form[name] = data if name == "media" else data.decode()
                return form

            def _chunked(self, form: dict[str, Any]) -> None:
                command = form.get("command", "")
                state.video_calls[command] += 1
                if command == "INIT":
                    total = int(form.get("total_bytes") or 0)
                    if total > 512 * 1024 * 1024:
                        return self._problem(
                            400, "Invalid Request", "File size exceeds 536870912 bytes."
                        )
                    media_id = state.next_id()
                    state.videos[media_id] = {
                        "total": total,
                        "segments": {},
                        "state": "uploading",
                        "reads": state.video_processing_reads,
                    }
                    return self._send(
                        200,
                        {
                            "data": {
                                "id": media_id,
                                "media_key": f"7_{media_id}",
                                "expires_after_secs": 86400,
                            }
                        },
                    )
                video = state.videos.get(str(form.get("media_id") or ""))
                if video is None:
                    return self._problem(400, "Invalid Request", "Invalid media_id.")
                if command == "APPEND":
                    video["segments"][int(form.get("segment_index") or 0)] = form.get("media", b"")
                    return self._send(204)
                if command == "FINALIZE":
                    data = b"".join(v for _, v in sorted(video["segments"].items()))
                    if len(data) != video["total"]:
                        return self._problem(400, "Invalid Request", "Segments do not add up.")
                    video["data"] = data
                    video["state"] = "in_progress" if video["reads"] > 0 else "succeeded"
                    state.media[str(form["media_id"])] = {"size": len(data), "video": True}
                    return self._send(200, self._video_answer(str(form["media_id"]), video))
                return self._problem(400, "Invalid Request", f"Unknown command {command}")

            def _video_answer(self, media_id: str, video: dict[str, Any]) -> dict[str, Any]:
                info: dict[str, Any] = {"state": video["state"]}
                if video["state"] == "in_progress":
                    info["check_after_secs"] = 1
                return {
                    "data": {
                        "id": media_id,
                        "media_key": f"7_{media_id}",
                        "size": video["total"],
                        "expires_after_secs": 86400,
                        "processing_info": info,
                    }
                }

            def do_DELETE(self) -> None:
                if not self._checks():
                    return None
                post_id = urlsplit(self.path).path.rsplit("/", 1)[-1]
                before = len(state.posts)
                state.posts[:] = [p for p in state.posts if p["id"] != post_id]
                return self._send(200, {"data": {"deleted": len(state.posts) < before}})

            def _create(self, body: dict[str, Any], author: str) -> None:
                text = str(body.get("text") or "")
                reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
                if any(p["text"] == text and p["author_id"] == author for p in state.posts):
                    return self._problem(
                        403,
                        "Forbidden",
                        "You are not allowed to create a Tweet with duplicate content.",
                    )
                for media_id in (body.get("media") or {}).get("media_ids") or []:
                    if media_id not in state.media:
                        return self._problem(400, "Invalid Request", "Your media IDs are invalid.")
                    video = state.videos.get(media_id)
                    if video is not None and video["state"] != "succeeded":
                        return self._problem(400, "Invalid Request", "Media is not ready.")
                post_id = state.next_id()
                parent = next((p for p in state.posts if p["id"] == reply_to), None)
                post: dict[str, Any] = {
                    "id": post_id,
                    "text": text,
                    "author_id": author,
                    "created_at": _now(),
                    "conversation_id": parent["conversation_id"] if parent else post_id,
                    "edit_history_tweet_ids": [post_id],
                }
                if parent:
                    post["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
                    post["in_reply_to_user_id"] = parent["author_id"]
                if body.get("media"):
                    post["attachments"] = {
                        "media_keys": [
                            f"7_{m}" if m in state.videos else f"3_{m}"
                            for m in body["media"]["media_ids"]
                        ]
                    }
                state.posts.append(post)
                hold = state.hold_next_post
                if hold:
                    state.hold_next_post = 0.0
                    time.sleep(hold)
                return self._send(
                    201,
                    {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}},
                )

            def _authorize_page(self, query: dict[str, str]) -> None:
                if (
                    query.get("client_id") != CLIENT_ID
                    or query.get("code_challenge_method") != "S256"
                ):
                    return self._send(
                        400, raw=b"<p>Something went wrong</p>", content_type="text/html"
                    )
                allow = "/i/oauth2/allow?" + "&".join(
                    f"{k}={quote(query.get(k, ''), safe='')}"
                    for k in ("redirect_uri", "state", "code_challenge")
                )
                page = (
                    "<!doctype html><html lang=en><head><meta charset=utf-8>"
                    "<title>X (fake)</title><link rel=icon href='data:,'></head><body><main>"
                    "<h1>Porte-voix wants to access your X account</h1>"
                    f"<p>{query.get('scope', '')}</p>"
                    f"<a id=allow href='{allow}'>Authorize app</a></main></body></html>"
                )
                return self._send(200, raw=page.encode(), content_type="text/html")

            def _allow(self, query: dict[str, str]) -> None:
                code = f"code-{state.next_id()}"
                state.codes[code] = (USER_ID, query["code_challenge"])
                target = (
                    f"{query['redirect_uri']}?state={quote(query['state'], safe='')}&code={code}"
                )
                return self._send(302, headers={"Location": target})

            def _token(self, form: dict[str, str]) -> None:
                basic = (self.headers.get("Authorization") or "").removeprefix("Basic ")
                if basic:
                    pair = base64.b64decode(basic).decode()
                    if pair != f"{CLIENT_ID}:{CLIENT_SECRET}":
                        return self._send(
                            401,
                            {
                                "error": "unauthorized_client",
                                "error_description": "Missing valid authorization header",
                            },
                        )
                if form.get("client_id") != CLIENT_ID:
                    return self._send(
                        400,
                        {
                            "error": "invalid_request",
                            "error_description": "Value passed for the authorization code was invalid.",
                        },
                    )
                user = None
                if form.get("grant_type") == "authorization_code":
                    entry = state.codes.pop(form.get("code", ""), None)
                    verifier = form.get("code_verifier", "")
                    challenge = (
                        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                        .decode()
                        .rstrip("=")
                    )
                    if entry and entry[1] == challenge:
                        user = entry[0]
                elif form.get("grant_type") == "refresh_token":
                    # Rotation: a refresh token works once.
                    user = state.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if user is None:
                    return self._send(
                        400,
                        {
                            "error": "invalid_request",
                            "error_description": "Value passed for the token was invalid.",
                        },
                    )
                access, refresh = f"xa-{state.next_id()}", f"xr-{state.next_id()}"
                state.tokens[access] = user
                state.refresh_tokens[refresh] = user
                return self._send(
                    200,
                    {
                        "token_type": "bearer",
                        "expires_in": 7200,
                        "access_token": access,
                        "scope": "tweet.write users.read tweet.read offline.access media.write",
                        "refresh_token": refresh,
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_reply(self, post_id: str, text: str, author: str = "99") -> str:
        """Another account answers ``post_id`` (it mentions the account, as X replies do)."""
        parent = next(p for p in self.state.posts if p["id"] == post_id)
        reply_id = self.state.next_id()
        self.state.posts.append(
            {
                "id": reply_id,
                "text": f"@{USERNAME} {text}",
                "author_id": author,
                "created_at": _now(),
                "conversation_id": parent["conversation_id"],
                "in_reply_to_user_id": parent["author_id"],
                "referenced_tweets": [{"type": "replied_to", "id": post_id}],
                "edit_history_tweet_ids": [reply_id],
            }
        )
        return reply_id

    def __enter__(self) -> FakeX:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _replied(post: dict[str, Any]) -> str | None:
    for ref in post.get("referenced_tweets") or []:
        if ref.get("type") == "replied_to":
            return str(ref["id"])
    return None


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
