"""Every change to conversations: what the views, the API, the CLI and the worker call.

Storing what comes in is :func:`portevoix.inbox.ingest.ingest` (re-exported here).
"""

from __future__ import annotations

from portevoix.inbox.ingest import ROUTING, ingest, on_ingested

__all__ = ["ROUTING", "ingest", "on_ingested"]
