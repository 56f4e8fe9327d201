"""Facebook pages through Meta's Graph API (:mod:`portevoix.networks.meta`, httpx).

Credentials: ``page_id`` and ``page_access_token`` (from the Facebook Login in the browser:
``begin_authorization``/``complete_authorization``; or pasted from Meta's tools), plus
``user_access_token`` and ``graph_url`` kept from the login. A page token obtained through a
long-lived user token does not expire: there is nothing to refresh; when the person revokes
the app or changes their password, Graph answers code 190 and the channel asks for a
reconnection (history kept).

Publishing: text (a link in it becomes the post's link preview), one or several photos
(uploaded unpublished, then attached to one feed post), one video (the text is its
description), a first comment under the post.

A video goes through Graph's resumable upload on ``/{page-id}/videos`` (on the
``graph-video`` host): ``upload_phase=start`` gives an upload session and the video's id,
``transfer`` sends the chunks Graph asks for, ``finish`` publishes it. The session, the video id
and the offset reached are written to the journal after each call, and the journal says
"sending" before ``finish``: after a lost answer, ``reconcile`` and ``publish`` read the video by
its id (its ``status``) instead of comparing texts; a video whose upload Graph closed is the
post, one still open gets its ``finish`` again (never a second upload), one Graph no longer
knows is "not published".

No idempotency key on Graph: every write goes through the channel's **journal**
(:class:`portevoix.networks.base.Journal`): before the call, "sending" with the time; after
it, the id Graph gave. ``reconcile`` answers from the journal when the id is there; after a
lost answer it reads the page's published posts made since the first attempt and compares
their text: one match is the post, none is "not published", several is ``Ambiguous``.
``publish`` with a key whose journal says "sending" asks the same question before sending.

Inbound: comments under the page's recent posts, posts that tag the page (mentions) and
Messenger conversations (``pages_messaging``); answers in public (a comment) or in private (a
private reply to a comment, or a Messenger message within Meta's 24-hour window).
Metrics: reactions, comments and shares of each post, and its insights where the app may read
them (``read_insights``).
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx

from . import meta
from .base import CredentialsListener, Journal, Network
from .errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    Permanent,
)
from .i18n import gettext as _
from .registry import register
from .types import (
    AccountInfo,
    AccountMetric,
    AccountMetrics,
    Author,
    AuthorizationRequest,
    Candidate,
    Capability,
    Credentials,
    InboundBatch,
    InboundItem,
    InboundKind,
    Limits,
    MediaItem,
    MetricSnapshot,
    OutgoingPost,
    PublishedRef,
)

logger = logging.getLogger(__name__)

SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_user_content",
    "pages_messaging",
    "read_insights",
)
# Reconcile without the first attempt's time: this far back.
_WINDOW = timedelta(hours=24)
# Graph writes created_time to the second, on its own clock: this much slack.
_SLACK = timedelta(minutes=2)
# A video chunk Graph refused while saying where to resume: tried again this many times in one
# attempt before the worker's next one resumes from the journal.
_CHUNK_RETRIES = 3
# Posts whose comments are read by each inbound sync.
_RECENT_POSTS = 25
_COMMENT_FIELDS = "id,from,message,created_time,parent{id},permalink_url"


def _same(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text or "").split())

    return norm(a) == norm(b)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _load_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


@register
class FacebookNetwork(Network):
    name: ClassVar[str] = "facebook"
    label: ClassVar[str] = "Facebook"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.FIRST_COMMENT,
            Capability.READ_COMMENTS,
            Capability.READ_MENTIONS,
            Capability.READ_PRIVATE_MESSAGES,
            Capability.REPLY_PUBLIC,
            Capability.REPLY_PRIVATE,
            Capability.HIDE_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.DELETE_POST,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.OAUTH,
        }
    )
    #: The page's ``followers_count`` (https://developers.facebook.com/docs/graph-api/
    #: reference/page/) and its ``page_views_total`` insight (``read_insights``;
    #: https://developers.facebook.com/docs/graph-api/reference/insights/#page-views).
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(AccountMetric)
    # Documented, not readable from the API: 63,206 characters per post; page photos up to
    # 10 MB in JPEG, PNG, GIF, BMP or TIFF (https://developers.facebook.com/docs/graph-api/
    # reference/page/photos/). Ten photos per post is Porte-voix's own bound. Videos by
    # resumable upload: up to 10 GB and 4 hours (https://developers.facebook.com/docs/
    # graph-api/video-uploads; the 4 hours are in ``media.specs``); Graph takes many
    # containers, Porte-voix sends those it can read (MP4, MOV, WebM/Matroska).
    limits: Limits = Limits(
        max_text_length=63206,
        max_images=10,
        max_image_bytes=10 * 1024 * 1024,
        max_video_bytes=10 * 1000 * 1000 * 1000,
        image_mime_types=frozenset(
            {"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"}
        ),
        video_mime_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("page_id", "page_access_token")
    uses_journal: ClassVar[bool] = True

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        journal: Journal | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            on_credentials_change=on_credentials_change,
            limits=limits,
            journal=journal,
        )
        self._transport = transport
        self._graph: meta.GraphClient | None = None
        self._video_graph: meta.GraphClient | None = None

    # -- account ------------------------------------------------------------------------------

    @property
    def graph(self) -> meta.GraphClient:
        if self._graph is None:
            _ = self.credentials  # AuthExpired when not connected
            raise AssertionError("connected without a Graph client")  # pragma: no cover
        return self._graph

    @property
    def page_id(self) -> str:
        return self.credentials.get("page_id")

    def _client_for(self, credentials: Credentials) -> meta.GraphClient:
        return meta.GraphClient(
            self.name,
            self.label,
            graph_url=credentials.get("graph_url") or meta.app().graph_url,
            token=credentials.get("page_access_token"),
            timeout=self.timeout,
            transport=self._transport,
        )

    def connect(self, credentials: Credentials) -> AccountInfo:
        page_id = credentials.get("page_id").strip()
        if not page_id or not credentials.get("page_access_token"):
            raise InvalidInput(
                "Facebook needs the page's id and its access token.",
                network=self.name,
                code="missing",
            )
        if self._graph is not None:
            self._graph.close()
        self._graph = self._client_for(credentials)
        page = self._graph.get(
            page_id, {"fields": "id,name,username,link"}, action="reading the page"
        )
        account = AccountInfo(
            network=self.name,
            account_id=str(page.get("id") or page_id),
            handle=str(page.get("username") or page.get("name") or page_id),
            display_name=str(page.get("name") or ""),
            url=str(page.get("link") or f"https://www.facebook.com/{page_id}"),
        )
        return self._bind(credentials, account)

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        if self._graph is not None:
            self._graph.close()
        self._graph = self._client_for(credentials)
        self._bind(credentials, account)

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None
        if self._video_graph is not None:
            self._video_graph.close()
            self._video_graph = None

    @property
    def video_graph(self) -> meta.GraphClient:
        """Graph on its video host: uploads go to ``graph-video.facebook.com``
        (https://developers.facebook.com/docs/graph-api/video-uploads); another Graph address
        (a fake in tests, a proxy) takes them itself."""
        graph = self.graph
        if self._video_graph is None:
            url = graph.graph_url.replace("://graph.facebook.com", "://graph-video.facebook.com")
            self._video_graph = meta.GraphClient(
                self.name,
                self.label,
                graph_url=url,
                token=self.credentials.get("page_access_token"),
                # A chunk may take longer than a plain call.
                timeout=max(self.timeout, 120.0),
                transport=self._transport,
            )
        return self._video_graph

    @classmethod
    def begin_authorization(
        cls, instance_url: str, redirect_uri: str, *, state: str, app_name: str = "Porte-voix"
    ) -> AuthorizationRequest:
        """Facebook Login; ``instance_url`` carries the page's name or id (optional)."""
        meta.require_app(cls.label, cls.name)
        return AuthorizationRequest(
            url=meta.dialog_url(redirect_uri=redirect_uri, state=state, scopes=SCOPES),
            state=state,
            redirect_uri=redirect_uri,
            instance_url=instance_url.strip(),
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        """Code → long-lived user token → the chosen page's token (which does not expire)."""
        meta.require_app(cls.label, cls.name)
        graph_url = meta.app().graph_url
        client = meta.GraphClient(
            cls.name, cls.label, graph_url=graph_url, token="", timeout=timeout
        )
        try:
            user_token, expires_at = meta.long_lived_user_token(
                client, code=code, redirect_uri=request.redirect_uri
            )
            pages = cls._pages(client, user_token)
        finally:
            client.close()
        page = meta.choose_page(pages, request.instance_url, label=cls.label, network=cls.name)
        page_token = page.get("access_token")
        if not isinstance(page_token, str) or not page_token:
            raise Permanent(
                "Facebook did not give a token for this page: you need to manage it (the "
                "“create content” task) to connect it.",
                network=cls.name,
                code="no_page_token",
            )
        values = {
            "page_id": str(page.get("id")),
            "page_access_token": page_token,
            "user_access_token": user_token,
            "graph_url": graph_url,
        }
        if expires_at is not None:
            values["user_token_expires_at"] = _iso(expires_at)
        return Credentials(values)

    @staticmethod
    def _pages(client: meta.GraphClient, user_token: str) -> list[dict[str, Any]]:
        answer = client.request(
            "GET",
            "me/accounts",
            params={"fields": "id,name,username,access_token", "limit": 100},
            action="listing your pages",
            token=user_token,
        )
        data = answer.get("data")
        return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else []

    # -- publishing ---------------------------------------------------------------------------

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        """``https://www.facebook.com/<page>/posts/<number>`` (or ``/<page_id>_<number>``,
        ``permalink.php?story_fbid=<number>&id=<page_id>``) of the account's page: Graph's id
        of that post, ``<page_id>_<number>``. Links with ``pfbid...`` ids are not guessed."""
        link = urlsplit(url.strip())
        host = (link.hostname or "").lower()
        if not (host == "facebook.com" or host.endswith(".facebook.com")):
            return None
        page = account.account_id
        names = {page.lower(), account.handle.lower().lstrip("@")}
        parts = link.path.strip("/").split("/")
        if len(parts) == 3 and parts[0].lower() in names and parts[1] == "posts":
            return f"{page}_{parts[2]}" if parts[2].isdigit() else None
        if (
            len(parts) == 1
            and parts[0].startswith(f"{page}_")
            and parts[0][len(page) + 1 :].isdigit()
        ):
            return parts[0]
        if parts == ["permalink.php"]:
            query = parse_qs(link.query)
            story, owner = query.get("story_fbid", [""])[0], query.get("id", [""])[0]
            if story.isdigit() and owner == page:
                return f"{page}_{story}"
        return None

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        videos = [m for m in post.media if m.is_video]
        if videos and len(post.media) > 1:
            problems.append(_("On Facebook a video goes alone, without photos or another video."))
        # Formats and duration are checked with the file itself (``media.processing.
        # check_video``, in the composer); Graph refuses what it cannot read (``InvalidInput``).
        return problems

    def _ref(self, post_id: str, *, url: str = "", at: datetime | None = None) -> PublishedRef:
        return PublishedRef(
            network=self.name,
            post_id=post_id,
            url=url or f"https://www.facebook.com/{post_id}",
            published_at=at,
        )

    def _ref_from_entry(self, entry: Mapping[str, str]) -> PublishedRef:
        at = meta.parse_time(entry.get("at"))
        return self._ref(entry["post_id"], url=entry.get("url", ""), at=at)

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        graph = self.graph
        self.ensure_valid(post)
        if post.in_reply_to:
            return self.reply(post.in_reply_to, post.text, idempotency_key=idempotency_key)
        entry = dict(self.journal.get(idempotency_key) or {})
        if not entry.get("post_id") and entry.get("kind") == "video":
            entry = self._video_after_loss(idempotency_key, entry)
        elif not entry.get("post_id") and entry.get("state") == "sending":
            since = meta.parse_time(entry.get("since"))
            try:
                found = self._find_post(post, since=since, exclude=frozenset())
            except Ambiguous as error:
                raise OutcomeUnknown(
                    "An earlier attempt may already be on the page: " + error.message,
                    network=self.name,
                    code="ambiguous",
                ) from error
            if found is not None:
                entry = self._remember(idempotency_key, entry, found)
        if not entry.get("post_id"):
            if any(m.is_video for m in post.media):
                entry = self._send_video(post, idempotency_key, entry)
            else:
                entry = self._send_post(graph, post, idempotency_key, entry)
        ref = self._ref_from_entry(entry)
        if post.first_comment and not entry.get("comment_id"):
            self._first_comment(graph, ref, post.first_comment, idempotency_key, entry)
        return ref

    def _remember(self, key: str, entry: dict[str, str], ref: PublishedRef) -> dict[str, str]:
        entry = {
            **entry,
            "state": "done",
            "post_id": ref.post_id,
            "url": ref.url,
            "at": _iso(ref.published_at or _now()),
        }
        self.journal.put(key, entry)
        return entry

    def _send_post(
        self, graph: meta.GraphClient, post: OutgoingPost, key: str, entry: dict[str, str]
    ) -> dict[str, str]:
        page = self.page_id
        photos = [p for p in entry.get("photos", "").split(",") if p]
        # Photos first, unpublished: nothing shows on the page until the feed post.
        for number, item in enumerate(post.media):
            if number < len(photos):
                continue
            fields: dict[str, Any] = {"published": False}
            if item.alt_text:
                fields["alt_text_custom"] = item.alt_text
            answer = graph.post(
                f"{page}/photos",
                fields,
                files={"source": (item.filename, item.read_all(), item.mime_type)},
                action="uploading a photo",
                write=False,
            )
            photo_id = str(answer.get("id") or "")
            if not photo_id:
                raise Permanent(
                    _("Facebook accepted a photo without giving its id."),
                    network=self.name,
                    code="no_id",
                )
            photos.append(photo_id)
            entry["photos"] = ",".join(photos)
            self.journal.put(key, entry)
        data: dict[str, Any] = {"message": post.text}
        link = meta.first_link(post.text)
        if photos:
            for index, photo_id in enumerate(photos):
                data[f"attached_media[{index}]"] = {"media_fbid": photo_id}
        elif link:
            data["link"] = link
        started = _now()
        entry = {**entry, "state": "sending", "since": entry.get("since") or _iso(started)}
        # The mark, before the call: if the answer is lost, reconcile looks from here.
        self.journal.put(key, entry)
        answer = graph.post(f"{page}/feed", data, action="publishing the post")
        post_id = str(answer.get("id") or "")
        if not post_id:
            raise OutcomeUnknown(
                "Facebook answered the post without its id: Porte-voix checks the page.",
                network=self.name,
                code="no_id",
            )
        return self._remember(key, entry, self._ref(post_id, at=started))

    # -- video ----------------------------------------------------------------------------------

    def _video_ref(self, video_id: str, *, at: datetime | None = None) -> PublishedRef:
        return self._ref(
            video_id, url=f"https://www.facebook.com/{self.page_id}/videos/{video_id}", at=at
        )

    def _send_video(self, post: OutgoingPost, key: str, entry: dict[str, str]) -> dict[str, str]:
        """Start (or resume) the resumable upload, send the chunks, then ``finish``."""
        item = next(m for m in post.media if m.is_video)
        video = self.video_graph
        edge = f"{self.page_id}/videos"
        if not entry.get("session"):
            answer = video.post(
                edge,
                {"upload_phase": "start", "file_size": item.size},
                action="starting the video upload",
                write=False,
            )
            session = str(answer.get("upload_session_id") or "")
            video_id = str(answer.get("video_id") or "")
            if not session or not video_id:
                raise Permanent(
                    _("Facebook started a video upload without its session or video id."),
                    network=self.name,
                    code="no_id",
                )
            entry = {
                "kind": "video",
                "session": session,
                "video_id": video_id,
                "start": str(_offset(answer.get("start_offset"))),
                "end": str(_offset(answer.get("end_offset"))),
                "since": entry.get("since") or _iso(_now()),
                "state": "uploading",
            }
            self.journal.put(key, entry)
        with item.open() as handle:
            entry = self._transfer(item, handle, key, entry)
        return self._finish_video(post, key, entry)

    def _transfer(
        self, item: MediaItem, handle: IO[bytes], key: str, entry: dict[str, str]
    ) -> dict[str, str]:
        """Send the chunks Graph asks for (its ``start_offset``/``end_offset``), each read
        from the file as it goes: the video is never whole in memory."""
        video = self.video_graph
        edge = f"{self.page_id}/videos"
        start, end = int(entry.get("start") or 0), int(entry.get("end") or 0)
        refused = 0
        while start < end:
            try:
                answer = video.post(
                    edge,
                    {
                        "upload_phase": "transfer",
                        "upload_session_id": entry["session"],
                        "start_offset": start,
                    },
                    files={
                        "video_file_chunk": (
                            item.filename,
                            item.read_chunk(handle, start, end),
                            item.mime_type,
                        )
                    },
                    action="uploading the video",
                    write=False,
                )
            except meta.VideoChunkRefused as error:
                if not error.resumable:
                    self.journal.put(
                        key, {"kind": "video", "since": entry["since"], "state": "absent"}
                    )
                    raise
                # Graph said which chunk it wants: take the upload up there, in this attempt
                # a few times, then in the next one (the session and offsets are journaled).
                start, end = int(error.start_offset or 0), int(error.end_offset or 0)
                entry = {**entry, "start": str(start), "end": str(end)}
                self.journal.put(key, entry)
                refused += 1
                if refused > _CHUNK_RETRIES:
                    raise
                continue
            except NetworkError:
                # Where Graph stands is unknown now; an unfinished session is never published,
                # so the next attempt starts a new one rather than guessing offsets.
                self.journal.put(key, {"kind": "video", "since": entry["since"], "state": "absent"})
                raise
            start, end = _offset(answer.get("start_offset")), _offset(answer.get("end_offset"))
            entry = {**entry, "start": str(start), "end": str(end)}
            self.journal.put(key, entry)
        return entry

    def _finish_video(self, post: OutgoingPost, key: str, entry: dict[str, str]) -> dict[str, str]:
        # The mark, before the call that publishes: a lost answer is read back by the video id.
        entry = {**entry, "state": "sending", "finish_at": _iso(_now())}
        self.journal.put(key, entry)
        fields: dict[str, Any] = {
            "upload_phase": "finish",
            "upload_session_id": entry["session"],
            "description": post.text,
            "published": True,
        }
        answer = self.video_graph.post(
            f"{self.page_id}/videos", fields, action="publishing the video"
        )
        if answer.get("success") is not True:
            raise OutcomeUnknown(
                _(
                    "Facebook answered the video's publication without saying it succeeded: "
                    "Porte-voix checks the video."
                ),
                network=self.name,
                code="no_success",
            )
        ref = self._video_ref(entry["video_id"], at=meta.parse_time(entry["finish_at"]))
        return self._remember(key, entry, ref)

    def _video_status(self, video_id: str) -> tuple[str, datetime | None] | None:
        """``"closed"`` when Graph received the ``finish`` (the video is processed, published
        or failed), ``"open"`` when the upload still waits for it; ``None``: no such video."""
        try:
            row = self.graph.get(
                video_id, {"fields": "id,status,created_time"}, action="reading the video"
            )
        except NotFound:
            return None
        found = row.get("status")
        status: dict[str, Any] = found if isinstance(found, dict) else {}
        phases = {
            name: str((status.get(name) or {}).get("status") or "")
            for name in ("uploading_phase", "processing_phase", "publishing_phase")
        }
        closed = (
            phases["processing_phase"] not in {"", "not_started"}
            or phases["publishing_phase"] not in {"", "not_started"}
            or str(status.get("video_status") or "") in {"ready", "processing", "error"}
        )
        return ("closed" if closed else "open"), meta.parse_time(row.get("created_time"))

    def _video_after_loss(self, key: str, entry: dict[str, str]) -> dict[str, str]:
        """A video entry without its post: what Graph knows of the video decides."""
        if entry.get("state") != "sending":
            return entry  # the upload resumes where the journal says
        found = self._video_status(entry["video_id"])
        if found is None:
            # Graph no longer knows the video (the session expired): nothing is on the page.
            entry = {"kind": "video", "since": entry.get("since", ""), "state": "absent"}
            self.journal.put(key, entry)
            return entry
        state, at = found
        if state == "closed":
            return self._remember(key, entry, self._video_ref(entry["video_id"], at=at))
        # Uploaded, never finished: ``publish`` sends ``finish`` again, not the file.
        entry = {**entry, "state": "uploading"}
        self.journal.put(key, entry)
        return entry

    def _first_comment(
        self,
        graph: meta.GraphClient,
        ref: PublishedRef,
        text: str,
        key: str,
        entry: dict[str, str],
    ) -> None:
        if entry.get("comment_state") == "sending":
            existing = self._find_own_comment(ref.post_id, text)
            if existing:
                self.journal.put(key, {**entry, "comment_id": existing})
                return
        self.journal.put(key, {**entry, "comment_state": "sending"})
        try:
            answer = graph.post(
                f"{ref.post_id}/comments", {"message": text}, action="adding the first comment"
            )
        except NetworkError as error:
            # The post is out: whatever happened to the comment, this publish is not "nothing
            # happened". Publishing again with the key adds the comment, never the post.
            raise OutcomeUnknown(
                f"The post is on Facebook but its first comment failed ({error.message})",
                network=self.name,
                code=error.code or "first_comment",
            ) from error
        self.journal.put(
            key, {**entry, "comment_state": "done", "comment_id": str(answer.get("id") or "")}
        )

    def _find_own_comment(self, target: str, text: str) -> str:
        for comment in self._comments(target, limit=100):
            author = comment.get("from") or {}
            if str(author.get("id")) == self.page_id and _same(
                str(comment.get("message") or ""), text
            ):
                return str(comment.get("id"))
        return ""

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        _ = self.graph
        entry = dict(self.journal.get(idempotency_key) or {})
        if entry.get("post_id") and entry["post_id"] not in exclude:
            return self._ref_from_entry(entry)
        since = since or meta.parse_time(entry.get("since"))
        kind = entry.get("kind", "post")
        if kind == "private":
            if entry.get("state") != "sending":
                return None
            raise Ambiguous(
                "A private answer may have been sent on Facebook: look in the page's inbox.",
                network=self.name,
            )
        if kind == "comment" or (post is not None and post.in_reply_to):
            target = entry.get("target") or (post.in_reply_to if post else "") or ""
            if not target or post is None:
                return None
            found = self._find_comment(target, post.text, since=since, exclude=exclude)
        elif kind == "video":
            if entry.get("state") != "sending":
                # The ``finish`` was never sent: the video is not on the page.
                return None
            entry = self._video_after_loss(idempotency_key, entry)
            if entry.get("post_id") and entry["post_id"] not in exclude:
                return self._ref_from_entry(entry)
            return None
        else:
            if not entry:
                # Nothing was ever sent under this key: the journal is written before a call.
                return None
            found = self._find_post(post, since=since, exclude=exclude)
        if found is None:
            if entry:
                self.journal.put(idempotency_key, {**entry, "state": "absent"})
            return None
        self._remember(idempotency_key, entry, found)
        return found

    def _find_post(
        self, post: OutgoingPost | None, *, since: datetime | None, exclude: frozenset[str]
    ) -> PublishedRef | None:
        threshold = (since or _now() - _WINDOW) - _SLACK
        answer = self.graph.get(
            f"{self.page_id}/published_posts",
            {
                "fields": "id,message,created_time,permalink_url",
                "since": int(threshold.timestamp()),
                "limit": 100,
            },
            action="reading the page's recent posts",
        )
        rows = [r for r in answer.get("data") or [] if isinstance(r, dict)]
        eligible = []
        for row in rows:
            created = meta.parse_time(row.get("created_time"))
            if created is not None and created < threshold:
                continue
            if str(row.get("id")) in exclude:
                continue
            eligible.append(row)
        if post is None or not post.text.strip():
            if not eligible:
                return None
            raise Ambiguous(
                "Posts were made on the page since the first attempt and this one has no text "
                "to compare: look on the page.",
                candidates=tuple(self._candidate(r) for r in eligible[:20]),
                network=self.name,
            )
        same = [r for r in eligible if _same(str(r.get("message") or ""), post.text)]
        if len(same) > 1:
            raise Ambiguous(
                "Several posts on the page have this text: look on the page.",
                candidates=tuple(self._candidate(r) for r in same[:20]),
                network=self.name,
            )
        if not same:
            return None
        row = same[0]
        return self._ref(
            str(row["id"]),
            url=str(row.get("permalink_url") or ""),
            at=meta.parse_time(row.get("created_time")),
        )

    def _find_comment(
        self, target: str, text: str, *, since: datetime | None, exclude: frozenset[str]
    ) -> PublishedRef | None:
        threshold = (since or _now() - _WINDOW) - _SLACK
        same = []
        for comment in self._comments(target, limit=100):
            created = meta.parse_time(comment.get("created_time"))
            if created is not None and created < threshold:
                continue
            if str(comment.get("id")) in exclude:
                continue
            author = comment.get("from") or {}
            if str(author.get("id")) == self.page_id and _same(
                str(comment.get("message") or ""), text
            ):
                same.append(comment)
        if len(same) > 1:
            raise Ambiguous(
                "Several answers with this text are under the comment: look on the page.",
                candidates=tuple(self._candidate(c) for c in same[:20]),
                network=self.name,
            )
        if not same:
            return None
        return self._ref(
            str(same[0]["id"]),
            url=str(same[0].get("permalink_url") or ""),
            at=meta.parse_time(same[0].get("created_time")),
        )

    def _candidate(self, row: Mapping[str, Any]) -> Candidate:
        return Candidate(
            post_id=str(row.get("id")),
            url=str(row.get("permalink_url") or ""),
            text=str(row.get("message") or "")[:1000],
            created_at=meta.parse_time(row.get("created_time")),
            note="same text" if row.get("message") else "no text",
        )

    def delete(self, ref: PublishedRef) -> None:
        try:
            self.graph.delete(ref.post_id, action="deleting the post")
        except NotFound:
            return

    # -- inbound ------------------------------------------------------------------------------

    def _comments(self, target: str, *, limit: int = 100) -> list[dict[str, Any]]:
        answer = self.graph.get(
            f"{target}/comments",
            {
                "fields": _COMMENT_FIELDS,
                "filter": "stream",
                "order": "reverse_chronological",
                "limit": limit,
            },
            action="reading comments",
        )
        return [c for c in answer.get("data") or [] if isinstance(c, dict)]

    def _author(self, data: Any) -> Author:
        data = data if isinstance(data, dict) else {}
        author_id = str(data.get("id") or "")
        return Author(
            id=author_id,
            handle=str(data.get("name") or author_id or "?"),
            display_name=str(data.get("name") or ""),
        )

    def _comment_item(self, comment: Mapping[str, Any], post_id: str) -> InboundItem | None:
        created = meta.parse_time(comment.get("created_time"))
        if created is None or not comment.get("id"):
            return None
        parent = comment.get("parent")
        parent_id = str(parent.get("id")) if isinstance(parent, dict) and parent.get("id") else ""
        return InboundItem(
            network=self.name,
            message_id=str(comment["id"]),
            kind=InboundKind.COMMENT,
            author=self._author(comment.get("from")),
            text=str(comment.get("message") or ""),
            created_at=created,
            in_reply_to=parent_id or post_id,
            thread_id=post_id,
            url=str(comment.get("permalink_url") or ""),
        )

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Comments on the page's recent posts, posts tagging the page, Messenger messages."""
        graph = self.graph
        cursor = _load_cursor(since_cursor)
        page = self.page_id
        items: dict[str, InboundItem] = {}
        newest = dict(cursor)

        def later(key: str, moment: datetime) -> bool:
            known = meta.parse_time(cursor.get(key))
            return known is None or moment > known

        def note(key: str, moment: datetime) -> None:
            known = meta.parse_time(newest.get(key))
            if known is None or moment > known:
                newest[key] = _iso(moment)

        posts = graph.get(
            f"{page}/published_posts",
            {"fields": "id,created_time,updated_time", "limit": _RECENT_POSTS},
            action="reading the page's posts",
        )
        for row in posts.get("data") or []:
            if not isinstance(row, dict) or not row.get("id"):
                continue
            updated = meta.parse_time(row.get("updated_time") or row.get("created_time"))
            if updated is not None and not later("c", updated):
                continue
            post_id = str(row["id"])
            for comment in self._comments(post_id):
                if str((comment.get("from") or {}).get("id")) == page:
                    continue
                item = self._comment_item(comment, post_id)
                if item is None or not later("c", item.created_at):
                    continue
                items[item.message_id] = item
                note("c", item.created_at)
        # Mentions: posts by others that tag the page. Optional (a permission may be missing).
        meta.optional_part(
            "facebook",
            "reading mentions",
            lambda: self._mentions(later, note, items),
        )
        meta.optional_part(
            "facebook",
            "reading Messenger conversations",
            lambda: self._conversations(later, note, items),
        )
        ordered = sorted(items.values(), key=lambda i: (i.created_at, i.message_id))
        return InboundBatch(items=tuple(ordered), next_cursor=json.dumps(newest, sort_keys=True))

    def _mentions(
        self,
        later: Callable[[str, datetime], bool],
        note: Callable[[str, datetime], None],
        items: dict[str, InboundItem],
    ) -> None:
        answer = self.graph.get(
            f"{self.page_id}/tagged",
            {"fields": "id,message,from,created_time,permalink_url", "limit": 50},
            action="reading mentions",
        )
        for row in answer.get("data") or []:
            if not isinstance(row, dict) or not row.get("id"):
                continue
            created = meta.parse_time(row.get("created_time"))
            if created is None or not later("t", created):
                continue
            items[str(row["id"])] = InboundItem(
                network=self.name,
                message_id=str(row["id"]),
                kind=InboundKind.MENTION,
                author=self._author(row.get("from")),
                text=str(row.get("message") or ""),
                created_at=created,
                thread_id=str(row["id"]),
                url=str(row.get("permalink_url") or ""),
            )
            note("t", created)

    def _conversations(
        self,
        later: Callable[[str, datetime], bool],
        note: Callable[[str, datetime], None],
        items: dict[str, InboundItem],
    ) -> None:
        page = self.page_id
        answer = self.graph.get(
            f"{page}/conversations",
            {"platform": "messenger", "fields": "id,updated_time", "limit": 25},
            action="reading Messenger conversations",
        )
        for conversation in answer.get("data") or []:
            if not isinstance(conversation, dict) or not conversation.get("id"):
                continue
            updated = meta.parse_time(conversation.get("updated_time"))
            if updated is not None and not later("m", updated):
                continue
            conversation_id = str(conversation["id"])
            messages = self.graph.get(
                f"{conversation_id}/messages",
                {"fields": "id,from,message,created_time", "limit": 25},
                action="reading a conversation",
            )
            for message in messages.get("data") or []:
                if not isinstance(message, dict) or not message.get("id"):
                    continue
                sender = message.get("from") or {}
                if str(sender.get("id")) == page:
                    continue
                created = meta.parse_time(message.get("created_time"))
                if created is None or not later("m", created):
                    continue
                items[str(message["id"])] = InboundItem(
                    network=self.name,
                    message_id=str(message["id"]),
                    kind=InboundKind.DM,
                    author=self._author(sender),
                    text=str(message.get("message") or ""),
                    created_at=created,
                    thread_id=conversation_id,
                    extra={"psid": str(sender.get("id") or "")},
                )
                note("m", created)

    def fetch_replies(self, post_id: str) -> InboundBatch:
        page = self.page_id
        items = [
            item
            for comment in self._comments(post_id)
            if str((comment.get("from") or {}).get("id")) != page
            and (item := self._comment_item(comment, post_id)) is not None
        ]
        items.sort(key=lambda i: (i.created_at, i.message_id))
        return InboundBatch(items=tuple(items))

    @classmethod
    def reply_refusal(cls, kind: str, *, private: bool) -> str | None:
        if private and kind == InboundKind.MENTION.value:
            # Private replies exist for comments and visitor posts on the page only
            # (https://developers.facebook.com/docs/messenger-platform/discovery/private-replies).
            return _(
                "Facebook lets a page answer a post that tags it only in public, under the "
                "post: a private message needs the person to write to the page first."
            )
        return super().reply_refusal(kind, private=private)

    def reply(
        self,
        to: InboundItem | str,
        text: str,
        *,
        idempotency_key: str,
        private: bool = False,
    ) -> PublishedRef:
        graph = self.graph
        target = to.message_id if isinstance(to, InboundItem) else to
        entry = dict(self.journal.get(idempotency_key) or {})
        if entry.get("post_id"):
            return self._ref_from_entry(entry)
        if private:
            return self._private_reply(graph, to, target, text, idempotency_key, entry)
        if entry.get("state") == "sending":
            found = self._find_comment(
                target, text, since=meta.parse_time(entry.get("since")), exclude=frozenset()
            )
            if found is not None:
                return self._ref_from_entry(self._remember(idempotency_key, entry, found))
        started = _now()
        entry = {
            "kind": "comment",
            "target": target,
            "state": "sending",
            "since": entry.get("since") or _iso(started),
        }
        self.journal.put(idempotency_key, entry)
        answer = graph.post(f"{target}/comments", {"message": text}, action="answering")
        comment_id = str(answer.get("id") or "")
        if not comment_id:
            raise OutcomeUnknown(
                "Facebook answered without the comment's id: Porte-voix checks.",
                network=self.name,
                code="no_id",
            )
        return self._ref_from_entry(
            self._remember(idempotency_key, entry, self._ref(comment_id, at=started))
        )

    def _private_reply(
        self,
        graph: meta.GraphClient,
        to: InboundItem | str,
        target: str,
        text: str,
        key: str,
        entry: dict[str, str],
    ) -> PublishedRef:
        if entry.get("state") == "sending":
            raise OutcomeUnknown(
                "A private answer may already have been sent: look in the page's inbox.",
                network=self.name,
                code="ambiguous",
            )
        if isinstance(to, InboundItem) and to.kind == InboundKind.DM:
            recipient = {"id": to.extra.get("psid") or to.author.id}
        elif target.startswith("m_"):
            message = graph.get(target, {"fields": "from"}, action="reading the message answered")
            recipient = {"id": str((message.get("from") or {}).get("id") or "")}
        else:
            # A comment: Messenger's private reply (one per comment, within 7 days).
            recipient = {"comment_id": target}
        started = _now()
        entry = {"kind": "private", "target": target, "state": "sending", "since": _iso(started)}
        self.journal.put(key, entry)
        answer = graph.post(
            f"{self.page_id}/messages",
            {"recipient": recipient, "message": {"text": text}, "messaging_type": "RESPONSE"},
            action="answering in private",
        )
        message_id = str(answer.get("message_id") or answer.get("id") or "")
        if not message_id:
            raise OutcomeUnknown(
                "Facebook answered without the message's id.", network=self.name, code="no_id"
            )
        ref = PublishedRef(network=self.name, post_id=message_id, published_at=started)
        self.journal.put(
            key, {**entry, "state": "done", "post_id": message_id, "at": _iso(started)}
        )
        return ref

    def hide_comment(self, message_id: str) -> None:
        self.graph.post(message_id, {"is_hidden": True}, action="hiding the comment", write=False)

    def delete_comment(self, message_id: str) -> None:
        try:
            self.graph.delete(message_id, action="deleting the comment")
        except NotFound:
            return

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        graph = self.graph
        snapshots: list[MetricSnapshot] = []
        for ref in refs:
            try:
                data = graph.get(
                    ref.post_id,
                    {
                        "fields": "id,shares,reactions.summary(total_count).limit(0),"
                        "comments.summary(total_count).limit(0)"
                    },
                    action="reading metrics",
                )
            except NotFound:
                continue
            extra: dict[str, int] = {}
            views: int | None = None
            try:
                insights = graph.get(
                    f"{ref.post_id}/insights",
                    {"metric": "post_impressions,post_impressions_unique,post_clicks"},
                    action="reading insights",
                )
            except (Permanent, NotFound, AuthExpired) as error:
                # Insights need read_insights (and a page with enough followers): optional.
                if isinstance(error, AuthExpired) and not meta.missing_permission(error):
                    raise
                logger.info("facebook: insights skipped (%s)", error.code)
            else:
                for metric in insights.get("data") or []:
                    values = metric.get("values") if isinstance(metric, dict) else None
                    if not values or not isinstance(values[-1], dict):
                        continue
                    value = values[-1].get("value")
                    if isinstance(value, int):
                        extra[str(metric.get("name"))] = value
                views = extra.get("post_impressions")
            snapshots.append(
                MetricSnapshot(
                    network=self.name,
                    post_id=str(data.get("id") or ref.post_id),
                    taken_at=_now(),
                    likes=_summary(data.get("reactions")),
                    replies=_summary(data.get("comments")),
                    reposts=_count((data.get("shares") or {}).get("count"), default=0),
                    views=views,
                    extra=extra,
                )
            )
        return snapshots

    def missing_permission(self, error: AuthExpired) -> bool:
        return meta.missing_permission(error)

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The page's followers now, and its page views of the whole days (Graph's days) that
        ended since ``since``; each read on its own (a page without ``read_insights`` still
        gives its followers)."""
        graph = self.graph
        page_id = self.account.account_id
        taken_at = _now()
        followers = self._figure(
            "followers",
            lambda: meta.count_field(
                graph.get(page_id, {"fields": "followers_count"}, action="reading the followers"),
                "followers_count",
            ),
        )
        visits = self._figure(
            "page views",
            lambda: meta.daily_total(
                graph.get(
                    f"{page_id}/insights",
                    {
                        "metric": "page_views_total",
                        "period": "day",
                        "since": int((since - timedelta(days=1)).timestamp()),
                        "until": int(taken_at.timestamp()),
                    },
                    action="reading the page views",
                ),
                "page_views_total",
                since,
                taken_at,
            ),
        )
        return AccountMetrics(
            network=self.name,
            taken_at=taken_at,
            since=since,
            followers=followers,
            profile_visits=visits,
        )


def _offset(value: Any) -> int:
    """Graph's byte offsets come as strings ("52428800")."""
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


def _summary(edge: Any) -> int:
    if isinstance(edge, dict):
        summary = edge.get("summary")
        if isinstance(summary, dict):
            return _count(summary.get("total_count"), default=0) or 0
    return 0


def _count(value: Any, *, default: int | None = None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


__all__ = ["SCOPES", "FacebookNetwork"]
