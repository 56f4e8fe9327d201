"""A small stateful fake of Meta's Graph API on loopback, for Facebook pages and Instagram.

It keeps pages, their posts, photos, comments and Messenger conversations, Instagram accounts
with their containers and media, Instagram direct messages (``add_ig_message``: conversations
of the linked page with ``platform=instagram``; an answer more than 24 hours after the
person's last message is refused with Graph's 10/2534022) and media by others that tag an
account (``add_ig_tag``: ``/{ig-user}/tags``, answered through ``/{ig-user}/mentions``), and the
Facebook Login endpoints (a login dialog that sends
the browser back with a code, the token exchanges, ``me/accounts``). It **counts every POST**
by path, so a test can prove that a post reached the network exactly once.

Page videos use the resumable upload (``upload_phase=start/transfer/finish`` on
``/{page-id}/videos``): the fake hands out chunks of ``video_chunk`` bytes, refuses files above
``max_video_bytes`` like Graph (error 6000/1363023), and counts sessions, chunks and finishes in
``video_calls`` (``lose_next_video_phase("finish")`` loses the answer of that phase only).

Faults, for the next write (a POST): ``lose_next_answer()`` stores what was sent, then closes
the connection without answering (the client sees a lost answer); ``rate_limit_next()``
answers Graph's error 4 with ``X-App-Usage`` at 100 %. ``fetch_media=True`` makes Instagram
containers fetch their ``image_url`` like Instagram does (the URL must answer 200 with an
image).

Not Meta: fields are not filtered (every answer carries every field the modules read), and
only what the modules call exists. Answers follow the shapes of Meta's documentation (the
recordings in ``fixtures/facebook`` and ``fixtures/instagram`` say where each comes from).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

VERSION = "v26.0"


def _now() -> str:
    return _stamp(datetime.now(UTC))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class Page:
    id: str
    name: str
    username: str
    token: str


@dataclass
class IgUser:
    id: str
    username: str
    page_id: str


@dataclass
class FakeGraph:
    """The state; ``server`` serves it. One user (``user_token``) manages every page."""

    app_id: str = "1234567890"
    app_secret: str = "fake-app-secret-9f8e"
    user_token: str = "EAAB-long-lived-user-token-7c1d"
    pages: dict[str, Page] = field(default_factory=dict)
    ig_users: dict[str, IgUser] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: Counter[str] = field(default_factory=Counter)
    codes: dict[str, str] = field(default_factory=dict)
    fetch_media: bool = False
    fetched: list[str] = field(default_factory=list)
    #: Files served at ``/media/<name>`` (what Porte-voix's public media address would serve).
    hosted: dict[str, bytes] = field(default_factory=dict)
    #: Resumable video uploads: the chunk size handed out, the largest file taken, and the
    #: calls per phase ("start", "transfer", "finish").
    video_chunk: int = 1024
    max_video_bytes: int = 10_000_000
    video_calls: Counter[str] = field(default_factory=Counter)
    #: Every page's and Instagram account's followers, and their profile views per day.
    followers: int = 1280
    daily_views: int = 37
    _lose_next: bool = False
    _lose_route: str = ""
    _lose_phase: str = ""
    _rate_next: bool = False
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> str:
        return str(next(self._ids))

    def add_page(self, page_id: str, name: str, username: str, token: str) -> Page:
        page = Page(page_id, name, username, token)
        self.pages[page_id] = page
        return page

    def add_ig_user(self, ig_id: str, username: str, page_id: str) -> IgUser:
        user = IgUser(ig_id, username, page_id)
        self.ig_users[ig_id] = user
        return user

    def add_comment(self, target: str, text: str, *, author: tuple[str, str]) -> str:
        """Someone else comments ``target`` (a post, a comment or Instagram media)."""
        with self.lock:
            return self._comment(target, text, author)

    def _comment(self, target: str, text: str, author: tuple[str, str]) -> str:
        parent = self.objects[target]
        root = parent.get("root") or target
        comment_id = f"{root}_{self.new_id()}" if parent["type"] != "ig_media" else self.new_id()
        self.objects[comment_id] = {
            "type": "comment",
            "id": comment_id,
            "root": root,
            "parent": target if parent["type"] == "comment" else None,
            "from": {"id": author[0], "name": author[1]},
            "username": author[1],
            "message": text,
            "created_time": _now(),
            "hidden": False,
            "ig": parent["type"] == "ig_media" or bool(parent.get("ig")),
        }
        parent.setdefault("comments", []).append(comment_id)
        if parent["type"] == "comment":
            self.objects[root].setdefault("comments", []).append(comment_id)
        self.objects[root]["updated_time"] = _now()
        return comment_id

    def add_message(self, page_id: str, psid: str, name: str, text: str) -> str:
        """A person writes to the page on Messenger."""
        with self.lock:
            conversation_id = f"t_{psid}"
            conversation = self.objects.setdefault(
                conversation_id,
                {"type": "conversation", "id": conversation_id, "page": page_id, "messages": []},
            )
            message_id = f"m_{self.new_id()}"
            self.objects[message_id] = {
                "type": "message",
                "id": message_id,
                "from": {"id": psid, "name": name},
                "message": text,
                "created_time": _now(),
            }
            conversation["messages"].append(message_id)
            conversation["updated_time"] = _now()
            return message_id

    def add_ig_message(
        self, ig_id: str, igsid: str, username: str, text: str, *, at: datetime | None = None
    ) -> str:
        """A person writes to the Instagram account ``ig_id`` (Instagram messaging)."""
        with self.lock:
            user = self.ig_users[ig_id]
            conversation_id = f"ig_t_{igsid}"
            conversation = self.objects.setdefault(
                conversation_id,
                {
                    "type": "conversation",
                    "id": conversation_id,
                    "page": user.page_id,
                    "platform": "instagram",
                    "user_id": igsid,
                    "messages": [],
                },
            )
            message_id = f"aWdfZ{self.new_id()}"
            moment = _stamp(at) if at else _now()
            self.objects[message_id] = {
                "type": "message",
                "id": message_id,
                "from": {"id": igsid, "username": username},
                "to": {"data": [{"id": ig_id, "username": user.username}]},
                "message": text,
                "created_time": moment,
            }
            conversation["messages"].append(message_id)
            conversation["updated_time"] = moment
            return message_id

    def add_ig_tag(self, ig_id: str, username: str, caption: str) -> str:
        """Someone else (``username``) publishes media that tags the Instagram account."""
        with self.lock:
            media_id = self.new_id()
            self.objects[media_id] = {
                "type": "ig_media",
                "id": media_id,
                "user": f"other:{username}",
                "username": username,
                "tagged": [ig_id],
                "caption": caption,
                "media_type": "IMAGE",
                "timestamp": _now(),
                "permalink": f"https://www.instagram.com/p/{media_id}/",
            }
            return media_id

    @contextmanager
    def lose_next_answer(self) -> Iterator[None]:
        self._lose_next = True
        try:
            yield
        finally:
            self._lose_next = False

    @contextmanager
    def lose_next_answer_of(self, route: str) -> Iterator[None]:
        """Like ``lose_next_answer``, for the next POST to ``route`` only."""
        self._lose_route = route
        try:
            yield
        finally:
            self._lose_route = ""

    @contextmanager
    def lose_next_video_phase(self, phase: str) -> Iterator[None]:
        """Like ``lose_next_answer``, for the next video upload call of ``phase`` only."""
        self._lose_phase = phase
        try:
            yield
        finally:
            self._lose_phase = ""

    @contextmanager
    def rate_limit_next(self) -> Iterator[None]:
        self._rate_next = True
        try:
            yield
        finally:
            self._rate_next = False

    def of_type(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects.values()
            if o["type"] == kind and all(o.get(k) == v for k, v in match.items())
        ]


class _Lost(Exception):
    pass


class _Error(Exception):
    def __init__(self, status: int, code: int, message: str, subcode: int | None = None) -> None:
        self.status, self.code, self.message, self.subcode = status, code, message, subcode


def _handler(graph: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _token(self, params: dict[str, str]) -> str:
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                return auth[7:]
            return params.get("access_token", "")

        def _params(self) -> tuple[str, dict[str, str], dict[str, Any]]:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            body: dict[str, Any] = {}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("multipart/form-data"):
                message = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {kind}\r\n\r\n".encode() + raw
                )
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True)
                    data = payload if isinstance(payload, bytes) else b""
                    body[str(name)] = data if part.get_filename() else data.decode()
            elif raw:
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            return parts.path, query, body

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            path, query, body = self._params()
            if path == "/favicon.ico":
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path.startswith("/media/"):
                # Images that Instagram's side fetches (``image_url``), served by the fake.
                data = graph.hosted.get(path[len("/media/") :])
                if data is None:
                    self._send(404, {"error": "no such media"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if path == f"/{VERSION}/dialog/oauth":
                self._dialog(query)
                return
            if not path.startswith(f"/{VERSION}/"):
                self._send(404, {"error": {"message": "Unknown path", "code": 803}})
                return
            route = path[len(VERSION) + 2 :].strip("/")
            params = {**query, **{k: v for k, v in body.items() if isinstance(v, str)}}
            if method == "POST":
                with graph.lock:
                    graph.posts[route] += 1
                    if graph._rate_next:
                        graph._rate_next = False
                        self._send(
                            400,
                            {
                                "error": {
                                    "message": "(#4) Application request limit reached",
                                    "type": "OAuthException",
                                    "is_transient": True,
                                    "code": 4,
                                    "fbtrace_id": "Fake1",
                                }
                            },
                            {"X-App-Usage": '{"call_count":100,"total_time":20,"total_cputime":9}'},
                        )
                        return
            try:
                with graph.lock:
                    result = Route(graph, self._token(params), params, body).run(method, route)
                    lose = method == "POST" and (
                        (graph._lose_next and route != "oauth/access_token")
                        or graph._lose_route == route
                        or (graph._lose_phase and graph._lose_phase == params.get("upload_phase"))
                    )
                    if lose:
                        graph._lose_next = False
                        graph._lose_route = ""
                        graph._lose_phase = ""
                if lose:
                    raise _Lost
            except _Lost:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            except _Error as error:
                payload: dict[str, Any] = {
                    "message": error.message,
                    "type": "OAuthException",
                    "code": error.code,
                    "fbtrace_id": "Fake2",
                }
                if error.subcode:
                    payload["error_subcode"] = error.subcode
                self._send(error.status, {"error": payload})
                return
            self._send(
                200, result, {"X-App-Usage": '{"call_count":1,"total_time":1,"total_cputime":1}'}
            )

        def _dialog(self, query: dict[str, str]) -> None:
            code = f"code-{graph.new_id()}"
            graph.codes[code] = query.get("redirect_uri", "")
            target = (
                query.get("redirect_uri", "")
                + "?"
                + urlencode({"code": code, "state": query.get("state", "")})
            )
            html = (
                "<!doctype html><html lang='en'><head><title>Log in with Facebook (fake)</title>"
                "</head><body><main><h1>Porte-voix wants to manage your pages</h1>"
                f"<p>App {query.get('client_id', '')} asks for: {query.get('scope', '')}</p>"
                f"<a id='allow' href='{target}'>Continue</a></main></body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


class Route:
    """One request against the state (the caller holds the lock)."""

    def __init__(
        self, graph: FakeGraph, token: str, params: dict[str, str], body: dict[str, Any]
    ) -> None:
        self.g = graph
        self.token = token
        self.params = params
        self.body = body

    # -- who is calling -----------------------------------------------------------------------

    def page_of_token(self) -> Page | None:
        return next((p for p in self.g.pages.values() if p.token == self.token), None)

    def require_page(self, page_id: str) -> Page:
        page = self.g.pages.get(page_id)
        if page is None or page.token != self.token:
            raise _Error(401, 190, "Error validating access token: Session has expired.", 463)
        return page

    def require_any(self) -> Page:
        page = self.page_of_token()
        if page is None:
            raise _Error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return page

    # -- dispatch -----------------------------------------------------------------------------

    def run(self, method: str, route: str) -> Any:
        parts = route.split("/")
        if route == "oauth/access_token" and method == "POST":
            return self.oauth()
        if route == "me/accounts":
            if self.token != self.g.user_token:
                raise _Error(401, 190, "Invalid OAuth access token")
            return {"data": self.accounts()}
        head = parts[0]
        edge = parts[1] if len(parts) > 1 else ""
        if head in self.g.pages:
            return self.page_route(method, self.require_page(head), edge)
        if head in self.g.ig_users:
            user = self.g.ig_users[head]
            self.require_page(user.page_id)
            return self.ig_route(method, user, edge)
        obj = self.g.objects.get(head)
        self.require_any()
        if obj is None:
            raise _Error(400, 100, "Unsupported get request. Object does not exist", 33)
        return self.object_route(method, obj, edge)

    def oauth(self) -> dict[str, Any]:
        if self.params.get("client_secret") != self.g.app_secret:
            raise _Error(400, 1, "Error validating client secret.")
        if self.params.get("grant_type") == "fb_exchange_token":
            if not self.params.get("fb_exchange_token", "").startswith("short-"):
                raise _Error(400, 190, "Invalid OAuth access token.")
            return {
                "access_token": self.g.user_token,
                "token_type": "bearer",
                "expires_in": 5183944,
            }
        code = self.params.get("code", "")
        if self.g.codes.pop(code, None) != self.params.get("redirect_uri"):
            raise _Error(400, 100, "This authorization code has been used.", 36009)
        return {"access_token": f"short-{code}", "token_type": "bearer", "expires_in": 3600}

    def accounts(self) -> list[dict[str, Any]]:
        rows = []
        for page in self.g.pages.values():
            row: dict[str, Any] = {
                "id": page.id,
                "name": page.name,
                "username": page.username,
                "access_token": page.token,
                "category": "Brand",
                "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            }
            ig = next((u for u in self.g.ig_users.values() if u.page_id == page.id), None)
            if ig is not None:
                row["instagram_business_account"] = {"id": ig.id, "username": ig.username}
            rows.append(row)
        return rows

    # -- Facebook pages -----------------------------------------------------------------------

    def page_route(self, method: str, page: Page, edge: str) -> Any:
        if method == "GET" and not edge:
            return {
                "id": page.id,
                "name": page.name,
                "username": page.username,
                "link": f"https://www.facebook.com/{page.username}",
                "followers_count": self.g.followers,
            }
        if method == "GET" and edge == "insights":
            if self.params.get("metric") != "page_views_total":
                raise _Error(400, 100, "(#100) The value must be a valid insights metric")
            return {"data": [self.daily("page_views_total", page.id)]}
        if method == "POST" and edge == "photos":
            source = self.body.get("source")
            if not isinstance(source, bytes) or not source:
                raise _Error(400, 324, "(#324) Requires upload file")
            photo_id = self.g.new_id()
            self.g.objects[photo_id] = {
                "type": "photo",
                "id": photo_id,
                "page": page.id,
                "published": self.params.get("published") != "false",
                "alt": self.params.get("alt_text_custom", ""),
                "size": len(source),
            }
            return {"id": photo_id}
        if method == "POST" and edge == "feed":
            attached = [
                json.loads(v)["media_fbid"]
                for k, v in sorted(self.params.items())
                if k.startswith("attached_media[")
            ]
            for photo in attached:
                if self.g.objects.get(photo, {}).get("type") != "photo":
                    raise _Error(400, 100, "(#100) Invalid media_fbid")
            post_id = f"{page.id}_{self.g.new_id()}"
            self.g.objects[post_id] = {
                "type": "post",
                "id": post_id,
                "page": page.id,
                "message": self.params.get("message", ""),
                "link": self.params.get("link", ""),
                "photos": attached,
                "created_time": _now(),
                "updated_time": _now(),
                "permalink_url": f"https://www.facebook.com/{post_id}",
            }
            return {"id": post_id}
        if method == "POST" and edge == "videos":
            return self.video_upload(page)
        if method == "GET" and edge == "published_posts":
            since = int(self.params.get("since") or 0)
            rows = [
                self.public(o)
                for o in reversed(self.g.of_type("post", page=page.id))
                if _epoch(o["created_time"]) >= since
            ]
            return {"data": rows[: int(self.params.get("limit") or 25)]}
        if method == "GET" and edge == "tagged":
            return {"data": []}
        if method == "GET" and edge == "conversations":
            platform = self.params.get("platform") or "messenger"
            rows = [
                {"id": c["id"], "updated_time": c["updated_time"]}
                for c in self.g.of_type("conversation", page=page.id)
                if c.get("platform", "messenger") == platform
                and self.params.get("user_id", c.get("user_id")) == c.get("user_id")
            ]
            return {"data": rows}
        if method == "POST" and edge == "messages":
            recipient = json.loads(self.params.get("recipient") or "{}")
            message = json.loads(self.params.get("message") or "{}")
            if "comment_id" in recipient:
                return self.private_reply(page, recipient["comment_id"], message)
            ig_conversation = self.g.objects.get(f"ig_t_{recipient.get('id')}")
            if ig_conversation is not None:
                return self.ig_message(page, ig_conversation, recipient, message)
            message_id = f"m_{self.g.new_id()}"
            self.g.objects[message_id] = {
                "type": "message",
                "id": message_id,
                "from": {"id": page.id, "name": page.name},
                "to": recipient,
                "message": message.get("text", ""),
                "created_time": _now(),
            }
            return {"recipient_id": recipient.get("id") or "psid-1", "message_id": message_id}
        raise _Error(400, 100, f"Unknown page edge {edge!r}")

    def daily(self, metric: str, object_id: str) -> dict[str, Any]:
        """A ``period=day`` insight: one value per day from ``since`` to ``until``, each with
        the time its day ended (Graph's ``end_time``)."""
        since = int(self.params["since"]) // 86400 * 86400
        until = int(self.params["until"])
        values = [
            {
                "value": self.g.daily_views,
                "end_time": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            for end in range(since + 86400, until + 86400, 86400)
        ]
        return {
            "name": metric,
            "period": "day",
            "values": values,
            "id": f"{object_id}/insights/{metric}/day",
        }

    def private_reply(self, page: Page, comment_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Instagram's private reply to a comment: once per comment, within 7 days."""
        comment = self.g.objects.get(comment_id)
        if comment is None or comment["type"] != "comment":
            raise _Error(400, 100, "(#100) Invalid comment_id")
        if comment.get("private_reply"):
            raise _Error(400, 10900, "Activity already replied to")
        age = time.time() - _epoch(comment["created_time"])
        if age > 7 * 86400:
            raise _Error(400, 10, "(#10) This message is sent outside of allowed window.", 2534022)
        message_id = f"m_{self.g.new_id()}"
        comment["private_reply"] = message_id
        self.g.objects[message_id] = {
            "type": "message",
            "id": message_id,
            "from": {"id": page.id, "name": page.name},
            "to": {"comment_id": comment_id},
            "message": message.get("text", ""),
            "created_time": _now(),
        }
        return {"recipient_id": comment["from"]["id"], "message_id": message_id}

    def ig_message(
        self,
        page: Page,
        conversation: dict[str, Any],
        recipient: dict[str, Any],
        message: dict[str, Any],
    ) -> dict[str, Any]:
        """An answer on Instagram messaging: refused outside the 24-hour window, like Graph."""
        theirs = [
            self.g.objects[m]["created_time"]
            for m in conversation["messages"]
            if self.g.objects[m]["from"]["id"] == recipient.get("id")
        ]
        if not theirs or time.time() - max(_epoch(t) for t in theirs) > 24 * 3600:
            raise _Error(400, 10, "This message is sent outside of allowed window.", 2534022)
        user = next(u for u in self.g.ig_users.values() if u.page_id == page.id)
        message_id = f"aWdfZ{self.g.new_id()}"
        self.g.objects[message_id] = {
            "type": "message",
            "id": message_id,
            "from": {"id": user.id, "username": user.username},
            "to": {"data": [{"id": recipient.get("id")}]},
            "message": message.get("text", ""),
            "created_time": _now(),
        }
        conversation["messages"].append(message_id)
        conversation["updated_time"] = _now()
        return {"recipient_id": recipient.get("id"), "message_id": message_id}

    def video_upload(self, page: Page) -> dict[str, Any]:
        phase = self.params.get("upload_phase", "")
        self.g.video_calls[phase] += 1
        if phase == "start":
            size = int(self.params.get("file_size") or 0)
            if size > self.g.max_video_bytes:
                raise _Error(
                    400,
                    6000,
                    "The video you tried to upload is too large. Please try again with a "
                    "smaller file.",
                    1363023,
                )
            video_id = self.g.new_id()
            session = f"s{self.g.new_id()}"
            self.g.objects[video_id] = {
                "type": "video",
                "id": video_id,
                "page": page.id,
                "session": session,
                "size": size,
                "received": b"",
                "phase": "uploading",
                "description": "",
                "created_time": _now(),
                "permalink_url": f"/{page.id}/videos/{video_id}/",
            }
            return {
                "upload_session_id": session,
                "video_id": video_id,
                "start_offset": "0",
                "end_offset": str(min(size, self.g.video_chunk)),
            }
        video = next(
            (
                v
                for v in self.g.of_type("video", page=page.id)
                if v["session"] == self.params.get("upload_session_id")
            ),
            None,
        )
        if video is None:
            raise _Error(400, 100, "(#100) Invalid upload_session_id")
        if phase == "transfer":
            start = int(self.params.get("start_offset") or -1)
            received = video["received"]
            if start != len(received):
                raise _Error(
                    400,
                    6000,
                    "There was a problem uploading your video. Please try uploading it again.",
                    1363037,
                )
            chunk = self.body.get("video_file_chunk")
            if not isinstance(chunk, bytes) or not chunk:
                raise _Error(400, 6000, "No Video Selected.", 1363020)
            video["received"] = received + chunk
            done = len(video["received"])
            return {
                "start_offset": str(done),
                "end_offset": str(min(video["size"], done + self.g.video_chunk)),
            }
        if phase == "finish":
            if len(video["received"]) != video["size"]:
                raise _Error(400, 6000, "There was a problem uploading your video.", 1363019)
            if video["phase"] != "uploading":
                raise _Error(400, 100, "(#100) The upload session is already finished")
            video["phase"] = "published"
            video["description"] = self.params.get("description", "")
            video["published"] = self.params.get("published") != "false"
            return {"success": True}
        raise _Error(400, 100, f"(#100) Invalid upload_phase {phase!r}")

    def public(self, obj: dict[str, Any]) -> dict[str, Any]:
        row = {k: v for k, v in obj.items() if k not in {"type", "comments", "messages", "root"}}
        if obj["type"] == "comment" and obj.get("parent"):
            row["parent"] = {"id": obj["parent"]}
        return row

    def object_route(self, method: str, obj: dict[str, Any], edge: str) -> Any:
        if method == "DELETE" and not edge:
            del self.g.objects[obj["id"]]
            return {"success": True}
        if method == "GET" and not edge:
            fields = (self.params.get("fields") or "").split(",")
            if "text" in fields and obj["type"] != "comment":
                raise _Error(400, 100, "(#100) Tried accessing nonexisting field (text)")
            row = self.public(obj)
            if obj["type"] == "comment" and obj.get("ig"):
                row["text"] = obj["message"]
                row["timestamp"] = obj["created_time"]
            if obj["type"] == "post":
                count = len(obj.get("comments", []))
                row["reactions"] = {"data": [], "summary": {"total_count": 3}}
                row["comments"] = {"data": [], "summary": {"total_count": count}}
                row["shares"] = {"count": 1}
            if obj["type"] == "container":
                row = {"id": obj["id"], "status_code": obj["status_code"]}
            if obj["type"] == "video":
                done = obj["phase"] == "published"
                row = {
                    "id": obj["id"],
                    "created_time": obj["created_time"],
                    "description": obj["description"],
                    "status": {
                        "video_status": "ready" if done else "upload_complete",
                        "uploading_phase": {"status": "complete" if done else "in_progress"},
                        "processing_phase": {"status": "complete" if done else "not_started"},
                        "publishing_phase": {"status": "complete" if done else "not_started"},
                    },
                }
            if obj["type"] == "ig_media":
                owner = self.g.ig_users.get(obj["user"])
                row["username"] = obj.get("username") or (owner.username if owner else "")
                row["like_count"] = 5
                row["comments_count"] = len(obj.get("comments", []))
            return row
        if method == "POST" and not edge and obj["type"] == "comment":
            obj["hidden"] = self.params.get("is_hidden") == "true"
            return {"success": True}
        if method == "POST" and edge in {"comments", "replies"}:
            page = self.require_any()
            ig = next((u for u in self.g.ig_users.values() if u.page_id == page.id), None)
            author = (
                (
                    (ig.id, ig.username)
                    if obj["type"] == "ig_media" or obj.get("ig")
                    else (page.id, page.name)
                )
                if ig
                else (page.id, page.name)
            )
            comment_id = self.g._comment(obj["id"], self.params.get("message", ""), author)
            if obj["type"] == "ig_media" or obj.get("ig"):
                self.g.objects[comment_id]["ig"] = True
            return {"id": comment_id}
        if edge in {"comments", "replies"} and method == "GET":
            rows = [self.public(self.g.objects[c]) for c in obj.get("comments", [])]
            rows = [r for r in rows if edge == "replies" or not r.get("parent") or True]
            rows.reverse()
            for row in rows:
                if row.get("ig"):
                    row["timestamp"] = row["created_time"]
                    row["text"] = row["message"]
                    if row.get("parent"):
                        row["parent_id"] = row["parent"]["id"]
            return {"data": rows}
        if edge == "messages" and method == "GET":
            rows = [self.public(self.g.objects[m]) for m in obj.get("messages", [])]
            rows.reverse()
            return {"data": rows}
        if edge == "insights" and method == "GET":
            names = (self.params.get("metric") or "").split(",")
            return {
                "data": [
                    {"name": n, "period": "lifetime", "values": [{"value": 42}], "id": f"x/{n}"}
                    for n in names
                    if n
                ]
            }
        raise _Error(400, 100, f"Unsupported request {method} {edge!r}")

    # -- Instagram ----------------------------------------------------------------------------

    def ig_route(self, method: str, user: IgUser, edge: str) -> Any:
        if method == "GET" and not edge:
            return {
                "id": user.id,
                "username": user.username,
                "name": user.username.title(),
                "profile_picture_url": "https://scontent.example/p.jpg",
                "followers_count": self.g.followers,
            }
        if method == "GET" and edge == "insights":
            if self.params.get("metric_type") != "total_value":
                raise _Error(400, 100, "(#100) profile_views requires metric_type=total_value")
            days = (int(self.params["until"]) - int(self.params["since"])) // 86400
            return {
                "data": [
                    {
                        "name": "profile_views",
                        "period": "day",
                        "total_value": {"value": self.g.daily_views * max(0, days)},
                        "id": f"{user.id}/insights/profile_views/day",
                    }
                ]
            }
        if method == "POST" and edge == "media":
            media_type = self.params.get("media_type", "IMAGE")
            if media_type == "CAROUSEL":
                children = self.params.get("children", "").split(",")
                if not all(self.g.objects.get(c, {}).get("type") == "container" for c in children):
                    raise _Error(400, 100, "Invalid children")
            else:
                url = self.params.get("image_url") or self.params.get("video_url") or ""
                if not url:
                    raise _Error(400, 100, "(#100) The parameter image_url is required.")
                if self.g.fetch_media:
                    try:
                        with urllib.request.urlopen(url, timeout=5) as answer:
                            answer.read()
                    except Exception as error:
                        raise _Error(
                            400, 9004, "Only photo or video can be accepted as media type.", 2207052
                        ) from error
                    self.g.fetched.append(url)
            container_id = self.g.new_id()
            self.g.objects[container_id] = {
                "type": "container",
                "id": container_id,
                "user": user.id,
                "status_code": "FINISHED",
                "caption": self.params.get("caption", ""),
                "media_type": media_type,
                "children": self.params.get("children", ""),
            }
            return {"id": container_id}
        if method == "POST" and edge == "media_publish":
            container = self.g.objects.get(self.params.get("creation_id", ""))
            if container is None or container["type"] != "container":
                raise _Error(400, 100, "(#100) Invalid creation_id")
            if container["status_code"] == "PUBLISHED":
                raise _Error(400, 9007, "The media is not ready for publishing", 2207027)
            media_id = self.g.new_id()
            container["status_code"] = "PUBLISHED"
            container["media_id"] = media_id
            self.g.objects[media_id] = {
                "type": "ig_media",
                "id": media_id,
                "user": user.id,
                "caption": container["caption"],
                "media_type": container["media_type"]
                if container["media_type"] != "CAROUSEL"
                else "CAROUSEL_ALBUM",
                "timestamp": _now(),
                "permalink": f"https://www.instagram.com/p/{media_id}/",
            }
            return {"id": media_id}
        if method == "GET" and edge == "media":
            rows = [
                {k: v for k, v in o.items() if k not in {"type", "comments", "user"}}
                for o in reversed(self.g.of_type("ig_media", user=user.id))
            ]
            return {"data": rows[: int(self.params.get("limit") or 25)]}
        if method == "GET" and edge == "tags":
            rows = [
                {k: v for k, v in o.items() if k not in {"type", "comments", "user", "tagged"}}
                for o in reversed(self.g.of_type("ig_media"))
                if user.id in o.get("tagged", ())
            ]
            return {"data": rows[: int(self.params.get("limit") or 25)]}
        if method == "POST" and edge == "mentions":
            # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/
            # reference/ig-user/mentions: media_id (a caption or tag), plus comment_id for a
            # comment that @mentions the account; the answer is a comment (a reply under it).
            media = self.g.objects.get(self.params.get("media_id", ""))
            handle = f"@{user.username}"
            asked = self.params.get("comment_id", "")
            if asked:
                comment = self.g.objects.get(asked)
                if (
                    media is None
                    or comment is None
                    or comment.get("root") != media["id"]
                    or handle not in comment.get("message", "")
                ):
                    raise _Error(
                        400, 100, "(#100) Invalid comment_id: the account is not mentioned"
                    )
                target = asked
            else:
                mentioned = media is not None and (
                    user.id in media.get("tagged", ()) or handle in media.get("caption", "")
                )
                if not mentioned:
                    raise _Error(400, 100, "(#100) Invalid media_id: the account is not mentioned")
                assert media is not None
                target = media["id"]
            comment_id = self.g._comment(
                target, self.params.get("message", ""), (user.id, user.username)
            )
            self.g.objects[comment_id]["ig"] = True
            return {"id": comment_id}
        if method == "GET" and edge == "content_publishing_limit":
            used = len(self.g.of_type("ig_media", user=user.id))
            return {
                "data": [
                    {"quota_usage": used, "config": {"quota_total": 50, "quota_duration": 86400}}
                ]
            }
        raise _Error(400, 100, f"Unknown Instagram edge {edge!r}")


def _epoch(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp())


class FakeGraphServer:
    """Serves a ``FakeGraph`` on 127.0.0.1 in a thread; ``url`` is its address."""

    def __init__(self, graph: FakeGraph | None = None) -> None:
        self.graph = graph or FakeGraph()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.graph))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeGraphServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
