"""Labelling a page of inbound items at once, for the inbox's ingestion (a thin layer over
:func:`portevoix.triage.service.label_items`).

The embedding model (``encoder.py``, numpy matrix products by OpenBLAS) would run on as many
threads as the machine has CPUs unless ``OMP_NUM_THREADS`` says otherwise, and such threads
wait for each other at every step of a batch. In a worker that also waits on the database,
beside other processes on the same CPUs, a thread that is descheduled stalls its siblings: on
this 2-CPU machine under a load average of 4 to 8, embedding one page of 100 items took 2 to 3
seconds with two threads and about 0.1 s with one (bench/inbox_ingest.py, measured with the C
engine before, whose OpenMP threads behaved the same; the triage throughput bench runs one
thread per process). Porte-voix gets its parallelism from several worker processes, so a
process that ingests uses one thread. The variable is set when this module is imported (the
inbox imports it when Django starts) and applied to OpenBLAS when the encoder loads (with
``threadpoolctl``, since numpy may have been imported before); an explicit ``OMP_NUM_THREADS``
in the environment wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from portevoix.core.models import Workspace

os.environ.setdefault("OMP_NUM_THREADS", "1")


def label_page(
    items: Sequence[Mapping[str, Any]],
    workspace: Workspace | None,
    *,
    design: Literal["cascade", "thorough"] = "cascade",
) -> list[Any]:
    """Labels for ``items`` (``{"text", "channel", "kind", ...}``), in order, in one call: the
    models, the workspace's corrections and the daily count are looked up once for the page.
    ``design="thorough"`` reads every item with the embedding model (careful triage)."""
    if not items:
        return []
    from portevoix.triage.service import label_items

    return label_items(list(items), workspace=workspace, design=design)
