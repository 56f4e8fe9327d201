"""One person's data, as the law asks a company to handle it (GDPR), and how long it is kept.

- :func:`holdings`: everything the workspace holds about one author on one network: their
  customer record and the team's notes, the conversations they started (with the team's
  replies, internal notes and hand-offs), every message they wrote in anyone's conversation,
  listening's mentions of their public posts, their place on the VIP list, the triage
  corrections made on their words.
- :func:`export_person`: all of it as one JSON document (right of access and portability,
  articles 15 and 20).
- :func:`erase_person`: all of it deleted in one transaction (right to erasure, article 17);
  what refers to it elsewhere (notifications, queued webhook events, the audit log's
  descriptions) loses the words too. The audit log keeps that an erasure happened, by whom,
  when and how much, with a keyed fingerprint of the person instead of their handle, so a
  second request about the same person can be answered ("erased on ...") without keeping
  who they are.
- :func:`apply_retention`: the workspace's retention policy, run every day by the
  ``privacy-retention`` housekeeping job: closed conversations and listening mentions older
  than the chosen periods are deleted the same way (storage limitation, article 5(1)(e)).

Webcare's hourly figures (``care.WebcareStat``) are sums without names: they stay, so the
analytics of past months do not change when someone's messages are erased.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy, gettext_noop

from portevoix.core import audit
from portevoix.core.models import AuditEntry, Member, Workspace
from portevoix.core.permissions import require

#: What each count of :meth:`Holdings.counts` is, in the page's order (the privacy page
#: lists them; the audit log names an export's or an erasure's counts with them).
COUNT_LABELS = {
    "customers": gettext_lazy("customer records, with the team's notes"),
    "conversations": gettext_lazy(
        "conversations they started, with our replies and internal notes"
    ),
    "messages": gettext_lazy("messages they wrote"),
    "others_messages": gettext_lazy("messages by other people in those conversations"),
    "mentions": gettext_lazy("public posts of theirs heard by listening"),
    "vip": gettext_lazy("VIP list entries"),
    "corrections": gettext_lazy("triage corrections made on their words"),
    "crm_records": gettext_lazy(
        "hand-offs to a CRM or helpdesk (erased here; erase them in that tool too)"
    ),
}
#: The other keys of a request's audit entry (:func:`_record`).
AUDIT_KEY_LABELS = {
    "person": gettext_lazy("person (a fingerprint of the handle, never the handle)"),
    "reference": gettext_lazy("request reference"),
    **COUNT_LABELS,
}

AUDIT_LABELS = {
    "privacy.export": gettext_noop("A person's data exported"),
    "privacy.erase": gettext_noop("A person's data erased"),
    "privacy.retention": gettext_noop("Retention periods changed"),
    "privacy.purge": gettext_noop("Old messages deleted by the retention policy"),
}

#: What erased words become where a row must stay (a private reply we sent, an audit entry).
ERASED = "[erased]"


class PersonError(ValueError):
    """The person asked about cannot be looked for. ``code``: ``unknown_network``,
    ``no_handle`` (nothing left once the @ and spaces are gone) or ``not_a_handle`` (spaces or
    a null character inside)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def normalise_handle(raw: str) -> str:
    """``@Alice.bsky.social `` → ``Alice.bsky.social``: what people paste from a profile."""
    handle = (raw or "").strip()
    if handle.startswith("@"):
        handle = handle[1:]
    return handle.strip()


def known_network(name: str) -> bool:
    from portevoix.networks.registry import all_networks

    return name in {n.name for n in all_networks()}


def checked_handle(raw: str) -> str:
    """The handle as :func:`normalise_handle` gives it; :class:`PersonError` when it is none."""
    handle = normalise_handle(raw)
    if not handle:
        raise PersonError("a handle is needed", "no_handle")
    if "\x00" in handle or any(c.isspace() for c in handle):
        raise PersonError(f"{handle!r} is not a handle", "not_a_handle")
    return handle


