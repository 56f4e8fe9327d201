"""Where listening reads public posts: the sandbox world, Bluesky's Jetstream, Mastodon.

Every source is a :class:`~portevoix.listening.models.ListeningSource` row, a row with a state
(``docs/worker.md``): the worker, or ``portevoix listen``, leases it and runs
:func:`read_slice`, which reads one slice of the source — a stream for up to
:data:`SLICE_SECONDS` on one connection, a timeline or the sandbox for what is new — feeds it
to the pipeline (one matcher for every query of every workspace) and commits the cursor after
each batch, under the lease (``leased_atomic``): a process that lost the row writes nothing.
Two processes therefore never read the same stream, and after a restart the next reader starts
from the committed cursor. Delivery is at least once (each reader starts a little behind the
cursor); the pipeline stores each post once per workspace and network.

* **The sandbox world** (:func:`read_sandbox`): the world's public mentions in the order it
  stored them. Cursor: the last interaction id; each read starts :data:`OVERLAP` ids before it
  (on PostgreSQL a transaction that took lower ids may commit after one that took higher ids).
* **Bluesky Jetstream** (:mod:`.jetstream`): JSON over WebSocket, cursor in unix microseconds.
* **Mastodon** (:mod:`.mastodon_source`): streaming (hashtag or public timeline, with a user
  token) after a catch-up from the cursor, and polling of tag timelines and search; cursor:
  the newest status id (``min_id``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence
from portevoix.networks.sandbox import sandbox_followers, user_id
from portevoix.sandbox.models import InteractionKind, SandboxInteraction
from portevoix.worker.models import LeaseLost, Outcome

from . import pipeline
from .models import ListeningSource, SourceKind

SANDBOX = "sandbox-world"
#: Interactions read per batch.
BATCH = 500
#: Ids read again behind the cursor (see the module's docstring).
OVERLAP = 200
#: How long one slice of a stream holds its connection before it lets the row go (the worker's
#: handlers are presumed hung after 30 minutes; a minute keeps the ops page truthful).
SLICE_SECONDS = 50.0
#: After a slice, when the row is due again, per kind of source (seconds).
PAUSE: dict[str, float] = {
    SourceKind.SANDBOX: 60,
    SourceKind.JETSTREAM: 1,
    SourceKind.MASTODON_STREAM: 1,
    SourceKind.MASTODON_TAG: 120,
    SourceKind.MASTODON_SEARCH: 300,
    # A YouTube search costs 100 of the project's 10,000 daily units: the pause spreads the
    # source's daily budget over the day (youtube_source.pause_for).
    SourceKind.YOUTUBE_SEARCH: 3600,
    SourceKind.INSTAGRAM_HASHTAG: 900,
    SourceKind.INSTAGRAM_TAGS: 900,
    # X's recent search: 60 requests per 15 minutes on the cheapest plans, billed per post.
    SourceKind.X_SEARCH: 300,
}


class SourceRefused(Exception):
    """The source's server refuses for good (a revoked token, an unknown instance): the row
    goes to *failed* with this message for the sources page, until a manager restarts it.

    ``sentence`` (optional) is the same message as a :class:`~portevoix.core.sentences.Sentence`,
    stored so that each reader of the page reads it in their language."""

    def __init__(self, message: str, *, sentence: Sentence | None = None) -> None:
        super().__init__(message)
        self.sentence = sentence

    @property
    def problem(self) -> str:
        return self.sentence.dumps() if self.sentence is not None else str(self)


class SourceWaiting(Exception):
    """A quota or a rate limit stops the source until ``until`` (aware UTC): the row stays
    *reading*, due again then, and the page shows ``sentence`` meanwhile. Not an error: the
    errors in a row are not counted."""

    def __init__(self, until: datetime, sentence: Sentence) -> None:
        super().__init__(sentence.message)
        self.until = until
        self.sentence = sentence


def sandbox_source() -> ListeningSource:
    source, _ = ListeningSource.objects.get_or_create(
        name=SANDBOX, defaults={"network": "sandbox", "kind": SourceKind.SANDBOX}
    )
    return source


def cursor_key(value: str) -> tuple[int, int, str]:
    """Cursors compare as numbers when they are (ids, microseconds), else as text."""
    if not value:
        return (-1, 0, "")
    if value.isdigit():
        return (0, len(value.lstrip("0")), value.lstrip("0"))
    return (1, len(value), value)


def commit(
    source: ListeningSource,
    *,
    cursor: str | None,
    read: int,
    stored: int,
    last_event_at: datetime | None = None,
) -> None:
    """Record a batch: the cursor moves forward only (two readers never move it back), the
    counts grow, the health fields follow. Under the worker's lease when the row is leased
    (:class:`LeaseLost` if another process took it: it writes nothing); else under a lock."""
    now = timezone.now()
    fields: dict[str, object] = {
        "read_at": now,
        "items_read": F("items_read") + read,
        "mentions_stored": F("mentions_stored") + stored,
    }
    if last_event_at is not None:
        fields["last_event_at"] = last_event_at
        fields["lag_seconds"] = max(0.0, (now - last_event_at).total_seconds())

    def write(current: str) -> None:
        if cursor is not None and cursor_key(cursor) > cursor_key(current):
            fields["cursor"] = cursor
        rows = ListeningSource.objects.filter(pk=source.pk)
        if source.locked_by:
            rows = rows.filter(locked_by=source.locked_by, state=source.state)
        if rows.update(**fields) != 1:
            raise LeaseLost(f"listening source {source.pk}: lease lost")

    if source.locked_by:
        with source.leased_atomic():
            current = ListeningSource.objects.filter(pk=source.pk).values_list("cursor", flat=True)[
                0
            ]
            write(current)
    else:
        with transaction.atomic():
            current = (
                ListeningSource.objects.select_for_update()
                .filter(pk=source.pk)
                .values_list("cursor", flat=True)[0]
            )
            write(current)
    if "cursor" in fields:
        source.cursor = str(cursor)
    source.read_at = now


def _post(row: SandboxInteraction) -> pipeline.PublicPost:
    return pipeline.PublicPost(
        external_id=row.message_id,
        network="sandbox",
        text=row.text,
        posted_at=row.created_at,
        author_handle=row.author_handle,
        author_id=user_id(row.author_handle) if row.author_handle else "",
        author_name=row.author_name,
        author_reach=sandbox_followers(row.author_handle),
        language=row.language,
    )


def read_sandbox(
    *, batches: int = 20, batch: int = BATCH, source: ListeningSource | None = None
) -> tuple[int, int]:
    """Read the sandbox world's new public mentions, up to ``batches`` batches; returns (posts
    read, mentions stored). The cursor moves after each batch is stored."""
    source = source or sandbox_source()
    read = stored = 0
    for _ in range(batches):
        cursor = int(source.cursor or 0)
        rows = list(
            SandboxInteraction.objects.filter(
                kind=InteractionKind.MENTION,
                deleted_at__isnull=True,
                pk__gt=max(0, cursor - OVERLAP),
            ).order_by("pk")[: batch + OVERLAP]
        )
        new = [r for r in rows if r.pk > cursor]
        if not new:
            break
        now_stored = pipeline.ingest(source, [_post(r) for r in rows])
        stored += now_stored
        read += len(new)
        commit(
            source,
            cursor=str(new[-1].pk),
            read=len(new),
            stored=now_stored,
            last_event_at=new[-1].created_at,
        )
        source.cursor = str(max(int(source.cursor or 0), new[-1].pk))
        if len(new) < batch:
            break
    return read, stored


def _read_sandbox_slice(source: ListeningSource) -> tuple[int, int]:
    return read_sandbox(source=source)


def readers() -> dict[str, Callable[[ListeningSource], tuple[int, int]]]:
    from . import instagram_source, jetstream, mastodon_source, x_source, youtube_source

    return {
        SourceKind.SANDBOX: _read_sandbox_slice,
        SourceKind.JETSTREAM: jetstream.read_slice,
        SourceKind.MASTODON_STREAM: mastodon_source.read_stream_slice,
        SourceKind.MASTODON_TAG: mastodon_source.read_tag_slice,
        SourceKind.MASTODON_SEARCH: mastodon_source.read_search_slice,
        SourceKind.YOUTUBE_SEARCH: youtube_source.read_slice,
        SourceKind.INSTAGRAM_HASHTAG: instagram_source.read_hashtag_slice,
        SourceKind.INSTAGRAM_TAGS: instagram_source.read_tags_slice,
        SourceKind.X_SEARCH: x_source.read_slice,
    }


def read_slice(source: ListeningSource) -> Outcome:
    """The handler of a source's ``reading`` state: read one slice, then come back."""
    reader = readers().get(source.kind)
    if reader is None:
        return Outcome("failed", fields={"problem": f"Unknown kind of source: {source.kind}"})
    try:
        reader(source)
    except SourceRefused as refused:
        return Outcome("failed", fields={"problem": refused.problem, "waiting_until": None})
    except SourceWaiting as waiting:
        return Outcome(
            "reading",
            at=waiting.until,
            fields={"problem": waiting.sentence.dumps(), "waiting_until": waiting.until},
        )
    return Outcome(
        "reading",
        delay=pause_for(source),
        fields={"problem": "", "waiting_until": None},
    )


