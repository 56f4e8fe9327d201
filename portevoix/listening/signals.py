"""What listening hands to crisis detection: the workspace's mentions, as plain tuples.

    mention_signals(workspace_id, since, until)
    -> [(posted_at, network, is_negative, text, "mention:<id>"), ...]  oldest first
    mention_signals_with_author(workspace_id, since, until)
    -> [(posted_at, network, is_negative, text, "mention:<id>", author_handle), ...]

``since`` is included, ``until`` excluded; both are aware datetimes. ``is_negative`` is
triage's sentiment of the mention. The detector reads nothing else of listening's, so the two
packages stay apart.
"""

from __future__ import annotations

from datetime import datetime

from .models import Mention

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
    rows = (
        Mention.objects.filter(workspace_id=workspace_id, posted_at__gte=since, posted_at__lt=until)
        .order_by("posted_at", "pk")
        .values_list("pk", "posted_at", "network", "sentiment", "text", "author_handle")
    )
    return [
        (posted_at, network, sentiment == "negative", text, f"mention:{pk}", author)
        for pk, posted_at, network, sentiment, text, author in rows.iterator(chunk_size=2000)
    ]
