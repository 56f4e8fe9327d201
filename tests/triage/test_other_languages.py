"""The five other languages the detector knows: since issue 16's tenth round the fast model
learnt them (120 examples each), and an item in one of them is embedded only when the fast
model is unsure by their own threshold (chosen by cross-validation, ``thresholds.json``); a
language it never learnt always goes to the multilingual embedding model."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from portevoix.triage import engine, train
from portevoix.triage.engine import Pipeline, TriageInput
from portevoix.triage.labels import DETECTED_LANGUAGES, Language

TEXTS = {
    "¿Cuánto cuesta el cofre de Navidad? ¿Hay descuento para socios?": ("es", "sales"),
    "Wie viel kostet das Geschenkset? Gibt es einen Rabatt?": ("de", "sales"),
    "Quanto costa il cofanetto di Natale? C'è uno sconto?": ("it", "sales"),
    "Combien coûte le coffret de Noël ? Il y a une promo ?": ("fr", "sales"),
}


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


def _with(pipeline: Pipeline, **changes: float) -> Pipeline:
    pipeline.thresholds = dataclasses.replace(engine.load_thresholds(), **changes)
    return pipeline


def test_the_fast_model_learnt_every_language_it_decides():
    counts = Counter(r["language"] for r in train.load_examples(train.HAND_FILES))
    for language in DETECTED_LANGUAGES:
        assert counts[language.value] >= 100, (language, counts)
    assert set(engine._FAST_LANGUAGES) == {*DETECTED_LANGUAGES, Language.UNKNOWN}


def test_the_shipped_thresholds_name_the_other_languages_one():
    raw = engine.THRESHOLDS_FILE.read_text(encoding="utf-8")
    assert '"other_languages"' in raw
    assert engine.load_thresholds().other_languages == pytest.approx(
        float(json.loads(raw)["other_languages"])
    )


def test_when_the_fast_model_is_sure_it_labels_other_languages(pipeline):
    results = _with(pipeline, other_languages=0.0).label([TriageInput(t) for t in TEXTS])
    assert [(r.language.value, r.department.value) for r in results] == list(TEXTS.values())
    assert [r.decided_by for r in results] == ["fast"] * 4


def test_above_their_threshold_other_languages_are_embedded(pipeline):
    results = _with(pipeline, other_languages=1.01).label([TriageInput(t) for t in TEXTS])
    assert [(r.language.value, r.department.value) for r in results] == list(TEXTS.values())
    # French keeps its own threshold: one clear French question is not embedded.
    assert [r.decided_by for r in results][:3] == ["embedding"] * 3
    assert results[3].decided_by == "fast"


def test_a_language_the_fast_model_never_learnt_is_embedded(pipeline, monkeypatch):
    monkeypatch.setattr(engine, "_FAST_LANGUAGES", frozenset({Language.FR, Language.EN}))
    [result] = _with(pipeline, other_languages=0.0).label(
        [TriageInput("Wie viel kostet das Geschenkset? Rabatt?")]
    )
    assert result.language is Language.DE and result.decided_by in {"embedding", "rules"}
