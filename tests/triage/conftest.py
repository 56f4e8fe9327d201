"""Fixtures for the triage tests: the evaluation set, and the labels it expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portevoix.triage.labels import Intent, department_for

#: Issue 16, fourteenth round: ordinary and harder items (replies with their parent, a public
#: storm's messages, many voices), written blind while the model was trained, by a helper who
#: never ran a model nor read any training example or earlier set, following written labelling
#: rules (``docs/triage.md``), and committed after the freeze before any prediction was read.
#: The earlier rounds' sets were read once each and are training data now
#: (``portevoix/triage/data/train_spent.jsonl``, ``spent_round2.jsonl`` to
#: ``spent_round13.jsonl``).
EVAL_FILE = Path(__file__).parent / "eval" / "eval_round15.jsonl"


@pytest.fixture(scope="session")
def eval_rows() -> list[dict[str, str]]:
    """The evaluation set: ordinary items, then the harder ones (ids with "-h")."""
    rows = [
        json.loads(line)
        for line in EVAL_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for row in rows:
        row["department"] = department_for(Intent(row["intent"]), row.get("specific", False)).value
    return rows


@pytest.fixture(scope="session")
def eval_results(eval_rows):
    """The default pipeline's answers for the whole evaluation set (computed once)."""
    from portevoix.triage.engine import TriageInput, label_batch

    return label_batch(
        [
            TriageInput(
                r["text"], parent_text=r.get("parent_text"), parent_kind=r.get("parent_kind")
            )
            for r in eval_rows
        ]
    )
