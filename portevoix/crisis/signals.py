"""What crisis detection reads: inbound items as ``(at, network, is_negative, text, ref)``.

Each source is a function ``source(workspace_id, since, until) -> Iterable[Signal]`` giving
the items written in ``[since, until)``: the inbox's messages (sentiment from triage) and
listening's mentions (``portevoix.listening.signals.mention_signals``, labelled by triage too).
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


Source = Callable[
    [int, dt.datetime, dt.datetime], Iterable[tuple[dt.datetime, str, bool, str, str]]
]


def inbox_signals(
    workspace_id: int, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, str, bool, str, str]]:
    """The inbox's inbound messages (comments, mentions, private messages) in the window."""
    from portevoix.inbox.models import InboundMessage

    rows = InboundMessage.objects.filter(
        channel__workspace_id=workspace_id, created_at__gte=since, created_at__lt=until
    ).values_list("created_at", "channel__network", "sentiment", "text", "pk")
    return [
        (at, network, sentiment == "negative", text, f"inbox:{pk}")
        for at, network, sentiment, text, pk in rows
    ]


def _mentions(workspace_id: int, since: dt.datetime, until: dt.datetime) -> Iterable[Signal]:
    from portevoix.listening.signals import mention_signals

    return mention_signals(workspace_id, since, until)  # type: ignore[return-value]


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
