"""Delivery under load and under chaos: real worker processes publishing to sandbox channels.

    .venv/bin/python bench/delivery.py burst   [--db sqlite|pg] [--posts 10000] [--channels 1000]
                                               [--spread 60] [--latency-ms 100]
                                               [--processes N] [--threads C] [--pg URL]
    .venv/bin/python bench/delivery.py ceiling [same options; every post due at one instant]
    .venv/bin/python bench/delivery.py chaos   [same options] [--kill-seconds 60]
                                               [--kill-every 2,5] [--fault-rate 0.08]
    add --json to print the result as one JSON line (the test suite's short chaos run does)

Every run makes a fresh database (a SQLite file, or a new database on the PostgreSQL server
of ``--pg``, else of a throwaway cluster started here), connects ``--channels`` sandbox
channels whose API answers in ``--latency-ms``, schedules ``--posts`` posts due evenly over
``--spread`` seconds from a few seconds after the workers are up (channel syncs and the
sandbox's housekeeping paused), and starts ``--processes`` worker processes of ``--threads``
handler threads each (the calls in flight: processes x threads).

* **burst** and **ceiling** report throughput, the lateness of each post (when the sandbox
  stored it, minus when it was due: median, p99, max), and the CPU of the worker processes per
  post, the sandbox's own share (it runs inside the worker, where a real network would not)
  measured apart. The ceiling's reference is latency-bound: calls in flight / latency.
* **chaos** kills a random worker with SIGKILL every 2 to 5 s (and starts another) while the
  sandbox answers with random timeouts after accepting, 429s with a reset time, 500s and 503s,
  holds every stored answer a moment (so kills land between the network's acceptance and the
  worker's commit), and one account's token is revoked mid-run and reconnected later. It then
  counts, from the sandbox's receipts of calls (including those it de-duplicated), every post
  sent twice (must be 0) and every post lost (must be 0: each ends published, or in a state
  the attention page shows).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import ThrowawayPostgres, drop_pg_database, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 6.0  # seconds between the workers' start and the first due post
STORED = ("ok", "duplicate", "timeout_after_accept")
FAULTS = {  # share of the fault rate, per kind
    "timeout_after_accept": 0.35,
    "rate_limited": 0.2,
    "server_error": 0.25,
    "unavailable": 0.2,
}


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    import django

    django.setup()


# --- children ----------------------------------------------------------------------------------


def child_setup(cfg: dict) -> None:
    """Workspace, sandbox accounts and channels, posts due from a few seconds after it ends."""
    _django()
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from portevoix.channels import crypto
    from portevoix.channels.models import Channel, ChannelStates
    from portevoix.core import actions
    from portevoix.core.models import User
    from portevoix.publishing.models import Post, Publication, PublicationStates
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount, SandboxFaults
    from portevoix.worker.housekeeping import JOBS
    from portevoix.worker.models import Housekeeping

    user = User.objects.create_user("bench@example.test", "not-used-bench-password")
    workspace = actions.create_workspace(name="Bench", slug="bench", creator=user)
    workspace.lateness_limit_minutes = 7 * 24 * 60  # lateness is measured, never held
    workspace.save()
    now = timezone.now()
    channels = []
    with transaction.atomic():
        for index in range(cfg["channels"]):
            account = service.create_account(
                f"bench-{index:05d}", workspace=workspace, cohorts=[], simulate=False, now=now
            )
            faults = {
                "latency_ms": cfg["latency_ms"],
                "writes_only": True,
            }
            if cfg.get("fault_rate"):
                faults["random_faults"] = {k: v * cfg["fault_rate"] for k, v in FAULTS.items()}
                faults["rate_reset_seconds"] = 3
                faults["hold_ms"] = cfg.get("hold_ms", 0)
            SandboxFaults.objects.filter(account=account).update(**faults)
            channel = Channel(
                workspace=workspace,
                network="sandbox",
                name=f"Bench {index:05d}",
                handle=account.handle,
                account_id=str(account.pk),
                display_name=account.handle,
                state=ChannelStates.active.name,
                next_attempt_at=None,  # syncs paused
                credentials_encrypted=crypto.encrypt(service.credentials_for(account)),
            )
            channels.append(channel)
        Channel.objects.bulk_create(channels, batch_size=500)
        channels = list(Channel.objects.filter(workspace=workspace).order_by("pk"))
        # Due from a few seconds after the workers start (the parent starts them as soon as
        # this returns), whatever the setup cost.
        start = time.time() + WARMUP + cfg["posts"] / 1500
        t0 = dt.datetime.fromtimestamp(start, dt.UTC)
        posts = Post.objects.bulk_create(
            [
                Post(workspace=workspace, text=f"Bench post {i}", author=user)
                for i in range(cfg["posts"])
            ],
            batch_size=1000,
        )
        spread = cfg["spread"]
        rows = []
        for index, post in enumerate(posts):
            due = t0 + dt.timedelta(seconds=spread * index / cfg["posts"])
            rows.append(
                Publication(
                    post=post,
                    channel=channels[index % len(channels)],
                    scheduled_at=due,
                    next_attempt_at=due,
                    state=PublicationStates.scheduled.name,
                )
            )
        Publication.objects.bulk_create(rows, batch_size=1000)
        # Housekeeping (the sandbox world, purges) paused for the run.
        for name in JOBS:
            Housekeeping.objects.update_or_create(
                name=name, defaults={"next_attempt_at": now + dt.timedelta(days=1)}
            )
    print(json.dumps({"accounts": SandboxAccount.objects.count(), "t0": start}), flush=True)


def child_worker(threads: int, stats_path: str) -> None:
    """``portevoix worker``, reporting its CPU (and the sandbox's share of it) on SIGTERM."""
    _django()
    import resource

    from portevoix.sandbox import service
    from portevoix.worker import runner

    if os.environ.get("PV_BENCH_SAMPLE"):
        _start_sampler(os.environ["PV_BENCH_SAMPLE"])
    if os.environ.get("PV_BENCH_RETRY_SECONDS"):
        from portevoix.publishing.models import PublicationStates

        # --retry-seconds: the first retry of a failed call, and the reconciling of an
        # unknown outcome, come this soon instead of production's minute (then back off).
        interval = float(os.environ["PV_BENCH_RETRY_SECONDS"])
        PublicationStates.scheduled.try_interval = interval
        PublicationStates.outcome_unknown.try_interval = interval
    code = runner.main(concurrency=threads)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(stats_path).write_text(
        json.dumps(
            {
                "cpu": usage.ru_utime + usage.ru_stime,
                "sandbox_cpu": service.METER["cpu"],
                "sandbox_calls": service.METER["calls"],
                "maxrss_kb": usage.ru_maxrss,
            }
        )
    )
    raise SystemExit(code)


def _start_sampler(path: str) -> None:
    """Where the worker's threads are, 100 times a second (PV_BENCH_SAMPLE=file): the
    project's innermost frame of each thread and the line it waits on, counted on exit."""
    import atexit
    import collections
    import traceback

    counts: collections.Counter[str] = collections.Counter()

    def sample() -> None:
        me = threading.get_ident()
        while True:
            time.sleep(0.01)
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                stack = traceback.extract_stack(frame)
                ours = [f for f in stack if "/portevoix/" in f.filename]
                leaf = stack[-1]
                where = f"{ours[-1].name}:{ours[-1].lineno}" if ours else "-"
                counts[f"{where} <- {Path(leaf.filename).name}:{leaf.name}"] += 1

    threading.Thread(target=sample, daemon=True).start()
    atexit.register(
        lambda: Path(path).write_text("\n".join(f"{n} {k}" for k, n in counts.most_common(60)))
    )


def child_revoke(index: int) -> None:
    _django()
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    account = SandboxAccount.objects.get(handle=f"bench-{index:05d}")
    service.rotate_token(account)  # the old token stops working: the channel needs reconnecting
    print("revoked", flush=True)


def child_reconnect(index: int) -> None:
    _django()
    from portevoix.channels import actions
    from portevoix.channels.models import Channel
    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    account = SandboxAccount.objects.get(handle=f"bench-{index:05d}")
    channel = Channel.objects.get(handle=account.handle)
    actions.reconnect_channel(channel, by=None, credentials=service.credentials_for(account))
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=None)  # syncs stay paused
    print("reconnected", flush=True)


