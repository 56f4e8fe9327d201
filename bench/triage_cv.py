"""Cross-validation of the fast model on the TRAINING data, per language and intent.

    .venv/bin/python bench/triage_cv.py [--folds 5] [--threshold 0.50] [--errors]

The hand-written examples (``portevoix/triage/data/train.jsonl``) are split into folds; each
fold is labelled by a fast model trained on the other folds plus every generated example.
For each (language, intent) it prints how often the department is right, how often the fast
model is unsure (department confidence below the cascade's threshold, so the item would go to
the embedding model) and how often it is right when sure. Use it to see where more hand-written
examples are needed; the evaluation set (``tests/triage/eval/``) is never read here.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from portevoix.triage import engine, features, train
from portevoix.triage.labels import Intent, department_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=engine.FAST_DEPARTMENT_THRESHOLD)
    parser.add_argument("--errors", action="store_true", help="list wrong or unsure items")
    args = parser.parse_args()

    hand = train.load_examples([train.TRAIN_FILE])
    generated = train.load_examples([train.GENERATED_FILE])
    folds = np.random.RandomState(0).randint(0, args.folds, len(hand))
    departments = [d.value for d in engine.DEPARTMENTS]
    conf = np.zeros(len(hand), dtype=np.float32)
    pred: list[str] = [""] * len(hand)
    for k in range(args.folds):
        rows = [r for r, f in zip(hand, folds, strict=True) if f != k] + generated
        test = [i for i, f in enumerate(folds) if f == k]
        y = train.labels_to_ids([r["intent"] for r in rows], train.INTENTS)
        w, b = train.fit_sparse(
            features.featurize([r["text"] for r in rows]), y, len(train.INTENTS)
        )
        labelled = train.specific_rows(rows)
        w_s, b_s = train.fit_sparse(
            features.featurize([r["text"] for r in labelled]),
            np.asarray([int(r["specific"]) for r in labelled], dtype=np.int64),
            2,
        )
        batch = features.featurize([hand[i]["text"] for i in test])
        p_int = features.softmax(features.sparse_logits(batch, w.astype(np.float16), b))
        p_spec = features.softmax(features.sparse_logits(batch, w_s.astype(np.float16), b_s))
        p_dept = engine.department_probs(p_int, p_spec[:, 1])
        for j, i in enumerate(test):
            conf[i] = p_dept[j].max()
            pred[i] = departments[int(p_dept[j].argmax())]

    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for i, r in enumerate(hand):
        gold = department_for(Intent(r["intent"]), bool(r.get("specific"))).value
        sure = bool(conf[i] >= args.threshold)
        s = stats[(r["language"], r["intent"])]
        s[0] += 1
        s[1] += pred[i] == gold
        s[2] += not sure
        s[3] += sure and pred[i] == gold
        if args.errors and (not sure or pred[i] != gold):
            print(f"  [{r['language']}] {gold:>16} -> {pred[i]:<16} ({conf[i]:.2f}) {r['text']}")
    total = np.sum(list(stats.values()), axis=0)
    print(
        f"{args.folds}-fold, {total[0]} hand-written examples, threshold {args.threshold:.2f}: "
        f"department accuracy {total[1] / total[0]:.3f}, unsure {total[2] / total[0]:.0%}, "
        f"accuracy when sure {total[3] / max(total[0] - total[2], 1):.3f}"
    )
    print("| language | intent | n | department acc | unsure | acc when sure |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (lang, intent), (n, right, unsure, right_sure) in sorted(stats.items()):
        print(
            f"| {lang} | {intent} | {n} | {right / n:.2f} | {unsure / n:.0%} "
            f"| {right_sure / max(n - unsure, 1):.2f} |"
        )


if __name__ == "__main__":
    main()
