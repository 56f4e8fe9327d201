"""The tuned embedding model's layers as an ONNX graph with 8-bit weight products, run by ONNX
Runtime (ADR 0104).

:class:`~portevoix.triage.encoder.Encoder` runs multilingual-e5-small's twelve layers as
float32 numpy products: about 15 ms a message on one core of this machine, nearly all of it in
the four weight products of each layer. That cost is what kept the cascade from sending more
than about 1 % of ordinary traffic to the embedding model within issue 16's goal of 1,000
items a second. Here the same layers are an ONNX graph in which two of the four products (the
query-key-value one and the feed-forward's first, :data:`QUANTIZED`) are quantized
dynamically: the weights to int8 once, one scale per column, each batch's activations to uint8
on the fly (``DynamicQuantizeMatMul``), which ONNX Runtime computes with the processor's 8-bit
dot-product instructions (AVX-512 VNNI here), about four times faster than float32 products.
The other two products, the attention's own (query × key, weights × value), the layer norms,
the softmax and the GELU stay float32. The whole model is about twice as fast
(``bench/triage_int8.py``).

The graph is built in memory from the model file's matrices, with the tuned model's low-rank
updates added into them (``W + A B``, in the graph's own copy: the stock model's float32
matrices are neither shared nor needed), in under a second per process; its weights reach the
session apart from the serialized graph, so that they are never in memory three times. Like
the numpy engine, the dense products run on the packed tokens of a batch and only the
attention on the padded texts. ``tests/triage/test_int8.py`` checks the graph against the
numpy engine and the 8-bit vectors against the float32 ones; the heads are trained on the
8-bit model's vectors (``train.embed`` loads the same embedder), so what the engine reads is
what they learnt from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from portevoix.triage.encoder import Encoder

FloatArray = npt.NDArray[np.float32]

#: The weight products computed in 8 bits: the query-key-value one and the feed-forward's
#: first (``bench/triage_int8.py``). The attention's output and the feed-forward's second
#: stay float32: their inputs (the attention's mix, the GELU's output) have outliers that one
#: 8-bit scale per batch flattens; quantizing them too is 1.5 times faster again but moved
#: vectors by up to 0.06 in cosine and cost 1.5 points of French routing (docs/benchmarks.md).
QUANTIZED = ("qkv", "fi")

#: Constants of at least this many elements (the weights) reach the session apart.
_EXTERNAL_ELEMENTS = 4096

#: The opset of the graph (20: ``Gelu`` is a standard operator).
OPSET = 20


def available() -> bool:
    """Whether ONNX Runtime and ONNX can be imported (both are dependencies; a checkout
    without them falls back on the float32 engine)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def quantize_columns(weight: FloatArray) -> tuple[npt.NDArray[np.int8], FloatArray]:
    """``weight`` (inputs × outputs) as int8 with one symmetric scale per output column:
    ``weight ≈ q * scale``, ``|q| <= 127``."""
    peak = np.abs(weight).max(axis=0) / np.float32(127.0)
    scale: FloatArray = np.where(peak > 0, peak, np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    return q, scale


def _graph(
    encoder: Encoder, *, quantized: tuple[str, ...] = QUANTIZED
) -> tuple[Any, dict[str, npt.NDArray[Any]]]:
    """The graph of ``encoder``'s layers, the ``quantized`` kinds of its weight products
    (``qkv``, ``ao``, ``fi``, ``fo``; :data:`QUANTIZED` by default) in 8 bits
    (``DynamicQuantizeMatMul``: per-column int8 weights, the activations quantized per
    batch), the others in float32.

    Inputs: ``x``, the packed tokens' embeddings after their layer norm (tokens × hidden);
    ``mask``, 0 or -1e30 (texts × 1 × 1 × longest); ``tokens``, each token's place in the
    padded texts × longest layout, and ``slots``, the same as a column; ``padded_shape``
    (texts × longest, 3 × hidden) and ``heads_shape`` (texts, longest, 3, heads, head size).
    Output ``y``: the last layer's states of the packed tokens. The weights come apart, by
    name (the model refers to them as external data)."""
    from onnx import TensorProto, helper, numpy_helper

    hd = encoder.header
    h, nh = hd.hidden, hd.heads
    eps = float(hd.eps)
    head_dim = h // nh
    nodes: list[Any] = []
    inits: list[Any] = []
    external: dict[str, npt.NDArray[Any]] = {}

    def const(name: str, value: npt.NDArray[Any]) -> str:
        if value.size >= _EXTERNAL_ELEMENTS:
            # Handed to the session apart (``add_external_initializers``): serialized into
            # the model, the weights would be in memory three times while it loads.
            tensor = TensorProto()
            tensor.name = name
            tensor.data_type = helper.np_dtype_to_tensor_dtype(value.dtype)
            tensor.dims.extend(value.shape)
            tensor.data_location = TensorProto.EXTERNAL
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", "weights"
            inits.append(tensor)
            external[name] = np.ascontiguousarray(value)
            return name
        inits.append(
            numpy_helper.from_array(np.ascontiguousarray(value) if value.ndim else value, name)
        )
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def dense(x: str, weight: FloatArray, bias: FloatArray, name: str) -> str:
        if name.rsplit(".", 1)[-1] in quantized:
            q, scale = quantize_columns(weight)
            nodes.append(
                helper.make_node(
                    "DynamicQuantizeMatMul",
                    [
                        x,
                        const(f"{name}.q", q),
                        const(f"{name}.s", scale),
                        "",
                        const(f"{name}.b", bias),
                    ],
                    [name],
                    name=name,
                    domain="com.microsoft",
                )
            )
            return name
        product = node("MatMul", [x, const(f"{name}.w", weight)], f"{name}.mm")
        return node("Add", [product, const(f"{name}.b", bias)], name)

    def add_norm(x: str, y: str, vec: dict[str, FloatArray], name: str) -> str:
        """The residual ``x + y`` through the layer norm ``name`` (``l{n}.aln``, ``l{n}.oln``)."""
        kind = name.rsplit(".", 1)[-1]
        total = node("Add", [x, y], f"{name}.sum")
        weight, bias = const(f"{name}.w", vec[f"{kind}.w"]), const(f"{name}.b", vec[f"{kind}.b"])
        return node("LayerNormalization", [total, weight, bias], name, axis=-1, epsilon=eps)

    const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    const("flat_shape", np.array([-1, h], dtype=np.int64))
    for j in range(3):
        const(f"idx{j}", np.array(j, dtype=np.int64))
    x = "x"
    for layer, vec in enumerate(encoder._layers):
        low = encoder._low_rank[layer]
        # Expanded here, layer by layer, not kept: the stock model's float32 copy
        # (``_ModelFile.matrices``) is only made if something needs it.
        w_qkv, w_ao, w_fi, w_fo = encoder.file.layer_matrices(layer)
        p = f"l{layer}"

        def merged(kind: str, base: FloatArray, low: dict[str, Any] = low) -> FloatArray:
            if kind not in low:
                return base
            a, b = low[kind]
            return np.asarray(base + a @ b, dtype=np.float32)

        # The dense products run on the packed tokens; only the attention needs them padded
        # (texts × longest), as in ``Encoder._forward``.
        qkv = dense(x, merged("qkv", w_qkv), vec["qkv.b"], f"{p}.qkv")
        empty = node("ConstantOfShape", ["padded_shape"], f"{p}.empty")
        padded = node("ScatterND", [empty, "slots", qkv], f"{p}.padded")
        heads = node("Reshape", [padded, "heads_shape"], f"{p}.heads")
        split = node("Transpose", [heads], f"{p}.split", perm=[2, 0, 3, 1, 4])
        q = node("Gather", [split, "idx0"], f"{p}.q", axis=0)
        k = node("Gather", [split, "idx1"], f"{p}.k", axis=0)
        v = node("Gather", [split, "idx2"], f"{p}.v", axis=0)
        kt = node("Transpose", [k], f"{p}.kt", perm=[0, 1, 3, 2])
        scores = node("MatMul", [q, kt], f"{p}.scores")
        scaled = node("Mul", [scores, "scale"], f"{p}.scaled")
        masked = node("Add", [scaled, "mask"], f"{p}.masked")
        probs = node("Softmax", [masked], f"{p}.probs", axis=-1)
        ctx = node("MatMul", [probs, v], f"{p}.ctx")
        ctx_t = node("Transpose", [ctx], f"{p}.ctx_t", perm=[0, 2, 1, 3])
        ctx_flat = node("Reshape", [ctx_t, "flat_shape"], f"{p}.ctx_flat")
        ctx_h = node("Gather", [ctx_flat, "tokens"], f"{p}.ctx_h", axis=0)
        attn = dense(ctx_h, merged("ao", w_ao), vec["ao.b"], f"{p}.ao")
        x1 = add_norm(x, attn, vec, f"{p}.aln")
        mid = dense(x1, merged("fi", w_fi), vec["fi.b"], f"{p}.fi")
        act = node("Gelu", [mid], f"{p}.gelu")
        ffn = dense(act, merged("fo", w_fo), vec["fo.b"], f"{p}.fo")
        x = add_norm(x1, ffn, vec, f"{p}.oln")
    nodes.append(helper.make_node("Identity", [x], ["y"], name="out"))
    graph = helper.make_graph(
        nodes,
        "e5_layers",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", h]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["n", 1, 1, "longest"]),
            helper.make_tensor_value_info("tokens", TensorProto.INT64, ["tokens"]),
            helper.make_tensor_value_info("slots", TensorProto.INT64, ["tokens", 1]),
            helper.make_tensor_value_info("padded_shape", TensorProto.INT64, [2]),
            helper.make_tensor_value_info("heads_shape", TensorProto.INT64, [5]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["tokens", h])],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
    )
    model.ir_version = 10
    return model, external


