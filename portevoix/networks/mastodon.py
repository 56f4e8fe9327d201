"""Mastodon through ``Mastodon.py`` (OAuth per instance; tokens do not expire).

Credentials: ``instance_url`` and ``access_token`` (pasted, or obtained with
``begin_authorization``/``complete_authorization``), optionally ``client_id`` and
``client_secret`` of the app registered on that instance.

No post twice: every ``POST /api/v1/statuses`` carries an ``Idempotency-Key`` derived from
the caller's key and the part's number; the server keeps it for an hour, so a retry within
the hour answers the same status. ``reconcile`` looks the post up among the account's recent
statuses (text and reply target), which also covers a retry after the hour.

``Mastodon.py`` is built with an explicit ``mastodon_version`` (with ``version_check_mode=
"created"`` the SDK believes it without asking the server), and uploads never use
``synchronous=True``, which re-reads the server's version: against a server that reports a
non-Mastodon version, the SDK's media upload otherwise recurses.
It runs with ``ratelimit_method="throw"``: the publisher, not the SDK, decides when to retry,
from the ``X-RateLimit-Reset`` header.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonIllegalArgumentError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
    MastodonVersionError,
)

from .base import CredentialsListener, Network
from .errors import (
    AuthExpired,
    InvalidInput,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from .http import RateBudget
from .registry import register
from .types import (
    AccountInfo,
    Author,
    AuthorizationRequest,
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
    Visibility,
)

logger = logging.getLogger(__name__)

SCOPES = ["read", "write"]
_VISIBILITY = {
    Visibility.PUBLIC: "public",
    Visibility.UNLISTED: "unlisted",
    Visibility.FOLLOWERS: "private",
    Visibility.DIRECT: "direct",
}
_URL = re.compile(r"https?://[^\s<>\"']+")
_MENTION = re.compile(r"(?<![\w/])@(\w+)@[\w.-]+\w")
_TAG = re.compile(r"<[^>]+>")
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
# How far back reconcile looks, in statuses of our own account.
_RECONCILE_DEPTH = 80
# ... and how far back in time: a publication is reconciled within hours, not weeks.
_RECONCILE_WINDOW = timedelta(hours=24)
_MAX_PAGES = 10


def plain_text(content: str) -> str:
    """Mastodon's HTML ``content`` back to text, for comparing with what we sent."""
    text = _BREAK.sub("\n", content or "")
    text = _TAG.sub("", text)
    return " ".join(html.unescape(text).split())


def idempotency_header(key: str, part: int) -> str:
    """The ``Idempotency-Key`` of part ``part``: a hash, so the caller's ids stay private."""
    digest = hashlib.sha256(f"porte-voix:{key}#{part}".encode()).hexdigest()
    return f"pv-{digest[:40]}"


def _status_code(error: BaseException) -> int | None:
    for arg in getattr(error, "args", ())[1:2]:
        if isinstance(arg, int):
            return arg
    return None


def _server_message(error: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) >= 4 and isinstance(args[3], str) and len(args[3]) < 300:
        return args[3]
    return ""


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _id(value: Any) -> str:
    return str(value) if value is not None else ""


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)


def _bucket(method: str, path: str) -> str:
    """Mastodon counts media uploads apart (30 per 30 min) from the rest (300 per 5 min)."""
    return "media" if method.upper() == "POST" and path.rstrip("/").endswith("/media") else "api"


class _LastResponse:
    """A requests hook that keeps the headers of the last answer (for rate limits)."""

    def __init__(self, budget: RateBudget) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.budget = budget

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        path = urlsplit(response.url or "").path
        method = response.request.method if response.request is not None else ""
        self.budget.record(
            _bucket(method or "", path),
            self.headers,
            remaining="x-ratelimit-remaining",
            reset="x-ratelimit-reset",
        )
        return response

    def reset_at(self) -> datetime | None:
        reset = self.headers.get("x-ratelimit-reset")
        if reset:
            moment = _parse_time(reset)
            if moment is None and reset.isdigit():
                moment = datetime.fromtimestamp(int(reset), UTC)
            if moment is not None:
                return moment
        retry_after = self.headers.get("retry-after")
        if retry_after:
            if retry_after.strip().isdigit():
                return datetime.now(UTC) + timedelta(seconds=int(retry_after))
            try:
                return parsedate_to_datetime(retry_after).astimezone(UTC)
            except (TypeError, ValueError):
                return None
        return None


