"""The sandbox network: the built-in demo network that lives in Porte-voix's own database.

It behaves like a real network (see ``docs/sandbox.md``): latency, rate limits, faults,
an audience with a daily rhythm, customers who write in French and English. This module is
only its adapter: it calls :mod:`portevoix.sandbox.service` (imported lazily, so that this
package stays importable without Django) the way other modules call an HTTP API, and maps
the answers to the typed errors of :mod:`portevoix.networks.errors`.

Credentials: ``{"handle": ..., "token": ...}`` of a ``SandboxAccount``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from .base import Network
from .errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
)
from .registry import register
from .types import (
    AccountInfo,
    AccountMetric,
    AccountMetrics,
    Author,
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

if TYPE_CHECKING:
    from portevoix.sandbox.models import SandboxInteraction, SandboxPost

_KINDS = {"comment": InboundKind.COMMENT, "mention": InboundKind.MENTION, "dm": InboundKind.DM}


def media_descriptor(item: MediaItem) -> dict[str, str | int]:
    """What the sandbox keeps of a media file: never the bytes (hashed a megabyte at a time)."""
    digest = hashlib.sha256()
    with item.open() as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return {
        "mime_type": item.mime_type,
        "size": item.size,
        "alt_text": item.alt_text,
        "filename": item.filename,
        "sha256": digest.hexdigest(),
    }


def user_id(handle: str) -> str:
    """The sandbox network's id for its user ``handle`` (what the inbox keys customers by)."""
    return f"sbx-user-{handle}"


