"""Storing what the networks bring in, labelled by triage, exactly once."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from portevoix.channels.models import Channel
from portevoix.core.models import Department
from portevoix.inbox.models import InboundMessage
from portevoix.networks.types import InboundItem

#: Triage routes to these department codes; "social_team" stays with the social media team.
ROUTING = {
    "sales": "sales",
    "customer_service": "customer_service",
    "legal": "legal",
    "hr": "hr",
    "communication": "communication",
}


def ingest(channel: Channel, items: Sequence[InboundItem]) -> int:
    """Store the items not seen before, each labelled by triage. Returns how many are new."""
    from portevoix.triage.service import label_items

    if not items:
        return 0
    known = set(
        InboundMessage.objects.filter(
            channel=channel, message_id__in=[i.message_id for i in items]
        ).values_list("message_id", flat=True)
    )
    fresh = list({i.message_id: i for i in items if i.message_id not in known}.values())
    if not fresh:
        return 0
    labels = label_items(
        [{"text": i.text, "channel": channel.network, "kind": i.kind.value} for i in fresh],
        workspace=channel.workspace,
    )
    departments = {d.code: d for d in Department.objects.filter(workspace_id=channel.workspace_id)}
    rows = []
    for item, label in zip(fresh, labels, strict=True):
        routed = label.department.value
        rows.append(
            InboundMessage(
                channel=channel,
                message_id=item.message_id,
                kind=item.kind.value,
                author_handle=item.author.handle[:300],
                author_name=item.author.display_name[:300],
                text=item.text,
                created_at=item.created_at,
                in_reply_to=item.in_reply_to or "",
                thread_id=item.thread_id or "",
                url=item.url[:500],
                language=label.language.value,
                sentiment=label.sentiment.value,
                sentiment_score=label.sentiment_score,
                intent=label.intent.value,
                routed_to=routed,
                confidence=label.confidence,
                needs_review=label.needs_review,
                department=departments.get(ROUTING.get(routed, "")),
            )
        )
    with transaction.atomic():
        InboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