def child_report(cfg: dict) -> None:
    _django()
    from collections import Counter

    from django.db.models import Min

    from portevoix.publishing.models import NEEDS_PERSON, Publication
    from portevoix.sandbox.models import SandboxCall, SandboxPost

    publications = list(
        Publication.objects.values_list(
            "idempotency_key", "state", "scheduled_at", "network_post_id", "problem"
        )
    )
    calls = Counter(
        SandboxCall.objects.filter(operation="publish", outcome__in=STORED).values_list(
            "idempotency_key", flat=True
        )
    )
    stored_at = dict(
        SandboxPost.objects.filter(part=0)
        .values("idempotency_key")
        .annotate(at=Min("received_at"))
        .values_list("idempotency_key", "at")
    )
    posts = set(SandboxPost.objects.values_list("network_id", flat=True))
    # Posts the network had accepted when the worker that sent them did not know it (killed
    # before its commit, or a timeout after acceptance): found again by reconcile.
    found_again = SandboxCall.objects.filter(operation="lookup", outcome="ok").values(
        "idempotency_key"
    )
    receipts = Counter(
        SandboxCall.objects.filter(operation="publish").values_list("outcome", flat=True)
    )
    states = Counter(state for _, state, *_ in publications)
    twice = {key: n for key, n in calls.items() if n > 1}
    lost = []
    late = []
    for key, state, due, post_id, problem in publications:
        if state == "published":
            if calls.get(key, 0) != 1 or post_id not in posts:
                lost.append((key, state, "published without exactly one stored post"))
            late.append((stored_at[key] - due).total_seconds() if key in stored_at else None)
        elif state in NEEDS_PERSON:
            if calls.get(key, 0) > 1:
                lost.append((key, state, problem))
        else:
            lost.append((key, state, problem or "not finished"))
    lateness = sorted(x for x in late if x is not None)
    first = min(stored_at.values()) if stored_at else None
    last = max(stored_at.values()) if stored_at else None

    def pct(p: float) -> float | None:
        if not lateness:
            return None
        return lateness[min(len(lateness) - 1, round(p * (len(lateness) - 1)))]

    print(
        json.dumps(
            {
                "publications": len(publications),
                "states": states,
                "sent_twice": len(twice),
                "lost": len(lost),
                "lost_examples": lost[:5],
                "twice_examples": list(twice.items())[:5],
                "found_by_reconcile": found_again.distinct().count(),
                "publish_receipts": receipts,
                "lateness_median": statistics.median(lateness) if lateness else None,
                "lateness_p99": pct(0.99),
                "lateness_max": lateness[-1] if lateness else None,
                "first_stored": first.timestamp() if first else None,
                "last_stored": last.timestamp() if last else None,
            },
            default=str,
        ),
        flush=True,
    )