@register
class MastodonNetwork(Network):
    name: ClassVar[str] = "mastodon"
    label: ClassVar[str] = "Mastodon"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.THREADS,
            Capability.CONTENT_WARNING,
            Capability.VISIBILITY,
            Capability.READ_COMMENTS,
            Capability.READ_MENTIONS,
            Capability.READ_PRIVATE_MESSAGES,
            Capability.REPLY_PUBLIC,
            Capability.REPLY_PRIVATE,
            Capability.METRICS,
            Capability.DELETE_POST,
            Capability.OAUTH,
            Capability.IDEMPOTENT_PUBLISH,
        }
    )
    # Mastodon's defaults; an instance may allow more (``configuration.statuses``).
    limits: Limits = Limits(
        max_text_length=500,
        max_images=4,
        max_image_bytes=16 * 1024 * 1024,
        max_video_bytes=99 * 1024 * 1024,
        max_alt_text_length=1500,
        image_mime_types=frozenset(
            {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/avif"}
        ),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("instance_url", "access_token")

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        session: requests.Session | None = None,
        mastodon_version: str = "4.3.0",
    ) -> None:
        super().__init__(
            timeout=timeout, on_credentials_change=on_credentials_change, limits=limits
        )
        self._session = session or requests.Session()
        self._budget = RateBudget(self.name, self.label)
        self._last = _LastResponse(self._budget)
        self._session.hooks.setdefault("response", []).append(self._last)
        self.mastodon_version = mastodon_version
        self._api: Mastodon | None = None

    # -- errors -------------------------------------------------------------------------------

    def _call[T](
        self, action: str, fn: Callable[[], T], *, write: bool = False, bucket: str = "api"
    ) -> T:
        self._budget.check(bucket)
        try:
            return fn()
        except NetworkError:
            raise
        except Exception as error:  # Mastodon.py raises many kinds; map them all
            raise self._map(error, action, write) from None

    def _map(self, error: BaseException, action: str, write: bool) -> NetworkError:
        name = self.name
        status = _status_code(error)
        detail = _server_message(error)
        if isinstance(error, MastodonRatelimitError) or status == 429:
            return RateLimited(
                f"Mastodon asks us to slow down ({action}); retrying after its limit resets.",
                reset_at=self._last.reset_at() or datetime.now(UTC) + timedelta(minutes=5),
                network=name,
                code="429",
            )
        if isinstance(error, MastodonUnauthorizedError) or status == 401:
            return AuthExpired(
                "The Mastodon instance refused the access token (revoked or wrong): "
                "reconnect the account.",
                network=name,
                code="401",
            )
        if status == 403:
            return Permanent(
                f"Mastodon forbids this ({action}){': ' + detail if detail else ''}. "
                "The token may lack a permission: reconnect the account with read and write "
                "access.",
                network=name,
                code="403",
            )
        if isinstance(error, MastodonNotFoundError) or status == 404:
            return NotFound(
                f"Mastodon could not find it ({action}). Check the instance address.",
                network=name,
                code="404",
            )
        if status == 413:
            return InvalidInput(
                f"The file is too large for this Mastodon instance ({action}).",
                network=name,
                code="413",
            )
        if status == 422:
            return InvalidInput(
                f"Mastodon refused it ({action}){': ' + detail if detail else ''}.",
                network=name,
                code="422",
            )
        if isinstance(error, MastodonServerError) or (status is not None and status >= 500):
            if write:
                return OutcomeUnknown(
                    f"Mastodon failed while {action} (HTTP {status}); the post may exist.",
                    network=name,
                    code=str(status),
                )
            return Transient(
                f"Mastodon is unavailable ({action}, HTTP {status}).",
                network=name,
                code=str(status),
            )
        if isinstance(error, MastodonNetworkError) and isinstance(
            error.__cause__ or error.__context__, ValueError
        ):
            # Some SDK paths (app registration) wrap an undecodable answer as a network error.
            if self._last.status == 404:
                return NotFound(
                    f"Mastodon could not find it ({action}). Check the instance address.",
                    network=name,
                    code="404",
                )
            error = MastodonAPIError("Could not parse response as JSON")
        if isinstance(error, MastodonNetworkError):
            cause = error.__cause__ or error.__context__
            before_sending = isinstance(cause, requests.ConnectTimeout) or (
                isinstance(cause, requests.ConnectionError)
                and not isinstance(
                    cause, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError
                )
                and "RemoteDisconnected" not in repr(cause)
                and "Read timed out" not in repr(cause)
            )
            if write and not before_sending:
                return OutcomeUnknown(
                    f"The connection to Mastodon broke ({action}); the post may exist.",
                    network=name,
                    code="connection",
                )
            return Transient(
                f"Could not reach the Mastodon instance ({action}): check its address.",
                network=name,
                code="connection",
            )
        if isinstance(error, MastodonAPIError) and status is None:
            # An answer that is not JSON (an HTML page, a truncated body).
            if write:
                return OutcomeUnknown(
                    f"Mastodon answered something unexpected ({action}); the post may exist.",
                    network=name,
                    code="malformed",
                )
            return Permanent(
                f"The server answered something that is not Mastodon's API ({action}): "
                "check the instance address.",
                network=name,
                code="malformed",
            )
        if isinstance(error, MastodonIllegalArgumentError | MastodonVersionError):
            return InvalidInput(
                f"Mastodon cannot do this ({action}).", network=name, code="argument"
            )
        if isinstance(error, MastodonAPIError):
            return Permanent(
                f"Mastodon refused it ({action}){': ' + detail if detail else ''}.",
                network=name,
                code=str(status),
            )
        if isinstance(error, MastodonError | ValueError | KeyError | TypeError | AttributeError):
            if write:
                return OutcomeUnknown(
                    f"Mastodon answered something unexpected ({action}); the post may exist.",
                    network=name,
                    code="malformed",
                )
            return Permanent(
                f"The server answered something that is not Mastodon's API ({action}): "
                "check the instance address.",
                network=name,
                code="malformed",
            )
        if write:
            return OutcomeUnknown(
                f"Unexpected failure while {action}; the post may exist.",
                network=name,
                code="unknown",
            )
        return Transient(f"Unexpected failure while {action}.", network=name, code="unknown")

    # -- account ------------------------------------------------------------------------------

    @staticmethod
    def _normalise_url(url: str) -> str:
        url = (url or "").strip().rstrip("/")
        if url and "://" not in url:
            url = "https://" + url
        parts = urlsplit(url)
        if (
            parts.scheme not in {"http", "https"}
            or not _HOSTNAME.match(parts.hostname or "")
            or parts.path not in {"", "/"}
        ):
            raise InvalidInput(
                "Enter the instance address like https://mastodon.social.",
                network=MastodonNetwork.name,
                code="bad_url",
            )
        return f"{parts.scheme}://{parts.netloc}"

    def _client(self, instance_url: str, token: str | None) -> Mastodon:
        return Mastodon(
            access_token=token,
            api_base_url=instance_url,
            request_timeout=self.timeout,
            ratelimit_method="throw",
            mastodon_version=self.mastodon_version,
            version_check_mode="created",
            session=self._session,
            user_agent="Porte-voix",
        )

    @property
    def api(self) -> Mastodon:
        if self._api is None:
            raise AuthExpired(
                "This Mastodon account is not connected.", network=self.name, code="not_connected"
            )
        return self._api

    def connect(self, credentials: Credentials) -> AccountInfo:
        instance_url = self._normalise_url(credentials.get("instance_url"))
        token = credentials.get("access_token")
        if not token:
            raise AuthExpired(
                "A Mastodon access token is needed.", network=self.name, code="missing"
            )
        api = self._client(instance_url, token)
        me = self._call("checking the account", api.account_verify_credentials)
        if not isinstance(me, dict) or "id" not in me:
            raise Permanent(
                "The server answered something that is not Mastodon's API: check the instance "
                "address.",
                network=self.name,
                code="malformed",
            )
        account = AccountInfo(
            network=self.name,
            account_id=_id(me["id"]),
            handle=f"{me.get('acct') or me.get('username')}@{urlsplit(instance_url).hostname}",
            display_name=me.get("display_name") or "",
            url=me.get("url") or "",
            avatar_url=me.get("avatar") or "",
        )
        self._api = api
        return self._bind(credentials.replace(instance_url=instance_url), account)

    @classmethod
    def begin_authorization(
        cls, instance_url: str, redirect_uri: str, *, state: str, app_name: str = "Porte-voix"
    ) -> AuthorizationRequest:
        """Register the app on the instance and build the URL to send the person to."""
        url = cls._normalise_url(instance_url)
        helper = cls(timeout=30.0)
        client_id, client_secret = helper._call(
            "registering the app",
            partial(
                Mastodon.create_app,
                app_name,
                scopes=SCOPES,
                redirect_uris=redirect_uri,
                api_base_url=url,
                request_timeout=helper.timeout,
                session=helper._session,
            ),
        )
        api = Mastodon(
            client_id=client_id,
            client_secret=client_secret,
            api_base_url=url,
            mastodon_version=helper.mastodon_version,
            version_check_mode="created",
            session=helper._session,
        )
        auth_url = helper._call(
            "building the authorisation address",
            partial(
                api.auth_request_url,
                redirect_uris=redirect_uri,
                scopes=SCOPES,
                state=state,
                skip_server_info=True,
                allow_http=url.startswith("http://"),
            ),
        )
        return AuthorizationRequest(
            url=auth_url,
            state=state,
            redirect_uri=redirect_uri,
            instance_url=url,
            client_id=client_id,
            client_secret=client_secret,
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        helper = cls(timeout=timeout)
        api = Mastodon(
            client_id=request.client_id,
            client_secret=request.client_secret,
            api_base_url=request.instance_url,
            request_timeout=timeout,
            mastodon_version=helper.mastodon_version,
            version_check_mode="created",
            session=helper._session,
        )
        token = helper._call(
            "trading the authorisation code",
            partial(
                api.log_in,
                code=code,
                redirect_uri=request.redirect_uri,
                scopes=SCOPES,
                allow_http=request.instance_url.startswith("http://"),
            ),
        )
        return Credentials(
            {
                "instance_url": request.instance_url,
                "access_token": token,
                "client_id": request.client_id,
                "client_secret": request.client_secret,
            }
        )

    def close(self) -> None:
        self._session.close()
        self._api = None

    # -- compose ------------------------------------------------------------------------------

    def text_length(self, text: str) -> int:
        """Mastodon counts every link as 23 characters and a mention without its domain."""
        text = _URL.sub("x" * 23, text)
        text = _MENTION.sub(lambda m: "@" + m.group(1), text)
        return len(text)

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        for number, part in enumerate(post.parts(), start=1):
            videos = [m for m in part.media if m.is_video]
            if videos and (len(videos) > 1 or len(part.media) > 1):
                problems.append(
                    f"Part {number}: Mastodon takes one video alone, or up to 4 images."
                )
        if post.content_warning and len(post.content_warning) > self.limits.max_text_length:
            problems.append("The content warning is too long.")
        return problems

    # -- publish ------------------------------------------------------------------------------

    def _upload(self, media: Sequence[MediaItem]) -> list[str]:
        api = self.api
        ids: list[str] = []
        for item in media:
            # An attachment nobody uses is harmless: uploading again after a failure is fine.
            attachment = self._call(
                "uploading a file",
                partial(
                    api.media_post,
                    item.data,
                    mime_type=item.mime_type,
                    description=item.alt_text or None,
                    file_name=item.filename,
                ),
                bucket="media",
            )
            ids.append(self._processed(attachment))
        return ids

    def _processed(self, attachment: Any) -> str:
        """Wait until the instance has processed an upload (202 answers come without a url).

        Not ``media_post(synchronous=True)``: that asks the server for its version again,
        which is what recursed against non-Mastodon servers.
        """
        media_id = _id(attachment["id"])
        api = self.api
        delay = 0.5
        waited = 0.0
        while not attachment.get("url"):
            if waited > self.timeout:
                raise Transient(
                    "Mastodon is still processing the file; trying again later.",
                    network=self.name,
                    code="media_processing",
                )
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)
            attachment = self._call("waiting for the file", partial(api.media, media_id))
        return media_id

    def _ref(self, status: Any) -> PublishedRef:
        return PublishedRef(
            network=self.name,
            post_id=_id(status["id"]),
            url=status.get("url") or status.get("uri") or "",
            published_at=_parse_time(status.get("created_at")),
        )

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.ensure_valid(post)
        api = self.api
        # No lookup first: two posts may rightly share a text. Within the hour the instance
        # answers a repeated Idempotency-Key with the status it already has.
        refs: list[PublishedRef] = []
        parent = post.in_reply_to
        for number, part in enumerate(post.parts()):
            media_ids = self._upload(part.media)
            status = self._call(
                "publishing",
                partial(
                    api.status_post,
                    part.text,
                    in_reply_to_id=parent,
                    media_ids=media_ids or None,
                    sensitive=bool(post.content_warning),
                    visibility=_VISIBILITY[post.visibility],
                    spoiler_text=post.content_warning or None,
                    language=post.language or None,
                    idempotency_key=idempotency_header(idempotency_key, number),
                ),
                write=True,
            )
            if not isinstance(status, dict) or "id" not in status:
                raise OutcomeUnknown(
                    "Mastodon answered something unexpected while publishing; the post may exist.",
                    network=self.name,
                    code="malformed",
                )
            ref = self._ref(status)
            logger.info("mastodon: published status %s", ref.post_id)
            refs.append(ref)
            parent = ref.post_id
        first = refs[0]
        return PublishedRef(
            network=self.name,
            post_id=first.post_id,
            url=first.url,
            published_at=first.published_at,
            thread=tuple(refs[1:]),
        )

    def _recent_own(self) -> list[Any]:
        api = self.api
        statuses: list[Any] = []
        max_id: str | None = None
        while len(statuses) < _RECONCILE_DEPTH:
            page = self._call(
                "reading recent posts",
                partial(api.account_statuses, self.account.account_id, max_id=max_id, limit=40),
            )
            if not page:
                break
            statuses.extend(page)
            max_id = _id(page[-1]["id"])
            if len(page) < 40:
                break
        return statuses

    def _find(self, idempotency_key: str, post: OutgoingPost | None) -> PublishedRef | None:
        """The parts of ``post`` already on the instance, matched by text and reply chain."""
        if post is None:
            return None
        horizon = datetime.now(UTC) - _RECONCILE_WINDOW
        recent = [
            s
            for s in reversed(self._recent_own())  # oldest first
            if (_parse_time(s.get("created_at")) or horizon) >= horizon
        ]
        parent = post.in_reply_to
        refs: list[PublishedRef] = []
        for part in post.parts():
            wanted = " ".join(part.text.split())
            match = next(
                (
                    s
                    for s in recent
                    if plain_text(s.get("content") or "") == wanted
                    and _id(s.get("in_reply_to_id")) == (parent or "")
                    and not s.get("reblog")
                ),
                None,
            )
            if match is None:
                break
            ref = self._ref(match)
            refs.append(ref)
            parent = ref.post_id
        if not refs:
            return None
        first = refs[0]
        return PublishedRef(
            network=self.name,
            post_id=first.post_id,
            url=first.url,
            published_at=first.published_at,
            thread=tuple(refs[1:]),
        )

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """Look ``post`` up among the account's statuses of the last 24 hours.

        Matched on the text and the reply chain. Without ``post`` there is nothing to compare
        with: publish again with the same key instead (within the hour, the instance answers
        with the status it already has).
        """
        return self._find(idempotency_key, post)

    def delete(self, ref: PublishedRef) -> None:
        api = self.api
        for post_id in reversed(ref.all_post_ids):
            try:
                self._call("deleting the post", partial(api.status_delete, post_id))
            except NotFound:
                continue

    # -- inbound ------------------------------------------------------------------------------

    def _author(self, account: Any) -> Author:
        return Author(
            id=_id(account.get("id")),
            handle=account.get("acct") or account.get("username") or "",
            display_name=account.get("display_name") or "",
            url=account.get("url") or "",
            avatar_url=account.get("avatar") or "",
        )

    def _item(self, status: Any, kind: InboundKind, *, thread_id: str | None = None) -> InboundItem:
        return InboundItem(
            network=self.name,
            message_id=_id(status["id"]),
            kind=kind,
            author=self._author(status.get("account") or {}),
            text=plain_text(status.get("content") or ""),
            created_at=_parse_time(status.get("created_at")) or datetime.now(UTC),
            in_reply_to=_id(status.get("in_reply_to_id")) or None,
            thread_id=thread_id or _id(status.get("in_reply_to_id")) or None,
            url=status.get("url") or status.get("uri") or "",
            language=status.get("language") or "",
            extra={"visibility": status.get("visibility") or ""},
        )

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Mentions, replies and private mentions from the notifications, plus conversations.

        Replies to our posts are ``comment``, other mentions ``mention``, ``direct``
        statuses ``dm`` (their ``thread_id`` is the conversation's id when known).
        """
        api = self.api
        cursor = _load_cursor(since_cursor)
        since_notification = cursor.get("n") or None
        own = self.account.account_id
        items: dict[str, InboundItem] = {}
        newest = since_notification
        pages = 0
        min_id = since_notification
        while pages < _MAX_PAGES:
            pages += 1
            page = self._call(
                "reading notifications",
                partial(api.notifications, min_id=min_id, limit=40),
            )
            if not page:
                break
            for notification in page:
                notification_id = _id(notification.get("id"))
                if newest is None or _id_key(notification_id) > _id_key(newest):
                    newest = notification_id
                kind_name = notification.get("type")
                status = notification.get("status")
                if kind_name not in {"mention", "quote"} or not status:
                    continue
                if status.get("visibility") == "direct":
                    kind = InboundKind.DM
                elif kind_name == "quote":
                    kind = InboundKind.QUOTE
                elif _id(status.get("in_reply_to_account_id")) == own:
                    kind = InboundKind.COMMENT
                else:
                    kind = InboundKind.MENTION
                items[_id(status["id"])] = self._item(status, kind)
            min_id = max((_id(n.get("id")) for n in page), key=_id_key)
            if len(page) < 40:
                break
        # Conversations: private mentions that a notification filter may have hidden.
        last_conversation = cursor.get("c") or ""
        newest_conversation = last_conversation
        conversations = self._call("reading conversations", partial(api.conversations, limit=20))
        for conversation in conversations or []:
            status = conversation.get("last_status")
            if not status:
                continue
            status_id = _id(status.get("id"))
            if _id((status.get("account") or {}).get("id")) == own:
                continue
            if last_conversation and _id_key(status_id) <= _id_key(last_conversation):
                continue
            if not newest_conversation or _id_key(status_id) > _id_key(newest_conversation):
                newest_conversation = status_id
            items[status_id] = self._item(
                status, InboundKind.DM, thread_id=_id(conversation.get("id"))
            )
        ordered = sorted(
            items.values(), key=lambda item: (item.created_at, _id_key(item.message_id))
        )
        return InboundBatch(
            items=tuple(ordered),
            next_cursor=json.dumps({"n": newest or "", "c": newest_conversation}, sort_keys=True),
        )

    def fetch_replies(self, post_id: str) -> InboundBatch:
        api = self.api
        context = self._call("reading the thread", partial(api.status_context, post_id))
        own = self.account.account_id
        items = [
            self._item(status, InboundKind.COMMENT, thread_id=post_id)
            for status in (context.get("descendants") or [])
            if _id((status.get("account") or {}).get("id")) != own
        ]
        items.sort(key=lambda item: (item.created_at, _id_key(item.message_id)))
        return InboundBatch(items=tuple(items))

    def reply(
        self,
        to: InboundItem | str,
        text: str,
        *,
        idempotency_key: str,
        private: bool = False,
    ) -> PublishedRef:
        target = to.message_id if isinstance(to, InboundItem) else to
        if not private:
            return self.publish(
                OutgoingPost(text=text, in_reply_to=target), idempotency_key=idempotency_key
            )
        if isinstance(to, InboundItem):
            handle = to.author.handle
        else:
            status = self._call("reading the message answered", partial(self.api.status, target))
            handle = (status.get("account") or {}).get("acct") or ""
        body = text if f"@{handle}" in text else f"@{handle} {text}"
        return self.publish(
            OutgoingPost(text=body, in_reply_to=target, visibility=Visibility.DIRECT),
            idempotency_key=idempotency_key,
        )

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        api = self.api
        snapshots: list[MetricSnapshot] = []
        for ref in refs:
            try:
                status = self._call("reading metrics", partial(api.status, ref.post_id))
            except NotFound:
                continue  # deleted since: no snapshot
            quotes = status.get("quotes_count")
            snapshots.append(
                MetricSnapshot(
                    network=self.name,
                    post_id=_id(status["id"]),
                    taken_at=datetime.now(UTC),
                    likes=int(status.get("favourites_count") or 0),
                    reposts=int(status.get("reblogs_count") or 0),
                    replies=int(status.get("replies_count") or 0),
                    quotes=int(quotes) if quotes is not None else None,
                    views=None,
                )
            )
        return snapshots


def _load_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {"n": cursor}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if v is not None}


__all__ = ["MastodonNetwork", "idempotency_header", "plain_text"]
