"""Worker claim throughput: rows per second claimed and completed, engine against bare SQL.

    .venv/bin/python bench/worker_claim.py [--rows 10000] [--workers 1,2,4] [--repeat 1]
                                           [--pg URL | --no-pg]

For each database (a SQLite file; PostgreSQL: the server at ``--pg URL``, else a throwaway
cluster started here like ``./dev pg`` does) and each number of worker processes, it fills
``worker_housekeeping`` with N due rows whose job is a no-op, then measures:

* engine: W processes each looping ``runner.run_once()`` (claim a batch of 10 with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` / an IMMEDIATE transaction, run the handler, write the
  result with the lease check) until nothing is due;
* reference: W processes each looping the same database work in raw SQL (psycopg / sqlite3):
  one transaction ``SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 10`` + ``UPDATE`` of the lease,
  then one fenced ``UPDATE`` per row to finish it.

The clock starts when every process is ready (Django set up, connected) and stops when the
last one finds nothing left. Prints a table with rows/s and the ratio engine / reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import ThrowawayPostgres, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
BATCH = 10
LEASE = dt.timedelta(seconds=300)
INTERVAL = dt.timedelta(hours=1)


# --- child processes --------------------------------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    import django

    django.setup()


def child_prepare(rows: int) -> None:
    _django()
    from django.core.management import call_command
    from django.utils import timezone

    from portevoix.worker.models import Housekeeping

    call_command("migrate", verbosity=0, interactive=False)
    Housekeeping.objects.all().delete()
    due = timezone.now() - dt.timedelta(seconds=1)
    Housekeeping.objects.bulk_create(
        [Housekeeping(name=f"bench-{i}", next_attempt_at=due) for i in range(rows)],
        batch_size=2000,
    )


def child_check(rows: int) -> None:
    _django()
    from portevoix.worker.models import Housekeeping

    done = Housekeeping.objects.filter(last_run_at__isnull=False, locked_by="").count()
    if done != rows:
        sys.exit(f"only {done} of {rows} rows were completed")


def _wait_go(go: Path) -> None:
    while not go.exists():
        time.sleep(0.001)


def child_engine(go: Path, index: int) -> None:
    _django()
    from django.db import connection

    from portevoix.worker import housekeeping, runner
    from portevoix.worker.models import Housekeeping

    for name in Housekeeping.objects.values_list("name", flat=True):
        housekeeping.register(name, INTERVAL.total_seconds(), lambda row: "")
    connection.ensure_connection()
    worker_id = runner.new_worker_id(f"bench{index}")
    print("ready", flush=True)
    _wait_go(go)
    cpu = time.process_time()
    done = 0
    while n := runner.run_once(models=[Housekeeping], worker_id=worker_id, limit=BATCH):
        done += n
    cpu = time.process_time() - cpu
    print(json.dumps({"done": done, "end": time.time(), "cpu": cpu}), flush=True)


def child_reference(go: Path, index: int, url: str) -> None:
    worker_id = f"ref-{os.getpid()}-{index}"
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(urlparse(url).path, isolation_level=None, timeout=20)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

        def ts(value: dt.datetime) -> str:  # how Django stores an aware datetime in SQLite
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")

        def claim() -> list[tuple[int, str]]:
            now = dt.datetime.now(dt.UTC)
            until = ts(now + LEASE)
            conn.execute("BEGIN IMMEDIATE")
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM worker_housekeeping WHERE state = 'scheduled'"
                    " AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)"
                    " ORDER BY next_attempt_at, id LIMIT ?",
                    (ts(now), ts(now), BATCH),
                )
            ]
            if ids:
                marks = ",".join("?" * len(ids))
                conn.execute(
                    f"UPDATE worker_housekeeping SET locked_by = ?, locked_until = ?"
                    f" WHERE id IN ({marks})",
                    (worker_id, until, *ids),
                )
            conn.execute("COMMIT")
            return [(i, until) for i in ids]

        def finish(pk: int, until: str) -> None:
            now = dt.datetime.now(dt.UTC)
            conn.execute(
                "UPDATE worker_housekeeping SET state = 'scheduled', state_changed_at = ?,"
                " next_attempt_at = ?, last_run_at = ?, last_result = '', attempts = 0,"
                " locked_by = '', locked_until = NULL"
                " WHERE id = ? AND locked_by = ? AND locked_until = ? AND locked_until > ?",
                (ts(now), ts(now + INTERVAL), ts(now), pk, worker_id, until, ts(now)),
            )

    else:
        import psycopg

        pg = psycopg.connect(url, autocommit=True)

        def claim() -> list[tuple[int, str]]:
            with pg.transaction():
                rows = pg.execute(
                    "SELECT id FROM worker_housekeeping WHERE state = 'scheduled'"
                    " AND next_attempt_at <= now()"
                    " AND (locked_until IS NULL OR locked_until < now())"
                    " ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                    (BATCH,),
                ).fetchall()
                ids = [r[0] for r in rows]
                if not ids:
                    return []
                until = pg.execute(
                    "UPDATE worker_housekeeping SET locked_by = %s,"
                    " locked_until = now() + interval '300 seconds'"
                    " WHERE id = ANY(%s) RETURNING locked_until",
                    (worker_id, ids),
                ).fetchone()
            assert until is not None
            return [(i, until[0]) for i in ids]

        def finish(pk: int, until: str) -> None:
            pg.execute(
                "UPDATE worker_housekeeping SET state = 'scheduled', state_changed_at = now(),"
                " next_attempt_at = now() + interval '1 hour', last_run_at = now(),"
                " last_result = '', attempts = 0, locked_by = '', locked_until = NULL"
                " WHERE id = %s AND locked_by = %s AND locked_until = %s AND locked_until > now()",
                (pk, worker_id, until),
            )

    print("ready", flush=True)
    _wait_go(go)
    cpu = time.process_time()
    done = 0
    while batch := claim():
        for pk, until in batch:
            finish(pk, until)
            done += 1
    cpu = time.process_time() - cpu
    print(json.dumps({"done": done, "end": time.time(), "cpu": cpu}), flush=True)


# --- orchestration ----------------------------------------------------------------------------


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PORTEVOIX_DATABASE_URL=url,
        PORTEVOIX_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="portevoix.settings",
        PORTEVOIX_LOG_LEVEL="ERROR",
    )
    return env


def _self(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, __file__, *args], env=env, check=True, cwd=ROOT)


def measure(kind: str, url: str, workers: int, rows: int, data_dir: Path) -> tuple[float, float]:
    """Rows per second (wall clock) and milliseconds of worker CPU per row."""
    env = _env(url, data_dir)
    _self("_prepare", str(rows), env=env)
    go = data_dir / f"go-{time.monotonic_ns()}"
    extra = [url] if kind == "_reference" else []
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, kind, str(go), str(i), *extra],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"{kind} worker failed to start")
    start = time.time()
    go.touch()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"{kind} worker exited with {proc.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    total = sum(r["done"] for r in results)
    if total != rows:
        raise SystemExit(f"{kind}: {total} rows completed, expected {rows}")
    _self("_check", str(rows), env=env)
    cpu_ms = 1000 * sum(r["cpu"] for r in results) / rows
    return rows / (max(r["end"] for r in results) - start), cpu_ms


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        command, args = sys.argv[1], sys.argv[2:]
        if command == "_prepare":
            child_prepare(int(args[0]))
        elif command == "_check":
            child_check(int(args[0]))
        elif command == "_engine":
            child_engine(Path(args[0]), int(args[1]))
        elif command == "_reference":
            child_reference(Path(args[0]), int(args[1]), args[2])
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--pg", default=None, help="PostgreSQL server URL (else a throwaway one)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--pg-port", type=int, default=55434)
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    data_dir = Path(tempfile.mkdtemp(prefix="portevoix-bench-worker."))
    databases = [("SQLite", f"sqlite:///{data_dir / 'bench.sqlite3'}")]
    cluster = None
    try:
        if not args.no_pg:
            server = args.pg
            if server is None:
                cluster = ThrowawayPostgres(args.pg_port)
                server = cluster.start()
            databases.append(("PostgreSQL", fresh_pg_database(server)))
        lines = [
            f"Worker claim throughput: {args.rows} rows, no-op handler, batch {BATCH}, "
            f"best of {args.repeat} (engine and bare runs interleaved); "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
            "",
            "| database | workers | engine rows/s | bare SQL rows/s | engine / bare "
            "| engine CPU ms/row | bare CPU ms/row |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        print("\n".join(lines), flush=True)
        for label, url in databases:
            for workers in counts:
                engine, bare = [], []
                for _ in range(args.repeat):
                    engine.append(measure("_engine", url, workers, args.rows, data_dir))
                    bare.append(measure("_reference", url, workers, args.rows, data_dir))
                e_rate, b_rate = max(r for r, _ in engine), max(r for r, _ in bare)
                e_cpu, b_cpu = min(c for _, c in engine), min(c for _, c in bare)
                print(
                    f"| {label} | {workers} | {e_rate:,.0f} | {b_rate:,.0f} "
                    f"| {e_rate / b_rate:.2f} | {e_cpu:.2f} | {b_cpu:.2f} |",
                    flush=True,
                )
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
