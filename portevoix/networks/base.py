"""The one interface every network module implements.

A ``Network`` subclass describes a network (``name``, ``label``, ``capabilities``,
``limits``); an instance of it is one connected account: ``connect(credentials)`` binds it,
then ``publish``, ``fetch_inbound``, ``reply``, ``metrics``... act as that account. Nothing
here assumes HTTP: the database-backed sandbox network implements the same methods.

Rules every module follows (they are checked by ``tests/networks/contract.py``):

- every failure is one of the typed errors of :mod:`portevoix.networks.errors`;
- a write that may have been accepted raises ``OutcomeUnknown``, never ``Transient``;
- ``publish`` with an ``idempotency_key`` already used returns the same post, or the
  module makes ``reconcile(idempotency_key)`` find it; it never posts twice knowingly;
- credentials never appear in a log record or an exception message;
- a capability that is not in ``capabilities`` raises ``Unsupported``;
- once any part of a post may have been accepted, every later failure of that ``publish`` is
  ``OutcomeUnknown`` (a thread cut midway is never "nothing happened");
- ``reconcile`` answers only with a post made after ``since`` and not in ``exclude``; when it
  cannot be sure, it raises ``Ambiguous`` with the candidates, it never guesses.

Limits: ``limits`` (class) are the network's documented defaults. A server may say otherwise
(a Mastodon instance allows 5,000 characters, or no video): ``fetch_limits`` reads them from
the server, the caller caches them with the channel and passes them back as ``limits=`` when
it builds the instance, so that ``validate`` refuses at compose time what the server would.
"""

from __future__ import annotations

import abc
import logging
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from .errors import AuthExpired, InvalidInput, NotFound, Permanent, Unsupported
from .i18n import gettext as _
from .types import (
    AccountInfo,
    AccountMetric,
    AccountMetrics,
    AuthorizationRequest,
    Capability,
    Credentials,
    InboundBatch,
    InboundItem,
    Limits,
    MediaItem,
    MetricSnapshot,
    OutgoingPost,
    PublishedRef,
    Visibility,
)

logger = logging.getLogger(__name__)

CredentialsListener = Callable[[Credentials], None]


class Journal(Protocol):
    """Where a module writes down, durably, the steps of a write before and after each call.

    Networks without idempotency keys (Facebook, Instagram) note here what they are about to
    send and the ids the network gave back (Instagram's container id, before ``media_publish``),
    keyed by the caller's ``idempotency_key``: a crash between two calls then neither loses nor
    doubles the post, ``reconcile`` reads it back. The Django side stores it with the channel
    (``channels.PublishJournal``); the default keeps it in memory (plain Python, tests).
    """

    def get(self, key: str) -> Mapping[str, str] | None: ...

    def put(self, key: str, values: Mapping[str, str]) -> None: ...


