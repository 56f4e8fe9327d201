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
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.database  # bench/delivery.py is handed PORTEVOIX_DATABASE_URL
def test_no_post_twice_none_lost_under_kills_and_faults() -> None:
    args = ["--posts", "300", "--channels", "30", "--spread", "10", "--kill-seconds", "20",
            "--threads", "8", "--timeout", "240", "--json"]  # fmt: skip
    url = os.environ.get("PORTEVOIX_DATABASE_URL", "")
    if url.startswith("postgres"):
        server = urlunparse(urlparse(url)._replace(path="/postgres"))
        args += ["--db", "pg", "--pg", server, "--processes", "3"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "delivery.py"), "chaos", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
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