# --- orchestration -----------------------------------------------------------------------------


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PORTEVOIX_"))}
    env.update(
        PORTEVOIX_DATABASE_URL=url,
        PORTEVOIX_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="portevoix.settings",
        PORTEVOIX_LOG_LEVEL="ERROR",
    )
    return env


def _child(*args: str, env: dict[str, str], timeout: float = 1800) -> str:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def _background(*args: str, env: dict[str, str]) -> threading.Thread:
    thread = threading.Thread(target=_child, args=args, kwargs={"env": env})
    thread.start()
    return thread


class Workers:
    def __init__(self, env: dict[str, str], threads: int, stats_dir: Path) -> None:
        self.env, self.threads, self.stats_dir = env, threads, stats_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.kills = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        stats = self.stats_dir / f"worker-{self.started}.json"
        proc = subprocess.Popen(
            [sys.executable, __file__, "_worker", str(self.threads), str(stats)],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def kill_one(self, rng: random.Random) -> None:
        alive = [p for p in self.procs if p.poll() is None]
        if not alive:
            return
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.procs.remove(victim)
        self.start()

    def stop(self) -> list[dict]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
        return [json.loads(p.read_text()) for p in sorted(self.stats_dir.glob("worker-*.json"))]


def _open_rows(url: str) -> int:
    """Publications not yet settled, read with the bare driver: a Django child per look cost
    a second of CPU each time, taken from the workers being measured."""
    sql = (
        "SELECT count(*) FROM publishing_publication "
        "WHERE state IN ('scheduled', 'outcome_unknown')"
    )
    if url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)) as db:
            return int(db.execute(sql).fetchone()[0])
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(sql).fetchone()
        return int(row[0]) if row else 0