def fingerprint(network: str, handle: str, secret: str | None = None) -> str:
    """A keyed digest of the person: the same for the same handle (case aside), useless to
    anyone without the installation's secret key."""
    value = f"{network}:{normalise_handle(handle).casefold()}"
    return salted_hmac(
        "portevoix.privacy.person", value, secret=secret, algorithm="sha256"
    ).hexdigest()[:32]


def fingerprints(network: str, handle: str) -> list[str]:
    """The person's fingerprint under the secret key and each fallback (older audit entries
    were written before a rotation)."""
    from portevoix.core.crypto import secret_keys

    return [fingerprint(network, handle, secret) for secret in secret_keys()]


@dataclass
class Holdings:
    """The rows about one person in one workspace (querysets: nothing is read until used)."""

    workspace: Workspace
    network: str
    handle: str
    customers: QuerySet[Any]
    conversations: QuerySet[Any]
    messages: QuerySet[Any]
    others_messages: QuerySet[Any]
    mentions: QuerySet[Any]
    vip: QuerySet[Any]
    corrections: QuerySet[Any]
    crm_records: QuerySet[Any]

    def counts(self) -> dict[str, int]:
        return {
            "customers": self.customers.count(),
            "conversations": self.conversations.count(),
            "messages": self.messages.count(),
            "others_messages": self.others_messages.count(),
            "mentions": self.mentions.count(),
            "vip": self.vip.count(),
            "corrections": self.corrections.count(),
            "crm_records": self.crm_records.count(),
        }


def holdings(workspace: Workspace, network: str, handle: str) -> Holdings:
    from portevoix.api.models import CrmRecord
    from portevoix.care.models import VipAuthor
    from portevoix.inbox.models import Conversation, Customer, InboundMessage
    from portevoix.listening.models import Mention
    from portevoix.triage.models import TriageCorrection

    handle = normalise_handle(handle)
    if not network or not handle:
        raise PersonError("a network and a handle are needed", "no_handle")
    customers = Customer.objects.filter(workspace=workspace, network=network).filter(
        Q(handle__iexact=handle) | Q(author_id=handle)
    )
    customer_ids = list(customers.values_list("pk", flat=True))
    conversations = Conversation.objects.filter(workspace=workspace, customer_id__in=customer_ids)
    on_network = InboundMessage.objects.filter(
        channel__workspace=workspace, channel__network=network
    )
    theirs = Q(customer_id__in=customer_ids) | Q(author_handle__iexact=handle)
    messages = on_network.filter(theirs)
    others = InboundMessage.objects.filter(
        conversation__in=conversations.values("pk"), channel__workspace=workspace
    ).exclude(theirs)
    message_refs = list(messages.values_list("message_id", flat=True))
    # A correction made on their words (one too short to be theirs alone, "merci !", stays).
    texts = [
        t for t in messages.values_list("text", flat=True).distinct()[:5000] if len(t.strip()) >= 20
    ]
    corrections = TriageCorrection.objects.filter(workspace=workspace).filter(
        Q(source_ref__in=message_refs) | Q(text__in=texts)
    )
    return Holdings(
        workspace=workspace,
        network=network,
        handle=handle,
        customers=customers,
        conversations=conversations,
        messages=messages,
        others_messages=others,
        mentions=Mention.objects.filter(
            workspace=workspace, network=network, author_handle__iexact=handle
        ),
        # A VIP entry without a network is the handle on any network.
        vip=VipAuthor.objects.filter(workspace=workspace, handle__iexact=handle).filter(
            Q(network=network) | Q(network="")
        ),
        corrections=corrections,
        crm_records=CrmRecord.objects.filter(conversation__in=conversations.values("pk")),
    )


def past_erasures(workspace: Workspace, network: str, handle: str) -> list[AuditEntry]:
    """The erasures of this person already recorded in this workspace, newest first."""
    marks = fingerprints(network, handle)
    query = Q()
    for mark in marks:
        query |= Q(after__person=mark)
    return list(
        AuditEntry.objects.filter(query, workspace=workspace, action="privacy.erase").order_by(
            "-created_at"
        )[:20]
    )


# --- export ------------------------------------------------------------------------------


