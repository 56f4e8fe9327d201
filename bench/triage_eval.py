"""Quality of triage on the labelled evaluation set, per label, per language and per design.

    .venv/bin/python bench/triage_eval.py [--design cascade|fast|embedding|rules|all] [--errors]

Prints accuracy and macro-F1 of language, sentiment, intent and department for the French
items, the English items, the other languages and all of them, plus how many items each design
sent to the embedding model and how many it flagged for review.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portevoix.triage import metrics
from portevoix.triage.engine import Pipeline, TriageInput
from portevoix.triage.labels import Intent, department_for

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILE = ROOT / "tests" / "triage" / "eval" / "eval.jsonl"
DESIGNS = ("rules", "fast", "cascade", "embedding")


def load_eval() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in EVAL_FILE.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r["department"] = department_for(Intent(r["intent"]), r.get("specific", False)).value
    return rows


def evaluate(design: str, rows: list[dict[str, str]], show_errors: bool = False) -> dict:
    pipeline = Pipeline()
    t0 = time.perf_counter()
    results = pipeline.label([TriageInput(r["text"]) for r in rows], design=design)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    preds = [res.to_dict() for res in results]
    groups = {
        "fr": [i for i, r in enumerate(rows) if r["set"] == "fr"],
        "en": [i for i, r in enumerate(rows) if r["set"] == "en"],
        "other langs": [i for i, r in enumerate(rows) if r["set"] not in ("fr", "en")],
        "all": list(range(len(rows))),
    }
    table = {}
    for name, idx in groups.items():
        table[name] = {}
        for field in ("language", "sentiment", "intent", "department"):
            gold = [rows[i][field] for i in idx]
            pred = [preds[i][field] for i in idx]
            table[name][field] = (metrics.accuracy(gold, pred), metrics.macro_f1(gold, pred))
        table[name]["n"] = len(idx)
    flagged = [i for i, p in enumerate(preds) if p["needs_review"]]
    kept = [i for i in range(len(rows)) if i not in set(flagged)]
    kept_acc = metrics.accuracy(
        [rows[i]["department"] for i in kept], [preds[i]["department"] for i in kept]
    )
    flagged_acc = metrics.accuracy(
        [rows[i]["department"] for i in flagged], [preds[i]["department"] for i in flagged]
    )
    summary = {
        "department_accuracy_flagged": flagged_acc,
        "design": design,
        "table": table,
        "embedded": pipeline.embedded_items,
        "flagged": len(flagged),
        "department_accuracy_unflagged": kept_acc,
        "seconds": elapsed,
    }
    if show_errors:
        for field in ("department", "intent", "sentiment", "language"):
            print(f"\n-- {design} {field} errors")
            for i, r in enumerate(rows):
                if r[field] != preds[i][field]:
                    print(
                        f"  [{r['set']}] {r[field]:>16} -> {preds[i][field]:<16}"
                        f" ({preds[i]['confidence']:.2f} {preds[i]['decided_by']}) {r['text']}"
                    )
    return summary


def print_summary(s: dict, n_items: int) -> None:
    print(f"\n### design: {s['design']}")
    print(
        f"embedded {s['embedded']}/{n_items} items; flagged for review {s['flagged']}; "
        f"department accuracy on unflagged items {s['department_accuracy_unflagged']:.3f}, "
        f"on flagged items {s['department_accuracy_flagged']:.3f}; "
        f"{s['seconds']:.2f} s in one process"
    )
    print(
        "| items | n | language acc / F1 | sentiment acc / F1 | intent acc / F1 "
        "| department acc / F1 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, row in s["table"].items():
        cells = " | ".join(
            f"{row[f][0]:.3f} / {row[f][1]:.3f}"
            for f in ("language", "sentiment", "intent", "department")
        )
        print(f"| {name} | {row['n']} | {cells} |")


def sweep(rows: list[dict[str, str]]) -> None:
    """Escalation share and quality of the cascade for other thresholds and weights."""
    import numpy as np

    from portevoix.triage import engine, features
    from portevoix.triage.engine import DEPARTMENTS, INTENTS, SENTIMENTS

    pipeline = Pipeline()
    texts = [r["text"] for r in rows]
    p_int, p_sent, p_spec = pipeline._fast_probs(texts)
    hits = [pipeline._get_rules().match(features.normalize(t)) for t in texts]
    e_int, e_sent, _e_spec = pipeline._embedding_probs(pipeline.embed(texts))
    rule = np.array([h is not None for h in hits])
    print("\n### cascade sweep (department threshold, sentiment threshold, fast-model weight)")
    print(
        "| dept thr | sent thr | fast weight | embedded | dept macro-F1 fr | en | sentiment acc |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for weight in (0.3, 0.5):
        for td in (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01):
            for ts in (0.4, 0.5):
                pi, ps = p_int.copy(), p_sent.copy()
                unsure = (~rule & (engine.department_probs(p_int, p_spec).max(axis=1) < td)) | (
                    p_sent.max(axis=1) < ts
                )
                pi[unsure] = weight * p_int[unsure] + (1 - weight) * e_int[unsure]
                ps[unsure] = weight * p_sent[unsure] + (1 - weight) * e_sent[unsure]
                for i, h in enumerate(hits):
                    if h is not None:
                        onehot = np.zeros(len(INTENTS), dtype=np.float32)
                        onehot[INTENTS.index(h)] = 1.0
                        pi[i] = engine.RULE_WEIGHT * onehot + (1 - engine.RULE_WEIGHT) * pi[i]
                dept = [
                    DEPARTMENTS[j].value for j in engine.department_probs(pi, p_spec).argmax(axis=1)
                ]
                f1 = []
                for lang in ("fr", "en"):
                    idx = [i for i, r in enumerate(rows) if r["set"] == lang]
                    f1.append(
                        metrics.macro_f1(
                            [rows[i]["department"] for i in idx], [dept[i] for i in idx]
                        )
                    )
                sent = metrics.accuracy(
                    [r["sentiment"] for r in rows], [SENTIMENTS[j].value for j in ps.argmax(axis=1)]
                )
                print(
                    f"| {td:.2f} | {ts:.2f} | {weight} | {unsure.mean():.0%} | {f1[0]:.3f} "
                    f"| {f1[1]:.3f} | {sent:.3f} |"
                )


def sandbox_rows(per_template: int = 3) -> list[dict[str, str]]:
    """Messages of the sandbox network's world (portevoix/sandbox, another author's templates,
    not the triage training set), each template rendered a few times with its true labels."""
    import os
    import random
    from types import SimpleNamespace

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    django.setup()
    from portevoix.sandbox.world import DEFAULT_SENTIMENT, Writer, templates

    account = SimpleNamespace(
        brand="Maison Lumen",
        handle="maisonlumen",
        products=[],
        competitors=[],
        crisis_topic="",
        crisis_topic_en="",
    )
    rows = []
    for lang in ("fr", "en"):
        for intent, pool in templates()["inbound"][lang].items():
            for k, template in enumerate(pool):
                for rep in range(per_template):
                    writer = Writer(account, random.Random(f"{lang}{intent}{k}{rep}"), lang)  # type: ignore[arg-type]
                    text, sentiment = writer._render(template, DEFAULT_SENTIMENT[intent])
                    rows.append(
                        {
                            "set": lang,
                            "text": text,
                            "language": lang,
                            "intent": intent,
                            "sentiment": sentiment,
                            "department": department_for(Intent(intent), writer.specific).value,
                        }
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="all", choices=(*DESIGNS, "all"))
    parser.add_argument("--errors", action="store_true", help="list the misclassified items")
    parser.add_argument("--sweep", action="store_true", help="cascade thresholds and weights")
    parser.add_argument(
        "--sandbox", action="store_true", help="evaluate on the sandbox world's messages instead"
    )
    args = parser.parse_args()
    if args.sandbox:
        rows = sandbox_rows()
        print(f"sandbox world messages (portevoix/sandbox/data/messages.json), {len(rows)} items")
    else:
        rows = load_eval()
        print(f"evaluation set: {EVAL_FILE.relative_to(ROOT)}, {len(rows)} items")
    if args.sweep:
        sweep(rows)
        return
    for design in DESIGNS if args.design == "all" else (args.design,):
        print_summary(evaluate(design, rows, args.errors), len(rows))


if __name__ == "__main__":
    main()
