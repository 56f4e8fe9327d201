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
import queue
import random
import secrets
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Field, Min, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_noop

from portevoix.core import audit
from portevoix.core.sentences import Sentence
from portevoix.worker import rows as rows_sql
from portevoix.worker import wake
from portevoix.worker.graph import State
from portevoix.worker.models import (
    LeaseLost,
    Outcome,
    StatefulModel,
    TransitionRefused,
    stateful_models,
)

log = logging.getLogger("portevoix.worker")

#: How many rows of each model one inline cycle (:func:`run_once`) takes.
BATCH = 10
#: How many rows one claim statement takes at most.
MAX_BATCH = 100
#: A busy worker claims again after this (seconds), so that rows come several per statement.
TICK = 0.05
#: A model whose claims found nothing twice in a row is not asked again for this long
#: (seconds) unless a notification (PostgreSQL) or a local nudge names it: idle tables cost
#: no statement per round while another table keeps the worker busy.
IDLE_RECHECK = 0.25
#: A handler holding its rows longer than this is presumed hung: its lease is not renewed.
MAX_HOLD = 1800.0


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
    ``CLAIM_RELATED`` relations (as ``select_related`` would) come with them in the same
    statement on PostgreSQL (a second, written once too, on SQLite), and its
    ``CLAIM_PREFETCH`` ones (``prefetch_related``) in a query per relation and batch.
    """
    plan = _claim_plan(model)
    if plan is None or limit <= 0:
        return []
    token = claim_token(worker_id)
    now = timezone.now()
    until = now + dt.timedelta(seconds=lease_seconds)
    rows: list[M] = plan.run(token, until, now, limit)
    if rows:
        for prefetch in plan.prefetch:
            prefetch.run(rows)
    rows.sort(key=lambda r: (r.next_attempt_at or now, r.pk))
    shared = BatchReads()
    for row in rows:
        row.locked_by = token
        row.locked_until = until
        row._batch_reads = shared  # type: ignore[attr-defined]
    return rows


class BatchReads(dict[Any, Any]):
    """Reads that the rows of one claim share: the handlers of rows claimed together (a few
    rows, within a fraction of a second) read a workspace's settings once, not once each.

    A row not claimed by a worker (an action calling a handler's check directly) gets a fresh
    one: nothing is shared beyond one claim, so no setting is ever read from a cache older than
    the claim's batch.
    """

    def get_or_load[T](self, key: Hashable, load: Callable[[], T]) -> T:
        try:
            value: T = self[key]
        except KeyError:
            value = self[key] = load()
        return value


def batch_reads(row: Any) -> BatchReads:
    """The reads shared with the rows claimed together with ``row`` (see :class:`BatchReads`)."""
    found = getattr(row, "_batch_reads", None)
    return found if found is not None else BatchReads()


@dataclass
class _ClaimPlan:
    """The claim statement of one model on one database, written once, run with parameters.

    With ``CLAIM_RELATED`` (``joined``), PostgreSQL reads the related rows in the claim's own
    statement (``WITH claimed AS (UPDATE ... RETURNING ...) SELECT ... JOIN ...``); SQLite,
    whose ``WITH`` takes no ``UPDATE``, reads them right after, by primary key.
    """

    model: type[StatefulModel]
    alias: str
    sql: str
    states: list[str]
    joined: rows_sql.Joined
    #: ``CLAIM_PREFETCH``, each path's first one-to-many step written once too.
    prefetch: list[rows_sql.Prefetch]
    #: SQLite with related rows: the claim returns primary keys, read again with this.
    then: str = ""

    def run[M: StatefulModel](
        self, token: str, until: dt.datetime, now: dt.datetime, limit: int
    ) -> list[M]:
        conn = connections[self.alias]
        adapt = conn.ops.adapt_datetimefield_value
        at = adapt(now)
        params = [token, adapt(until), at, at, *self.states, limit]
        with transaction.atomic(using=self.alias), conn.cursor() as cursor:
            cursor.execute(self.sql, params)
            found = cursor.fetchall()
        if self.then and found:
            keys = [key for (key,) in found]
            with conn.cursor() as cursor:
                cursor.execute(self.then + f" ({rows_sql.in_list(len(keys))})", keys)
                found = cursor.fetchall()
        built: list[M] = [self.joined.build(raw) for raw in found]
        return built


_plans: dict[tuple[type[StatefulModel], str], _ClaimPlan | None] = {}


def _claim_plan(model: type[StatefulModel]) -> _ClaimPlan | None:
    """``UPDATE t SET locked_by, locked_until WHERE pk IN (SELECT pk FROM t WHERE due ORDER BY
    next_attempt_at, pk LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING <every column>``, with the
    ``CLAIM_RELATED`` rows joined: built once per model (the ORM's query building per batch
    cost more than the statement)."""
    alias = model._default_manager.db
    key = (model, alias)
    if key in _plans:
        return _plans[key]
    states = [s.name for s in model.STATE_GRAPH.automatic_states()]
    if not states:
        _plans[key] = None
        return None
    conn = connections[alias]
    meta = model._meta
    quote = conn.ops.quote_name

    def column(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, Field) and field.column is not None
        return str(quote(field.column))

    table = quote(meta.db_table)
    pk = column(meta.pk.name) if meta.pk is not None else "id"
    lock = " FOR UPDATE SKIP LOCKED" if conn.features.has_select_for_update_skip_locked else ""
    marks = ", ".join(["%s"] * len(states))
    next_at, until, state = column("next_attempt_at"), column("locked_until"), column("state")
    # Identifiers are quoted by the backend; every value is a parameter.
    due = (
        f"SELECT {pk} FROM {table} WHERE {next_at} <= %s "  # noqa: S608
        f"AND ({until} IS NULL OR {until} < %s) AND {state} IN ({marks}) "
        f"ORDER BY {next_at}, {pk} LIMIT %s{lock}"
    )
    update = (
        f"UPDATE {table} SET {column('locked_by')} = %s, {until} = %s "  # noqa: S608
        f"WHERE {pk} IN ({due}) RETURNING "
    )
    related = getattr(model, "CLAIM_RELATED", ())
    joined = rows_sql.Joined(model, related, alias)
    prefetch = [
        rows_sql.Prefetch(model, path, related, alias)
        for path in getattr(model, "CLAIM_PREFETCH", ())
    ]
    then = ""
    if not joined.hops:
        sql = update + rows_sql.columns(model, alias=alias)
    elif conn.vendor == "postgresql":
        sql = (
            f"WITH claimed AS ({update}{rows_sql.columns(model, alias=alias)}) "
            f"{joined.sql('claimed')}"
        )
    else:
        sql = update + pk
        then = f"{joined.sql(table)} WHERE t0.{pk} IN"
    plan = _ClaimPlan(
        model=model,
        alias=alias,
        sql=sql,
        states=states,
        joined=joined,
        prefetch=prefetch,
        then=then,
    )
    _plans[key] = plan
    return plan


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
        changes["problem"] = Sentence(
            gettext_noop("%(state)s: given up by the handler"), {"state": state.name}
        ).dumps()
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
            "problem": Sentence(
                gettext_noop("%(state)s, attempt %(attempt)s: %(reason)s"),
                {"state": state.name, "attempt": str(attempts), "reason": reason},
            ).dumps(),
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
    # ... and no action moved the row meanwhile (a person cancelled it while it ran).
    written = fenced_update(row, changes, state=state.name)
    if written != 1:
        ours = manager.filter(pk=row.pk, locked_by=row.locked_by)
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


#: Bookkeeping columns a result often leaves as they were (skipped when unchanged).
_COMPARED = frozenset({"state", "attempts", "last_error", "problem"})


def fenced_update(row: StatefulModel, changes: dict[str, Any], *, state: str) -> int:
    """``UPDATE`` the row with ``changes`` if this claim still holds it in ``state``.

    The same as ``filter(pk=, locked_by=, state=).update(**changes)`` with plain values, in
    one statement written directly: the ORM's query building was most of the engine's cost
    per row. Values go through each field's own conversion for the database.
    """
    manager = type(row)._default_manager
    conn = connections[manager.db]
    meta = row._meta
    quote = conn.ops.quote_name
    sets: list[str] = []
    params: list[Any] = []
    for name, value in changes.items():
        if name in _COMPARED and getattr(row, name) == value:
            continue  # unchanged: as the claim read it, and only this claim writes the row
        field = meta.get_field(name)
        assert isinstance(field, Field) and field.column is not None
        sets.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection=conn))
    pk = meta.pk
    assert pk is not None
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608 - quoted names
        f"WHERE {quote(str(pk.column))} = %s AND {quote('locked_by')} = %s "
        f"AND {quote('state')} = %s"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, [*params, pk.get_db_prep_value(row.pk, conn), row.locked_by, state])
        return int(cursor.rowcount)


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


def next_due(models: Sequence[type[StatefulModel]], now: dt.datetime) -> dt.datetime | None:
    """When the next row of any model may become claimable (due, or its lease runs out)."""
    soonest: dt.datetime | None = None
    for model in models:
        automatic = [s.name for s in model.STATE_GRAPH.automatic_states()]
        if not automatic:
            continue
        rows = model._default_manager.filter(state__in=automatic)
        found = rows.filter(next_attempt_at__gt=now).aggregate(at=Min("next_attempt_at"))["at"]
        expiring = rows.filter(next_attempt_at__lte=now, locked_until__gt=now).aggregate(
            at=Min("locked_until")
        )["at"]
        for moment in (found, expiring):
            if moment is not None and (soonest is None or moment < soonest):
                soonest = moment
    return soonest


@dataclass
class _Held:
    model: type[StatefulModel]
    rows: int
    since: float  # time.monotonic() of the claim


class Worker:
    """One worker process: a claimer, ``concurrency`` handler threads and a heartbeat.

    * The **claimer** (the calling thread) leases as many due rows as there are idle handler
      threads, plus a reserve (:attr:`prefetch`, twice as many rows as threads) queued for the
      next threads to free up, so that a thread finishing a row starts the next one at once and
      claims come several rows at a time (one statement per threads' worth of work: each
      batch's reads are shared by its rows, so the fewer batches the less CPU per row). When
      nothing is due it sleeps until the next due time, a notification (PostgreSQL
      ``LISTEN``) or a local nudge (:mod:`portevoix.worker.wake`).
    * **Handler threads** run :func:`process`: the calls in flight per process, bound by the
      networks' latency, not by the engine.
    * The **heartbeat** renews, every third of a lease, the leases of every row this process
      holds, in one statement per model. A killed process stops renewing: its rows are free
      again after one lease (seconds), not after the longest call. A row held longer than
      :data:`MAX_HOLD` (a handler that hangs) is no longer renewed.
    """

    def __init__(
        self,
        concurrency: int = 8,
        liveness_file: str | None = None,
        models: Sequence[type[StatefulModel]] | None = None,
    ) -> None:
        self.concurrency = max(1, int(concurrency))
        #: Rows claimed beyond the threads, queued: their leases are renewed like the others.
        self.prefetch = 2 * self.concurrency
        self.liveness_file = liveness_file
        self.models = list(models) if models is not None else stateful_models()
        self.id = new_worker_id("w")
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._slot_freed = threading.Condition(self._lock)
        self._busy = 0
        self._held: dict[str, _Held] = {}
        self._crashed: list[str] = []
        self._round = 0
        #: Models whose last claim found nothing, and until when they are not asked again
        #: (time.monotonic()) unless a notification or a nudge names them first.
        self._idle: dict[type[StatefulModel], float] = {}
        #: Models whose last claim found rows: an empty claim after one is asked again next
        #: round (a burst of posts due by the clock sends no notification).
        self._hot: set[type[StatefulModel]] = set()
        self._touched = 0.0
        self.waiter = wake.Waiter()
        self.processed = 0
        self._queue: queue.SimpleQueue[StatefulModel | None] = queue.SimpleQueue()

    # -- the claimer -----------------------------------------------------------------------------

    def free_slots(self) -> int:
        with self._lock:
            return self.concurrency + self.prefetch - self._busy

    def _wait_for_slots(self) -> None:
        """Wait until a threads' worth of rows is done while the reserve still feeds the
        threads, or the reserve ran out, or a moment passed: claims come in batches rather
        than one statement per finished row, and no thread waits for one."""
        want = self.concurrency
        room = self.concurrency + self.prefetch
        deadline = time.monotonic() + 4 * TICK
        with self._slot_freed:
            while not self.stop.is_set():
                free = room - self._busy
                if free >= want or (free > 0 and self._queue.qsize() == 0):
                    break
                left = deadline - time.monotonic()
                if left <= 0 and free > 0:
                    break
                self._slot_freed.wait(timeout=max(left, 0.0) or TICK)

    def claim_round(self, free: int) -> int:
        """Claim up to ``free`` rows across the models (starting with a different model each
        round, so that none starves) and start a handler for each."""
        taken = 0
        order = (
            self.models[self._round % len(self.models) :]
            + self.models[: self._round % len(self.models)]
        )
        self._round += 1
        self._forget_idle(self.waiter.take_woken())
        now_mono = time.monotonic()
        for model in order:
            if free - taken <= 0 or self.stop.is_set():
                break
            if self._idle.get(model, 0.0) > now_mono:
                continue  # nothing was due a moment ago, and no notification since
            rows = claim(model, min(free - taken, MAX_BATCH), self.id, _lease(model))
            if not rows:
                if model not in self._hot:
                    self._idle[model] = now_mono + IDLE_RECHECK
                self._hot.discard(model)
                continue
            self._hot.add(model)
            with self._lock:
                self._held[rows[0].locked_by] = _Held(model, len(rows), time.monotonic())
                self._busy += len(rows)
            for row in rows:
                self._queue.put(row)
            taken += len(rows)
        return taken

    def _forget_idle(self, woken: set[str]) -> None:
        """Claim again at once the models whose tables were notified (all after a nudge)."""
        if not woken or not self._idle:
            return
        if wake.ALL in woken:
            self._idle.clear()
            return
        for model in list(self._idle):
            if model._meta.db_table in woken:
                del self._idle[model]

    def _run_row(self, row: StatefulModel) -> None:
        # The claim's token, read now: writing the result clears ``row.locked_by`` (the row is
        # given back), and the rows held under the token must still be counted down.
        token = row.locked_by
        try:
            process(row)
        except Exception:
            # The database went away while writing the result: the lease runs out and another
            # claim takes the row again (a publication then reconciles first).
            log.exception("%s %s: the result could not be written", row._meta.label, row.pk)
            connection.close()
        finally:
            with self._lock:
                held = self._held.get(token)
                if held is not None:
                    held.rows -= 1
                    if held.rows <= 0:
                        del self._held[token]
                self._busy -= 1
                self.processed += 1
                self._slot_freed.notify()
            if row.next_attempt_at is not None and row.next_attempt_at <= timezone.now():
                self.waiter.nudge()  # the result made it due again at once (this process)

    def _handler_thread(self) -> None:
        try:
            while (row := self._queue.get()) is not None:
                self._run_row(row)
        finally:
            connections.close_all()  # this thread's connections

    def _idle_wait(self) -> None:
        now = timezone.now()
        if self.waiter.listening:
            try:
                soonest = next_due(self.models, now)
            except Exception:
                log.exception("worker: could not read the next due time")
                connection.close()
                soonest = None
            wait = wake.MAX_WAIT
            if soonest is not None:
                wait = min(wait, max(0.0, (soonest - now).total_seconds()))
            if self._idle and wait <= 0.0:
                # What is due sits in a table this round skipped as idle (the others found
                # nothing): look again when its mark runs out, or when notified.
                wait = max(wait, min(self._idle.values()) - time.monotonic())
            self.waiter.wait(max(wait, 0.001))
        else:
            self.waiter.wait(wake.SQLITE_POLL)

    def _touch_liveness(self) -> None:
        moment = time.monotonic()
        if moment - self._touched >= 1.0:
            _touch(self.liveness_file)
            self._touched = moment

    # -- the heartbeat ---------------------------------------------------------------------------

    def beat(self) -> int:
        """Renew the leases of every row this process holds; returns how many rows."""
        now_mono = time.monotonic()
        with self._lock:
            by_model: dict[type[StatefulModel], list[str]] = {}
            for token, held in self._held.items():
                if now_mono - held.since <= MAX_HOLD:
                    by_model.setdefault(held.model, []).append(token)
                elif now_mono - held.since <= MAX_HOLD + 60:
                    log.error("%s: a handler has held its rows for %.0fs; no longer renewed",
                              held.model._meta.label, now_mono - held.since)  # fmt: skip
        renewed = 0
        for model, tokens in by_model.items():
            until = timezone.now() + dt.timedelta(seconds=_lease(model))
            renewed += model._default_manager.filter(locked_by__in=tokens).update(
                locked_until=Greatest("locked_until", Value(until))
            )
        return renewed

    def _heartbeat(self) -> None:
        interval = min(_lease(m) for m in self.models) / 3 if self.models else 10.0
        while not self._heartbeat_stop.wait(interval):
            try:
                self.beat()
            except Exception:
                log.exception("worker %s: heartbeat failed", self.id)
                connection.close()
        connection.close()

    # -- running ---------------------------------------------------------------------------------

    def run(self) -> int:
        """Claim and run rows until :attr:`stop` is set; 0 on a clean stop."""
        log.info("worker %s started (%d handler threads)", self.id, self.concurrency)
        self._heartbeat_stop = threading.Event()
        handlers = [
            threading.Thread(target=self._handler_thread, name=f"handler-{i}")
            for i in range(self.concurrency)
        ]
        for thread in handlers:
            thread.start()
        heartbeat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        heartbeat.start()
        self.waiter.start()
        _touch(self.liveness_file)
        try:
            while not self.stop.is_set():
                self._touch_liveness()
                free = self.free_slots()
                if free <= 0:
                    self._wait_for_slots()
                    continue
                try:
                    taken = self.claim_round(free)
                except Exception:
                    # The database is away or a bug outside handlers: say so, wait, try again.
                    log.exception("worker %s: claim failed", self.id)
                    connection.close()
                    self.stop.wait(5 * TICK)
                    continue
                if taken >= free:
                    continue  # every thread busy: more may be due
                if taken:
                    self.stop.wait(TICK)  # busy: claim again in a tick, in one statement
                else:
                    self._idle_wait()
        except BaseException:
            self._crashed.append(self.id)
            log.exception("worker %s crashed", self.id)
        finally:
            for _ in handlers:
                self._queue.put(None)
            for thread in handlers:
                thread.join()  # finish the rows in hand
            self._heartbeat_stop.set()
            heartbeat.join(timeout=5)
            self.waiter.close()
            connection.close()
            log.info("worker %s stopped (%d rows)", self.id, self.processed)
        return 1 if self._crashed else 0


def _lease(model: type[StatefulModel]) -> float:
    return float(model.STATE_GRAPH.lease_seconds)


def main(
    concurrency: int = 8,
    liveness_file: str | None = None,
    models: Sequence[type[StatefulModel]] | None = None,
) -> int:
    """Run a :class:`Worker` until SIGTERM or SIGINT; 0 on a clean stop. ``models`` limits it
    to some kinds of work (``portevoix listen``: listening's sources and followed accounts)."""
    from portevoix.worker.housekeeping import ensure_housekeeping

    worker = Worker(concurrency=concurrency, liveness_file=liveness_file, models=models)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the rows in hand, then stopping", signum)
        worker.stop.set()
        worker.waiter.nudge()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ensure_housekeeping()
        connection.close()
        return worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
