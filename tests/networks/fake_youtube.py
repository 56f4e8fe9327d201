"""A small stateful YouTube on loopback: Google's token endpoint, a consent page, and the parts
of the Data API v3 the module uses, with the resumable upload protocol.

It counts what reaches it (``posts``: every POST and PUT by path; ``videos``: the videos it
holds), checks the bearer token, and injects faults on demand:

- ``lose_next_write``: the next write is carried out, then its answer is held back longer than
  the client waits (a timeout after acceptance);
- ``quota_next``: the next call answers ``403 quotaExceeded``;
- ``refuse_tokens``: the token endpoint refuses every grant (``invalid_grant``).

Answers follow the shapes of the API reference (developers.google.com/youtube/v3/docs).
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
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CHANNEL_ID = "UCfake000000000000000001"
FAN_ID = "UCfan0000000000000000001"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class FakeYouTube:
    def __init__(self, *, client_id: str = "client-1", client_secret: str = "secret-1") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = {"refresh-1"}
        self.access_tokens: set[str] = set()
        self.codes: dict[str, str] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.subscribers = 1530
        self.order: list[str] = []  # uploads, oldest first
        self.sessions: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.posts: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []
        self.lose_next_write = False
        self.quota_next = False
        self.refuse_tokens = False
        self.hold_seconds = 3.0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    @property
    def auth_uri(self) -> str:
        return self.url + "o/oauth2/v2/auth"

    def start(self) -> FakeYouTube:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @contextlib.contextmanager
    def running(self) -> Iterator[FakeYouTube]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # -- state ------------------------------------------------------------------------------

    def _id(self, prefix: str, width: int) -> str:
        return (prefix + str(next(self._ids))).rjust(width, "x")[-width:]

    def add_comment(self, video_id: str, text: str, *, author: str = FAN_ID) -> str:
        with self._lock:
            thread_id = "Ug" + uuid.uuid4().hex[:24]
            comment = {
                "kind": "youtube#comment",
                "id": thread_id,
                "snippet": {
                    "channelId": CHANNEL_ID,
                    "videoId": video_id,
                    "textDisplay": text,
                    "textOriginal": text,
                    "authorDisplayName": "@fan",
                    "authorChannelUrl": f"http://www.youtube.com/channel/{author}",
                    "authorChannelId": {"value": author},
                    "likeCount": 0,
                    "publishedAt": _now(),
                    "updatedAt": _now(),
                },
            }
            self.threads[thread_id] = {
                "kind": "youtube#commentThread",
                "id": thread_id,
                "snippet": {
                    "channelId": CHANNEL_ID,
                    "videoId": video_id,
                    "topLevelComment": comment,
                    "totalReplyCount": 0,
                    "isPublic": True,
                },
                "replies": {"comments": []},
            }
            self.videos[video_id]["statistics"]["commentCount"] = str(
                int(self.videos[video_id]["statistics"]["commentCount"]) + 1
            )
            return thread_id

    def uploads_of(self, title: str) -> list[str]:
        return [v for v in self.order if self.videos[v]["snippet"]["title"] == title]

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

            def _send(
                self,
                status: int,
                body: Any = None,
                headers: dict[str, str] | None = None,
                raw: bytes | None = None,
            ) -> None:
                data = raw if raw is not None else json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, reason: str, message: str) -> None:
                self._send(
                    status,
                    {
                        "error": {
                            "code": status,
                            "message": message,
                            "errors": [{"message": message, "domain": "youtube", "reason": reason}],
                        }
                    },
                )

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = self._body()
                fake.requests.append((method, path))
                if method in ("POST", "PUT", "DELETE"):
                    fake.posts[path] += 1
                if path == "/favicon.ico":
                    return self._send(204, raw=b"")
                if path == "/token":
                    return self._token(parse_qs(body.decode()))
                if path == "/o/oauth2/v2/auth":
                    return self._consent(query)
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in fake.access_tokens:
                    return self._error(401, "authError", "Invalid Credentials")
                if fake.quota_next:
                    fake.quota_next = False
                    return self._error(
                        403,
                        "quotaExceeded",
                        "The request cannot be completed because you have exceeded your quota.",
                    )
                handler = getattr(
                    self,
                    "_"
                    + method.lower()
                    + "_"
                    + path.strip("/").replace("/", "_").replace("youtube_v3_", ""),
                    None,
                )
                if path.startswith("/upload/session/"):
                    return self._put_session(path.rsplit("/", 1)[1], body)
                if handler is None:
                    return self._error(404, "notFound", f"{method} {path}")
                return handler(query, body)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PUT(self) -> None:
                self._route("PUT")

            def do_DELETE(self) -> None:
                self._route("DELETE")

            def _hold(self) -> bool:
                """After a write was carried out: hold the answer back if asked to."""
                if fake.lose_next_write:
                    fake.lose_next_write = False
                    time.sleep(fake.hold_seconds)
                    return True
                return False

            # -- OAuth ----------------------------------------------------------------------

            def _consent(self, query: dict[str, str]) -> None:
                if query.get("client_id") != fake.client_id:
                    return self._send(400, raw=b"unknown client", headers={})
                code = "code-" + uuid.uuid4().hex[:12]
                fake.codes[code] = query.get("code_challenge", "")
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode({"state": query.get("state", ""), "code": code})
                )
                page = (
                    "<!doctype html><title>Fake Google</title><h1>Porte-voix wants to manage "
                    f'your YouTube account</h1><a id="allow" href="{target}">Allow</a>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def _token(self, form: dict[str, list[str]]) -> None:
                values = {k: v[0] for k, v in form.items()}
                if (
                    fake.refuse_tokens
                    or values.get("client_id") != fake.client_id
                    or values.get("client_secret") != fake.client_secret
                ):
                    return self._send(
                        400, {"error": "invalid_grant", "error_description": "Bad Request"}
                    )
                grant = values.get("grant_type")
                answer: dict[str, Any] = {
                    "expires_in": 3599,
                    "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
                    "token_type": "Bearer",
                }
                if grant == "refresh_token":
                    if values.get("refresh_token") not in fake.refresh_tokens:
                        return self._send(
                            400,
                            {
                                "error": "invalid_grant",
                                "error_description": "Token has been expired or revoked.",
                            },
                        )
                elif grant == "authorization_code":
                    if fake.codes.pop(values.get("code", ""), None) is None or not values.get(
                        "code_verifier"
                    ):
                        return self._send(
                            400,
                            {"error": "invalid_grant", "error_description": "Malformed auth code."},
                        )
                    refresh = "refresh-" + uuid.uuid4().hex[:8]
                    fake.refresh_tokens.add(refresh)
                    answer["refresh_token"] = refresh
                else:
                    return self._send(400, {"error": "unsupported_grant_type"})
                token = "ya29.fake-" + uuid.uuid4().hex
                fake.access_tokens.add(token)
                answer["access_token"] = token
                self._send(200, answer)

            # -- channels -------------------------------------------------------------------

            def _get_channels(self, query: dict[str, str], body: bytes) -> None:
                if query.get("part") == "statistics":
                    return self._send(
                        200,
                        {
                            "kind": "youtube#channelListResponse",
                            "items": [
                                {
                                    "kind": "youtube#channel",
                                    "id": CHANNEL_ID,
                                    "statistics": {
                                        "viewCount": "91000",
                                        "subscriberCount": str(fake.subscribers),
                                        "hiddenSubscriberCount": False,
                                        "videoCount": str(len(fake.videos)),
                                    },
                                }
                            ],
                        },
                    )
                self._send(
                    200,
                    {
                        "kind": "youtube#channelListResponse",
                        "items": [
                            {
                                "kind": "youtube#channel",
                                "id": CHANNEL_ID,
                                "snippet": {
                                    "title": "Lumière TV",
                                    "customUrl": "@lumieretv",
                                    "thumbnails": {"default": {"url": "https://yt3.example/a.jpg"}},
                                },
                                "contentDetails": {
                                    "relatedPlaylists": {"uploads": "UU" + CHANNEL_ID[2:]}
                                },
                            }
                        ],
                    },
                )

            # -- uploads --------------------------------------------------------------------

            def _post_upload_videos(self, query: dict[str, str], body: bytes) -> None:
                if query.get("uploadType") != "resumable":
                    return self._error(400, "badRequest", "resumable only here")
                metadata = json.loads(body or b"{}")
                session = uuid.uuid4().hex
                fake.sessions[session] = {
                    "metadata": metadata,
                    "size": int(self.headers.get("X-Upload-Content-Length") or 0),
                    "received": 0,
                    "video": None,
                }
                self._send(200, {}, headers={"Location": f"{fake.url}upload/session/{session}"})

            def _put_session(self, session_id: str, body: bytes) -> None:
                session = fake.sessions.get(session_id)
                if session is None:
                    return self._error(404, "notFound", "no such upload session")
                content_range = self.headers.get("Content-Range", "")
                if content_range.startswith("bytes */"):
                    # A status query.
                    if session["video"] is not None:
                        return self._send(200, fake.videos[session["video"]])
                    headers = (
                        {"Range": f"bytes=0-{session['received'] - 1}"}
                        if session["received"]
                        else {}
                    )
                    return self._send(308, raw=b"", headers=headers)
                session["received"] += len(body)
                if session["received"] < session["size"]:
                    return self._send(
                        308, raw=b"", headers={"Range": f"bytes=0-{session['received'] - 1}"}
                    )
                with fake._lock:
                    video_id = fake._id("v", 11)
                    snippet = dict(session["metadata"].get("snippet") or {})
                    snippet.update({"publishedAt": _now(), "channelId": CHANNEL_ID})
                    asked = (session["metadata"].get("status") or {}).get("privacyStatus", "public")
                    video = {
                        "kind": "youtube#video",
                        "id": video_id,
                        "snippet": snippet,
                        "status": {"uploadStatus": "uploaded", "privacyStatus": asked},
                        "statistics": {"viewCount": "0", "likeCount": "0", "commentCount": "0"},
                    }
                    fake.videos[video_id] = video
                    fake.order.append(video_id)
                    session["video"] = video_id
                if self._hold():
                    return
                self._send(200, video)

            def _get_playlistItems(self, query: dict[str, str], body: bytes) -> None:
                items = []
                for video_id in reversed(fake.order):
                    video = fake.videos[video_id]
                    items.append(
                        {
                            "kind": "youtube#playlistItem",
                            "id": "PI" + video_id,
                            "snippet": {
                                "publishedAt": video["snippet"]["publishedAt"],
                                "title": video["snippet"]["title"],
                                "description": video["snippet"].get("description", ""),
                                "playlistId": query.get("playlistId"),
                                "resourceId": {"kind": "youtube#video", "videoId": video_id},
                            },
                            "contentDetails": {"videoId": video_id},
                            "status": {"privacyStatus": video["status"]["privacyStatus"]},
                        }
                    )
                size = int(query.get("maxResults") or 5)
                start = int(query.get("pageToken") or 0)
                page: dict[str, Any] = {"items": items[start : start + size]}
                if start + size < len(items):
                    page["nextPageToken"] = str(start + size)
                self._send(200, page)

            def _get_videos(self, query: dict[str, str], body: bytes) -> None:
                ids = query.get("id", "").split(",")
                items = [
                    {"kind": "youtube#video", "id": i, "statistics": fake.videos[i]["statistics"]}
                    for i in ids
                    if i in fake.videos
                ]
                self._send(200, {"items": items})

            def _delete_videos(self, query: dict[str, str], body: bytes) -> None:
                video_id = query.get("id", "")
                if video_id not in fake.videos:
                    return self._error(404, "videoNotFound", "The video cannot be found.")
                del fake.videos[video_id]
                fake.order.remove(video_id)
                self._send(204, raw=b"")

            # -- comments -------------------------------------------------------------------

            def _get_commentThreads(self, query: dict[str, str], body: bytes) -> None:
                threads = list(fake.threads.values())
                if "videoId" in query:
                    threads = [t for t in threads if t["snippet"]["videoId"] == query["videoId"]]
                threads.sort(
                    key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
                    reverse=True,
                )
                self._send(200, {"items": threads})

            def _get_comments(self, query: dict[str, str], body: bytes) -> None:
                thread = fake.threads.get(query.get("parentId", ""))
                self._send(200, {"items": thread["replies"]["comments"] if thread else []})

            def _post_commentThreads(self, query: dict[str, str], body: bytes) -> None:
                data = json.loads(body)
                snippet = data["snippet"]
                if snippet["videoId"] not in fake.videos:
                    return self._error(404, "videoNotFound", "The video cannot be found.")
                thread_id = fake.add_comment(
                    snippet["videoId"],
                    snippet["topLevelComment"]["snippet"]["textOriginal"],
                    author=CHANNEL_ID,
                )
                if self._hold():
                    return
                self._send(200, fake.threads[thread_id])

            def _post_comments(self, query: dict[str, str], body: bytes) -> None:
                snippet = json.loads(body)["snippet"]
                thread = fake.threads.get(snippet["parentId"])
                if thread is None:
                    return self._error(404, "commentNotFound", "The comment cannot be found.")
                reply_id = f"{thread['id']}.{uuid.uuid4().hex[:20]}"
                reply = {
                    "kind": "youtube#comment",
                    "id": reply_id,
                    "snippet": {
                        "textOriginal": snippet["textOriginal"],
                        "parentId": thread["id"],
                        "authorChannelId": {"value": CHANNEL_ID},
                        "authorDisplayName": "Lumière TV",
                        "publishedAt": _now(),
                    },
                }
                thread["replies"]["comments"].append(reply)
                thread["snippet"]["totalReplyCount"] += 1
                if self._hold():
                    return
                self._send(200, reply)

            def _post_comments_setModerationStatus(
                self, query: dict[str, str], body: bytes
            ) -> None:
                thread = fake.threads.get(query.get("id", ""))
                if thread is None:
                    return self._error(404, "commentNotFound", "The comment cannot be found.")
                thread["snippet"]["isPublic"] = False
                self._send(204, raw=b"")

        return Handler
