"""A small stateful LinkedIn on loopback, for the contract suite and the browser's connect test.

It answers the calls ``portevoix.networks.linkedin`` makes, shaped as LinkedIn's documentation
shows them (see ``fixtures/linkedin/README.md``): OAuth (an authorisation page with an
"Allow" button, the token endpoint), ``/v2/userinfo``, organizations, the Images API (and the
upload URL it hands out), the Posts API (create, the author finder, delete), comments,
``socialMetadata`` and the page's share statistics. It refuses a call without the
``LinkedIn-Version`` and ``X-Restli-Protocol-Version`` headers, as LinkedIn does.

Videos (the Videos API): ``initializeUpload`` hands out one upload address per
``video_part`` bytes, each ``PUT`` answers an ``ETag``, ``finalizeUpload`` checks them in order,
``GET /rest/videos/{urn}`` says ``PROCESSING`` for ``video_processing_reads`` reads then
``AVAILABLE``; ``video_calls`` counts initialisations, parts and finalisations, and a post may
only use an ``AVAILABLE`` video.

It keeps what matters to exactly-once: every ``POST /rest/posts`` that reached it is counted
(``post_requests``), and a fault can make it store a post and then hold its answer past the
client's timeout (``hold_next_post``), or answer 429 once (``rate_limit_next``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ORG_ID = "2414183"
MEMBER_SUB = "782bbtaQ"
GOOD_TOKEN = "AQX-good-token-linkedin"
REFRESH_TOKEN = "AQW-refresh-linkedin"
CLIENT_ID = "78abc-client"
CLIENT_SECRET = "s3cr3t-linkedin-app"
VERSION = re.compile(r"^\d{6}$")


@dataclass
class FakeState:
    tokens: dict[str, str] = field(default_factory=lambda: {GOOD_TOKEN: MEMBER_SUB})
    codes: dict[str, str] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    video_part: int = 1024
    video_processing_reads: int = 0
    video_calls: Counter[str] = field(default_factory=Counter)
    post_requests: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    hold_next_post: float = 0.0
    rate_limit_next: bool = False
    token_expires_in: int = 5184000
    give_refresh_token: bool = False
    #: The page's (or member's) followers and its page views per day.
    followers: int = 4210
    daily_views: int = 23
    counter: int = 7100000000000000000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter


class FakeLinkedIn:
    """``with FakeLinkedIn() as fake: fake.base_url``; ``fake.state`` is what it holds."""

    def __init__(self) -> None:
        self.state = FakeState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            # -- plumbing ---------------------------------------------------------------------

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

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
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def _error(self, status: int, code: str, message: str, **extra: Any) -> None:
                self._send(status, {"status": status, "code": code, "message": message, **extra})

            def _who(self) -> str | None:
                auth = self.headers.get("Authorization") or ""
                token = auth.removeprefix("Bearer ").strip()
                return state.tokens.get(token)

            def _api_checks(self) -> bool:
                if self._who() is None:
                    self._error(
                        401, "INVALID_ACCESS_TOKEN", "Invalid access token", serviceErrorCode=65600
                    )
                    return False
                if self.path.startswith("/rest/") and (
                    not VERSION.match(self.headers.get("LinkedIn-Version") or "")
                    or self.headers.get("X-Restli-Protocol-Version") != "2.0.0"
                ):
                    self._error(400, "VERSION_MISSING", "A version must be present.")
                    return False
                if state.rate_limit_next:
                    state.rate_limit_next = False
                    self._error(
                        429,
                        "TOO_MANY_REQUESTS",
                        "Resource level throttle APPLICATION DAY limit for calls to this "
                        "resource is reached.",
                        serviceErrorCode=101,
                    )
                    return False
                return True

            def _actor(self) -> str:
                return f"urn:li:person:{self._who()}"

            # -- routes -----------------------------------------------------------------------

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                state.requests.append(("GET", parts.path))
                if parts.path == "/oauth/v2/authorization":
                    return self._authorization_page(query)
                if parts.path == "/oauth/v2/allow":
                    return self._allow(query)
                if not self._api_checks():
                    return None
                if parts.path == "/v2/userinfo":
                    return self._send(
                        200,
                        {
                            "sub": self._who(),
                            "email_verified": True,
                            "name": "Camille Martin",
                            "locale": {"country": "FR", "language": "fr"},
                            "given_name": "Camille",
                            "family_name": "Martin",
                            "picture": "https://media.licdn.com/dms/image/example/photo.jpg",
                        },
                    )
                if parts.path == f"/rest/organizations/{ORG_ID}":
                    return self._send(
                        200,
                        {
                            "id": int(ORG_ID),
                            "localizedName": "Lumière Conseil",
                            "vanityName": "lumiere-conseil",
                            "primaryOrganizationType": "NONE",
                        },
                    )
                if parts.path.startswith("/rest/organizations/"):
                    return self._error(
                        403,
                        "ACCESS_DENIED",
                        "Not enough permissions to access: organizations.GET.20261101",
                        serviceErrorCode=100,
                    )
                match = re.match(r"^/rest/videos/([^/]+)$", parts.path)
                if match:
                    video = state.videos.get(unquote(match.group(1)))
                    if video is None:
                        return self._error(404, "NOT_FOUND", "Not found")
                    if video["status"] == "PROCESSING":
                        if video["reads"] <= 0:
                            video["status"] = "AVAILABLE"
                        video["reads"] -= 1
                    return self._send(
                        200,
                        {
                            "id": video["urn"],
                            "owner": video["owner"],
                            "status": video["status"],
                            "duration": 1000,
                        },
                    )
                if parts.path == "/rest/posts" and query.get("q") == "author":
                    return self._find_posts(query)
                match = re.match(r"^/rest/socialActions/([^/]+)/comments$", parts.path)
                if match:
                    target = unquote(match.group(1))
                    return self._send(
                        200,
                        {
                            "elements": list(state.comments.get(target, [])),
                            "paging": {"count": 100, "start": 0, "links": []},
                        },
                    )
                match = re.match(r"^/rest/socialMetadata/([^/]+)$", parts.path)
                if match:
                    urn = unquote(match.group(1))
                    if not any(p["id"] == urn for p in state.posts):
                        return self._error(404, "NOT_FOUND", "Not found")
                    count = len(state.comments.get(urn, []))
                    return self._send(
                        200,
                        {
                            "reactionSummaries": {"LIKE": {"reactionType": "LIKE", "count": 2}},
                            "commentSummary": {"count": count, "topLevelCount": count},
                            "entity": urn,
                            "commentsState": "OPEN",
                        },
                    )
                if parts.path == "/rest/organizationalEntityShareStatistics":
                    return self._share_statistics(parts.query)
                if unquote(parts.path) == f"/rest/networkSizes/urn:li:organization:{ORG_ID}":
                    return self._send(200, {"firstDegreeSize": state.followers})
                if parts.path == "/rest/memberFollowersCount" and query.get("q") == "me":
                    return self._send(
                        200,
                        {
                            "paging": {"start": 0, "count": 10, "links": []},
                            "elements": [{"memberFollowersCount": state.followers}],
                        },
                    )
                if parts.path == "/rest/organizationPageStatistics":
                    return self._page_statistics(parts.query)
                return self._error(404, "NOT_FOUND", f"No route {parts.path}")

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                body = self._body()
                state.requests.append(("POST", parts.path))
                if parts.path == "/oauth/v2/accessToken":
                    return self._token(parse_qs(body.decode()))
                if parts.path == "/rest/posts":
                    with state.lock:
                        state.post_requests += 1
                if not self._api_checks():
                    return None
                data = json.loads(body or b"{}")
                if parts.path == "/rest/images" and parts.query == "action=initializeUpload":
                    image = f"urn:li:image:C4E10AQ{state.next_id()}"
                    host = self.headers.get("Host")
                    return self._send(
                        200,
                        {
                            "value": {
                                "uploadUrlExpiresAt": int(time.time() * 1000) + 3600_000,
                                "uploadUrl": f"http://{host}/dms-uploads/{image}",
                                "image": image,
                            }
                        },
                    )
                if parts.path == "/rest/videos" and parts.query == "action=initializeUpload":
                    return self._initialize_video(data)
                if parts.path == "/rest/videos" and parts.query == "action=finalizeUpload":
                    return self._finalize_video(data)
                if parts.path == "/rest/posts":
                    return self._create_post(data)
                match = re.match(r"^/rest/socialActions/([^/]+)/comments$", parts.path)
                if match:
                    return self._create_comment(unquote(match.group(1)), data, self._actor())
                return self._error(404, "NOT_FOUND", f"No route {parts.path}")

            def do_PUT(self) -> None:
                parts = urlsplit(self.path)
                body = self._body()
                state.requests.append(("PUT", parts.path))
                if not self._api_checks():
                    return None
                if parts.path.startswith("/dms-uploads/video/"):
                    urn, index = unquote(parts.path.removeprefix("/dms-uploads/video/")).rsplit(
                        "/", 1
                    )
                    video = state.videos.get(urn)
                    if video is None:
                        return self._error(404, "NOT_FOUND", "No such upload")
                    state.video_calls["part"] += 1
                    video["parts"][int(index)] = body
                    etag = f"/dms/etag-{urn.rsplit(':', 1)[-1]}-{index}-{len(body)}"
                    return self._send(200, headers={"ETag": etag})
                if parts.path.startswith("/dms-uploads/"):
                    state.images[unquote(parts.path.removeprefix("/dms-uploads/"))] = body
                    return self._send(201)
                return self._error(404, "NOT_FOUND", "No route")

            def do_DELETE(self) -> None:
                parts = urlsplit(self.path)
                state.requests.append(("DELETE", parts.path))
                if not self._api_checks():
                    return None
                match = re.match(r"^/rest/posts/([^/]+)$", parts.path)
                if match:
                    urn = unquote(match.group(1))
                    before = len(state.posts)
                    state.posts[:] = [p for p in state.posts if p["id"] != urn]
                    if len(state.posts) == before:
                        return self._error(404, "NOT_FOUND", "Not found")
                    return self._send(204)
                return self._error(404, "NOT_FOUND", "No route")

            # -- behaviour --------------------------------------------------------------------

            def _authorization_page(self, query: dict[str, str]) -> None:
                if query.get("client_id") != CLIENT_ID:
                    return self._send(
                        400, raw=b"<p>Invalid client_id</p>", content_type="text/html"
                    )
                allow = "/oauth/v2/allow?" + "&".join(
                    f"{k}={v}"
                    for k, v in (
                        ("redirect_uri", _q(query.get("redirect_uri", ""))),
                        ("state", _q(query.get("state", ""))),
                    )
                )
                page = (
                    "<!doctype html><html lang=en><head><meta charset=utf-8>"
                    "<title>LinkedIn (fake)</title><link rel=icon href='data:,'></head><body><main>"
                    f"<h1>Porte-voix would like to access your LinkedIn account</h1>"
                    f"<p>Scopes: {query.get('scope', '')}</p>"
                    f"<a id=allow href='{allow}'>Allow</a></main></body></html>"
                )
                return self._send(200, raw=page.encode(), content_type="text/html")

            def _allow(self, query: dict[str, str]) -> None:
                code = f"code-{state.next_id()}"
                state.codes[code] = MEMBER_SUB
                target = f"{query['redirect_uri']}?code={code}&state={_q(query['state'])}"
                self._send(302, headers={"Location": target})

            def _token(self, form: dict[str, list[str]]) -> None:
                values = {k: v[0] for k, v in form.items()}
                if (
                    values.get("client_id") != CLIENT_ID
                    or values.get("client_secret") != CLIENT_SECRET
                ):
                    return self._send(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "Client authentication failed",
                        },
                    )
                if values.get("grant_type") == "authorization_code":
                    sub = state.codes.pop(values.get("code", ""), None)
                elif values.get("grant_type") == "refresh_token":
                    sub = MEMBER_SUB if values.get("refresh_token") == REFRESH_TOKEN else None
                else:
                    sub = None
                if sub is None:
                    return self._send(
                        400,
                        {
                            "error": "invalid_request",
                            "error_description": "Unable to retrieve access token",
                        },
                    )
                token = f"AQV-{state.next_id()}"
                state.tokens[token] = sub
                answer: dict[str, Any] = {
                    "access_token": token,
                    "expires_in": state.token_expires_in,
                    "scope": "openid,profile,w_member_social",
                }
                if state.give_refresh_token:
                    answer["refresh_token"] = REFRESH_TOKEN
                    answer["refresh_token_expires_in"] = 31536000
                return self._send(200, answer)

            def _create_post(self, data: dict[str, Any]) -> None:
                author = str(data.get("author") or "")
                if author not in {self._actor(), f"urn:li:organization:{ORG_ID}"}:
                    return self._error(403, "ACCESS_DENIED", "Not enough permissions")
                commentary = str(data.get("commentary") or "")
                for existing in state.posts:
                    if (
                        existing["author"] == author
                        and existing["commentary"] == commentary
                        and (existing.get("content") == data.get("content"))
                    ):
                        return self._error(
                            422,
                            "",
                            f"Content is a duplicate of {existing['id']}",
                            errorDetails={
                                "inputErrors": [
                                    {
                                        "description": "Duplicate post is detected",
                                        "input": {},
                                        "code": "DUPLICATE_POST",
                                    }
                                ]
                            },
                        )
                media = ((data.get("content") or {}).get("media") or {}).get("id") or ""
                if media.startswith("urn:li:video:") and (
                    state.videos.get(media, {}).get("status") != "AVAILABLE"
                ):
                    return self._error(400, "", f"Video {media} is not available")
                for image in _images(data.get("content")):
                    if image not in state.images:
                        return self._error(400, "", f"Image {image} was not uploaded")
                urn = f"urn:li:share:{state.next_id()}"
                now = int(time.time() * 1000)
                state.posts.insert(
                    0,
                    {
                        "id": urn,
                        "author": author,
                        "commentary": commentary,
                        "visibility": data.get("visibility"),
                        "distribution": data.get("distribution"),
                        "lifecycleState": data.get("lifecycleState"),
                        "isReshareDisabledByAuthor": False,
                        "createdAt": now,
                        "publishedAt": now,
                        "lastModifiedAt": now,
                        "isEditedByAuthor": False,
                        **({"content": data["content"]} if data.get("content") else {}),
                    },
                )
                hold = state.hold_next_post
                if hold:
                    state.hold_next_post = 0.0
                    time.sleep(hold)
                return self._send(201, headers={"x-restli-id": urn, "x-linkedin-id": urn})

            def _initialize_video(self, data: dict[str, Any]) -> None:
                request = data.get("initializeUploadRequest") or {}
                size = int(request.get("fileSizeBytes") or 0)
                if size > 500 * 1000 * 1000:
                    return self._error(400, "", "File size exceeds the maximum of 500MB")
                state.video_calls["initialize"] += 1
                urn = f"urn:li:video:D5610AQ{state.next_id()}"
                host = self.headers.get("Host")
                chunk = state.video_part
                instructions = [
                    {
                        "uploadUrl": f"http://{host}/dms-uploads/video/{urn}/{n}",
                        "firstByte": start,
                        "lastByte": min(size, start + chunk) - 1,
                    }
                    for n, start in enumerate(range(0, size, chunk))
                ]
                state.videos[urn] = {
                    "urn": urn,
                    "owner": request.get("owner"),
                    "size": size,
                    "parts": {},
                    "count": len(instructions),
                    "status": "WAITING_UPLOAD",
                    "reads": state.video_processing_reads,
                }
                return self._send(
                    200,
                    {
                        "value": {
                            "uploadUrlsExpireAt": int(time.time() * 1000) + 86_400_000,
                            "video": urn,
                            "uploadInstructions": instructions,
                            "uploadToken": "",
                        }
                    },
                )

            def _finalize_video(self, data: dict[str, Any]) -> None:
                request = data.get("finalizeUploadRequest") or {}
                video = state.videos.get(str(request.get("video") or ""))
                if video is None:
                    return self._error(404, "NOT_FOUND", "No such video")
                state.video_calls["finalize"] += 1
                parts = video["parts"]
                expected = [
                    f"/dms/etag-{video['urn'].rsplit(':', 1)[-1]}-{n}-{len(parts.get(n, b''))}"
                    for n in range(video["count"])
                ]
                if len(parts) != video["count"] or request.get("uploadedPartIds") != expected:
                    return self._error(400, "", "Uploaded part ids do not match the upload")
                video["data"] = b"".join(parts[n] for n in range(video["count"]))
                video["status"] = "PROCESSING"
                return self._send(200)

            def _create_comment(self, target: str, data: dict[str, Any], actor: str) -> None:
                object_urn = str(data.get("object") or target)
                comment_id = str(state.next_id())
                activity = object_urn.replace("urn:li:share:", "urn:li:activity:")
                now = int(time.time() * 1000)
                comment = {
                    "actor": data.get("actor") or actor,
                    "commentUrn": f"urn:li:comment:({activity},{comment_id})",
                    "$URN": f"urn:li:comment:({activity},{comment_id})",
                    "id": comment_id,
                    "message": {"attributes": [], "text": (data.get("message") or {}).get("text")},
                    "created": {"actor": actor, "time": now},
                    "lastModified": {"actor": actor, "time": now},
                    "object": activity,
                    **(
                        {"parentComment": data["parentComment"]}
                        if data.get("parentComment")
                        else {}
                    ),
                }
                state.comments.setdefault(target, []).append(comment)
                return self._send(201, comment, headers={"x-restli-id": comment_id})

            def _find_posts(self, query: dict[str, str]) -> None:
                author = query.get("author", "")
                start = int(query.get("start", "0"))
                count = int(query.get("count", "10"))
                mine = [p for p in state.posts if p["author"] == author]
                return self._send(
                    200,
                    {
                        "elements": mine[start : start + count],
                        "paging": {"start": start, "count": count, "links": [], "total": len(mine)},
                    },
                )

            def _page_statistics(self, raw_query: str) -> None:
                """One element per day of the asked interval, ``state.daily_views`` each."""
                found = re.search(r"start:(\d+),end:(\d+)", unquote(raw_query))
                if not found or f"organization:{ORG_ID}" not in unquote(raw_query):
                    return self._error(400, "ILLEGAL_ARGUMENT", "Invalid timeIntervals")
                start, end = int(found.group(1)), int(found.group(2))
                day = 86_400_000
                elements = [
                    {
                        "organization": f"urn:li:organization:{ORG_ID}",
                        "timeRange": {"start": moment, "end": moment + day},
                        "totalPageStatistics": {
                            "views": {"allPageViews": {"pageViews": state.daily_views}}
                        },
                    }
                    for moment in range(start, end, day)
                ]
                return self._send(200, {"elements": elements, "paging": {"links": []}})

            def _share_statistics(self, raw_query: str) -> None:
                shares = re.findall(r"(?:shares|ugcPosts)=List\(([^)]*)\)", raw_query)
                urns = [unquote(u) for group in shares for u in group.split(",") if u]
                elements = []
                for urn in urns:
                    if not any(p["id"] == urn for p in state.posts):
                        continue
                    comments = len(state.comments.get(urn, []))
                    elements.append(
                        {
                            "totalShareStatistics": {
                                "uniqueImpressionsCount": 12,
                                "shareCount": 1,
                                "engagement": 0.1,
                                "clickCount": 3,
                                "likeCount": 2,
                                "impressionCount": 20,
                                "commentCount": comments,
                            },
                            "share": urn,
                            "organizationalEntity": f"urn:li:organization:{ORG_ID}",
                        }
                    )
                return self._send(200, {"paging": {"count": 10, "start": 0}, "elements": elements})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_comment(self, post_urn: str, text: str, actor: str = "urn:li:person:other42") -> None:
        """Another member comments on ``post_urn``."""
        activity = post_urn.replace("urn:li:share:", "urn:li:activity:")
        comment_id = str(self.state.next_id())
        now = int(time.time() * 1000)
        self.state.comments.setdefault(post_urn, []).append(
            {
                "actor": actor,
                "commentUrn": f"urn:li:comment:({activity},{comment_id})",
                "id": comment_id,
                "message": {"attributes": [], "text": text},
                "created": {"actor": actor, "time": now},
                "lastModified": {"actor": actor, "time": now},
                "object": activity,
            }
        )

    def __enter__(self) -> FakeLinkedIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _images(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    if isinstance(content.get("media"), dict):
        media = str(content["media"].get("id"))
        return [] if media.startswith("urn:li:video:") else [media]
    multi = content.get("multiImage")
    if isinstance(multi, dict):
        return [str(i.get("id")) for i in multi.get("images") or []]
    return []


def _q(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
