"""The tuned embedding model's layers in ONNX Runtime with 8-bit weight products
(``portevoix/triage/int8.py``, ADR 0104): the graph is the float32 model's, and its 8-bit
products move the vectors only a little."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from portevoix.triage import int8, train, tuned
from portevoix.triage.encoder import Encoder
from portevoix.triage.engine import MODEL_DIR

#: Longer than the model's 512 positions: embedded in windows, each its own sequence.
LONG = " ".join(["Ma commande 4521 est arrivée cassée, je veux un remboursement."] * 60)
EDGE = ["", "ok", "👍", "emoji 👍🏽🇫🇷 zwj 👨‍👩‍👧", LONG]


def _sample(n: int) -> list[str]:
    texts = [
        json.loads(line)["text"]
        for path in train.HAND_FILES
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    return random.Random(16).sample(texts, n)


@pytest.fixture(scope="module")
def patch():
    found = tuned.read_patch(MODEL_DIR)
    assert found is not None, "the shipped model has its encoder patch"
    return found[0]


@pytest.fixture(scope="module")
def float32(patch) -> Encoder:
    return Encoder(tuned.stock_model_path(), patch)


@pytest.fixture(scope="module")
def eight_bit(patch) -> Encoder:
    return Encoder(tuned.stock_model_path(), patch, int8=True)


def test_the_graph_without_quantization_is_the_numpy_model(patch, float32):
    """Packing, padding, masks, the low-rank updates merged into the weights: in float32 the
    ONNX graph gives the numpy engine's vectors, texts of every length in one batch."""
    exact = Encoder(tuned.stock_model_path(), patch, int8=True)
    exact._int8_layers = int8.Int8Layers(exact, quantized=())
    texts = [*_sample(40), *EDGE]
    cos = (exact.query(texts) * float32.query(texts)).sum(axis=1)
    assert cos.min() > 0.99999


def test_eight_bit_vectors_stay_close_to_the_float_ones(float32, eight_bit):
    texts = [*_sample(150), *EDGE]
    cos = (eight_bit.query(texts) * float32.query(texts)).sum(axis=1)
    # Measured on the training texts: mean 0.995, lowest 0.977 (docs/benchmarks.md).
    assert cos.mean() > 0.99
    assert cos.min() > 0.95


def test_the_eight_bit_vectors_do_not_depend_on_the_batch(eight_bit):
    """Activations are quantized per batch, so a text's vector moves a little with its
    neighbours, never much."""
    texts = _sample(24)
    together = eight_bit.query(texts)
    alone = np.stack([eight_bit.query([t])[0] for t in texts])
    assert (together * alone).sum(axis=1).min() > 0.98


def test_quantized_columns_round_trip_within_half_a_step():
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((64, 48)).astype(np.float32)
    weight[:, 5] = 0.0  # a column of zeros keeps a usable scale
    q, scale = int8.quantize_columns(weight)
    assert q.dtype == np.int8 and np.abs(q.astype(np.int16)).max() <= 127
    assert scale.shape == (48,) and np.all(scale > 0)
    assert np.all(np.abs(q * scale - weight) <= scale / 2 + 1e-7)
    assert np.all(q[:, 5] == 0)


def test_the_shipped_tuned_model_runs_in_eight_bits():
    """What the engine labels with, and what ``train`` fits the heads on."""
    assert int8.available()
    embedder = tuned.load_embedder(MODEL_DIR)
    assert embedder is not None and embedder.int8


def test_the_stock_model_stays_in_float32():
    """Corrections compare texts with the stock model: near-identical texts must stay near."""
    from portevoix.triage.encoder import stock_encoder

    assert not stock_encoder(tuned.stock_model_path()).int8
