"""What crisis detection reads: inbound items as ``(at, network, is_negative, text, ref, author)``.

Each source is a function ``source(workspace_id, since, until) -> Iterable[Signal]`` giving
the items written in ``[since, until)``: the inbox's messages (sentiment from triage) and
listening's mentions (``portevoix.listening.signals.mention_signals``, labelled by triage too).
A source may give the first five fields only (no author known).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import NamedTuple


class Signal(NamedTuple):
    at: dt.datetime
    network: str
    is_negative: bool
    text: str
    #: Where to read it: ``"inbox:<message id>"``, ``"mention:<id>"``...
    ref: str
    #: Who wrote it, as ``"<network>:<handle>"`` (handle folded, without its ``@``); "" when
    #: unknown. One customer writing twice, on the inbox and where listening hears, is one
    #: author: detection counts people, not messages, before it calls a word a crowd's.
    author: str = ""


def author_key(network: str, handle: str) -> str:
    handle = handle.strip().lstrip("@").casefold()
    return f"{network}:{handle}" if handle else ""


Source = Callable[[int, dt.datetime, dt.datetime], Iterable[tuple]]  # type: ignore[type-arg]


def inbox_signals(
    workspace_id: int, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, str, bool, str, str, str]]:
    """The inbox's inbound messages (comments, mentions, private messages) in the window."""
    from portevoix.inbox.models import InboundMessage

    rows = InboundMessage.objects.filter(
        channel__workspace_id=workspace_id, created_at__gte=since, created_at__lt=until
    ).values_list("created_at", "channel__network", "sentiment", "text", "pk", "author_handle")
    return [
        (at, network, sentiment == "negative", text, f"inbox:{pk}", author_key(network, handle))
        for at, network, sentiment, text, pk, handle in rows
    ]


def _mentions(workspace_id: int, since: dt.datetime, until: dt.datetime) -> Iterable[Signal]:
    from portevoix.inbox.models import InboundMessage
    from portevoix.listening.models import Mention
    from portevoix.listening.signals import mention_signals_with_author

    rows = mention_signals_with_author(workspace_id, since, until)
    # A mention that tags one of our accounts reaches the inbox too (the same post, the same
    # network id): it is one item, counted once, from the inbox.
    twice = {
        f"mention:{pk}"
        for pk in Mention.objects.filter(
            workspace_id=workspace_id,
            posted_at__gte=since,
            posted_at__lt=until,
            external_id__in=InboundMessage.objects.filter(
                channel__workspace_id=workspace_id,
                created_at__gte=since,
                created_at__lt=until,
            ).values("message_id"),
        ).values_list("pk", flat=True)
    }
    return [
        Signal(at, network, negative, text, ref, author_key(network, handle))
        for at, network, negative, text, ref, handle in rows
        if ref not in twice
    ]


#: Every source detection reads: what reaches the inbox, and what listening finds beyond it.
SOURCES: list[Source] = [
    inbox_signals,
    _mentions,
]


def gather(workspace_id: int, since: dt.datetime, until: dt.datetime) -> list[Signal]:
    """Every source's items written in ``[since, until)``, oldest first."""
    found: list[Signal] = []
    for source in SOURCES:
        found.extend(Signal(*row) for row in source(workspace_id, since, until))
    found.sort(key=lambda s: (s.at, s.ref))
    return found
