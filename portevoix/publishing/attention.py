"""What the "Needs attention" page lists: publications waiting for a person, channels in trouble.

Both lists go through ``visible_to(member)``: a member sees the publications (``post.view``)
and the channels (``channel.view``) of their own workspace only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.models import Member
from portevoix.core.permissions import can
from portevoix.publishing.models import NEEDS_PERSON, Publication, PublicationStates


def publications(member: Member) -> QuerySet[Publication]:
    return (
        Publication.objects.visible_to(member)
        .filter(state__in=NEEDS_PERSON)
        .select_related("post__author", "channel")
        .order_by("scheduled_at", "pk")
    )


def channels(member: Member) -> QuerySet[Channel]:
    """Channels to reconnect, and channels whose sync fails (a disconnected one is a choice)."""
    return (
        Channel.objects.visible_to(member)
        .filter(
            Q(state__in=[ChannelStates.needs_reconnect.name, ChannelStates.failing.name])
            | Q(sync_failing_since__isnull=False)
        )
        .exclude(state=ChannelStates.disconnected.name)
        .order_by("name")
    )


def late_by_hand(member: Member) -> QuerySet[Publication]:
    """Posts of manual channels still not published by hand an hour after their time."""
    from portevoix.publishing import manual

    return manual.late(member)


def count(member: Member | None) -> int:
    """How many things wait on the page (the number beside it in the navigation)."""
    if member is None or not can(member, "post.view"):
        return 0
    total = publications(member).count() + late_by_hand(member).count()
    if can(member, "channel.view"):
        total += channels(member).count()
    return total


@dataclass
class Candidate:
    """A post reconcile found on the network that may be this one, ready to show."""

    index: int
    post_id: str
    text: str
    url: str
    created_at: dt.datetime | None
    note: str


@dataclass
class ChannelRow:
    channel: Channel
    waiting: int


@dataclass
class Item:
    publication: Publication
    candidates: list[Candidate] = field(default_factory=list)
    #: The "mark as published" form (bound, with what was typed, after an error).
    form: Any = None
    open: bool = False


def candidates_of(publication: Publication) -> list[Candidate]:
    found: list[Candidate] = []
    raw = publication.candidates if isinstance(publication.candidates, list) else []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            continue
        url = str(entry.get("url") or "")
        when: dt.datetime | None = None
        try:
            when = dt.datetime.fromisoformat(str(entry.get("created_at") or ""))
        except ValueError:
            when = None
        found.append(
            Candidate(
                index=index,
                post_id=str(entry.get("post_id") or ""),
                text=str(entry.get("text") or ""),
                # Only web links are links: what a network answers is not trusted further.
                url=url if url.startswith(("https://", "http://")) else "",
                created_at=when if when is None or when.tzinfo else when.replace(tzinfo=dt.UTC),
                note=str(entry.get("note") or ""),
            )
        )
    return found


def page(member: Member) -> dict[str, Any]:
    items = [
        Item(
            p,
            candidates_of(p) if p.state == PublicationStates.needs_check.name else [],
        )
        for p in publications(member)
    ]
    rows: list[ChannelRow] = []
    if can(member, "channel.view"):
        listed = list(channels(member))
        waiting = dict(
            Publication.objects.filter(
                channel__in=listed, state=PublicationStates.waiting_reconnect.name
            )
            .order_by()
            .values_list("channel")
            .annotate(n=Count("pk"))
            .values_list("channel", "n")
        )
        rows = [ChannelRow(c, waiting.get(c.pk, 0)) for c in listed]
    return {"items": items, "channel_rows": rows, "by_hand": list(late_by_hand(member))}