def _at(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_person(
    workspace: Workspace, network: str, handle: str, *, by: Member | None, reference: str = ""
) -> dict[str, Any]:
    """Everything held about the person, as JSON values. Audited (without the handle)."""
    from portevoix.inbox.models import HandOff, Note, Reply

    if by is not None:
        require(by, "privacy.manage")
    held = holdings(workspace, network, handle)
    conversations = list(held.conversations.select_related("channel").order_by("created_at"))
    conversation_ids = [c.pk for c in conversations]
    theirs = set(conversation_ids)
    by_conversation: dict[int | None, list[dict[str, Any]]] = {}
    for message in held.messages.select_related("channel").order_by("created_at", "pk"):
        by_conversation.setdefault(message.conversation_id, []).append(
            {
                "written_at": _at(message.created_at),
                "channel": message.channel.name,
                "kind": message.kind,
                "text": message.text,
                "url": message.url,
                "attachments": message.attachments,
                "language": message.language,
                "sentiment": message.sentiment,
                "intent": message.intent,
                "routed_to": message.routed_to,
            }
        )
    replies: dict[int, list[dict[str, Any]]] = {}
    for reply in (
        Reply.objects.filter(conversation_id__in=conversation_ids)
        .select_related("post", "author__user")
        .order_by("pk")
    ):
        replies.setdefault(reply.conversation_id, []).append(
            {
                "written_at": _at(reply.post.created_at),
                "private": reply.private,
                "text": reply.post.text,
                "by": reply.author.user.display_name if reply.author else "",
            }
        )
    notes: dict[int, list[dict[str, Any]]] = {}
    for note in Note.objects.filter(conversation_id__in=conversation_ids).order_by("pk"):
        notes.setdefault(note.conversation_id, []).append(
            {"written_at": _at(note.created_at), "text": note.text}
        )
    handoffs: dict[int, list[dict[str, Any]]] = {}
    for handoff in (
        HandOff.objects.filter(conversation_id__in=conversation_ids)
        .select_related("department")
        .order_by("pk")
    ):
        handoffs.setdefault(handoff.conversation_id, []).append(
            {
                "department": handoff.department.name if handoff.department else "",
                "asked_at": _at(handoff.requested_at),
                "note": handoff.note,
            }
        )
    document: dict[str, Any] = {
        "format": "porte-voix/person-data/1",
        "workspace": workspace.name,
        "network": network,
        "handle": held.handle,
        "exported_at": timezone.now().isoformat(),
        "profiles": [
            {
                "handle": c.handle,
                "network_id": c.author_id,
                "name": c.display_name,
                "profile": c.url,
                "language": c.language,
                "first_seen_at": _at(c.first_seen_at),
                "last_seen_at": _at(c.last_seen_at),
                "team_notes": c.notes,
            }
            for c in held.customers.order_by("pk")
        ],
        "conversations": [
            {
                "number": c.pk,
                "channel": c.channel.name,
                "kind": c.kind,
                "state": c.state,
                "started_at": _at(c.created_at),
                "their_messages": by_conversation.get(c.pk, []),
                "our_replies": replies.get(c.pk, []),
                "team_notes": notes.get(c.pk, []),
                "handed_to": handoffs.get(c.pk, []),
            }
            for c in conversations
        ],
        "messages_elsewhere": [
            m for key, rows in by_conversation.items() if key not in theirs for m in rows
        ],
        "public_posts_heard_by_listening": [
            {
                "posted_at": _at(m.posted_at),
                "text": m.text,
                "url": m.url,
                "language": m.language,
                "sentiment": m.sentiment,
                "reach_when_read": m.author_reach,
            }
            for m in held.mentions.order_by("posted_at", "pk")
        ],
        "vip": [{"note": v.note, "added_at": _at(v.created_at)} for v in held.vip],
        "handed_to_crm": [
            {
                "integration": r.integration.name,
                "conversation": r.conversation_id,
                "reference": r.reference,
                "id_in_that_tool": r.external_id,
                "link": r.external_url,
                "state": r.state,
                "sent_at": _at(r.created_at),
            }
            for r in held.crm_records.select_related("integration").order_by("pk")
        ],
    }
    with transaction.atomic():
        _record("privacy.export", held, by=by, reference=reference, counts=held.counts())
    return document


def _record(
    action: str, held: Holdings, *, by: Member | None, reference: str, counts: dict[str, int]
) -> None:
    """The audit entry of a request answered: the fingerprint, never the handle."""
    audit.record(
        action,
        workspace=held.workspace,
        actor=by.user if by is not None else None,
        after={
            "network": held.network,
            "person": fingerprint(held.network, held.handle),
            "reference": reference,
            **_summary(counts),
        },
    )


def _summary(counts: dict[str, int]) -> dict[str, int]:
    return {key: value for key, value in counts.items() if value}


# --- erasure -----------------------------------------------------------------------------


def _redact_audit(pairs: Iterable[tuple[str, Iterable[int]]]) -> int:
    """The audit log's descriptions of erased rows lose their words; the entries stay (who
    did what, when). The only write the append-only log allows, and only through here."""
    changed = 0
    for object_type, ids in pairs:
        keys = [str(pk) for pk in ids]
        for start in range(0, len(keys), 500):
            rows = AuditEntry.objects.filter(
                object_type=object_type, object_id__in=keys[start : start + 500]
            )
            changed += models.QuerySet.update(rows, object_repr=ERASED, before=None, after=None)
    return changed


def _scrub_alerts(workspace_id: int, message_ids: Sequence[int], mention_ids: Sequence[int]) -> int:
    """A crisis alert quotes the messages that caused it: the erased ones lose their words
    (the alert keeps that a message came then, on that network)."""
    from portevoix.crisis.models import Alert

    refs = {f"inbox:{pk}" for pk in message_ids} | {f"mention:{pk}" for pk in mention_ids}
    if not refs:
        return 0
    changed = 0
    for alert in Alert.objects.filter(workspace_id=workspace_id).only("pk", "messages"):
        rows = list(alert.messages or [])
        if not any(str(item.get("ref", "")) in refs for item in rows):
            continue
        rows = [
            {**item, "text": ERASED, "ref": ""} if str(item.get("ref", "")) in refs else item
            for item in rows
        ]
        Alert.objects.filter(pk=alert.pk).update(messages=rows)
        changed += 1
    return changed


def _delete_mentions(workspace_id: int, mention_ids: Sequence[int]) -> None:
    """Delete mentions with their traces: audit descriptions blanked, their ids buried."""
    from portevoix.listening.models import Mention
    from portevoix.privacy.tombstones import bury, mention_scope

    _redact_audit([("listening.mention", mention_ids)])
    for start in range(0, len(mention_ids), 500):
        chunk = Mention.objects.filter(pk__in=mention_ids[start : start + 500])
        bury(
            workspace_id,
            (
                (mention_scope(network), key)
                for network, key in chunk.values_list("network", "external_id")
            ),
        )
        chunk.delete()


def _erase(
    workspace_id: int,
    *,
    conversation_ids: Sequence[int],
    message_ids: Sequence[int],
    customer_ids: Sequence[int] = (),
    mention_ids: Sequence[int] = (),
    vip_ids: Sequence[int] = (),
    correction_ids: Sequence[int] = (),
) -> None:
    """Delete these rows and the traces of them (inside the caller's transaction)."""
    from portevoix.api.models import CrmInboundEvent, WebhookDelivery
    from portevoix.care.models import VipAuthor
    from portevoix.inbox.models import (
        Conversation,
        Customer,
        HandOff,
        InboundMessage,
        Note,
        Reply,
    )
    from portevoix.notifications.models import Notification
    from portevoix.privacy.tombstones import bury, inbox_scope
    from portevoix.publishing.models import Post, Publication
    from portevoix.triage.models import TriageCorrection

    in_conversations = {"conversation_id__in": conversation_ids}
    note_ids = list(Note.objects.filter(**in_conversations).values_list("pk", flat=True))
    handoff_ids = list(HandOff.objects.filter(**in_conversations).values_list("pk", flat=True))
    reply_ids = list(Reply.objects.filter(**in_conversations).values_list("pk", flat=True))
    # A private answer we sent them is about them: its words go, the delivery record stays.
    private_posts = list(
        Reply.objects.filter(private=True, **in_conversations).values_list("post_id", flat=True)
    )
    if private_posts:
        Post.objects.filter(pk__in=private_posts).update(text=ERASED)
        Publication.objects.filter(post_id__in=private_posts).exclude(text="").update(text=ERASED)
    for start in range(0, len(conversation_ids), 500):
        chunk = conversation_ids[start : start + 500]
        Notification.objects.filter(
            object_type="inbox.conversation", object_id__in=[str(pk) for pk in chunk]
        ).delete()
        WebhookDelivery.objects.filter(payload__data__conversation_id__in=chunk).delete()
        # The CRM's status updates about their hand-offs (the records go with the conversation).
        CrmInboundEvent.objects.filter(record__conversation_id__in=chunk).delete()
    TriageCorrection.objects.filter(pk__in=correction_ids).delete()
    _redact_audit(
        [
            ("inbox.customer", customer_ids),
            ("inbox.conversation", conversation_ids),
            ("inbox.inboundmessage", message_ids),
            ("care.vipauthor", vip_ids),
            ("triage.triagecorrection", correction_ids),
            ("inbox.note", note_ids),
            ("inbox.handoff", handoff_ids),
            ("inbox.reply", reply_ids),
        ]
    )
    _scrub_alerts(workspace_id, message_ids, mention_ids)
    # What was erased stays erased: the networks' ids are remembered, as digests.
    for start in range(0, len(message_ids), 500):
        bury(
            workspace_id,
            (
                (inbox_scope(channel_id), key)
                for channel_id, key in InboundMessage.objects.filter(
                    pk__in=message_ids[start : start + 500]
                ).values_list("channel_id", "message_id")
            ),
        )
    InboundMessage.objects.filter(pk__in=message_ids).delete()
    for start in range(0, len(conversation_ids), 500):
        Conversation.objects.filter(pk__in=conversation_ids[start : start + 500]).delete()
    Customer.objects.filter(pk__in=customer_ids).delete()
    _delete_mentions(workspace_id, mention_ids)
    VipAuthor.objects.filter(pk__in=vip_ids).delete()


def _lock_channels(workspace: Workspace, network: str | None = None) -> None:
    """The inbox stores a channel's messages under that channel's lock (``ingest``): holding
    the locks of the channels (of one network, or all), no message lands on a customer while
    their rows are deleted, which would otherwise fail on the conversation it starts."""
    from portevoix.channels.models import Channel

    channels = Channel.objects.select_for_update().filter(workspace=workspace)
    if network is not None:
        channels = channels.filter(network=network)
    list(channels.order_by("pk").values_list("pk", flat=True))


def erase_person(
    workspace: Workspace,
    network: str,
    handle: str,
    *,
    by: Member | None,
    reference: str = "",
) -> dict[str, int]:
    """Delete everything held about the person; return the counts erased."""
    if by is not None:
        require(by, "privacy.manage")
    with transaction.atomic():
        _lock_channels(workspace, network)
        held = holdings(workspace, network, handle)
        counts = held.counts()

        def ids(rows: QuerySet[Any]) -> list[int]:
            return list(rows.values_list("pk", flat=True))

        _erase(
            workspace.pk,
            conversation_ids=ids(held.conversations),
            message_ids=ids(held.messages) + ids(held.others_messages),
            customer_ids=ids(held.customers),
            mention_ids=ids(held.mentions),
            vip_ids=ids(held.vip),
            correction_ids=ids(held.corrections),
        )
        _record("privacy.erase", held, by=by, reference=reference, counts=counts)
    return counts


# --- retention ---------------------------------------------------------------------------


def set_retention(
    workspace: Workspace,
    *,
    by: Member | None,
    conversations_days: int | None,
    mentions_days: int | None,
) -> Any:
    from portevoix.privacy.models import MAX_DAYS, MIN_DAYS, RetentionPolicy

    if by is not None:
        require(by, "privacy.manage")
    for value in (conversations_days, mentions_days):
        if value is not None and not MIN_DAYS <= value <= MAX_DAYS:
            raise ValueError(f"a retention period is between {MIN_DAYS} and {MAX_DAYS} days")
    with transaction.atomic():
        policy, _created = RetentionPolicy.objects.select_for_update().get_or_create(
            workspace=workspace
        )
        before = {
            "conversations_days": policy.conversations_days,
            "mentions_days": policy.mentions_days,
        }
        policy.conversations_days = conversations_days
        policy.mentions_days = mentions_days
        policy.updated_at = timezone.now()
        policy.updated_by = by
        policy.save()
        after = {"conversations_days": conversations_days, "mentions_days": mentions_days}
        if before != after:
            audit.record(
                "privacy.retention",
                workspace=workspace,
                actor=by.user if by is not None else None,
                obj=policy,
                before=before,
                after=after,
            )
    return policy


def apply_retention(policy: Any, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what the policy says is too old; return the counts (audited when not zero)."""
    from portevoix.inbox.models import Conversation, ConversationState, Customer, InboundMessage
    from portevoix.listening.models import Mention

    now = now or timezone.now()
    workspace = policy.workspace
    done = {"conversations": 0, "messages": 0, "customers": 0, "mentions": 0}
    with transaction.atomic():
        if policy.conversations_days:
            # As for an erasure: no message lands on a customer while the old ones go.
            _lock_channels(workspace)
            cutoff = now - dt.timedelta(days=policy.conversations_days)
            old = Conversation.objects.filter(
                workspace=workspace,
                state__in=[ConversationState.RESOLVED, ConversationState.SPAM],
                last_message_at__lt=cutoff,
            )
            conversation_ids = list(old.values_list("pk", flat=True))
            # Messages outside any conversation (none are made today) age the same way.
            message_ids = list(
                InboundMessage.objects.filter(
                    Q(conversation_id__in=conversation_ids)
                    | Q(conversation__isnull=True, created_at__lt=cutoff),
                    channel__workspace=workspace,
                ).values_list("pk", flat=True)
            )
            _erase(workspace.pk, conversation_ids=conversation_ids, message_ids=message_ids)
            # Customers left with nothing: no conversation, not seen since the cutoff.
            orphan_ids = list(
                Customer.objects.filter(
                    workspace=workspace, last_seen_at__lt=cutoff, conversations__isnull=True
                ).values_list("pk", flat=True)
            )
            _erase(workspace.pk, conversation_ids=[], message_ids=[], customer_ids=orphan_ids)
            done.update(
                conversations=len(conversation_ids),
                messages=len(message_ids),
                customers=len(orphan_ids),
            )
        if policy.mentions_days:
            cutoff = now - dt.timedelta(days=policy.mentions_days)
            mention_ids = list(
                Mention.objects.filter(workspace=workspace, posted_at__lt=cutoff).values_list(
                    "pk", flat=True
                )
            )
            _delete_mentions(workspace.pk, mention_ids)
            done["mentions"] = len(mention_ids)
        policy.last_run_at = now
        policy.last_result = done
        policy.save(update_fields=["last_run_at", "last_result"])
        if any(done.values()):
            audit.record(
                "privacy.purge", workspace=workspace, actor=None, actor_label="worker", after=done
            )
    return done


def retention_job(row: Any) -> str:
    """The ``privacy-retention`` housekeeping job: every workspace's policy, once a day."""
    from portevoix.privacy.models import RetentionPolicy

    totals = {"conversations": 0, "messages": 0, "customers": 0, "mentions": 0}
    policies = RetentionPolicy.objects.filter(
        Q(conversations_days__isnull=False) | Q(mentions_days__isnull=False)
    ).select_related("workspace")
    for policy in policies:
        for key, value in apply_retention(policy).items():
            totals[key] += value
    return ", ".join(f"{value} {key}" for key, value in totals.items()) + " deleted"


__all__ = [
    "ERASED",
    "Holdings",
    "PersonError",
    "apply_retention",
    "checked_handle",
    "erase_person",
    "export_person",
    "fingerprint",
    "holdings",
    "known_network",
    "normalise_handle",
    "past_erasures",
    "retention_job",
    "set_retention",
]
