"""A worker and its helpers as a separate process, for the crash, signal and claim tests.

    python tests/worker/worker_script.py reset
    python tests/worker/worker_script.py seed NAME [NAME ...]
    python tests/worker/worker_script.py worker DIR [--lease S] [--concurrency N]
    python tests/worker/worker_script.py claim OUT [--limit K]
    python tests/worker/worker_script.py inspect

It uses the database named by PORTEVOIX_DATABASE_URL, like ``portevoix worker``. ``worker``
registers blocking jobs: each job named ``block-*`` writes ``DIR/started-<pid>-<name>``, waits
until ``DIR/release`` exists, then records its side effect (an audit entry) inside the
row's lease, and finishes; then the real ``runner.main`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    import django

    django.setup()


def cmd_reset(args: argparse.Namespace) -> int:
    from portevoix.worker.models import Housekeeping

    Housekeeping.objects.all().delete()
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from portevoix.worker.models import Housekeeping

    Housekeeping.objects.bulk_create([Housekeeping(name=name) for name in args.names])
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from portevoix.core import audit
    from portevoix.worker import housekeeping, runner
    from portevoix.worker.models import Housekeeping, HousekeepingStates

    directory = Path(args.dir)
    HousekeepingStates.lease_seconds = args.lease

    def blocking(row: Housekeeping) -> str:
        (directory / f"started-{os.getpid()}-{row.name}").touch()
        while not (directory / "release").exists():
            time.sleep(0.05)
        with row.leased_atomic():
            audit.record("test.side_effect", workspace=None, actor=None, obj=row)
        return f"done by {os.getpid()}"

    for row in Housekeeping.objects.filter(name__startswith="block-"):
        housekeeping.register(row.name, 3600, blocking)
    return runner.main(concurrency=args.concurrency, liveness_file=str(directory / "alive"))


def cmd_claim(args: argparse.Namespace) -> int:
    """Claim until nothing is left; write the ids this process got, one a line."""
    from portevoix.worker import runner
    from portevoix.worker.models import Housekeeping

    worker_id = runner.new_worker_id("claim")
    got: list[int] = []
    empty = 0
    while empty < 3:
        rows = runner.claim(Housekeeping, args.limit, worker_id, lease_seconds=600)
        if not rows:
            empty += 1
            time.sleep(0.05)
            continue
        empty = 0
        got.extend(r.pk for r in rows)
    Path(args.out).write_text("".join(f"{pk}\n" for pk in got))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from portevoix.core.models import AuditEntry
    from portevoix.worker.models import Housekeeping

    rows = {
        row.name: {
            "state": row.state,
            "locked_by": row.locked_by,
            "locked_until": row.locked_until.isoformat() if row.locked_until else None,
            "last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
            "last_result": row.last_result,
            "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
            "effects": AuditEntry.objects.filter(
                action="test.side_effect", object_id=str(row.pk)
            ).count(),
        }
        for row in Housekeeping.objects.all()
    }
    json.dump(rows, sys.stdout)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reset").set_defaults(func=cmd_reset)
    seed = sub.add_parser("seed")
    seed.add_argument("names", nargs="+")
    seed.set_defaults(func=cmd_seed)
    worker = sub.add_parser("worker")
    worker.add_argument("dir")
    worker.add_argument("--lease", type=float, default=3.0)
    worker.add_argument("--concurrency", type=int, default=1)
    worker.set_defaults(func=cmd_worker)
    claim = sub.add_parser("claim")
    claim.add_argument("out")
    claim.add_argument("--limit", type=int, default=5)
    claim.set_defaults(func=cmd_claim)
    sub.add_parser("inspect").set_defaults(func=cmd_inspect)
    args = parser.parse_args()
    setup()
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
