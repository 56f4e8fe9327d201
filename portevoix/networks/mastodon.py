"""Mastodon, and the servers that speak its API, through ``Mastodon.py``.

Credentials: ``instance_url`` and ``access_token`` (pasted, or obtained with
``begin_authorization``/``complete_authorization``), optionally ``client_id`` and
``client_secret`` of the app registered on that instance.

Servers that speak Mastodon's API are many (Mastodon, Pleroma, Akkoma, GoToSocial...) and
differ from the documentation in ways this module absorbs:

- a refused token is not always a 401 (Pleroma and Akkoma answer 403 "Invalid credentials.",
  some proxies 400 with an HTML page): an unexpected client error asks ``verify_credentials``
  whether the token still works; if that fails too, the error is ``AuthExpired``;
- optional endpoints may be missing (conversations): that part is skipped, the rest goes on;
- limits are read from the instance (``fetch_limits``: ``/api/v2/instance``, else
  ``/api/v1/instance`` with Pleroma's and GoToSocial's own fields), not assumed;
- the account's handle is ``@acct@domain`` with the domain the instance gives for its accounts
  (an instance served at social.example.com may use example.com).

No post twice: every ``POST /api/v1/statuses`` carries an ``Idempotency-Key`` derived from
the caller's key and the part's number; Mastodon keeps it for an hour (others may ignore it).
``reconcile`` is exact: it pages back through the account's own statuses to the first
attempt (``since``, corrected by the server's clock from its ``Date`` header), skips the ids
other publications recorded (``exclude``), and compares text the way servers render it
(:mod:`portevoix.networks.mastodon_text`): one match is the post, none is "not published",
anything else (several, only a likeness, a scan that could not reach ``since``) is
``Ambiguous`` with the candidates, for a person. Statuses are sent as ``text/plain`` (the
``content_type`` of Pleroma, Akkoma and GoToSocial; Mastodon ignores it), so what the author
wrote is what the server shows.

``Mastodon.py`` is built with an explicit ``mastodon_version`` (with ``version_check_mode=
"created"`` the SDK believes it without asking the server), and uploads never use
``synchronous=True``, which re-reads the server's version: against a server that reports a
non-Mastodon version, the SDK's media upload otherwise recurses.
It runs with ``ratelimit_method="throw"``: the publisher, not the SDK, decides when to retry,
from the ``X-RateLimit-Reset`` header. Its HTTP connections go through the address guard of
:mod:`portevoix.networks.http` (no loopback or private addresses in production).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlsplit

import regex
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
from .http import AddressGuard, RateBudget, guarded_session
from .i18n import gettext as _
from .mastodon_text import alike, same_text
from .mastodon_text import plain_text as _render_plain
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
_MENTION = re.compile(r"(?<![\w/@.])@(\w+)@[\w.-]+\w")
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_GRAPHEME = regex.compile(r"\X")
# How far back reconcile pages through the account's statuses (40 per page) before it gives
# the decision to a person rather than guess.
_RECONCILE_PAGES = 10
_PAGE = 40
# Without the first attempt's time (rows from before it was recorded): this far back.
_RECONCILE_WINDOW = timedelta(hours=24)
# Notification pages read per sync (40 each).
_MAX_PAGES = 10
# Client errors after which the token itself is checked (a refused token that is not a 401).
_SUSPECT_STATUSES = frozenset({400, 403, 404, 410, 422})
_TOKEN_WORDS = re.compile(r"token|credential|authori[sz]|authentic|bearer|log ?in|signed", re.I)
# What the instance's limits cache is good for before ``fetch_limits`` asks again.
_INSTANCE_FRESH = timedelta(minutes=5)
# Media types that say "anything" rather than a list (Pleroma's v1 instance).
_ANY_TYPE = frozenset({"application/octet-stream", "*/*", ""})


def plain_text(content: str) -> str:
    """Mastodon's HTML ``content`` as one line of text (parsed, not stripped by regex)."""
    return _render_plain(content or "")


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
    """A requests hook that keeps what the last answer said (rate limits, error, clock)."""

    def __init__(self, budget: RateBudget) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.budget = budget
        #: The ``error`` string of a JSON error answer; ``None`` when the body was not one.
        self.error_text: str | None = None
        #: Server clock minus ours, from the ``Date`` header of each answer since ``reset``.
        self.clock_offsets: list[timedelta] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        received = datetime.now(UTC)
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self.error_text = None
        if not response.ok:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                self.error_text = body["error"]
        date = self.headers.get("date")
        if date:
            try:
                server = parsedate_to_datetime(date)
            except (TypeError, ValueError):
                server = None
            if server is not None and server.tzinfo is not None:
                # The Date header has whole seconds and was written before we received it:
                # this offset is never later than the true one.
                self.clock_offsets = [*self.clock_offsets[-49:], server - received]
        path = urlsplit(response.url or "").path
        method = response.request.method if response.request is not None else ""
        self.budget.record(
            _bucket(method or "", path),
            self.headers,
            remaining="x-ratelimit-remaining",
            reset="x-ratelimit-reset",
        )
        return response

    def clock_offset(self) -> timedelta:
        """The server's clock ahead of ours (the tightest measure seen), zero if unknown."""
        return max(self.clock_offsets, default=timedelta(0))

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
            Capability.ACCOUNT_METRICS,
            Capability.DELETE_POST,
            Capability.OAUTH,
            Capability.IDEMPOTENT_PUBLISH,
        }
    )
    #: ``followers_count`` of the account (https://docs.joinmastodon.org/entities/Account/
    #: #followers_count); Mastodon counts no profile visits.
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(
        {AccountMetric.FOLLOWERS}
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
        characters_per_url=23,
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
        guard: AddressGuard | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout, on_credentials_change=on_credentials_change, limits=limits
        )
        # A session given by the caller (tests, a proxy) is used as it is; ours goes through
        # the address guard.
        self._session = session or guarded_session(guard)
        self._budget = RateBudget(self.name, self.label)
        self._last = _LastResponse(self._budget)
        self._session.hooks.setdefault("response", []).append(self._last)
        self.mastodon_version = mastodon_version
        self._api: Mastodon | None = None
        self._instance_url = ""
        self._instance: tuple[datetime, dict[str, Any] | None] | None = None

    # -- errors -------------------------------------------------------------------------------

    def _call[T](
        self,
        action: str,
        fn: Callable[[], T],
        *,
        write: bool = False,
        bucket: str = "api",
        probe: bool = True,
    ) -> T:
        """Run one SDK call and turn every failure into a typed error.

        ``probe``: after an unexpected client error (400, 403, 404, 410, 422 whose body is not
        a JSON error, or whose error speaks of a token), ask ``verify_credentials``; if that
        is refused too, the token is: ``AuthExpired`` instead of the original error.
        """
        self._budget.check(bucket)
        try:
            return fn()
        except NetworkError:
            raise
        except Exception as error:  # Mastodon.py raises many kinds; map them all
            mapped = self._map(error, action, write)
            if probe and self._suspect(error) and self._token_refused():
                raise AuthExpired(
                    "The Mastodon instance no longer accepts the access token (revoked or "
                    "wrong): reconnect the account.",
                    network=self.name,
                    code="refused",
                ) from None
            raise mapped from None

    def _suspect(self, error: BaseException) -> bool:
        status = _status_code(error)
        if status not in _SUSPECT_STATUSES or self._api is None:
            return False
        text = self._last.error_text
        return text is None or bool(_TOKEN_WORDS.search(text))

    def _token_refused(self) -> bool:
        """Whether ``verify_credentials`` fails too (any answer but 2xx, 429 and 5xx)."""
        api = self._api
        if api is None:
            return False
        try:
            self._budget.check("api")
            api.account_verify_credentials()
        except RateLimited:
            return False
        except Exception as error:
            status = _status_code(error)
            if isinstance(error, MastodonRatelimitError) or status in {None, 429}:
                return False
            return status is not None and status < 500
        return False

    def _map(self, error: BaseException, action: str, write: bool) -> NetworkError:
        name = self.name
        status = _status_code(error)
        detail = _server_message(error)
        if isinstance(error, MastodonRatelimitError) or status == 429:
            return RateLimited(
                _("Mastodon asks us to slow down (%(action)s); retrying after its limit resets.")
                % {"action": _(action)},
                reset_at=self._last.reset_at() or datetime.now(UTC) + timedelta(minutes=5),
                network=name,
                code="429",
            )
        if isinstance(error, MastodonUnauthorizedError) or status == 401:
            return AuthExpired(
                _(
                    "The Mastodon instance refused the access token (revoked or wrong): "
                    "reconnect the account."
                ),
                network=name,
                code="401",
            )
        if status == 403:
            return Permanent(
                _(
                    "Mastodon forbids this (%(action)s)%(reason)s. The token may lack a "
                    "permission: reconnect the account with read and write access."
                )
                % {"action": _(action), "reason": f": {detail}" if detail else ""},
                network=name,
                code="403",
            )
        if isinstance(error, MastodonNotFoundError) or status == 404:
            return NotFound(
                _("Mastodon could not find it (%(action)s). Check the instance address.")
                % {"action": _(action)},
                network=name,
                code="404",
            )
        if status == 413:
            return InvalidInput(
                _("The file is too large for this Mastodon instance (%(action)s).")
                % {"action": _(action)},
                network=name,
                code="413",
            )
        if status == 422:
            return InvalidInput(
                (
                    _("Mastodon refused it (%(action)s): %(reason)s.")
                    % {"action": _(action), "reason": detail}
                    if detail
                    else _("Mastodon refused it (%(action)s).") % {"action": _(action)}
                ),
                network=name,
                code="422",
            )
        if isinstance(error, MastodonServerError) or (status is not None and status >= 500):
            if write:
                return OutcomeUnknown(
                    _("Mastodon failed while %(action)s (HTTP %(status)s); the post may exist.")
                    % {"action": _(action), "status": status},
                    network=name,
                    code=str(status),
                )
            return Transient(
                _("Mastodon is unavailable (%(action)s, HTTP %(status)s).")
                % {"action": _(action), "status": status},
                network=name,
                code=str(status),
            )
        if isinstance(error, MastodonNetworkError) and isinstance(
            error.__cause__ or error.__context__, ValueError
        ):
            # Some SDK paths (app registration) wrap an undecodable answer as a network error.
            if self._last.status == 404:
                return NotFound(
                    _("Mastodon could not find it (%(action)s). Check the instance address.")
                    % {"action": _(action)},
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
                    _("The connection to Mastodon broke (%(action)s); the post may exist.")
                    % {"action": _(action)},
                    network=name,
                    code="connection",
                )
            return Transient(
                _("Could not reach the Mastodon instance (%(action)s): check its address.")
                % {"action": _(action)},
                network=name,
                code="connection",
            )
        if isinstance(error, MastodonAPIError) and status is None:
            # An answer that is not JSON (an HTML page, a truncated body).
            if write:
                return OutcomeUnknown(
                    _("Mastodon answered something unexpected (%(action)s); the post may exist.")
                    % {"action": _(action)},
                    network=name,
                    code="malformed",
                )
            return Permanent(
                _(
                    "The server answered something that is not Mastodon's API (%(action)s): "
                    "check the instance address."
                )
                % {"action": _(action)},
                network=name,
                code="malformed",
            )
        if isinstance(error, MastodonIllegalArgumentError | MastodonVersionError):
            return InvalidInput(
                _("Mastodon cannot do this (%(action)s).") % {"action": _(action)},
                network=name,
                code="argument",
            )
        if isinstance(error, MastodonAPIError):
            return Permanent(
                (
                    _("Mastodon refused it (%(action)s): %(reason)s.")
                    % {"action": _(action), "reason": detail}
                    if detail
                    else _("Mastodon refused it (%(action)s).") % {"action": _(action)}
                ),
                network=name,
                code=str(status),
            )
        if isinstance(error, MastodonError | ValueError | KeyError | TypeError | AttributeError):
            if write:
                return OutcomeUnknown(
                    _("Mastodon answered something unexpected (%(action)s); the post may exist.")
                    % {"action": _(action)},
                    network=name,
                    code="malformed",
                )
            return Permanent(
                _(
                    "The server answered something that is not Mastodon's API (%(action)s): "
                    "check the instance address."
                )
                % {"action": _(action)},
                network=name,
                code="malformed",
            )
        if write:
            return OutcomeUnknown(
                _("Unexpected failure while %(action)s; the post may exist.")
                % {"action": _(action)},
                network=name,
                code="unknown",
            )
        return Transient(
            _("Unexpected failure while %(action)s.") % {"action": _(action)},
            network=name,
            code="unknown",
        )

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

    def _bind_client(self, credentials: Credentials) -> Credentials:
        instance_url = self._normalise_url(credentials.get("instance_url"))
        token = credentials.get("access_token")
        if not token:
            raise AuthExpired(
                "A Mastodon access token is needed.", network=self.name, code="missing"
            )
        self._api = self._client(instance_url, token)
        self._instance_url = instance_url
        self._instance = None
        return credentials.replace(instance_url=instance_url)

    def connect(self, credentials: Credentials) -> AccountInfo:
        credentials = self._bind_client(credentials)
        api = self.api
        try:
            me = self._call("checking the account", api.account_verify_credentials, probe=False)
        except AuthExpired:
            self._api = None
            raise
        except NetworkError as error:
            self._api = None
            # This call *is* the token check: a refusal other than 401 (Pleroma's 403
            # "Invalid credentials.", a 400 page) means the token is not accepted.
            if error.code in {"400", "403", "410", "422"}:
                raise AuthExpired(
                    "The Mastodon instance refused the access token (revoked or wrong): "
                    "reconnect the account.",
                    network=self.name,
                    code=error.code,
                ) from None
            raise
        if not isinstance(me, dict) or "id" not in me:
            self._api = None
            raise Permanent(
                "The server answered something that is not Mastodon's API: check the instance "
                "address.",
                network=self.name,
                code="malformed",
            )
        acct = str(me.get("acct") or me.get("username") or "")
        account = AccountInfo(
            network=self.name,
            account_id=_id(me["id"]),
            handle=f"@{acct}" if "@" in acct else f"@{acct}@{self._account_domain()}",
            display_name=me.get("display_name") or "",
            url=me.get("url") or "",
            avatar_url=me.get("avatar") or "",
        )
        return self._bind(credentials, account)

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        """Bind to a checked account without a call: a refused token shows on the next one."""
        self._bind(self._bind_client(credentials), account)

    # -- the instance -------------------------------------------------------------------------

    def _get_json(self, path: str) -> Any:
        """GET one API path with the token, failures raised as Mastodon.py's errors."""
        api = self.api
        headers = {"User-Agent": "Porte-voix"}
        if api.access_token:
            headers["Authorization"] = f"Bearer {api.access_token}"
        try:
            response = self._session.get(
                self._instance_url + path, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise MastodonNetworkError(
                f"Could not complete request: {type(error).__name__}"
            ) from error
        if not response.ok:
            error_cls = MastodonNotFoundError if response.status_code == 404 else MastodonAPIError
            if response.status_code == 401:
                error_cls = MastodonUnauthorizedError
            elif response.status_code >= 500:
                error_cls = MastodonServerError
            raise error_cls(
                "Mastodon API returned error",
                response.status_code,
                response.reason,
                self._last.error_text,
            )
        try:
            return response.json()
        except ValueError as error:
            raise MastodonAPIError("Could not parse response as JSON") from error

    def instance_info(self, *, max_age: timedelta = _INSTANCE_FRESH) -> dict[str, Any] | None:
        """The instance's own description (``/api/v2/instance``, else ``/api/v1/instance``).

        ``None`` when the server has neither (or answers them with something else than an
        object): the caller keeps its defaults. Network failures (unreachable, 5xx, 429)
        raise, so that a cached answer is not replaced by a guess.
        """
        now = datetime.now(UTC)
        if self._instance is not None and now - self._instance[0] < max_age:
            return self._instance[1]
        for version, path in (("v2", "/api/v2/instance"), ("v1", "/api/v1/instance")):
            try:
                data = self._call(
                    "reading the instance's settings", partial(self._get_json, path), probe=False
                )
            except (Transient, RateLimited):
                raise
            except NetworkError as error:  # 404, 410, 501, a page that is not JSON...
                logger.info("mastodon: %s instance endpoint not usable (%s)", version, error.code)
                continue
            if isinstance(data, dict):
                data = {**data, "_version": version}
                self._instance = (now, data)
                return data
        self._instance = (now, None)
        return None

    def _account_domain(self) -> str:
        """The domain of the instance's accounts (not necessarily the host it is served at)."""
        host = urlsplit(self._instance_url).hostname or ""
        try:
            info = self.instance_info()
        except NetworkError as error:
            logger.info("mastodon: instance not read (%s); handle from the address", error.code)
            return host
        return account_domain(info) or host

    def fetch_limits(self) -> Limits:
        """The instance's limits, read from its own description; defaults when it has none."""
        info = self.instance_info()
        if info is None:
            return type(self).limits
        return limits_from_instance(info, default=type(self).limits)

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
        """As the instance counts: graphemes; a link as ``characters_per_url`` (Mastodon's
        23) or as written where the instance says 0; a mention without its domain."""
        per_url = self.limits.characters_per_url
        if per_url is not None:
            text = _URL.sub("x" * per_url, text)
        text = _MENTION.sub(lambda m: "@" + m.group(1), text)
        return len(_GRAPHEME.findall(unicodedata.normalize("NFC", text)))

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        limits = self.limits
        parts = post.parts()
        warning = self.text_length(post.content_warning) if post.content_warning else 0
        for number, part in enumerate(parts, start=1):
            where = self.part_prefix(number, len(parts))
            videos = [m for m in part.media if m.is_video]
            if videos and (len(videos) > 1 or len(part.media) > 1):
                problems.append(
                    where
                    + _("Mastodon takes one video alone, or up to %(max)s images.")
                    % {"max": limits.max_images}
                )
            if videos and not limits.accepts_video:
                problems.append(where + _("this Mastodon instance does not take videos."))
            elif limits.video_mime_types is not None:
                for item in videos:
                    if item.mime_type not in limits.video_mime_types:
                        problems.append(
                            where
                            + _("%(name)s: this Mastodon instance does not take %(type)s videos.")
                            % {"name": item.filename, "type": item.mime_type}
                        )
            length = self.text_length(part.text)
            # The content warning counts with the text (Mastodon, GoToSocial, Pleroma).
            if warning and length <= limits.max_text_length < length + warning:
                problems.append(
                    where
                    + _(
                        "the text and the content warning are %(length)s characters long "
                        "together; this instance allows %(max)s."
                    )
                    % {"length": length + warning, "max": limits.max_text_length}
                )
        return problems

    # -- publish ------------------------------------------------------------------------------

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        """``https://<instance>/@<user>/<id>`` (or ``/users/<user>/statuses/<id>``) on the
        account's own instance: the status id there. A copy seen through another instance
        has another id, so it is not guessed."""
        link, home = urlsplit(url.strip()), urlsplit(account.url or "")
        if not link.hostname or link.hostname != home.hostname:
            return None
        user = account.handle.lstrip("@").split("@", 1)[0].lower()
        parts = link.path.strip("/").split("/")
        if len(parts) == 2 and parts[0].lower() == f"@{user}" and parts[1].isdigit():
            return parts[1]
        if (
            len(parts) == 4
            and parts[0] == "users"
            and parts[1].lower() == user
            and parts[2] == "statuses"
            and parts[3].isdigit()
        ):
            return parts[3]
        return None

    def _upload(self, media: Sequence[MediaItem]) -> list[str]:
        api = self.api
        ids: list[str] = []
        for item in media:
            # An attachment nobody uses is harmless: uploading again after a failure is fine.
            attachment = self._call(
                "uploading a file",
                partial(
                    api.media_post,
                    item.read_all(),
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
        # No lookup first: two posts may rightly share a text. Within the hour Mastodon
        # answers a repeated Idempotency-Key with the status it already has.
        refs: list[PublishedRef] = []
        parent = post.in_reply_to
        try:
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
                        content_type="text/plain",
                    ),
                    write=True,
                )
                if not isinstance(status, dict) or "id" not in status:
                    raise OutcomeUnknown(
                        "Mastodon answered something unexpected while publishing; the post "
                        "may exist.",
                        network=self.name,
                        code="malformed",
                    )
                ref = self._ref(status)
                logger.info("mastodon: published status %s", ref.post_id)
                refs.append(ref)
                parent = ref.post_id
        except NetworkError as error:
            if not refs or isinstance(error, OutcomeUnknown):
                raise
            # Part of the thread is on the network: nothing after this is "nothing happened".
            raise OutcomeUnknown(
                f"Mastodon published {len(refs)} part(s) of the thread, then: {error.message}",
                network=self.name,
                code=error.code or "thread_cut",
            ) from None
        return _chain(self.name, refs)

    # -- reconcile ----------------------------------------------------------------------------

    def _local_domain(self) -> str:
        handle = self._account.handle if self._account else ""
        return handle.rsplit("@", 1)[-1] if "@" in handle.lstrip("@") else ""

    def _own_since(self, since: datetime | None) -> tuple[list[dict[str, Any]], bool, datetime]:
        """The account's statuses from ``since`` on (server clock), newest first.

        Returns them, whether the scan reached ``since`` (or the start of the account), and
        the time (server clock, whole seconds) statuses must not be older than. Without
        ``since``: the last 24 hours.
        """
        api = self.api
        self._last.clock_offsets = []
        statuses: list[dict[str, Any]] = []
        seen: set[str] = set()
        max_id: str | None = None
        threshold: datetime | None = None
        for page_number in range(_RECONCILE_PAGES):
            try:
                page = self._call(
                    "reading recent posts",
                    partial(
                        api.account_statuses,
                        self.account.account_id,
                        max_id=max_id,
                        limit=_PAGE,
                        exclude_reblogs=True,
                    ),
                )
            except (AuthExpired, RateLimited):
                raise
            except NetworkError:
                if page_number == 0:
                    raise
                logger.info("mastodon: reconcile could not read further back")
                return statuses, False, threshold or _threshold(since, self._last)
            if threshold is None:
                threshold = _threshold(since, self._last)
            if not isinstance(page, list) or not page:
                return statuses, True, threshold
            new = [s for s in page if isinstance(s, dict) and _id(s.get("id")) not in seen]
            if not new:
                # A server that ignores max_id answers the same page again: it is all there
                # is only if it was not a full page.
                return statuses, len(page) < _PAGE, threshold
            seen.update(_id(s.get("id")) for s in new)
            statuses.extend(new)
            oldest = _parse_time(page[-1].get("created_at")) if isinstance(page[-1], dict) else None
            if oldest is not None and oldest < threshold:
                return statuses, True, threshold
            max_id = _id(page[-1].get("id")) if isinstance(page[-1], dict) else None
            if not max_id:
                return statuses, False, threshold
        return statuses, False, threshold or _threshold(since, self._last)

    def _candidate(self, status: Mapping[str, Any], note: str) -> Candidate:
        return Candidate(
            post_id=_id(status.get("id")),
            url=status.get("url") or status.get("uri") or "",
            text=plain_text(status.get("content") or "")[:1000],
            created_at=_parse_time(status.get("created_at")),
            note=note,
        )

    def _differences(
        self, status: Mapping[str, Any], part: ThreadPart, post: OutgoingPost
    ) -> list[str]:
        """What keeps ``status`` from being exactly ``part`` of ``post`` ([] when it is)."""
        local = self._local_domain()
        differences: list[str] = []
        if not same_text(part.text, status, local_domain=local):
            differences.append("the text differs")
        if " ".join((status.get("spoiler_text") or "").split()) != " ".join(
            post.content_warning.split()
        ):
            differences.append("the content warning differs")
        if len(status.get("media_attachments") or []) != len(part.media):
            differences.append("the number of attachments differs")
        return differences

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """The post among the account's own statuses made since the first attempt, or None.

        Only statuses created at or after ``since`` (on the server's clock, measured from its
        ``Date`` header) and not in ``exclude`` can match; each part must match exactly as
        servers render it (mentions by full acct, links, paragraphs, entities), along the
        reply chain. Several matches, a status only like it, or a scan that could not reach
        ``since`` raise ``Ambiguous`` with the candidates: a person decides.
        """
        statuses, complete, threshold = self._own_since(since)
        eligible = [
            s
            for s in reversed(statuses)  # oldest first
            if not s.get("reblog")
            and _id(s.get("id")) not in exclude
            and (_parse_time(s.get("created_at")) or threshold) >= threshold
        ]
        if post is None:
            if not eligible and complete:
                return None
            raise Ambiguous(
                "Porte-voix cannot tell which of the account's recent posts is this one: "
                "look on the network.",
                candidates=tuple(
                    self._candidate(s, "posted since the first attempt") for s in eligible[:20]
                ),
                network=self.name,
            )
        refs: list[PublishedRef] = []
        parent = post.in_reply_to or ""
        parts = post.parts()
        for number, part in enumerate(parts, start=1):
            siblings = [s for s in eligible if _id(s.get("in_reply_to_id")) == parent]
            exact = [s for s in siblings if not self._differences(s, part, post)]
            where = f"part {number} of the thread" if len(parts) > 1 else "the post"
            if len(exact) > 1:
                raise Ambiguous(
                    f"Several posts on the account match {where}: look on the network.",
                    candidates=tuple(self._candidate(s, "same text") for s in exact[:20]),
                    network=self.name,
                )
            if not exact:
                near = [
                    (s, self._differences(s, part, post)) for s in siblings if alike(part.text, s)
                ]
                if near:
                    raise Ambiguous(
                        f"A post on the account looks like {where} but is not the same: look "
                        "on the network.",
                        candidates=tuple(
                            self._candidate(s, "; ".join(d) or "alike") for s, d in near[:20]
                        ),
                        network=self.name,
                    )
                break
            refs.append(self._ref(exact[0]))
            parent = refs[-1].post_id
        if not complete:
            raise Ambiguous(
                "Porte-voix could not read the account's posts back to the first attempt: "
                "look on the network.",
                candidates=tuple(
                    self._candidate(s, "found before the search stopped")
                    for s in eligible
                    if any(alike(p.text, s) for p in parts)
                )[:20],
                network=self.name,
            )
        if not refs:
            return None
        return _chain(self.name, refs)

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
            followers=_count(account.get("followers_count")),
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

    def _notification_item(self, notification: dict[str, Any], own: str) -> InboundItem | None:
        kind_name = notification.get("type")
        status = notification.get("status")
        if kind_name not in {"mention", "quote"} or not isinstance(status, dict):
            return None
        if status.get("visibility") == "direct":
            kind = InboundKind.DM
        elif kind_name == "quote":
            kind = InboundKind.QUOTE
        elif _id(status.get("in_reply_to_account_id")) == own:
            kind = InboundKind.COMMENT
        else:
            kind = InboundKind.MENTION
        try:
            return self._item(status, kind)
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.info("mastodon: a notification's status could not be read; skipped")
            return None

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
                if not isinstance(notification, dict):
                    continue
                notification_id = _id(notification.get("id"))
                if notification_id and (
                    newest is None or _id_key(notification_id) > _id_key(newest)
                ):
                    newest = notification_id
                item = self._notification_item(notification, own)
                if item is not None:
                    items[item.message_id] = item
            ids = [_id(n.get("id")) for n in page if isinstance(n, dict) and n.get("id")]
            if not ids:
                break
            min_id = max(ids, key=_id_key)
            if len(page) < 40:
                break
        # Conversations: private mentions that a notification filter may have hidden. Optional:
        # a server without them (404, 501...) or a failure there skips this part only.
        last_conversation = cursor.get("c") or ""
        newest_conversation = last_conversation
        try:
            conversations = self._call(
                "reading conversations", partial(api.conversations, limit=20), probe=False
            )
        except NetworkError as error:
            logger.info("mastodon: conversations skipped (%s %s)", type(error).__name__, error.code)
            conversations = []
        for conversation in conversations if isinstance(conversations, list) else []:
            status = conversation.get("last_status") if isinstance(conversation, dict) else None
            if not isinstance(status, dict) or not status.get("id"):
                continue
            status_id = _id(status.get("id"))
            if _id((status.get("account") or {}).get("id")) == own:
                continue
            if last_conversation and _id_key(status_id) <= _id_key(last_conversation):
                continue
            try:
                item = self._item(status, InboundKind.DM, thread_id=_id(conversation.get("id")))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if not newest_conversation or _id_key(status_id) > _id_key(newest_conversation):
                newest_conversation = status_id
            items[status_id] = item
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

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The followers now, from ``verify_credentials`` (the account's own view: the real
        count even when it hides its follower list from others)."""
        api = self.api

        def followers() -> int | None:
            me = self._call("reading the followers", api.account_verify_credentials)
            value = me.get("followers_count") if isinstance(me, dict) else None
            return value if isinstance(value, int) else None

        return AccountMetrics(
            network=self.name,
            taken_at=datetime.now(UTC),
            since=since,
            followers=self._figure("followers", followers),
        )

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


def _chain(network: str, refs: Sequence[PublishedRef]) -> PublishedRef:
    first = refs[0]
    return PublishedRef(
        network=network,
        post_id=first.post_id,
        url=first.url,
        published_at=first.published_at,
        thread=tuple(refs[1:]),
    )


def _threshold(since: datetime | None, last: _LastResponse) -> datetime:
    """The oldest ``created_at`` (server clock) a status may have to be the one looked for.

    ``since`` is our clock; the server's runs ``clock_offset`` ahead (measured from its
    ``Date`` header, never later than the truth). Whole seconds: ``Date`` has no more, and
    some servers (Pleroma) write ``created_at`` to the second.
    """
    moment = since if since is not None else datetime.now(UTC) - _RECONCILE_WINDOW
    return (moment.astimezone(UTC) + last.clock_offset()).replace(microsecond=0)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    return None


def account_domain(info: Mapping[str, Any] | None) -> str:
    """The domain of an instance's accounts, from its ``/api/v2`` or ``/api/v1`` answer.

    GoToSocial says it apart (``account_domain``); Mastodon's v2 ``domain`` and v1 ``uri`` are
    its accounts' domain; Pleroma's and GoToSocial's v1 ``uri`` is a URL.
    """
    if not info:
        return ""
    for key in ("account_domain", "domain", "uri"):
        value = info.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        host = urlsplit(value).hostname if "://" in value else value.split("/", 1)[0]
        if host and _HOSTNAME.match(host.lower()):
            return host.lower()
    return ""


def limits_from_instance(info: Mapping[str, Any], *, default: Limits) -> Limits:
    """An instance's limits from its description (v2, or v1 with Pleroma's own fields).

    What the instance does not say keeps ``default``. A list of media types that says
    "anything" (Pleroma: ``application/octet-stream``) keeps the default types; a list without
    any ``video/*`` means no video.
    """
    configuration = info.get("configuration")
    configuration = configuration if isinstance(configuration, Mapping) else {}
    statuses = configuration.get("statuses")
    statuses = statuses if isinstance(statuses, Mapping) else {}
    media = configuration.get("media_attachments")
    media = media if isinstance(media, Mapping) else {}
    pleroma = isinstance(info.get("pleroma"), Mapping)
    upload_limit = _int(info.get("upload_limit"))

    values: dict[str, Any] = {}
    chars = _int(statuses.get("max_characters")) or _int(info.get("max_toot_chars"))
    if chars:
        values["max_text_length"] = chars
    per_url = statuses.get("characters_reserved_per_url")
    if isinstance(per_url, int) and not isinstance(per_url, bool) and per_url >= 0:
        # 0 (Pleroma's v2): links count as written.
        values["characters_per_url"] = per_url or None
    elif pleroma:
        values["characters_per_url"] = None
    attachments = _int(statuses.get("max_media_attachments")) or _int(
        info.get("max_media_attachments")
    )
    if attachments:
        values["max_images"] = attachments
    image_bytes = _int(media.get("image_size_limit")) or upload_limit
    if image_bytes:
        values["max_image_bytes"] = image_bytes
    video_bytes = _int(media.get("video_size_limit")) or upload_limit
    if video_bytes:
        values["max_video_bytes"] = video_bytes
    description = _int(media.get("description_limit")) or _int(info.get("description_limit"))
    if description:
        values["max_alt_text_length"] = description
    types = media.get("supported_mime_types")
    if isinstance(types, list):
        named = {t.strip().lower() for t in types if isinstance(t, str)} - _ANY_TYPE
        if named:
            images = frozenset(t for t in named if t.startswith("image/"))
            videos = frozenset(t for t in named if t.startswith("video/"))
            values["image_mime_types"] = images
            values["video_mime_types"] = videos
            values["accepts_video"] = bool(videos)
    return replace(default, **values)


__all__ = [
    "MastodonNetwork",
    "account_domain",
    "idempotency_header",
    "limits_from_instance",
    "plain_text",
]


def _count(value: Any) -> int | None:
    """A count the server gave, if it is one (servers that hide it send nothing or -1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