def pause_for(source: ListeningSource) -> float:
    """Seconds until the source is due again after a slice."""
    if source.kind == SourceKind.YOUTUBE_SEARCH:
        from . import youtube_source

        return youtube_source.pause_seconds()
    return PAUSE.get(source.kind, 60)


def spend_units(source: ListeningSource, day: str, units: int) -> int:
    """Count ``units`` of a quota spent by the source on ``day`` (before the call that costs
    them: a call that fails has cost them too); returns the day's total. Under the lease."""
    rows = ListeningSource.objects.filter(pk=source.pk)
    if source.locked_by:
        rows = rows.filter(locked_by=source.locked_by, state=source.state)
    with transaction.atomic():
        current = rows.select_for_update().values_list("units_day", "units_spent").first()
        if current is None:
            raise LeaseLost(f"listening source {source.pk}: lease lost")
        spent = (current[1] if current[0] == day else 0) + units
        rows.update(units_day=day, units_spent=spent)
    source.units_day, source.units_spent = day, spent
    return spent


def channel_client(source: ListeningSource) -> Any:
    """The network instance bound to the source's channel (its token; new tokens it receives
    are stored on the channel), or SourceRefused when the channel is gone."""
    channel = source.channel
    if channel is None:
        raise SourceRefused(
            "The channel whose token this source used is gone: remove the source and add it "
            "again with another channel.",
            sentence=Sentence(
                gettext_noop(
                    "The channel whose token this source used is gone: remove the source and "
                    "add it again with another channel."
                )
            ),
        )
    from portevoix.networks.errors import AuthExpired

    try:
        return channel.client(verify=False)
    except AuthExpired:
        raise SourceRefused(
            "The channel this source reads with must be reconnected.",
            sentence=Sentence(
                gettext_noop(
                    "The channel this source reads with must be reconnected (its authorisation "
                    "is incomplete or expired); then start the source again."
                )
            ),
        ) from None


_HOST = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
_DEFAULT_PORT = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin(value: str, schemes: tuple[str, ...]) -> str:
    """``scheme://host[:port]`` of an address, lower-cased, without its default port; a
    ValueError when the scheme is not one of ``schemes`` or the host is no host name."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
        port = parts.port
    except (UnicodeError, ValueError):
        raise ValueError(value) from None
    if scheme not in schemes or not _HOST.fullmatch(host) or parts.username or parts.password:
        raise ValueError(value)
    if port is not None and port != _DEFAULT_PORT[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"