class MemoryJournal:
    """A journal in memory, for one process (plain Python use and tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, str]] = {}

    def get(self, key: str) -> Mapping[str, str] | None:
        with self._lock:
            entry = self._entries.get(key)
            return dict(entry) if entry is not None else None

    def put(self, key: str, values: Mapping[str, str]) -> None:
        with self._lock:
            self._entries[key] = dict(values)


class Network(abc.ABC):
    """One social network, bound to one account after ``connect``."""

    #: Templates read a network class's attributes (``{{ network.label }}``) without calling
    #: the class: each call would build an instance and its HTTP client (an SSL context,
    #: about 50 ms), which made the page that lists the networks take seconds.
    do_not_call_in_templates: ClassVar[bool] = True
    #: Registry key, lower case ("bluesky").
    name: ClassVar[str]
    #: Name shown to people ("Bluesky").
    label: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    limits: Limits
    #: The built-in demo network says so everywhere.
    is_sandbox: ClassVar[bool] = False
    #: Published by a person, not by Porte-voix (a network without an open publishing API):
    #: the worker never calls ``publish``; it reminds the channel's owner instead.
    is_manual: ClassVar[bool] = False
    #: Keys ``connect`` needs in the credentials, for forms and checks.
    credential_fields: ClassVar[tuple[str, ...]] = ()
    #: Those of ``credential_fields`` a person may leave empty.
    optional_credential_fields: ClassVar[frozenset[str]] = frozenset()
    #: What the OAuth start page asks, passed to ``begin_authorization`` by name
    #: (``instance_url`` as its first argument); optional ones as ``optional_credential_fields``.
    oauth_fields: ClassVar[tuple[str, ...]] = ("instance_url",)

    #: How long after a lost call (a timeout, a killed worker) the network may still act on
    #: it: ``reconcile`` is not trusted before this has passed since the call. The default is
    #: the call's own timeout (``None``); a network that runs in-process can say 0.
    settle_seconds: ClassVar[float | None] = None
    #: Publishing again under the same key completes a thread cut midway without repeating
    #: the parts already there, whenever it is done (Bluesky: record keys; the sandbox: its
    #: store by key). False where that holds only for a while (Mastodon's one-hour
    #: ``Idempotency-Key``): a cut thread then goes to a person.
    completes_threads: ClassVar[bool] = False

    #: The module writes its steps to a durable ``journal`` (constructor argument): the caller
    #: passes one kept with the channel.
    uses_journal: ClassVar[bool] = False

    #: The module counts a daily quota shared by every client of one project in a ``ledger``
    #: (constructor argument; YouTube): the caller passes one every process shares.
    uses_quota_ledger: ClassVar[bool] = False

    #: The account figures ``account_metrics`` reads here (with ``Capability.ACCOUNT_METRICS``);
    #: the others are always ``None``: "not offered". One the account's token may not read
    #: (a permission not granted) is ``None`` too, without hiding the others.
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset()

    #: Seconds a call may take before it is given up (``timeout=`` overrides it).
    default_timeout: ClassVar[float] = 30.0

    def __init__(
        self,
        *,
        timeout: float | None = None,
        on_credentials_change: CredentialsListener | None = None,
        limits: Limits | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.timeout = self.default_timeout if timeout is None else timeout
        #: The steps of writes in progress (see ``Journal``); only some modules use it.
        self.journal: Journal = journal if journal is not None else MemoryJournal()
        self._on_credentials_change = on_credentials_change
        self._credentials: Credentials | None = None
        self._account: AccountInfo | None = None
        if limits is not None:
            #: This account's server's limits (cached by the caller), else the class defaults.
            self.limits = limits

    @property
    def settle(self) -> float:
        """Seconds to wait after a lost call before ``reconcile`` can be trusted."""
        return self.timeout if self.settle_seconds is None else self.settle_seconds

    def __repr__(self) -> str:
        account = self._account.handle if self._account else "not connected"
        return f"<{type(self).__name__} {account}>"

    # -- capabilities -------------------------------------------------------------------

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        return capability in cls.capabilities

    def require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise Unsupported(
                f"{self.label} does not support {capability.value.replace('_', ' ')}.",
                network=self.name,
                code="unsupported",
            )

    # -- account --------------------------------------------------------------------------

    @abc.abstractmethod
    def connect(self, credentials: Credentials) -> AccountInfo:
        """Check the credentials with the network, bind this instance to the account.

        Raises ``AuthExpired`` if they are refused, ``Permanent``/``NotFound`` for a wrong
        address, ``Transient``/``RateLimited`` if the network cannot answer now.
        """

    def verify(self) -> AccountInfo:
        """Check again that the bound credentials still work (token health)."""
        return self.connect(self.credentials)

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        """Bind to an account already checked (by ``connect``) without asking the network.

        The worker keeps connected clients and verifies them on a schedule and when a call is
        refused, not before every post. The default checks anyway: a module whose calls carry
        the credentials themselves overrides it to bind without a call.
        """
        self.connect(credentials)

    def fetch_limits(self) -> Limits:
        """This account's server's own limits (characters, media types and sizes, video).

        The default is the documented ``limits``; modules whose servers differ read them from
        the server. Optional: a failure here never stops publishing (the caller keeps the
        limits it has).
        """
        return type(self).limits

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            raise AuthExpired(
                f"This {self.label} account is not connected.",
                network=self.name,
                code="not_connected",
            )
        return self._credentials

    @property
    def account(self) -> AccountInfo:
        if self._account is None:
            raise AuthExpired(
                f"This {self.label} account is not connected.",
                network=self.name,
                code="not_connected",
            )
        return self._account

    def _bind(self, credentials: Credentials, account: AccountInfo) -> AccountInfo:
        self._credentials = credentials
        self._account = account
        return account

    def _credentials_changed(self, credentials: Credentials) -> None:
        """Modules call this when the network handed out new secrets (refreshed session)."""
        self._credentials = credentials
        if self._on_credentials_change is not None:
            self._on_credentials_change(credentials)

    def refresh_credentials(self) -> Credentials:
        """Renew a token before it expires; returns (and announces) the new credentials."""
        self.require(Capability.TOKEN_REFRESH)
        raise NotImplementedError

    @classmethod
    def begin_authorization(
        cls, instance_url: str, redirect_uri: str, *, state: str, app_name: str = "Porte-voix"
    ) -> AuthorizationRequest:
        """Start an OAuth flow: register the app if needed and build the browser URL."""
        raise Unsupported(
            f"{cls.label} accounts are not connected through OAuth.", network=cls.name
        )

    @classmethod
    def complete_authorization(
        cls, request: AuthorizationRequest, code: str, *, timeout: float = 30.0
    ) -> Credentials:
        """Finish an OAuth flow: trade the code for credentials ``connect`` accepts."""
        raise Unsupported(
            f"{cls.label} accounts are not connected through OAuth.", network=cls.name
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the instance must not be used afterwards."""

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- compose ----------------------------------------------------------------------------

    def text_length(self, text: str) -> int:
        """Length as the network counts it (default: Unicode code points, NFC)."""
        return len(unicodedata.normalize("NFC", text))

    def validate(self, post: OutgoingPost) -> list[str]:
        """Compose-time problems, as sentences for the author in the active language (see
        :mod:`.i18n`); empty when ``post`` can go."""
        problems: list[str] = []
        limits = self.limits
        label = self.label
        parts = post.parts()
        if len(parts) > 1 and Capability.THREADS not in self.capabilities:
            problems.append(_("%(network)s does not take threads.") % {"network": label})
        if limits.max_thread_parts is not None and len(parts) > limits.max_thread_parts:
            problems.append(
                _("A thread on %(network)s has at most %(max)s parts (this one has %(count)s).")
                % {"network": label, "max": limits.max_thread_parts, "count": len(parts)}
            )
        if post.content_warning and Capability.CONTENT_WARNING not in self.capabilities:
            problems.append(_("%(network)s does not take content warnings.") % {"network": label})
        if post.visibility != Visibility.PUBLIC and Capability.VISIBILITY not in self.capabilities:
            problems.append(_("%(network)s only publishes public posts.") % {"network": label})
        if post.first_comment and Capability.FIRST_COMMENT not in self.capabilities:
            problems.append(_("%(network)s does not take a first comment.") % {"network": label})
        for number, part in enumerate(parts, start=1):
            where = self.part_prefix(number, len(parts))
            if not part.text.strip() and not part.media:
                problems.append(where + _("the text is empty."))
            length = self.text_length(part.text)
            if length > limits.max_text_length:
                problems.append(
                    where
                    + _("the text is %(length)s characters long; %(network)s allows %(max)s.")
                    % {"length": length, "network": label, "max": limits.max_text_length}
                )
            problems.extend(where + p for p in self._validate_media(part.media))
        return problems

    @staticmethod
    def part_prefix(number: int, parts: int) -> str:
        """ "Part 2: " before a problem of one part of a thread; nothing for a single post."""
        return _("Part %(number)s: ") % {"number": number} if parts > 1 else ""

    def _validate_media(self, items: Sequence[MediaItem]) -> list[str]:
        problems: list[str] = []
        limits = self.limits
        label = self.label
        images = [m for m in items if m.is_image]
        videos = [m for m in items if m.is_video]
        others = [m for m in items if not m.is_image and not m.is_video]
        if images and Capability.IMAGES not in self.capabilities:
            problems.append(_("%(network)s does not take images here.") % {"network": label})
        if videos and Capability.VIDEO not in self.capabilities:
            problems.append(_("%(network)s does not take videos here.") % {"network": label})
        if len(images) > limits.max_images:
            problems.append(
                _("%(network)s takes at most %(max)s images per post.")
                % {"network": label, "max": limits.max_images}
            )
        for item in others:
            problems.append(
                _("%(name)s: %(type)s files cannot be published.")
                % {"name": item.filename, "type": item.mime_type}
            )
        for item in images:
            if item.mime_type not in limits.image_mime_types:
                problems.append(
                    _("%(name)s: %(network)s does not take %(type)s images.")
                    % {"name": item.filename, "network": label, "type": item.mime_type}
                )
            if limits.max_image_bytes is not None and item.size > limits.max_image_bytes:
                problems.append(
                    _("%(name)s is %(size)s; %(network)s takes images up to %(max)s.")
                    % {
                        "name": item.filename,
                        "size": human_bytes(item.size),
                        "network": label,
                        "max": human_bytes(limits.max_image_bytes),
                    }
                )
            if (
                limits.max_alt_text_length is not None
                and len(item.alt_text) > limits.max_alt_text_length
            ):
                problems.append(
                    _("%(name)s: the description is longer than %(max)s characters.")
                    % {"name": item.filename, "max": limits.max_alt_text_length}
                )
        for item in videos:
            if limits.max_video_bytes is not None and item.size > limits.max_video_bytes:
                problems.append(
                    _("%(name)s is %(size)s; %(network)s takes videos up to %(max)s.")
                    % {
                        "name": item.filename,
                        "size": human_bytes(item.size),
                        "network": label,
                        "max": human_bytes(limits.max_video_bytes),
                    }
                )
        return problems

    def ensure_valid(self, post: OutgoingPost) -> None:
        """Raise ``InvalidInput`` (nothing sent) when ``validate`` finds problems."""
        problems = self.validate(post)
        if problems:
            raise InvalidInput(" ".join(problems), network=self.name, code="invalid_post")

    # -- publish ------------------------------------------------------------------------------

    @classmethod
    def post_id_from_url(cls, url: str, account: AccountInfo) -> str | None:
        """The network's id of ``account``'s post at ``url`` (a link a person pasted, when they
        say a post is out), or None when the link does not tell (the link is kept anyway)."""
        return None

    @abc.abstractmethod
    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        """Publish ``post`` (and its thread) once per ``idempotency_key``.

        The key is stable for one (post, channel), e.g. ``"post-42:channel-7"``. Validates
        first (``InvalidInput``); raises ``OutcomeUnknown`` when the network may have
        accepted it without our knowing.
        """

    @abc.abstractmethod
    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """After ``OutcomeUnknown``: the post published under this key, or ``None``.

        ``since`` is when the first attempt was made (aware UTC): only a post made after it can
        match. ``exclude`` are ids of posts already recorded by other publications: they never
        match. ``None`` means the network has no such post *now*; the caller may publish again
        with the same key. A thread that was cut midway comes back with the parts that exist;
        publishing again with the same key completes it. ``Ambiguous`` (with the candidates)
        when the module cannot be sure: the caller asks a person.
        """

    def delete(self, ref: PublishedRef) -> None:
        self.require(Capability.DELETE_POST)
        raise NotImplementedError

    # -- inbound ------------------------------------------------------------------------------

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        """Comments, mentions, quotes and private messages newer than ``since_cursor``.

        At-least-once: the caller dedupes on ``message_id``. Items come oldest first.
        """
        raise Unsupported(f"{self.label} cannot read comments.", network=self.name)

    def fetch_replies(self, post_id: str) -> InboundBatch:
        """Every public answer under one post (its thread).

        Catches what ``fetch_inbound`` missed (notifications are best effort).
        """
        self.require(Capability.READ_COMMENTS)
        raise NotImplementedError

    def reply(
        self,
        to: InboundItem | str,
        text: str,
        *,
        idempotency_key: str,
        private: bool = False,
    ) -> PublishedRef:
        """Answer a comment publicly, or privately (a DM) when ``private`` is true."""
        self.require(Capability.REPLY_PRIVATE if private else Capability.REPLY_PUBLIC)
        raise NotImplementedError

    @classmethod
    def reply_target(
        cls, message_id: str, *, kind: str, in_reply_to: str = "", thread_id: str = ""
    ) -> str:
        """What ``reply`` (and ``publish`` with ``in_reply_to``) takes to answer the inbound
        message ``message_id`` of ``kind``, from what the inbox stored of it: its id, unless
        the network answers some messages elsewhere (Instagram's mentions)."""
        return message_id

    @classmethod
    def reply_refusal(cls, kind: str, *, private: bool) -> str | None:
        """Why this network gives Porte-voix no way to answer a message of ``kind`` in public
        (or in private), in the active language; None when it gives one. The inbox says this
        instead of offering a reply box."""
        if private and Capability.REPLY_PRIVATE not in cls.capabilities:
            return _("%(network)s does not let Porte-voix answer in private.") % {
                "network": cls.label
            }
        if not private and Capability.REPLY_PUBLIC not in cls.capabilities:
            return _("%(network)s does not let Porte-voix answer in public.") % {
                "network": cls.label
            }
        return None

    def hide_comment(self, message_id: str) -> None:
        self.require(Capability.HIDE_COMMENT)
        raise NotImplementedError

    def delete_comment(self, message_id: str) -> None:
        self.require(Capability.DELETE_COMMENT)
        raise NotImplementedError

    # -- metrics and listening ------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        self.require(Capability.METRICS)
        raise NotImplementedError

    def account_metrics(self, since: datetime) -> AccountMetrics:
        """The account's followers now and its profile visits since ``since`` (aware)."""
        self.require(Capability.ACCOUNT_METRICS)
        raise NotImplementedError

    def offered_account_metrics(self) -> frozenset[AccountMetric]:
        """The figures this account offers: ``account_metrics_offered``, less what its kind of
        account lacks (a LinkedIn member has no page views, only a company page has)."""
        if Capability.ACCOUNT_METRICS not in self.capabilities:
            return frozenset()
        return type(self).account_metrics_offered

    def missing_permission(self, error: AuthExpired) -> bool:
        """Whether ``error`` says a permission (scope) is missing rather than the token being
        dead: an optional figure is then "not offered" and the channel stays connected."""
        return False

    def _figure(self, what: str, read: Callable[[], int | None]) -> int | None:
        """One optional account figure: the network's refusal of this one call (a permission
        not granted, an account too small for insights, an endpoint not offered) gives
        ``None`` and leaves the other figures alone; a dead token, a rate limit or a network
        that does not answer is raised (the collector retries or asks for a reconnect)."""
        try:
            value = read()
        except (Permanent, NotFound, Unsupported) as error:
            logger.info("%s: %s not offered (%s)", self.name, what, error.code)
            return None
        except AuthExpired as error:
            if not self.missing_permission(error):
                raise
            logger.info("%s: %s not permitted (%s)", self.name, what, error.code)
            return None
        if value is None or isinstance(value, bool):
            return None
        return value if value >= 0 else None

    def search(self, query: str, since_cursor: str | None = None) -> InboundBatch:
        """Public posts matching ``query`` (listening), newest window since the cursor."""
        self.require(Capability.LISTEN_SEARCH)
        raise NotImplementedError


def whole_days(since: datetime, until: datetime) -> tuple[datetime, datetime] | None:
    """The UTC days that ended after ``since`` and by ``until``, as ``(start, end)``: each day
    is counted by the first reading after it ended. None when no day ended in between."""
    start = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = until.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (start, end) if end > start else None


def human_bytes(size: int) -> str:
    """A size for people, in the active language ("1.5 MB", « 1,5 Mo »)."""
    value = float(size)
    if value < 1000:
        return _("%(value)s bytes") % {"value": size}
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            shown = f"{value:.1f}"
            if unit == "KB":
                return _("%(value)s KB") % {"value": shown}
            if unit == "MB":
                return _("%(value)s MB") % {"value": shown}
            return _("%(value)s GB") % {"value": shown}
    return _("%(value)s bytes") % {"value": size}  # pragma: no cover


__all__ = [
    "CredentialsListener",
    "Journal",
    "MemoryJournal",
    "Network",
    "human_bytes",
    "whole_days",
]
