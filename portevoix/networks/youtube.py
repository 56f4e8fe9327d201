"""YouTube (Data API v3): videos with a title, a description and a privacy, comments, metrics.

What it does, in the API's words:

- **connect**: Google OAuth 2.0 (authorisation code, ``access_type=offline``, PKCE), with the
  OAuth client (``client_id``, ``client_secret``) of the company's own Google Cloud project.
  The refresh token renews the one-hour access token before it runs out (or after a 401);
  every renewal is announced through ``on_credentials_change``. ``channels.list(mine=true)``
  says which channel the token belongs to.
- **publish**: one video per post, by the resumable upload protocol of ``videos.insert``.
  The first line of the text is the title (at most 100 characters), the rest the description.
  Projects that Google has not audited may only upload private videos (``unaudited`` in the
  credentials, the default): Porte-voix then asks for ``private`` itself and says so.
- **quota**: uploads have a daily bucket of their own (100 by default), every other call
  costs units of the project's daily 10,000. A ledger counts what this process spent per OAuth
  client (the quota belongs to the Google Cloud project), bucket and Pacific-time day, and
  refuses a call that would go over with ``RateLimited`` until Pacific midnight, before sending
  it. ``403 quotaExceeded`` says the same from Google, and marks that bucket's day as spent.
- **reconcile** after a lost upload: first the upload session itself (an empty ``PUT`` asks a
  resumable session whether it completed, and returns the video if it did), then the
  channel's *uploads* playlist read back to the first attempt, matching title and
  description exactly.
- **inbound**: ``commentThreads.list(allThreadsRelatedToChannelId=...)``; replies with
  ``comments.insert`` (to a comment) or ``commentThreads.insert`` (to a video);
  ``comments.setModerationStatus(heldForReview)`` hides one.
- **metrics**: ``videos.list(part=statistics)``: views, likes, comments.

``google-api-python-client`` builds every request from the discovery document it ships
(``static_discovery``) and runs the resumable upload protocol. Its HTTP goes through
:class:`_Transport`, an ``httplib2``-shaped object on ``httpx``: ``httplib2`` sends a request
again, whatever its method, when the server closes the connection before answering, which
would upload a video or post a comment twice. See ``docs/adr/1104-youtube.md``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httplib2
import httpx
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError, ResumableUploadError
from googleapiclient.http import MediaIoBaseUpload

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
from .http import parse_reset
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
    MetricSnapshot,
    OutgoingPost,
    PublishedRef,
    Visibility,
    utc,
)

logger = logging.getLogger(__name__)

#: Google's published endpoints; tests point an instance (``api_root=``, ``token_uri=``) or the
#: class attributes of :class:`YouTubeNetwork` at a fake on loopback.
API_ROOT = "https://youtube.googleapis.com/"
AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URI = "https://oauth2.googleapis.com/token"
#: Read and write the channel's videos and comments (uploads included).
SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"

#: A Google Cloud project's default daily quotas: 10,000 units for most methods, and
#: ``videos.insert`` in a bucket of its own, 100 calls (the quota calculator's page; it once
#: charged an upload 1,600 units of the shared quota).
DAILY_QUOTA = 10_000
DAILY_UPLOADS = 100
#: Bucket and cost of each method, from the API's quota calculator.
COSTS: Mapping[str, tuple[str, int]] = {
    "channels.list": ("units", 1),
    "playlistItems.list": ("units", 1),
    "videos.list": ("units", 1),
    "commentThreads.list": ("units", 1),
    "comments.list": ("units", 1),
    "videos.delete": ("units", 50),
    "commentThreads.insert": ("units", 50),
    "comments.insert": ("units", 50),
    "comments.setModerationStatus": ("units", 50),
    "videos.insert": ("uploads", 1),
}
#: YouTube's quota day starts at midnight, Pacific time.
PACIFIC = ZoneInfo("America/Los_Angeles")
#: Uploads go in pieces of this size (a multiple of 256 KiB, as the protocol asks).
CHUNK_BYTES = 8 * 1024 * 1024
#: Chunks lost within one upload session taken up again at Google's offset, in one attempt.
CHUNK_RETRIES = 3
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
#: An access token is renewed when it has less than this left.
_TOKEN_MARGIN = timedelta(seconds=60)
#: Items added to the uploads playlist this long before the first attempt still count
#: (Google's clock and ours may differ a little); an older twin makes the match ambiguous.
_CLOCK_MARGIN = timedelta(minutes=5)
_RECONCILE_WINDOW = timedelta(hours=24)
_MAX_PAGES = 10
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_ANGLE = re.compile(r"[<>]")

_AUTH_REASONS = frozenset({"authError", "unauthorized", "insufficientPermissions", "forbidden"})
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_INPUT_REASONS = frozenset(
    {
        "invalidTitle",
        "invalidDescription",
        "invalidTags",
        "invalidCategoryId",
        "invalidVideoMetadata",
        "mediaBodyRequired",
        "invalidFilename",
        "defaultLanguageNotSet",
        "invalidPublishAt",
        "invalidRecordingDetails",
        "processingFailure",
        "commentTextTooLong",
        "invalidCommentMetadata",
    }
)


# -- quota ---------------------------------------------------------------------------------------


def next_quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time (when YouTube's quota day starts again), in UTC."""
    local = utc(now).astimezone(PACIFIC)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC).astimezone(UTC)


class Ledger(Protocol):
    """Where a project's daily quota is counted: :class:`QuotaLedger` in this process, or one
    kept in the database that every process shares (``channels.quota.DatabaseLedger``)."""

    def spent(self, project: str, bucket: str, now: datetime) -> int: ...

    def spend(
        self, project: str, bucket: str, units: int, budget: int, now: datetime, *, label: str
    ) -> None: ...

    def exhaust(self, project: str, bucket: str, budget: int, now: datetime) -> None: ...


