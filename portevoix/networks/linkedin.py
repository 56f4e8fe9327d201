"""LinkedIn: a company page (``urn:li:organization:…``) or a member, through httpx.

There is no maintained Python client for LinkedIn's versioned REST API, so this module speaks
it with httpx (see ``docs/adr/1102-linkedin.md``). Every call carries ``LinkedIn-Version``
(``YYYYMM``; LinkedIn sunsets a version about a year after its release: ``DEFAULT_VERSION``
is bumped with Porte-voix, and a channel may name another in its ``api_version`` credential)
and ``X-Restli-Protocol-Version: 2.0.0``.

Credentials: ``access_token`` (60 days), and when connected through OAuth ``expires_at``
(ISO 8601, from ``expires_in``: the channel's expiry warning reads it), ``client_id`` and
``client_secret`` of the LinkedIn app, and ``refresh_token``/``refresh_expires_at`` for the
apps LinkedIn lets refresh (approved partners only). ``organization_id`` (a number) makes the
channel the company page; without it the channel is the member who signed in. ``api_url``
and ``auth_url`` default to LinkedIn's own hosts (tests point them at a loopback fake).

Publishing: the Posts API (``POST /rest/posts``), images first through the Images API
(``initializeUpload``, then a ``PUT`` of the bytes); the new post's URN comes back in the
``x-restli-id`` header. Text is written in LinkedIn's "little text format": its reserved
characters are escaped (an unescaped ``(`` or ``@`` silently cuts a post short) and
``#word`` becomes a hashtag. LinkedIn takes no idempotency key: ``reconcile`` reads the
author's posts back to the first attempt and compares their text (one match is the post,
none is "not published", anything else is ``Ambiguous``). A client also remembers, for its
own life, the key of each post it made or found, so the same key never posts twice through it.

Video: the Videos API (``initializeUpload`` with the file's size gives the video's URN and one
upload address per part; each part is ``PUT`` and its ``ETag`` kept; ``finalizeUpload`` with the
ETags in order; the video's status read until ``AVAILABLE``), then the post with the video's
URN. Each step goes to the channel's **journal** (``uses_journal``) before the next call: the
video's URN and ETags, "finalized", then "sending" before ``POST /rest/posts``. A lost answer is
read back by the video's URN (the author's recent posts whose media is that video; the video's
status after a lost ``finalizeUpload``): the file is never uploaded twice for one key, the post
never made twice.

First comment: after the post, a comment by the author under it (``socialActions/{urn}/
comments``), journaled as a step of its own: a failure once the post is out is
``OutcomeUnknown`` and publishing again with the key adds the comment (looking first for one
already there), never the post.

Comments (Community Management API): ``fetch_replies`` reads ``socialActions/{urn}/comments``;
``fetch_inbound`` reads the comments of the author's recent posts (LinkedIn offers no
notification feed to ordinary apps); ``reply`` comments on a post or answers a comment.
Metrics: ``organizationalEntityShareStatistics`` for a page (impressions, clicks, shares),
``socialMetadata`` for a member's posts (reactions, comments).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

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
from .http import RateBudget, parse_reset
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

#: LinkedIn's API host and OAuth endpoints (tests point them at a loopback fake).
DEFAULT_API_URL = "https://api.linkedin.com"
DEFAULT_AUTH_URL = "https://www.linkedin.com/oauth/v2"
#: The ``LinkedIn-Version`` sent; LinkedIn sunsets each monthly version after about a year.
DEFAULT_VERSION = "202611"
#: Sign in (OpenID Connect) and post as the member.
MEMBER_SCOPES = ("openid", "profile", "w_member_social")
#: A company page: Community Management API (posts, comments, statistics, the page's admins).
ORGANIZATION_SCOPES = (
    "openid",
    "profile",
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
)
# How far back reconcile reads the author's posts (50 a page) before it asks a person.
_PAGE = 50
_RECONCILE_PAGES = 6
_RECONCILE_WINDOW = timedelta(hours=24)
# fetch_inbound reads the comments of this many recent posts.
_INBOUND_POSTS = 10
# Refresh a refreshable token this long before it expires.
_REFRESH_MARGIN = timedelta(minutes=5)
# Keys remembered per client (publish and reconcile results).
_MEMORY = 2000
# Reserved characters of the little text format (escaped with a backslash).
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?#\|([^}]*)\}")
_MENTION_TEMPLATE = re.compile(r"@\[([^\]]*)\]\(urn:li:[^)]*\)")
_ESCAPED = re.compile(r"\\(.)")
_COMMENT_URN = re.compile(r"^urn:li:comment:\((urn:li:[a-zA-Z]+:[^,]+),([^)]+)\)$")
_ORG_ID = re.compile(r"^\d{1,20}$")


def escape_commentary(text: str) -> str:
    """``text`` in LinkedIn's little text format: ``#word`` a hashtag, the rest literal."""
    pieces: list[str] = []
    last = 0
    for match in _HASHTAG.finditer(text):
        pieces.append(_RESERVED.sub(r"\\\1", text[last : match.start()]))
        pieces.append("{hashtag|\\#|" + _RESERVED.sub(r"\\\1", match.group(1)) + "}")
        last = match.end()
    pieces.append(_RESERVED.sub(r"\\\1", text[last:]))
    return "".join(pieces)


def plain_commentary(text: str) -> str:
    """The text a reader sees of a little-text-format ``commentary``."""
    text = _HASHTAG_TEMPLATE.sub(lambda m: "#" + _ESCAPED.sub(r"\1", m.group(1)), text or "")
    text = _MENTION_TEMPLATE.sub(lambda m: m.group(1), text)
    return _ESCAPED.sub(r"\1", text)


def _same_text(a: str, b: str) -> bool:
    return _norm(a) == _norm(b)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _alike(a: str, b: str) -> bool:
    x, y = _norm(a).casefold(), _norm(b).casefold()
    return bool(x and y) and (x[:40] == y[:40] or x in y or y in x)


