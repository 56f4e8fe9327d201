"""The manual channel: a network without an open publishing API, published by a person.

Snapchat, a LinkedIn group, a forum, a newsletter: Porte-voix plans, approves and reminds, a
person publishes by hand, then says so with the post's link and enters its results (see
``docs/manual-channels.md``). This module is the channel's network: it describes what can be
planned for it (text, images, videos, generous limits) and never reaches any server.

The worker never calls :meth:`ManualNetwork.publish`: ``publishing.states`` moves a manual
publication to ``waiting_manual`` and reminds the channel's owner instead. If it were called
anyway, it refuses (a ``Permanent`` error: nothing was sent), so that no path can mark a manual
post as published without a person; ``reconcile`` says a person must look (``Ambiguous``).

Credentials hold no secret: ``label`` (what the channel is, e.g. "Snapchat"), ``account`` (the
account's name there, optional) and ``url`` (its address, optional). ``account_id`` is built
from the label and the account, so the same account is not connected twice in a workspace.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from .base import Network
from .errors import Ambiguous, InvalidInput, Permanent
from .registry import register
from .types import AccountInfo, Capability, Credentials, Limits, OutgoingPost, PublishedRef

#: Nothing limits a post written by hand but the destination; these keep a plan sane.
MANUAL_LIMITS = Limits(
    max_text_length=10_000,
    max_images=10,
    max_image_bytes=20_000_000,
    max_video_bytes=500_000_000,
    max_alt_text_length=1500,
    max_thread_parts=None,
    video_mime_types=None,
)


def _slug(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().casefold())


@register
class ManualNetwork(Network):
    name = "manual"
    label = "Manual"
    is_manual: ClassVar[bool] = True
    #: What a person can publish there by hand: the page shows each part to copy.
    capabilities = frozenset(
        {
            Capability.TEXT,
            Capability.IMAGES,
            Capability.VIDEO,
            Capability.THREADS,
            Capability.FIRST_COMMENT,
        }
    )
    limits = MANUAL_LIMITS
    credential_fields = ("label",)
    settle_seconds = 0.0

    def connect(self, credentials: Credentials) -> AccountInfo:
        label = str(credentials.get("label", "")).strip()
        if not label:
            raise InvalidInput(
                "Say what this channel is (for example Snapchat).",
                network=self.name,
                code="label",
            )
        if len(label) > 80:
            raise InvalidInput("The label is too long (80 characters at most).", network=self.name)
        account = str(credentials.get("account", "")).strip()[:200]
        url = str(credentials.get("url", "")).strip()[:500]
        if url and not url.startswith(("https://", "http://")):
            raise InvalidInput(
                "The account's address must start with https://", network=self.name, code="url"
            )
        info = AccountInfo(
            network=self.name,
            account_id=f"{_slug(label)}|{_slug(account)}"[:300],
            handle=account or label,
            display_name=label,
            url=url,
        )
        return self._bind(credentials, info)

    def verify(self) -> AccountInfo:
        return self.account

    def resume(self, credentials: Credentials, account: AccountInfo) -> None:
        self._bind(credentials, account)

    def publish(self, post: OutgoingPost, *, idempotency_key: str) -> PublishedRef:
        raise Permanent(
            "A manual channel is published by hand: Porte-voix never sends its posts.",
            network=self.name,
            code="manual",
        )

    def reconcile(
        self,
        idempotency_key: str,
        *,
        post: OutgoingPost | None = None,
        since: datetime | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> PublishedRef | None:
        raise Ambiguous(
            "A manual channel is published by hand: only a person can say whether it is out.",
            network=self.name,
            code="manual",
        )


__all__ = ["MANUAL_LIMITS", "ManualNetwork"]
