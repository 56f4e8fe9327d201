"""Storing what the networks bring in: labelled by triage, grouped into conversations, once.

``ingest(channel, items)`` is what a channel's sync hands its items to (registered in
``InboxConfig.ready``). For one batch (a page of the network's) it:

1. drops the items already stored (idempotent on the network's message id, per channel: one
   query for the page's ids);
2. labels the rest with triage in one call, outside any transaction (language, sentiment,
   intent, specific complaint, department);
3. then, chunk after chunk of :data:`CHUNK` items, each in its own transaction under a lock on
   the channel's row: drops what another sync stored meanwhile, finds or creates each
   author's :class:`Customer`, puts each item in its :class:`Conversation` (a private message
   in its private thread; a public item that answers a message we have, the customer's or one
   of our replies, or belongs to a thread started by one, in that message's conversation;
   anything else starts a conversation of its own), stores the messages and moves the
   conversations on (counts, times, preview; a new message reopens a conversation that was
   waiting, snoozed or resolved), and calls the handlers registered with :func:`on_ingested`
   (routing rules, assignment, SLA clocks) before the commit.

Two syncs of one channel (a worker and a replayed batch) cannot both store an item or both
start a conversation. A sync interrupted midway keeps the chunks that committed and nothing of
the others; replaying the page stores the rest, every item once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.bulk import insert_rows, save_rows
from portevoix.core.models import Department
from portevoix.core.text import valid_unicode_fields
from portevoix.inbox.models import (
    Conversation,
    ConversationKind,
    ConversationState,
    Customer,
    InboundMessage,
    Reply,
    RoutedBy,
)
from portevoix.networks.types import InboundItem, InboundKind
from portevoix.notifications.actions import batched
from portevoix.triage.batch import label_page

#: Triage routes to these department codes; "social_team" stays with the social media team.
ROUTING = {
    "sales": "sales",
    "customer_service": "customer_service",
    "legal": "legal",
    "hr": "hr",
    "communication": "communication",
}
#: A new message from the customer brings these back to the team.
REOPENED_BY_MESSAGE = frozenset(
    {ConversationState.WAITING, ConversationState.SNOOZED, ConversationState.RESOLVED}
)
PREVIEW_LENGTH = 200
#: Items stored per transaction. A page of the network's (100 on the sandbox) is labelled at
#: once, then stored in chunks: each chunk's conversations are visible in their queues when
#: its transaction commits, instead of when the whole page's does (bench/inbox_ingest.py).
CHUNK = 25


@dataclass
class Ingested:
    """What one batch changed, for the handlers registered with :func:`on_ingested`."""

    channel: Channel
    #: The stored messages, oldest first, each with ``conversation`` and ``customer`` set.
    messages: list[InboundMessage] = field(default_factory=list)
    #: Conversations this batch started (state ``new``, or ``spam``), routed by triage.
    new_conversations: list[Conversation] = field(default_factory=list)
    #: Conversations that existed and got messages.
    touched_conversations: list[Conversation] = field(default_factory=list)
    #: Of those, the ones a message brought back to ``open`` (from waiting, snoozed, resolved).
    reopened: list[Conversation] = field(default_factory=list)
    #: The network's items stored by this batch, by message id (what the rows do not keep,
    #: such as the author's follower count).
    items: dict[str, InboundItem] = field(default_factory=dict)
    #: Shared by the chunks of one page (one :func:`ingest` call): what the handlers load once
    #: per page (the team's rules, calendars and policies) rather than once per transaction.
    page: dict[str, Any] = field(default_factory=dict)


IngestHandler = Callable[[Ingested], Any]
_handlers: list[IngestHandler] = []


def on_ingested(handler: IngestHandler) -> IngestHandler:
    """Register ``handler(ingested)``, called in the ingest's transaction after each batch
    that stored something (routing rules, assignment, SLA clocks). Usable as a decorator."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def remove_handler(handler: IngestHandler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def author_key(item: InboundItem) -> str:
    return (item.author.id or item.author.handle)[:300]


