"""Waking workers when work becomes due, without busy polling.

PostgreSQL: every table of stateful rows carries a trigger (installed by the migration
operation :class:`WakeWorkersOnDue`) that sends ``NOTIFY portevoix_work`` when a row becomes
due soon and is free (inserted, rescheduled, moved by an action). A worker waits on a
dedicated ``LISTEN`` connection and on a local pipe (its own threads wake it), with a timeout
that it computes from the next due time in the tables: a post scheduled for "now" leaves within
the claim tick, a post due in an hour costs no query until then (beyond a periodic safety
look, :data:`MAX_WAIT`).

SQLite (one machine, one worker process): a short poll, which on SQLite is a cheap local read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from typing import Any

from django.db import connections
from django.db.migrations.operations.base import Operation

log = logging.getLogger("portevoix.worker")

CHANNEL = "portevoix_work"
#: A row due within this horizon when it is written wakes the workers at once.
HORIZON_SECONDS = 10
#: Even with nothing due, a worker looks at the tables this often (leases that expired after a
#: crash make rows due without any write).
MAX_WAIT = 5.0
#: SQLite has no notifications: the poll interval.
SQLITE_POLL = 0.2
#: In :meth:`Waiter.take_woken`: a local nudge (any table).
ALL = "*"

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION portevoix_wake_workers() RETURNS trigger AS $$
BEGIN
    IF NEW.next_attempt_at IS NOT NULL
       AND NEW.locked_by = ''
       AND NEW.next_attempt_at <= now() + interval '{HORIZON_SECONDS} seconds'
       AND (TG_OP = 'INSERT'
            OR NEW.next_attempt_at IS DISTINCT FROM OLD.next_attempt_at
            OR NEW.state IS DISTINCT FROM OLD.state
            OR OLD.locked_by <> '')
    THEN
        PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


class WakeWorkersOnDue(Operation):
    """Migration operation: on PostgreSQL, wake listening workers when a row becomes due.

    Every stateful model's app adds ``WakeWorkersOnDue("modelname")`` to a migration (a test
    checks that each stateful table has the trigger). Nothing happens on other databases.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (f"{__name__}.{type(self).__name__}", [self.model_name], {})

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _table(self, app_label: str, to_state: Any) -> str:
        model = to_state.apps.get_model(app_label, self.model_name)
        return str(model._meta.db_table)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self._table(app_label, to_state))
        schema_editor.execute(FUNCTION_SQL)
        schema_editor.execute(
            f"CREATE OR REPLACE TRIGGER portevoix_wake AFTER INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION portevoix_wake_workers()"
        )

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self._table(app_label, from_state))
        schema_editor.execute(f"DROP TRIGGER IF EXISTS portevoix_wake ON {table}")

    def describe(self) -> str:
        return f"Wake workers when a {self.model_name} row becomes due (PostgreSQL)"


class Waiter:
    """Sleep until work may be due: a notification, a local nudge, or the timeout."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.vendor = connections[alias].vendor
        self._pipe_r, self._pipe_w = os.pipe()
        os.set_blocking(self._pipe_r, False)
        os.set_blocking(self._pipe_w, False)
        self._listen: Any = None
        self._lock = threading.Lock()
        self.notified = 0
        #: Tables notified since the claimer last looked (:meth:`take_woken`); ``ALL`` for a
        #: local nudge, which says nothing of the table.
        self._woken: set[str] = set()

    @property
    def listening(self) -> bool:
        return self._listen is not None

    def start(self) -> None:
        if self.vendor != "postgresql":
            return
        import psycopg

        params = connections[self.alias].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        try:
            conn = psycopg.connect(**params, autocommit=True)
            conn.execute(f"LISTEN {CHANNEL}")
        except Exception:
            log.exception("worker: cannot LISTEN for new work; polling every %.0fs", MAX_WAIT)
            return
        self._listen = conn

    def nudge(self) -> None:
        """Wake the waiting thread (from another thread of this process)."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._pipe_w, b"x")

    def _drain_pipe(self) -> bool:
        drained = False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._pipe_r, 4096):
                drained = True
        if drained:
            self._woken.add(ALL)
        return drained

    def _drain_notifications(self) -> int:
        count = 0
        try:
            for notification in self._listen.notifies(timeout=0):
                self._woken.add(notification.payload)
                count += 1
        except Exception:
            log.exception("worker: the LISTEN connection failed; reconnecting")
            self.close_listener()
            self.start()
        self.notified += count
        return count

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True when something (probably) became due."""
        timeout = max(0.0, timeout)
        if self.vendor != "postgresql":
            timeout = min(timeout, SQLITE_POLL)
        sources = [self._pipe_r]
        if self._listen is not None:
            sources.append(self._listen.fileno())
        try:
            ready, _, _ = select.select(sources, [], [], timeout)
        except (OSError, ValueError):
            ready = []
        woke = False
        if self._pipe_r in ready:
            self._drain_pipe()
            woke = True
        if self._listen is not None and self._listen.fileno() in ready:
            woke = self._drain_notifications() > 0 or woke
        return woke

    def take_woken(self) -> set[str]:
        """The tables notified (and ``ALL`` after a nudge) since the last call, without
        waiting: the claimer looks between rounds, busy or not."""
        self._drain_pipe()
        if self._listen is not None:
            self._drain_notifications()
        woken, self._woken = self._woken, set()
        return woken

    def close_listener(self) -> None:
        if self._listen is not None:
            with contextlib.suppress(Exception):
                self._listen.close()
            self._listen = None

    def close(self) -> None:
        self.close_listener()
        for fd in (self._pipe_r, self._pipe_w):
            with contextlib.suppress(OSError):
                os.close(fd)
