"""X (formerly Twitter), API v2, through httpx.

The official SDK ``xdk`` installs and takes a ``base_url``, but is not used: see
``docs/adr/1103-x.md`` (it sends every request without a timeout, and a write whose answer
never comes would hold the worker forever).

Credentials (OAuth 2.0 with PKCE, ``offline.access``): ``access_token`` (two hours),
``refresh_token`` (rotated: every refresh hands out a new one, stored at once through
``on_credentials_change``), ``expires_at``, ``client_id`` and, for a confidential app,
``client_secret``. ``api_url``/``auth_url`` default to X's hosts (tests point them at a
loopback fake).

Publishing: ``POST /2/tweets``, images first through the v2 media upload
(``POST /2/media/upload``, alt text with ``/2/media/metadata``), threads as a chain of replies.
X takes no idempotency key: a lost answer is ``OutcomeUnknown`` and ``reconcile`` reads the
account's own posts made since the first attempt (``/2/users/{id}/tweets?start_time=``) and
compares their text; a thread is followed part by part through its replies. A client also
remembers the keys it published or found.

Video: the chunked v2 upload on the same endpoint (``command=INIT`` with the size and
``media_category=tweet_video``, ``APPEND`` per 4 MB segment, ``FINALIZE``, ``STATUS`` while X
processes it), then the post with the media id. The steps go to the channel's **journal**
(``uses_journal``): the media id and key after ``INIT``, "finalizing" before ``FINALIZE``, "ready"
once X says so; publishing again under the same key reuses the uploaded video (never a second
upload), and ``reconcile`` recognises the post by the video's media key in its attachments.

Limits: 280 weighted characters (links count 23, most non-Latin characters and emoji 2),
25,000 for a Premium account (``subscription_type``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from .base import CredentialsListener, Journal, Network
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
from .http import RateBudget, parse_reset
from .i18n import gettext as _
from .linkedin import _Memory
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
    ThreadPart,
)

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.x.com"
DEFAULT_AUTH_URL = "https://x.com/i/oauth2/authorize"
SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
PREMIUM_TEXT_LENGTH = 25_000
_URL = re.compile(r"https?://[^\s<>\"']+", re.I)
_ID = re.compile(r"/\d+")
# twitter-text v3: these code points weigh 1, every other weighs 2 (of 280).
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_REFRESH_MARGIN = timedelta(minutes=2)
_RECONCILE_WINDOW = timedelta(hours=24)
_RECONCILE_PAGES = 5
# X takes video segments of at most 5 MB (https://docs.x.com/x-api/media/quickstart/
# media-upload-chunked).
_VIDEO_SEGMENT = 4 * 1024 * 1024
_TWEET_FIELDS = (
    "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,attachments,author_id"
)


def weighted_length(text: str) -> int:
    """Length as X counts it: links 23, light characters 1, the others 2 (NFC)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    last = 0
    for match in _URL.finditer(text):
        total += _weigh(text[last : match.start()]) + 23
        last = match.end()
    return total + _weigh(text[last:])


def _weigh(text: str) -> int:
    return sum(1 if any(a <= ord(c) <= b for a, b in _LIGHT) else 2 for c in text)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


