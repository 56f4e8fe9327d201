"""Fixtures for the triage tests: the evaluation set, and the labels it expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portevoix.triage.labels import Intent, department_for

EVAL_FILE = Path(__file__).parent / "eval" / "eval.jsonl"
#: Issue 16: harder items, written after the model was frozen (some with their parent).
HARD_FILE = Path(__file__).parent / "eval" / "eval_hard.jsonl"


@pytest.fixture(scope="session")
def eval_rows() -> list[dict[str, str]]:
    """The grown evaluation set: the original items, then the harder ones."""
    rows = [
        json.loads(line)
        for path in (EVAL_FILE, HARD_FILE)
        for line in path.read_text(encoding="utf-8").splitlines()
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
