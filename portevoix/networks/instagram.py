"""Instagram professional accounts through Meta's Graph API (Facebook Login, httpx).

Credentials: ``ig_user_id`` and ``page_access_token`` (the token of the Facebook page the
account is linked to, from the Facebook Login: ``complete_authorization``), plus
``page_id``, ``user_access_token`` and ``graph_url`` kept from the login.

Publishing is two steps on Instagram: a **container** (``POST /{ig-user}/media`` with the
image's address and the caption; a carousel is one container per image, then one for the
carousel), then ``POST /{ig-user}/media_publish`` with the container's id. Instagram fetches
each image itself from ``MediaItem.public_url`` (Porte-voix's signed, expiring address:
:mod:`portevoix.media.public`), so the server's public address must be reachable.

Never twice, never lost: the container's id is written to the channel's **journal** before
``media_publish`` is asked. Afterwards, the container's ``status_code`` tells what happened:
``PUBLISHED`` (the post exists: its media is found among the account's media made since the
first attempt, by caption), ``FINISHED`` (not published: publishing again reuses the same
container), ``EXPIRED`` or ``ERROR`` (a new container is made). So a crash between the two
steps, or a lost answer of ``media_publish``, neither loses nor doubles the post.

The daily publishing quota (50 posts in 24 hours, a carousel counting once) is read from
``content_publishing_limit``: into ``fetch_limits`` for the composer, and before each publish
(a full quota is ``RateLimited``, nothing sent). A video is published as a reel: Instagram
fetches and processes it, the container stays ``IN_PROGRESS`` meanwhile, and ``publish`` says
``Transient`` and publishes the same container when it comes back. Inbound: comments under
the account's recent media, media by others that tag the account (``/{ig-user}/tags``, kind
mention) and direct messages (Instagram messaging through the linked page:
``/{page-id}/conversations?platform=instagram``, kind private message; permission
``instagram_manage_messages``). Answers: public replies under a comment or our media; a
mention is answered by a comment through ``POST /{ig-user}/mentions``; a direct message is
answered in private (``POST /{page-id}/messages`` to the person's Instagram-scoped id) only
within 24 hours of their last message, refused clearly outside that window. Metrics: likes,
comments and the media's insights (views, reach, saves, shares).
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from . import meta
from .base import CredentialsListener, Journal, Network, whole_days
from .errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
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
    "business_management",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "instagram_manage_messages",
    "pages_manage_metadata",
)
_WINDOW = timedelta(hours=24)
#: A private reply to a comment may be sent within 7 days of the comment, once
#: (https://developers.facebook.com/docs/messenger-platform/instagram/features/private-replies).
_COMMENT_WINDOW = timedelta(days=7)
_SLACK = timedelta(minutes=2)
_RECENT_MEDIA = 25
_COMMENT_FIELDS = "id,text,username,timestamp,from,parent_id"
_MESSAGE_FIELDS = "id,from,to,message,created_time"
_TAG_FIELDS = "id,caption,username,timestamp,permalink,media_type"


def _same(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text or "").split())

    return norm(a) == norm(b)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


#: ``reply_target`` of a mention: ``mention:<media id>`` or ``mention:<media id>:<comment id>``.
MENTION_PREFIX = "mention:"


def mention_ids(to: InboundItem | str, target: str) -> dict[str, str]:
    """The ``media_id`` (and ``comment_id``) Graph's mentions edge takes for an answer."""
    if target.startswith(MENTION_PREFIX):
        media, _sep, comment = target[len(MENTION_PREFIX) :].partition(":")
        return {"media_id": media, **({"comment_id": comment} if comment else {})}
    if isinstance(to, InboundItem) and to.extra.get("mention") == "comment" and to.in_reply_to:
        return {"media_id": to.in_reply_to, "comment_id": to.message_id}
    return {"media_id": target}


