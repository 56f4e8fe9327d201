"""Listening's periodic work, as a housekeeping job (``docs/worker.md``).

* ``listening-read`` (every minute): each source reads what was posted since its cursor, for
  every workspace at once (one automaton for every query), and stores the mentions.
"""

from __future__ import annotations

from portevoix.worker.models import Housekeeping

from . import sources

INTERVAL_SECONDS = 60


def read(row: Housekeeping) -> str:
    posts, mentions = sources.read_sandbox()
    return f"sandbox world: {posts} public post(s) read, {mentions} mention(s) stored"


def register() -> None:
    from portevoix.worker import housekeeping

    housekeeping.register("listening-read", INTERVAL_SECONDS, read)