class Int8Layers:
    """``encoder``'s layers with 8-bit weight products, in one ONNX Runtime session (one
    thread: Porte-voix gets its parallelism from processes)."""

    def __init__(self, encoder: Encoder, *, quantized: tuple[str, ...] = QUANTIZED) -> None:
        import onnxruntime as ort

        model, weights = _graph(encoder, quantized=quantized)
        options = ort.SessionOptions()
        names = list(weights)
        options.add_external_initializers(
            names, [ort.OrtValue.ortvalue_from_numpy(weights[n]) for n in names]
        )
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Neither a second, pre-packed copy of the weights nor a growing arena: 50 MB less
        # per process for no measurable loss of speed (docs/benchmarks.md).
        options.add_session_config_entry("session.disable_prepacking", "1")
        options.enable_cpu_mem_arena = False
        self._session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def __call__(
        self, x: FloatArray, mask: FloatArray, slot: npt.NDArray[np.int64], heads: int
    ) -> FloatArray:
        """The last layer's states of the packed tokens ``x``, ``slot`` giving each token's
        place in the padded layout of ``mask`` (see :func:`_graph`)."""
        n, longest = mask.shape[0], mask.shape[-1]
        h = x.shape[1]
        feeds = {
            "x": x,
            "mask": mask,
            "tokens": slot,
            "slots": slot.reshape(-1, 1),
            "padded_shape": np.array([n * longest, 3 * h], dtype=np.int64),
            "heads_shape": np.array([n, longest, 3, heads, h // heads], dtype=np.int64),
        }
        (y,) = self._session.run(["y"], feeds)
        return np.asarray(y, dtype=np.float32)
