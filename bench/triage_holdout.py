"""Choose the fast model's weight in the tone on a held-out spent set, with the tuned model.

    .venv/bin/python bench/triage_holdout.py --held-out FILE [--choose] [--sweep]

``bench/triage_cv.py --choose`` cross-validates the cascade on the training data, but with the
stock model's embeddings: fine-tuning the embedding model once per fold would take about 25
minutes a fold. The tuned model reads tone far better than the stock one (issue 16's eleventh
round: 0.876 against 0.822 on its blind set), and mixing 0.6 of the fast model into its tone
threw most of that away (0.846 for ``thorough``). So the fast model's weight in the tone when
both models answer (``sentiment_weight``) is chosen here, on a spent evaluation set that the
shipped model was NOT trained on (the newest one, just before it joins the training data).
The tone accuracy of the ``thorough`` design, which mixes every item (the cascade mixes only
the few it embeds, 3 % of ordinary traffic), is measured for each weight. That curve is kept
in the thresholds file beside the earlier sets' (``sentiment_weight_curves``, one per set,
each measured with the model of its time), and the weight with the best sum over the curves
is chosen, ties to the cascade's tone on the newest set: the best weight moves from one set
to the next (0.2 on the eleventh round's, 0.5 on the twelfth's). Each weight's figures are
printed for both designs.

``--sweep`` also tries every department and tone threshold and fast weight of the cascade on
the set and prints the best settings that embed at most ``--max-embedded`` of its ordinary
items (ids with "-r", as ``bench/triage_throughput.py`` counts ordinary traffic): how much the
cross-validation's choice leaves on the table with the tuned model.

Every setting labels the set through the engine itself (``Pipeline.label``, context and priors
included); the embeddings are computed once and cached. ``--choose`` writes the weight into
``portevoix/triage/data/model/thresholds.json`` beside the cross-validation's thresholds, with
the date and the method. The script refuses a set the shipped model was trained on.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import triage_eval  # noqa: E402

from portevoix.triage import engine, metrics, train  # noqa: E402
from portevoix.triage.engine import Pipeline, Thresholds, TriageInput  # noqa: E402

WEIGHTS = (0.0, 0.2, 0.4, 0.6, 0.8)
DEPARTMENT_THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
SENTIMENT_THRESHOLDS = (0.0, 0.4, 0.45, 0.5, 0.55, 0.6)
TONE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


class _Counting(Pipeline):
    """The engine, counting the items it sends to the embedding model (cached or not)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: set[str] = set()

    def embed_for_labels(self, texts: Sequence[str]) -> engine.FloatArray:
        self.sent.update(texts)
        return super().embed_for_labels(texts)


def load(path: Path) -> list[dict[str, str]]:
    """The set's rows, if the shipped model was trained on exactly today's training data
    without this file: the file is an evaluation set, or has just joined the spent sets."""
    meta = json.loads((engine.MODEL_DIR / "meta.json").read_text("utf-8"))
    others = [p for p in (*train.HAND_FILES, train.GENERATED_FILE) if p.resolve() != path.resolve()]
    if meta.get("train_sha256") != train.data_sha256(others):
        raise SystemExit(
            f"{path}: the shipped model was not trained on today's training data without this "
            "file; the weight must be chosen on a set the model was not trained on (run this "
            "before the set joins train.SPENT_ROUND_FILES, with the model retrained on the rest)"
        )
    return triage_eval.read_rows([path])


