"""What listening hands to crisis detection: the workspace's mentions, as plain tuples.

    mention_signals(workspace_id, since, until)
    -> [(posted_at, network, is_negative, text, "mention:<id>"), ...]  oldest first
    mention_signals_with_author(workspace_id, since, until)
    -> [(posted_at, network, is_negative, text, "mention:<id>", author_handle), ...]

``since`` is included, ``until`` excluded; both are aware datetimes. ``is_negative`` is
triage's sentiment of the mention. The detector reads nothing else of listening's, so the two
packages stay apart.

Only the mentions that one of the workspace's own queries found (the brand, its products, its
executives: :data:`~portevoix.listening.models.OWN_KINDS`) are the workspace's signals. What
only a competitor's, an industry term's or a hashtag's query found is about someone or
something else: a storm at a competitor is not the brand's crisis, and a busy evening on
#skincare is not a surge of complaints about it.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef

from .models import OWN_KINDS, Mention

Signal = tuple[datetime, str, bool, str, str]
SignalWithAuthor = tuple[datetime, str, bool, str, str, str]


def mention_signals(workspace_id: int, since: datetime, until: datetime) -> list[Signal]:
    return [row[:5] for row in mention_signals_with_author(workspace_id, since, until)]


def mention_signals_with_author(
    workspace_id: int, since: datetime, until: datetime
) -> list[SignalWithAuthor]:
    """The same, each with its author's handle (detection counts people, not messages)."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("mention_signals takes aware datetimes")
    own = Mention.queries.through.objects.filter(
        mention_id=OuterRef("pk"), listeningquery__kind__in=OWN_KINDS
    )
    rows = (
        Mention.objects.filter(workspace_id=workspace_id, posted_at__gte=since, posted_at__lt=until)
        .filter(Exists(own))
        .order_by("posted_at", "pk")
        .values_list("pk", "posted_at", "network", "sentiment", "text", "author_handle")
    )
    return [
        (posted_at, network, sentiment == "negative", text, f"mention:{pk}", author)
        for pk, posted_at, network, sentiment, text, author in rows.iterator(chunk_size=2000)
    ]
