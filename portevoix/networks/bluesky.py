"""Bluesky through the ``atproto`` SDK (app password, session kept and refreshed).

Credentials: ``pds_url`` (default ``https://bsky.social``), ``handle``, ``app_password``,
and ``session``, the SDK's exported session string, which this module adds and keeps up to
date through ``on_credentials_change`` so that a worker does not log in again every time
(``createSession`` is limited to 30 calls per 5 minutes).

``resume`` binds a worker's client from the stored ``session`` without a call (the SDK
refreshes it when it expires); when the server refuses it, the client signs in once with the
app password and goes on, and only a refused app password is ``AuthExpired``.

No post twice: every post (and every part of a thread) is written with ``putRecord`` under a
record key derived from the idempotency key, so a retry writes the same record and
``getRecord`` answers ``reconcile``, exactly (``since`` and ``exclude`` are not needed to find
it). The key is a valid TID (what ``app.bsky.feed.post`` requires), made from a hash of the
idempotency key and the part's number. Once a part of a thread may have been written, every
later failure of that ``publish`` is ``OutcomeUnknown``.

Connections go through the address guard of :mod:`portevoix.networks.http` (the local
reference servers run on loopback: allowed by ``PORTEVOIX_ALLOW_PRIVATE_NETWORKS``).
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import regex
from atproto import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    InvokeTimeoutError,
    LoginRequiredError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.exceptions import NetworkError as SdkNetworkError
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError
from atproto_core.uri import AtUri
from pydantic import ValidationError

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
    Unsupported,
)
from .http import AddressGuard, GuardedTransport, RateBudget
from .i18n import gettext as _
from .registry import register
from .types import (
    AccountInfo,
    AccountMetric,
    AccountMetrics,
    Author,
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

POST_COLLECTION = "app.bsky.feed.post"
DEFAULT_PDS = "https://bsky.social"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_AUTH_ERRORS = frozenset(
    {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown", "AuthMissing"}
)
_NOT_FOUND_ERRORS = frozenset({"RecordNotFound", "NotFound", "RepoNotFound", "AccountNotFound"})
_INBOUND_REASONS = {
    "reply": InboundKind.COMMENT,
    "mention": InboundKind.MENTION,
    "quote": InboundKind.QUOTE,
}
# Enough pages to catch up after a quiet weekend without walking the whole history.
_MAX_NOTIFICATION_PAGES = 10


def record_key(idempotency_key: str, part: int = 0) -> str:
    """The record key (a TID) of part ``part`` of the post published under ``idempotency_key``."""
    digest = hashlib.sha256(f"porte-voix:{idempotency_key}#{part}".encode()).digest()
    value = int.from_bytes(digest[:8], "big") >> 1  # a TID's top bit is always 0
    return "".join(_TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


_GRAPHEME = regex.compile(r"\X")


def grapheme_length(text: str) -> int:
    """Grapheme clusters (what people see as one character), as Bluesky counts its 300.

    Extended grapheme clusters of Unicode (``regex``'s ``\\X``): a flag, a skin-toned emoji,
    a family joined by zero-width joiners, a letter with its accents are one each.
    """
    return len(_GRAPHEME.findall(unicodedata.normalize("NFC", text)))


class _BudgetedRequest(Request):  # type: ignore[misc]  # the SDK ships no type hints
    """The SDK's HTTP layer, honouring the ``RateLimit-*`` headers per XRPC method.

    Overrides the SDK's ``_send_request`` (its one place where a request leaves), so a call
    whose bucket the PDS said was empty is refused here, before it is sent.
    """

    def __init__(self, budget: RateBudget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._budget = budget

    def _new_instance(self) -> _BudgetedRequest:
        return type(self)(self._budget, **self._client_kwargs)

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        bucket = url.rsplit("/xrpc/", 1)[-1].split("?", 1)[0]
        self._budget.check(bucket)
        try:
            response: httpx.Response = super()._send_request(method, url, **kwargs)
        except RequestErrorBase as error:
            if error.response is not None:
                self._record(bucket, error.response.headers)
            raise
        self._record(bucket, {k.lower(): v for k, v in response.headers.items()})
        return response

    def _record(self, bucket: str, headers: dict[str, Any]) -> None:
        self._budget.record(
            bucket,
            {str(k).lower(): str(v) for k, v in headers.items()},
            remaining="ratelimit-remaining",
            reset="ratelimit-reset",
        )


def _xrpc_error(error: RequestErrorBase) -> tuple[int | None, str, str]:
    response = error.response
    if response is None:
        return None, "", ""
    content = response.content
    if isinstance(content, XrpcError):
        return response.status_code, content.error or "", content.message or ""
    return response.status_code, "", ""


@register
class BlueskyNetwork(Network):
    completes_threads: ClassVar[bool] = True
    name: ClassVar[str] = "bluesky"
    label: ClassVar[str] = "Bluesky"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.THREADS,
            Capability.READ_COMMENTS,
            Capability.READ_MENTIONS,
            Capability.READ_QUOTES,
            Capability.REPLY_PUBLIC,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.DELETE_POST,
            Capability.TOKEN_REFRESH,
        }
    )
    #: ``followersCount`` of ``app.bsky.actor.getProfile`` (https://docs.bsky.app/docs/api/
    #: app-bsky-actor-get-profile), from the App View; Bluesky counts no profile visits.
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(
        {AccountMetric.FOLLOWERS}
    )
    limits: Limits = Limits(
        max_text_length=300,
        max_images=4,
        max_image_bytes=1_000_000,
        max_alt_text_length=2000,
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("pds_url", "handle", "app_password")

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        web_url: str = "https://bsky.app",
        transport: httpx.BaseTransport | None = None,
        guard: AddressGuard | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout, on_credentials_change=on_credentials_change, limits=limits
        )
        self.web_url = web_url.rstrip("/")
        # A transport given by the caller (tests) is used as it is; ours goes through the guard.
        self._transport = transport or GuardedTransport(guard)
        self._signed_in_again = False
        self._client: Client | None = None
        self._budget = RateBudget(self.name, self.label)

    # -- errors -------------------------------------------------------------------------------

    def _call[T](self, action: str, fn: Callable[[], T], *, write: bool = False) -> T:
        """Run one SDK call and turn every failure into a typed error.

        ``write`` marks calls that create something visible: a failure after the request may
        have left becomes ``OutcomeUnknown`` instead of ``Transient``. A session the server
        refuses (expired, revoked) is replaced once by signing in with the app password, and
        the call is made again: the refused call did nothing, and writes are ``putRecord``
        under a fixed key.
        """
        try:
            return self._call_once(action, fn, write=write)
        except AuthExpired:
            if not self._sign_in_again():
                raise
        return self._call_once(action, fn, write=write)

    def _sign_in_again(self) -> bool:
        """Sign in with the app password after a refused session (once per client)."""
        credentials = self._credentials
        client = self._client
        if self._signed_in_again or credentials is None or client is None:
            return False
        handle = credentials.get("handle").lstrip("@").strip()
        password = credentials.get("app_password")
        if not (handle and password):
            return False
        self._signed_in_again = True
        logger.info("bluesky: session refused; signing in again with the app password")
        self._call_once(
            "signing in", lambda: client.login(handle, password, fetch_bsky_profile=False)
        )
        return True

    def _call_once[T](self, action: str, fn: Callable[[], T], *, write: bool = False) -> T:
        try:
            return fn()
        except NetworkError:
            raise
        except RateLimitExceededError as error:
            reset_at = error.reset_at
            if reset_at is None and error.retry_after is not None:
                reset_at = datetime.now(UTC) + timedelta(seconds=error.retry_after)
            raise RateLimited(
                f"Bluesky asks us to slow down ({action}); retrying after its limit resets.",
                reset_at=reset_at,
                network=self.name,
                code="429",
            ) from None
        except LoginRequiredError:
            raise AuthExpired(
                "The Bluesky session ended: reconnect the account.", network=self.name
            ) from None
        except UnauthorizedError as error:
            status, code, _ = _xrpc_error(error)
            raise AuthExpired(
                "Bluesky refused the account's credentials (app password revoked or wrong): "
                "reconnect the account.",
                network=self.name,
                code=code or str(status),
            ) from None
        except InvokeTimeoutError as error:
            if write and not isinstance(error.__cause__, httpx.ConnectTimeout):
                raise OutcomeUnknown(
                    f"Bluesky did not answer in time ({action}); the post may exist.",
                    network=self.name,
                    code="timeout",
                ) from None
            raise Transient(
                f"Bluesky did not answer in time ({action}).", network=self.name, code="timeout"
            ) from None
        except BadRequestError as error:
            raise self._map_status(error, action, write) from None
        except SdkNetworkError as error:
            if error.response is None:
                if write and not isinstance(error.__cause__, httpx.ConnectError):
                    raise OutcomeUnknown(
                        f"The connection to Bluesky broke ({action}); the post may exist.",
                        network=self.name,
                        code="connection",
                    ) from None
                raise Transient(
                    f"Could not reach the Bluesky server ({action}): check its address.",
                    network=self.name,
                    code="connection",
                ) from None
            raise self._map_status(error, action, write) from None
        except RequestErrorBase as error:
            raise self._map_status(error, action, write) from None
        except (AtProtocolError, ValidationError, ValueError, KeyError, TypeError):
            # The server answered, but not with the JSON the SDK expected (an HTML page, a
            # truncated body): the address is probably not a Bluesky server.
            if write:
                raise OutcomeUnknown(
                    f"Bluesky answered something unexpected ({action}); the post may exist.",
                    network=self.name,
                    code="malformed",
                ) from None
            raise Transient(
                f"The server answered something that is not Bluesky's API ({action}): "
                "check the address.",
                network=self.name,
                code="malformed",
            ) from None

    def _map_status(self, error: RequestErrorBase, action: str, write: bool) -> NetworkError:
        status, code, message = _xrpc_error(error)
        detail = f": {message}" if message and len(message) < 200 else ""
        tag = code or str(status)
        if code in _AUTH_ERRORS:
            return AuthExpired(
                _("The Bluesky session expired or was revoked: reconnect the account."),
                network=self.name,
                code=tag,
            )
        if code in _NOT_FOUND_ERRORS or status == 404:
            return NotFound(
                _("Bluesky could not find it (%(action)s)%(detail)s.")
                % {"action": _(action), "detail": detail},
                network=self.name,
                code=tag,
            )
        if status == 413 or code == "BlobTooLarge":
            return InvalidInput(
                _("Bluesky refused the file as too large (%(action)s).") % {"action": _(action)},
                network=self.name,
                code=tag,
            )
        if status is not None and status >= 500:
            if write:
                return OutcomeUnknown(
                    _("Bluesky failed while %(action)s (HTTP %(status)s); the post may exist.")
                    % {"action": _(action), "status": status},
                    network=self.name,
                    code=tag,
                )
            return Transient(
                _("Bluesky is unavailable (%(action)s, HTTP %(status)s).")
                % {"action": _(action), "status": status},
                network=self.name,
                code=tag,
            )
        if status == 400 and code in {"InvalidRequest", "InvalidSwap", ""}:
            return InvalidInput(
                _("Bluesky refused it (%(action)s)%(detail)s.")
                % {"action": _(action), "detail": detail},
                network=self.name,
                code=tag,
            )
        return Permanent(
            _("Bluesky refused it (%(action)s)%(detail)s.")
            % {"action": _(action), "detail": detail},
            network=self.name,
            code=tag,
        )

    # -- account ------------------------------------------------------------------------------

    def _new_client(self, pds_url: str) -> Client:
        options: dict[str, Any] = {"timeout": self.timeout, "transport": self._transport}
        return Client(base_url=pds_url, request=_BudgetedRequest(self._budget, **options))

    @property
    def client(self) -> Client:
        if self._client is None:
            raise AuthExpired(
                "This Bluesky account is not connected.", network=self.name, code="not_connected"
            )
        return self._client

    def _parse(self, credentials: Credentials) -> tuple[str, str, str, str]:
        pds_url = (credentials.get("pds_url") or DEFAULT_PDS).rstrip("/")
        if not pds_url.startswith(("https://", "http://")):
            raise InvalidInput(
                "The Bluesky server address must start with https://.",
                network=self.name,
                code="bad_url",
            )
        handle = credentials.get("handle").lstrip("@").strip()
        password = credentials.get("app_password")
        session = credentials.get("session")
        if not session and not (handle and password):
            raise AuthExpired(
                "A Bluesky handle and an app password are needed.",
                network=self.name,
                code="missing",
            )
        return pds_url, handle, password, session

    def _client_for(self, pds_url: str, credentials: Credentials) -> Client:
        """A new SDK client whose session changes are announced while it is ours."""
        client = self._new_client(pds_url)
        kept = [credentials]

        def on_session(event: SessionEvent, new_session: Session) -> None:
            kept[0] = (self._credentials or kept[0]).replace(session=new_session.export())
            if self._client is client:
                self._credentials_changed(kept[0])

        client.on_session_change(on_session)
        return client

    def connect(self, credentials: Credentials) -> AccountInfo:
        pds_url, handle, password, session = self._parse(credentials)
        client = self._client_for(pds_url, credentials)
        logged_in = False
        if session:
            try:
                self._call_once(
                    "resuming the session",
                    lambda: client.login(session_string=session, fetch_bsky_profile=False),
                )
                # Importing a session asks nothing of the server: check it is still good
                # (refreshing it first if the access token has expired).
                self._call_once("checking the session", client.com.atproto.server.get_session)
                logged_in = True
            except AuthExpired:
                if not (handle and password):
                    raise
                client = self._client_for(pds_url, credentials)
            except (Permanent, Transient) as error:
                if not (handle and password) or isinstance(error, Transient):
                    raise
                client = self._client_for(pds_url, credentials)
        if not logged_in:
            self._call_once(
                "signing in", lambda: client.login(handle, password, fetch_bsky_profile=False)
            )
        me = client._session
        if me is None:  # pragma: no cover - the SDK sets it or raises
            raise AuthExpired("Bluesky did not open a session.", network=self.name)
        display_name = ""
        avatar = ""
        try:
            profile = self._call_once("reading the profile", lambda: client.get_profile(me.did))
            display_name = profile.display_name or ""
            avatar = profile.avatar or ""
        except (Transient, NotFound, Permanent):
            pass  # a PDS without an App View still publishes
        account = AccountInfo(
            network=self.name,
            account_id=me.did,
            handle=me.handle,
            display_name=display_name,
            url=f"{self.web_url}/profile/{me.handle}",
            avatar_url=avatar,
        )
        self._adopt(client)
        self._bind(credentials, account)
        self._credentials_changed(credentials.replace(session=client.export_session_string()))
        return account

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        """Bind from the stored session without a call; without one, sign in (``connect``).

        A session the server no longer accepts shows on the first real call, which signs in
        again with the app password (see ``_call``).
        """
        pds_url, _handle, _password, session = self._parse(credentials)
        if not session:
            self.connect(credentials)
            return
        client = self._client_for(pds_url, credentials)
        try:
            client.login(session_string=session, fetch_bsky_profile=False)  # no request
        except Exception:  # a session string this SDK cannot read: sign in instead
            logger.info("bluesky: stored session unreadable; signing in")
            self.connect(credentials)
            return
        self._adopt(client)
        self._bind(credentials, account)

    def _adopt(self, client: Client) -> None:
        if self._client is not None and self._client is not client:
            self._client.request.close()
        self._client = client
        self._signed_in_again = False

    def refresh_credentials(self) -> Credentials:
        client = self.client
        self._call("refreshing the session", client._refresh_and_set_session)
        return self.credentials

    def close(self) -> None:
        if self._client is not None:
            self._client.request.close()
            self._client = None

    # -- compose ------------------------------------------------------------------------------

    def text_length(self, text: str) -> int:
        return grapheme_length(text)

    def validate(self, post: OutgoingPost) -> list[str]:
        problems = super().validate(post)
        for number, part in enumerate(post.parts(), start=1):
            if len(part.text.encode()) > 3000:
                problems.append(
                    self.part_prefix(number, len(post.parts()))
                    + _("the text is longer than Bluesky's 3000 bytes.")
                )
        return problems

    # -- publish ------------------------------------------------------------------------------

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        """``https://bsky.app/profile/<handle or did>/post/<rkey>`` (any client's host) of
        this account: its record's AT URI."""
        parts = urlsplit(url.strip()).path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "profile" or parts[2] != "post" or not parts[3]:
            return None
        who = parts[1].lower()
        if who not in {account.handle.lower().lstrip("@"), account.account_id.lower()}:
            return None
        return f"at://{account.account_id}/{POST_COLLECTION}/{parts[3]}"

    def _did(self) -> str:
        return self.account.account_id

    def _uri(self, rkey: str) -> str:
        return f"at://{self._did()}/{POST_COLLECTION}/{rkey}"

    def _web_url(self, uri: str) -> str:
        parsed = AtUri.from_str(uri)
        return f"{self.web_url}/profile/{parsed.host}/post/{parsed.rkey}"

    def _existing(self, rkey: str) -> models.ComAtprotoRepoGetRecord.Response | None:
        client = self.client
        try:
            return self._call(
                "looking the post up",
                lambda: client.com.atproto.repo.get_record(
                    models.ComAtprotoRepoGetRecord.Params(
                        repo=self._did(), collection=POST_COLLECTION, rkey=rkey
                    )
                ),
            )
        except NotFound:
            return None

    def _ref(self, uri: str, cid: str, published_at: datetime | None = None) -> PublishedRef:
        return PublishedRef(
            network=self.name,
            post_id=uri,
            url=self._web_url(uri),
            published_at=published_at,
            extra={"cid": cid},
        )

    def _strong_ref(self, uri: str) -> models.ComAtprotoRepoStrongRef.Main:
        parsed = AtUri.from_str(uri)
        client = self.client
        found = self._call(
            "reading the post answered",
            lambda: client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=parsed.host, collection=parsed.collection, rkey=parsed.rkey
                )
            ),
        )
        if found.cid is None:
            raise NotFound("Bluesky has no version of the post answered.", network=self.name)
        return models.ComAtprotoRepoStrongRef.Main(uri=found.uri, cid=found.cid)

    def _reply_ref(self, parent_uri: str) -> models.AppBskyFeedPost.ReplyRef:
        parent = self._strong_ref(parent_uri)
        root = parent
        parsed = AtUri.from_str(parent_uri)
        client = self.client
        record = self._call(
            "reading the post answered",
            lambda: client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=parsed.host, collection=parsed.collection, rkey=parsed.rkey
                )
            ),
        ).value
        reply = getattr(record, "reply", None)
        if reply is not None and getattr(reply, "root", None) is not None:
            root = models.ComAtprotoRepoStrongRef.Main(uri=reply.root.uri, cid=reply.root.cid)
        return models.AppBskyFeedPost.ReplyRef(parent=parent, root=root)

    def _upload(self, media: Sequence[MediaItem]) -> models.AppBskyEmbedImages.Main | None:
        if not media:
            return None
        client = self.client
        images = []
        for item in media:
            # A blob nobody references is deleted by the PDS: uploading twice is harmless.
            blob = self._call(
                "uploading an image", partial(client.upload_blob, item.read_all())
            ).blob
            images.append(models.AppBskyEmbedImages.Image(alt=item.alt_text, image=blob))
        return models.AppBskyEmbedImages.Main(images=images)

    def _put(
        self,
        rkey: str,
        part: ThreadPart,
        *,
        reply: models.AppBskyFeedPost.ReplyRef | None,
        language: str,
    ) -> tuple[str, str]:
        client = self.client
        embed = self._upload(part.media)
        facets = self._call("reading mentions and links", lambda: client.detect_facets(part.text))
        record = models.AppBskyFeedPost.Record(
            text=part.text,
            created_at=client.get_current_time_iso(),
            facets=facets or None,
            langs=[language] if language else None,
            embed=embed,
            reply=reply,
        )
        written = self._call(
            "publishing",
            lambda: client.com.atproto.repo.put_record(
                models.ComAtprotoRepoPutRecord.Data(
                    repo=self._did(), collection=POST_COLLECTION, rkey=rkey, record=record
                )
            ),
            write=True,
        )
        logger.info("bluesky: published %s", written.uri)
        return written.uri, written.cid

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        self.ensure_valid(post)
        refs: list[PublishedRef] = []
        reply: models.AppBskyFeedPost.ReplyRef | None = (
            self._reply_ref(post.in_reply_to) if post.in_reply_to else None
        )
        root: models.ComAtprotoRepoStrongRef.Main | None = reply.root if reply else None
        try:
            for number, part in enumerate(post.parts()):
                rkey = record_key(idempotency_key, number)
                existing = self._existing(rkey)
                if existing is not None and existing.cid is not None:
                    uri, cid = existing.uri, existing.cid
                    when = _parse_time(getattr(existing.value, "created_at", None))
                else:
                    uri, cid = self._put(rkey, part, reply=reply, language=post.language)
                    when = datetime.now(UTC)
                refs.append(self._ref(uri, cid, when))
                strong = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
                root = root or strong
                reply = models.AppBskyFeedPost.ReplyRef(parent=strong, root=root)
        except NetworkError as error:
            if not refs or isinstance(error, OutcomeUnknown):
                raise
            # Part of the thread is on the network: nothing after this is "nothing happened".
            raise OutcomeUnknown(
                f"Bluesky published {len(refs)} part(s) of the thread, then: {error.message}",
                network=self.name,
                code=error.code or "thread_cut",
            ) from None
        first = refs[0]
        return PublishedRef(
            network=self.name,
            post_id=first.post_id,
            url=first.url,
            published_at=first.published_at,
            thread=tuple(refs[1:]),
            extra=first.extra,
        )

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """Exact: the record key is derived from the idempotency key.

        A record under that key is this post whenever it was made, so ``since`` is not needed
        to find it; ``exclude`` (posts other publications recorded) is honoured all the same:
        a record another publication claims is not taken on trust, a person looks.
        """
        expected = len(post.parts()) if post is not None else None
        refs: list[PublishedRef] = []
        number = 0
        while expected is None or number < expected:
            found = self._existing(record_key(idempotency_key, number))
            if found is None or found.cid is None:
                break
            created = getattr(found.value, "created_at", None)
            if found.uri in exclude:
                raise Ambiguous(
                    "Another publication already recorded this Bluesky post: look on the network.",
                    candidates=(
                        Candidate(
                            post_id=found.uri,
                            url=self._web_url(found.uri),
                            text=getattr(found.value, "text", "") or "",
                            created_at=_parse_time(created),
                            note="recorded by another publication",
                        ),
                    ),
                    network=self.name,
                )
            refs.append(self._ref(found.uri, found.cid, _parse_time(created)))
            number += 1
            if expected is None and number >= 50:
                break
        if not refs:
            return None
        first = refs[0]
        return PublishedRef(
            network=self.name,
            post_id=first.post_id,
            url=first.url,
            published_at=first.published_at,
            thread=tuple(refs[1:]),
            extra=first.extra,
        )

    def delete(self, ref: PublishedRef) -> None:
        client = self.client
        for post_id in reversed(ref.all_post_ids):
            parsed = AtUri.from_str(post_id)
            self._call(
                "deleting the post",
                partial(
                    client.com.atproto.repo.delete_record,
                    models.ComAtprotoRepoDeleteRecord.Data(
                        repo=parsed.host, collection=parsed.collection, rkey=parsed.rkey
                    ),
                ),
            )

    # -- inbound ------------------------------------------------------------------------------

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Replies, mentions and quotes from the notifications (the App View).

        The cursor is the ``indexedAt`` of the newest notification already seen; items at that
        very time come again (at-least-once), the caller dedupes on ``message_id``.
        """
        client = self.client
        since = _parse_time(since_cursor) if since_cursor else None
        collected: list[InboundItem] = []
        newest: datetime | None = since
        page_cursor: str | None = None
        for _page in range(_MAX_NOTIFICATION_PAGES):
            params = models.AppBskyNotificationListNotifications.Params(
                limit=50, cursor=page_cursor
            )
            page = self._call(
                "reading notifications",
                partial(client.app.bsky.notification.list_notifications, params),
            )
            reached_old = False
            for notification in page.notifications:
                indexed = _parse_time(notification.indexed_at)
                if since is not None and indexed is not None and indexed < since:
                    reached_old = True
                    break
                if indexed is not None and (newest is None or indexed > newest):
                    newest = indexed
                item = self._inbound(notification)
                if item is not None:
                    collected.append(item)
            page_cursor = page.cursor
            if reached_old or not page_cursor or not page.notifications:
                break
        collected.sort(key=lambda item: item.created_at)
        return InboundBatch(
            items=tuple(collected),
            next_cursor=newest.isoformat() if newest is not None else since_cursor,
        )

    def _inbound(
        self, notification: models.AppBskyNotificationListNotifications.Notification
    ) -> InboundItem | None:
        kind = _INBOUND_REASONS.get(notification.reason)
        if kind is None:
            return None
        record: Any = notification.record
        text = getattr(record, "text", "") or ""
        created = _parse_time(getattr(record, "created_at", None)) or _parse_time(
            notification.indexed_at
        )
        in_reply_to: str | None = None
        thread_id: str | None = None
        reply = getattr(record, "reply", None)
        if reply is not None:
            in_reply_to = reply.parent.uri
            thread_id = reply.root.uri
        if kind is InboundKind.QUOTE:
            embed = getattr(record, "embed", None)
            quoted = getattr(embed, "record", None)
            quoted = getattr(quoted, "record", quoted)  # recordWithMedia nests it
            in_reply_to = getattr(quoted, "uri", None) or in_reply_to
        langs = getattr(record, "langs", None) or []
        author = notification.author
        return InboundItem(
            network=self.name,
            message_id=notification.uri,
            kind=kind,
            author=self._author(author),
            text=text,
            created_at=created or datetime.now(UTC),
            in_reply_to=in_reply_to,
            thread_id=thread_id or in_reply_to,
            url=self._web_url(notification.uri),
            language=langs[0] if langs else "",
            extra={"cid": notification.cid},
        )

    def fetch_replies(self, post_id: str) -> InboundBatch:
        """Every answer under ``post_id`` (its thread on the App View), oldest first."""
        client = self.client
        answer = self._call(
            "reading the thread",
            partial(client.get_post_thread, post_id, depth=50, parent_height=0),
        )
        items: list[InboundItem] = []
        own = self._account.account_id if self._account else ""
        pending: list[Any] = list(getattr(answer.thread, "replies", None) or [])
        while pending:
            node = pending.pop()
            view = getattr(node, "post", None)
            if view is None:
                continue  # a blocked or deleted reply
            pending.extend(getattr(node, "replies", None) or [])
            if view.author.did == own:
                continue
            record: Any = view.record
            reply = getattr(record, "reply", None)
            langs = getattr(record, "langs", None) or []
            items.append(
                InboundItem(
                    network=self.name,
                    message_id=view.uri,
                    kind=InboundKind.COMMENT,
                    author=self._author(view.author),
                    text=getattr(record, "text", "") or "",
                    created_at=_parse_time(getattr(record, "created_at", None))
                    or _parse_time(view.indexed_at)
                    or datetime.now(UTC),
                    in_reply_to=reply.parent.uri if reply is not None else post_id,
                    thread_id=reply.root.uri if reply is not None else post_id,
                    url=self._web_url(view.uri),
                    language=langs[0] if langs else "",
                    extra={"cid": view.cid},
                )
            )
        items.sort(key=lambda item: item.created_at)
        return InboundBatch(items=tuple(items))

    def _author(self, author: Any) -> Author:
        return Author(
            id=author.did,
            handle=author.handle,
            display_name=author.display_name or "",
            url=f"{self.web_url}/profile/{author.handle}",
            avatar_url=author.avatar or "",
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
            raise Unsupported(
                "Bluesky private messages go through a separate chat service that Porte-voix "
                "does not reach yet.",
                network=self.name,
            )
        target = to.message_id if isinstance(to, InboundItem) else to
        return self.publish(
            OutgoingPost(text=text, in_reply_to=target), idempotency_key=idempotency_key
        )

    # -- metrics ------------------------------------------------------------------------------

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The followers now, as the App View counts them (a PDS without an App View: None,
        "not offered")."""
        client = self.client
        did = self.account.account_id

        def followers() -> int | None:
            profile = self._call("reading the followers", partial(client.get_profile, did))
            value = profile.followers_count
            return value if isinstance(value, int) else None

        return AccountMetrics(
            network=self.name,
            taken_at=datetime.now(UTC),
            since=since,
            followers=self._figure("followers", followers),
        )

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        client = self.client
        uris = [ref.post_id for ref in refs]
        snapshots: list[MetricSnapshot] = []
        for start in range(0, len(uris), 25):
            chunk = uris[start : start + 25]
            answer = self._call("reading metrics", partial(client.get_posts, chunk))
            now = datetime.now(UTC)
            for view in answer.posts:
                snapshots.append(
                    MetricSnapshot(
                        network=self.name,
                        post_id=view.uri,
                        taken_at=now,
                        likes=view.like_count or 0,
                        reposts=view.repost_count or 0,
                        replies=view.reply_count or 0,
                        quotes=view.quote_count or 0,
                        views=None,
                        extra={"bookmarks": view.bookmark_count or 0}
                        if getattr(view, "bookmark_count", None) is not None
                        else {},
                    )
                )
        return snapshots


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


__all__ = ["BlueskyNetwork", "grapheme_length", "record_key"]
