"""Replaying the sandbox world through the real inbox on a simulated clock.

:class:`Replay` advances a sandbox account's world to a moment, hands what reached the
account (comments, tagged mentions, private messages) to the inbox's ``ingest`` as the
channel's sync would (triage labels them), and runs detection at that moment. The benchmark
(``bench/crisis_detect.py``), the tests and the demo's backfill use it; nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import UTC

from portevoix.channels.models import Channel
from portevoix.crisis.models import Alert
from portevoix.networks.sandbox import user_id
from portevoix.networks.types import Author, InboundItem, InboundKind
from portevoix.sandbox import world
from portevoix.sandbox.models import SandboxAccount, SandboxInteraction

KINDS = {"comment": InboundKind.COMMENT, "mention": InboundKind.MENTION, "dm": InboundKind.DM}


def as_item(row: SandboxInteraction) -> InboundItem:
    """A sandbox interaction as the sandbox network's sync hands it over."""
    return InboundItem(
        network="sandbox",
        message_id=row.message_id,
        kind=KINDS[row.kind],
        author=Author(
            id=user_id(row.author_handle),
            handle=row.author_handle,
            display_name=row.author_name,
        ),
        text=row.text,
        created_at=row.created_at.astimezone(UTC),
        in_reply_to=row.in_reply_to or None,
        thread_id=row.thread_id or None,
        language=row.language,
        extra={"sandbox": "true"},
    )


@dataclass
class Replay:
    channel: Channel
    account: SandboxAccount
    last_pk: int = 0
    ingested: int = 0
    alerts: list[Alert] = field(default_factory=list)
    #: Also run listening's reader of the sandbox world (the public mentions beyond the
    #: account's own pages), as its worker job would; ``heard`` counts the mentions stored.
    listen: bool = False
    heard: int = 0

    def advance(self, until: dt.datetime) -> int:
        """Move the world to ``until`` and ingest what reached the account; returns the count."""
        from portevoix.inbox.ingest import ingest

        world.advance(self.account, until, max_steps=None)
        if self.listen:
            from portevoix.listening.sources import read_sandbox

            while True:
                read, stored = read_sandbox(batches=20)
                self.heard += stored
                if not read:
                    break
        rows = list(
            SandboxInteraction.objects.filter(
                account=self.account, addressed=True, pk__gt=self.last_pk, created_at__lt=until
            ).order_by("pk")
        )
        if not rows:
            return 0
        self.last_pk = rows[-1].pk
        stored = 0
        for start in range(0, len(rows), 200):
            stored += ingest(self.channel, [as_item(r) for r in rows[start : start + 200]])
        self.ingested += stored
        return stored

    def run(
        self, start: dt.datetime, until: dt.datetime, every: dt.timedelta, *, check: bool = True
    ) -> list[Alert]:
        """Replay ``start`` to ``until``, checking for a crisis every ``every``; returns the
        alerts raised.

        The world is advanced and ingested in one go first: detection at a moment reads only
        what was written before it (``created_at``), so this is the same as ingesting step by
        step, and much faster.
        """
        from portevoix.crisis import actions

        raised: list[Alert] = []
        self.advance(until)
        moment = start
        while moment < until:
            moment = min(until, moment + every)
            if check:
                alert = actions.check_workspace(self.channel.workspace, moment)
                if alert is not None:
                    raised.append(alert)
        self.alerts += raised
        return raised