def _attachments(item: InboundItem) -> list[dict[str, str]]:
    found = getattr(item, "attachments", ()) or ()
    out = []
    for attachment in found:
        url = getattr(attachment, "url", "")
        if not url:
            continue
        out.append(
            {
                "url": url[:1000],
                "mime_type": getattr(attachment, "mime_type", "")[:100],
                "alt_text": getattr(attachment, "alt_text", "")[:1500],
            }
        )
    return out


def _conversation_kind(item: InboundItem) -> str:
    if item.kind == InboundKind.DM:
        return ConversationKind.PRIVATE
    if item.kind in (InboundKind.MENTION, InboundKind.QUOTE):
        return ConversationKind.MENTION
    return ConversationKind.PUBLIC


def private_key(item: InboundItem) -> str:
    return f"dm:{item.thread_id or author_key(item)}"[:520]


def ingest(channel: Channel, items: Sequence[InboundItem]) -> int:
    """Store the items not seen before, labelled and grouped. Returns how many are new."""
    if not items:
        return 0
    # A network may send half an emoji ("\\ud83d"): stored as it is, it would fail the insert,
    # and with it the batch and every later sync of the channel. It becomes U+FFFD.
    items = [valid_unicode_fields(item) for item in items]
    unique = {i.message_id: i for i in items}
    # Cheap first look outside the lock: a replayed batch costs one query.
    known = _known(channel, set(unique))
    fresh = sorted(
        (i for message_id, i in unique.items() if message_id not in known),
        key=lambda i: (i.created_at, i.message_id),
    )
    if not fresh:
        return 0
    # Triage works on the whole page at once, before any transaction: no lock is held while
    # it computes, and it labels what the lock may still find stored meanwhile (dropped).
    labels = dict(zip((i.message_id for i in fresh), label(channel, fresh), strict=True))
    stored = 0
    page: dict[str, Any] = {}
    for start in range(0, len(fresh), CHUNK):
        stored += _ingest_chunk(channel, fresh[start : start + CHUNK], labels, page)
    return stored


def label(channel: Channel, fresh: Sequence[InboundItem]) -> list[Any]:
    """Triage's labels for ``fresh``, in order: the inbox's one call to triage, with what each
    item answers (its parent's text and kind) as context."""
    parent_of = _parent_texts(channel, list(fresh))
    return label_page(
        [
            {
                "text": i.text,
                "channel": channel.network,
                "kind": i.kind.value,
                "parent_text": parent_of.get(i.in_reply_to or "", ("", ""))[0] or None,
                "parent_kind": parent_of.get(i.in_reply_to or "", ("", ""))[1] or None,
            }
            for i in fresh
        ],
        workspace=channel.workspace,
        design=triage_design(channel.workspace),
    )


def triage_design(workspace: Any) -> Literal["cascade", "thorough"]:
    """``thorough`` when the workspace chose careful triage (webcare settings), else the
    cascade."""
    from portevoix.care.models import workspace_settings

    return "thorough" if workspace_settings(workspace).careful_triage else "cascade"


def _known(channel: Channel, ids: set[str]) -> set[str]:
    """The ids already stored, and those erased (a person's request, retention): neither is
    stored again when the network delivers it once more."""
    from portevoix.privacy.tombstones import buried, inbox_scope

    stored = set(
        InboundMessage.objects.filter(channel=channel, message_id__in=ids).values_list(
            "message_id", flat=True
        )
    )
    return stored | buried(channel.workspace_id, inbox_scope(channel.pk), ids - stored)


def _ingest_chunk(
    channel: Channel, chunk: list[InboundItem], labels: dict[str, Any], page: dict[str, Any]
) -> int:
    """One transaction: store what is still new of ``chunk`` and run the handlers."""
    with transaction.atomic():
        # Serialise the channel's ingests: what is "new" is decided under the lock.
        Channel.objects.select_for_update().filter(pk=channel.pk).values_list("pk").first()
        known = _known(channel, {i.message_id for i in chunk})
        fresh = [i for i in chunk if i.message_id not in known]
        if not fresh:
            return 0
        # Routing, assignment and hand-offs tell people as they go: written together at the end.
        with batched():
            result = _store(channel, fresh, [labels[i.message_id] for i in fresh], page)
            for handler in list(_handlers):
                handler(result)
    return len(result.messages)