def quota_day(now: datetime) -> str:
    """The Pacific-time day Google counts a project's quota in (ISO date)."""
    return utc(now).astimezone(PACIFIC).date().isoformat()


def quota_refused(
    label: str, bucket: str, budget: int, spent: int, units: int, now: datetime
) -> RateLimited:
    """The ``RateLimited`` a ledger raises when the day cannot pay ``units``."""
    reset_at = next_quota_reset(now)
    return RateLimited(
        f"{label}: today's quota of {budget} {bucket} for this Google project is "
        f"used up ({max(0, budget - spent)} left, {units} needed); waiting until "
        f"{reset_at:%H:%M} UTC.",
        reset_at=reset_at,
        network="youtube",
        code="quota_budget",
    )


class QuotaLedger:
    """Quota spent per Google Cloud project (its OAuth client id), bucket ("units",
    "uploads") and Pacific-time day.

    Process-wide: every client of the same project in this process counts against one budget
    (the network module alone, and its tests). Channels pass the database's ledger instead
    (``channels.quota.DatabaseLedger``), which every process shares; Google's own
    ``quotaExceeded`` answer is the backstop, and it marks the day as spent in either.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, str, str], int] = {}

    @staticmethod
    def _day(now: datetime) -> str:
        return quota_day(now)

    def spent(self, project: str, bucket: str, now: datetime) -> int:
        with self._lock:
            return self._spent.get((project, bucket, self._day(now)), 0)

    def spend(
        self, project: str, bucket: str, units: int, budget: int, now: datetime, *, label: str
    ) -> None:
        """Count ``units``, or raise ``RateLimited`` (nothing counted) if the day cannot pay."""
        key = (project, bucket, self._day(now))
        with self._lock:
            spent = self._spent.get(key, 0)
            if spent + units > budget:
                raise quota_refused(label, bucket, budget, spent, units, now)
            self._spent[key] = spent + units
            # Forget the days before this one.
            for old in [k for k in self._spent if k[2] < key[2]]:
                del self._spent[old]

    def exhaust(self, project: str, bucket: str, budget: int, now: datetime) -> None:
        """Google said the quota is spent: nothing more from this bucket today."""
        with self._lock:
            key = (project, bucket, self._day(now))
            self._spent[key] = max(self._spent.get(key, 0), budget)


#: The ledger every instance uses unless given another (tests give their own).
LEDGER = QuotaLedger()


# -- transport -----------------------------------------------------------------------------------


class _Transport:
    """What ``googleapiclient`` needs of ``httplib2.Http`` (``request``), on ``httpx``.

    Adds the bearer token, sends each request exactly once, and remembers whether a write's
    body left this machine (``sent_write``), which decides between ``Transient`` and
    ``OutcomeUnknown`` when it fails.
    """

    # googleapiclient reads these two attributes of httplib2.Http.
    redirect_codes = frozenset({300, 301, 302, 303, 307})
    timeout: float | None = None

    def __init__(self, client: httpx.Client, token: Callable[[], str]) -> None:
        self._client = client
        self._token = token
        self.sent_write = False
        self.last_headers: Mapping[str, str] = {}

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        sent = dict(headers or {})
        sent = {k: v for k, v in sent.items() if k.lower() != "content-length"}
        sent["Authorization"] = f"Bearer {self._token()}"
        request = self._client.build_request(method, uri, content=body, headers=sent)
        if method != "GET":
            # From here on the network may receive it: a failure is no longer "nothing sent".
            self.sent_write = True
        response = self._client.send(request)
        self.last_headers = response.headers
        info: dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        info["status"] = str(response.status_code)
        return httplib2.Response(info), response.content

    def close(self) -> None:
        self._client.close()


@functools.cache
def _discovery(api_root: str) -> str:
    """YouTube Data API v3's discovery document (shipped with the SDK), rooted at ``api_root``."""
    text = get_static_doc("youtube", "v3")
    if text is None:  # pragma: no cover - the SDK ships it
        raise RuntimeError("google-api-python-client lacks the YouTube discovery document")
    document = json.loads(text)
    document["rootUrl"] = api_root
    document["baseUrl"] = api_root
    return json.dumps(document)


def _reason(error: HttpError) -> tuple[str, str]:
    """(reason, message) of a Google API error answer."""
    try:
        data = json.loads(error.content or b"{}")
    except ValueError:
        return "", ""
    body = data.get("error") if isinstance(data, dict) else None
    if not isinstance(body, dict):
        return "", ""
    details = body.get("errors") or [{}]
    first = details[0] if isinstance(details, list) and details else {}
    reason = str(first.get("reason") or body.get("status") or "")
    return reason, str(body.get("message") or "")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _lister(resource: str, **params: Any) -> Callable[[Any], Any]:
    """A ``list`` call of one resource, built when ``_call`` runs it."""
    return lambda api: getattr(api, resource)().list(**params)


