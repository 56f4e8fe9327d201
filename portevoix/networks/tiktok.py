"""TikTok: videos and photo posts through the Content Posting API (Direct Post), over httpx.

TikTok publishes no maintained Python client for its v2 API (``python-tiktok`` wraps the
business/ads API, not Content Posting), so this module speaks it with httpx; see
``docs/adr/1105-tiktok.md``. What it does, in the API's words:

- **connect**: Login Kit v2 (``www.tiktok.com/v2/auth/authorize/``, then the token endpoint
  ``open.tiktokapis.com/v2/oauth/token/``) with the company's own TikTok app (``client_key``,
  ``client_secret``). The access token lasts 24 hours, the refresh token 365 days: the module
  renews the access token before it runs out (or after an ``access_token_invalid``) and
  announces the new credentials through ``on_credentials_change``. ``/v2/user/info/`` says who
  the account is.
- **limits**: ``/v2/post/publish/creator_info/query/`` gives the account's privacy options, the
  interactions it turned off and its longest video: ``fetch_limits`` keeps them (the composer
  refuses a video that is too long, or a privacy the account does not offer).
- **publish**: one video, or up to 35 photos. A video goes by ``PULL_FROM_URL`` (TikTok fetches
  Porte-voix's signed public address, :mod:`portevoix.media.public`) when that address is an
  https address on the internet, else by ``FILE_UPLOAD`` (chunked ``PUT`` to the
  ``upload_url``); a domain TikTok has not verified for the app falls back to ``FILE_UPLOAD``.
  Photos only go by ``PULL_FROM_URL`` (``/v2/post/publish/content/init/``, ``media_type=PHOTO``).
  Then ``/v2/post/publish/status/fetch/`` is polled until ``PUBLISH_COMPLETE`` or ``FAILED``.
- **audit**: an app TikTok has not audited may only post ``SELF_ONLY`` ("only me"), from a
  private account: unless the channel says the app is audited (``audited`` = "yes"), every post
  is sent ``SELF_ONLY``, and TikTok's ``unaudited_client_can_only_post_to_private_accounts``
  becomes a refusal that says what to do.
- **exactly once**: TikTok takes no idempotency key. The journal (``Network.journal``, kept with
  the channel) records the attempt *before* ``init`` and the ``publish_id`` the moment ``init``
  answers, before any upload or poll; a later ``publish`` or ``reconcile`` under the same key
  asks TikTok about that ``publish_id`` and never initialises again. An ``init`` whose answer was
  lost (no ``publish_id``) is looked for among the account's videos since the first attempt
  (``/v2/video/list/``, caption compared); that list only shows public videos, so for a private
  post or a photo post nothing found is ``Ambiguous`` (a person looks), never "not there".
- **metrics**: ``/v2/video/query/`` (views, likes, comments, shares) for posts whose public id
  TikTok gave. TikTok's API gives third parties no way to read or answer comments: no inbox.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx

from .base import CredentialsListener, Journal, Network
from .errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NetworkError,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from .i18n import gettext as _
from .i18n import gettext_noop
from .registry import register
from .types import (
    AccountInfo,
    AccountMetric,
    AccountMetrics,
    AuthorizationRequest,
    Candidate,
    Capability,
    Credentials,
    Limits,
    MediaItem,
    MetricSnapshot,
    OutgoingPost,
    PublishedRef,
    Visibility,
)

logger = logging.getLogger(__name__)

#: TikTok's published endpoints; tests (and a deployment behind a proxy) point the class
#: attributes of :class:`TikTokNetwork`, or an instance's ``api_url=``, at another host.
API_URL = "https://open.tiktokapis.com"
AUTH_URL = "https://www.tiktok.com/v2/auth/authorize/"
#: Who the account is, its follower counts, posting, and reading its videos back.
SCOPES = ("user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.list")

PUBLIC = "PUBLIC_TO_EVERYONE"
FRIENDS = "MUTUAL_FOLLOW_FRIENDS"
FOLLOWERS = "FOLLOWER_OF_CREATOR"
ONLY_ME = "SELF_ONLY"
#: What each privacy level is called for a person.
PRIVACY_LABELS: Mapping[str, str] = {
    PUBLIC: gettext_noop("everyone"),
    FRIENDS: gettext_noop("friends (followers they follow back)"),
    FOLLOWERS: gettext_noop("followers"),
    ONLY_ME: gettext_noop("only the account (private)"),
}

#: What each interaction is called for a person.
INTERACTION_LABELS: Mapping[str, str] = {
    "comment": gettext_noop("comments"),
    "duet": gettext_noop("duets"),
    "stitch": gettext_noop("stitches"),
}

#: FILE_UPLOAD rules (media transfer guide): chunks of 5 to 64 MB, the last one takes the rest
#: (up to 128 MB); a video under 5 MB goes in one piece.
CHUNK_BYTES = 10 * 1024 * 1024
MIN_CHUNK_BYTES = 5 * 1024 * 1024
#: An ``upload_url`` works for an hour after ``init``.
UPLOAD_URL_LIFETIME = timedelta(hours=1)
#: Photo posts: a title of at most 90 characters (the first line, when short enough).
PHOTO_TITLE_MAX = 90
MAX_PHOTOS = 35
#: The init endpoints take 6 calls a minute per token.
_RATE_WINDOW = timedelta(minutes=1)
#: TikTok's daily caps (posts per account, users per unaudited app) reset within 24 hours.
_DAILY_WINDOW = timedelta(hours=24)
_TOKEN_MARGIN = timedelta(minutes=5)
#: Videos listed this long before the first attempt still count (clocks differ a little).
_CLOCK_MARGIN = timedelta(minutes=5)
_RECONCILE_WINDOW = timedelta(hours=24)
_LIST_PAGES = 10
_QUERY_BATCH = 20

_FAIL_INPUT = frozenset(
    {
        "file_format_check_failed",
        "duration_check_failed",
        "frame_rate_check_failed",
        "picture_size_check_failed",
    }
)
_AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized", "scope_permission_missed"})
_POST_ID = re.compile(r"/(?:video|photo)/(\d{5,25})")
_PROCESSING = frozenset(
    {"PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD", "SEND_TO_USER_INBOX", "PROCESSING"}
)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def publicly_reachable(url: str) -> bool:
    """Whether TikTok could fetch ``url``: https, on a host name of the internet (not
    ``localhost``, a name without a dot, or a private address)."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return False
    try:
        return ip_address(host).is_global
    except ValueError:
        pass
    if "." not in host or host.endswith((".localhost", ".local", ".internal", ".lan")):
        return False
    return host != "localhost"