def _parent_texts(channel: Channel, fresh: list[InboundItem]) -> dict[str, tuple[str, str]]:
    """What each item answers, for triage: the parent's text and kind, by its message id.

    A customer's message (stored, or earlier in this batch) gives its own kind; one of the
    brand's posts on this channel gives ``post``. Our answers to customers are left out: a
    "thanks!" under an answer is not about the answer's subject."""
    refs = {i.in_reply_to for i in fresh if i.in_reply_to}
    if not refs:
        return {}
    found = {i.message_id: (i.text, i.kind.value) for i in fresh if i.message_id in refs}
    rest = refs - set(found)
    if rest:
        for message_id, text, kind in InboundMessage.objects.filter(
            channel=channel, message_id__in=rest
        ).values_list("message_id", "text", "kind"):
            found[message_id] = (text, kind)
        rest -= set(found)
    if rest:
        from portevoix.publishing.models import PostKind, Publication

        for network_post_id, text, post_text in (
            Publication.objects.filter(channel=channel, network_post_id__in=rest)
            .exclude(post__kind=PostKind.REPLY)
            .values_list("network_post_id", "text", "post__text")
        ):
            found[network_post_id] = (text or post_text, "post")
    return found


def _store(
    channel: Channel, fresh: list[InboundItem], labels: list[Any], page: dict[str, Any]
) -> Ingested:
    workspace = channel.workspace
    now = timezone.now()
    if "departments" not in page:
        page["departments"] = {
            d.code: d for d in Department.objects.filter(workspace_id=workspace.pk)
        }
    departments: dict[str, Department] = page["departments"]
    customers = _customers(channel, fresh, labels, now)

    # Where each item goes: conversations reached through what it answers.
    parents = {i.in_reply_to for i in fresh if i.in_reply_to} | {
        i.thread_id for i in fresh if i.thread_id
    }
    by_message: dict[str, int] = dict(
        InboundMessage.objects.filter(channel=channel, message_id__in=parents)
        .exclude(conversation__isnull=True)
        .values_list("message_id", "conversation_id")
    )
    ours = {i.in_reply_to for i in fresh if i.in_reply_to} - set(by_message)
    by_reply: dict[str, int] = {}
    if ours:
        by_reply = dict(
            Reply.objects.filter(
                conversation__channel=channel, post__publications__network_post_id__in=ours
            ).values_list("post__publications__network_post_id", "conversation_id")
        )
    private_keys = {private_key(i) for i in fresh if i.kind == InboundKind.DM}
    public_keys = {i.message_id[:520] for i in fresh if i.kind != InboundKind.DM}
    existing: dict[str, Conversation] = {
        c.thread_key: c
        for c in Conversation.objects.filter(
            channel=channel, thread_key__in=private_keys | public_keys
        )
    }
    by_id: dict[int, Conversation] = {c.pk: c for c in existing.values()}
    wanted = (set(by_message.values()) | set(by_reply.values())) - set(by_id)
    if wanted:
        by_id.update({c.pk: c for c in Conversation.objects.filter(pk__in=wanted)})

    # Pass 1: decide, item by item (an item may answer one earlier in the batch).
    placement: list[tuple[str, int | str]] = []  # ("id", pk) or ("key", thread_key)
    batch_keys: dict[str, str] = {}  # message id -> thread key of a conversation to create
    starts: dict[str, tuple[InboundItem, Any]] = {}  # thread key -> first item, its labels
    for item, label in zip(fresh, labels, strict=True):
        target: tuple[str, int | str] | None = None
        if item.kind == InboundKind.DM:
            key = private_key(item)
            target = ("id", existing[key].pk) if key in existing else ("key", key)
        else:
            for ref in (item.in_reply_to, item.thread_id):
                if not ref:
                    continue
                if ref in by_message:
                    target = ("id", by_message[ref])
                elif ref in batch_keys:
                    target = ("key", batch_keys[ref])
                elif ref == item.in_reply_to and ref in by_reply:
                    target = ("id", by_reply[ref])
                if target is not None:
                    break
            if target is None:
                key = item.message_id[:520]
                target = ("id", existing[key].pk) if key in existing else ("key", key)
        if target[0] == "key":
            starts.setdefault(str(target[1]), (item, label))
            batch_keys[item.message_id] = str(target[1])
        else:
            by_message[item.message_id] = int(target[1])
        placement.append(target)

    # Pass 2: start the new conversations, routed by triage's labels of their first message.
    created = []
    for key, (item, label) in starts.items():
        routed = label.department.value
        spam = label.intent.value == "spam"
        created.append(
            Conversation(
                workspace=workspace,
                channel=channel,
                kind=_conversation_kind(item),
                thread_key=key,
                customer=customers[(channel.network, author_key(item))],
                state=ConversationState.SPAM if spam else ConversationState.NEW,
                department=departments.get(ROUTING.get(routed, "")),
                language=label.language.value,
                sentiment=label.sentiment.value,
                intent=label.intent.value,
                specific=bool(getattr(label, "specific", False)),
                routed_to=routed,
                routed_by=RoutedBy.TRIAGE,
                created_at=item.created_at,
                last_message_at=item.created_at,
                last_inbound_at=item.created_at,
                updated_at=now,
            )
        )
    insert_rows(created)
    new_by_key = {c.thread_key: c for c in created}
    for conversation in created:
        by_id[conversation.pk] = conversation

    # Pass 3: the messages.
    rows: list[InboundMessage] = []
    touched: dict[int, Conversation] = {}
    for (how, where), item, label in zip(placement, fresh, labels, strict=True):
        conversation = new_by_key[str(where)] if how == "key" else by_id[int(where)]
        routed = label.department.value
        rows.append(
            InboundMessage(
                channel=channel,
                message_id=item.message_id,
                kind=item.kind.value,
                conversation=conversation,
                customer=customers[(channel.network, author_key(item))],
                author_handle=item.author.handle[:300],
                author_name=item.author.display_name[:300],
                text=item.text,
                attachments=_attachments(item),
                created_at=item.created_at,
                received_at=now,
                in_reply_to=item.in_reply_to or "",
                thread_id=item.thread_id or "",
                url=item.url[:500],
                language=label.language.value,
                sentiment=label.sentiment.value,
                sentiment_score=label.sentiment_score,
                intent=label.intent.value,
                specific=bool(getattr(label, "specific", False)),
                routed_to=routed,
                confidence=label.confidence,
                needs_review=label.needs_review,
                decided_by=label.decided_by[:12],
                department=departments.get(ROUTING.get(routed, "")),
            )
        )
        touched[conversation.pk] = conversation
    insert_rows(rows)

    # Pass 4: move the conversations on.
    reopened: list[Conversation] = []
    for message in rows:
        conversation = touched[message.conversation_id]  # type: ignore[index]
        conversation.message_count += 1
        conversation.preview = message.text[:PREVIEW_LENGTH]
        if message.created_at >= conversation.last_message_at:
            conversation.last_message_at = message.created_at
        if (
            conversation.last_inbound_at is None
            or message.created_at > conversation.last_inbound_at
        ):
            conversation.last_inbound_at = message.created_at
    created_ids = {c.pk for c in created}
    old = [c for pk, c in touched.items() if pk not in created_ids]
    for conversation in old:
        if conversation.state in REOPENED_BY_MESSAGE:
            conversation.state = ConversationState.OPEN
            conversation.snoozed_until = None
            conversation.resolved_at = None
            reopened.append(conversation)
        conversation.updated_at = now
    save_rows(
        list(touched.values()),
        [
            "message_count",
            "preview",
            "last_message_at",
            "last_inbound_at",
            "state",
            "snoozed_until",
            "resolved_at",
            "updated_at",
        ],
    )
    return Ingested(
        channel=channel,
        messages=rows,
        new_conversations=created,
        touched_conversations=old,
        reopened=reopened,
        items={i.message_id: i for i in fresh},
        page=page,
    )


