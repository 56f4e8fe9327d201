"""Waking workers: the PostgreSQL trigger on every stateful table, the heartbeat, the claimer."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from portevoix.worker import runner, wake
from portevoix.worker.models import Housekeeping, stateful_models

pg_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="LISTEN/NOTIFY is PostgreSQL's"
)


@pytest.mark.django_db
@pg_only
def test_every_stateful_table_wakes_the_workers() -> None:
    """A new stateful model needs ``WakeWorkersOnDue`` in its migration: this test says so."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'portevoix_wake'"
        )
        tables = {row[0] for row in cursor.fetchall()}
    missing = [m._meta.label for m in stateful_models() if m._meta.db_table not in tables]
    assert not missing, f"add WakeWorkersOnDue to a migration of: {missing}"


@pytest.mark.django_db(transaction=True)
@pg_only
def test_a_row_due_now_wakes_a_waiting_worker_at_once(job) -> None:
    waiter = wake.Waiter()
    waiter.start()
    try:
        assert waiter.listening
        assert waiter.wait(0.05) is False  # nothing yet
        woke: list[bool] = []
        thread = threading.Thread(target=lambda: woke.append(waiter.wait(30)))
        thread.start()
        time.sleep(0.2)
        Housekeeping.objects.create(name="due-now", next_attempt_at=timezone.now())
        thread.join(35)
        assert woke == [True]  # woken by the notification, not by the 30 s timeout
        # A row due in an hour sends nothing: the claimer's own timer covers it.
        Housekeeping.objects.create(
            name="due-later", next_attempt_at=timezone.now() + dt.timedelta(hours=1)
        )
        assert waiter.wait(0.3) is False
    finally:
        waiter.close()


@pytest.mark.django_db
def test_next_due_sees_future_rows_and_expiring_leases(job) -> None:
    now = timezone.now()
    job("later", lambda row: "")
    Housekeeping.objects.filter(name="later").update(next_attempt_at=now + dt.timedelta(minutes=3))
    job("held", lambda row: "")
    Housekeeping.objects.filter(name="held").update(
        next_attempt_at=now, locked_by="w#1", locked_until=now + dt.timedelta(seconds=20)
    )
    assert runner.next_due([Housekeeping], now) == now + dt.timedelta(seconds=20)


@pytest.mark.django_db
def test_the_heartbeat_renews_the_leases_of_rows_in_hand_and_only_those(job) -> None:
    job("mine", lambda row: "")
    job("theirs", lambda row: "")
    worker = runner.Worker(concurrency=2, models=[Housekeeping])
    (mine,) = runner.claim(Housekeeping, 1, worker.id, 1.0)
    other = Housekeeping.objects.exclude(pk=mine.pk).get()
    runner.claim(Housekeeping, 1, "someone-else", 1.0)
    worker._held[mine.locked_by] = runner._Held(Housekeeping, 1, time.monotonic())
    assert worker.beat() == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.locked_until > timezone.now() + dt.timedelta(seconds=20)  # a full lease again
    assert other.locked_until < timezone.now() + dt.timedelta(seconds=2)  # not ours: untouched
    # A handler that hangs for longer than MAX_HOLD is no longer kept alive.
    worker._held[mine.locked_by].since -= runner.MAX_HOLD + 1
    assert worker.beat() == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_a_slow_row_past_its_lease_and_writes_its_result(job, monkeypatch) -> None:
    """A handler that outlives its lease keeps the row (heartbeat): no other claim takes it,
    and its result is written."""
    from portevoix.worker.models import HousekeepingStates

    monkeypatch.setattr(HousekeepingStates, "lease_seconds", 0.6)
    started = threading.Event()

    def slow(row: Housekeeping) -> str:
        started.set()
        time.sleep(2.0)
        return "slow but done"

    row = job("slow", slow)
    worker = runner.Worker(concurrency=1, models=[Housekeeping])
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        assert started.wait(10)
        time.sleep(1.0)  # past the claim's own lease: only the heartbeat keeps it
        assert runner.claim(Housekeeping, 5, "intruder", 10) == []
    finally:
        worker.stop.set()
        worker.waiter.nudge()
        thread.join(30)
    row.refresh_from_db()
    assert row.last_result == "slow but done" and row.locked_by == ""


@pytest.mark.django_db(transaction=True)
def test_a_worker_forgets_the_rows_it_has_finished(job) -> None:
    """Writing a result gives the row back (its ``locked_by`` cleared on the instance too), and
    the worker counted its rows down by that cleared value: every claim stayed "held" for half
    an hour. The demo's log filled with "a handler has held its rows for 1826s" with every
    handler idle, and the heartbeat's renewal grew with every claim."""
    for n in range(5):
        job(f"quick-{n}", lambda row: "done")
    worker = runner.Worker(concurrency=2, models=[Housekeeping])
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while worker.processed < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.processed >= 5
        with worker._lock:
            assert worker._held == {}  # nothing in hand: all five finished
        assert worker.beat() == 0
    finally:
        worker.stop.set()
        worker.waiter.nudge()
        thread.join(30)
    assert set(Housekeeping.objects.values_list("locked_by", flat=True)) == {""}