@register
class XNetwork(Network):
    name: ClassVar[str] = "x"
    label: ClassVar[str] = "X"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.THREADS,
            Capability.READ_COMMENTS,
            Capability.READ_MENTIONS,
            Capability.REPLY_PUBLIC,
            Capability.DELETE_POST,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.OAUTH,
            Capability.TOKEN_REFRESH,
        }
    )
    #: ``public_metrics.followers_count`` of ``/2/users/me`` (https://docs.x.com/x-api/users/
    #: user-lookup-me); X's API gives no profile visits.
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(
        {AccountMetric.FOLLOWERS}
    )
    # X's documented limits: 280 weighted characters, 4 images of 5 MB (JPEG, PNG, WebP, GIF),
    # alt text up to 1,000 characters; a thread of 25 posts is what X's own composer allows.
    limits: Limits = Limits(
        max_text_length=280,
        max_images=4,
        max_image_bytes=5 * 1024 * 1024,
        max_alt_text_length=1000,
        max_thread_parts=25,
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
        # Videos: MP4 or MOV up to 512 MB and 140 seconds (the 140 s are in ``media.specs``;
        # https://docs.x.com/x-api/media/quickstart/best-practices).
        max_video_bytes=512 * 1024 * 1024,
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
        characters_per_url=23,
    )
    uses_journal: ClassVar[bool] = True
    credential_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    oauth_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")
    optional_credential_fields: ClassVar[frozenset[str]] = frozenset({"client_secret"})

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
        self._http = httpx.Client(
            timeout=self.timeout, transport=transport, headers={"User-Agent": "Porte-voix"}
        )
        self._budget = RateBudget(self.name, self.label)
        self._memory = _Memory()
        self._refresh_lock = threading.Lock()
        self._premium = False

    def close(self) -> None:
        self._http.close()

    def text_length(self, text: str) -> int:
        return weighted_length(text)

    def _api(self) -> str:
        return (self.credentials.get("api_url") or DEFAULT_API_URL).rstrip("/")

    # -- HTTP ---------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        write: bool = False,
        json_body: Any = None,
        files: Any = None,
        data: Any = None,
        bucket: str = "",
        refreshed: bool = False,
    ) -> Any:
        # X counts each endpoint apart (and media uploads apart from posts).
        bucket = bucket or f"{method} " + _ID.sub("/:id", path.split("?", 1)[0])
        self._ensure_fresh_token()
        self._budget.check(bucket)
        headers = {"Authorization": f"Bearer {self.credentials.get('access_token')}"}
        try:
            response = self._http.request(
                method,
                self._api() + path,
                json=json_body,
                files=files,
                data=data,
                headers=headers,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Transient(
                f"Could not reach X ({action}).", network=self.name, code="connection"
            ) from error
        except httpx.HTTPError:
            if write:
                raise OutcomeUnknown(
                    f"The answer from X was lost ({action}); the post may exist.",
                    network=self.name,
                    code="timeout",
                ) from None
            raise Transient(
                f"X did not answer ({action}).", network=self.name, code="timeout"
            ) from None
        self._budget.record(
            bucket,
            {k.lower(): v for k, v in response.headers.items()},
            remaining="x-rate-limit-remaining",
            reset="x-rate-limit-reset",
        )
        if response.status_code < 300:
            try:
                return response.json() if response.content else {}
            except ValueError:
                if write:
                    raise OutcomeUnknown(
                        f"X answered something unexpected ({action}); the post may exist.",
                        network=self.name,
                        code="malformed",
                    ) from None
                raise Permanent(
                    f"X answered something unexpected ({action}).",
                    network=self.name,
                    code="malformed",
                ) from None
        if response.status_code == 401 and not refreshed and self._can_refresh():
            self.refresh_credentials()
            return self._request(
                method,
                path,
                action=action,
                write=write,
                json_body=json_body,
                files=files,
                data=data,
                bucket=bucket,
                refreshed=True,
            )
        raise self._error(response, action, write)

    def _error(self, response: httpx.Response, action: str, write: bool) -> NetworkError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        detail = str(body.get("detail") or body.get("title") or "")[:300]
        reason = str(body.get("reason") or body.get("title") or "")
        name = self.name
        if status == 429:
            return RateLimited(
                _("X asks us to slow down (%(action)s); retrying after its limit resets.")
                % {"action": _(action)},
                reset_at=parse_reset(response.headers.get("x-rate-limit-reset"))
                or datetime.now(UTC) + timedelta(minutes=15),
                network=name,
                code="429",
            )
        if status == 401:
            return AuthExpired(
                _("X refused the access token (expired or revoked): reconnect the account."),
                network=name,
                code="401",
            )
        if status == 402 or reason in {"client-not-enrolled", "CreditsDepleted"}:
            return Permanent(
                _(
                    "X refuses this call for the app's API plan (%(action)s): the app's X "
                    "developer account must pay for this access. X says: %(detail)s"
                )
                % {"action": _(action), "detail": detail},
                network=name,
                code="paid_access",
            )
        if status == 403 and "duplicate" in detail.lower():
            return Permanent(
                _("X refuses this post as a duplicate of one already on the account."),
                network=name,
                code="duplicate",
            )
        if status == 403:
            return Permanent(
                _("X does not allow this (%(action)s): %(detail)s")
                % {"action": _(action), "detail": detail},
                network=name,
                code="app_not_allowed",
            )
        if status == 404:
            return NotFound(
                _("X could not find it (%(action)s).") % {"action": _(action)},
                network=name,
                code="404",
            )
        if status == 413:
            return InvalidInput(
                _("The file is too large for X (%(action)s).") % {"action": _(action)},
                network=name,
                code="413",
            )
        if status in {400, 422}:
            return InvalidInput(
                (
                    _("X refused it (%(action)s): %(reason)s.")
                    % {"action": _(action), "reason": detail}
                    if detail
                    else _("X refused it (%(action)s).") % {"action": _(action)}
                ),
                network=name,
                code=str(status),
            )
        if status >= 500:
            if write:
                return OutcomeUnknown(
                    _("X failed while %(action)s (HTTP %(status)s); the post may exist.")
                    % {"action": _(action), "status": status},
                    network=name,
                    code=str(status),
                )
            return Transient(
                _("X is unavailable (%(action)s).") % {"action": _(action)},
                network=name,
                code=str(status),
            )
        return Permanent(
            _("X refused it (%(action)s, HTTP %(status)s).")
            % {"action": _(action), "status": status},
            network=name,
            code=str(status),
        )

    # -- tokens -------------------------------------------------------------------------------

    def _can_refresh(self) -> bool:
        return bool(self.credentials.get("refresh_token") and self.credentials.get("client_id"))

    def _ensure_fresh_token(self) -> None:
        value = self.credentials.get("expires_at")
        if not value:
            return
        expires_at = _parse_time(value)
        if expires_at is None or expires_at - _REFRESH_MARGIN > datetime.now(UTC):
            return
        if self._can_refresh():
            self.refresh_credentials()
        elif expires_at <= datetime.now(UTC):
            raise AuthExpired(
                "The X access token has expired: reconnect the account.",
                network=self.name,
                code="expired",
            )

    def refresh_credentials(self) -> Credentials:
        """A new access token; X rotates the refresh token too: both are stored at once."""
        with self._refresh_lock:
            credentials = self.credentials
            if not self._can_refresh():
                raise AuthExpired(
                    "This X account cannot renew its token: reconnect it.",
                    network=self.name,
                    code="no_refresh",
                )
            data = _token_call(
                self._http,
                self._api(),
                {
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.get("refresh_token"),
                    "client_id": credentials.get("client_id"),
                },
                credentials.get("client_id"),
                credentials.get("client_secret"),
            )
            fresh = credentials.replace(**_token_values(data))
            self._credentials_changed(fresh)
            return fresh

    @classmethod
    def begin_authorization(
        cls,
        instance_url: str,
        redirect_uri: str,
        *,
        state: str,
        app_name: str = "Porte-voix",
        client_id: str = "",
        client_secret: str = "",
    ) -> AuthorizationRequest:
        """X's authorisation URL with PKCE (the verifier stays in the request's ``extra``)."""
        client_id = client_id.strip()
        if not client_id:
            raise InvalidInput(
                "Enter the Client ID of your X app.", network=cls.name, code="no_app"
            )
        verifier, challenge = _pkce()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(SCOPES),
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return AuthorizationRequest(
            url=f"{DEFAULT_AUTH_URL}?{query}",
            state=state,
            redirect_uri=redirect_uri,
            instance_url=(instance_url or DEFAULT_API_URL).rstrip("/"),
            client_id=client_id,
            client_secret=client_secret.strip(),
            extra={"code_verifier": verifier},
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        api_url = request.instance_url or DEFAULT_API_URL
        with httpx.Client(timeout=timeout, headers={"User-Agent": "Porte-voix"}) as client:
            data = _token_call(
                client,
                api_url,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": request.redirect_uri,
                    "code_verifier": request.extra.get("code_verifier") or "",
                    "client_id": request.client_id,
                },
                request.client_id,
                request.client_secret,
            )
        values = {"client_id": request.client_id, "api_url": api_url}
        if request.client_secret:
            values["client_secret"] = request.client_secret
        values.update({k: v for k, v in _token_values(data).items() if v is not None})
        return Credentials(values)

    # -- account ------------------------------------------------------------------------------

    def connect(self, credentials: Credentials) -> AccountInfo:
        if not credentials.get("access_token"):
            raise AuthExpired("An X access token is needed.", network=self.name, code="missing")
        self._credentials = credentials
        try:
            data = self._request(
                "GET",
                "/2/users/me?user.fields=profile_image_url,subscription_type,verified_type",
                action="reading the account",
            )
            user = data.get("data") if isinstance(data, dict) else None
            if not isinstance(user, dict) or not user.get("id"):
                raise Permanent(
                    "X answered something unexpected.", network=self.name, code="malformed"
                )
        except NetworkError:
            self._credentials = None
            raise
        self._premium = str(user.get("subscription_type") or "") in {"Premium", "PremiumPlus"}
        if self._premium:
            self.limits = replace(self.limits, max_text_length=PREMIUM_TEXT_LENGTH)
        username = str(user.get("username") or "")
        account = AccountInfo(
            network=self.name,
            account_id=str(user["id"]),
            handle=f"@{username}",
            display_name=str(user.get("name") or username),
            url=f"https://x.com/{username}",
            avatar_url=str(user.get("profile_image_url") or ""),
        )
        return self._bind(self._credentials or credentials, account)

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        self._bind(credentials, account)

    def fetch_limits(self) -> Limits:
        """280 weighted characters, 25,000 for a Premium account (``subscription_type``)."""
        self.verify()
        return self.limits

    # -- publish ------------------------------------------------------------------------------

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        match = re.search(r"/status(?:es)?/(\d+)", url)
        return match.group(1) if match else None

    def _ref(self, post_id: str, created: datetime | None = None) -> PublishedRef:
        handle = self.account.handle.lstrip("@")
        return PublishedRef(
            network=self.name,
            post_id=post_id,
            url=f"https://x.com/{handle}/status/{post_id}",
            published_at=created or datetime.now(UTC),
        )

    def _upload(self, item: MediaItem) -> str:
        action = "uploading an image"
        try:
            data = self._request(
                "POST",
                "/2/media/upload",
                action=action,
                files={"media": (item.filename, item.read_all(), item.mime_type)},
                data={"media_category": "tweet_image", "media_type": item.mime_type},
                bucket="media",
                write=True,
            )
        except OutcomeUnknown as error:  # an unused image is not a post
            raise Transient(error.message, network=self.name, code=error.code) from None
        media = data.get("data") if isinstance(data, dict) else None
        media_id = str((media or {}).get("id") or "")
        if not media_id:
            raise Transient(_("X did not say the image's id."), network=self.name, code="malformed")
        if item.alt_text:
            try:
                self._request(
                    "POST",
                    "/2/media/metadata",
                    action="describing an image",
                    json_body={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
                    bucket="media",
                    write=True,
                )
            except OutcomeUnknown as error:
                raise Transient(error.message, network=self.name, code=error.code) from None
        return media_id

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        for part in post.parts():
            if any(m.is_video for m in part.media) and len(part.media) > 1:
                problems.append(_("On X a video goes alone, without images or another video."))
                break
        return problems

    def _upload_video(self, item: MediaItem, key: str) -> str:
        """The chunked upload of one video (journaled under ``key``); its media id once X has
        processed it. Nothing is posted yet: failures here are not ``OutcomeUnknown``."""
        entry = dict(self.journal.get(key) or {})
        expires = _parse_time(entry.get("expires_at"))
        if entry and (expires is None or expires <= datetime.now(UTC) + timedelta(minutes=5)):
            entry = {}  # X forgets an unused upload: start again
        if entry.get("state") == "ready":
            return entry["media_id"]
        if entry.get("state") in {"finalizing", "processing"}:
            return self._video_status(item, key, entry)
        action = "uploading a video"
        try:
            if entry.get("state") == "appending" and entry.get("media_id"):
                # An upload cut midway: X keeps the segments it took until the media expires;
                # the next one is the first it did not confirm.
                self._append(item, key, entry, action)
            else:
                self._append(item, key, self._init_video(item, key, action), action)
        except NetworkError as error:
            # A video never attached to a post is not a post. A segment X did not confirm (a
            # timeout, X unavailable) is sent again from that segment: X takes a segment index
            # again, and the journal says which one. A refusal uploads anew.
            kept = dict(self.journal.get(key) or {})
            again = error.retryable or isinstance(error, OutcomeUnknown)
            if not (again and kept.get("state") == "appending"):
                self.journal.put(key, {"state": "absent"})
            if isinstance(error, OutcomeUnknown):
                raise Transient(error.message, network=self.name, code=error.code) from None
            raise
        entry = dict(self.journal.get(key) or {})
        return self._finalize_video(item, key, entry)

    def _init_video(self, item: MediaItem, key: str, action: str) -> dict[str, str]:
        data = self._request(
            "POST",
            "/2/media/upload",
            action=action,
            files=_fields(
                command="INIT",
                media_type=item.mime_type,
                total_bytes=str(item.size),
                media_category="tweet_video",
            ),
            bucket="media",
        )
        media = data.get("data") if isinstance(data, dict) else None
        media_id = str((media or {}).get("id") or "")
        if not media_id:
            raise Transient(_("X did not say the video's id."), network=self.name, code="malformed")
        lifetime = int((media or {}).get("expires_after_secs") or 3600)
        entry = {
            "media_id": media_id,
            "media_key": str((media or {}).get("media_key") or ""),
            "expires_at": (datetime.now(UTC) + timedelta(seconds=lifetime)).isoformat(),
            "state": "appending",
        }
        self.journal.put(key, entry)
        return entry

    def _append(self, item: MediaItem, key: str, entry: dict[str, str], action: str) -> None:
        """APPEND the segments X has not confirmed, each read from the file as it goes (the
        video is never whole in memory); the journal counts the segments confirmed."""
        media_id = entry["media_id"]
        done = int(entry.get("segments") or 0)
        with item.open() as handle:
            for index, start in enumerate(range(0, item.size, _VIDEO_SEGMENT)):
                if index < done:
                    continue
                self._request(
                    "POST",
                    "/2/media/upload",
                    action=action,
                    data={"command": "APPEND", "media_id": media_id, "segment_index": str(index)},
                    files={
                        "media": (
                            item.filename,
                            item.read_chunk(handle, start, start + _VIDEO_SEGMENT),
                            "application/octet-stream",
                        )
                    },
                    bucket="media",
                )
                entry = {**entry, "segments": str(index + 1)}
                self.journal.put(key, entry)

    def _finalize_video(self, item: MediaItem, key: str, entry: dict[str, str]) -> str:
        entry = {**entry, "state": "finalizing"}
        self.journal.put(key, entry)
        data = self._request(
            "POST",
            "/2/media/upload",
            action="finishing the video upload",
            files=_fields(command="FINALIZE", media_id=entry["media_id"]),
            bucket="media",
        )
        return self._after_processing(key, entry, data)

    def _video_status(self, item: MediaItem, key: str, entry: dict[str, str]) -> str:
        try:
            data = self._request(
                "GET",
                "/2/media/upload?"
                + urlencode({"command": "STATUS", "media_id": entry["media_id"]}),
                action="reading the video's processing",
                bucket="media",
            )
        except (NotFound, InvalidInput):
            # X does not know the upload as finished: it was never attached; upload again.
            self.journal.put(key, {"state": "absent"})
            return self._upload_video(item, key)
        return self._after_processing(key, entry, data)

    def _after_processing(self, key: str, entry: dict[str, str], data: Any) -> str:
        media = data.get("data") if isinstance(data, dict) else None
        info = (media or {}).get("processing_info")
        state = str(info.get("state") or "") if isinstance(info, dict) else "succeeded"
        if state == "failed":
            self.journal.put(key, {"state": "absent"})
            error = info.get("error") if isinstance(info, dict) else None
            message = str((error or {}).get("message") or "") if isinstance(error, dict) else ""
            raise InvalidInput(
                (
                    _("X could not process the video: %(reason)s (format, length or size).")
                    % {"reason": message}
                    if message
                    else _("X could not process the video (format, length or size).")
                ),
                network=self.name,
                code="video_failed",
            )
        if state != "succeeded":
            self.journal.put(key, {**entry, "state": "processing"})
            raise Transient(
                _("X is still processing the video; publishing it in a moment."),
                network=self.name,
                code="video_processing",
            )
        self.journal.put(key, {**entry, "state": "ready"})
        return entry["media_id"]

    def _create(
        self, part: ThreadPart, reply_to: str | None, key: str = "", number: int = 1
    ) -> PublishedRef:
        media_ids = [
            self._upload_video(item, f"{key}#video{number}")
            if item.is_video
            else self._upload(item)
            for item in part.media
        ]
        body: dict[str, Any] = {"text": part.text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        data = self._request("POST", "/2/tweets", action="publishing", write=True, json_body=body)
        post = data.get("data") if isinstance(data, dict) else None
        post_id = str((post or {}).get("id") or "")
        if not post_id:
            raise OutcomeUnknown(
                "X accepted the post without saying its id.", network=self.name, code="no_id"
            )
        return self._ref(post_id)

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.ensure_valid(post)
        known = self._memory.get(idempotency_key)
        if known is not None:
            return known
        refs: list[PublishedRef] = []
        parent = post.in_reply_to
        for number, part in enumerate(post.parts(), start=1):
            try:
                ref = self._create(part, parent, idempotency_key, number)
            except NetworkError as error:
                if refs and not isinstance(error, OutcomeUnknown):
                    # Part of the thread is out: never "nothing happened".
                    raise OutcomeUnknown(
                        f"The thread was cut after {len(refs)} part(s): {error.message}",
                        network=self.name,
                        code=error.code,
                    ) from None
                raise
            refs.append(ref)
            parent = ref.post_id
        result = _chain(refs)
        self._memory.put(idempotency_key, result)
        return result

    def reply(
        self,
        to: InboundItem | str,
        text: str,
        *,
        idempotency_key: str,
        private: bool = False,
    ) -> PublishedRef:
        if private:
            self.require(Capability.REPLY_PRIVATE)
        target = to.message_id if isinstance(to, InboundItem) else to
        return self.publish(OutgoingPost(text, in_reply_to=target), idempotency_key=idempotency_key)

    def delete(self, ref: PublishedRef) -> None:
        for post_id in reversed(ref.all_post_ids):
            try:
                self._request("DELETE", f"/2/tweets/{post_id}", action="deleting the post")
            except NotFound:
                continue

    # -- reconcile ----------------------------------------------------------------------------

    def _own_posts(self, since: datetime) -> tuple[list[dict[str, Any]], bool]:
        """The account's posts since ``since`` (oldest first), and whether all were read."""
        found: list[dict[str, Any]] = []
        token = ""
        start = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for _page in range(_RECONCILE_PAGES):
            query = {"max_results": "100", "start_time": start, "tweet.fields": _TWEET_FIELDS}
            if token:
                query["pagination_token"] = token
            data = self._request(
                "GET",
                f"/2/users/{self.account.account_id}/tweets?{urlencode(query)}",
                action="reading the account's posts",
            )
            found.extend(p for p in (data.get("data") or []) if isinstance(p, dict))
            token = str((data.get("meta") or {}).get("next_token") or "")
            if not token:
                found.sort(key=lambda p: (_parse_time(p.get("created_at")) or since, p.get("id")))
                return found, True
        return found, False

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        known = self._memory.get(idempotency_key)
        if known is not None and known.post_id not in exclude:
            return known
        if post is None:
            raise Ambiguous(
                "X cannot be asked by key, and the post's text is not known: look on X.",
                network=self.name,
            )
        moment = (since or datetime.now(UTC) - _RECONCILE_WINDOW).replace(microsecond=0)
        posts, complete = self._own_posts(moment)
        eligible = [p for p in posts if str(p.get("id")) not in exclude]
        refs: list[PublishedRef] = []
        parent = post.in_reply_to
        for number, part in enumerate(post.parts(), start=1):
            siblings = [p for p in eligible if _replied_to(p) == (parent or None)]
            video_key = (self.journal.get(f"{idempotency_key}#video{number}") or {}).get(
                "media_key", ""
            )
            with_video = [
                p
                for p in siblings
                if video_key and video_key in ((p.get("attachments") or {}).get("media_keys") or [])
            ]
            same = with_video or [
                p for p in siblings if _norm(str(p.get("text"))) == _norm(part.text)
            ]
            if len(same) > 1:
                raise Ambiguous(
                    f"Several posts on the account match part {number}: look on X.",
                    candidates=tuple(self._candidate(p) for p in same[:20]),
                    network=self.name,
                )
            if not same:
                near = [p for p in siblings if _alike(str(p.get("text")), part.text)]
                if near:
                    raise Ambiguous(
                        "A post on the account looks like this one but is not the same: look on X.",
                        candidates=tuple(self._candidate(p) for p in near[:20]),
                        network=self.name,
                    )
                break
            found = same[0]
            refs.append(self._ref(str(found["id"]), _parse_time(found.get("created_at"))))
            parent = refs[-1].post_id
        if not complete:
            raise Ambiguous(
                "Porte-voix could not read the account's posts back to the first attempt: "
                "look on X.",
                network=self.name,
            )
        if not refs:
            return None
        result = _chain(refs)
        if len(refs) == len(post.parts()):
            self._memory.put(idempotency_key, result)
        return result

    def _candidate(self, element: Mapping[str, Any]) -> Candidate:
        post_id = str(element.get("id") or "")
        return Candidate(
            post_id=post_id,
            url=self._ref(post_id).url,
            text=str(element.get("text") or "")[:500],
            created_at=_parse_time(element.get("created_at")),
        )

    # -- inbound ------------------------------------------------------------------------------

    def _items(self, data: Any, kind_for: Any) -> list[InboundItem]:
        users = {
            str(u.get("id")): u
            for u in ((data.get("includes") or {}).get("users") or [])
            if isinstance(u, dict)
        }
        items: list[InboundItem] = []
        own = self.account.account_id
        for post in data.get("data") or []:
            if not isinstance(post, dict) or str(post.get("author_id")) == own:
                continue
            user = users.get(str(post.get("author_id")), {})
            metrics = user.get("public_metrics") or {}
            username = str(user.get("username") or post.get("author_id") or "")
            items.append(
                InboundItem(
                    network=self.name,
                    message_id=str(post["id"]),
                    kind=kind_for(post),
                    author=Author(
                        id=str(post.get("author_id") or ""),
                        handle=f"@{username}",
                        display_name=str(user.get("name") or ""),
                        url=f"https://x.com/{username}",
                        avatar_url=str(user.get("profile_image_url") or ""),
                        followers=metrics.get("followers_count")
                        if isinstance(metrics.get("followers_count"), int)
                        else None,
                    ),
                    text=str(post.get("text") or ""),
                    created_at=_parse_time(post.get("created_at")) or datetime.now(UTC),
                    in_reply_to=_replied_to(post),
                    thread_id=str(post.get("conversation_id") or "") or None,
                    url=f"https://x.com/{username}/status/{post['id']}",
                )
            )
        return items

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Mentions of the account (replies to its posts are ``comment``), newest since the
        cursor (X's ``since_id``)."""
        query = {
            "max_results": "100",
            "tweet.fields": _TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,name,profile_image_url,public_metrics",
        }
        if since_cursor and since_cursor.isdigit():
            query["since_id"] = since_cursor
        data = self._request(
            "GET",
            f"/2/users/{self.account.account_id}/mentions?{urlencode(query)}",
            action="reading mentions",
        )
        own = self.account.account_id

        def kind(post: Mapping[str, Any]) -> InboundKind:
            return (
                InboundKind.COMMENT
                if str(post.get("in_reply_to_user_id") or "") == own
                else InboundKind.MENTION
            )

        items = self._items(data, kind)
        items.sort(key=lambda item: (item.created_at, int(item.message_id)))
        newest = str((data.get("meta") or {}).get("newest_id") or "") or since_cursor
        return InboundBatch(items=tuple(items), next_cursor=newest)

    def fetch_replies(self, post_id: str) -> InboundBatch:
        """Replies in the post's conversation (recent search: the last 7 days)."""
        query = {
            "query": f"conversation_id:{post_id}",
            "max_results": "100",
            "tweet.fields": _TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,name,profile_image_url,public_metrics",
        }
        data = self._request(
            "GET", f"/2/tweets/search/recent?{urlencode(query)}", action="reading replies"
        )
        items = self._items(data, lambda post: InboundKind.COMMENT)
        items.sort(key=lambda item: (item.created_at, int(item.message_id)))
        return InboundBatch(items=tuple(items))

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        snapshots: dict[str, MetricSnapshot] = {}
        ids = [r.post_id for r in refs]
        for start in range(0, len(ids), 100):
            query = {"ids": ",".join(ids[start : start + 100]), "tweet.fields": "public_metrics"}
            data = self._request("GET", f"/2/tweets?{urlencode(query)}", action="reading metrics")
            for post in data.get("data") or []:
                counts = post.get("public_metrics") or {}
                snapshots[str(post["id"])] = MetricSnapshot(
                    network=self.name,
                    post_id=str(post["id"]),
                    taken_at=datetime.now(UTC),
                    likes=int(counts.get("like_count") or 0),
                    reposts=int(counts.get("retweet_count") or 0),
                    replies=int(counts.get("reply_count") or 0),
                    quotes=int(counts.get("quote_count") or 0),
                    views=int(counts["impression_count"])
                    if isinstance(counts.get("impression_count"), int)
                    else None,
                    extra={"bookmarks": int(counts.get("bookmark_count") or 0)},
                )
        return [snapshots[i] for i in ids if i in snapshots]

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The followers now, from the account's ``public_metrics``."""

        def followers() -> int | None:
            data = self._request(
                "GET", "/2/users/me?user.fields=public_metrics", action="reading the followers"
            )
            user = data.get("data") if isinstance(data, dict) else None
            counts = (user or {}).get("public_metrics") if isinstance(user, dict) else None
            value = (counts or {}).get("followers_count") if isinstance(counts, dict) else None
            return value if isinstance(value, int) else None

        return AccountMetrics(
            network=self.name,
            taken_at=datetime.now(UTC),
            since=since,
            followers=self._figure("followers", followers),
        )


def _fields(**values: str) -> dict[str, tuple[None, str]]:
    """Form fields sent as ``multipart/form-data`` (as X's media upload takes them)."""
    return {name: (None, value) for name, value in values.items()}


def _replied_to(post: Mapping[str, Any]) -> str | None:
    for ref in post.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to":
            return str(ref.get("id"))
    return None


def _alike(a: str, b: str) -> bool:
    x, y = _norm(a).casefold(), _norm(b).casefold()
    return bool(x and y) and (x[:40] == y[:40] or x in y or y in x)


def _chain(refs: Sequence[PublishedRef]) -> PublishedRef:
    first = refs[0]
    return replace(first, thread=tuple(refs[1:]))


def _token_call(
    client: httpx.Client, api_url: str, form: Mapping[str, str], client_id: str, secret: str
) -> dict[str, Any]:
    """POST to X's token endpoint (a confidential app authenticates with HTTP Basic)."""
    url = f"{api_url.rstrip('/')}/2/oauth2/token"
    try:
        if secret:
            auth = httpx.BasicAuth(client_id, secret)
            response = client.post(url, data=dict(form), auth=auth)
        else:
            response = client.post(url, data=dict(form))
    except httpx.HTTPError:
        raise Transient(
            "Could not reach X to get a token.", network="x", code="connection"
        ) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 429:
        raise RateLimited(
            "X asks to wait before asking for a token again.",
            reset_at=parse_reset(response.headers.get("x-rate-limit-reset"))
            or datetime.now(UTC) + timedelta(minutes=15),
            network="x",
            code="429",
        )
    if response.status_code >= 500:
        raise Transient("X is unavailable.", network="x", code=str(response.status_code))
    if response.status_code >= 400 or not isinstance(data, dict) or not data.get("access_token"):
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        raise AuthExpired(
            "X refused the authorisation"
            + (f" ({error})" if error and len(error) < 60 else "")
            + ": check the app's Client ID and secret and its callback URL, then start again.",
            network="x",
            code=error or str(response.status_code),
        )
    return data


def _token_values(data: Mapping[str, Any]) -> dict[str, str | None]:
    values: dict[str, str | None] = {"access_token": str(data["access_token"])}
    expires_in = data.get("expires_in")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool):
        values["expires_at"] = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat()
    refresh = data.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        values["refresh_token"] = refresh
    return values


__all__ = ["DEFAULT_API_URL", "DEFAULT_AUTH_URL", "XNetwork", "weighted_length"]
