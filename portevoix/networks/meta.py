"""Meta's Graph API, shared by the Facebook pages and Instagram modules (httpx, no SDK).

Why not ``facebook-business``: see ``docs/adr/1101-facebook-instagram.md``.

- **The app.** Facebook Login needs one Meta app per Porte-voix server: its id and secret
  are the operator's (``PORTEVOIX_META_APP_ID``, ``PORTEVOIX_META_APP_SECRET``), handed to
  this module by :func:`configure` when Django starts, like the private-networks switch. The
  Graph and login-dialog addresses are settings too (``PORTEVOIX_META_GRAPH_URL``,
  ``PORTEVOIX_META_DIALOG_URL``), so tests point them at a fake on loopback.
- **Tokens.** The login gives a short-lived user token, exchanged at once for a long-lived
  one (about 60 days); the token of the page chosen, asked with that long-lived token, does
  not expire. Calls send it in the ``Authorization`` header (never in the address, which
  httpx logs), with ``appsecret_proof`` when the app secret is known.
- **Errors.** Graph errors carry a ``code`` (and ``error_subcode``); :meth:`GraphClient.
  map_error` turns them into the typed errors (4, 17, 32, 613, 80001-80014: rate limited;
  102, 190: token refused; 10, 200-299: permission; 368: blocked; 506: duplicate...). The
  usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``, ``X-Page-Usage``) are read
  on every answer: at 100 % of any share, the next call waits without being sent (the
  business-use-case header says for how long).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

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
from .http import GuardedTransport, RateBudget
from .i18n import gettext as _

logger = logging.getLogger(__name__)

GRAPH_VERSION = "v26.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_DIALOG_URL = "https://www.facebook.com"

# Graph error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling and
# https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, *range(80001, 80015)})
TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
#: A private message sent outside the 24-hour window (Messenger, Instagram messaging).
WINDOW_SUBCODES = frozenset({2018278, 2534022})
TRANSIENT_CODES = frozenset({1, 2})
# Video uploads refused for the file itself (https://developers.facebook.com/docs/video-api/
# reference/error-codes/): too small (1363022), too large (1363023), not a video (1363031).
VIDEO_REFUSED_SUBCODES = frozenset({1363022, 1363023, 1363031})
# Upload-phase failures the same page says to retry (timeout, partial chunk, wrong offset).
VIDEO_RETRY_SUBCODES = frozenset({1363019, 1363030, 1363033, 1363037})
# When a limit is hit without a header saying how long: Graph's windows roll over one hour.
_DEFAULT_WAIT = timedelta(hours=1)
_USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-ad-account-usage")
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class MetaApp:
    app_id: str = ""
    app_secret: str = ""
    graph_url: str = DEFAULT_GRAPH_URL
    dialog_url: str = DEFAULT_DIALOG_URL

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.app_secret)


_app = MetaApp()


def configure(
    *,
    app_id: str = "",
    app_secret: str = "",
    graph_url: str = "",
    dialog_url: str = "",
) -> None:
    """Set, for this process, the Meta app and the addresses of Graph and its login dialog."""
    global _app
    _app = MetaApp(
        app_id=app_id.strip(),
        app_secret=app_secret.strip(),
        graph_url=(graph_url.strip() or DEFAULT_GRAPH_URL).rstrip("/"),
        dialog_url=(dialog_url.strip() or DEFAULT_DIALOG_URL).rstrip("/"),
    )


def app() -> MetaApp:
    return _app


def first_link(text: str) -> str:
    """The first web address in ``text`` (Facebook previews it as the post's link)."""
    match = _URL.search(text or "")
    return match.group(0).rstrip(".,;:!?)") if match else ""


def parse_time(value: Any) -> datetime | None:
    """Graph's times: ``2026-11-30T10:15:00+0000`` (or ISO 8601 with a colon)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _usage_full(value: str | None) -> tuple[bool, int]:
    """Whether a usage header says some share is at 100 %, and the minutes to wait (0: unsaid)."""
    if not value:
        return False, 0
    try:
        data = json.loads(value)
    except ValueError:
        return False, 0
    entries: list[Mapping[str, Any]] = []
    if isinstance(data, Mapping):
        # X-App-Usage: {"call_count": 28, ...}; X-Business-Use-Case-Usage: {"<id>": [{...}]}
        if any(k in data for k in ("call_count", "total_time", "total_cputime")):
            entries.append(data)
        else:
            for value_list in data.values():
                if isinstance(value_list, list):
                    entries.extend(e for e in value_list if isinstance(e, Mapping))
    full = False
    wait = 0
    for entry in entries:
        for key in ("call_count", "total_time", "total_cputime"):
            number = entry.get(key)
            if isinstance(number, int | float) and number >= 100:
                full = True
        regain = entry.get("estimated_time_to_regain_access")
        if isinstance(regain, int | float) and regain > 0:
            full = True
            wait = max(wait, int(regain))
    return full, wait


class GraphClient:
    """One Graph API connection with one token; every failure comes out typed."""

    def __init__(
        self,
        network: str,
        label: str,
        *,
        graph_url: str,
        token: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.network = network
        self.label = label
        self.graph_url = graph_url.rstrip("/")
        self._token = token
        self._budget = RateBudget(network, label)
        self._wait_until: datetime | None = None
        self._last_wait: timedelta | None = None
        self._http = httpx.Client(
            base_url=f"{self.graph_url}/{GRAPH_VERSION}",
            timeout=timeout,
            transport=transport or GuardedTransport(),
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _auth(self, token: str | None) -> tuple[dict[str, str], dict[str, str]]:
        used = self._token if token is None else token
        if not used:
            return {}, {}
        params: dict[str, str] = {}
        secret = app().app_secret
        if secret:
            params["appsecret_proof"] = hmac.new(
                secret.encode(), used.encode(), hashlib.sha256
            ).hexdigest()
        return {"Authorization": f"Bearer {used}"}, params

    # -- calls ------------------------------------------------------------------------------

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, action: str
    ) -> dict[str, Any]:
        return self.request("GET", path, params=params, action=action)

    def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        action: str,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        write: bool = True,
        token: str | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "POST", path, data=data, files=files, action=action, write=write, token=token
        )

    def delete(self, path: str, *, action: str) -> dict[str, Any]:
        return self.request("DELETE", path, action=action, write=True)

    def request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        write: bool = False,
        token: str | None = None,
    ) -> dict[str, Any]:
        """One call. ``write``: a failure after sending is ``OutcomeUnknown``, not ``Transient``."""
        self._check_budget()
        label = self.label
        headers, auth_params = self._auth(token)
        query = {**{k: _text(v) for k, v in (params or {}).items()}, **auth_params}
        body = {k: _text(v) for k, v in (data or {}).items()} if data is not None else None
        try:
            response = self._http.request(
                method,
                "/" + path.lstrip("/"),
                params=query or None,
                data=body,
                files=files,
                headers=headers,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Transient(
                _("%(label)s could not be reached (%(action)s); trying again later.")
                % {"label": label, "action": _(action)},
                network=self.network,
                code="connect",
            ) from error
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as error:
            if write:
                raise OutcomeUnknown(
                    _(
                        "%(label)s did not answer in time (%(action)s): Porte-voix checks "
                        "whether it went through before doing anything else."
                    )
                    % {"label": label, "action": _(action)},
                    network=self.network,
                    code="timeout",
                ) from error
            raise Transient(
                _("%(label)s did not answer in time (%(action)s); trying again later.")
                % {"label": label, "action": _(action)},
                network=self.network,
                code="timeout",
            ) from error
        except httpx.HTTPError as error:
            raise Transient(
                _("%(label)s could not be reached (%(action)s).")
                % {"label": label, "action": _(action)},
                network=self.network,
                code="http",
            ) from error
        self._read_usage(response.headers)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_success and isinstance(payload, dict):
            return payload
        if response.is_success and payload is True:
            return {"success": True}
        raise self.map_error(response.status_code, payload, action=action, write=write)

    # -- limits -----------------------------------------------------------------------------

    def _check_budget(self) -> None:
        until = self._wait_until
        if until is None:
            return
        if until <= datetime.now(UTC):
            self._wait_until = None
            return
        raise RateLimited(
            _("%(label)s's rate limit is used up until %(time)s UTC; waiting for it.")
            % {"label": self.label, "time": f"{until:%H:%M}"},
            reset_at=until,
            network=self.network,
            code="budget",
        )

    def _read_usage(self, headers: httpx.Headers) -> None:
        full = False
        wait = 0
        for name in _USAGE_HEADERS:
            got, minutes = _usage_full(headers.get(name))
            full, wait = full or got, max(wait, minutes)
        got, minutes = _usage_full(headers.get("x-business-use-case-usage"))
        full, wait = full or got, max(wait, minutes)
        if full:
            delay = timedelta(minutes=wait) if wait else _DEFAULT_WAIT
            self._wait_until = datetime.now(UTC) + delay
        self._last_wait = timedelta(minutes=wait) if wait else None

    def map_error(self, status: int, payload: Any, *, action: str, write: bool) -> NetworkError:
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        subcode = (
            error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
        )
        user_message = error.get("error_user_msg")
        detail = user_message if isinstance(user_message, str) and len(user_message) < 300 else ""
        tag = str(code if code is not None else status) + (f"/{subcode}" if subcode else "")
        name, label = self.network, self.label
        if code == 9 and subcode == 2207042:
            return RateLimited(
                _("%(label)s: the account has reached its publishing quota for 24 hours; waiting.")
                % {"label": label},
                reset_at=datetime.now(UTC) + _DEFAULT_WAIT,
                network=name,
                code=tag,
            )
        if subcode == 2207052 or (code == 9004 and not subcode):
            return InvalidInput(
                _(
                    "%(label)s could not fetch the media from Porte-voix: the server's public "
                    "address "
                    "(PORTEVOIX_BASE_URL, /public/media/) must be reachable from the internet."
                )
                % {"label": label},
                network=name,
                code=tag,
            )
        if subcode in VIDEO_REFUSED_SUBCODES:
            # The file itself: a person must change it, trying again changes nothing.
            reason = detail or str(error.get("message") or "") or "the video was refused"
            return InvalidInput(
                _("%(label)s refused the video (%(action)s): %(reason)s")
                % {"label": label, "action": _(action), "reason": reason},
                network=name,
                code=tag,
            )
        if subcode in VIDEO_RETRY_SUBCODES:
            # An error answer: this call was refused, nothing was published by it. Graph may
            # say where to take the upload up again (``error_data``: the chunk it wants).
            data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
            return VideoChunkRefused(
                _("%(label)s lost part of the video upload (%(action)s); starting it again later.")
                % {"label": label, "action": _(action)},
                network=name,
                code=tag,
                start_offset=_offset_or_none((data or {}).get("start_offset")),
                end_offset=_offset_or_none((data or {}).get("end_offset")),
            )
        if code in RATE_LIMIT_CODES or status == 429:
            wait = self._last_wait or _DEFAULT_WAIT
            reset_at = self._wait_until or datetime.now(UTC) + wait
            return RateLimited(
                _("%(label)s asks us to slow down (%(action)s); retrying after its limit resets.")
                % {"label": label, "action": _(action)},
                reset_at=reset_at,
                network=name,
                code=tag,
            )
        if code in TOKEN_CODES or (error.get("type") == "OAuthException" and code is None):
            return AuthExpired(
                _(
                    "%(label)s no longer accepts Porte-voix's access (the token expired or was "
                    "revoked, or the password changed): reconnect the account."
                )
                % {"label": label},
                network=name,
                code=tag,
            )
        if subcode in WINDOW_SUBCODES:
            # Messenger (2018278) and Instagram (2534022): the person's last message is more
            # than 24 hours old; no retry changes that, only a new message from them.
            return Permanent(
                _(
                    "%(label)s refused the private answer: it may only be sent within 24 hours of "
                    "the person's last message (the standard messaging window). Answer another "
                    "way, or wait until they write again."
                )
                % {"label": label},
                network=name,
                code=tag,
            )
        if code == 10 or code == 3:
            return Permanent(
                _(
                    "%(label)s refused: this Meta app may not do that yet (%(action)s). The app "
                    "needs "
                    "the permission through Meta's App Review (see the deployment guide)."
                )
                % {"label": label, "action": _(action)},
                network=name,
                code=tag,
            )
        if code in PERMISSION_CODES:
            return AuthExpired(
                _(
                    "%(label)s refused: a permission is missing (%(action)s). Reconnect the "
                    "account "
                    "and grant every permission Porte-voix asks for."
                )
                % {"label": label, "action": _(action)},
                network=name,
                code=tag,
            )
        if code == 368:
            return Permanent(
                _(
                    "%(label)s has temporarily blocked this account from doing that (policy "
                    "restriction): look at the account's quality in Meta Business Suite."
                )
                % {"label": label},
                network=name,
                code=tag,
            )
        if code == 506:
            return Permanent(
                _("%(label)s refused a duplicate: the same text was just published on this page.")
                % {"label": label},
                network=name,
                code=tag,
            )
        if (code == 100 and subcode == 33) or code == 803 or status == 404:
            return NotFound(
                _("%(label)s: what this refers to does not exist or cannot be seen (%(action)s).")
                % {"label": label, "action": _(action)},
                network=name,
                code=tag,
            )
        if code in TRANSIENT_CODES or status >= 500:
            if write:
                return OutcomeUnknown(
                    _(
                        "%(label)s failed on its side (%(action)s): Porte-voix checks whether it "
                        "went "
                        "through before doing anything else."
                    )
                    % {"label": label, "action": _(action)},
                    network=name,
                    code=tag,
                )
            return Transient(
                _("%(label)s failed on its side (%(action)s); trying again later.")
                % {"label": label, "action": _(action)},
                network=name,
                code=tag,
            )
        if code in {100, 324, 1609005, 9004, 36000, 36001, 36003, 2207052, 2207004}:
            reason = detail or "the network refused what was sent"
            return InvalidInput(
                _("%(label)s refused it (%(action)s): %(reason)s.")
                % {"label": label, "action": _(action), "reason": reason},
                network=name,
                code=tag,
            )
        if payload is None:
            return (
                Transient(
                    _("%(label)s answered something that is not its API (%(action)s).")
                    % {"label": label, "action": _(action)},
                    network=name,
                    code=str(status),
                )
                if not write
                else OutcomeUnknown(
                    _(
                        "%(label)s answered something that is not its API (%(action)s): "
                        "Porte-voix checks "
                        "whether it went through."
                    )
                    % {"label": label, "action": _(action)},
                    network=name,
                    code=str(status),
                )
            )
        reason = detail or "refused"
        return Permanent(
            _("%(label)s refused it (%(action)s): %(reason)s.")
            % {"label": label, "action": _(action), "reason": reason},
            network=name,
            code=tag,
        )


class VideoChunkRefused(Transient):
    """Graph refused one chunk of a resumable video upload (subcodes 1363019, 1363030, 1363033,
    1363037); ``start_offset``/``end_offset`` are the chunk it asks for next, when it says."""

    def __init__(
        self,
        message: str,
        *,
        network: str = "",
        code: str = "",
        start_offset: int | None = None,
        end_offset: int | None = None,
    ) -> None:
        super().__init__(message, network=network, code=code)
        self.start_offset = start_offset
        self.end_offset = end_offset

    @property
    def resumable(self) -> bool:
        return (
            self.start_offset is not None
            and self.end_offset is not None
            and self.end_offset > self.start_offset
        )


def _offset_or_none(value: Any) -> int | None:
    """Graph's byte offsets come as numbers or strings ("52428800")."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number >= 0 else None


def missing_permission(error: NetworkError) -> bool:
    """Whether ``error`` is Graph's "permission missing" (10, 200-299) rather than a dead token:
    an optional part (Messenger, insights) is skipped for it, the channel is not."""
    head = (error.code or "").split("/", 1)[0]
    return head.isdigit() and int(head) in PERMISSION_CODES


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """Whether ``header`` (``X-Hub-Signature-256: sha256=<hex>``) is the HMAC-SHA256 of the raw
    ``body`` under the app secret, as Meta signs its webhooks
    (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads).
    """
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def count_field(answer: Mapping[str, Any], name: str) -> int | None:
    """A count Graph gives as a field (``followers_count``), or None when it is absent."""
    value = answer.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def total_value(answer: Mapping[str, Any], metric: str) -> int | None:
    """An insight read with ``metric_type=total_value``: ``{"total_value": {"value": n}}``."""
    for row in answer.get("data") or []:
        if isinstance(row, dict) and row.get("name") == metric:
            total = row.get("total_value")
            value = total.get("value") if isinstance(total, dict) else None
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def daily_total(
    answer: Mapping[str, Any], metric: str, since: datetime, until: datetime
) -> int | None:
    """The sum of ``metric``'s day values (``period=day``) whose day ended after ``since`` and
    by ``until``: a day is counted by the first reading after it ended, never twice by two
    readings six hours apart. None when the answer does not carry the metric."""
    found = False
    total = 0
    for row in answer.get("data") or []:
        if not isinstance(row, dict) or row.get("name") != metric:
            continue
        found = True
        for point in row.get("values") or []:
            if not isinstance(point, dict):
                continue
            value = point.get("value")
            end = parse_time(point.get("end_time"))
            if isinstance(value, int) and end is not None and since < end <= until:
                total += value
    return total if found else None


def optional_part(network: str, what: str, run: Callable[[], None]) -> None:
    """Run one optional part of a sync (tags, direct messages): a missing permission or an
    endpoint the account cannot use skips it, logged; a dead token still stops the sync."""
    try:
        run()
    except (Permanent, NotFound, AuthExpired) as error:
        if isinstance(error, AuthExpired) and not missing_permission(error):
            raise
        logger.info("%s: %s skipped (%s %s)", network, what, type(error).__name__, error.code)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# -- Facebook Login ---------------------------------------------------------------------------


def require_app(label: str, network: str) -> MetaApp:
    current = app()
    if not current.configured:
        raise Permanent(
            f"{label} is not set up on this Porte-voix server: the administrator must create a "
            "Meta app and set PORTEVOIX_META_APP_ID and PORTEVOIX_META_APP_SECRET.",
            network=network,
            code="no_app",
        )
    return current


def dialog_url(*, redirect_uri: str, state: str, scopes: tuple[str, ...]) -> str:
    current = app()
    query = urlencode(
        {
            "client_id": current.app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "scope": ",".join(scopes),
        }
    )
    return f"{current.dialog_url}/{GRAPH_VERSION}/dialog/oauth?{query}"


def long_lived_user_token(
    client: GraphClient, *, code: str, redirect_uri: str
) -> tuple[str, datetime | None]:
    """Trade the login's code for a user token, then that for a long-lived one (~60 days)."""
    current = app()
    short = client.post(
        "oauth/access_token",
        {
            "client_id": current.app_id,
            "client_secret": current.app_secret,
            "redirect_uri": redirect_uri,
            "code": code,
        },
        action="finishing the login",
        write=False,
        token="",
    )
    short_token = short.get("access_token")
    if not isinstance(short_token, str) or not short_token:
        raise Permanent(
            f"{client.label} answered the login without a token. Start again.",
            network=client.network,
            code="no_token",
        )
    long = client.post(
        "oauth/access_token",
        {
            "grant_type": "fb_exchange_token",
            "client_id": current.app_id,
            "client_secret": current.app_secret,
            "fb_exchange_token": short_token,
        },
        action="asking for a long-lived token",
        write=False,
        token="",
    )
    token = long.get("access_token")
    if not isinstance(token, str) or not token:
        raise Permanent(
            f"{client.label} did not give a long-lived token. Start again.",
            network=client.network,
            code="no_token",
        )
    expires = long.get("expires_in")
    expires_at = (
        datetime.now(UTC) + timedelta(seconds=int(expires))
        if isinstance(expires, int) and expires > 0
        else None
    )
    return token, expires_at


def choose_page(
    pages: list[dict[str, Any]], hint: str, *, label: str, network: str, what: str = "page"
) -> dict[str, Any]:
    """The page (or account) the person meant: by id, name or user name; the only one if no hint."""
    wanted = hint.strip().lstrip("@").lower()
    if wanted:
        found = [
            p
            for p in pages
            if wanted
            in {
                str(p.get("id", "")).lower(),
                str(p.get("name", "")).lower(),
                str(p.get("username", "")).lower(),
            }
        ]
    else:
        found = list(pages)
    if len(found) == 1:
        return found[0]
    names = ", ".join(sorted(str(p.get("name") or p.get("username") or p.get("id")) for p in pages))
    if not pages:
        raise InvalidInput(
            f"No {what} was shared with Porte-voix during the {label} login. Start again and "
            f"tick the {what} to connect.",
            network=network,
            code="no_page",
        )
    if not found:
        raise InvalidInput(
            f"No {what} called “{hint.strip()[:80]}” was shared with Porte-voix (shared: "
            f"{names}). Start again with one of these names.",
            network=network,
            code="no_such_page",
        )
    raise InvalidInput(
        f"Several {what}s were shared with Porte-voix ({names}): start again and type the name "
        f"of the {what} to connect.",
        network=network,
        code="several_pages",
    )


__all__ = [
    "DEFAULT_DIALOG_URL",
    "DEFAULT_GRAPH_URL",
    "GRAPH_VERSION",
    "GraphClient",
    "MetaApp",
    "VideoChunkRefused",
    "app",
    "choose_page",
    "configure",
    "dialog_url",
    "first_link",
    "long_lived_user_token",
    "missing_permission",
    "parse_time",
    "require_app",
]
