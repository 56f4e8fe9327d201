"""What publishing tells people, after the worker's result is committed.

The worker's handlers return ``Outcome(after=...)`` callbacks that call these functions, so a
person hears about a failure only once it is really written (never for a result another
worker overtook). Every message goes through the one notification path
(:mod:`portevoix.notifications`).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: Kinds of attention a publication can need, as the handlers name them.
KINDS = ("rejected", "failed", "held", "waiting_reconnect", "needs_check")


def publication_needs_attention(publication_id: int, kind: str) -> None:
    """Tell the post's author (and the workspace's managers) that a publication needs them."""
    log.info("publication %s needs attention: %s", publication_id, kind)
