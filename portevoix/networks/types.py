"""Plain data in and out of network modules: frozen dataclasses, no Django, no SDK objects.

Every datetime is timezone-aware UTC. Every id is the network's own id as a string (for
Bluesky an AT URI, for Mastodon a status id), so the caller can store it as it is and make
inbound items idempotent on it.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

_EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


def utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; refuse naive datetimes (time is always aware)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: networks only deal in aware UTC datetimes")
    return moment.astimezone(UTC)


class Capability(enum.StrEnum):
    """What a network lets Porte-voix do. A module declares the set it really implements."""

    TEXT = "text"
    IMAGES = "images"
    VIDEO = "video"
    THREADS = "threads"
    FIRST_COMMENT = "first_comment"
    CONTENT_WARNING = "content_warning"
    VISIBILITY = "visibility"
    READ_COMMENTS = "read_comments"
    READ_MENTIONS = "read_mentions"
    READ_QUOTES = "read_quotes"
    READ_PRIVATE_MESSAGES = "read_private_messages"
    REPLY_PUBLIC = "reply_public"
    REPLY_PRIVATE = "reply_private"
    HIDE_COMMENT = "hide_comment"
    DELETE_COMMENT = "delete_comment"
    DELETE_POST = "delete_post"
    METRICS = "metrics"
    #: Account-level figures: followers, profile visits (``Network.account_metrics``).
    ACCOUNT_METRICS = "account_metrics"
    LISTEN_SEARCH = "listen_search"
    LISTEN_STREAM = "listen_stream"
    TOKEN_REFRESH = "token_refresh"
    OAUTH = "oauth"
    #: The network itself refuses a second post with the same idempotency key.
    IDEMPOTENT_PUBLISH = "idempotent_publish"


class AccountMetric(enum.StrEnum):
    """An account-level figure ``Network.account_metrics`` may read (``account_metrics_offered``
    says which ones a network offers; the others are always ``None``, "not offered")."""

    FOLLOWERS = "followers"
    PROFILE_VISITS = "profile_visits"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    FOLLOWERS = "followers"
    DIRECT = "direct"


class InboundKind(enum.StrEnum):
    COMMENT = "comment"
    MENTION = "mention"
    QUOTE = "quote"
    DM = "dm"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The secrets of one connected account, as a plain mapping of strings.

    ``repr`` and ``str`` show the key names only, so a credentials object that ends up in a
    log line or a traceback does not leak a token.
    """

    values: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))

    def __repr__(self) -> str:
        return f"Credentials(keys={sorted(self.values)!r})"

    __str__ = __repr__

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def replace(self, **changes: str | None) -> Credentials:
        """A copy with some keys changed; a ``None`` value removes the key."""
        merged = dict(self.values)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return Credentials(merged)

    def as_dict(self) -> dict[str, str]:
        """A plain copy, for the caller to encrypt and store."""
        return dict(self.values)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    network: str
    account_id: str
    handle: str
    display_name: str = ""
    url: str = ""
    avatar_url: str = ""


#: Opens a stored file for reading (binary, seekable): how a video is read from storage.
Opener = Callable[[], IO[bytes]]