def score(
    pipeline: _Counting,
    rows: list[dict[str, str]],
    th: Thresholds,
    design: engine.Design = "cascade",
) -> dict[str, float]:
    pipeline.thresholds = th
    pipeline.sent = set()
    inputs = [triage_eval.as_input(r) for r in rows]
    got = pipeline.label(inputs, design=design)
    out: dict[str, float] = {}
    for lang in ("fr", "en"):
        idx = [i for i, r in enumerate(rows) if r["set"] == lang]
        gold = [rows[i]["department"] for i in idx]
        out[lang] = metrics.macro_f1(gold, [got[i].department.value for i in idx])
    out["tone"] = metrics.accuracy([r["sentiment"] for r in rows], [g.sentiment.value for g in got])
    complaints = [i for i, r in enumerate(rows) if r["intent"] == "complaint"]
    out["specific"] = metrics.accuracy(
        [bool(rows[i].get("specific")) for i in complaints],
        [got[i].specific_confidence >= 0.5 for i in complaints],
    )
    ordinary = [r["text"] for r in rows if "-r" in r["id"]]
    out["embedded"] = sum(t in pipeline.sent for t in ordinary) / max(1, len(ordinary))
    out["objective"] = (out["fr"] + out["en"]) / 2 + out["tone"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", type=Path, required=True)
    parser.add_argument("--choose", action="store_true", help="write the chosen weight")
    parser.add_argument("--sweep", action="store_true", help="also sweep the cascade")
    parser.add_argument("--max-embedded", type=float, default=0.04)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    rows = load(args.held_out)
    pipeline = _Counting()
    if pipeline.labels_by_stock_model:
        raise SystemExit("no tuned model in portevoix/triage/data/model: nothing to choose for")
    shipped = pipeline.thresholds
    # Every text embedded once, so each setting only reruns the fast stages.
    pipeline.label([TriageInput(r["text"]) for r in rows], design="embedding")

    def line(th: Thresholds, s: dict[str, float]) -> str:
        return (
            f"| {th.department:.2f} | {th.sentiment:.2f} | {th.fast_weight:.1f} "
            f"| {th.tone_weight:.1f} | {s['embedded']:.1%} | {s['fr']:.3f} | {s['en']:.3f} "
            f"| {s['tone']:.3f} | {s['specific']:.3f} |"
        )

    header = (
        "| dept thr | tone thr | fast weight | tone weight | embedded (ordinary) "
        "| dept macro-F1 fr | en | tone acc | specific acc |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    print(f"{args.held_out.name}: {len(rows)} items, the shipped model (not trained on them)")
    raw = json.loads(engine.THRESHOLDS_FILE.read_text("utf-8"))
    name = args.held_out.stem.removeprefix("eval_").removeprefix("spent_")
    curves: dict[str, dict[str, float]] = dict(raw.get("sentiment_weight_curves", {}))
    curve: dict[str, float] = {}
    cascade_tone: dict[str, float] = {}
    print("\nthe tone weight, with the cross-validation's thresholds: thorough, then cascade")
    print(header)
    for ws in TONE_WEIGHTS:
        th = replace(shipped, sentiment_weight=ws)
        thorough = score(pipeline, rows, th, design="thorough")
        cascade = score(pipeline, rows, th)
        curve[f"{ws:.1f}"] = round(thorough["tone"], 3)
        cascade_tone[f"{ws:.1f}"] = round(cascade["tone"], 3)
        print(line(th, thorough) + " thorough")
        print(line(th, cascade) + " cascade")
    # The best weight moves from one set to the next (0.2 on the eleventh round's, 0.5 on the
    # twelfth's): each held-out set's curve is kept, and the weight is chosen on their sum.
    curves[name] = curve
    pooled = {w: sum(c.get(w, 0.0) for c in curves.values()) for w in curve}
    best = max(pooled, key=lambda w: (round(pooled[w], 3), cascade_tone[w], -float(w)))
    print(
        f"\nthorough's tone summed over the held-out sets ({', '.join(sorted(curves))}): "
        + ", ".join(f"{w}: {v:.3f}" for w, v in pooled.items())
    )
    chosen = replace(shipped, sentiment_weight=float(best))
    print(f"chosen: tone weight {chosen.tone_weight}")

    if args.sweep:
        results = []
        grid = itertools.product(DEPARTMENT_THRESHOLDS, SENTIMENT_THRESHOLDS, WEIGHTS, WEIGHTS)
        for td, ts, w, ws in grid:
            th = replace(shipped, department=td, sentiment=ts, fast_weight=w, sentiment_weight=ws)
            results.append((th, score(pipeline, rows, th)))
        allowed = [(th, s) for th, s in results if s["embedded"] <= args.max_embedded]
        allowed.sort(key=lambda p: (-round(p[1]["objective"], 4), p[1]["embedded"]))
        print(f"\nthe cascade's best settings within {args.max_embedded:.0%} embedded")
        print(header)
        print(line(shipped, score(pipeline, rows, shipped)) + " (shipped)")
        for th, s in allowed[: args.top]:
            print(line(th, s))

    if args.choose:
        raw["sentiment_weight"] = chosen.tone_weight
        raw["sentiment_weight_curves"] = curves
        raw["sentiment_weight_fixed_at"] = datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        )
        raw["sentiment_weight_method"] = (
            f"bench/triage_holdout.py --held-out {args.held_out.name} --choose: the best tone "
            "of the thorough design summed over the held-out sets' curves, each measured on a "
            f"spent set the model then shipped was not trained on ({', '.join(sorted(curves))}"
            f"; {len(rows)} items in the newest), ties to the cascade's tone on the newest"
        )
        engine.THRESHOLDS_FILE.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
