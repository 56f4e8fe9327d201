"""A small stateful TikTok on loopback: Login Kit v2 (an authorisation page with an "Allow"
link, the token endpoint) and the parts of the v2 API ``portevoix.networks.tiktok`` calls,
shaped as TikTok's documentation shows them (see ``fixtures/tiktok/README.md``).

It keeps what matters to exactly-once: every POST and PUT that reached it, by path
(``posts``), the posts it holds (``videos``), and faults on demand:

- ``hold_next_init``: the next init is carried out (a ``PULL_FROM_URL`` post is published),
  then its answer is held back longer than the client waits (a timeout after acceptance);
- ``hold_next_status``: the next status answer is held back the same way;
- ``rate_limit_next``: the next API call answers ``429 rate_limit_exceeded``;
- ``refuse_next_init``: the next init answers this ``(http status, error code)``;
- ``processing_polls``: how many status reads a post stays ``PROCESSING_*`` before it is out;
- ``audited``: when false, an init that is not ``SELF_ONLY`` is refused as TikTok refuses an
  unaudited app's public post.

``/v2/video/list/`` lists only public videos, as TikTok's does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_KEY = "awfaketiktokclient"
CLIENT_SECRET = "tiktok-secret-1"
OPEN_ID = "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
USERNAME = "lumiere.paris"


class FakeTikTok:
    def __init__(self) -> None:
        self.access_tokens: set[str] = {"act.good-tiktok-token"}
        self.refresh_tokens: set[str] = {"rft.good-tiktok-refresh"}
        self.codes: set[str] = set()
        self.videos: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.publishes: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.posts: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []
        self.creator: dict[str, Any] = {
            "creator_avatar_url": "https://p16.tiktokcdn.example/avatar.jpeg",
            "creator_username": USERNAME,
            "creator_nickname": "Lumière Paris",
            "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            "comment_disabled": False,
            "duet_disabled": False,
            "stitch_disabled": True,
            "max_video_post_duration_sec": 300,
        }
        self.audited = True
        self.hold_next_init = False
        self.hold_next_status = False
        self.hold_seconds = 1.5
        self.rate_limit_next = False
        self.followers = 18200
        self.refuse_next_init: tuple[int, str] | None = None
        self.processing_polls = 0
        self.token_expires_in = 86400
        self._ids = itertools.count(7_300_000_000_000_000_001)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def auth_url(self) -> str:
        return self.url + "/v2/auth/authorize/"

    @property
    def init_posts(self) -> int:
        return (
            self.posts["/v2/post/publish/video/init/"]
            + self.posts["/v2/post/publish/content/init/"]
        )

    @contextlib.contextmanager
    def running(self) -> Iterator[FakeTikTok]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    # -- state ------------------------------------------------------------------------------

    def _publish(self, publish: dict[str, Any]) -> None:
        """The media is all there: the post exists (public ones get a public id)."""
        with self._lock:
            video_id = str(next(self._ids))
            publish["video_id"] = video_id
            info = publish["post_info"]
            public = info.get("privacy_level") == "PUBLIC_TO_EVERYONE"
            self.videos[video_id] = {
                "id": video_id,
                "title": info.get("title", ""),
                "video_description": info.get("description") or info.get("title", ""),
                "create_time": int(time.time()),
                "share_url": f"https://www.tiktok.com/@{USERNAME}/video/{video_id}",
                "like_count": 0,
                "comment_count": 0,
                "share_count": 0,
                "view_count": 0,
                "public": public,
                "kind": publish["kind"],
            }
            self.order.append(video_id)

    # -- HTTP -------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _ok(self, data: Any) -> None:
                self._send(
                    200,
                    {"data": data, "error": {"code": "ok", "message": "", "log_id": _log_id()}},
                )

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(
                    status,
                    {"error": {"code": code, "message": message, "log_id": _log_id()}},
                )

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = self._body()
                fake.requests.append((method, path))
                if method in ("POST", "PUT"):
                    fake.posts[path] += 1
                if path == "/favicon.ico":
                    return self._send(204, raw=b"")
                if path == "/v2/auth/authorize/":
                    return self._authorize(query)
                if path == "/v2/oauth/token/":
                    return self._token({k: v[0] for k, v in parse_qs(body.decode()).items()})
                if path.startswith("/upload/"):
                    return self._put_upload(path.rsplit("/", 1)[1], body)
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in fake.access_tokens:
                    return self._error(
                        401,
                        "access_token_invalid",
                        "The access token is invalid or not found in the request.",
                    )
                if fake.rate_limit_next:
                    fake.rate_limit_next = False
                    return self._error(
                        429, "rate_limit_exceeded", "The API rate limit was exceeded."
                    )
                data = json.loads(body) if body else {}
                name = "_" + method.lower() + path.replace("/", "_").rstrip("_")
                handler = getattr(self, name, None)
                if handler is None:
                    return self._error(404, "invalid_params", f"{method} {path}")
                handler(query, data)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PUT(self) -> None:
                self._route("PUT")

            # -- Login Kit ------------------------------------------------------------------

            def _authorize(self, query: dict[str, str]) -> None:
                if query.get("client_key") != CLIENT_KEY:
                    return self._send(400, raw=b"unknown client_key")
                code = "code-" + uuid.uuid4().hex[:12]
                fake.codes.add(code)
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode({"state": query.get("state", ""), "code": code, "scopes": ""})
                )
                page = (
                    "<!doctype html><title>Fake TikTok</title><h1>Porte-voix would like to post "
                    f'to your TikTok account</h1><a id="allow" href="{target}">Authorize</a>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def _token(self, form: dict[str, str]) -> None:
                if form.get("client_key") != CLIENT_KEY or form.get("client_secret") != (
                    CLIENT_SECRET
                ):
                    return self._send(
                        200,
                        {
                            "error": "invalid_client",
                            "error_description": "Client key or secret is incorrect.",
                            "log_id": _log_id(),
                        },
                    )
                grant = form.get("grant_type")
                if grant == "authorization_code":
                    if form.get("code") not in fake.codes:
                        return self._send(
                            200,
                            {
                                "error": "invalid_grant",
                                "error_description": "Authorization code is expired.",
                                "log_id": _log_id(),
                            },
                        )
                    fake.codes.discard(form["code"])
                elif grant == "refresh_token":
                    if form.get("refresh_token") not in fake.refresh_tokens:
                        return self._send(
                            200,
                            {
                                "error": "invalid_grant",
                                "error_description": "Refresh token is invalid or expired.",
                                "log_id": _log_id(),
                            },
                        )
                else:
                    return self._send(200, {"error": "unsupported_grant_type"})
                access = "act." + uuid.uuid4().hex
                refresh = "rft." + uuid.uuid4().hex
                fake.access_tokens.add(access)
                fake.refresh_tokens.add(refresh)
                self._send(
                    200,
                    {
                        "access_token": access,
                        "expires_in": fake.token_expires_in,
                        "open_id": OPEN_ID,
                        "refresh_expires_in": 31536000,
                        "refresh_token": refresh,
                        "scope": "user.info.basic,user.info.profile,user.info.stats,"
                        "video.publish,video.list",
                        "token_type": "Bearer",
                    },
                )

            # -- the account ----------------------------------------------------------------

            def _get_v2_user_info(self, query: dict[str, str], data: dict[str, Any]) -> None:
                self._ok(
                    {
                        "user": {
                            "open_id": OPEN_ID,
                            "avatar_url": "https://p16.tiktokcdn.example/avatar.jpeg",
                            "display_name": "Lumière Paris",
                            "username": USERNAME,
                            "profile_deep_link": f"https://vm.tiktok.com/{USERNAME}/",
                            "follower_count": fake.followers,
                        }
                    }
                )

            def _post_v2_post_publish_creator_info_query(
                self, query: dict[str, str], data: dict[str, Any]
            ) -> None:
                self._ok(fake.creator)

            # -- posting --------------------------------------------------------------------

            def _refusal(self, info: dict[str, Any]) -> bool:
                if fake.refuse_next_init is not None:
                    status, code = fake.refuse_next_init
                    fake.refuse_next_init = None
                    self._error(status, code, f"refused: {code}")
                    return True
                level = info.get("privacy_level")
                if level not in fake.creator["privacy_level_options"]:
                    self._error(
                        400,
                        "privacy_level_option_mismatch",
                        "privacy_level is not among the creator's options.",
                    )
                    return True
                if not fake.audited and level != "SELF_ONLY":
                    self._error(
                        403,
                        "unaudited_client_can_only_post_to_private_accounts",
                        "Unaudited clients can only post to a private account.",
                    )
                    return True
                return False

            def _accepted(self, publish: dict[str, Any], extra: dict[str, Any]) -> None:
                publish_id = publish["publish_id"]
                fake.publishes[publish_id] = publish
                if publish["ready"]:
                    fake._publish(publish)
                if fake.hold_next_init:
                    fake.hold_next_init = False
                    time.sleep(fake.hold_seconds)
                    return
                self._ok({"publish_id": publish_id, **extra})

            def _post_v2_post_publish_video_init(
                self, query: dict[str, str], data: dict[str, Any]
            ) -> None:
                info = data.get("post_info") or {}
                source = data.get("source_info") or {}
                if self._refusal(info):
                    return
                publish_id = f"v_pub_{source.get('source', '').lower()}~v2.{next(fake._ids)}"
                publish = {
                    "publish_id": publish_id,
                    "kind": "video",
                    "post_info": info,
                    "source": source,
                    "polls": 0,
                    "ready": source.get("source") == "PULL_FROM_URL",
                }
                extra: dict[str, Any] = {}
                if source.get("source") == "FILE_UPLOAD":
                    upload_id = uuid.uuid4().hex
                    fake.uploads[upload_id] = {
                        "publish": publish,
                        "size": int(source.get("video_size") or 0),
                        "received": set(),
                        "bytes": 0,
                    }
                    extra["upload_url"] = f"{fake.url}/upload/{upload_id}"
                self._accepted(publish, extra)

            def _post_v2_post_publish_content_init(
                self, query: dict[str, str], data: dict[str, Any]
            ) -> None:
                info = data.get("post_info") or {}
                if data.get("media_type") != "PHOTO":
                    return self._error(400, "invalid_params", "media_type must be PHOTO")
                if self._refusal(info):
                    return
                publish = {
                    "publish_id": f"p_pub_url~v2.{next(fake._ids)}",
                    "kind": "photo",
                    "post_info": info,
                    "source": data.get("source_info") or {},
                    "polls": 0,
                    "ready": True,
                }
                self._accepted(publish, {})

            def _put_upload(self, upload_id: str, body: bytes) -> None:
                upload = fake.uploads.get(upload_id)
                if upload is None:
                    return self._send(404, raw=b"")
                first, last_total = self.headers.get("Content-Range", "").split(" ")[1].split("-")
                last, total = last_total.split("/")
                if int(last) - int(first) + 1 != len(body) or int(total) != upload["size"]:
                    return self._send(416, raw=b"")
                with fake._lock:
                    if first not in upload["received"]:
                        upload["received"].add(first)
                        upload["bytes"] += len(body)
                    complete = upload["bytes"] >= upload["size"]
                if complete:
                    publish = upload["publish"]
                    if not publish["ready"]:
                        publish["ready"] = True
                        fake._publish(publish)
                    return self._send(201, raw=b"")
                self._send(206, raw=b"")

            def _post_v2_post_publish_status_fetch(
                self, query: dict[str, str], data: dict[str, Any]
            ) -> None:
                publish = fake.publishes.get(str(data.get("publish_id")))
                if publish is None:
                    return self._error(400, "invalid_params", "publish_id not found")
                publish["polls"] += 1
                if not publish["ready"]:
                    answer: dict[str, Any] = {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 0}
                elif publish["polls"] <= fake.processing_polls:
                    answer = {"status": "PROCESSING_DOWNLOAD"}
                else:
                    video = fake.videos[publish["video_id"]]
                    answer = {
                        "status": "PUBLISH_COMPLETE",
                        "publicaly_available_post_id": [int(video["id"])]
                        if video["public"]
                        else [],
                    }
                if fake.hold_next_status:
                    fake.hold_next_status = False
                    time.sleep(fake.hold_seconds)
                    return
                self._ok(answer)

            # -- reading back ---------------------------------------------------------------

            def _post_v2_video_list(self, query: dict[str, str], data: dict[str, Any]) -> None:
                public = [fake.videos[v] for v in reversed(fake.order) if fake.videos[v]["public"]]
                size = int(data.get("max_count") or 20)
                start = int(data.get("cursor") or 0)
                page = public[start : start + size]
                fields = (query.get("fields") or "id").split(",")
                self._ok(
                    {
                        "videos": [{f: v[f] for f in fields if f in v} for v in page],
                        "cursor": start + len(page),
                        "has_more": start + size < len(public),
                    }
                )

            def _post_v2_video_query(self, query: dict[str, str], data: dict[str, Any]) -> None:
                ids = ((data.get("filters") or {}).get("video_ids")) or []
                fields = (query.get("fields") or "id").split(",")
                videos = [
                    {f: fake.videos[i][f] for f in fields if f in fake.videos[i]}
                    for i in ids
                    if i in fake.videos
                ]
                self._ok({"videos": videos, "cursor": 0, "has_more": False})

        return Handler


def _log_id() -> str:
    return "20261202" + uuid.uuid4().hex[:18].upper()
