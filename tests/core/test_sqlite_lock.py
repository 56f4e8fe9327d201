"""The SQLite engine's write queue (portevoix/core/sqlite): a write transaction holds the
process's lock for its database file from BEGIN to COMMIT/ROLLBACK/close, never longer, and a
thread that waits past the connection's timeout goes on without it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from portevoix.core.sqlite.base import DatabaseWrapper, _lock_for


@pytest.fixture(autouse=True)
def _own_files(django_db_blocker: Any) -> Any:
    """These tests open their own database files, not the test database."""
    with django_db_blocker.unblock():
        yield


def _wrapper(path: Path, alias: str, timeout: float = 20) -> DatabaseWrapper:
    settings: dict[str, Any] = {
        **connections["default"].settings_dict,
        "ENGINE": "portevoix.core.sqlite",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
        "TEST": {},
    }
    return DatabaseWrapper(settings, alias)


def _begin(db: DatabaseWrapper) -> None:
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def _free(path: Path) -> bool:
    lock = _lock_for(str(path))
    got: list[bool] = []

    def probe() -> None:
        got.append(lock.acquire(timeout=0.01))
        if got[0]:
            lock.release()

    thread = threading.Thread(target=probe)  # another thread: the lock is re-entrant
    thread.start()
    thread.join()
    return got[0]


def test_the_lock_is_held_from_begin_to_commit(tmp_path: Path) -> None:
    db = _wrapper(tmp_path / "a.sqlite3", "a")
    db.ensure_connection()
    assert _free(tmp_path / "a.sqlite3")
    _begin(db)
    db.cursor().execute("CREATE TABLE t (x INTEGER)")
    assert not _free(tmp_path / "a.sqlite3")
    db.commit()
    db.set_autocommit(True)
    assert _free(tmp_path / "a.sqlite3")
    _begin(db)
    assert not _free(tmp_path / "a.sqlite3")
    db.rollback()
    db.set_autocommit(True)
    assert _free(tmp_path / "a.sqlite3")
    _begin(db)
    db.close()  # a connection closed mid-transaction gives the lock back
    assert _free(tmp_path / "a.sqlite3")


def test_a_second_writer_starts_when_the_first_commits(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    first = _wrapper(path, "first")
    first.ensure_connection()
    first.cursor().execute("CREATE TABLE t (x INTEGER)")
    _begin(first)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    started: list[float] = []

    def write() -> None:
        second = _wrapper(path, "second")  # a connection belongs to its thread
        _begin(second)
        started.append(time.monotonic())
        second.cursor().execute("INSERT INTO t VALUES (2)")
        second.commit()
        second.set_autocommit(True)
        second.close()

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.2)
    assert not started  # queued on the lock, not inside SQLite's busy handler
    committed = time.monotonic()
    first.commit()
    first.set_autocommit(True)
    thread.join(5)
    assert started and started[0] >= committed
    assert [r[0] for r in first.cursor().execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    first.close()


def test_a_writer_that_waits_past_its_timeout_goes_on_without_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    holder = threading.Event()
    done = threading.Event()
    lock = _lock_for(str(path))

    def hold() -> None:
        with lock:
            holder.set()
            done.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holder.wait(5)
    db = _wrapper(path, "late", timeout=0.1)
    db.ensure_connection()
    started = time.monotonic()
    _begin(db)  # the lock stays taken by the other thread: SQLite decides alone
    assert time.monotonic() - started < 2
    assert db._write_lock is None
    db.rollback()
    db.set_autocommit(True)
    db.close()
    done.set()
    thread.join(5)
