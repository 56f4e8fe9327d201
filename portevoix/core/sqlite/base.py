"""Django's SQLite backend, with the threads of one process queueing for the write lock.

SQLite lets one writer at a time. When a thread finds the database locked, SQLite's busy
handler sleeps and tries again, in steps of 1, 2, 5, 10, 15, 20, 25... milliseconds: with the
worker's many threads (each post is a few short write transactions), most of the time went to
those sleeps, not to writing (docs/benchmarks.md, the delivery burst on SQLite). Here a thread
of this process that begins a write transaction (``BEGIN IMMEDIATE``, see settings) first
takes a lock shared by the process's connections to the same file, and gives it back at commit,
rollback or close: the next thread starts the moment the previous one commits.

The lock is only a queue in front of SQLite's own: other processes (the web server and the
worker) still meet SQLite's busy handler, and a thread that waits longer than the connection's
timeout goes on without it (SQLite then decides, as before), so that it can never hang.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(name: str) -> threading.RLock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(name)
        if lock is None:
            lock = _LOCKS[name] = threading.RLock()
        return lock


class DatabaseWrapper(base.DatabaseWrapper):
    _write_lock: threading.RLock | None = None

    def _start_transaction_under_autocommit(self) -> None:
        name = str(self.settings_dict["NAME"])
        if self._write_lock is None and not self.is_in_memory_db():
            lock = _lock_for(name)
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            if lock.acquire(timeout=timeout):
                self._write_lock = lock
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        lock, self._write_lock = self._write_lock, None
        if lock is not None:
            lock.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