@dataclass(frozen=True, slots=True)
class MediaItem:
    """An image or a video to send. An image is held in ``data``; a video usually comes from
    storage through ``opener`` (``data`` empty, ``length`` its size): the network modules send
    it chunk by chunk (:meth:`read_chunk`, :meth:`open`), never reading it whole."""

    data: bytes = field(default=b"", repr=False)
    mime_type: str = ""
    alt_text: str = ""
    filename: str = "media"
    #: An address where the network can fetch the file itself (Instagram), signed and
    #: expiring; empty when there is none.
    public_url: str = ""
    #: Opens the file in storage; None when ``data`` holds it.
    opener: Opener | None = field(default=None, repr=False, compare=False)
    #: The file's size in bytes when ``opener`` reads it.
    length: int = 0

    @property
    def size(self) -> int:
        return self.length if self.opener is not None else len(self.data)

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")

    def open(self) -> IO[bytes]:
        """The file, opened for reading from its start (close it after use)."""
        return self.opener() if self.opener is not None else io.BytesIO(self.data)

    def read_chunk(self, handle: IO[bytes], start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (excluded) of the file open in ``handle``: one read."""
        handle.seek(start)
        return handle.read(max(0, end - start))

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes at most (a video's header), without reading the rest."""
        if self.opener is None:
            return self.data[:size]
        with self.open() as handle:
            return handle.read(size)

    def read_all(self) -> bytes:
        """The whole file in memory: for images and for the networks that take a file in one
        piece (never for the chunked video uploads)."""
        if self.opener is None:
            return self.data
        with self.open() as handle:
            return handle.read()


@dataclass(frozen=True, slots=True)
class ThreadPart:
    """A follow-up of a thread: published as a reply to the part before it."""

    text: str
    media: tuple[MediaItem, ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingPost:
    """One variant of a post for one channel."""

    text: str
    media: tuple[MediaItem, ...] = ()
    #: Follow-ups published as a chain of replies under this post.
    thread: tuple[ThreadPart, ...] = ()
    #: Network post id to answer (a reply) instead of a new top-level post.
    in_reply_to: str | None = None
    content_warning: str = ""
    visibility: Visibility = Visibility.PUBLIC
    #: BCP 47 language tag, e.g. "fr".
    language: str = ""
    #: A first comment under the post (where the network has them).
    first_comment: str = ""
    #: The choices a network asks of the author for this post (TikTok: privacy, interactions,
    #: commercial disclosure, consent). ``None``: the caller collects none (a script, a test
    #: of the interface); a mapping, even empty: the product's composer, whose choices the
    #: network checks and refuses when missing.
    options: Mapping[str, str] | None = None

    def parts(self) -> tuple[ThreadPart, ...]:
        """The post and its follow-ups, in order."""
        return (ThreadPart(self.text, self.media), *self.thread)


@dataclass(frozen=True, slots=True)
class PublishedRef:
    """What the network answered: store ``post_id`` the moment it arrives."""

    network: str
    post_id: str
    url: str = ""
    published_at: datetime | None = None
    #: The follow-ups of a thread, in order (the first part is this ref itself).
    thread: tuple[PublishedRef, ...] = ()
    #: Network-specific values the module needs again (e.g. a Bluesky record's cid).
    extra: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", _frozen(self.extra))
        if self.published_at is not None:
            object.__setattr__(self, "published_at", utc(self.published_at))

    @property
    def all_post_ids(self) -> tuple[str, ...]:
        return (self.post_id, *(part.post_id for part in self.thread))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A post on the network that may be the one ``reconcile`` looks for (for a person)."""

    post_id: str
    url: str = ""
    text: str = ""
    created_at: datetime | None = None
    #: Why it is only a candidate ("same text, but the mention differs").
    note: str = ""


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    handle: str
    display_name: str = ""
    url: str = ""
    avatar_url: str = ""
    #: How many accounts follow the author, where the network says (routing rules use it).
    followers: int | None = None


@dataclass(frozen=True, slots=True)
class InboundItem:
    """A comment, mention, quote or private message, idempotent on ``message_id``."""

    network: str
    message_id: str
    kind: InboundKind
    author: Author
    text: str
    created_at: datetime
    #: The network id of what this answers (our post, or another comment), if anything.
    in_reply_to: str | None = None
    #: The network id of the thread's first post, or the DM conversation's id.
    thread_id: str | None = None
    url: str = ""
    language: str = ""
    extra: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))
        object.__setattr__(self, "extra", _frozen(self.extra))


@dataclass(frozen=True, slots=True)
class InboundBatch:
    items: tuple[InboundItem, ...]
    #: Opaque; pass it back as ``since_cursor`` next time. ``None`` keeps the old cursor.
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class MetricSnapshot:
    network: str
    post_id: str
    taken_at: datetime
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    #: ``None`` where the network does not count views (Bluesky, Mastodon).
    views: int | None = None
    extra: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "taken_at", utc(self.taken_at))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


#: ``Limits`` fields that hold a set of strings (cached as lists), and those that may be None.
_STRING_SETS = frozenset({"privacy_levels", "interactions_disabled"})
_NULLABLE_SETS = frozenset({"video_mime_types", "privacy_levels"})


@dataclass(frozen=True, slots=True)
class AccountMetrics:
    """One account's figures at ``taken_at``; ``None`` where the network does not say.

    ``followers`` is a level (the count now); ``profile_visits`` counts the visits between
    ``since`` (what the caller asked) and ``taken_at``.
    """

    network: str
    taken_at: datetime
    since: datetime
    followers: int | None = None
    profile_visits: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "taken_at", utc(self.taken_at))
        object.__setattr__(self, "since", utc(self.since))


@dataclass(frozen=True, slots=True)
class Limits:
    """Compose-time limits of a network; ``None`` means no limit we know of."""

    max_text_length: int
    max_images: int = 0
    max_image_bytes: int | None = None
    max_video_bytes: int | None = None
    max_alt_text_length: int | None = None
    max_thread_parts: int | None = None
    image_mime_types: frozenset[str] = frozenset(
        {"image/jpeg", "image/png", "image/gif", "image/webp"}
    )
    #: Video types the server takes; ``None``: any ``video/*`` (when videos are accepted).
    video_mime_types: frozenset[str] | None = None
    #: Whether this account's server takes videos at all (a network may say no per server).
    accepts_video: bool = True
    #: Every link counts as this many characters (Mastodon: 23); ``None``: as written.
    characters_per_url: int | None = None
    #: Posts the account may publish in 24 hours, and how many it has (Instagram's quota,
    #: read by ``fetch_limits``); ``None``: no such quota, or not known.
    daily_posts: int | None = None
    daily_posts_used: int | None = None
    #: The longest video this account may post, in seconds (TikTok's ``creator_info``).
    max_video_seconds: int | None = None
    #: The network's own audience levels this account offers (TikTok's
    #: ``privacy_level_options``); ``None``: not a choice the network makes per account.
    privacy_levels: frozenset[str] | None = None
    #: Interactions the account has turned off ("comment", "duet", "stitch" on TikTok).
    interactions_disabled: frozenset[str] = frozenset()

    def as_json(self) -> dict[str, Any]:
        """Plain data, to cache what a server said about its limits."""
        data: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            data[name] = sorted(value) if isinstance(value, frozenset) else value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, default: Limits) -> Limits:
        """Limits cached with :meth:`as_json`; what is missing or malformed keeps ``default``."""
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name not in data:
                continue
            value = data[name]
            if name.endswith("_mime_types") or name in _STRING_SETS:
                if value is None and name in _NULLABLE_SETS:
                    values[name] = None
                elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                    values[name] = frozenset(value)
            elif name == "accepts_video":
                if isinstance(value, bool):
                    values[name] = value
            elif value is None and name != "max_text_length":
                values[name] = None
            elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                values[name] = value
        return replace(default, **values)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """First half of an OAuth flow: send the person to ``url``; keep the rest (encrypted).

    ``client_secret`` is a secret: it is hidden from ``repr``.
    """

    url: str
    state: str
    redirect_uri: str
    instance_url: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    extra: Mapping[str, str] = field(default_factory=lambda: _EMPTY, repr=False)


def jsonable(value: Any) -> Any:
    """Turn one of these dataclasses into JSON-ready data (for storing a cursor or a ref)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    if isinstance(value, Credentials):
        raise TypeError("credentials are never serialised by the networks package")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    slots = getattr(type(value), "__slots__", None)
    if slots is not None and hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return value