def run(mode: str, args: argparse.Namespace, url: str, data_dir: Path) -> dict:
    env = _env(url, data_dir)
    if args.retry_seconds is not None:
        env["PV_BENCH_RETRY_SECONDS"] = str(args.retry_seconds)
    subprocess.run(
        [sys.executable, "-m", "portevoix.cli", "migrate"],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    spread = 0.0 if mode == "ceiling" else args.spread
    chaos = mode == "chaos"
    cfg = {
        "channels": args.channels,
        "posts": args.posts,
        "latency_ms": args.latency_ms,
        "spread": spread,
        "fault_rate": args.fault_rate if chaos else 0.0,
        "hold_ms": args.hold_ms if chaos else 0,
    }
    cfg["t0"] = json.loads(_child("_setup", json.dumps(cfg), env=env))["t0"]
    stats_dir = data_dir / "stats"
    stats_dir.mkdir(exist_ok=True)
    workers = Workers(env, args.threads, stats_dir)
    for _ in range(args.processes):
        workers.start()
    rng = random.Random(args.seed)
    t0 = cfg["t0"]
    low, high = (float(x) for x in args.kill_every.split(","))
    next_kill = t0 + rng.uniform(low, high)
    revoked = reconnected = False
    background: list[threading.Thread] = []
    deadline = t0 + spread + args.timeout
    settled_since = None
    progress = {}
    try:
        while time.time() < deadline:
            now = time.time()
            if chaos and now < t0 + args.kill_seconds:
                if now >= next_kill:
                    workers.kill_one(rng)
                    next_kill = now + rng.uniform(low, high)
                # The token is revoked, then reconnected (in the background: these take a
                # second or two each, and the kills go on meanwhile).
                if not revoked and now >= t0 + args.kill_seconds * 0.25:
                    background.append(_background("_revoke", "0", env=env))
                    revoked = True
                if revoked and not reconnected and now >= t0 + args.kill_seconds * 0.6:
                    background[-1].join()
                    background.append(_background("_reconnect", "0", env=env))
                    reconnected = True
            if now > t0 + spread and (not chaos or now > t0 + args.kill_seconds):
                open_rows = _open_rows(url)
                if open_rows == 0:
                    settled_since = settled_since or now
                    if now - settled_since > 1:
                        break
                else:
                    settled_since = None
            time.sleep(0.5 if not chaos else 0.25)
        for thread in background:
            thread.join()
        if chaos and revoked and not reconnected:
            _child("_reconnect", "0", env=env)
    finally:
        stats = workers.stop()
    report = json.loads(_child("_report", json.dumps(cfg), env=env))
    report.update(
        mode=mode,
        database="PostgreSQL" if url.startswith("postgres") else "SQLite",
        processes=args.processes,
        threads=args.threads,
        in_flight=args.processes * args.threads,
        latency_ms=args.latency_ms,
        posts=args.posts,
        channels=args.channels,
        spread=spread,
        kills=workers.kills,
        finished=time.time() < deadline,
        progress=progress,
    )
    if report["first_stored"] and report["last_stored"]:
        duration = report["last_stored"] - t0
        report["throughput"] = report["states"].get("published", 0) / max(duration, 1e-9)
        report["reference"] = report["in_flight"] / (args.latency_ms / 1000.0)
    published = max(1, report["states"].get("published", 0))
    if stats and not chaos:
        cpu = sum(s["cpu"] for s in stats)
        sandbox = sum(s["sandbox_cpu"] for s in stats)
        report["cpu_ms_per_post"] = 1000 * cpu / published
        report["sandbox_cpu_ms_per_post"] = 1000 * sandbox / published
        report["worker_cpu_ms_per_post"] = 1000 * (cpu - sandbox) / published
        report["max_rss_mb"] = max(s["maxrss_kb"] for s in stats) / 1024
    return report


def describe(r: dict) -> str:
    lines = [
        f"{r['mode']} on {r['database']}: {r['posts']} posts on {r['channels']} sandbox channels "
        f"answering in {r['latency_ms']} ms, due over {r['spread']:.0f} s; "
        f"{r['processes']} worker process(es) x {r['threads']} threads = "
        f"{r['in_flight']} calls in flight; load average {os.getloadavg()[0]:.1f}",
        f"  states: {dict(r['states'])}",
    ]
    if r.get("throughput") is not None:
        lines.append(
            f"  throughput {r['throughput']:.0f} posts/s (latency-bound reference "
            f"{r['reference']:.0f}/s, ratio {r['throughput'] / r['reference']:.2f})"
        )
    if r.get("lateness_p99") is not None:
        lines.append(
            f"  lateness: median {r['lateness_median']:.2f} s, p99 {r['lateness_p99']:.2f} s, "
            f"max {r['lateness_max']:.2f} s"
        )
    if r.get("cpu_ms_per_post") is not None:
        lines.append(
            f"  CPU per post: worker {r['worker_cpu_ms_per_post']:.2f} ms + sandbox "
            f"{r['sandbox_cpu_ms_per_post']:.2f} ms = {r['cpu_ms_per_post']:.2f} ms; "
            f"peak RSS {r['max_rss_mb']:.0f} MB per process"
        )
    if r["mode"] == "chaos":
        lines.append(
            f"  {r['kills']} SIGKILLs; publish calls by outcome {dict(r['publish_receipts'])}; "
            f"{r['found_by_reconcile']} posts accepted unbeknown to their worker and found by "
            f"reconcile\n  sent twice: {r['sent_twice']}; lost: {r['lost']}"
            + (f" e.g. {r['lost_examples'][:2]}" if r["lost"] else "")
            + (f" e.g. {r['twice_examples'][:2]}" if r["sent_twice"] else "")
        )
    if not r["finished"]:
        lines.append("  (timed out before every post was settled)")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        command, rest = sys.argv[1], sys.argv[2:]
        if command == "_setup":
            child_setup(json.loads(rest[0]))
        elif command == "_worker":
            child_worker(int(rest[0]), rest[1])
        elif command == "_revoke":
            child_revoke(int(rest[0]))
        elif command == "_reconnect":
            child_reconnect(int(rest[0]))
        elif command == "_report":
            child_report(json.loads(rest[0]))
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["burst", "ceiling", "chaos"])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--pg", default=None, help="PostgreSQL server URL (else a throwaway one)")
    parser.add_argument("--pg-port", type=int, default=55436)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an existing database to run on, left in place (the tests hand a copy of a "
        "migrated one); overrides --db",
    )
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--threads", type=int, default=24)
    parser.add_argument("--kill-seconds", type=float, default=60.0)
    parser.add_argument("--kill-every", default="2,5")
    parser.add_argument("--fault-rate", type=float, default=0.08)
    parser.add_argument("--hold-ms", type=int, default=150)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds after the last due")
    parser.add_argument(
        "--retry-seconds",
        type=float,
        default=None,
        help="the workers' try interval for publications (production: 60 s, so a failed "
        "call is retried after 30 to 60 s, then backs off); the tests shorten it so that the "
        "retries of a short chaos run come within it. Timing only: every call, mark, lease "
        "and reconcile is the production code's",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.database_url:
        args.db = "pg" if args.database_url.startswith("postgres") else "sqlite"
    if args.processes is None:
        args.processes = 4 if args.db == "pg" else 1

    data_dir = Path(tempfile.mkdtemp(prefix="portevoix-bench-delivery."))
    cluster = None
    url = args.database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
    try:
        if args.db == "pg" and not args.database_url:
            server = args.pg or os.environ.get("PG_TEST_URL")
            if server is None:
                cluster = ThrowawayPostgres(args.pg_port)
                server = cluster.start()
            url = fresh_pg_database(server, f"portevoix_delivery_{os.getpid()}")
        report = run(args.mode, args, url, data_dir)
        print(json.dumps(report, default=str) if args.json else describe(report), flush=True)
    finally:
        if args.db == "pg" and cluster is None and not args.database_url:
            drop_pg_database(url)
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    ok = report["sent_twice"] == 0 and report["lost"] == 0 and report["finished"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