@register
class InstagramNetwork(Network):
    name: ClassVar[str] = "instagram"
    label: ClassVar[str] = "Instagram"
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
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.OAUTH,
        }
    )
    #: The account's ``followers_count`` (https://developers.facebook.com/docs/
    #: instagram-platform/instagram-graph-api/reference/ig-user/) and its ``profile_views``
    #: insight (``instagram_manage_insights``; https://developers.facebook.com/docs/
    #: instagram-platform/api-reference/instagram-user/insights/).
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(AccountMetric)
    # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/
    # ig-user/media: captions up to 2,200 characters; images JPEG only, up to 8 MB; a
    # carousel has up to 10 items; a video is published as a reel (MP4 or MOV, up to 300 MB).
    limits: Limits = Limits(
        max_text_length=2200,
        max_images=10,
        max_image_bytes=8 * 1024 * 1024,
        max_video_bytes=300 * 1024 * 1024,
        image_mime_types=frozenset({"image/jpeg"}),
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("ig_user_id", "page_access_token")
    uses_journal: ClassVar[bool] = True

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        journal: Journal | None = None,
        transport: httpx.BaseTransport | None = None,
        media_url: Callable[[MediaItem], str] | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            on_credentials_change=on_credentials_change,
            limits=limits,
            journal=journal,
        )
        self._transport = transport
        #: Where to publish an item that carries no ``public_url`` (plain Python, tests).
        self._media_url = media_url
        self._graph: meta.GraphClient | None = None

    # -- account ------------------------------------------------------------------------------

    @property
    def graph(self) -> meta.GraphClient:
        if self._graph is None:
            _ = self.credentials  # AuthExpired when not connected
            raise AssertionError("connected without a Graph client")  # pragma: no cover
        return self._graph

    @property
    def ig_user(self) -> str:
        return self.credentials.get("ig_user_id")

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
        ig_id = credentials.get("ig_user_id").strip()
        if not ig_id or not credentials.get("page_access_token"):
            raise InvalidInput(
                "Instagram needs the account's id and the linked page's access token.",
                network=self.name,
                code="missing",
            )
        if self._graph is not None:
            self._graph.close()
        self._graph = self._client_for(credentials)
        user = self._graph.get(
            ig_id, {"fields": "id,username,name"}, action="reading the Instagram account"
        )
        username = str(user.get("username") or ig_id)
        account = AccountInfo(
            network=self.name,
            account_id=str(user.get("id") or ig_id),
            handle=f"@{username}",
            display_name=str(user.get("name") or username),
            url=f"https://www.instagram.com/{username}/",
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

    @classmethod
    def begin_authorization(
        cls, instance_url: str, redirect_uri: str, *, state: str, app_name: str = "Porte-voix"
    ) -> AuthorizationRequest:
        """Facebook Login; ``instance_url`` carries the Instagram user name (optional)."""
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
        meta.require_app(cls.label, cls.name)
        graph_url = meta.app().graph_url
        client = meta.GraphClient(
            cls.name, cls.label, graph_url=graph_url, token="", timeout=timeout
        )
        try:
            user_token, _expires = meta.long_lived_user_token(
                client, code=code, redirect_uri=request.redirect_uri
            )
            answer = client.request(
                "GET",
                "me/accounts",
                params={
                    "fields": "id,name,access_token,instagram_business_account{id,username}",
                    "limit": 100,
                },
                action="listing your pages",
                token=user_token,
            )
        finally:
            client.close()
        accounts = []
        for page in answer.get("data") or []:
            ig = page.get("instagram_business_account") if isinstance(page, dict) else None
            if isinstance(ig, dict) and ig.get("id"):
                accounts.append(
                    {
                        "id": str(ig["id"]),
                        "name": str(ig.get("username") or ig["id"]),
                        "username": str(ig.get("username") or ""),
                        "page_id": str(page.get("id")),
                        "access_token": page.get("access_token"),
                    }
                )
        chosen = meta.choose_page(
            accounts,
            request.instance_url,
            label="Facebook",
            network=cls.name,
            what="Instagram professional account",
        )
        token = chosen.get("access_token")
        if not isinstance(token, str) or not token:
            raise Permanent(
                "Facebook did not give a token for the page linked to this Instagram account.",
                network=cls.name,
                code="no_page_token",
            )
        return Credentials(
            {
                "ig_user_id": chosen["id"],
                "page_id": chosen["page_id"],
                "page_access_token": token,
                "user_access_token": user_token,
                "graph_url": graph_url,
            }
        )

    # -- limits -------------------------------------------------------------------------------

    def _quota(self) -> tuple[int, int] | None:
        """(used, total) of the 24-hour publishing quota, or None when it cannot be read."""
        try:
            answer = self.graph.get(
                f"{self.ig_user}/content_publishing_limit",
                {"fields": "quota_usage,config"},
                action="reading the publishing quota",
            )
        except (Permanent, Transient) as error:
            logger.info("instagram: quota not read (%s)", error.code)
            return None
        rows = answer.get("data") or []
        row = rows[0] if rows and isinstance(rows[0], dict) else {}
        used = row.get("quota_usage")
        config = row.get("config") if isinstance(row.get("config"), dict) else {}
        total = config.get("quota_total") if config else None
        if isinstance(used, int) and isinstance(total, int):
            return used, total
        return None

    def fetch_limits(self) -> Limits:
        quota = self._quota()
        if quota is None:
            return self.limits
        return replace(self.limits, daily_posts=quota[1], daily_posts_used=quota[0])

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        if post.in_reply_to:
            # An answer is a comment or a direct message: text only, no image needed.
            if post.media:
                problems.append(_("An answer on Instagram is text only."))
            return problems
        if not post.media:
            problems.append(_("Instagram posts need at least one image."))
        videos = [m for m in post.media if m.is_video]
        if videos and len(post.media) > 1:
            problems.append(_("On Instagram a video goes alone (it is published as a reel)."))
        limits = self.limits
        for item in videos:
            if (
                limits.video_mime_types is not None
                and item.mime_type not in limits.video_mime_types
            ):
                problems.append(
                    _("%(name)s: Instagram takes MP4 or MOV videos.") % {"name": item.filename}
                )
        return problems

    # -- publishing ---------------------------------------------------------------------------

    def _ref(self, media_id: str, *, url: str = "", at: datetime | None = None) -> PublishedRef:
        return PublishedRef(
            network=self.name,
            post_id=media_id,
            url=url or f"{self.account.url}",
            published_at=at,
        )

    def _ref_from_entry(self, entry: Mapping[str, str]) -> PublishedRef:
        return self._ref(
            entry["media_id"], url=entry.get("url", ""), at=meta.parse_time(entry.get("at"))
        )

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        graph = self.graph
        self.ensure_valid(post)
        if post.in_reply_to:
            return self.reply(post.in_reply_to, post.text, idempotency_key=idempotency_key)
        key = idempotency_key
        entry = dict(self.journal.get(key) or {})
        if not entry.get("media_id") and entry.get("container"):
            status = self._container_status(entry["container"])
            if status == "PUBLISHED":
                found = self._find_media(
                    post, since=meta.parse_time(entry.get("since")), exclude=frozenset()
                )
                if found is None:
                    raise OutcomeUnknown(
                        "Instagram says the post was published but it is not among the "
                        "account's recent posts yet: Porte-voix checks again later.",
                        network=self.name,
                        code="published_unseen",
                    )
                entry = self._remember(key, entry, found)
            elif status in {"EXPIRED", "ERROR"}:
                entry = {k: v for k, v in entry.items() if k not in {"container", "children"}}
            elif status == "IN_PROGRESS":
                raise Transient(
                    _("Instagram is still preparing the media; trying again in a moment."),
                    network=self.name,
                    code="in_progress",
                )
        if not entry.get("media_id"):
            quota = self._quota()
            if quota is not None and quota[0] >= quota[1]:
                raise RateLimited(
                    f"The account has published its {quota[1]} posts of the last 24 hours "
                    "(Instagram's quota); waiting.",
                    reset_at=_now() + timedelta(hours=1),
                    network=self.name,
                    code="quota",
                )
            if not entry.get("container"):
                entry = self._make_container(graph, post, key, entry)
                if any(m.is_video for m in post.media):
                    status = self._container_status(entry["container"])
                    if status == "IN_PROGRESS":
                        raise Transient(
                            _(
                                "Instagram is still processing the video; publishing it in a "
                                "moment."
                            ),
                            network=self.name,
                            code="in_progress",
                        )
                    if status == "ERROR":
                        raise InvalidInput(
                            _("Instagram could not process the video (format, length or size)."),
                            network=self.name,
                            code="video_error",
                        )
            entry = self._publish_container(graph, key, entry)
        ref = self._ref_from_entry(entry)
        if post.first_comment and not entry.get("comment_id"):
            self._first_comment(graph, ref, post.first_comment, key, entry)
        return ref

    def _image_url(self, item: MediaItem) -> str:
        if not item.public_url and self._media_url is not None:
            return self._media_url(item)
        if not item.public_url:
            raise InvalidInput(
                _(
                    "%(name)s: Instagram fetches images from Porte-voix's public address, and "
                    "this one has none."
                )
                % {"name": item.filename},
                network=self.name,
                code="no_public_url",
            )
        return item.public_url

    def _make_container(
        self, graph: meta.GraphClient, post: OutgoingPost, key: str, entry: dict[str, str]
    ) -> dict[str, str]:
        user = self.ig_user
        since = entry.get("since") or _iso(_now())
        entry = {**entry, "since": since}
        if len(post.media) == 1 and post.media[0].is_video:
            # A reel: Instagram fetches and processes the video; the container is IN_PROGRESS
            # until then, and ``publish`` comes back for it (``Transient``, same container).
            item = post.media[0]
            data: dict[str, Any] = {
                "media_type": "REELS",
                "video_url": self._image_url(item),
                "caption": post.text,
            }
        elif len(post.media) == 1:
            item = post.media[0]
            data = {"image_url": self._image_url(item), "caption": post.text}
            if item.alt_text:
                data["alt_text"] = item.alt_text
        else:
            children = [c for c in entry.get("children", "").split(",") if c]
            for number, item in enumerate(post.media):
                if number < len(children):
                    continue
                child: dict[str, Any] = {
                    "image_url": self._image_url(item),
                    "is_carousel_item": True,
                }
                if item.alt_text:
                    child["alt_text"] = item.alt_text
                answer = graph.post(
                    f"{user}/media", child, action="preparing an image", write=False
                )
                children.append(str(answer.get("id") or ""))
                entry["children"] = ",".join(children)
                self.journal.put(key, entry)
            data = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": post.text}
        answer = graph.post(f"{user}/media", data, action="preparing the post", write=False)
        container = str(answer.get("id") or "")
        if not container:
            raise Permanent(
                _("Instagram answered without the container's id."), network=self.name, code="no_id"
            )
        # The container's id is durable before media_publish is asked: whatever happens next,
        # reconcile asks Instagram about this very container.
        entry = {**entry, "container": container, "state": "container"}
        self.journal.put(key, entry)
        return entry

    def _publish_container(
        self, graph: meta.GraphClient, key: str, entry: dict[str, str]
    ) -> dict[str, str]:
        entry = {**entry, "state": "publishing"}
        self.journal.put(key, entry)
        answer = graph.post(
            f"{self.ig_user}/media_publish",
            {"creation_id": entry["container"]},
            action="publishing the post",
        )
        media_id = str(answer.get("id") or "")
        if not media_id:
            raise OutcomeUnknown(
                "Instagram answered without the post's id: Porte-voix checks.",
                network=self.name,
                code="no_id",
            )
        url = ""
        try:
            details = graph.get(media_id, {"fields": "permalink,timestamp"}, action="reading")
            url = str(details.get("permalink") or "")
        except NetworkError as error:  # the post is out; its link can wait
            logger.info("instagram: permalink not read (%s)", error.code)
        return self._remember(key, entry, self._ref(media_id, url=url, at=_now()))

    def _remember(self, key: str, entry: dict[str, str], ref: PublishedRef) -> dict[str, str]:
        entry = {
            **entry,
            "state": "done",
            "media_id": ref.post_id,
            "url": ref.url,
            "at": _iso(ref.published_at or _now()),
        }
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
            for comment in self._comments(ref.post_id):
                if _same(str(comment.get("text") or ""), text) and self._own(comment):
                    self.journal.put(key, {**entry, "comment_id": str(comment.get("id"))})
                    return
        self.journal.put(key, {**entry, "comment_state": "sending"})
        try:
            answer = graph.post(
                f"{ref.post_id}/comments", {"message": text}, action="adding the first comment"
            )
        except NetworkError as error:
            raise OutcomeUnknown(
                f"The post is on Instagram but its first comment failed ({error.message})",
                network=self.name,
                code=error.code or "first_comment",
            ) from error
        self.journal.put(
            key, {**entry, "comment_state": "done", "comment_id": str(answer.get("id") or "")}
        )

    def _container_status(self, container: str) -> str:
        try:
            answer = self.graph.get(
                container, {"fields": "id,status_code"}, action="asking about the post"
            )
        except NotFound:
            return "EXPIRED"
        return str(answer.get("status_code") or "")

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
        if entry.get("media_id") and entry["media_id"] not in exclude:
            return self._ref_from_entry(entry)
        if entry.get("kind") == "comment":
            return self._reconcile_comment(entry, post, since, exclude, idempotency_key)
        container = entry.get("container")
        if not container:
            # No container was ever made under this key: nothing can have been published.
            return None
        if self._container_status(container) != "PUBLISHED":
            return None
        found = self._find_media(
            post, since=since or meta.parse_time(entry.get("since")), exclude=exclude
        )
        if found is None:
            raise Ambiguous(
                "Instagram says this post was published, but it is not among the account's "
                "posts: look on Instagram.",
                network=self.name,
            )
        self._remember(idempotency_key, entry, found)
        return found

    def _find_media(
        self, post: OutgoingPost | None, *, since: datetime | None, exclude: frozenset[str]
    ) -> PublishedRef | None:
        threshold = (since or _now() - _WINDOW) - _SLACK
        answer = self.graph.get(
            f"{self.ig_user}/media",
            {"fields": "id,caption,timestamp,permalink", "limit": _RECENT_MEDIA},
            action="reading the account's posts",
        )
        rows = []
        for row in answer.get("data") or []:
            if not isinstance(row, dict) or str(row.get("id")) in exclude:
                continue
            created = meta.parse_time(row.get("timestamp"))
            if created is not None and created < threshold:
                continue
            if post is None or _same(str(row.get("caption") or ""), post.text):
                rows.append(row)
        if len(rows) > 1:
            raise Ambiguous(
                "Several posts on the account have this caption: look on Instagram.",
                candidates=tuple(
                    Candidate(
                        post_id=str(r.get("id")),
                        url=str(r.get("permalink") or ""),
                        text=str(r.get("caption") or "")[:1000],
                        created_at=meta.parse_time(r.get("timestamp")),
                        note="same caption",
                    )
                    for r in rows[:20]
                ),
                network=self.name,
            )
        if not rows:
            return None
        return self._ref(
            str(rows[0]["id"]),
            url=str(rows[0].get("permalink") or ""),
            at=meta.parse_time(rows[0].get("timestamp")),
        )

    # -- inbound ------------------------------------------------------------------------------

    def _own(self, comment: Mapping[str, Any]) -> bool:
        author = comment.get("from") if isinstance(comment.get("from"), dict) else {}
        own_name = self.account.handle.lstrip("@")
        return str((author or {}).get("id")) == self.ig_user or comment.get("username") == own_name

    def _comments(self, media_id: str) -> list[dict[str, Any]]:
        answer = self.graph.get(
            f"{media_id}/comments", {"fields": _COMMENT_FIELDS, "limit": 50}, action="reading"
        )
        return [c for c in answer.get("data") or [] if isinstance(c, dict)]

    def _item(self, comment: Mapping[str, Any], media_id: str) -> InboundItem | None:
        created = meta.parse_time(comment.get("timestamp"))
        if created is None or not comment.get("id"):
            return None
        author = comment.get("from") if isinstance(comment.get("from"), dict) else {}
        username = str(comment.get("username") or (author or {}).get("username") or "")
        parent = str(comment.get("parent_id") or "")
        return InboundItem(
            network=self.name,
            message_id=str(comment["id"]),
            kind=InboundKind.COMMENT,
            author=Author(
                id=str((author or {}).get("id") or username),
                handle=f"@{username}" if username else "?",
                url=f"https://www.instagram.com/{username}/" if username else "",
            ),
            text=str(comment.get("text") or ""),
            created_at=created,
            in_reply_to=parent or media_id,
            thread_id=media_id,
        )

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Comments under recent media, media tagging the account, direct messages.

        The cursor keeps one time per source ("c" comments, "t" tags, "m" messages): an item
        comes in once, and the inbox is idempotent on ``message_id`` besides.
        """
        cursor = _cursor(since_cursor)
        newest = dict(cursor)
        items: dict[str, InboundItem] = {}

        def later(key: str, moment: datetime) -> bool:
            known = meta.parse_time(cursor.get(key))
            return known is None or moment > known

        def note(key: str, moment: datetime) -> None:
            known = meta.parse_time(newest.get(key))
            if known is None or moment > known:
                newest[key] = _iso(moment)

        media = self.graph.get(
            f"{self.ig_user}/media",
            {"fields": "id,timestamp,comments_count", "limit": _RECENT_MEDIA},
            action="reading the account's posts",
        )
        for row in media.get("data") or []:
            if not isinstance(row, dict) or not row.get("id"):
                continue
            media_id = str(row["id"])
            for comment in self._comments(media_id):
                if self._own(comment):
                    continue
                item = self._item(comment, media_id)
                if item is None or not later("c", item.created_at):
                    continue
                items[item.message_id] = item
                note("c", item.created_at)
        # Optional parts: a permission may be missing (an account connected before Porte-voix
        # asked for messaging): they are skipped, the comments still come in.
        meta.optional_part("instagram", "reading mentions", lambda: self._tags(later, note, items))
        meta.optional_part(
            "instagram", "reading direct messages", lambda: self._conversations(later, note, items)
        )
        ordered = sorted(items.values(), key=lambda i: (i.created_at, i.message_id))
        return InboundBatch(items=tuple(ordered), next_cursor=json.dumps(newest, sort_keys=True))

    def _tags(
        self,
        later: Callable[[str, datetime], bool],
        note: Callable[[str, datetime], None],
        items: dict[str, InboundItem],
    ) -> None:
        """Media by others where the account is tagged: kind mention, answered by a comment."""
        answer = self.graph.get(
            f"{self.ig_user}/tags",
            {"fields": _TAG_FIELDS, "limit": 50},
            action="reading mentions",
        )
        for row in answer.get("data") or []:
            if not isinstance(row, dict) or not row.get("id"):
                continue
            created = meta.parse_time(row.get("timestamp"))
            if created is None or not later("t", created):
                continue
            username = str(row.get("username") or "")
            media_id = str(row["id"])
            items[media_id] = InboundItem(
                network=self.name,
                message_id=media_id,
                kind=InboundKind.MENTION,
                author=Author(
                    id=username or media_id,
                    handle=f"@{username}" if username else "?",
                    url=f"https://www.instagram.com/{username}/" if username else "",
                ),
                text=str(row.get("caption") or ""),
                created_at=created,
                thread_id=media_id,
                url=str(row.get("permalink") or ""),
                extra={"mention": "tag"},
            )
            note("t", created)

    def fetch_mention(self, media_id: str, comment_id: str = "") -> InboundItem | None:
        """A caption (``media_id``) or a comment (``comment_id`` under ``media_id``) that
        @mentions the account without tagging it, which Meta's ``mentions`` webhook gives by id
        only: read through ``mentioned_comment`` / ``mentioned_media`` of the account
        (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/
        ig-user/mentioned_comment). None when Graph no longer has it (deleted since)."""
        if not media_id and not comment_id:
            return None
        try:
            if comment_id:
                answer = self.graph.get(
                    self.ig_user,
                    {
                        "fields": f"mentioned_comment.comment_id({comment_id})"
                        "{id,text,timestamp,username,media{id,permalink}}"
                    },
                    action="reading the mention",
                )
                row = answer.get("mentioned_comment")
            else:
                answer = self.graph.get(
                    self.ig_user,
                    {
                        "fields": f"mentioned_media.media_id({media_id})"
                        "{id,caption,timestamp,username,permalink}"
                    },
                    action="reading the mention",
                )
                row = answer.get("mentioned_media")
        except NotFound:
            return None
        if not isinstance(row, dict) or not row.get("id"):
            return None
        created = meta.parse_time(row.get("timestamp"))
        if created is None:
            return None
        username = str(row.get("username") or "")
        media = row.get("media") if isinstance(row.get("media"), dict) else {}
        thread = str((media or {}).get("id") or media_id or row["id"])
        return InboundItem(
            network=self.name,
            message_id=str(row["id"]),
            kind=InboundKind.MENTION,
            author=Author(
                id=username or str(row["id"]),
                handle=f"@{username}" if username else "?",
                url=f"https://www.instagram.com/{username}/" if username else "",
            ),
            text=str(row.get("text") if comment_id else row.get("caption") or ""),
            created_at=created,
            in_reply_to=thread if comment_id else None,
            thread_id=thread,
            url=str(row.get("permalink") or (media or {}).get("permalink") or ""),
            extra={"mention": "comment", "comment": "yes"}
            if comment_id
            else {"mention": "caption"},
        )

    @property
    def page_id(self) -> str:
        return self.credentials.get("page_id")

    def _conversations(
        self,
        later: Callable[[str, datetime], bool],
        note: Callable[[str, datetime], None],
        items: dict[str, InboundItem],
    ) -> None:
        """Direct messages, through the linked page's conversations (``platform=instagram``)."""
        page = self.page_id
        if not page:
            logger.info("instagram: direct messages skipped (no linked page id; reconnect)")
            return
        answer = self.graph.get(
            f"{page}/conversations",
            {"platform": "instagram", "fields": "id,updated_time", "limit": 25},
            action="reading direct messages",
        )
        for conversation in answer.get("data") or []:
            if not isinstance(conversation, dict) or not conversation.get("id"):
                continue
            updated = meta.parse_time(conversation.get("updated_time"))
            if updated is not None and not later("m", updated):
                continue
            conversation_id = str(conversation["id"])
            for message in self._messages(conversation_id):
                sender = message.get("from") if isinstance(message.get("from"), dict) else {}
                sender_id = str((sender or {}).get("id") or "")
                if not sender_id or sender_id == self.ig_user:
                    continue
                created = meta.parse_time(message.get("created_time"))
                if created is None or not later("m", created):
                    continue
                username = str((sender or {}).get("username") or "")
                items[str(message["id"])] = InboundItem(
                    network=self.name,
                    message_id=str(message["id"]),
                    kind=InboundKind.DM,
                    author=Author(
                        id=sender_id,
                        handle=f"@{username}" if username else sender_id,
                        url=f"https://www.instagram.com/{username}/" if username else "",
                    ),
                    text=str(message.get("message") or ""),
                    created_at=created,
                    thread_id=conversation_id,
                    extra={"igsid": sender_id},
                )
                note("m", created)

    def _messages(self, conversation_id: str) -> list[dict[str, Any]]:
        answer = self.graph.get(
            f"{conversation_id}/messages",
            {"fields": _MESSAGE_FIELDS, "limit": 25},
            action="reading a conversation",
        )
        return [m for m in answer.get("data") or [] if isinstance(m, dict) and m.get("id")]

    def fetch_replies(self, post_id: str) -> InboundBatch:
        items = [
            item
            for comment in self._comments(post_id)
            if not self._own(comment) and (item := self._item(comment, post_id)) is not None
        ]
        items.sort(key=lambda i: (i.created_at, i.message_id))
        return InboundBatch(items=tuple(items))

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
        key = idempotency_key
        entry = dict(self.journal.get(key) or {})
        if entry.get("media_id"):
            return self._ref_from_entry(entry)
        if private:
            return self._private_reply(graph, to, target, text, key, entry)
        if entry.get("state") == "sending" and entry.get("edge") == "mentions":
            raise OutcomeUnknown(
                "An answer to this mention may already be on Instagram: look there before "
                "answering again.",
                network=self.name,
                code="ambiguous",
            )
        if entry.get("state") == "sending":
            found = self._find_reply(entry, text, exclude=frozenset())
            if found is not None:
                return self._ref_from_entry(self._remember(key, entry, found))
        edge = self._edge_for(to, target)
        entry = {
            "kind": "comment",
            "target": target,
            "edge": edge,
            "state": "sending",
            "since": entry.get("since") or _iso(_now()),
        }
        self.journal.put(key, entry)
        if edge == "mentions":
            # Someone else's media or comment that tags or mentions the account: Graph takes
            # the answer through the account's own mentions edge (POST /{ig-user-id}/mentions
            # with media_id, and comment_id for a comment), not the media's comments.
            answer = graph.post(
                f"{self.ig_user}/mentions",
                {**mention_ids(to, target), "message": text},
                action="answering the mention",
            )
        else:
            answer = graph.post(f"{target}/{edge}", {"message": text}, action="answering")
        comment_id = str(answer.get("id") or "")
        if not comment_id:
            raise OutcomeUnknown(
                "Instagram answered without the reply's id.", network=self.name, code="no_id"
            )
        return self._ref_from_entry(self._remember(key, entry, self._ref(comment_id, at=_now())))

    @classmethod
    def reply_target(
        cls, message_id: str, *, kind: str, in_reply_to: str = "", thread_id: str = ""
    ) -> str:
        """A mention (a tag, a caption or a comment that @mentions the account, on someone
        else's media) is answered through the account's ``mentions`` edge, which takes the
        media's id and, for a comment, the comment's: ``mention:<media>[:<comment>]``."""
        if kind != InboundKind.MENTION.value:
            return message_id
        if in_reply_to and in_reply_to != message_id:
            return f"{MENTION_PREFIX}{in_reply_to}:{message_id}"  # a comment under a media
        return f"{MENTION_PREFIX}{message_id}"

    @classmethod
    def reply_refusal(cls, kind: str, *, private: bool) -> str | None:
        if private and kind == InboundKind.MENTION.value:
            return _(
                "Instagram lets a business answer a mention only in public, under the media or "
                "the comment that mentions it: a private message needs the person to write first."
            )
        return super().reply_refusal(kind, private=private)

    def _edge_for(self, to: InboundItem | str, target: str) -> str:
        """Where an answer to ``target`` goes: "comments" (our media), "replies" (a comment),
        "mentions" (media of someone else that tags the account)."""
        if target.startswith(MENTION_PREFIX):
            return "mentions"
        if isinstance(to, InboundItem):
            if to.kind == InboundKind.MENTION:
                return "mentions"
            return "replies"
        try:
            answer = self.graph.get(target, {"fields": "id,media_type,username"}, action="reading")
        except InvalidInput:
            return "replies"  # a comment has no media_type: Graph refuses the field
        if not answer.get("media_type"):
            return "replies"
        owner = str(answer.get("username") or "")
        if owner and owner != self.account.handle.lstrip("@"):
            return "mentions"
        return "comments"

    def _private_reply(
        self,
        graph: meta.GraphClient,
        to: InboundItem | str,
        target: str,
        text: str,
        key: str,
        entry: dict[str, str],
    ) -> PublishedRef:
        """A direct message to the person who wrote ``target``, within the 24-hour window."""
        if entry.get("state") == "sending":
            raise OutcomeUnknown(
                "A private answer may already have been sent: look in the account's Instagram "
                "inbox before answering again.",
                network=self.name,
                code="ambiguous",
            )
        page = self.page_id
        if not page:
            raise AuthExpired(
                "Instagram direct messages go through the Facebook page linked to the account, "
                "which this channel does not know: reconnect the account.",
                network=self.name,
                code="no_page",
            )
        commented = self._comment_time(to, target)
        if commented is not None:
            return self._private_reply_to_comment(graph, page, target, commented, text, key)
        recipient, last = self._dm_sender(to, target)
        started = _now()
        if started - last > _WINDOW:
            newer = self._last_from(recipient)
            last = max(last, newer) if newer is not None else last
        if started - last > _WINDOW:
            raise Permanent(
                "Instagram only lets a business answer a direct message within 24 hours of "
                f"the person's last message (theirs is from {last:%Y-%m-%d %H:%M} UTC). "
                "Nothing was sent: answer another way, or when they write again.",
                network=self.name,
                code="outside_window",
            )
        entry = {"kind": "private", "target": target, "state": "sending", "since": _iso(started)}
        self.journal.put(key, entry)
        answer = graph.post(
            f"{page}/messages",
            {"recipient": {"id": recipient}, "message": {"text": text}},
            action="answering in private",
        )
        message_id = str(answer.get("message_id") or answer.get("id") or "")
        if not message_id:
            raise OutcomeUnknown(
                "Instagram answered without the message's id.", network=self.name, code="no_id"
            )
        return self._ref_from_entry(
            self._remember(key, entry, PublishedRef(self.name, message_id, published_at=started))
        )

    def _comment_time(self, to: InboundItem | str, target: str) -> datetime | None:
        """When ``target`` was written if it is a comment, None for a direct message."""
        if isinstance(to, InboundItem):
            if to.kind == InboundKind.DM:
                return None
            if to.kind == InboundKind.COMMENT:
                return to.created_at
            return None
        try:
            comment = self.graph.get(
                target, {"fields": "id,text,timestamp"}, action="reading the comment answered"
            )
        except (InvalidInput, NotFound):
            return None  # a direct message has no ``text`` field: Graph refuses it
        if "text" not in comment:
            return None
        return meta.parse_time(comment.get("timestamp"))

    def _private_reply_to_comment(
        self,
        graph: meta.GraphClient,
        page: str,
        comment_id: str,
        commented: datetime,
        text: str,
        key: str,
    ) -> PublishedRef:
        """Instagram's private reply: one direct message to the person who wrote the comment
        (``recipient: {comment_id}``), within 7 days of the comment, once."""
        started = _now()
        if started - commented > _COMMENT_WINDOW:
            raise Permanent(
                _(
                    "Instagram only lets a business answer a comment in private within 7 days "
                    "of the comment (this one is from %(when)s UTC). Nothing was sent: answer "
                    "in public."
                )
                % {"when": f"{commented:%Y-%m-%d %H:%M}"},
                network=self.name,
                code="outside_window",
            )
        entry = {
            "kind": "private_comment",
            "target": comment_id,
            "state": "sending",
            "since": _iso(started),
        }
        self.journal.put(key, entry)
        try:
            answer = graph.post(
                f"{page}/messages",
                {"recipient": {"comment_id": comment_id}, "message": {"text": text}},
                action="answering the comment in private",
            )
        except Permanent as error:
            if error.code.split("/", 1)[0] == "10900":
                raise Permanent(
                    _(
                        "This comment has already been answered in private: Instagram allows "
                        "one private reply per comment. Nothing more was sent."
                    ),
                    network=self.name,
                    code="already_replied",
                ) from None
            raise
        message_id = str(answer.get("message_id") or answer.get("id") or "")
        if not message_id:
            raise OutcomeUnknown(
                "Instagram answered without the message's id.", network=self.name, code="no_id"
            )
        return self._ref_from_entry(
            self._remember(key, entry, PublishedRef(self.name, message_id, published_at=started))
        )

    def _dm_sender(self, to: InboundItem | str, target: str) -> tuple[str, datetime]:
        """The Instagram-scoped id of who wrote ``target``, and when."""
        if isinstance(to, InboundItem):
            if to.kind != InboundKind.DM:
                raise InvalidInput(
                    "On Instagram only a direct message can be answered in private: answer "
                    "this in public.",
                    network=self.name,
                    code="not_a_message",
                )
            return str(to.extra.get("igsid") or to.author.id), to.created_at
        try:
            message = self.graph.get(
                target, {"fields": _MESSAGE_FIELDS}, action="reading the message answered"
            )
        except InvalidInput:
            message = {}
        raw = message.get("from")
        sender: dict[str, Any] = raw if isinstance(raw, dict) else {}
        created = meta.parse_time(message.get("created_time"))
        # A message has a recipient (``to``); a comment or a media does not.
        if not message.get("to") or not sender.get("id") or created is None:
            raise InvalidInput(
                "On Instagram only a direct message can be answered in private: answer this "
                "in public.",
                network=self.name,
                code="not_a_message",
            )
        return str(sender["id"]), created

    def _last_from(self, igsid: str) -> datetime | None:
        """When the person last wrote (a later message than the one answered reopens the window)."""
        answer = self.graph.get(
            f"{self.page_id}/conversations",
            {"platform": "instagram", "user_id": igsid, "fields": "id,updated_time"},
            action="reading the conversation",
        )
        latest: datetime | None = None
        for conversation in answer.get("data") or []:
            if not isinstance(conversation, dict) or not conversation.get("id"):
                continue
            for message in self._messages(str(conversation["id"])):
                sender = message.get("from") if isinstance(message.get("from"), dict) else {}
                created = meta.parse_time(message.get("created_time"))
                if str((sender or {}).get("id")) == igsid and created is not None:
                    latest = created if latest is None or created > latest else latest
        return latest

    def _find_reply(
        self, entry: Mapping[str, str], text: str, *, exclude: frozenset[str]
    ) -> PublishedRef | None:
        target = entry.get("target", "")
        edge = entry.get("edge", "replies")
        threshold = (meta.parse_time(entry.get("since")) or _now() - _WINDOW) - _SLACK
        answer = self.graph.get(
            f"{target}/{edge}", {"fields": _COMMENT_FIELDS, "limit": 50}, action="reading"
        )
        same = [
            c
            for c in answer.get("data") or []
            if isinstance(c, dict)
            and self._own(c)
            and _same(str(c.get("text") or ""), text)
            and str(c.get("id")) not in exclude
            and (meta.parse_time(c.get("timestamp")) or _now()) >= threshold
        ]
        if len(same) > 1:
            raise Ambiguous("Several answers with this text: look on Instagram.", network=self.name)
        return self._ref(str(same[0]["id"])) if same else None

    def _reconcile_comment(
        self,
        entry: Mapping[str, str],
        post: OutgoingPost | None,
        since: datetime | None,
        exclude: frozenset[str],
        key: str,
    ) -> PublishedRef | None:
        if post is None or entry.get("state") != "sending":
            return None
        found = self._find_reply(entry, post.text, exclude=exclude)
        if found is not None:
            self._remember(key, dict(entry), found)
        return found

    def hide_comment(self, message_id: str) -> None:
        self.graph.post(message_id, {"hide": True}, action="hiding the comment", write=False)

    def delete_comment(self, message_id: str) -> None:
        try:
            self.graph.delete(message_id, action="deleting the comment")
        except NotFound:
            return

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        snapshots: list[MetricSnapshot] = []
        for ref in refs:
            try:
                data = self.graph.get(
                    ref.post_id, {"fields": "id,like_count,comments_count"}, action="metrics"
                )
            except NotFound:
                continue
            extra: dict[str, int] = {}
            try:
                insights = self.graph.get(
                    f"{ref.post_id}/insights",
                    {"metric": "views,reach,saved,shares"},
                    action="reading insights",
                )
            except (Permanent, NotFound, AuthExpired) as error:
                if isinstance(error, AuthExpired) and not meta.missing_permission(error):
                    raise
                logger.info("instagram: insights skipped (%s)", error.code)
            else:
                for metric in insights.get("data") or []:
                    values = metric.get("values") if isinstance(metric, dict) else None
                    if values and isinstance(values[-1], dict):
                        value = values[-1].get("value")
                        if isinstance(value, int):
                            extra[str(metric.get("name"))] = value
            likes = data.get("like_count")
            comments = data.get("comments_count")
            snapshots.append(
                MetricSnapshot(
                    network=self.name,
                    post_id=str(data.get("id") or ref.post_id),
                    taken_at=_now(),
                    likes=likes if isinstance(likes, int) else None,
                    replies=comments if isinstance(comments, int) else None,
                    reposts=extra.get("shares"),
                    views=extra.get("views"),
                    extra=extra,
                )
            )
        return snapshots

    def missing_permission(self, error: AuthExpired) -> bool:
        return meta.missing_permission(error)

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The followers now, and the profile views of the whole (UTC) days that ended since
        ``since`` (``metric_type=total_value`` over those days; none ended: 0, no call)."""
        graph = self.graph
        ig_id = self.account.account_id
        taken_at = _now()
        followers = self._figure(
            "followers",
            lambda: meta.count_field(
                graph.get(ig_id, {"fields": "followers_count"}, action="reading the followers"),
                "followers_count",
            ),
        )
        days = whole_days(since, taken_at)

        def views() -> int | None:
            if days is None:
                return 0
            answer = graph.get(
                f"{ig_id}/insights",
                {
                    "metric": "profile_views",
                    "period": "day",
                    "metric_type": "total_value",
                    "since": int(days[0].timestamp()),
                    "until": int(days[1].timestamp()),
                },
                action="reading the profile views",
            )
            return meta.total_value(answer, "profile_views")

        return AccountMetrics(
            network=self.name,
            taken_at=taken_at,
            since=since,
            followers=followers,
            profile_visits=self._figure("profile views", views),
        )


def _cursor(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


__all__ = ["SCOPES", "InstagramNetwork"]