#: How much of a video's start is read for its length (the ``mvhd`` box of a web-ready file).
_HEADER_BYTES = 4 * 1024 * 1024


def mp4_seconds(data: bytes) -> float | None:
    """A video's length read from its ``mvhd`` box (MP4, MOV), or None when not found."""
    at = data.find(b"mvhd", 0, _HEADER_BYTES)
    if at < 4:
        return None
    start = at + 4
    try:
        version = data[start]
        if version == 1:
            timescale, duration = struct.unpack(">IQ", data[start + 20 : start + 32])
        else:
            timescale, duration = struct.unpack(">II", data[start + 12 : start + 20])
    except (IndexError, struct.error):
        return None
    if not timescale:
        return None
    return float(duration) / float(timescale)


# -- what TikTok's audit asks of the composer ("Required UX Implementation", Content Posting API
# guidelines: https://developers.tiktok.com/doc/content-sharing-guidelines) -------------------

#: The author's choices for a TikTok post (``OutgoingPost.options``), as the composer sends them.
OPT_PRIVACY = "tiktok_privacy"
OPT_COMMENT = "tiktok_comment"
OPT_DUET = "tiktok_duet"
OPT_STITCH = "tiktok_stitch"
OPT_DISCLOSE = "tiktok_disclose"
OPT_YOUR_BRAND = "tiktok_your_brand"
OPT_BRANDED = "tiktok_branded"
OPT_CONSENT = "tiktok_consent"
OPTION_KEYS = (
    OPT_PRIVACY,
    OPT_COMMENT,
    OPT_DUET,
    OPT_STITCH,
    OPT_DISCLOSE,
    OPT_YOUR_BRAND,
    OPT_BRANDED,
    OPT_CONSENT,
)
#: Where the consent sentence sends the author (TikTok's own pages).
MUSIC_USAGE_URL = "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en"
BRANDED_CONTENT_URL = "https://www.tiktok.com/legal/page/global/bc-policy/en"


@dataclass(frozen=True)
class CreatorInfo:
    """``/v2/post/publish/creator_info/query/``: who will post, and what they allow now."""

    nickname: str
    username: str = ""
    avatar_url: str = ""
    privacy_levels: tuple[str, ...] = ()
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False
    max_video_seconds: int | None = None

    @property
    def interactions_disabled(self) -> frozenset[str]:
        return frozenset(
            name
            for name, off in (
                ("comment", self.comment_disabled),
                ("duet", self.duet_disabled),
                ("stitch", self.stitch_disabled),
            )
            if off
        )


def _on(options: Mapping[str, str], key: str) -> bool:
    return str(options.get(key) or "").lower() in {"on", "yes", "true", "1"}


def audit_problems(
    options: Mapping[str, str],
    *,
    privacy_levels: frozenset[str] | None,
    interactions_disabled: frozenset[str] = frozenset(),
    photos: bool = False,
) -> list[str]:
    """What TikTok's required posting choices lack or break, in the active language: a privacy
    level the author chose among the creator's (no default), no interaction the creator turned
    off, a commercial disclosure that says which, branded content not private, and the author's
    consent to TikTok's Music Usage Confirmation (and Branded Content Policy)."""
    problems: list[str] = []
    privacy = str(options.get(OPT_PRIVACY) or "")
    if not privacy:
        problems.append(_("TikTok: choose who can see the post (there is no default)."))
    elif privacy_levels is not None and privacy not in privacy_levels:
        problems.append(
            _("TikTok: this account cannot post to %(level)s.")
            % {"level": _(PRIVACY_LABELS.get(privacy, privacy))}
        )
    wanted = {"comment": OPT_COMMENT, "duet": OPT_DUET, "stitch": OPT_STITCH}
    for name, key in wanted.items():
        if photos and name != "comment":
            continue
        if name in interactions_disabled and _on(options, key):
            problems.append(
                _("TikTok: the account turned off %(interaction)s; it cannot be allowed here.")
                % {"interaction": _(INTERACTION_LABELS[name])}
            )
    branded = _on(options, OPT_BRANDED)
    if _on(options, OPT_DISCLOSE) and not (branded or _on(options, OPT_YOUR_BRAND)):
        problems.append(
            _(
                "TikTok: you said the post promotes a brand, a product or a service: say whose "
                "(your brand, branded content, or both)."
            )
        )
    if branded and privacy == ONLY_ME:
        problems.append(
            _("TikTok: branded content cannot be private (only me): choose another audience.")
        )
    if not _on(options, OPT_CONSENT):
        problems.append(
            _(
                "TikTok: confirm that you agree to TikTok's Music Usage Confirmation (and "
                "Branded Content Policy for branded content) before posting."
            )
        )
    return problems


#: TikTok's privacy levels, as its API names them.
PRIVACY_LEVELS = (PUBLIC, FRIENDS, FOLLOWERS, ONLY_ME)
#: The author's choices as TikTok's Content Posting API names them (``post_info``), for the
#: ways in outside the composer (Porte-voix's API, the CLI, the import). Two are not TikTok's:
#: ``disclose_commercial_content`` (the guidelines' "Disclose video content" switch; implied
#: by either brand toggle) and ``consent`` (the author agrees to TikTok's Music Usage
#: Confirmation, and Branded Content Policy for branded content).
POST_INFO_FIELDS = (
    "privacy_level",
    "disable_comment",
    "disable_duet",
    "disable_stitch",
    "disclose_commercial_content",
    "brand_organic_toggle",
    "brand_content_toggle",
    "consent",
)


def options_from_post_info(info: Mapping[str, Any]) -> dict[str, str]:
    """The composer's options (``OPT_*``, ``"on"``) from choices named as in TikTok's API.

    An interaction is allowed only when ``disable_<name>`` is ``False``: left out, it stays
    off, as the composer's unticked box (TikTok's guidelines: nothing allowed by default)."""
    organic = info.get("brand_organic_toggle") is True
    branded = info.get("brand_content_toggle") is True
    options = {
        OPT_PRIVACY: str(info.get("privacy_level") or ""),
        OPT_COMMENT: "on" if info.get("disable_comment") is False else "",
        OPT_DUET: "on" if info.get("disable_duet") is False else "",
        OPT_STITCH: "on" if info.get("disable_stitch") is False else "",
        OPT_DISCLOSE: "on"
        if (info.get("disclose_commercial_content") is True or organic or branded)
        else "",
        OPT_YOUR_BRAND: "on" if organic else "",
        OPT_BRANDED: "on" if branded else "",
        OPT_CONSENT: "on" if info.get("consent") is True else "",
    }
    return {key: value for key, value in options.items() if value}


