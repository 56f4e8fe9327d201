"""Throughput and memory of triage, per design, on 1 and 2 processes (one core each).

    .venv/bin/python bench/triage_throughput.py [--items 3000] [--designs fast,cascade,embedding]

The corpus is the ordinary items of the newest evaluation set (``bench/triage_eval.py``'s
``EVAL_FILE``; ids with "-r": plain messages, not the harder ones, about 4 % in languages other
than French and English), never trained on, repeated to ``--items``. ``--corpus roundN`` takes
an earlier round's set's (``round2``: 49 characters on average, ``round3``: 72), and
``--corpus spent`` the original evaluation set's 507 texts, as ``triage_eval.py --set`` names
them: all of them are training data now (each round's since the round after it), and the fast
model is surer of what it was trained on, so they send fewer items to the embedding model than
ordinary traffic would; they keep old figures comparable. Embeddings are not cached, so a
repeated text costs as much as a new one. Each worker process is pinned to one thread
(OMP_NUM_THREADS=1, applied to OpenBLAS by the encoder) and labels its share in batches of 256
after a warm-up batch, so load time is excluded and reported apart. Prints items/s, items/s per
core, peak RSS per process, the ratio to the goal of 1,000 items/s in one process (issue 16;
500 on 2 cores before), and the load average (the machine is shared: run it with ``nice -n
-20``), and the quality of each design (department macro-F1 on the French and English
evaluation items).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import triage_eval  # noqa: E402  (after the path: run from a checkout)

#: Issue 16: 1,000 items a second in one process for ordinary traffic.
GOAL = 1000.0


def corpus(n: int, which: str = "new") -> list[str]:
    texts = [r["text"] for r in triage_eval.load_eval(which) if "-h" not in r["id"]]
    return [texts[i % len(texts)] for i in range(n)]


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss survives exec on Linux, so a
    spawned worker would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(args: tuple[str, list[str], int]) -> dict[str, float]:
    design, texts, batch = args
    os.environ["OMP_NUM_THREADS"] = "1"
    from portevoix.triage.engine import Pipeline, TriageInput

    t0 = time.perf_counter()
    pipeline = Pipeline(cache_embeddings=False)
    pipeline.label([TriageInput(t) for t in texts[:64]], design=design)  # load models
    if design != "fast":
        # The embedding model loads when an item first needs it: in a cascade that may be
        # after the warm-up batch, and its load (seconds) would count as labelling time.
        pipeline.label([TriageInput(t) for t in texts[:8]], design="embedding")
    load = time.perf_counter() - t0
    pipeline.embedded_items = 0
    items = [TriageInput(t) for t in texts]
    t1, c1 = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        pipeline.label(items[start : start + batch], design=design)
    elapsed = time.perf_counter() - t1
    cpu = time.process_time() - c1
    rss_mb = _peak_rss_mb()
    return {
        "items": len(items),
        "seconds": elapsed,
        "cpu": cpu,
        "load": load,
        "rss_mb": rss_mb,
        "embedded": pipeline.embedded_items,
    }


def run(design: str, texts: list[str], processes: int, batch: int) -> dict[str, float]:
    shares = [texts[i::processes] for i in range(processes)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(processes) as pool:
        t0 = time.perf_counter()
        outs = pool.map(_worker, [(design, share, batch) for share in shares])
        wall = time.perf_counter() - t0
    slowest = max(o["seconds"] for o in outs)
    total = sum(o["items"] for o in outs)
    return {
        "processes": processes,
        "items_per_s": total / slowest,
        "per_core": total / slowest / processes,
        "per_cpu_second": total / sum(o["cpu"] for o in outs),
        "rss_mb": max(o["rss_mb"] for o in outs),
        "load_s": max(o["load"] for o in outs),
        "embedded_share": sum(o["embedded"] for o in outs) / total,
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--designs", default="fast,cascade,embedding")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--corpus", default="new", choices=tuple(triage_eval.SETS))
    parser.add_argument(
        "--processes", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2]
    )
    args = parser.parse_args()
    texts = corpus(args.items, args.corpus)
    designs = args.designs.split(",")
    print(
        f"{args.items} items ({args.corpus} ordinary texts repeated), batches of {args.batch}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    quality: dict[str, tuple[float, float]] = {}
    if not args.no_quality:
        rows = triage_eval.load_eval("new")
        for design in designs:
            table = triage_eval.evaluate(design, rows)["table"]
            quality[design] = (table["fr"]["department"][1], table["en"]["department"][1])
    print()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(
        "| design | department macro-F1 fr / en | processes | items/s | items/s per core "
        "| items per CPU-second | sent to the embedding | peak RSS per process | load "
        "| vs 1,000/s goal |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for design in designs:
        for processes in args.processes:
            r = run(design, texts, processes, args.batch)
            q = quality.get(design)
            qtxt = f"{q[0]:.3f} / {q[1]:.3f}" if q else "-"
            ratio = r["items_per_s"] / GOAL
            note = "" if processes == 1 else f" ({processes} processes)"
            print(
                f"| {design} | {qtxt} | {processes} | {r['items_per_s']:.0f} | "
                f"{r['per_core']:.0f} | {r['per_cpu_second']:.0f} | {r['embedded_share']:.0%} | "
                f"{r['rss_mb']:.0f} MB | {r['load_s']:.2f} s | {ratio:.2f}{note} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