def split_text(text: str) -> tuple[str, str]:
    """(title, description): the first non-empty line, and what follows it."""
    lines = text.strip().splitlines()
    if not lines:
        return "", ""
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@register
class YouTubeNetwork(Network):
    name: ClassVar[str] = "youtube"
    label: ClassVar[str] = "YouTube"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.VIDEO,
            Capability.VISIBILITY,
            Capability.FIRST_COMMENT,
            Capability.READ_COMMENTS,
            Capability.REPLY_PUBLIC,
            Capability.HIDE_COMMENT,
            Capability.DELETE_POST,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.TOKEN_REFRESH,
            Capability.OAUTH,
        }
    )
    #: The channel's ``statistics.subscriberCount`` (https://developers.google.com/youtube/v3/
    #: docs/channels#statistics; rounded by YouTube, absent when the channel hides it). The
    #: Data API gives no visits of the channel page.
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(
        {AccountMetric.FOLLOWERS}
    )
    #: The description's limit (the title is the first line, at most 100 characters); videos
    #: up to 256 GB (a channel that is not verified: 15 minutes long, which YouTube checks).
    limits: Limits = Limits(
        max_text_length=5000,
        max_images=0,
        max_video_bytes=256 * 1024**3,
        image_mime_types=frozenset(),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token")
    #: What the OAuth start page asks for: the company's own Google OAuth client.
    oauth_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "audited")
    optional_credential_fields: ClassVar[frozenset[str]] = frozenset({"audited"})
    #: The uploads playlist can take a few minutes to show a new video.
    settle_seconds: ClassVar[float | None] = 300.0
    default_timeout: ClassVar[float] = 120.0
    #: The first comment is a step of its own, written to the channel's journal.
    uses_journal: ClassVar[bool] = True
    uses_quota_ledger: ClassVar[bool] = True

    api_root: ClassVar[str] = API_ROOT
    auth_uri: ClassVar[str] = AUTH_URI
    token_uri: ClassVar[str] = TOKEN_URI

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        api_root: str | None = None,
        token_uri: str | None = None,
        ledger: Ledger | None = None,
        clock: Callable[[], datetime] | None = None,
        http: httpx.Client | None = None,
        journal: Journal | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            on_credentials_change=on_credentials_change,
            limits=limits,
            journal=journal,
        )
        self._api_root = api_root or type(self).api_root
        self._token_uri = token_uri or type(self).token_uri
        self._ledger = ledger or LEDGER
        self._now = clock or (lambda: datetime.now(UTC))
        self._http = http or httpx.Client(timeout=self.timeout, follow_redirects=False)
        self._transport = _Transport(self._http, self._access_token)
        self._service: Any = None
        self._lock = threading.RLock()
        self._uploads_playlist = ""
        #: Posts and replies this instance made, by idempotency key.
        self._published: dict[str, PublishedRef] = {}
        #: Resumable upload sessions (address, size) whose last answer was lost, by key.
        self._sessions: dict[str, tuple[str, int]] = {}

    # -- tokens -------------------------------------------------------------------------------

    @property
    def _project(self) -> str:
        return self.credentials.get("client_id")

    @property
    def project(self) -> str:
        """The Google Cloud project the quota belongs to (its OAuth client id)."""
        return self._project

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    def budget(self, bucket: str = "units") -> int:
        return self._budget(bucket)

    def _budget(self, bucket: str) -> int:
        """The project's daily quota (``daily_quota``, ``daily_uploads`` when it has more)."""
        if bucket == "uploads":
            return _int(self.credentials.get("daily_uploads")) or DAILY_UPLOADS
        return _int(self.credentials.get("daily_quota")) or DAILY_QUOTA

    def _spend(self, method: str) -> None:
        bucket, units = COSTS[method]
        self._ledger.spend(
            self._project, bucket, units, self._budget(bucket), self._now(), label=self.label
        )

    @property
    def audited(self) -> bool:
        """Whether Google audited the project (only then may its uploads be public)."""
        return self.credentials.get("audited") == "yes"

    def _access_token(self) -> str:
        credentials = self.credentials
        expires = _time(credentials.get("expires_at"))
        token = credentials.get("access_token")
        if not token or expires is None or expires - _TOKEN_MARGIN <= self._now():
            token = self.refresh_credentials().get("access_token")
        return token

    def refresh_credentials(self) -> Credentials:
        """Trade the refresh token for a new access token; announce the new credentials."""
        credentials = self.credentials
        if not credentials.get("refresh_token"):
            raise AuthExpired(
                "This YouTube channel has no refresh token: reconnect it.",
                network=self.name,
                code="no_refresh_token",
            )
        data = self._token_call(
            self._http,
            self._token_uri,
            {
                "grant_type": "refresh_token",
                "refresh_token": credentials.get("refresh_token"),
                "client_id": credentials.get("client_id"),
                "client_secret": credentials.get("client_secret"),
            },
        )
        updated = credentials.replace(
            access_token=str(data["access_token"]),
            expires_at=self._expiry(data),
            # Google may hand out a new refresh token; keep the old one otherwise.
            refresh_token=str(data.get("refresh_token") or credentials.get("refresh_token")),
        )
        self._credentials_changed(updated)
        return updated

    def _expiry(self, data: Mapping[str, Any]) -> str:
        seconds = _int(data.get("expires_in")) or 3600
        return (self._now() + timedelta(seconds=seconds)).isoformat()

    @classmethod
    def _token_call(cls, http: httpx.Client, uri: str, form: Mapping[str, str]) -> dict[str, Any]:
        """POST to Google's token endpoint; its refusals become ``AuthExpired``."""
        try:
            response = http.post(uri, data=dict(form), headers={"Accept": "application/json"})
        except httpx.HTTPError:
            raise Transient(
                "Google's sign-in service did not answer; trying again later.",
                network=cls.name,
                code="token_unreachable",
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 429:
            raise RateLimited(
                "Google's sign-in service asks to slow down.",
                reset_at=parse_reset(response.headers.get("retry-after")),
                network=cls.name,
                code="429",
            )
        if response.status_code >= 500:
            raise Transient(
                "Google's sign-in service is unavailable; trying again later.",
                network=cls.name,
                code=str(response.status_code),
            )
        if response.status_code != 200 or not isinstance(data, dict) or "access_token" not in data:
            code = str(data.get("error") or response.status_code) if isinstance(data, dict) else ""
            raise AuthExpired(
                "Google refused the channel's authorisation (revoked, expired or for another "
                "OAuth client): reconnect the YouTube channel.",
                network=cls.name,
                code=code[:60],
            )
        return data

    # -- calls --------------------------------------------------------------------------------

    @property
    def api(self) -> Any:
        if self._service is None:
            self.credentials  # noqa: B018 - raises AuthExpired when not connected
            self._service = build_from_document(_discovery(self._api_root), http=self._transport)
        return self._service

    def _call(self, method: str, build: Callable[[Any], Any], *, write: bool = False) -> Any:
        """Spend the quota, run one API call, map every failure to a typed error.

        A 401 renews the token once and tries again (a refused call was not accepted).
        """
        with self._lock:
            self._spend(method)
            for attempt in (1, 2):
                self._transport.sent_write = False
                try:
                    return build(self.api).execute()
                except HttpError as error:
                    if error.resp.status == 401 and attempt == 1:
                        self.refresh_credentials()
                        continue
                    raise self._map_http(error, method, write=write) from None
                except NetworkError:
                    raise
                except Exception as error:
                    raise self._map_other(error, method, write=write) from None
            raise AssertionError("unreachable")  # pragma: no cover

    def _map_http(self, error: HttpError, method: str, *, write: bool) -> NetworkError:
        status = error.resp.status
        reason, message = _reason(error)
        code = reason or str(status)
        now = self._now()
        if reason in _QUOTA_REASONS:
            bucket = COSTS[method.split(":")[0]][0]
            self._ledger.exhaust(self._project, bucket, self._budget(bucket), now)
            return RateLimited(
                _(
                    "The Google project's YouTube quota for today is spent; waiting for it to "
                    "reset at midnight Pacific time."
                ),
                reset_at=next_quota_reset(now),
                network=self.name,
                code=code,
            )
        if status == 429 or reason in _RATE_REASONS:
            reset = parse_reset(self._transport.last_headers.get("retry-after"), now=now)
            return RateLimited(
                _("YouTube asks to slow down."),
                reset_at=reset or now + timedelta(minutes=1),
                network=self.name,
                code=code,
            )
        if reason == "uploadLimitExceeded":
            return RateLimited(
                _("The channel has uploaded as many videos as YouTube allows for now."),
                reset_at=now + timedelta(hours=24),
                network=self.name,
                code=code,
            )
        if status == 401 or reason in _AUTH_REASONS & {"authError", "unauthorized"}:
            return AuthExpired(
                _("YouTube no longer accepts the channel's authorisation: reconnect it."),
                network=self.name,
                code=code,
            )
        if reason == "insufficientPermissions":
            return AuthExpired(
                _(
                    "The channel was authorised without the permission Porte-voix needs: reconnect "
                    "it and allow managing the channel's videos and comments."
                ),
                network=self.name,
                code=code,
            )
        if status == 404 or reason.endswith("NotFound"):
            return NotFound(
                _("YouTube has no such video or comment."), network=self.name, code=code
            )
        if status == 413 or reason in _INPUT_REASONS or (status == 400 and write):
            return InvalidInput(
                _("YouTube refused it: %(reason)s.")
                % {"reason": message or reason or "invalid request"},
                network=self.name,
                code=code,
            )
        if reason == "youtubeSignupRequired":
            return Permanent(
                _("This Google account has no YouTube channel yet: create one on YouTube first."),
                network=self.name,
                code=code,
            )
        if status >= 500:
            if write and self._transport.sent_write and method != "videos.insert:init":
                return OutcomeUnknown(
                    _("YouTube answered %(status)s to a write that it may have accepted.")
                    % {"status": status},
                    network=self.name,
                    code=code,
                )
            return Transient(
                _("YouTube is unavailable (%(status)s); trying again later.") % {"status": status},
                network=self.name,
                code=code,
            )
        return Permanent(
            _("YouTube refused it: %(reason)s.") % {"reason": message or reason or status},
            network=self.name,
            code=code,
        )

    def _map_other(self, error: Exception, method: str, *, write: bool) -> NetworkError:
        if write and self._transport.sent_write:
            return OutcomeUnknown(
                _("The answer from YouTube was lost; it may have accepted the request."),
                network=self.name,
                code=type(error).__name__,
            )
        return Transient(
            _("YouTube could not be reached; trying again later."),
            network=self.name,
            code=type(error).__name__,
        )

    # -- account ------------------------------------------------------------------------------

    def _check_credentials(self, credentials: Credentials) -> None:
        missing = [k for k in self.credential_fields if not credentials.get(k)]
        if missing:
            raise AuthExpired(
                "The YouTube channel's authorisation is incomplete: reconnect it.",
                network=self.name,
                code="missing_" + missing[0],
            )

    def connect(self, credentials: Credentials) -> AccountInfo:
        self._check_credentials(credentials)
        with self._lock:
            previous = self._credentials
            self._credentials = credentials
            try:
                data = self._call(
                    "channels.list",
                    lambda api: api.channels().list(part="snippet,contentDetails", mine=True),
                )
            except NetworkError:
                self._credentials = previous
                raise
        items = data.get("items") or []
        if not items:
            self._credentials = previous
            raise Permanent(
                "This Google account has no YouTube channel: create one on YouTube first.",
                network=self.name,
                code="no_channel",
            )
        channel = items[0]
        snippet = channel.get("snippet") or {}
        playlists = (channel.get("contentDetails") or {}).get("relatedPlaylists") or {}
        self._uploads_playlist = str(playlists.get("uploads") or "")
        handle = str(snippet.get("customUrl") or channel["id"])
        thumbnail = ((snippet.get("thumbnails") or {}).get("default") or {}).get("url", "")
        return self._bind(
            self._credentials or credentials,
            AccountInfo(
                network=self.name,
                account_id=str(channel["id"]),
                handle=handle,
                display_name=str(snippet.get("title") or handle),
                url=f"https://www.youtube.com/channel/{channel['id']}",
                avatar_url=str(thumbnail),
            ),
        )

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        self._check_credentials(credentials)
        self._bind(credentials, account)

    def _uploads(self) -> str:
        """The channel's uploads playlist (``UU`` + the channel id's tail, as YouTube names it)."""
        if not self._uploads_playlist:
            channel_id = self.account.account_id
            self._uploads_playlist = "UU" + channel_id[2:] if channel_id.startswith("UC") else ""
        return self._uploads_playlist

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
        audited: str = "",
    ) -> AuthorizationRequest:
        """The Google consent page for the company's OAuth client (offline access, PKCE).

        ``audited`` ("yes") says Google audited the project: its uploads may be public.
        """
        client_id = client_id.strip()
        client_secret = client_secret.strip()
        if not client_id or not client_secret:
            raise InvalidInput(
                "Give the OAuth client ID and secret of your Google Cloud project.",
                network=cls.name,
                code="no_client",
            )
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": SCOPE,
                "access_type": "offline",
                # Without it Google gives a refresh token only the first time.
                "prompt": "consent",
                "include_granted_scopes": "true",
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return AuthorizationRequest(
            url=f"{cls.auth_uri}?{query}",
            state=state,
            redirect_uri=redirect_uri,
            client_id=client_id,
            client_secret=client_secret,
            extra={"code_verifier": verifier, "audited": "yes" if audited == "yes" else ""},
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        with httpx.Client(timeout=timeout) as http:
            data = cls._token_call(
                http,
                cls.token_uri,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": request.redirect_uri,
                    "client_id": request.client_id,
                    "client_secret": request.client_secret,
                    "code_verifier": request.extra.get("code_verifier", ""),
                },
            )
        if not data.get("refresh_token"):
            raise AuthExpired(
                "Google gave no refresh token: remove Porte-voix from the account's third-party "
                "access, then connect again.",
                network=cls.name,
                code="no_refresh_token",
            )
        expires = datetime.now(UTC) + timedelta(seconds=_int(data.get("expires_in")) or 3600)
        values = {
            "client_id": request.client_id,
            "client_secret": request.client_secret,
            "refresh_token": str(data["refresh_token"]),
            "access_token": str(data["access_token"]),
            "expires_at": expires.isoformat(),
        }
        if request.extra.get("audited") == "yes":
            values["audited"] = "yes"
        return Credentials(values)

    def close(self) -> None:
        self._transport.close()
        self._service = None

    # -- compose ------------------------------------------------------------------------------

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        videos = [m for m in post.media if m.is_video]
        if len(videos) != 1 or len(post.media) != 1:
            problems.append(_("A YouTube post is one video: attach exactly one video."))
        title, description = split_text(post.text)
        if not title:
            problems.append(_("The first line is the video's title: write one."))
        elif len(title) > TITLE_MAX:
            problems.append(
                _("The title (first line) is %(length)s characters long; YouTube allows %(max)s.")
                % {"length": len(title), "max": TITLE_MAX}
            )
        if _ANGLE.search(post.text):
            problems.append(_("YouTube does not take < or > in a title or a description."))
        size = len(description.encode())
        if size > DESCRIPTION_MAX_BYTES:
            problems.append(
                _("The description is %(size)s bytes long; YouTube allows %(max)s.")
                % {"size": size, "max": DESCRIPTION_MAX_BYTES}
            )
        if post.visibility == Visibility.FOLLOWERS:
            problems.append(_("YouTube has no followers-only videos: choose public or private."))
        if post.in_reply_to:
            problems.append(_("A YouTube video cannot answer another post."))
        return problems

    def privacy_for(self, visibility: Visibility) -> str:
        """The privacy Porte-voix asks for: private for a project Google has not audited."""
        if not self.audited:
            return "private"
        return {Visibility.PUBLIC: "public", Visibility.UNLISTED: "unlisted"}.get(
            visibility, "private"
        )

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        match = re.search(r"(?:v=|youtu\.be/|/shorts/|/live/)([A-Za-z0-9_-]{11})", url)
        return match.group(1) if match else None

    # -- publish ------------------------------------------------------------------------------

    def _ref(self, video: Mapping[str, Any], *, asked: str = "") -> PublishedRef:
        video_id = str(video.get("id") or "")
        snippet = video.get("snippet") or {}
        status = video.get("status") or {}
        extra = {"privacy": str(status.get("privacyStatus") or asked)}
        if asked and extra["privacy"] != asked:
            extra["privacy_asked"] = asked
        return PublishedRef(
            network=self.name,
            post_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}",
            published_at=_time(snippet.get("publishedAt")),
            extra=extra,
        )

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.credentials  # noqa: B018 - AuthExpired before anything else when not connected
        self.ensure_valid(post)
        known = self._published.get(idempotency_key)
        if known is None:
            entry = self.journal.get(idempotency_key) or {}
            if entry.get("post_id"):
                known = PublishedRef(
                    network=self.name,
                    post_id=entry["post_id"],
                    url=f"https://www.youtube.com/watch?v={entry['post_id']}",
                    published_at=_time(entry.get("at")),
                )
        if known is None:
            known = self._publish_video(post, idempotency_key)
            self.journal.put(
                idempotency_key,
                {
                    **(self.journal.get(idempotency_key) or {}),
                    "post_id": known.post_id,
                    "at": (known.published_at or self._now()).isoformat(),
                },
            )
        if post.first_comment:
            self._first_comment(known, post.first_comment, idempotency_key)
        return known

    def _first_comment(self, ref: PublishedRef, text: str, key: str) -> None:
        """The channel's comment under its new video (``commentThreads.insert``, 50 units): a
        step of its own. If it fails, the video is out: ``OutcomeUnknown``, and publishing
        again with the key adds the comment (after looking for it), never the video."""
        entry = dict(self.journal.get(key) or {})
        if entry.get("comment_id"):
            return
        try:
            if entry.get("comment_state") == "sending":
                found = self._own_comment(ref.post_id, text)
                if found:
                    self.journal.put(key, {**entry, "comment_state": "done", "comment_id": found})
                    return
            self.journal.put(key, {**entry, "comment_state": "sending"})
            comment = self.reply(ref.post_id, text, idempotency_key=f"{key}#first-comment")
        except NetworkError as error:
            raise OutcomeUnknown(
                f"The video is on YouTube but its first comment failed ({error.message})",
                network=self.name,
                code=error.code or "first_comment",
            ) from error
        self.journal.put(key, {**entry, "comment_state": "done", "comment_id": comment.post_id})

    def _own_comment(self, video_id: str, text: str) -> str:
        data = self._call(
            "commentThreads.list",
            _lister(
                "commentThreads",
                part="snippet",
                videoId=video_id,
                textFormat="plainText",
                maxResults=100,
            ),
        )
        for thread in data.get("items") or []:
            comment = ((thread.get("snippet") or {}).get("topLevelComment")) or {}
            snippet = comment.get("snippet") or {}
            author = (snippet.get("authorChannelId") or {}).get("value")
            said = str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")
            if author == self.account.account_id and said.strip() == text.strip():
                return str(comment.get("id") or thread.get("id") or "")
        return ""

    def _publish_video(self, post: OutgoingPost, idempotency_key: str) -> PublishedRef:
        title, description = split_text(post.text)
        privacy = self.privacy_for(post.visibility)
        snippet: dict[str, Any] = {"title": title, "description": description}
        if post.language:
            snippet["defaultLanguage"] = post.language
            snippet["defaultAudioLanguage"] = post.language
        body = {"snippet": snippet, "status": {"privacyStatus": privacy}}
        video = post.media[0]
        # The file stays where it is: the client reads one chunk at a time from it.
        with video.open() as handle:
            media = MediaIoBaseUpload(
                handle, mimetype=video.mime_type, chunksize=CHUNK_BYTES, resumable=True
            )
            with self._lock:
                self._spend("videos.insert")
                request = self.api.videos().insert(
                    part="snippet,status", body=body, media_body=media
                )
                result = self._upload(request, idempotency_key)
        ref = self._ref(result, asked=privacy)
        self._published[idempotency_key] = ref
        return ref

    def _upload(self, request: Any, key: str) -> Mapping[str, Any]:
        """Run the resumable upload; a 401 on the session's start renews the token once."""
        result: Any = None
        refreshed = False
        chunk_retries = 0
        while result is None:
            self._transport.sent_write = False
            try:
                _, result = request.next_chunk()
            except (HttpError, ResumableUploadError) as error:
                # A session (its address) exists once Google accepted its start.
                started = request.resumable_uri is not None
                if not started and error.resp.status == 401 and not refreshed:
                    refreshed = True
                    self.refresh_credentials()
                    continue
                if not started:
                    # Opening a session creates no video.
                    raise self._map_http(error, "videos.insert:init", write=False) from None
                self._sessions[key] = (request.resumable_uri, request.resumable.size())
                if error.resp.status >= 500 and chunk_retries < CHUNK_RETRIES:
                    # A chunk lost within the session: the next ``next_chunk`` asks Google
                    # where the upload stands (``Content-Range: bytes */size``) and goes on
                    # from its offset (or gets the video, if the chunk did land). One session
                    # makes one video: this cannot post twice.
                    chunk_retries += 1
                    continue
                mapped = self._map_http(error, "videos.insert", write=True)
                if isinstance(mapped, Transient):
                    mapped = OutcomeUnknown(
                        mapped.message + " The video may have been uploaded.",
                        network=self.name,
                        code=mapped.code,
                    )
                raise mapped from None
            except NetworkError:
                raise
            except Exception as error:
                if request.resumable_uri is None:
                    raise self._map_other(error, "videos.insert:init", write=False) from None
                self._sessions[key] = (request.resumable_uri, request.resumable.size())
                raise OutcomeUnknown(
                    "The answer from YouTube was lost during the upload; the video may have "
                    "been uploaded.",
                    network=self.name,
                    code=type(error).__name__,
                ) from None
        self._sessions.pop(key, None)
        return result  # type: ignore[no-any-return]

    # -- reconcile ----------------------------------------------------------------------------

    def _session_result(self, key: str) -> PublishedRef | None:
        """Ask a lost upload's session whether it completed: an empty ``PUT`` with
        ``Content-Range: bytes */size`` answers the video if it did, 308 if not; it sends
        nothing more (the protocol's own resume would send the rest)."""
        session = self._sessions.get(key)
        if session is None:
            return None
        uri, size = session
        with self._lock:
            try:
                response, content = self._transport.request(
                    uri, "PUT", headers={"Content-Range": f"bytes */{size}"}
                )
                video = json.loads(content) if response.status in (200, 201) else None
            except Exception:
                return None
        if not isinstance(video, dict) or not video.get("id"):
            return None
        self._sessions.pop(key, None)
        return self._ref(video)

    def _uploads_since(
        self, since: datetime | None
    ) -> tuple[list[Mapping[str, Any]], bool, datetime]:
        """The uploads playlist's items added since ``since`` (margin included), newest first,
        and whether the listing reached that far back."""
        threshold = utc(since) if since else self._now() - _RECONCILE_WINDOW
        floor = threshold - _CLOCK_MARGIN
        playlist = self._uploads()
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        for _page in range(_MAX_PAGES):
            page_token = token
            data = self._call(
                "playlistItems.list",
                _lister(
                    "playlistItems",
                    part="snippet,contentDetails,status",
                    playlistId=playlist,
                    maxResults=50,
                    pageToken=page_token,
                ),
            )
            reached = False
            for item in data.get("items") or []:
                added = _time((item.get("snippet") or {}).get("publishedAt"))
                if added is not None and added < floor:
                    reached = True
                    break
                items.append(item)
            token = data.get("nextPageToken")
            if reached or not token:
                return items, True, floor
        return items, False, floor

    def _candidate(self, item: Mapping[str, Any], note: str) -> Candidate:
        snippet = item.get("snippet") or {}
        video_id = str((item.get("contentDetails") or {}).get("videoId") or "")
        return Candidate(
            post_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}",
            text=f"{snippet.get('title', '')}\n{snippet.get('description', '')}".strip(),
            created_at=_time(snippet.get("publishedAt")),
            note=note,
        )

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """The video uploaded under this key: by its upload session when this process still has
        it, else among the channel's uploads since the first attempt, by title and description.
        """
        known = self._published.get(idempotency_key)
        if known is not None and known.post_id not in exclude:
            return known
        found = self._session_result(idempotency_key)
        if found is not None and found.post_id not in exclude:
            self._published[idempotency_key] = found
            return found
        items, complete, _ = self._uploads_since(since)
        eligible = [
            i
            for i in reversed(items)  # oldest first
            if str((i.get("contentDetails") or {}).get("videoId") or "") not in exclude
        ]
        if post is None:
            if not eligible and complete:
                return None
            raise Ambiguous(
                "Porte-voix cannot tell which of the channel's recent videos is this one: look "
                "on YouTube.",
                candidates=tuple(
                    self._candidate(i, "uploaded since the first attempt") for i in eligible[:20]
                ),
                network=self.name,
            )
        title, description = split_text(post.text)

        def same(item: Mapping[str, Any]) -> tuple[bool, bool]:
            snippet = item.get("snippet") or {}
            return (
                str(snippet.get("title") or "").strip() == title,
                str(snippet.get("description") or "").strip() == description,
            )

        exact = [i for i in eligible if all(same(i))]
        if len(exact) > 1:
            raise Ambiguous(
                "Several videos on the channel have this title and description: look on YouTube.",
                candidates=tuple(self._candidate(i, "same title and description") for i in exact),
                network=self.name,
            )
        if exact:
            item = exact[0]
            video_id = str((item.get("contentDetails") or {}).get("videoId") or "")
            snippet = item.get("snippet") or {}
            status = item.get("status") or {}
            ref = PublishedRef(
                network=self.name,
                post_id=video_id,
                url=f"https://www.youtube.com/watch?v={video_id}",
                published_at=_time(snippet.get("publishedAt")),
                extra={"privacy": str(status.get("privacyStatus") or "")},
            )
            self._published[idempotency_key] = ref
            return ref
        # Only alike when a non-empty part is the same (many videos have no description).
        near = [i for i in eligible if same(i)[0] or (description and same(i)[1])]
        if near:
            raise Ambiguous(
                "A video on the channel looks like this one but is not the same: look on YouTube.",
                candidates=tuple(self._candidate(i, "same title or description") for i in near),
                network=self.name,
            )
        if not complete:
            raise Ambiguous(
                "Porte-voix could not read the channel's uploads back to the first attempt: "
                "look on YouTube.",
                network=self.name,
            )
        return None

    def delete(self, ref: PublishedRef) -> None:
        self._call("videos.delete", lambda api: api.videos().delete(id=ref.post_id), write=True)

    # -- comments -----------------------------------------------------------------------------

    def _comment_item(
        self, comment: Mapping[str, Any], *, video_id: str, parent: str | None = None
    ) -> InboundItem:
        snippet = comment.get("snippet") or {}
        channel = str((snippet.get("authorChannelId") or {}).get("value") or "")
        name = str(snippet.get("authorDisplayName") or channel)
        comment_id = str(comment.get("id") or "")
        return InboundItem(
            network=self.name,
            message_id=comment_id,
            kind=InboundKind.COMMENT,
            author=Author(
                id=channel or name,
                handle=name,
                display_name=name,
                url=str(snippet.get("authorChannelUrl") or ""),
                avatar_url=str(snippet.get("authorProfileImageUrl") or ""),
            ),
            text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
            created_at=_time(snippet.get("publishedAt")) or self._now(),
            in_reply_to=parent or str(snippet.get("parentId") or "") or video_id,
            thread_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
        )

    def _thread_items(self, thread: Mapping[str, Any]) -> list[InboundItem]:
        snippet = thread.get("snippet") or {}
        video_id = str(snippet.get("videoId") or "")
        top = snippet.get("topLevelComment") or {}
        items = [self._comment_item(top, video_id=video_id)]
        replies = (thread.get("replies") or {}).get("comments") or []
        items += [
            self._comment_item(r, video_id=video_id, parent=str(top.get("id"))) for r in replies
        ]
        return items

    def _own(self, item: InboundItem) -> bool:
        return item.author.id == self.account.account_id

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Comments and replies on the channel's videos since the cursor (a time), oldest first.

        Threads come newest-active first; reading stops at the first one older than the cursor.
        Replies beyond the few a thread carries are read with ``fetch_replies``.
        """
        after = _time(since_cursor) if since_cursor else None
        channel_id = self.account.account_id
        found: list[InboundItem] = []
        token: str | None = None
        for _page in range(_MAX_PAGES):
            page_token = token
            data = self._call(
                "commentThreads.list",
                _lister(
                    "commentThreads",
                    part="snippet,replies",
                    allThreadsRelatedToChannelId=channel_id,
                    order="time",
                    textFormat="plainText",
                    maxResults=100,
                    pageToken=page_token,
                ),
            )
            threads = data.get("items") or []
            older = False
            for thread in threads:
                for item in self._thread_items(thread):
                    if after is not None and item.created_at < after:
                        older = True
                        continue
                    if not self._own(item):
                        found.append(item)
            token = data.get("nextPageToken")
            if older or not token or after is None:
                break
        found.sort(key=lambda i: (i.created_at, i.message_id))
        newest = max((i.created_at for i in found), default=after)
        return InboundBatch(
            items=tuple(found), next_cursor=newest.isoformat() if newest else since_cursor
        )

    def fetch_replies(self, post_id: str) -> InboundBatch:
        """Every comment under one video, replies included (read in full per thread)."""
        items: list[InboundItem] = []
        token: str | None = None
        for _page in range(_MAX_PAGES):
            page_token = token
            data = self._call(
                "commentThreads.list",
                _lister(
                    "commentThreads",
                    part="snippet,replies",
                    videoId=post_id,
                    textFormat="plainText",
                    maxResults=100,
                    pageToken=page_token,
                ),
            )
            for thread in data.get("items") or []:
                listed = self._thread_items(thread)
                total = _int((thread.get("snippet") or {}).get("totalReplyCount")) or 0
                if total > len(listed) - 1:
                    listed = listed[:1] + self._all_replies(str(thread.get("id")), post_id)
                items += [i for i in listed if not self._own(i)]
            token = data.get("nextPageToken")
            if not token:
                break
        items.sort(key=lambda i: (i.created_at, i.message_id))
        return InboundBatch(items=tuple(items))

    def _all_replies(self, parent: str, video_id: str) -> list[InboundItem]:
        replies: list[InboundItem] = []
        token: str | None = None
        for _page in range(_MAX_PAGES):
            page_token = token
            data = self._call(
                "comments.list",
                _lister(
                    "comments",
                    part="snippet",
                    parentId=parent,
                    textFormat="plainText",
                    maxResults=100,
                    pageToken=page_token,
                ),
            )
            replies += [
                self._comment_item(c, video_id=video_id, parent=parent)
                for c in data.get("items") or []
            ]
            token = data.get("nextPageToken")
            if not token:
                break
        return replies

    def reply(
        self,
        to: InboundItem | str,
        text: str,
        *,
        idempotency_key: str,
        private: bool = False,
    ) -> PublishedRef:
        """Answer a comment (in its thread), or comment on a video (given its id)."""
        self.require(Capability.REPLY_PRIVATE if private else Capability.REPLY_PUBLIC)
        self.credentials  # noqa: B018
        known = self._published.get(idempotency_key)
        if known is not None:
            return known
        if not text.strip():
            raise InvalidInput("The answer is empty.", network=self.name, code="empty")
        target = to.message_id if isinstance(to, InboundItem) else to
        video_id = to.thread_id if isinstance(to, InboundItem) else None
        if _VIDEO_ID.match(target) and not isinstance(to, InboundItem):
            data = self._call(
                "commentThreads.insert",
                lambda api: api.commentThreads().insert(
                    part="snippet",
                    body={
                        "snippet": {
                            "videoId": target,
                            "topLevelComment": {"snippet": {"textOriginal": text}},
                        }
                    },
                ),
                write=True,
            )
            comment = (data.get("snippet") or {}).get("topLevelComment") or {}
            video_id = target
        else:
            # A reply's id is "<thread id>.<reply id>": answers go under the thread.
            parent = target.split(".", 1)[0]
            comment = self._call(
                "comments.insert",
                lambda api: api.comments().insert(
                    part="snippet",
                    body={"snippet": {"parentId": parent, "textOriginal": text}},
                ),
                write=True,
            )
        comment_id = str(comment.get("id") or "")
        url = f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else ""
        ref = PublishedRef(
            network=self.name,
            post_id=comment_id,
            url=url,
            published_at=_time((comment.get("snippet") or {}).get("publishedAt")),
        )
        self._published[idempotency_key] = ref
        return ref

    def hide_comment(self, message_id: str) -> None:
        """Hold the comment for review: it leaves the public page, the team can still see it."""
        self._call(
            "comments.setModerationStatus",
            lambda api: api.comments().setModerationStatus(
                id=message_id, moderationStatus="heldForReview"
            ),
            write=True,
        )

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        self.require(Capability.METRICS)
        snapshots: dict[str, MetricSnapshot] = {}
        ids = [r.post_id for r in refs]
        for start in range(0, len(ids), 50):
            chunk = ",".join(ids[start : start + 50])
            data = self._call(
                "videos.list",
                _lister("videos", part="statistics", id=chunk),
            )
            taken = self._now()
            for video in data.get("items") or []:
                stats = video.get("statistics") or {}
                snapshots[str(video.get("id"))] = MetricSnapshot(
                    network=self.name,
                    post_id=str(video.get("id")),
                    taken_at=taken,
                    likes=_int(stats.get("likeCount")),
                    replies=_int(stats.get("commentCount")),
                    views=_int(stats.get("viewCount")),
                )
        return [snapshots[i] for i in ids if i in snapshots]

    def missing_permission(self, error: AuthExpired) -> bool:
        return error.code == "insufficientPermissions"

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The channel's subscribers now (one unit of quota); None when the channel hides
        them (``hiddenSubscriberCount``)."""

        def subscribers() -> int | None:
            data = self._call("channels.list", _lister("channels", part="statistics", mine=True))
            for channel in data.get("items") or []:
                stats = channel.get("statistics") or {}
                if stats.get("hiddenSubscriberCount"):
                    return None
                return _int(stats.get("subscriberCount"))
            return None

        return AccountMetrics(
            network=self.name,
            taken_at=self._now(),
            since=since,
            followers=self._figure("subscribers", subscribers),
        )


__all__ = [
    "COSTS",
    "DAILY_QUOTA",
    "DAILY_UPLOADS",
    "LEDGER",
    "Ledger",
    "QuotaLedger",
    "YouTubeNetwork",
    "next_quota_reset",
    "quota_day",
    "quota_refused",
    "split_text",
]