def handle_spellings(handle: str, network: str, account_url: str) -> list[str]:
    """The ways one person's handle is written on ``network`` for a channel at
    ``account_url``: with and without the "@" (X and Instagram's inbox write it), and on
    Mastodon a user of the channel's own instance both as ``user`` (the inbox) and as
    ``user@instance`` (listening)."""
    bare = handle.lstrip("@")
    if not bare:
        return []
    found = [bare, f"@{bare}"]
    host = urlsplit(account_url or "").hostname or ""
    if network == "mastodon" and host:
        user, at, domain = bare.partition("@")
        if not at:
            found.append(f"{bare}@{host}")
        elif domain == host:
            found += [user, f"@{user}"]
    return found


def _adopt(channel: Channel, items: dict[str, InboundItem]) -> dict[str, Customer]:
    """Customers made before the network's id for the person was known take it when the
    person writes: one customer, not two. Those are the ones keyed by their handle (a
    listening mention sent to the inbox whose source gave no id: a Mastodon author heard on
    another instance is ``user@instance``, a local one of the channel's instance too)."""
    wanted: dict[str, str] = {}  # the handle a customer may be keyed by -> the network's id
    for key, item in items.items():
        if item.author.handle.lstrip("@") == key:
            continue
        spellings = handle_spellings(item.author.handle, channel.network, channel.account_url)
        for variant in spellings:
            if variant != key:
                wanted.setdefault(variant[:300], key)
    if not wanted:
        return {}
    adopted: dict[str, Customer] = {}
    rows = Customer.objects.filter(
        workspace_id=channel.workspace_id, network=channel.network, author_id__in=list(wanted)
    ).order_by("pk")
    for customer in rows:
        if customer.author_id != customer.handle:
            continue  # keyed by a network id already: someone else's
        key = wanted[customer.author_id]
        if key in adopted:
            continue
        try:
            with transaction.atomic():  # another channel may have made the row meanwhile
                Customer.objects.filter(pk=customer.pk).update(author_id=key)
        except IntegrityError:
            continue
        customer.author_id = key
        adopted[key] = customer
    return adopted