@register
class SandboxNetwork(Network):
    """A database-backed network for the demo and the tests; labelled sandbox everywhere."""

    completes_threads: ClassVar[bool] = True
    name: ClassVar[str] = "sandbox"
    label: ClassVar[str] = "Sandbox"
    is_sandbox: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.THREADS,
            Capability.FIRST_COMMENT,
            Capability.READ_COMMENTS,
            Capability.READ_MENTIONS,
            Capability.READ_PRIVATE_MESSAGES,
            Capability.REPLY_PUBLIC,
            Capability.REPLY_PRIVATE,
            Capability.HIDE_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.DELETE_POST,
            Capability.METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.LISTEN_SEARCH,
            Capability.TOKEN_REFRESH,
            Capability.IDEMPOTENT_PUBLISH,
        }
    )
    account_metrics_offered: ClassVar[frozenset[AccountMetric]] = frozenset(AccountMetric)
    limits: Limits = Limits(
        max_text_length=3000,
        max_images=10,
        max_image_bytes=8_000_000,
        max_video_bytes=200_000_000,
        max_alt_text_length=1000,
        max_thread_parts=25,
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("handle", "token")
    #: The sandbox answers in milliseconds (plus the latency a test or benchmark sets).
    default_timeout: ClassVar[float] = 10.0

    # -- plumbing -------------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, str]:
        credentials = self.credentials
        return credentials.get("handle"), credentials.get("token")

    def _call[T](self, action: str, fn: Callable[[], T], *, write: bool = False) -> T:
        """Run one service call; turn its answer into a typed error. Never shows a token."""
        from django.db import DatabaseError

        from portevoix.sandbox import service

        try:
            return fn()
        except service.Unauthorized as error:
            raise AuthExpired(
                f"The sandbox refused this account's token while {action} ({error.message})",
                network=self.name,
                code=error.code,
            ) from None
        except service.TooManyRequests as error:
            raise RateLimited(
                f"The sandbox asks to slow down while {action}.",
                reset_at=error.reset_at,
                network=self.name,
                code="429",
            ) from None
        except service.NotFoundError as error:
            raise NotFound(
                f"The sandbox does not know this object ({action}).",
                network=self.name,
                code=error.code,
            ) from None
        except service.BadRequest as error:
            raise Permanent(
                f"The sandbox refused the request while {action}: {error.message}",
                network=self.name,
                code=error.code,
            ) from None
        except (service.Timeout, service.ServerError) as error:
            # Like a real client we cannot tell whether a write was stored: reconcile.
            if write:
                raise OutcomeUnknown(
                    f"The sandbox did not confirm while {action}; it may have been accepted.",
                    network=self.name,
                    code=error.code,
                ) from None
            raise Transient(
                f"The sandbox did not answer while {action}.", network=self.name, code=error.code
            ) from None
        except service.SandboxError as error:
            raise Transient(
                f"The sandbox is unavailable while {action}.", network=self.name, code=error.code
            ) from None
        except DatabaseError:
            raise Transient(
                f"The sandbox's database failed while {action}.",
                network=self.name,
                code="database",
            ) from None

    def _ref(self, posts: Sequence[SandboxPost]) -> PublishedRef:
        parts = [p for p in posts if p.kind != "first_comment"]
        extra = {p.kind: p.network_id for p in posts if p.kind == "first_comment"}
        first, rest = parts[0], parts[1:]
        return PublishedRef(
            network=self.name,
            post_id=first.network_id,
            published_at=first.received_at,
            thread=tuple(
                PublishedRef(network=self.name, post_id=p.network_id, published_at=p.received_at)
                for p in rest
            ),
            extra=extra,
        )

    def _item(self, row: SandboxInteraction) -> InboundItem:
        return InboundItem(
            network=self.name,
            message_id=row.message_id,
            kind=_KINDS[row.kind],
            author=Author(
                id=user_id(row.author_handle),
                handle=row.author_handle,
                display_name=row.author_name,
                followers=sandbox_followers(row.author_handle),
            ),
            text=row.text,
            created_at=row.created_at.astimezone(UTC),
            in_reply_to=row.in_reply_to or None,
            thread_id=row.thread_id or None,
            language=row.language,
            extra={"sandbox": "true", **({"hidden": "true"} if row.hidden_at else {})},
        )

    # -- account --------------------------------------------------------------------------------

    def connect(self, credentials: Credentials) -> AccountInfo:
        from portevoix.sandbox import service

        handle, token = credentials.get("handle"), credentials.get("token")
        if not handle or not token:
            raise AuthExpired(
                "A sandbox account needs a handle and a token.",
                network=self.name,
                code="missing_credentials",
            )
        account = self._call(
            "checking the account",
            lambda: service.verify_credentials(handle, token, timeout=self.timeout),
        )
        return self._bind(
            credentials,
            AccountInfo(
                network=self.name,
                account_id=str(account.pk),
                handle=account.handle,
                display_name=f"{account.display_name} (sandbox)",
            ),
        )

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        """Every sandbox call carries the token: binding needs no call of its own."""
        if not credentials.get("handle") or not credentials.get("token"):
            raise AuthExpired(
                "A sandbox account needs a handle and a token.",
                network=self.name,
                code="missing_credentials",
            )
        self._bind(credentials, account)

    def refresh_credentials(self) -> Credentials:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        account = self._call(
            "renewing the token",
            lambda: service.refresh_token(handle, token, timeout=self.timeout),
            write=True,
        )
        renewed = self.credentials.replace(token=account.token)
        self._credentials_changed(renewed)
        return renewed

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        self.ensure_valid(post)
        parts = [
            service.PartIn(part.text, tuple(media_descriptor(m) for m in part.media))
            for part in post.parts()
        ]
        stored = self._call(
            "publishing",
            lambda: service.publish(
                handle,
                token,
                parts,
                idempotency_key=idempotency_key,
                in_reply_to=post.in_reply_to or "",
                first_comment=post.first_comment,
                language=post.language,
                visibility=post.visibility.value,
                content_warning=post.content_warning,
                timeout=self.timeout,
            ),
            write=True,
        )
        return self._ref(stored)

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        """Exact: the sandbox keeps posts by idempotency key (``since``/``exclude`` unused)."""
        from portevoix.sandbox import service

        handle, token = self._secrets()
        stored = self._call(
            "looking for the post",
            lambda: service.find_published(handle, token, idempotency_key, timeout=self.timeout),
        )
        if not any(p.kind != "first_comment" for p in stored):
            return None
        return self._ref(stored)

    def delete(self, ref: PublishedRef) -> None:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        for number, post_id in enumerate(reversed(ref.all_post_ids)):
            try:
                self._call(
                    "deleting the post",
                    lambda post_id=post_id: service.delete_post(  # type: ignore[misc]
                        handle, token, post_id, timeout=self.timeout
                    ),
                    write=True,
                )
            except NotFound:
                if number == len(ref.all_post_ids) - 1:
                    raise

    # -- inbound --------------------------------------------------------------------------------

    def fetch_inbound(self, since_cursor: str | None = None) -> InboundBatch:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        rows, cursor = self._call(
            "reading notifications",
            lambda: service.fetch_inbound(handle, token, since_cursor, timeout=self.timeout),
        )
        return InboundBatch(items=tuple(self._item(r) for r in rows), next_cursor=cursor)

    def fetch_replies(self, post_id: str) -> InboundBatch:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        rows = self._call(
            "reading the thread",
            lambda: service.fetch_replies(handle, token, post_id, timeout=self.timeout),
        )
        return InboundBatch(items=tuple(self._item(r) for r in rows))

    def reply(
        self,
        to: InboundItem | str,
        text: str,
        *,
        idempotency_key: str,
        private: bool = False,
    ) -> PublishedRef:
        from portevoix.sandbox import service

        self.require(Capability.REPLY_PRIVATE if private else Capability.REPLY_PUBLIC)
        handle, token = self._secrets()
        target = to.message_id if isinstance(to, InboundItem) else to
        length = self.text_length(text)
        if not text.strip() or length > self.limits.max_text_length:
            raise InvalidInput(
                f"An answer on {self.label} has 1 to {self.limits.max_text_length} characters "
                f"(this one has {length}).",
                network=self.name,
                code="invalid_reply",
            )
        stored = self._call(
            "answering",
            lambda: service.reply(
                handle,
                token,
                target,
                text,
                idempotency_key=idempotency_key,
                private=private,
                timeout=self.timeout,
            ),
            write=True,
        )
        return self._ref([stored])

    def hide_comment(self, message_id: str) -> None:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        self._call(
            "hiding the comment",
            lambda: service.hide_comment(handle, token, message_id, timeout=self.timeout),
            write=True,
        )

    def delete_comment(self, message_id: str) -> None:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        self._call(
            "deleting the comment",
            lambda: service.delete_comment(handle, token, message_id, timeout=self.timeout),
            write=True,
        )

    # -- metrics and listening ------------------------------------------------------------------

    def metrics(self, refs: Sequence[PublishedRef]) -> list[MetricSnapshot]:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        ids = [ref.post_id for ref in refs]
        if not ids:
            return []
        posts, taken_at = self._call(
            "reading metrics",
            lambda: service.metrics(handle, token, ids, timeout=self.timeout),
        )
        return [_snapshot(self.name, p, taken_at) for p in posts]

    def account_metrics(self, since: datetime) -> AccountMetrics:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        followers, visits, taken_at = self._call(
            "reading account metrics",
            lambda: service.account_metrics(handle, token, since, timeout=self.timeout),
        )
        return AccountMetrics(
            network=self.name,
            taken_at=taken_at,
            since=since,
            followers=followers,
            profile_visits=visits,
        )

    def search(self, query: str, since_cursor: str | None = None) -> InboundBatch:
        from portevoix.sandbox import service

        handle, token = self._secrets()
        rows, cursor = self._call(
            "searching",
            lambda: service.search(handle, token, query, since_cursor, timeout=self.timeout),
        )
        return InboundBatch(items=tuple(self._item(r) for r in rows), next_cursor=cursor)


def _snapshot(network: str, post: SandboxPost, taken_at: datetime) -> MetricSnapshot:
    """A sandbox post's counters as a network reports them. The world counts impressions,
    likes, shares and comments; reach, clicks and video views follow from them (stable per
    post): people see a post about 1.3 times each, click a link in about 1.5 % of views, and
    start a video in about 60 % of them."""
    impressions = post.impressions
    digest = int(hashlib.sha256(post.network_id.encode()).hexdigest()[:8], 16)
    spread = (digest % 1000) / 1000  # 0..1, stable per post
    extra = {"impressions": impressions, "reach": round(impressions / (1.2 + 0.2 * spread))}
    if "http://" in post.text or "https://" in post.text:
        extra["clicks"] = round(impressions * (0.008 + 0.014 * spread))
    if post.content_type == "video":
        extra["video_views"] = round(impressions * (0.45 + 0.3 * spread))
    return MetricSnapshot(
        network=network,
        post_id=post.network_id,
        taken_at=taken_at,
        likes=post.likes,
        reposts=post.shares,
        replies=post.comments,
        views=impressions,
        extra=extra,
    )


__all__ = ["SandboxNetwork", "media_descriptor"]


def sandbox_followers(handle: str) -> int:
    """The sandbox world's audience of one of its authors: stable for a handle, mostly small,
    about one author in thirty above 10,000 (someone whose comment is seen)."""
    digest = int(hashlib.sha256(handle.encode()).hexdigest()[:8], 16)
    if digest % 30 == 0:
        return 10_000 + digest % 90_000
    return 20 + (digest // 30) % 1_500
