"""The worker: claim due rows, run their state's handler, write the result under the lease.

Adapted from Takahē's ``stator/runner.py`` and Healthchecks' ``sendalerts``:

* :func:`claim` leases due rows to one worker. PostgreSQL: ``SELECT ... FOR UPDATE SKIP
  LOCKED`` then an UPDATE of the lease, in one transaction, so any number of workers on any
  number of machines take disjoint rows without waiting on each other. SQLite: the settings
  make every transaction ``IMMEDIATE`` (the write lock is taken at BEGIN), and the lease is a
  conditional UPDATE whose row count is checked.
* Handlers run outside any transaction (they call networks). Their result is written by a
  conditional UPDATE that matches only while the lease is still this worker's: a worker that
  stalled past its lease, whose row another worker took, writes nothing.
* :func:`run_once` is one cycle inline, for tests; :func:`main` runs threads until SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import random
import secrets
import signal
import socket
import threading
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from django.db import close_old_connections, connection, connections, transaction
from django.db.models import Field, Q, QuerySet
from django.utils import timezone

from portevoix.core import audit
from portevoix.worker.graph import State
from portevoix.worker.models import (
    LeaseLost,
    Outcome,
    StatefulModel,
    TransitionRefused,
    stateful_models,
)

log = logging.getLogger("portevoix.worker")

# How long an idle worker waits before looking for due rows again, and how many rows of each
# model one cycle takes.
POLL_SECONDS = 1.0
BATCH = 10


def new_worker_id(label: str = "") -> str:
    """A name unique to one worker thread: host, process, label and a random tail."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{label}:{secrets.token_hex(4)}"


def due_q(now: dt.datetime) -> Q:
    """Rows whose attempt is due and that no live lease holds."""
    return Q(next_attempt_at__lte=now) & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))


def backoff_seconds(
    try_interval: float, attempts: int, cap: float, rng: random.Random | None = None
) -> float:
    """Delay before retrying after the ``attempts``-th error in a row.

    Exponential from the state's try interval, capped, with "equal jitter": a uniform draw in
    the upper half, so that rows that failed together (a network outage) spread out again.
    """
    base = min(cap, try_interval * 2.0 ** max(0, attempts - 1))
    draw: float = (rng or random).uniform(0.0, base / 2)
    return base / 2 + draw


_claims = itertools.count(1)


def claim_token(worker_id: str) -> str:
    """A ``locked_by`` value unique to one claim of one worker.

    Results are fenced on it: a worker whose lease ran out and whose row another claim took
    (even its own process's) can never write over the newer claim.
    """
    return f"{worker_id}#{next(_claims)}"


def claim[M: StatefulModel](
    model: type[M], limit: int, worker_id: str, lease_seconds: float
) -> list[M]:
    """Lease up to ``limit`` due rows of ``model`` to ``worker_id`` for ``lease_seconds``.

    One conditional ``UPDATE ... WHERE pk IN (due rows) RETURNING ...`` (Healthchecks' claim,
    with the rows it took instead of only their count). PostgreSQL: the due rows are selected
    ``FOR UPDATE SKIP LOCKED``, so any number of workers take disjoint rows without waiting on
    each other. SQLite: the statement runs in an IMMEDIATE transaction, which holds the write
    lock from BEGIN, for one statement only.

    The rows' ``locked_by`` is a token unique to this claim (:func:`claim_token`); the model's
    ``CLAIM_RELATED`` relations come loaded with them (one more query per batch).
    """
    automatic = [s.name for s in model.STATE_GRAPH.automatic_states()]
    if not automatic or limit <= 0:
        return []
    token = claim_token(worker_id)
    related = getattr(model, "CLAIM_RELATED", ())
    db = model._default_manager.db
    conn = connections[db]
    now = timezone.now()
    until = now + dt.timedelta(seconds=lease_seconds)
    due = model._default_manager.filter(due_q(now), state__in=automatic)
    due = due.order_by("next_attempt_at", "pk")
    if conn.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    rows = _lease_returning(model, due[:limit], token, until)
    if rows and related:
        by_pk = {
            r.pk: r for r in model._default_manager.filter(pk__in=[r.pk for r in rows])
            .select_related(*related)
        }  # fmt: skip
        rows = [by_pk[r.pk] for r in rows if r.pk in by_pk]
    rows.sort(key=lambda r: (r.next_attempt_at or now, r.pk))
    for row in rows:
        row.locked_by = token
        row.locked_until = until
    return rows


