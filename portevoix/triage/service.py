"""The Django-aware triage API: label items, applying a workspace's corrections.

    from portevoix.triage.service import label_items
    results = label_items([{"text": "Où est ma commande ?"}], workspace=workspace)

Used by the CLI, the sandbox network's inbound items, and later the inbox and listening.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from portevoix.core.models import Workspace
from portevoix.triage.engine import (
    CorrectionExample,
    Design,
    TriageInput,
    TriageResult,
    label_batch,
)
from portevoix.triage.labels import Field
from portevoix.triage.models import TriageCorrection

#: The most recent corrections a workspace's triage looks at.
MAX_EXAMPLES = 5000
#: A new or deleted correction is seen at once; one edited in the admin within this many seconds.
CACHE_SECONDS = 60.0

_cache_lock = threading.Lock()
_cache: dict[int, tuple[tuple[int, str, int], float, list[CorrectionExample]]] = {}


def as_input(item: TriageInput | Mapping[str, Any] | str) -> TriageInput:
    if isinstance(item, TriageInput):
        return item
    if isinstance(item, str):
        return TriageInput(text=item)
    return TriageInput(
        text=str(item["text"]),
        channel=item.get("channel"),
        kind=item.get("kind"),
        parent_text=item.get("parent_text"),
        parent_kind=item.get("parent_kind"),
    )


def workspace_examples(workspace: Workspace) -> list[CorrectionExample]:
    """The workspace's corrections as examples, oldest first (so the latest wins a tie)."""
    qs = TriageCorrection.objects.filter(workspace=workspace)
    # The latest row's id and time, and the count: ids alone can come back after a rollback
    # (or a restored backup), and another set of corrections would then look cached.
    last = qs.order_by("-id").values_list("id", "created_at").first() or (0, None)
    key = (int(last[0]), str(last[1]), qs.count())
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(workspace.pk)
        if cached is not None and cached[0] == key and now - cached[1] < CACHE_SECONDS:
            return cached[2]
    rows = list(
        qs.order_by("-created_at", "-id").values_list(
            "text", "field", "corrected_label", "embedding"
        )[:MAX_EXAMPLES]
    )
    rows.reverse()
    examples = [
        CorrectionExample(
            text=text,
            field=Field(field),
            label=label,
            embedding=bytes(embedding) if embedding is not None else None,
        )
        for text, field, label, embedding in rows
    ]
    with _cache_lock:
        _cache[workspace.pk] = (key, now, examples)
    return examples


def label_items(
    items: Iterable[TriageInput | Mapping[str, Any] | str],
    workspace: Workspace | None = None,
    *,
    count: bool = True,
    design: Design = "cascade",
) -> list[TriageResult]:
    """Label ``items`` in order. With a workspace, its corrections apply and the items count
    towards its 30-day accuracy (``count=False`` to leave the count alone)."""
    inputs: Sequence[TriageInput] = [as_input(item) for item in items]
    if workspace is None:
        return label_batch(inputs, design=design)
    results = label_batch(inputs, workspace_examples=workspace_examples(workspace), design=design)
    if count:
        from portevoix.triage.actions import count_labelled

        count_labelled(workspace, len(inputs))
    return results