def _customers(
    channel: Channel, fresh: list[InboundItem], labels: Sequence[Any], now: datetime
) -> dict[tuple[str, str], Customer]:
    """Each author's customer row (created on first sight), with its last sighting."""
    network = channel.network
    workspace_id = channel.workspace_id
    latest: dict[str, tuple[InboundItem, Any]] = {}
    counts: dict[str, int] = {}
    for item, label in zip(fresh, labels, strict=True):
        key = author_key(item)
        latest[key] = (item, label)
        counts[key] = counts.get(key, 0) + 1
    found = {
        c.author_id: c
        for c in Customer.objects.filter(
            workspace_id=workspace_id, network=network, author_id__in=list(latest)
        )
    }
    # Rows in one order (author id, then primary key): two channels of one network storing the
    # same customers at once (the worker syncs channels in parallel) take their row locks in
    # the same order, so one waits for the other instead of both deadlocking.
    missing = sorted(key for key in latest if key not in found)
    if missing:
        found.update(_adopt(channel, {key: latest[key][0] for key in missing}))
        missing = [key for key in missing if key not in found]
    if missing:
        first_seen: dict[str, datetime] = {}
        for item in fresh:
            first_seen.setdefault(author_key(item), item.created_at)
        Customer.objects.bulk_create(
            [
                Customer(
                    workspace_id=workspace_id,
                    network=network,
                    author_id=key,
                    handle=latest[key][0].author.handle[:300],
                    first_seen_at=first_seen[key],
                    last_seen_at=first_seen[key],
                )
                for key in missing
            ],
            ignore_conflicts=True,  # another channel of the network may create one meanwhile
        )
        found.update(
            {
                c.author_id: c
                for c in Customer.objects.filter(
                    workspace_id=workspace_id, network=network, author_id__in=missing
                )
            }
        )
    for key, customer in found.items():
        item, label = latest[key]
        author = item.author
        customer.handle = author.handle[:300]
        customer.display_name = (author.display_name or customer.display_name)[:300]
        customer.url = (author.url or customer.url)[:500]
        customer.avatar_url = (author.avatar_url or customer.avatar_url)[:500]
        if label.language.value not in ("", "unknown"):
            customer.language = label.language.value
        customer.last_seen_at = max(customer.last_seen_at, item.created_at)
        customer.message_count += counts[key]
    save_rows(
        sorted(found.values(), key=lambda c: c.pk),
        [
            "handle",
            "display_name",
            "url",
            "avatar_url",
            "language",
            "last_seen_at",
            "message_count",
        ],
    )
    return {(network, key): customer for key, customer in found.items()}