def _lease_returning[M: StatefulModel](
    model: type[M], due: QuerySet[Any], token: str, until: dt.datetime
) -> list[M]:
    db = model._default_manager.db
    conn = connections[db]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f.column]
    quote = conn.ops.quote_name

    def column(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, Field) and field.column is not None
        return str(quote(field.column))

    table = quote(meta.db_table)
    pk = column(meta.pk.name) if meta.pk is not None else "id"
    returning = ", ".join(quote(str(f.column)) for f in fields)
    # Identifiers are quoted by the backend; every value is a parameter.
    lease = f"{column('locked_by')} = %s, {column('locked_until')} = %s"
    with transaction.atomic(using=db), conn.cursor() as cursor:
        # (compiled inside the transaction: Django checks that FOR UPDATE has one)
        sub_sql, sub_params = due.values("pk").query.get_compiler(using=db).as_sql()
        sql = f"UPDATE {table} SET {lease} WHERE {pk} IN ({sub_sql}) RETURNING {returning}"  # noqa: S608
        cursor.execute(sql, [token, conn.ops.adapt_datetimefield_value(until), *sub_params])
        found = cursor.fetchall()
    # Values come back as the compiler would convert them (SQLite datetimes, JSON...).
    cols = [f.get_col(meta.db_table) for f in fields]
    converters = [
        (i, [*conn.ops.get_db_converters(c), *c.get_db_converters(conn)])
        for i, c in enumerate(cols)
    ]
    names = [f.attname for f in fields]
    rows: list[M] = []
    for raw in found:
        values = list(raw)
        for index, funcs in converters:
            for convert in funcs:
                values[index] = convert(values[index], cols[index], conn)
        rows.append(model.from_db(db, names, values))
    return rows


def release(rows: Iterable[StatefulModel]) -> int:
    """Give back leases this worker holds on rows it has not started (graceful stop)."""
    released = 0
    for row in rows:
        released += (
            type(row)
            ._default_manager.filter(pk=row.pk, locked_by=row.locked_by)
            .update(locked_by="", locked_until=None)
        )
    return released


def _call_handler(row: StatefulModel, state: State) -> Any:
    handler = state.handler
    with audit.origin(audit.Origin(label="worker")):
        if isinstance(handler, str):
            return getattr(row, handler)()
        assert handler is not None
        return handler(row)


def _success_changes(row: StatefulModel, state: State, result: Any) -> dict[str, Any]:
    graph = row.STATE_GRAPH
    now = timezone.now()
    if result is None:  # not yet: look again after the state's interval
        assert state.try_interval is not None
        return {"next_attempt_at": now + dt.timedelta(seconds=state.try_interval)}
    outcome = result if isinstance(result, Outcome) else Outcome(result)
    target = graph.get(outcome.state)
    if not graph.allows(state, target):
        raise TransitionRefused(
            f"handler of {state.name} returned {target.name}, which the graph does not allow"
        )
    attempts = row.attempts + 1 if outcome.retry else 0
    if not target.automatic:
        next_at = None
    elif outcome.at is not None:
        next_at = outcome.at
    elif outcome.delay is not None:
        next_at = now + dt.timedelta(seconds=outcome.delay)
    elif outcome.retry:
        interval = target.try_interval or state.try_interval or 60.0
        next_at = now + dt.timedelta(seconds=backoff_seconds(interval, attempts, graph.max_backoff))
    else:
        next_at = now
    changes: dict[str, Any] = {"problem": ""}
    if target.failure:  # the handler gives up at once (a permanent error)
        changes["problem"] = f"{state.name}: given up by the handler"
    changes.update(outcome.fields)
    changes.update(
        state=target.name,
        next_attempt_at=next_at,
        attempts=attempts,
        last_error=outcome.error[-4000:] if outcome.retry else "",
    )
    if target.name != row.state:
        changes["state_changed_at"] = now
    if outcome.retry:
        wait = (next_at - now).total_seconds() if next_at is not None else 0.0
        log.warning("%s %s failed in %s (%s), retry in %.0fs", row._meta.label, row.pk,
                    state.name, outcome.error[:300], wait)  # fmt: skip
    return changes


