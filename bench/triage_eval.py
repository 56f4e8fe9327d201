"""Quality of triage on the labelled evaluation sets, per label, per language and per design.

    .venv/bin/python bench/triage_eval.py [--set new|round9|...|spent] [--design cascade|...|all]
    .venv/bin/python bench/triage_eval.py --sandbox      # the second, independent set

Prints accuracy and macro-F1 of language, sentiment, intent and department for the French
items, the English items, the other languages and all of them, how well specific complaints
are told from general ones, how many items each design sent to the embedding model and how
many it flagged for review. The evaluation set (``--set new``, the default) is
``tests/triage/eval/eval_round15.jsonl``: written blind while the fifteenth issue-16 model was
trained, read only after it and its thresholds were frozen (the freeze commit is named in
``docs/benchmarks.md``; some items are replies given with their parent).
``--set roundN`` is round N's set (the seventh round had none), each read once for its model
and trained on since the round after it (``portevoix/triage/data/spent_round*.jsonl``); ``--set
spent`` scores the first round's former sets (``train_spent.jsonl``). All of those are
figures on training data now, not evaluations.

The cascade's thresholds are not chosen here: ``bench/triage_cv.py --choose`` fixes them by
cross-validation on the training data (their date is printed); never tune on these sets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portevoix.triage import metrics, train
from portevoix.triage.engine import Pipeline, TriageInput, load_thresholds
from portevoix.triage.labels import Intent, department_for

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILE = ROOT / "tests" / "triage" / "eval" / "eval_round15.jsonl"
SETS = {
    "new": (EVAL_FILE,),
    **{path.stem.removeprefix("spent_"): (path,) for path in reversed(train.SPENT_ROUND_FILES)},
    "spent": (train.SPENT_EVAL_FILE,),
}
DESIGNS = ("rules", "fast", "cascade", "embedding", "thorough")


def load_eval(which: str = "new") -> list[dict[str, str]]:
    return read_rows(SETS[which])


def read_rows(paths: Sequence[Path]) -> list[dict[str, str]]:
    """The items of evaluation-set files, each with its gold department."""
    rows = [
        json.loads(line)
        for path in paths
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for r in rows:
        r["department"] = department_for(Intent(r["intent"]), r.get("specific", False)).value
    return rows


def as_input(row: dict[str, str]) -> TriageInput:
    return TriageInput(
        row["text"], parent_text=row.get("parent_text"), parent_kind=row.get("parent_kind")
    )


def evaluate(
    design: str,
    rows: list[dict[str, str]],
    show_errors: bool = False,
    pipeline: Pipeline | None = None,
) -> dict:
    pipeline = pipeline or Pipeline()
    t0 = time.perf_counter()
    results = pipeline.label([as_input(r) for r in rows], design=design)  # type: ignore[arg-type]
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
        complaints = [i for i in idx if rows[i]["intent"] == "complaint"]
        table[name]["specific"] = (
            metrics.accuracy(
                [bool(rows[i].get("specific")) for i in complaints],
                [preds[i]["specific_confidence"] >= 0.5 for i in complaints],
            ),
            len(complaints),
        )
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
        "| department acc / F1 | specific vs general acc (complaints) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row in s["table"].items():
        cells = " | ".join(
            f"{row[f][0]:.3f} / {row[f][1]:.3f}"
            for f in ("language", "sentiment", "intent", "department")
        )
        spec_acc, n_complaints = row["specific"]
        print(f"| {name} | {row['n']} | {cells} | {spec_acc:.3f} ({n_complaints}) |")


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
                            "specific": bool(writer.specific),
                        }
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="all", choices=(*DESIGNS, "all"))
    parser.add_argument("--errors", action="store_true", help="list the misclassified items")
    parser.add_argument("--set", default="new", choices=tuple(SETS))
    parser.add_argument(
        "--sandbox", action="store_true", help="evaluate on the sandbox world's messages instead"
    )
    args = parser.parse_args()
    if args.sandbox:
        rows = sandbox_rows()
        print(f"sandbox world messages (portevoix/sandbox/data/messages.json), {len(rows)} items")
    else:
        rows = load_eval(args.set)
        files = ", ".join(str(p.relative_to(ROOT)) for p in SETS[args.set])
        print(f"evaluation set {args.set!r}: {files}, {len(rows)} items")
    th = load_thresholds()
    print(
        f"cascade thresholds: department {th.department}, sentiment {th.sentiment}, "
        f"fast weight {th.fast_weight}; fixed {th.fixed_at or 'by default'}"
    )
    for design in DESIGNS if args.design == "all" else (args.design,):
        print_summary(evaluate(design, rows, args.errors), len(rows))


if __name__ == "__main__":
    main()
