"""Real worker processes on a real database: SIGKILL mid-handler, SIGTERM, concurrent claims.

The database is a file (SQLite) or a fresh database (PostgreSQL) made by the ``file_db``
fixture, because the workers are separate processes that must share it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.worker.conftest import ROOT, FileDb


def wait_for(check: Callable[[], object], timeout: float = 40, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def started(directory: Path, name: str) -> list[Path]:
    return sorted(directory.glob(f"started-*-{name}"))


def test_killed_mid_handler_the_work_is_done_exactly_once_by_another(
    file_db: FileDb, tmp_path: Path
) -> None:
    file_db.run("reset")
    file_db.run("seed", "block-kill")
    first = file_db.start("worker", str(tmp_path), "--lease", "3")
    try:
        wait_for(lambda: started(tmp_path, "block-kill"), what="the first worker's handler")
        row = file_db.inspect()["block-kill"]
        assert row["locked_by"] and row["effects"] == 0
    finally:
        assert stop(first, signal.SIGKILL) == -signal.SIGKILL

    (tmp_path / "release").touch()
    second = file_db.start("worker", str(tmp_path), "--lease", "3")
    try:
        wait_for(
            lambda: file_db.inspect()["block-kill"]["last_run_at"],
            what="the second worker to finish the row after the lease expired",
        )
    finally:
        code = stop(second)
    out = second.stderr.read() if second.stderr else ""
    assert code == 0, out[-3000:]

    row = file_db.inspect()["block-kill"]
    assert row["effects"] == 1  # exactly once
    assert row["state"] == "scheduled" and row["locked_by"] == "" and row["locked_until"] is None
    assert row["last_result"] == f"done by {second.pid}"
    pids = {p.name.split("-")[1] for p in started(tmp_path, "block-kill")}
    assert pids == {str(first.pid), str(second.pid)}  # both began it; one finished it
    assert (tmp_path / "alive").exists()


def test_sigterm_finishes_the_row_in_hand_and_exits_cleanly(
    file_db: FileDb, tmp_path: Path
) -> None:
    file_db.run("reset")
    file_db.run("seed", "block-term")
    proc = file_db.start("worker", str(tmp_path), "--lease", "30", "--concurrency", "2")
    try:
        wait_for(lambda: started(tmp_path, "block-term"), what="the handler")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None  # still finishing the row in hand
        (tmp_path / "release").touch()
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc, signal.SIGKILL)
    row = file_db.inspect()["block-term"]
    assert row["effects"] == 1 and row["last_run_at"]
    assert row["locked_by"] == "" and row["locked_until"] is None


@pytest.mark.parametrize("processes", [2, 4])
def test_concurrent_processes_never_claim_the_same_row(
    file_db: FileDb, tmp_path: Path, processes: int
) -> None:
    file_db.run("reset")
    names = [f"claim-{i}" for i in range(400)]
    file_db.run("seed", *names)
    procs = [file_db.start("claim", str(tmp_path / f"got-{i}")) for i in range(processes)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    got = [[int(x) for x in (tmp_path / f"got-{i}").read_text().split()] for i in range(processes)]
    everything = [pk for ids in got for pk in ids]
    assert len(everything) == len(set(everything)) == len(names)


OURS = ("clear-sessions", "purge-invitations")  # other apps register jobs of their own


def test_portevoix_worker_command_seeds_housekeeping_and_stops_on_sigterm(
    file_db: FileDb, tmp_path: Path
) -> None:
    file_db.run("reset")
    alive = tmp_path / "alive"
    proc = subprocess.Popen(
        [sys.executable, "-m", "portevoix.cli", "worker", "--concurrency", "2",
         "--liveness-file", str(alive)],
        env=file_db.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: all(file_db.inspect().get(name, {}).get("last_run_at") for name in OURS),
            what="the housekeeping jobs to run",
        )
        first = alive.stat().st_mtime
        wait_for(lambda: alive.stat().st_mtime > first, what="the liveness file to be touched")
    finally:
        code = stop(proc)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    rows = file_db.inspect()
    assert all(rows[name]["state"] == "scheduled" for name in OURS)
    assert all(r["locked_by"] == "" for r in rows.values())  # every lease given back