def _error_changes(row: StatefulModel, state: State, exc: BaseException) -> dict[str, Any]:
    graph = row.STATE_GRAPH
    now = timezone.now()
    attempts = row.attempts + 1
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    details = "".join(traceback.format_exception(exc))[-4000:]
    if attempts >= state.max_attempts and graph.failure is not None:
        log.error("%s %s gives up in %s: %s", row._meta.label, row.pk, state.name, reason)
        return {
            "state": graph.failure.name,
            "state_changed_at": now,
            "next_attempt_at": None,
            "attempts": attempts,
            "last_error": details,
            "problem": f"{state.name}, attempt {attempts}: {reason}",
        }
    assert state.try_interval is not None
    delay = backoff_seconds(state.try_interval, attempts, graph.max_backoff)
    log.warning("%s %s failed in %s (%s), retry in %.0fs", row._meta.label, row.pk, state.name,
                reason, delay)  # fmt: skip
    return {
        "next_attempt_at": now + dt.timedelta(seconds=delay),
        "attempts": attempts,
        "last_error": details,
    }


def process(row: StatefulModel) -> bool:
    """Run the handler of a claimed row and write its outcome; False if the lease was lost."""
    state = row.state_obj
    if not state.automatic:  # an action moved it between the claim and now
        release([row])
        return False
    after = None
    try:
        result = _call_handler(row, state)
        changes = _success_changes(row, state, result)
        if isinstance(result, Outcome):
            after = result.after
    except LeaseLost:
        log.warning("%s %s: lease lost during the handler", row._meta.label, row.pk)
        return False
    except Exception as exc:
        changes = _error_changes(row, state, exc)
    changes.update(locked_by="", locked_until=None)
    manager = type(row)._default_manager
    # ``locked_by`` is unique to this claim: if another worker took the row over (our lease
    # ran out), it wrote its own, and our result is discarded. A lease that ran out while no
    # one else took the row still counts as ours: a slow success is never thrown away.
    ours = manager.filter(pk=row.pk, locked_by=row.locked_by)
    # ... and no action moved the row meanwhile (a person cancelled it while it ran).
    written = ours.filter(state=state.name).update(**changes)
    if written != 1:
        if ours.update(locked_by="", locked_until=None):
            log.warning("%s %s left %s during its handler; result discarded", row._meta.label,
                        row.pk, state.name)  # fmt: skip
        else:
            log.warning("%s %s: taken over before the result; discarded", row._meta.label,
                        row.pk)  # fmt: skip
        return False
    for name, value in changes.items():
        setattr(row, name, value)
    if after is not None:
        transaction.on_commit(_guarded(after, row), using=manager.db)
    return True


def _guarded(after: Any, row: StatefulModel) -> Any:
    def run() -> None:
        try:
            after()
        except Exception:
            log.exception("%s %s: a follow-up of its result failed", row._meta.label, row.pk)

    return run


def run_once(
    models: Sequence[type[StatefulModel]] | None = None,
    worker_id: str | None = None,
    *,
    limit: int = BATCH,
    stop: threading.Event | None = None,
) -> int:
    """One cycle: claim the due rows of every stateful model and run them. Returns the count."""
    worker_id = worker_id or new_worker_id("inline")
    done = 0
    for model in stateful_models() if models is None else models:
        rows = claim(model, limit, worker_id, model.STATE_GRAPH.lease_seconds)
        for index, row in enumerate(rows):
            if stop is not None and stop.is_set():
                release(rows[index:])
                break
            process(row)
            done += 1
    return done


def _touch(path: str | None) -> None:
    if path:
        Path(path).touch()


def _loop(index: int, stop: threading.Event, liveness_file: str | None, crashed: list[str]) -> None:
    worker_id = new_worker_id(str(index))
    log.info("worker %s started", worker_id)
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                done = run_once(worker_id=worker_id, stop=stop)
            except Exception:
                # The database is away or a bug outside handlers: say so, wait, try again.
                log.exception("worker %s: cycle failed", worker_id)
                stop.wait(5 * POLL_SECONDS)
                continue
            _touch(liveness_file)
            if done == 0:
                stop.wait(POLL_SECONDS)
    except BaseException:
        crashed.append(worker_id)
        log.exception("worker %s crashed", worker_id)
    finally:
        connection.close()
        log.info("worker %s stopped", worker_id)


def main(concurrency: int = 1, liveness_file: str | None = None) -> int:
    """Run ``concurrency`` worker threads until SIGTERM or SIGINT; 0 on a clean stop."""
    from portevoix.worker.housekeeping import ensure_housekeeping

    concurrency = max(1, int(concurrency))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the rows in hand, then stopping", signum)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ensure_housekeeping()
        connection.close()
        _touch(liveness_file)
        crashed: list[str] = []
        threads = [
            threading.Thread(
                target=_loop, args=(i, stop, liveness_file, crashed), name=f"worker-{i}"
            )
            for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.2)
        return 1 if crashed else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
