"""The quality bar of the issue, measured on the shipped evaluation set (issue 16, round 15)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from portevoix.triage import features, metrics, train

#: Regression bars per language on the round-15 set (written blind by another hand while the
#: fifteenth round's model was trained, under the written tone rules; 29 % complaints, half of
#: them harder items). Measured once, 2026-12-06: 0.942 (fr) / 0.939 (en); the fourteenth
#: round's model, frozen before the set was written, gave 0.915 / 0.920 on it (0.951 / 0.910 on
#: the round-14 set). Issue 16's goal (0.92) is met in both languages by the default cascade;
#: the bars sit just under the figures.
DEPARTMENT_MACRO_F1 = {"fr": 0.93, "en": 0.93}


def _key(text: str) -> str:
    """A text without case, accents, punctuation or spacing: what "the same text" means."""
    return " ".join(features.tokens(features.normalize(text))).replace("?", "")


def test_eval_set_is_large_bilingual_and_apart_from_training(eval_rows):
    counts = Counter(r["set"] for r in eval_rows)
    assert len(eval_rows) >= 400
    assert counts["fr"] >= 180 and counts["en"] >= 180
    hard = Counter(r["set"] for r in eval_rows if r["id"].split("-")[1].startswith("h"))
    assert min(hard["fr"], hard["en"]) >= 60
    assert sum(1 for r in eval_rows if r.get("parent_text")) >= 10
    # No text is shared with the training data (the hand-written examples, the spent former
    # evaluation sets and the generated ones), nor between evaluation items, whatever the
    # case, accents or punctuation; nor a parent's text.
    training = train.load_examples()
    spent = [
        json.loads(line)
        for path in train.SPENT_FILES
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    train_texts = {_key(r["text"]) for r in training + spent} | {
        _key(r["parent_text"]) for r in spent if r.get("parent_text")
    }
    eval_texts = [r["text"] for r in eval_rows] + [
        r["parent_text"] for r in eval_rows if r.get("parent_text")
    ]
    leaked = [t for t in eval_texts if _key(t) in train_texts]
    assert leaked == []
    keys = [_key(r["text"]) for r in eval_rows]
    assert len(set(keys)) == len(keys)
    for row in eval_rows:
        assert row["intent"] in train.INTENTS and row["sentiment"] in train.SENTIMENTS
        # Every complaint says whether it is specific (an order, an account, personal details).
        assert isinstance(row.get("specific"), bool) == (row["intent"] == "complaint")


def test_training_and_evaluation_data_follow_the_written_tone_rules(eval_rows):
    """docs/triage.md, "What the tone means": a complaint is negative even when polite (rule
    1), praise is positive (rule 4), in every example trained on and every evaluation item; a
    relabelled example that slipped back would teach the model both ways at once."""
    rows = [*train.load_examples(), *eval_rows]
    wrong = [
        r["text"]
        for r in rows
        if (r["intent"] == "complaint" and r["sentiment"] != "negative")
        or (r["intent"] == "praise" and r["sentiment"] != "positive")
    ]
    assert wrong == []


def test_eval_set_covers_every_intent_in_both_languages(eval_rows):
    for lang in ("fr", "en"):
        assert {r["intent"] for r in eval_rows if r["set"] == lang} == set(train.INTENTS)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_department_routing_macro_f1(eval_rows, eval_results, lang):
    idx = [i for i, r in enumerate(eval_rows) if r["set"] == lang]
    gold = [eval_rows[i]["department"] for i in idx]
    pred = [eval_results[i].department.value for i in idx]
    score = metrics.macro_f1(gold, pred)
    assert score >= DEPARTMENT_MACRO_F1[lang], (lang, score, metrics.confusion(gold, pred))


#: Complaints told apart, specific (customer service, in private) from general (the social team).
#: Issue 16, fifteenth round: 0.984 (fr) / 0.966 (en) on the round-15 set (read once; 0.968 /
#: 0.966 for the fourteenth round's model on it). A regression bar, above the goal (0.90).
SPECIFIC_ACCURACY = 0.95


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_specific_complaints_are_told_from_general_ones(eval_rows, eval_results, lang):
    idx = [i for i, r in enumerate(eval_rows) if r["set"] == lang and r["intent"] == "complaint"]
    assert len(idx) >= 25
    gold = [eval_rows[i]["specific"] for i in idx]
    pred = [eval_results[i].specific_confidence >= 0.5 for i in idx]
    assert metrics.accuracy(gold, pred) >= SPECIFIC_ACCURACY
    assert any(gold) and not all(gold)


#: Sentiment on the round-15 set: 0.902 for the fifteenth round's model, 0.864 for the
#: fourteenth's (0.916 on the round-14 set). Issue 16's goal (0.90) is met by the default
#: cascade on this set, by one item; the bar allows a few items of rounding between machines
#: (8-bit products: ADR 0104).
@pytest.mark.parametrize(("field", "floor"), [("language", 0.95), ("sentiment", 0.89)])
def test_language_and_sentiment_accuracy(eval_rows, eval_results, field, floor):
    gold = [r[field] for r in eval_rows]
    pred = [getattr(res, field).value for res in eval_results]
    assert metrics.accuracy(gold, pred) >= floor


def test_results_are_json_lines_ready(eval_results):
    line = json.dumps(eval_results[0].to_dict())
    assert {"language", "sentiment", "intent", "department", "confidence"} <= json.loads(
        line
    ).keys()
