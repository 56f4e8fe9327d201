"""Fixtures for the triage tests: the evaluation set, and the labels it expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portevoix.triage.labels import Intent, department_for

EVAL_FILE = Path(__file__).parent / "eval" / "eval.jsonl"


@pytest.fixture(scope="session")
def eval_rows() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in EVAL_FILE.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["department"] = department_for(Intent(row["intent"]), row.get("specific", False)).value
    return rows


@pytest.fixture(scope="session")
def eval_results(eval_rows):
    """The default pipeline's answers for the whole evaluation set (computed once)."""
    from portevoix.triage.engine import TriageInput, label_batch

    return label_batch([TriageInput(r["text"]) for r in eval_rows])
