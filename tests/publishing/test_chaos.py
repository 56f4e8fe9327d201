"""The short chaos run of issue 7 (§5): real worker processes killed with SIGKILL every 2 to 5
seconds while the sandbox times out after accepting, answers 429, 500 and 503, holds its
answers after storing (so kills land between acceptance and commit), and a token is revoked
and reconnected. Counted from the sandbox's receipts of calls: no post twice, none lost.

It runs ``bench/delivery.py chaos`` (the benchmark's own code, smaller) on the database the
suite runs on: SQLite with one worker process, PostgreSQL with three.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import migrated

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.database  # bench/delivery.py is handed a copy of the run's migrated database
def test_no_post_twice_none_lost_under_kills_and_faults(tmp_path: Path, run_root: Path) -> None:
    # Retries after 2.5 to 5 s rather than production's 30 to 60 (--retry-seconds): the same
    # calls, marks, leases and reconciles, in half the time.
    args = ["--posts", "300", "--channels", "30", "--spread", "10", "--kill-seconds", "20",
            "--threads", "8", "--timeout", "240", "--retry-seconds", "5", "--json"]  # fmt: skip
    url = os.environ.get("PORTEVOIX_DATABASE_URL", "")
    dbname = ""
    if url.startswith("postgres"):
        dbname = f"portevoix_chaos_{uuid.uuid4().hex[:12]}"
        args += ["--database-url", migrated.postgres_clone(run_root, url, dbname)]
        args += ["--processes", "3"]
    else:
        args += ["--database-url", f"sqlite:///{migrated.sqlite_into(run_root, tmp_path)}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "delivery.py"), "chaos", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        if dbname:
            migrated.drop_postgres(url, dbname)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["finished"], report
    assert report["kills"] >= 3, report
    assert report["sent_twice"] == 0, report["twice_examples"]
    assert report["lost"] == 0, report["lost_examples"]
    states = report["states"]
    assert states.get("published", 0) >= 290, states  # the rest wait for a person, visibly
    assert report["publish_receipts"].get("timeout_after_accept", 0) > 0  # the faults did strike