def post_info_from_options(options: Mapping[str, str]) -> dict[str, Any]:
    """The author's choices named as in TikTok's API (the other way from
    :func:`options_from_post_info`); ``privacy_level`` is ``None`` when not chosen."""
    disclose = _on(options, OPT_DISCLOSE)
    return {
        "privacy_level": str(options.get(OPT_PRIVACY) or "") or None,
        "disable_comment": not _on(options, OPT_COMMENT),
        "disable_duet": not _on(options, OPT_DUET),
        "disable_stitch": not _on(options, OPT_STITCH),
        "disclose_commercial_content": disclose,
        "brand_organic_toggle": disclose and _on(options, OPT_YOUR_BRAND),
        "brand_content_toggle": disclose and _on(options, OPT_BRANDED),
        "consent": _on(options, OPT_CONSENT),
    }


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) for a FILE_UPLOAD of ``size`` bytes, as TikTok counts:
    the last chunk takes the remainder."""
    if size < MIN_CHUNK_BYTES:
        return size, 1
    return CHUNK_BYTES, max(1, size // CHUNK_BYTES)


@register
class TikTokNetwork(Network):
    name: ClassVar[str] = "tiktok"
    label: ClassVar[str] = "TikTok"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.VISIBILITY,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.TOKEN_REFRESH,
            Capability.OAUTH,
        }
    )
    #: ``follower_count`` of ``/v2/user/info/`` (scope ``user.info.stats``;
    #: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info). No profile visits.
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(
        {AccountMetric.FOLLOWERS}
    )
    # Content Posting API and media transfer guide: a caption of 2,200 characters (UTF-16
    # units); photos JPEG or WebP up to 20 MB, 35 per post; videos MP4, WebM or MOV up to 4 GB.
    limits: Limits = Limits(
        max_text_length=2200,
        max_images=MAX_PHOTOS,
        max_image_bytes=20 * 1024 * 1024,
        max_video_bytes=4 * 1024**3,
        image_mime_types=frozenset({"image/jpeg", "image/webp"}),
        video_mime_types=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("client_key", "client_secret", "refresh_token")
    #: What the OAuth start page asks for: the company's own TikTok app, and its audit.
    oauth_fields: ClassVar[tuple[str, ...]] = ("client_key", "client_secret", "audited")
    optional_credential_fields: ClassVar[frozenset[str]] = frozenset({"audited"})
    uses_journal: ClassVar[bool] = True
    #: A lost init can take minutes of processing (and moderation) before the video is listed.
    settle_seconds: ClassVar[float | None] = 300.0
    default_timeout: ClassVar[float] = 60.0

    api_url: ClassVar[str] = API_URL
    auth_url: ClassVar[str] = AUTH_URL

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        journal: Journal | None = None,
        api_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        media_url: Callable[[MediaItem], str] | None = None,
        clock: Callable[[], datetime] | None = None,
        poll_attempts: int = 5,
        poll_interval: float = 3.0,
    ) -> None:
        super().__init__(
            timeout=timeout,
            on_credentials_change=on_credentials_change,
            limits=limits,
            journal=journal,
        )
        self._api_url = (api_url or type(self).api_url).rstrip("/")
        self._http = httpx.Client(timeout=self.timeout, transport=transport)
        #: Where an item without ``public_url`` can be fetched (plain Python use, tests).
        self._media_url = media_url
        self._now = clock or _now
        self._poll_attempts = max(1, poll_attempts)
        self._poll_interval = poll_interval
        self._lock = threading.RLock()

    # -- tokens -------------------------------------------------------------------------------

    @property
    def audited(self) -> bool:
        """Whether TikTok audited the app (only then may its posts be seen by others)."""
        return self.credentials.get("audited") == "yes"

    def _access_token(self) -> str:
        credentials = self.credentials
        token = credentials.get("access_token")
        expires = _time(credentials.get("expires_at"))
        if not token or (expires is not None and expires - _TOKEN_MARGIN <= self._now()):
            token = self.refresh_credentials().get("access_token")
        return token

    def refresh_credentials(self) -> Credentials:
        """Trade the refresh token for a new access token (24 h); announce the new credentials.

        TikTok may hand out a new refresh token too: the new one is kept.
        """
        credentials = self.credentials
        if not credentials.get("refresh_token") or not credentials.get("client_key"):
            raise AuthExpired(
                "This TikTok account has no refresh token: reconnect it.",
                network=self.name,
                code="no_refresh_token",
            )
        data = self._token_call(
            self._http,
            self._api_url,
            {
                "client_key": credentials.get("client_key"),
                "client_secret": credentials.get("client_secret"),
                "grant_type": "refresh_token",
                "refresh_token": credentials.get("refresh_token"),
            },
        )
        updated = credentials.replace(**self._token_values(data, self._now()))
        self._credentials_changed(updated)
        return updated

    @staticmethod
    def _token_values(data: Mapping[str, Any], now: datetime) -> dict[str, str]:
        values = {
            "access_token": str(data["access_token"]),
            "expires_at": _iso(now + timedelta(seconds=_int(data.get("expires_in")) or 86400)),
        }
        if data.get("refresh_token"):
            values["refresh_token"] = str(data["refresh_token"])
            seconds = _int(data.get("refresh_expires_in")) or 31_536_000
            values["refresh_expires_at"] = _iso(now + timedelta(seconds=seconds))
        if data.get("open_id"):
            values["open_id"] = str(data["open_id"])
        return values

    @classmethod
    def _token_call(
        cls, http: httpx.Client, api_url: str, form: Mapping[str, str]
    ) -> dict[str, Any]:
        """POST to TikTok's token endpoint; its refusals become ``AuthExpired``."""
        try:
            response = http.post(
                f"{api_url}/v2/oauth/token/",
                data=dict(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.HTTPError:
            raise Transient(
                "TikTok's sign-in service did not answer; trying again later.",
                network=cls.name,
                code="token_unreachable",
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 429:
            raise RateLimited(
                "TikTok's sign-in service asks to slow down.",
                reset_at=_now() + _RATE_WINDOW,
                network=cls.name,
                code="rate_limit_exceeded",
            )
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        if response.status_code >= 500 or error in {"server_error", "temporarily_unavailable"}:
            raise Transient(
                "TikTok's sign-in service is unavailable; trying again later.",
                network=cls.name,
                code=error or str(response.status_code),
            )
        if (
            response.status_code != 200
            or not isinstance(data, dict)
            or not data.get("access_token")
        ):
            raise AuthExpired(
                "TikTok refused the account's authorisation (revoked, expired, or given to "
                "another app): reconnect the TikTok account.",
                network=cls.name,
                code=(error or str(response.status_code))[:60],
            )
        return data

    # -- calls --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        write: bool = False,
        action: str,
    ) -> dict[str, Any]:
        """One call of the v2 API; answers ``data``, or raises the typed error.

        An ``access_token_invalid`` renews the token once and calls again (a refused call was
        not carried out).
        """
        with self._lock:
            for attempt in (1, 2):
                token = self._access_token()
                headers = {"Authorization": f"Bearer {token}"}
                if body is not None or method == "POST":
                    headers["Content-Type"] = "application/json; charset=UTF-8"
                try:
                    response = self._http.request(
                        method,
                        self._api_url + path,
                        params=dict(params or {}),
                        json=body,
                        headers=headers,
                    )
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    raise Transient(
                        f"TikTok could not be reached while {action}; trying again later.",
                        network=self.name,
                        code="unreachable",
                    ) from None
                except httpx.HTTPError as error:
                    if write:
                        raise OutcomeUnknown(
                            f"The answer from TikTok was lost while {action}; it may have "
                            "accepted the request: Porte-voix checks before anything else.",
                            network=self.name,
                            code=type(error).__name__,
                        ) from None
                    raise Transient(
                        f"TikTok did not answer while {action}; trying again later.",
                        network=self.name,
                        code=type(error).__name__,
                    ) from None
                try:
                    payload = response.json()
                except ValueError:
                    payload = {}
                payload = payload if isinstance(payload, dict) else {}
                error_body = payload.get("error") if isinstance(payload.get("error"), dict) else {}
                code = str((error_body or {}).get("code") or "")
                message = str((error_body or {}).get("message") or "")
                if response.status_code < 300 and code in ("", "ok"):
                    data = payload.get("data")
                    return data if isinstance(data, dict) else {}
                if code == "access_token_invalid" and attempt == 1:
                    self.refresh_credentials()
                    continue
                raise self._error(response.status_code, code, message, write=write, action=action)
            raise AssertionError("unreachable")  # pragma: no cover

    def _error(
        self, status: int, code: str, message: str, *, write: bool, action: str
    ) -> NetworkError:
        now = self._now()
        code = code or str(status)
        if code in _AUTH_CODES or status == 401:
            text = (
                _("TikTok no longer accepts the account's authorisation: reconnect it.")
                if code == "access_token_invalid" or code == "401"
                else _(
                    "The TikTok account was connected without a permission Porte-voix needs "
                    "(posting, or reading the account): reconnect it and allow them all."
                )
            )
            return AuthExpired(text, network=self.name, code=code)
        if code == "rate_limit_exceeded" or status == 429:
            return RateLimited(
                _("TikTok asks to slow down (6 posts a minute per account at most)."),
                reset_at=now + _RATE_WINDOW,
                network=self.name,
                code=code,
            )
        if code in {"spam_risk_too_many_posts", "spam_risk_too_many_pending_share"}:
            return RateLimited(
                _("The account has posted as many times as TikTok allows in a day; waiting."),
                reset_at=now + _DAILY_WINDOW,
                network=self.name,
                code=code,
            )
        if code == "reached_active_user_cap":
            return RateLimited(
                _(
                    "The TikTok app is not audited, and TikTok lets such an app post for at most "
                    "5 accounts a day: waiting (an audited app has no such cap)."
                ),
                reset_at=now + _DAILY_WINDOW,
                network=self.name,
                code=code,
            )
        if code == "unaudited_client_can_only_post_to_private_accounts":
            return Permanent(
                _(
                    "TikTok has not audited this app: it may only post from a private TikTok "
                    "account, seen by the account alone. Make the account private in TikTok, or "
                    "have the app audited by TikTok (then tick “audited” when reconnecting)."
                ),
                network=self.name,
                code=code,
            )
        if code == "spam_risk_user_banned_from_posting":
            return Permanent(
                _("TikTok has banned this account from posting for now: see it in TikTok."),
                network=self.name,
                code=code,
            )
        if code in {"spam_risk_text", "spam_risk"}:
            return Permanent(
                _("TikTok refused the post as spam: change its text."),
                network=self.name,
                code=code,
            )
        if code == "privacy_level_option_mismatch":
            return InvalidInput(
                _(
                    "The account does not offer this privacy on TikTok (it changed its "
                    "settings): check the channel's privacy and try again."
                ),
                network=self.name,
                code=code,
            )
        if code == "url_ownership_unverified":
            return Permanent(
                _(
                    "TikTok fetches photos from Porte-voix's public address, and that domain is "
                    "not verified for the TikTok app: verify it in the app's settings on "
                    "developers.tiktok.com."
                ),
                network=self.name,
                code=code,
            )
        if code in {"invalid_file_upload", "invalid_params", "invalid_param"} or status in (
            400,
            413,
            422,
        ):
            return InvalidInput(
                _("TikTok refused it: %(reason)s.") % {"reason": message or code},
                network=self.name,
                code=code,
            )
        if status >= 500 or code == "internal_error":
            if write:
                return OutcomeUnknown(
                    _(
                        "TikTok failed (%(status)s) while %(action)s; it may have accepted it: "
                        "Porte-voix checks before anything else."
                    )
                    % {"status": status, "action": _(action)},
                    network=self.name,
                    code=code,
                )
            return Transient(
                _("TikTok is unavailable (%(status)s); trying again later.") % {"status": status},
                network=self.name,
                code=code,
            )
        return Permanent(
            _("TikTok refused it: %(reason)s.") % {"reason": message or code},
            network=self.name,
            code=code,
        )

    # -- account ------------------------------------------------------------------------------

    def connect(self, credentials: Credentials) -> AccountInfo:
        if not credentials.get("access_token") and not credentials.get("refresh_token"):
            raise AuthExpired(
                "The TikTok account's authorisation is incomplete: reconnect it.",
                network=self.name,
                code="missing_token",
            )
        with self._lock:
            previous = self._credentials
            self._credentials = credentials
            try:
                data = self._call(
                    "GET",
                    "/v2/user/info/",
                    params={"fields": "open_id,avatar_url,display_name,username,profile_deep_link"},
                    action="reading the account",
                )
            except NetworkError:
                self._credentials = previous
                raise
            bound = self._credentials
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        open_id = str((user or {}).get("open_id") or credentials.get("open_id") or "")
        if not open_id:
            raise Permanent(
                "TikTok answered without the account's id.", network=self.name, code="no_open_id"
            )
        username = str((user or {}).get("username") or "")
        return self._bind(
            bound or credentials,
            AccountInfo(
                network=self.name,
                account_id=open_id,
                handle=f"@{username}" if username else open_id,
                display_name=str((user or {}).get("display_name") or username or open_id),
                url=str((user or {}).get("profile_deep_link") or "")
                or (f"https://www.tiktok.com/@{username}" if username else ""),
                avatar_url=str((user or {}).get("avatar_url") or ""),
            ),
        )

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        self._bind(credentials, account)

    def close(self) -> None:
        self._http.close()

    @classmethod
    def begin_authorization(
        cls,
        instance_url: str,
        redirect_uri: str,
        *,
        state: str,
        app_name: str = "Porte-voix",
        client_key: str = "",
        client_secret: str = "",
        audited: str = "",
    ) -> AuthorizationRequest:
        """TikTok's authorisation page for the company's app (Login Kit v2).

        ``audited`` ("yes") says TikTok audited the app: its posts may then be public.
        """
        client_key = client_key.strip()
        client_secret = client_secret.strip()
        if not client_key or not client_secret:
            raise InvalidInput(
                "Give the client key and client secret of your TikTok app.",
                network=cls.name,
                code="no_client",
            )
        query = urlencode(
            {
                "client_key": client_key,
                "scope": ",".join(SCOPES),
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return AuthorizationRequest(
            url=f"{cls.auth_url}?{query}",
            state=state,
            redirect_uri=redirect_uri,
            client_id=client_key,
            client_secret=client_secret,
            extra={"audited": "yes" if audited == "yes" else ""},
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        now = _now()
        with httpx.Client(timeout=timeout) as http:
            data = cls._token_call(
                http,
                cls.api_url,
                {
                    "client_key": request.client_id,
                    "client_secret": request.client_secret,
                    "code": code,
                    "grant_type": "authorization_code",
                    "redirect_uri": request.redirect_uri,
                },
            )
        if not data.get("refresh_token"):
            raise AuthExpired(
                "TikTok gave no refresh token: connect the account again.",
                network=cls.name,
                code="no_refresh_token",
            )
        granted = set(str(data.get("scope") or "").split(","))
        if "video.publish" not in granted:
            raise AuthExpired(
                "The account was authorised without “post content” (video.publish): connect it "
                "again and allow it, or add Direct Post to the app on developers.tiktok.com.",
                network=cls.name,
                code="scope_not_authorized",
            )
        values = {
            "client_key": request.client_id,
            "client_secret": request.client_secret,
            **cls._token_values(data, now),
        }
        if request.extra.get("audited") == "yes":
            values["audited"] = "yes"
        return Credentials(values)

    # -- limits -------------------------------------------------------------------------------

    def fetch_limits(self) -> Limits:
        """The account's privacy options, turned-off interactions and longest video."""
        data = self._call(
            "POST", "/v2/post/publish/creator_info/query/", action="reading the account's options"
        )
        levels = data.get("privacy_level_options")
        disabled = {
            name for name in ("comment", "duet", "stitch") if data.get(f"{name}_disabled") is True
        }
        return replace(
            type(self).limits,
            max_video_seconds=_int(data.get("max_video_post_duration_sec")),
            privacy_levels=frozenset(str(v) for v in levels) if isinstance(levels, list) else None,
            interactions_disabled=frozenset(disabled),
        )

    def creator_info(self) -> CreatorInfo:
        """Who will post and what they allow right now (TikTok asks apps to read it each time
        the author prepares a post): nickname, privacy levels, turned-off interactions and the
        longest video (https://developers.tiktok.com/doc/content-posting-api-reference-query-
        creator-info)."""
        data = self._call(
            "POST", "/v2/post/publish/creator_info/query/", action="reading the account's options"
        )
        levels = data.get("privacy_level_options")
        return CreatorInfo(
            nickname=str(data.get("creator_nickname") or data.get("creator_username") or ""),
            username=str(data.get("creator_username") or ""),
            avatar_url=str(data.get("creator_avatar_url") or ""),
            privacy_levels=tuple(str(v) for v in levels) if isinstance(levels, list) else (),
            comment_disabled=data.get("comment_disabled") is True,
            duet_disabled=data.get("duet_disabled") is True,
            stitch_disabled=data.get("stitch_disabled") is True,
            max_video_seconds=_int(data.get("max_video_post_duration_sec")),
        )

    # -- compose ------------------------------------------------------------------------------

    def text_length(self, text: str) -> int:
        """TikTok counts a caption in UTF-16 units (an emoji outside the BMP counts twice)."""
        return len(unicodedata.normalize("NFC", text).encode("utf-16-le")) // 2

    def privacy_for(self, visibility: Visibility) -> str:
        """The privacy level asked of TikTok for a post of ``visibility``.

        An app TikTok has not audited may only post ``SELF_ONLY``. A private post is
        ``SELF_ONLY``; a public one goes to everyone, or, on an account that does not offer
        that (a private account), to its followers; the channel may name another level
        (``privacy_level`` in its credentials) when the account offers it.
        """
        if self._credentials is not None and not self.audited:
            return ONLY_ME
        if visibility == Visibility.DIRECT:
            return ONLY_ME
        offered = self.limits.privacy_levels
        chosen = self._credentials.get("privacy_level") if self._credentials else ""
        if chosen and (offered is None or chosen in offered):
            return chosen
        if visibility == Visibility.FOLLOWERS:
            wanted = (FOLLOWERS, FRIENDS)
        elif visibility == Visibility.UNLISTED:
            wanted = (FRIENDS, FOLLOWERS)
        else:
            wanted = (PUBLIC, FOLLOWERS)
        if offered is None:
            return wanted[0]
        for level in wanted:
            if level in offered:
                return level
        return wanted[0]

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        videos = [m for m in post.media if m.is_video]
        if not post.media:
            problems.append(
                _("TikTok needs a video or photos: attach one video, or 1 to 35 photos.")
            )
        elif videos and len(post.media) > 1:
            problems.append(_("On TikTok a video goes alone: one video, or photos, not both."))
        limits = self.limits
        for item in videos:
            if (
                limits.video_mime_types is not None
                and item.mime_type not in limits.video_mime_types
            ):
                problems.append(
                    _("%(name)s: TikTok takes MP4, WebM or MOV videos.") % {"name": item.filename}
                )
            seconds = mp4_seconds(item.head(_HEADER_BYTES))
            if (
                limits.max_video_seconds is not None
                and seconds is not None
                and seconds > limits.max_video_seconds
            ):
                problems.append(
                    _(
                        "%(name)s lasts %(seconds)s seconds; this TikTok account may post videos "
                        "of up to %(max)s seconds."
                    )
                    % {
                        "name": item.filename,
                        "seconds": f"{seconds:.0f}",
                        "max": limits.max_video_seconds,
                    }
                )
        if post.in_reply_to:
            problems.append(_("A TikTok post cannot answer another post."))
        if post.options is not None:
            problems.extend(
                audit_problems(
                    post.options,
                    privacy_levels=limits.privacy_levels,
                    interactions_disabled=limits.interactions_disabled,
                    photos=not videos,
                )
            )
            return problems
        if self._credentials is None or self.audited:
            level = self.privacy_for(post.visibility)
            offered = limits.privacy_levels
            if offered is not None and level not in offered:
                choices = ", ".join(_(PRIVACY_LABELS.get(o, o)) for o in sorted(offered))
                problems.append(
                    _("This TikTok account cannot post to %(level)s; it offers: %(choices)s.")
                    % {"level": _(PRIVACY_LABELS.get(level, level)), "choices": choices}
                )
        return problems

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        match = _POST_ID.search(url or "")
        return match.group(1) if match else None

    # -- publish ------------------------------------------------------------------------------

    def _post_url(self, post_id: str, kind: str) -> str:
        handle = self.account.handle if self._account else ""
        if not post_id.isdigit() or not handle.startswith("@"):
            return self.account.url if self._account else ""
        return (
            f"https://www.tiktok.com/{handle}/{'photo' if kind == 'photo' else 'video'}/{post_id}"
        )

    def _ref_from_entry(self, entry: Mapping[str, str]) -> PublishedRef:
        extra = {k: entry[k] for k in ("publish_id", "privacy", "kind") if entry.get(k)}
        return PublishedRef(
            network=self.name,
            post_id=entry["post_id"],
            url=entry.get("url", ""),
            published_at=_time(entry.get("at")),
            extra=extra,
        )

    def _remember(
        self,
        key: str,
        entry: dict[str, str],
        post_id: str,
        *,
        url: str = "",
        at: datetime | None = None,
    ) -> PublishedRef:
        entry = {
            **entry,
            "state": "done",
            "post_id": post_id,
            "url": url or self._post_url(post_id, entry.get("kind", "video")),
            "at": _iso(at or self._now()),
        }
        self.journal.put(key, entry)
        return self._ref_from_entry(entry)

    def _source_url(self, item: MediaItem) -> str:
        if item.public_url:
            return item.public_url
        if self._media_url is not None:
            return self._media_url(item)
        return ""

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.credentials  # noqa: B018 - AuthExpired before anything else when not connected
        self.ensure_valid(post)
        key = idempotency_key
        entry = dict(self.journal.get(key) or {})
        if entry.get("post_id"):
            return self._ref_from_entry(entry)
        if entry.get("publish_id"):
            # TikTok accepted an init under this key: follow that one, never init again.
            return self._follow(post, key, entry)
        if entry.get("state") == "init":
            raise OutcomeUnknown(
                "An earlier attempt reached TikTok without an answer: Porte-voix checks whether "
                "it was published before sending anything.",
                network=self.name,
                code="unreconciled",
            )
        return self._start(post, key, entry)

    def _start(self, post: OutgoingPost, key: str, entry: dict[str, str]) -> PublishedRef:
        photos = not any(m.is_video for m in post.media)
        privacy = self.privacy_for(post.visibility)
        chosen = str((post.options or {}).get(OPT_PRIVACY) or "")
        if chosen and (self._credentials is None or self.audited):
            privacy = chosen  # the author's own choice among the creator's levels
        if photos:
            urls = [self._source_url(m) for m in post.media]
            if not all(publicly_reachable(u) for u in urls):
                raise InvalidInput(
                    _(
                        "TikTok fetches photos from Porte-voix's public address, and this server "
                        "has none TikTok can reach (PORTEVOIX_BASE_URL must be a public https "
                        "address): post a video instead, or publish from a public server."
                    ),
                    network=self.name,
                    code="no_public_url",
                )
            source = "PULL_FROM_URL"
        else:
            url = self._source_url(post.media[0])
            pull = publicly_reachable(url) and entry.get("pull") != "no"
            source = "PULL_FROM_URL" if pull else "FILE_UPLOAD"
        since = entry.get("since") or _iso(self._now())
        entry = {
            "since": since,
            "state": "init",
            "kind": "photo" if photos else "video",
            "source": source,
            "privacy": privacy,
            **({"pull": "no"} if entry.get("pull") == "no" else {}),
        }
        # Written before init: an answer lost from here on is looked for, never sent blind.
        self.journal.put(key, entry)
        path, body = self._init_body(post, source, privacy, photos)
        try:
            data = self._call("POST", path, body=body, write=True, action="starting the post")
        except OutcomeUnknown:
            raise
        except NetworkError as error:
            # Refused before anything was accepted: nothing to look for.
            self.journal.put(key, {"since": since, "state": "refused", "code": error.code})
            if error.code == "url_ownership_unverified" and not photos:
                # The domain is not verified for the app: the video goes as a file instead.
                return self._start(post, key, {"since": since, "pull": "no"})
            raise
        publish_id = str(data.get("publish_id") or "")
        if not publish_id:
            raise OutcomeUnknown(
                "TikTok answered without the post's id: Porte-voix checks.",
                network=self.name,
                code="no_publish_id",
            )
        entry = {**entry, "state": "accepted", "publish_id": publish_id}
        if source == "FILE_UPLOAD":
            entry["upload_url"] = str(data.get("upload_url") or "")
            entry["upload_until"] = _iso(self._now() + UPLOAD_URL_LIFETIME)
        # The publish_id is durable before any upload or poll.
        self.journal.put(key, entry)
        return self._follow(post, key, entry)

    def _init_body(
        self, post: OutgoingPost, source: str, privacy: str, photos: bool
    ) -> tuple[str, dict[str, Any]]:
        disabled = set(self.limits.interactions_disabled)
        options = post.options
        commercial: dict[str, Any] = {}
        if options is not None:
            # The author's own choices (TikTok's required UX): an interaction goes on only
            # when they allowed it, and the commercial disclosure is sent as they said it.
            for name, key in (("comment", OPT_COMMENT), ("duet", OPT_DUET), ("stitch", OPT_STITCH)):
                if not _on(options, key):
                    disabled.add(name)
            commercial = {
                "brand_content_toggle": _on(options, OPT_DISCLOSE) and _on(options, OPT_BRANDED),
                "brand_organic_toggle": _on(options, OPT_DISCLOSE) and _on(options, OPT_YOUR_BRAND),
            }
        if photos:
            first = post.text.strip().splitlines()[0].strip() if post.text.strip() else ""
            title = first if len(first) <= PHOTO_TITLE_MAX else ""
            return "/v2/post/publish/content/init/", {
                "media_type": "PHOTO",
                "post_mode": "DIRECT_POST",
                "post_info": {
                    "title": title,
                    "description": post.text,
                    "privacy_level": privacy,
                    "disable_comment": "comment" in disabled,
                    "auto_add_music": True,
                    **commercial,
                },
                "source_info": {
                    "source": "PULL_FROM_URL",
                    "photo_cover_index": 0,
                    "photo_images": [self._source_url(m) for m in post.media],
                },
            }
        video = post.media[0]
        source_info: dict[str, Any] = {"source": source}
        if source == "PULL_FROM_URL":
            source_info["video_url"] = self._source_url(video)
        else:
            chunk, count = chunk_plan(video.size)
            source_info.update(video_size=video.size, chunk_size=chunk, total_chunk_count=count)
        return "/v2/post/publish/video/init/", {
            "post_info": {
                "title": post.text,
                "privacy_level": privacy,
                "disable_comment": "comment" in disabled,
                "disable_duet": "duet" in disabled,
                "disable_stitch": "stitch" in disabled,
                **commercial,
            },
            "source_info": source_info,
        }

    def _upload(self, video: MediaItem, key: str, entry: dict[str, str]) -> dict[str, str]:
        """Send the video in chunks to the ``upload_url`` (a PUT per chunk, TikTok's ranges),
        each read from the file as it goes (never whole). The chunks TikTok confirmed are
        journaled: an upload cut midway resumes at the first one it did not confirm."""
        url = entry.get("upload_url", "")
        if not url:
            raise OutcomeUnknown(
                _("TikTok accepted the post without an upload address: Porte-voix checks."),
                network=self.name,
                code="no_upload_url",
            )
        size = video.size
        chunk, count = chunk_plan(size)
        done = int(entry.get("chunks") or 0)
        with video.open() as handle:
            for number in range(done, count):
                first = number * chunk
                last = size - 1 if number == count - 1 else first + chunk - 1
                try:
                    response = self._http.put(
                        url,
                        content=video.read_chunk(handle, first, last + 1),
                        headers={
                            "Content-Type": video.mime_type,
                            "Content-Range": f"bytes {first}-{last}/{size}",
                        },
                    )
                except httpx.HTTPError as error:
                    raise OutcomeUnknown(
                        _("The video's upload to TikTok was cut; Porte-voix checks and goes on."),
                        network=self.name,
                        code=type(error).__name__,
                    ) from None
                if response.status_code not in (200, 201, 206):
                    raise OutcomeUnknown(
                        _(
                            "TikTok refused a piece of the video (%(status)s); Porte-voix "
                            "checks the post before anything else."
                        )
                        % {"status": response.status_code},
                        network=self.name,
                        code=str(response.status_code),
                    )
                entry = {**entry, "chunks": str(number + 1)}
                self.journal.put(key, entry)
        return entry

    def _status(self, publish_id: str) -> dict[str, Any]:
        return self._call(
            "POST",
            "/v2/post/publish/status/fetch/",
            body={"publish_id": publish_id},
            action="asking about the post",
        )

    def _follow(self, post: OutgoingPost | None, key: str, entry: dict[str, str]) -> PublishedRef:
        """Upload what is still to upload, then poll the post's status until it settles.

        TikTok accepted this post: a failure to reach it from here on is ``OutcomeUnknown``;
        a final ``FAILED`` is the definite error it maps to (nothing was published).
        """
        if entry.get("source") == "FILE_UPLOAD" and entry.get("uploaded") != "yes":
            until = _time(entry.get("upload_until"))
            if post is not None and until is not None and until > self._now():
                entry = self._upload(post.media[0], key, entry)
                entry = {**entry, "uploaded": "yes"}
                self.journal.put(key, entry)
        for attempt in range(self._poll_attempts):
            if attempt:
                time.sleep(self._poll_interval)
            try:
                data = self._status(entry["publish_id"])
            except OutcomeUnknown:
                raise
            except NetworkError as error:
                raise OutcomeUnknown(
                    "TikTok accepted the post but its status could not be read "
                    f"({error.message}); Porte-voix checks again.",
                    network=self.name,
                    code=error.code,
                ) from error
            settled = self._settle(key, entry, data)
            if settled is not None:
                return settled
        raise OutcomeUnknown(
            _("TikTok is still processing the post; Porte-voix checks again shortly."),
            network=self.name,
            code="processing",
        )

    def _settle(
        self, key: str, entry: dict[str, str], data: Mapping[str, Any]
    ) -> PublishedRef | None:
        """A ref when the status is final and published; raises when it failed; None while
        TikTok is still at work."""
        status = str(data.get("status") or "")
        if status == "PUBLISH_COMPLETE":
            ids = data.get("publicaly_available_post_id") or data.get("publicly_available_post_id")
            post_id = str(ids[0]) if isinstance(ids, list) and ids else entry["publish_id"]
            return self._remember(key, entry, post_id)
        if status == "FAILED":
            reason = str(data.get("fail_reason") or "failed")
            # Nothing was published under this publish_id: the next attempt may init anew.
            self.journal.put(
                key,
                {
                    "since": entry.get("since", ""),
                    "state": "failed",
                    "failed": entry["publish_id"],
                    "code": reason,
                    **({"pull": "no"} if reason == "video_pull_failed" else {}),
                },
            )
            raise self._failure(reason)
        return None

    def _failure(self, reason: str) -> NetworkError:
        if reason in _FAIL_INPUT:
            return InvalidInput(
                _(
                    "TikTok refused the media (%(reason)s): check its format, length, frame rate "
                    "and size against TikTok's rules."
                )
                % {"reason": reason.replace("_", " ")},
                network=self.name,
                code=reason,
            )
        if reason == "auth_removed":
            return AuthExpired(
                "The account removed Porte-voix's access on TikTok: reconnect it.",
                network=self.name,
                code=reason,
            )
        if reason.startswith("spam_risk"):
            return self._error(403, reason, "", write=False, action="posting")
        if reason == "photo_pull_failed":
            return Permanent(
                _("TikTok could not fetch the photos from Porte-voix's public address."),
                network=self.name,
                code=reason,
            )
        # video_pull_failed (the next attempt uploads the file), internal, publish_cancelled.
        return Transient(
            _("TikTok did not publish the post (%(reason)s); trying again.")
            % {"reason": reason.replace("_", " ")},
            network=self.name,
            code=reason,
        )

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """The post made under this key: by its ``publish_id`` when TikTok gave one, else
        among the account's videos since the first attempt.

        ``None`` also while TikTok is still processing an accepted post: publishing again
        under the same key follows that very ``publish_id`` (it never initialises twice).
        """
        self.credentials  # noqa: B018
        key = idempotency_key
        entry = dict(self.journal.get(key) or {})
        if entry.get("post_id"):
            return None if entry["post_id"] in exclude else self._ref_from_entry(entry)
        if entry.get("publish_id"):
            data = self._status(entry["publish_id"])
            try:
                ref = self._settle(key, entry, data)
            except NetworkError:
                return None  # FAILED: nothing was published; the journal says so now
            if ref is not None and ref.post_id in exclude:
                return None
            return ref
        if entry.get("state") in {"init", "lost"}:
            start = since or _time(entry.get("since"))
            try:
                found = self._find_in_list(post, entry, since=start, exclude=exclude)
            finally:
                if entry.get("state") == "init":
                    # Asked once: from now on the caller (or a person) decides.
                    self.journal.put(key, {**entry, "state": "lost"})
            if found is not None:
                return self._remember(
                    key,
                    {**entry, "state": "lost"},
                    found.post_id,
                    url=found.url,
                    at=found.published_at,
                )
            return None
        return None

    def _list_since(self, since: datetime | None) -> tuple[list[Mapping[str, Any]], bool]:
        """The account's videos made since ``since`` (margin included), newest first, and
        whether the listing reached that far back."""
        floor = (since or self._now() - _RECONCILE_WINDOW) - _CLOCK_MARGIN
        videos: list[Mapping[str, Any]] = []
        cursor: int | None = None
        for _page in range(_LIST_PAGES):
            body: dict[str, Any] = {"max_count": 20}
            if cursor is not None:
                body["cursor"] = cursor
            data = self._call(
                "POST",
                "/v2/video/list/",
                params={"fields": "id,title,video_description,create_time,share_url"},
                body=body,
                action="reading the account's videos",
            )
            for video in data.get("videos") or []:
                if not isinstance(video, dict):
                    continue
                made = _time(video.get("create_time"))
                if made is not None and made < floor:
                    return videos, True
                videos.append(video)
            cursor = _int(data.get("cursor"))
            if not data.get("has_more") or cursor is None:
                return videos, True
        return videos, False

    def _find_in_list(
        self,
        post: OutgoingPost | None,
        entry: Mapping[str, str],
        *,
        since: datetime | None,
        exclude: frozenset[str],
    ) -> PublishedRef | None:
        videos, complete = self._list_since(since)
        eligible = [v for v in videos if str(v.get("id")) not in exclude]

        def candidate(video: Mapping[str, Any], note: str) -> Candidate:
            return Candidate(
                post_id=str(video.get("id")),
                url=str(video.get("share_url") or ""),
                text=str(video.get("video_description") or video.get("title") or "")[:1000],
                created_at=_time(video.get("create_time")),
                note=note,
            )

        if post is None:
            if eligible:
                raise Ambiguous(
                    "Porte-voix cannot tell which of the account's recent TikTok videos is this "
                    "one: look on TikTok.",
                    candidates=tuple(
                        candidate(v, "posted since the first attempt") for v in eligible[:20]
                    ),
                    network=self.name,
                )
            matches: list[Mapping[str, Any]] = []
        else:
            text = _norm(post.text)
            matches = [
                v
                for v in eligible
                if text
                in {_norm(str(v.get("video_description") or "")), _norm(str(v.get("title") or ""))}
            ]
        if len(matches) > 1:
            raise Ambiguous(
                "Several TikTok videos of the account have this caption: look on TikTok.",
                candidates=tuple(candidate(v, "same caption") for v in matches),
                network=self.name,
            )
        if matches:
            video = matches[0]
            return PublishedRef(
                network=self.name,
                post_id=str(video.get("id")),
                url=str(video.get("share_url") or ""),
                published_at=_time(video.get("create_time")),
            )
        if not complete:
            raise Ambiguous(
                "Porte-voix could not read the account's videos back to the first attempt: "
                "look on TikTok.",
                network=self.name,
            )
        if entry.get("privacy") != PUBLIC or entry.get("kind") == "photo":
            raise Ambiguous(
                "TikTok lists only an account's public videos, and this post was private or "
                "made of photos: Porte-voix cannot see whether it was published. Look on TikTok.",
                network=self.name,
            )
        return None

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        """Views, likes, comments and shares of the posts whose public id TikTok gave."""
        self.require(Capability.METRICS)
        ids = [r.post_id for r in refs if r.post_id.isdigit()]
        snapshots: dict[str, MetricSnapshot] = {}
        for start in range(0, len(ids), _QUERY_BATCH):
            data = self._call(
                "POST",
                "/v2/video/query/",
                params={"fields": "id,like_count,comment_count,share_count,view_count"},
                body={"filters": {"video_ids": ids[start : start + _QUERY_BATCH]}},
                action="reading the posts' numbers",
            )
            taken = self._now()
            for video in data.get("videos") or []:
                if not isinstance(video, dict) or not video.get("id"):
                    continue
                video_id = str(video["id"])
                snapshots[video_id] = MetricSnapshot(
                    network=self.name,
                    post_id=video_id,
                    taken_at=taken,
                    likes=_int(video.get("like_count")),
                    replies=_int(video.get("comment_count")),
                    reposts=_int(video.get("share_count")),
                    views=_int(video.get("view_count")),
                )
        return [snapshots[i] for i in ids if i in snapshots]

    def missing_permission(self, error: AuthExpired) -> bool:
        return error.code in {"scope_not_authorized", "scope_permission_missed"}

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The followers now (``user.info.stats``; an account connected without that scope
        gives None, "not offered", and stays connected)."""

        def followers() -> int | None:
            data = self._call(
                "GET",
                "/v2/user/info/",
                params={"fields": "open_id,follower_count"},
                action="reading the followers",
            )
            user = data.get("user")
            value = user.get("follower_count") if isinstance(user, dict) else None
            return value if isinstance(value, int) else None

        return AccountMetrics(
            network=self.name,
            taken_at=self._now(),
            since=since,
            followers=self._figure("followers", followers),
        )


__all__ = [
    "API_URL",
    "AUTH_URL",
    "OPTION_KEYS",
    "SCOPES",
    "CreatorInfo",
    "TikTokNetwork",
    "audit_problems",
    "chunk_plan",
    "mp4_seconds",
    "publicly_reachable",
]
