"""Speed and closeness of the tuned embedding model in 8 bits against float32 (ADR 0104).

    OMP_NUM_THREADS=1 .venv/bin/python bench/triage_int8.py [--texts 400] [--quality round14]

For the float32 numpy engine (``encoder.py``), the shipped 8-bit graph (``int8.QUANTIZED``:
the query-key-value and first feed-forward products) and the variant with all four weight
products in 8 bits, prints the milliseconds per text on one core (batches of 16 texts: about
what the cascade embeds from a batch of 256 items), the ratio to float32, and how far each
variant's vectors are from the float32 ones (cosine: lowest, 5th percentile, mean). The
texts are the newest evaluation set's (``bench/triage_eval.py``'s ``EVAL_FILE``, texts only,
as ``bench/triage_throughput.py`` reads them).

``--quality SET`` also labels a set (``triage_eval.py --set`` names: a spent one, never the
newest) with the ``embedding`` design under each variant and prints its department macro-F1
(French / English), tone and specific accuracy. The heads are the shipped ones, trained on the
shipped variant's vectors, which favours it a little.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import triage_eval  # noqa: E402

from portevoix.triage import int8, tuned  # noqa: E402
from portevoix.triage.encoder import Encoder  # noqa: E402
from portevoix.triage.engine import MODEL_DIR, Pipeline  # noqa: E402

VARIANTS: dict[str, tuple[str, ...] | None] = {
    "float32 (numpy)": None,
    "8-bit qkv, fi (shipped)": int8.QUANTIZED,
    "8-bit qkv, ao, fi, fo": ("qkv", "ao", "fi", "fo"),
}


def encoder_for(quantized: tuple[str, ...] | None) -> Encoder:
    found = tuned.read_patch(MODEL_DIR)
    if found is None:
        raise SystemExit("no tuned model in portevoix/triage/data/model")
    enc = Encoder(tuned.stock_model_path(), found[0], int8=quantized is not None)
    if quantized is not None:
        enc._int8_layers = int8.Int8Layers(enc, quantized=quantized)
    return enc


def speed(enc: Encoder, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    enc.query(texts[:batch])  # warm up
    t0 = time.perf_counter()
    vectors = [enc.query(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    return (time.perf_counter() - t0) / len(texts) * 1000, np.concatenate(vectors)


def quality(enc: Encoder, which: str) -> str:
    """``triage_eval.py``'s figures of the embedding design, labelled through ``enc``."""
    pipeline = Pipeline()
    pipeline._label_embedder, pipeline._label_embedder_loaded = enc, True
    table = triage_eval.evaluate("embedding", triage_eval.load_eval(which), pipeline=pipeline)[
        "table"
    ]
    routing = " / ".join(f"{table[lang]['department'][1]:.3f}" for lang in ("fr", "en"))
    return f"{routing} | {table['all']['sentiment'][0]:.3f} | {table['all']['specific'][0]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--quality", metavar="SET", help="a spent set to label with each variant")
    args = parser.parse_args()
    if args.quality == "new":
        raise SystemExit("--quality reads a spent set, never the newest evaluation set")
    texts = [r["text"] for r in triage_eval.load_eval("new")][: args.texts]
    print(f"{len(texts)} texts, batches of {args.batch}, one thread")
    head = "| variant | ms per text | vs float32 | cosine to float32: lowest / 5 % / mean |"
    if args.quality:
        head += f" {args.quality}: routing fr / en | tone | specific |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    reference: np.ndarray | None = None
    base_ms = 0.0
    for name, quantized in VARIANTS.items():
        enc = encoder_for(quantized)
        ms, vectors = speed(enc, texts, args.batch)
        if reference is None:
            reference, base_ms = vectors, ms
        cos = (vectors * reference).sum(axis=1)
        line = (
            f"| {name} | {ms:.2f} | {base_ms / ms:.2f}× | "
            f"{cos.min():.3f} / {np.percentile(cos, 5):.3f} / {cos.mean():.4f} |"
        )
        if args.quality:
            line += f" {quality(enc, args.quality)} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