def _from_ms(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def _post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _enc(urn: str) -> str:
    return quote(urn, safe="")


def _next_midnight(now: datetime | None = None) -> datetime:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


class _Memory:
    """What this client published or found under each key (bounded, thread-safe)."""

    def __init__(self) -> None:
        self._refs: OrderedDict[str, PublishedRef] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> PublishedRef | None:
        with self._lock:
            return self._refs.get(key)

    def put(self, key: str, ref: PublishedRef) -> None:
        with self._lock:
            self._refs[key] = ref
            self._refs.move_to_end(key)
            while len(self._refs) > _MEMORY:
                self._refs.popitem(last=False)


@register
class LinkedInNetwork(Network):
    name: ClassVar[str] = "linkedin"
    label: ClassVar[str] = "LinkedIn"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.FIRST_COMMENT,
            Capability.READ_COMMENTS,
            Capability.REPLY_PUBLIC,
            Capability.DELETE_POST,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.OAUTH,
            Capability.TOKEN_REFRESH,
        }
    )
    #: A page's followers (https://learn.microsoft.com/linkedin/marketing/community-management/
    #: organizations/organization-lookup-api#retrieve-organization-follower-count) and page
    #: views (https://learn.microsoft.com/linkedin/marketing/community-management/organizations/
    #: page-statistics); a member's followers (https://learn.microsoft.com/linkedin/marketing/
    #: community-management/members/follower-statistics).
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(AccountMetric)
    # Posts API: commentary up to 3,000 characters, a multi-image post up to 20 images,
    # altText up to 4,086 characters; the Images API takes JPEG, PNG and GIF. LinkedIn bounds
    # an image by its pixels (36,152,320) rather than its weight: Porte-voix refuses files over
    # 10 MB before uploading (see docs/networks.md). Videos: MP4, 75 KB to 500 MB, 3 seconds to
    # 30 minutes (https://learn.microsoft.com/linkedin/marketing/community-management/shares/
    # videos-api; the duration is in ``media.specs``).
    limits: Limits = Limits(
        max_text_length=3000,
        max_images=20,
        max_image_bytes=10 * 1000 * 1000,
        max_video_bytes=500 * 1000 * 1000,
        max_alt_text_length=4086,
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        video_mime_types=frozenset({"video/mp4"}),
    )
    uses_journal: ClassVar[bool] = True
    credential_fields: ClassVar[tuple[str, ...]] = ("access_token", "organization_id")
    optional_credential_fields: ClassVar[frozenset[str]] = frozenset({"organization_id"})
    oauth_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "organization_id")

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
            timeout=self.timeout,
            transport=transport,
            headers={"User-Agent": "Porte-voix"},
            follow_redirects=False,
        )
        self._budget = RateBudget(self.name, self.label)
        self._memory = _Memory()
        self._refresh_lock = threading.Lock()
        self._clock_offsets: list[timedelta] = []

    def close(self) -> None:
        self._http.close()

    # -- settings from the credentials --------------------------------------------------------

    def _api_url(self) -> str:
        return (self.credentials.get("api_url") or DEFAULT_API_URL).rstrip("/")

    def _auth_url(self) -> str:
        return (self.credentials.get("auth_url") or DEFAULT_AUTH_URL).rstrip("/")

    @property
    def author(self) -> str:
        """The URN the channel posts as: the page, or the member."""
        return self.account.account_id

    @property
    def is_organization(self) -> bool:
        return self.author.startswith("urn:li:organization:")

    # -- HTTP ---------------------------------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        credentials = self.credentials
        headers = {
            "Authorization": f"Bearer {credentials.get('access_token')}",
            "LinkedIn-Version": credentials.get("api_version") or DEFAULT_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        headers.update(extra or {})
        return headers

    def _request(
        self,
        method: str,
        url: str,
        *,
        action: str,
        write: bool = False,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        refreshed: bool = False,
    ) -> httpx.Response:
        """One call to LinkedIn, every failure a typed error.

        ``write``: the call creates something, so a failure after the request may have
        reached LinkedIn is ``OutcomeUnknown``, never ``Transient``. A refused token is
        refreshed once when the credentials allow it (the refused call created nothing).
        """
        self._ensure_fresh_token()
        self._budget.check("api")
        try:
            response = self._http.request(
                method,
                url,
                json=json_body,
                content=content,
                headers=self._headers(headers),
            )
        except httpx.ConnectError as error:
            raise Transient(
                f"Could not reach LinkedIn ({action}).", network=self.name, code="connection"
            ) from error
        except httpx.ConnectTimeout as error:
            raise Transient(
                f"LinkedIn did not answer in time ({action}).", network=self.name, code="timeout"
            ) from error
        except httpx.HTTPError as error:
            if write:
                raise OutcomeUnknown(
                    f"The answer from LinkedIn was lost ({action}); the post may exist.",
                    network=self.name,
                    code="timeout" if isinstance(error, httpx.TimeoutException) else "connection",
                ) from None
            raise Transient(
                f"LinkedIn did not answer ({action}).", network=self.name, code="connection"
            ) from None
        self._note(response)
        if response.status_code < 300:
            return response
        if response.status_code == 401 and not refreshed and self._can_refresh():
            self.refresh_credentials()
            return self._request(
                method,
                url,
                action=action,
                write=write,
                json_body=json_body,
                content=content,
                headers=headers,
                refreshed=True,
            )
        raise self._error(response, action, write)

    def _note(self, response: httpx.Response) -> None:
        date = response.headers.get("date")
        if not date:
            return
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if server.tzinfo is not None:
            offset = server - datetime.now(UTC)
            self._clock_offsets = [*self._clock_offsets[-49:], offset]

    def _clock_offset(self) -> timedelta:
        return max(self._clock_offsets, default=timedelta(0))

    def _error(self, response: httpx.Response, action: str, write: bool) -> NetworkError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = str(body.get("code") or "")
        message = str(body.get("message") or "")[:300]
        details = body.get("errorDetails")
        input_codes = {
            str(item.get("code"))
            for item in (details.get("inputErrors") or [] if isinstance(details, dict) else [])
            if isinstance(item, dict)
        }
        name = self.name
        if status == 429:
            reset_at = parse_reset(response.headers.get("retry-after")) or _next_midnight()
            return RateLimited(
                _(
                    "LinkedIn's daily limit for this call is reached (%(action)s); it resets at "
                    "midnight UTC."
                )
                % {"action": _(action)},
                reset_at=reset_at,
                network=name,
                code="429",
            )
        if status == 401:
            return AuthExpired(
                _(
                    "LinkedIn refused the access token (expired after its 60 days, or revoked): "
                    "reconnect the channel."
                ),
                network=name,
                code=code or "401",
            )
        if status == 403:
            return Permanent(
                _(
                    "LinkedIn does not allow this (%(action)s): the app lacks the product or "
                    "permission it needs (Share on LinkedIn, Community Management API), or the "
                    "account is not an administrator of the page."
                )
                % {"action": _(action)},
                network=name,
                code="app_not_allowed",
            )
        if status == 404:
            return NotFound(
                _("LinkedIn could not find it (%(action)s).") % {"action": _(action)},
                network=name,
                code="404",
            )
        if status == 413:
            return InvalidInput(
                _("The file is too large for LinkedIn (%(action)s).") % {"action": _(action)},
                network=name,
                code="413",
            )
        if status == 426 or code == "NONEXISTENT_VERSION":
            return Permanent(
                _(
                    "LinkedIn no longer serves the API version Porte-voix asks for: update "
                    "Porte-voix (or the channel's api_version)."
                ),
                network=name,
                code="version",
            )
        if "DUPLICATE_POST" in input_codes or "duplicate" in message.lower():
            return Permanent(
                _("LinkedIn refuses this post as a duplicate of one already on the account."),
                network=name,
                code="duplicate",
            )
        if status in {400, 422}:
            return InvalidInput(
                (
                    _("LinkedIn refused it (%(action)s): %(reason)s.")
                    % {"action": _(action), "reason": message}
                    if message
                    else _("LinkedIn refused it (%(action)s).") % {"action": _(action)}
                ),
                network=name,
                code=code or str(status),
            )
        if status >= 500:
            if write:
                return OutcomeUnknown(
                    _("LinkedIn failed while %(action)s (HTTP %(status)s); the post may exist.")
                    % {"action": _(action), "status": status},
                    network=name,
                    code=str(status),
                )
            return Transient(
                _("LinkedIn is unavailable (%(action)s, HTTP %(status)s).")
                % {"action": _(action), "status": status},
                network=name,
                code=str(status),
            )
        return Permanent(
            _("LinkedIn refused it (%(action)s, HTTP %(status)s).")
            % {"action": _(action), "status": status},
            network=name,
            code=str(status),
        )

    def _json(self, response: httpx.Response, action: str, *, write: bool = False) -> Any:
        try:
            return response.json()
        except ValueError:
            if write:
                raise OutcomeUnknown(
                    f"LinkedIn answered something unexpected ({action}); the post may exist.",
                    network=self.name,
                    code="malformed",
                ) from None
            raise Permanent(
                f"LinkedIn answered something unexpected ({action}).",
                network=self.name,
                code="malformed",
            ) from None

    # -- tokens -------------------------------------------------------------------------------

    def _expires_at(self) -> datetime | None:
        value = self.credentials.get("expires_at")
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _can_refresh(self) -> bool:
        credentials = self.credentials
        if not (
            credentials.get("refresh_token")
            and credentials.get("client_id")
            and credentials.get("client_secret")
        ):
            return False
        until = credentials.get("refresh_expires_at")
        if until:
            try:
                moment = datetime.fromisoformat(until)
            except ValueError:
                return True
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment > datetime.now(UTC)
        return True

    def _ensure_fresh_token(self) -> None:
        expires_at = self._expires_at()
        if expires_at is None or expires_at - _REFRESH_MARGIN > datetime.now(UTC):
            return
        if self._can_refresh():
            self.refresh_credentials()
            return
        if expires_at <= datetime.now(UTC):
            raise AuthExpired(
                "The LinkedIn access token has expired (they last 60 days): reconnect the channel.",
                network=self.name,
                code="expired",
            )

    def refresh_credentials(self) -> Credentials:
        """A new access token from the refresh token (apps LinkedIn lets refresh)."""
        with self._refresh_lock:
            credentials = self.credentials
            if not self._can_refresh():
                raise AuthExpired(
                    "This LinkedIn channel cannot renew its token: reconnect it.",
                    network=self.name,
                    code="no_refresh",
                )
            data = _token_call(
                self._http,
                self._auth_url(),
                {
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.get("refresh_token"),
                    "client_id": credentials.get("client_id"),
                    "client_secret": credentials.get("client_secret"),
                },
            )
            fresh = credentials.replace(**_token_values(data, keep=credentials))
            self._credentials_changed(fresh)
            return fresh

    # -- OAuth --------------------------------------------------------------------------------

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
        organization_id: str = "",
    ) -> AuthorizationRequest:
        """The LinkedIn sign-in URL for the app ``client_id`` (each deployment has its own).

        ``organization_id``: the company page to post as (asks for the Community Management
        scopes); empty: the member who signs in.
        """
        client_id = client_id.strip()
        client_secret = client_secret.strip()
        organization_id = _organization_id(organization_id)
        if not client_id or not client_secret:
            raise InvalidInput(
                "Enter the Client ID and Client secret of your LinkedIn app.",
                network=cls.name,
                code="no_app",
            )
        api_url = (instance_url or DEFAULT_API_URL).rstrip("/")
        auth_url = DEFAULT_AUTH_URL.rstrip("/")
        scopes = ORGANIZATION_SCOPES if organization_id else MEMBER_SCOPES
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": " ".join(scopes),
            }
        )
        return AuthorizationRequest(
            url=f"{auth_url}/authorization?{query}",
            state=state,
            redirect_uri=redirect_uri,
            instance_url=api_url,
            client_id=client_id,
            client_secret=client_secret,
            extra={"organization_id": organization_id, "auth_url": auth_url},
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        """Trade the code for an access token (60 days; a refresh token for partners)."""
        auth_url = (request.extra.get("auth_url") or DEFAULT_AUTH_URL).rstrip("/")
        with httpx.Client(timeout=timeout, headers={"User-Agent": "Porte-voix"}) as client:
            data = _token_call(
                client,
                auth_url,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": request.redirect_uri,
                    "client_id": request.client_id,
                    "client_secret": request.client_secret,
                },
            )
        values: dict[str, str] = {
            "client_id": request.client_id,
            "client_secret": request.client_secret,
            "api_url": request.instance_url or DEFAULT_API_URL,
            "auth_url": auth_url,
        }
        organization_id = request.extra.get("organization_id") or ""
        if organization_id:
            values["organization_id"] = organization_id
        values.update({k: v for k, v in _token_values(data).items() if v is not None})
        return Credentials(values)

    # -- account ------------------------------------------------------------------------------

    def connect(self, credentials: Credentials) -> AccountInfo:
        """The page (``organization_id``) or the member the token belongs to."""
        if not credentials.get("access_token"):
            raise AuthExpired(
                "A LinkedIn access token is needed.", network=self.name, code="missing"
            )
        organization_id = _organization_id(credentials.get("organization_id"))
        self._credentials = credentials
        try:
            if organization_id:
                data = self._json(
                    self._request(
                        "GET",
                        f"{self._api_url()}/rest/organizations/{organization_id}",
                        action="reading the company page",
                    ),
                    "reading the company page",
                )
                vanity = str(data.get("vanityName") or "")
                name = str(data.get("localizedName") or vanity or organization_id)
                account = AccountInfo(
                    network=self.name,
                    account_id=f"urn:li:organization:{organization_id}",
                    handle=vanity or name,
                    display_name=name,
                    url=f"https://www.linkedin.com/company/{vanity or organization_id}/",
                )
            else:
                data = self._json(
                    self._request(
                        "GET", f"{self._api_url()}/v2/userinfo", action="reading the account"
                    ),
                    "reading the account",
                )
                sub = str(data.get("sub") or "")
                if not sub:
                    raise Permanent(
                        "LinkedIn did not say who the account is (the app needs "
                        "“Sign In with LinkedIn using OpenID Connect”).",
                        network=self.name,
                        code="no_sub",
                    )
                name = str(data.get("name") or sub)
                account = AccountInfo(
                    network=self.name,
                    account_id=f"urn:li:person:{sub}",
                    handle=name,
                    display_name=name,
                    avatar_url=str(data.get("picture") or ""),
                )
        except NetworkError:
            self._credentials = None
            raise
        except (AttributeError, TypeError):
            self._credentials = None
            raise Permanent(
                "LinkedIn answered something unexpected.", network=self.name, code="malformed"
            ) from None
        return self._bind(self._credentials or credentials, account)

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        """Bind without a call: a refused token shows on the next one."""
        self._bind(credentials, account)

    # -- publish ------------------------------------------------------------------------------

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        match = re.search(r"(urn:li:(?:share|ugcPost|activity):\d+)", url)
        return match.group(1) if match else None

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        if any(m.is_video for m in post.media) and len(post.media) > 1:
            problems.append(_("On LinkedIn a video goes alone, without images or another video."))
        return problems

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.ensure_valid(post)
        ref = self._memory.get(idempotency_key)
        if ref is None:
            entry = self.journal.get(idempotency_key) or {}
            if entry.get("post_id"):
                ref = self._ref_from_entry(entry)
        if ref is None:
            target = post.in_reply_to
            if target:
                ref = self._comment(target, post.text)
            elif any(m.is_video for m in post.media):
                ref = self._video_post(post, idempotency_key)
            else:
                ref = self._post(post)
            self._memory.put(idempotency_key, ref)
            self._note_post(idempotency_key, ref)
        if post.first_comment and not post.in_reply_to:
            self._first_comment(ref, post.first_comment, idempotency_key)
        return ref

    def _note_post(self, key: str, ref: PublishedRef) -> None:
        entry = dict(self.journal.get(key) or {})
        if entry.get("post_id") != ref.post_id:
            at = (ref.published_at or datetime.now(UTC)).isoformat()
            self.journal.put(key, {**entry, "state": "done", "post_id": ref.post_id, "at": at})

    def _first_comment(self, ref: PublishedRef, text: str, key: str) -> None:
        """The first comment under the new post: a step of its own, journaled. If it fails,
        the post is out: the error is ``OutcomeUnknown`` and publishing again with the key adds
        the comment, never the post."""
        entry = dict(self.journal.get(key) or {})
        if entry.get("comment_id"):
            return
        try:
            if entry.get("comment_state") == "sending":
                for comment in self._comments(ref.post_id):
                    said = str((comment.get("message") or {}).get("text") or "")
                    if comment.get("actor") == self.author and _same_text(said, text):
                        self.journal.put(
                            key,
                            {**entry, "comment_state": "done", "comment_id": _comment_urn(comment)},
                        )
                        return
            self.journal.put(key, {**entry, "comment_state": "sending"})
            comment_ref = self._comment(ref.post_id, text)
        except NetworkError as error:
            raise OutcomeUnknown(
                f"The post is on LinkedIn but its first comment failed ({error.message})",
                network=self.name,
                code=error.code or "first_comment",
            ) from error
        self.journal.put(key, {**entry, "comment_state": "done", "comment_id": comment_ref.post_id})

    # -- video --------------------------------------------------------------------------------

    def _video_post(self, post: OutgoingPost, key: str) -> PublishedRef:
        entry = dict(self.journal.get(key) or {})
        if entry.get("post_id"):
            return self._ref_from_entry(entry)
        item = post.media[0]
        if entry.get("state") == "sending":
            try:
                found = self._find_video_post(entry, exclude=frozenset())
            except Ambiguous as error:
                raise OutcomeUnknown(
                    "An earlier attempt may already be on LinkedIn: " + error.message,
                    network=self.name,
                    code="ambiguous",
                ) from error
            if found is not None:
                return self._remember_video(key, entry, found)
        if entry.get("state") == "finalizing":
            status = self._video_status(entry["video"])
            if status is None:
                entry = {}
            else:
                # Still waiting for its parts: the finalize never arrived, send it again.
                entry = {
                    **entry,
                    "state": "uploaded" if status == "WAITING_UPLOAD" else "finalized",
                }
                self.journal.put(key, entry)
        if not entry.get("video") or entry.get("state", "") in {"", "absent", "uploading"}:
            entry = self._upload_video(item, key, entry)
        if entry.get("state") == "uploaded":
            entry = self._finalize_video(key, entry)
        status = self._video_status(entry["video"])
        if status is None:
            self.journal.put(key, {"kind": "video", "since": entry["since"], "state": "absent"})
            raise Transient(
                _("LinkedIn no longer knows the uploaded video; uploading it again."),
                network=self.name,
                code="video_gone",
            )
        if status == "PROCESSING_FAILED":
            self.journal.put(key, {"kind": "video", "since": entry["since"], "state": "absent"})
            raise InvalidInput(
                _("LinkedIn could not process the video (format, length or size)."),
                network=self.name,
                code="video_failed",
            )
        if status != "AVAILABLE":
            raise Transient(
                _("LinkedIn is still processing the video; publishing it in a moment."),
                network=self.name,
                code="video_processing",
            )
        body = self._post_body(post)
        body["content"] = {"media": {"id": entry["video"]}}
        entry = {**entry, "state": "sending", "sent_at": _iso_now()}
        self.journal.put(key, entry)
        ref = self._create(body)
        return self._remember_video(key, entry, ref)

    def _remember_video(
        self, key: str, entry: Mapping[str, str], ref: PublishedRef
    ) -> PublishedRef:
        at = ref.published_at or datetime.now(UTC)
        self.journal.put(
            key, {**entry, "state": "done", "post_id": ref.post_id, "at": at.isoformat()}
        )
        return ref

    def _ref_from_entry(self, entry: Mapping[str, str]) -> PublishedRef:
        urn = entry["post_id"]
        at = entry.get("at")
        return PublishedRef(
            network=self.name,
            post_id=urn,
            url=_post_url(urn),
            published_at=datetime.fromisoformat(at) if at else None,
        )

    def _upload_video(self, item: MediaItem, key: str, entry: Mapping[str, str]) -> dict[str, str]:
        """``initializeUpload``, then every part; nothing is posted yet (not writes).

        The parts' addresses and the ETags of the parts LinkedIn took are journaled as they
        come: an upload cut midway (a part refused or lost) resumes at the first part LinkedIn
        did not confirm, with the same upload, while its addresses are valid."""
        action = "uploading a video"
        if entry.get("state") == "uploading" and entry.get("parts") and entry.get("video"):
            return self._send_parts(item, key, dict(entry))
        since = entry.get("since") or _iso_now()
        answer = self._json(
            self._request(
                "POST",
                f"{self._api_url()}/rest/videos?action=initializeUpload",
                action=action,
                json_body={
                    "initializeUploadRequest": {
                        "owner": self.author,
                        "fileSizeBytes": item.size,
                        "uploadCaptions": False,
                        "uploadThumbnail": False,
                    }
                },
            ),
            action,
        )
        value = answer.get("value") if isinstance(answer, dict) else None
        parts = value.get("uploadInstructions") if isinstance(value, dict) else None
        if not isinstance(value, dict) or not value.get("video") or not isinstance(parts, list):
            raise Transient(
                _("LinkedIn did not give upload addresses for the video."),
                network=self.name,
                code="malformed",
            )
        video = str(value["video"])
        instructions = [
            [int(p.get("firstByte", 0)), int(p.get("lastByte", -1)), str(p.get("uploadUrl"))]
            for p in parts
            if isinstance(p, dict)
        ]
        upload: dict[str, str] = {
            "kind": "video",
            "video": video,
            "token": str(value.get("uploadToken") or ""),
            "since": since,
            "state": "uploading",
            "parts": json.dumps(instructions),
            "etags": "[]",
        }
        self.journal.put(key, upload)
        return self._send_parts(item, key, upload)

    def _send_parts(self, item: MediaItem, key: str, upload: dict[str, str]) -> dict[str, str]:
        """PUT each part not confirmed yet, read from the file as it goes (never whole)."""
        action = "uploading a video"
        parts: list[list[Any]] = json.loads(upload.get("parts") or "[]")
        etags: list[str] = json.loads(upload.get("etags") or "[]")
        with item.open() as handle:
            for first, last, url in parts[len(etags) :]:
                try:
                    response = self._request(
                        "PUT",
                        str(url),
                        action=action,
                        content=item.read_chunk(handle, int(first), int(last) + 1),
                        headers={"Content-Type": "application/octet-stream"},
                    )
                except OutcomeUnknown as error:  # a part alone is not a post: sent again
                    raise Transient(error.message, network=self.name, code=error.code) from None
                etag = response.headers.get("etag") or ""
                if not etag:
                    raise Transient(
                        _("LinkedIn took a part of the video without its ETag."),
                        network=self.name,
                        code="no_etag",
                    )
                etags.append(etag)
                upload = {**upload, "etags": json.dumps(etags)}
                self.journal.put(key, upload)
        upload = {**upload, "state": "uploaded"}
        self.journal.put(key, upload)
        return upload

    def _finalize_video(self, key: str, entry: Mapping[str, str]) -> dict[str, str]:
        finishing = {**entry, "state": "finalizing"}
        self.journal.put(key, finishing)
        self._request(
            "POST",
            f"{self._api_url()}/rest/videos?action=finalizeUpload",
            action="finishing the video upload",
            json_body={
                "finalizeUploadRequest": {
                    "video": entry["video"],
                    "uploadToken": entry.get("token", ""),
                    "uploadedPartIds": json.loads(entry.get("etags") or "[]"),
                }
            },
        )
        done = {**finishing, "state": "finalized"}
        self.journal.put(key, done)
        return done

    def _video_status(self, video: str) -> str | None:
        """The video's ``status`` (``WAITING_UPLOAD``, ``PROCESSING``, ``AVAILABLE``,
        ``PROCESSING_FAILED``), or None when LinkedIn does not know it."""
        try:
            data = self._json(
                self._request(
                    "GET",
                    f"{self._api_url()}/rest/videos/{_enc(video)}",
                    action="reading the video",
                ),
                "reading the video",
            )
        except NotFound:
            return None
        return str(data.get("status") or "") if isinstance(data, dict) else ""

    def _find_video_post(
        self, entry: Mapping[str, str], *, exclude: frozenset[str]
    ) -> PublishedRef | None:
        """The author's post whose media is this entry's video (exact: a video URN is used once)."""
        since = entry.get("sent_at") or entry.get("since")
        threshold = self._threshold(datetime.fromisoformat(since) if since else None)
        posts, complete = self._author_posts(threshold)
        same = [
            p
            for p in posts
            if str(p.get("id") or "") not in exclude
            and ((p.get("content") or {}).get("media") or {}).get("id") == entry["video"]
        ]
        if same:
            return self._ref(same[0])
        if not complete:
            raise Ambiguous(
                "Porte-voix could not read the account's posts back to the first attempt: "
                "look on the network.",
                network=self.name,
            )
        return None

    def _upload(self, item: MediaItem) -> str:
        """Upload one image; its URN. Nothing is posted yet: failures here are not writes."""
        action = "uploading an image"
        answer = self._json(
            self._request(
                "POST",
                f"{self._api_url()}/rest/images?action=initializeUpload",
                action=action,
                json_body={"initializeUploadRequest": {"owner": self.author}},
            ),
            action,
        )
        value = answer.get("value") if isinstance(answer, dict) else None
        if not isinstance(value, dict) or not value.get("uploadUrl") or not value.get("image"):
            raise Transient(
                _("LinkedIn did not give an upload address for the image."),
                network=self.name,
                code="malformed",
            )
        try:
            self._request(
                "PUT",
                str(value["uploadUrl"]),
                action=action,
                content=item.read_all(),
                headers={"Content-Type": item.mime_type},
            )
        except OutcomeUnknown as error:  # an image alone is not a post: it can be sent again
            raise Transient(error.message, network=self.name, code=error.code) from None
        return str(value["image"])

    def _post(self, post: OutgoingPost) -> PublishedRef:
        images = [(self._upload(item), item.alt_text) for item in post.media]
        body = self._post_body(post)
        if len(images) == 1:
            body["content"] = {"media": {"id": images[0][0], "altText": images[0][1]}}
        elif images:
            body["content"] = {
                "multiImage": {"images": [{"id": urn, "altText": alt} for urn, alt in images]}
            }
        return self._create(body)

    def _post_body(self, post: OutgoingPost) -> dict[str, Any]:
        return {
            "author": self.author,
            "commentary": escape_commentary(post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }

    def _create(self, body: dict[str, Any]) -> PublishedRef:
        response = self._request(
            "POST", f"{self._api_url()}/rest/posts", action="publishing", write=True, json_body=body
        )
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id") or ""
        if not urn:
            raise OutcomeUnknown(
                "LinkedIn accepted the post without saying its id.",
                network=self.name,
                code="no_id",
            )
        return PublishedRef(
            network=self.name, post_id=urn, url=_post_url(urn), published_at=datetime.now(UTC)
        )

    def _comment(self, target: str, text: str) -> PublishedRef:
        """Comment on a post, or answer a comment (``urn:li:comment:(…)``)."""
        body: dict[str, Any] = {"actor": self.author, "message": {"text": text}}
        match = _COMMENT_URN.match(target)
        if match:
            body["object"] = match.group(1)
            body["parentComment"] = target
        else:
            body["object"] = target
        response = self._request(
            "POST",
            f"{self._api_url()}/rest/socialActions/{_enc(target)}/comments",
            action="commenting",
            write=True,
            json_body=body,
        )
        data: Any = {}
        if response.content:
            data = self._json(response, "commenting", write=True)
        data = data if isinstance(data, dict) else {}
        urn = str(
            data.get("commentUrn") or data.get("$URN") or response.headers.get("x-restli-id") or ""
        )
        if not urn:
            raise OutcomeUnknown(
                "LinkedIn accepted the comment without saying its id.",
                network=self.name,
                code="no_id",
            )
        created = _from_ms((data.get("created") or {}).get("time")) or datetime.now(UTC)
        return PublishedRef(
            network=self.name,
            post_id=urn,
            url=_post_url(str(body["object"])),
            published_at=created,
        )

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
        try:
            self._request(
                "DELETE",
                f"{self._api_url()}/rest/posts/{_enc(ref.post_id)}",
                action="deleting the post",
                headers={"X-RestLi-Method": "DELETE"},
            )
        except NotFound:
            return

    # -- reconcile ----------------------------------------------------------------------------

    def _threshold(self, since: datetime | None) -> datetime:
        moment = since if since is not None else datetime.now(UTC) - _RECONCILE_WINDOW
        return (moment.astimezone(UTC) + self._clock_offset()).replace(microsecond=0)

    def _author_posts(self, threshold: datetime) -> tuple[list[dict[str, Any]], bool]:
        """The author's posts made since ``threshold``, newest first; whether the list is
        complete (read back past ``threshold``)."""
        found: list[dict[str, Any]] = []
        for page in range(_RECONCILE_PAGES):
            query = urlencode(
                {
                    "q": "author",
                    "author": self.author,
                    "count": _PAGE,
                    "start": page * _PAGE,
                    "sortBy": "CREATED",
                }
            )
            data = self._json(
                self._request(
                    "GET",
                    f"{self._api_url()}/rest/posts?{query}",
                    action="reading the account's posts",
                    headers={"X-RestLi-Method": "FINDER"},
                ),
                "reading the account's posts",
            )
            elements = data.get("elements") if isinstance(data, dict) else None
            if not isinstance(elements, list):
                return found, False
            older = False
            for element in elements:
                if not isinstance(element, dict):
                    continue
                created = _from_ms(element.get("createdAt") or element.get("publishedAt"))
                if created is None:
                    continue
                if created < threshold:
                    older = True
                    continue
                found.append(element)
            if older or len(elements) < _PAGE:
                return found, True
        return found, False

    def _comments(self, target: str) -> list[dict[str, Any]]:
        data = self._json(
            self._request(
                "GET",
                f"{self._api_url()}/rest/socialActions/{_enc(target)}/comments?count=100",
                action="reading comments",
            ),
            "reading comments",
        )
        elements = data.get("elements") if isinstance(data, dict) else None
        return [e for e in elements or [] if isinstance(e, dict)]

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
        entry = self.journal.get(idempotency_key)
        if entry and entry.get("post_id"):
            journaled = self._ref_from_entry(entry)
            return journaled if journaled.post_id not in exclude else None
        if entry and entry.get("kind") == "video":
            if entry.get("state") != "sending":
                return None  # the post was never asked for: only the video may exist
            found = self._find_video_post(entry, exclude=exclude)
            if found is not None:
                self._remember_video(idempotency_key, entry, found)
                self._memory.put(idempotency_key, found)
            return found
        if post is None:
            raise Ambiguous(
                "LinkedIn cannot be asked by key, and the post's text is not known: look on "
                "the network.",
                network=self.name,
            )
        threshold = self._threshold(since)
        if post.in_reply_to:
            ref = self._reconcile_comment(post, threshold, exclude)
        else:
            ref = self._reconcile_post(post, threshold, exclude)
        if ref is not None:
            self._memory.put(idempotency_key, ref)
        return ref

    def _reconcile_post(
        self, post: OutgoingPost, threshold: datetime, exclude: frozenset[str]
    ) -> PublishedRef | None:
        posts, complete = self._author_posts(threshold)
        eligible = [p for p in posts if str(p.get("id") or "") not in exclude]
        same = [
            p for p in eligible if _same_text(plain_commentary(str(p.get("commentary"))), post.text)
        ]
        exact = [p for p in same if _image_count(p) == len(post.media)]
        if len(exact) == 1:
            return self._ref(exact[0])
        if len(exact) > 1:
            raise Ambiguous(
                "Several posts on the account have this text: look on the network.",
                candidates=tuple(self._candidate(p, "same text") for p in exact[:20]),
                network=self.name,
            )
        near = same or [
            p for p in eligible if _alike(plain_commentary(str(p.get("commentary"))), post.text)
        ]
        if near:
            raise Ambiguous(
                "A post on the account looks like this one but is not the same: look on the "
                "network.",
                candidates=tuple(
                    self._candidate(p, "same text, other images" if p in same else "alike")
                    for p in near[:20]
                ),
                network=self.name,
            )
        if not complete:
            raise Ambiguous(
                "Porte-voix could not read the account's posts back to the first attempt: "
                "look on the network.",
                network=self.name,
            )
        return None

    def _reconcile_comment(
        self, post: OutgoingPost, threshold: datetime, exclude: frozenset[str]
    ) -> PublishedRef | None:
        target = str(post.in_reply_to)
        mine = [
            c
            for c in self._comments(target)
            if str(c.get("actor") or "") == self.author
            and (_from_ms((c.get("created") or {}).get("time")) or threshold) >= threshold
            and _comment_urn(c) not in exclude
        ]
        same = [c for c in mine if _same_text(str((c.get("message") or {}).get("text")), post.text)]
        if len(same) == 1:
            comment = same[0]
            return PublishedRef(
                network=self.name,
                post_id=_comment_urn(comment),
                url=_post_url(str(comment.get("object") or target)),
                published_at=_from_ms((comment.get("created") or {}).get("time")),
            )
        if len(same) > 1:
            raise Ambiguous(
                "Several comments of the account have this text: look on the network.",
                candidates=tuple(
                    Candidate(
                        post_id=_comment_urn(c), text=str((c.get("message") or {}).get("text"))
                    )
                    for c in same[:20]
                ),
                network=self.name,
            )
        return None

    def _ref(self, element: Mapping[str, Any]) -> PublishedRef:
        urn = str(element.get("id") or "")
        return PublishedRef(
            network=self.name,
            post_id=urn,
            url=_post_url(urn),
            published_at=_from_ms(element.get("publishedAt") or element.get("createdAt")),
        )

    def _candidate(self, element: Mapping[str, Any], note: str) -> Candidate:
        urn = str(element.get("id") or "")
        return Candidate(
            post_id=urn,
            url=_post_url(urn),
            text=plain_commentary(str(element.get("commentary") or ""))[:500],
            created_at=_from_ms(element.get("createdAt")),
            note=note,
        )

    # -- inbound ------------------------------------------------------------------------------

    def _item(self, comment: Mapping[str, Any], post_id: str) -> InboundItem:
        actor = str(comment.get("actor") or "")
        parent = str(comment.get("parentComment") or "")
        return InboundItem(
            network=self.name,
            message_id=_comment_urn(comment),
            kind=InboundKind.COMMENT,
            author=Author(id=actor, handle=actor.rsplit(":", 1)[-1] or actor),
            text=str((comment.get("message") or {}).get("text") or ""),
            created_at=_from_ms((comment.get("created") or {}).get("time")) or datetime.now(UTC),
            in_reply_to=parent or post_id,
            thread_id=post_id,
            url=_post_url(post_id),
        )

    def fetch_replies(self, post_id: str) -> InboundBatch:
        items: list[InboundItem] = []
        for comment in self._comments(post_id):
            if str(comment.get("actor") or "") == self.author or not _comment_urn(comment):
                continue
            items.append(self._item(comment, post_id))
        items.sort(key=lambda item: item.created_at)
        return InboundBatch(items=tuple(items))

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Comments on the author's recent posts newer than the cursor (LinkedIn has no
        notification feed for ordinary apps)."""
        since_ms = _cursor_ms(since_cursor)
        query = urlencode(
            {"q": "author", "author": self.author, "count": _INBOUND_POSTS, "sortBy": "CREATED"}
        )
        data = self._json(
            self._request(
                "GET",
                f"{self._api_url()}/rest/posts?{query}",
                action="reading the account's posts",
                headers={"X-RestLi-Method": "FINDER"},
            ),
            "reading the account's posts",
        )
        items: dict[str, InboundItem] = {}
        newest = since_ms
        for element in (data.get("elements") if isinstance(data, dict) else None) or []:
            post_id = str(element.get("id") or "") if isinstance(element, dict) else ""
            if not post_id:
                continue
            for comment in self._comments(post_id):
                created = (comment.get("created") or {}).get("time")
                if not isinstance(created, int) or created <= since_ms:
                    continue
                if str(comment.get("actor") or "") == self.author or not _comment_urn(comment):
                    continue
                newest = max(newest, created)
                item = self._item(comment, post_id)
                items[item.message_id] = item
        ordered = sorted(items.values(), key=lambda item: item.created_at)
        return InboundBatch(items=tuple(ordered), next_cursor=json.dumps({"t": newest}))

    # -- metrics ------------------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        if not refs:
            return []
        if self.is_organization:
            return self._organization_metrics(refs)
        snapshots: list[MetricSnapshot] = []
        for ref in refs:
            try:
                data = self._json(
                    self._request(
                        "GET",
                        f"{self._api_url()}/rest/socialMetadata/{_enc(ref.post_id)}",
                        action="reading metrics",
                    ),
                    "reading metrics",
                )
            except NotFound:
                continue
            reactions = data.get("reactionSummaries") or {}
            likes = sum(int(r.get("count") or 0) for r in reactions.values() if isinstance(r, dict))
            comments = data.get("commentSummary") or {}
            snapshots.append(
                MetricSnapshot(
                    network=self.name,
                    post_id=ref.post_id,
                    taken_at=datetime.now(UTC),
                    likes=likes,
                    replies=int(comments.get("count") or 0),
                )
            )
        return snapshots

    def _organization_metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        shares = [r.post_id for r in refs if r.post_id.startswith("urn:li:share:")]
        ugc = [r.post_id for r in refs if r.post_id.startswith("urn:li:ugcPost:")]
        query = "q=organizationalEntity&organizationalEntity=" + _enc(self.author)
        if shares:
            query += "&shares=List(" + ",".join(_enc(s) for s in shares) + ")"
        if ugc:
            query += "&ugcPosts=List(" + ",".join(_enc(u) for u in ugc) + ")"
        data = self._json(
            self._request(
                "GET",
                f"{self._api_url()}/rest/organizationalEntityShareStatistics?{query}",
                action="reading metrics",
            ),
            "reading metrics",
        )
        by_post: dict[str, MetricSnapshot] = {}
        for element in (data.get("elements") if isinstance(data, dict) else None) or []:
            if not isinstance(element, dict):
                continue
            urn = str(element.get("share") or element.get("ugcPost") or "")
            stats = element.get("totalShareStatistics") or {}
            if not urn or not isinstance(stats, dict):
                continue
            by_post[urn] = MetricSnapshot(
                network=self.name,
                post_id=urn,
                taken_at=datetime.now(UTC),
                likes=int(stats.get("likeCount") or 0),
                reposts=int(stats.get("shareCount") or 0),
                replies=int(stats.get("commentCount") or 0),
                views=int(stats.get("impressionCount") or 0),
                extra={
                    "clicks": int(stats.get("clickCount") or 0),
                    "unique_impressions": int(stats.get("uniqueImpressionsCount") or 0),
                },
            )
        return [by_post[r.post_id] for r in refs if r.post_id in by_post]

    # -- account metrics ------------------------------------------------------------------------

    def offered_account_metrics(self) -> frozenset[AccountMetric]:
        """A company page has followers and page views; a member, followers only."""
        if self.is_organization:
            return type(self).account_metrics_offered
        return frozenset({AccountMetric.FOLLOWERS})

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """A page's followers (``networkSizes``) and the views of its pages over the whole
        (UTC) days that ended since ``since`` (``organizationPageStatistics``); a member's
        followers (``memberFollowersCount``). Each is optional on its own: a 403 (the
        Community Management API or the permission missing) is "not offered"."""
        taken_at = _utc_now()
        if not self.is_organization:
            return AccountMetrics(
                network=self.name,
                taken_at=taken_at,
                since=since,
                followers=self._figure("followers", self._member_followers),
            )
        days = whole_days(since, taken_at)
        return AccountMetrics(
            network=self.name,
            taken_at=taken_at,
            since=since,
            followers=self._figure("followers", self._organization_followers),
            profile_visits=self._figure(
                "page views", lambda: self._page_views(days) if days else 0
            ),
        )

    def _get_json(self, url: str, action: str) -> Any:
        return self._json(self._request("GET", url, action=action), action)

    def _member_followers(self) -> int | None:
        data = self._get_json(
            f"{self._api_url()}/rest/memberFollowersCount?q=me", "reading the followers"
        )
        for element in (data.get("elements") if isinstance(data, dict) else None) or []:
            if isinstance(element, dict):
                return _int_or_none(element.get("memberFollowersCount"))
        return None

    def _organization_followers(self) -> int | None:
        data = self._get_json(
            f"{self._api_url()}/rest/networkSizes/{_enc(self.author)}"
            "?edgeType=COMPANY_FOLLOWED_BY_MEMBER",
            "reading the followers",
        )
        return _int_or_none(data.get("firstDegreeSize") if isinstance(data, dict) else None)

    def _page_views(self, days: tuple[datetime, datetime]) -> int:
        start, end = (int(moment.timestamp() * 1000) for moment in days)
        data = self._get_json(
            f"{self._api_url()}/rest/organizationPageStatistics?q=organization"
            f"&organization={_enc(self.author)}&timeIntervals=(timeRange:(start:{start},"
            f"end:{end}),timeGranularityType:DAY)",
            "reading the page views",
        )
        total = 0
        for element in (data.get("elements") if isinstance(data, dict) else None) or []:
            if not isinstance(element, dict):
                continue
            span = element.get("timeRange") or {}
            if not (isinstance(span, dict) and start < int(span.get("end") or 0) <= end):
                continue
            views = ((element.get("totalPageStatistics") or {}).get("views") or {}).get(
                "allPageViews"
            ) or {}
            total += _int_or_none(views.get("pageViews")) or 0
        return total


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _iso_now() -> str:
    return datetime.now(UTC).isoformat()


def _image_count(element: Mapping[str, Any]) -> int:
    content = element.get("content")
    if not isinstance(content, dict):
        return 0
    if isinstance(content.get("media"), dict):
        return 1
    multi = content.get("multiImage")
    if isinstance(multi, dict):
        return len(multi.get("images") or [])
    return 0


def _comment_urn(comment: Mapping[str, Any]) -> str:
    return str(comment.get("commentUrn") or comment.get("$URN") or "")


def _cursor_ms(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(cursor)
    except ValueError:
        return 0
    value = data.get("t") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _organization_id(value: str) -> str:
    value = (value or "").strip()
    match = re.search(r"(?:urn:li:organization:|/company/)?(\d+)/?$", value)
    if not value:
        return ""
    if match is None or not _ORG_ID.match(match.group(1)):
        raise InvalidInput(
            "The company page is its number (in the page's admin address, "
            "linkedin.com/company/12345678/admin).",
            network=LinkedInNetwork.name,
            code="bad_organization",
        )
    return match.group(1)


def _token_call(client: httpx.Client, auth_url: str, form: Mapping[str, str]) -> dict[str, Any]:
    """POST to LinkedIn's token endpoint; its answer, or a typed error (never the secrets)."""
    try:
        response = client.post(f"{auth_url}/accessToken", data=dict(form))
    except httpx.HTTPError:
        raise Transient(
            "Could not reach LinkedIn to get a token.", network="linkedin", code="connection"
        ) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 429:
        raise RateLimited(
            "LinkedIn asks to wait before asking for a token again.",
            reset_at=parse_reset(response.headers.get("retry-after")) or _next_midnight(),
            network="linkedin",
            code="429",
        )
    if response.status_code >= 500:
        raise Transient(
            "LinkedIn is unavailable.", network="linkedin", code=str(response.status_code)
        )
    if response.status_code >= 400 or not isinstance(data, dict) or not data.get("access_token"):
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        raise AuthExpired(
            "LinkedIn refused the authorisation"
            + (f" ({error})" if error and len(error) < 60 else "")
            + ": check the app's Client ID, Client secret and redirect URL, then start again.",
            network="linkedin",
            code=error or str(response.status_code),
        )
    return data


def _token_values(
    data: Mapping[str, Any], *, keep: Credentials | None = None
) -> dict[str, str | None]:
    now = datetime.now(UTC)
    values: dict[str, str | None] = {"access_token": str(data["access_token"])}
    expires_in = data.get("expires_in")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool):
        values["expires_at"] = (now + timedelta(seconds=expires_in)).isoformat()
    refresh = data.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        values["refresh_token"] = refresh
        refresh_in = data.get("refresh_token_expires_in")
        if isinstance(refresh_in, int) and not isinstance(refresh_in, bool):
            values["refresh_expires_at"] = (now + timedelta(seconds=refresh_in)).isoformat()
    elif keep is None:
        values["refresh_token"] = None
    scope = data.get("scope")
    if isinstance(scope, str):
        values["scope"] = scope
    return values


__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_AUTH_URL",
    "DEFAULT_VERSION",
    "LinkedInNetwork",
    "escape_commentary",
    "plain_commentary",
]
