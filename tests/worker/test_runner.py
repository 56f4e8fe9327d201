"""The worker inline: run_once, retries, failure, leases, claiming, housekeeping jobs."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from portevoix.core.models import AuditEntry, Invitation
from portevoix.core.sentences import render
from portevoix.worker import housekeeping, runner
from portevoix.worker.models import (
    Housekeeping,
    HousekeepingStates,
    LeaseLost,
    Outcome,
    TransitionRefused,
    stateful_models,
)

HK = [Housekeeping]  # other apps' stateful models are not these tests' business


def test_housekeeping_is_registered() -> None:
    assert Housekeeping in stateful_models()


def test_run_once_runs_due_jobs_and_reschedules_them(job) -> None:
    calls: list[str] = []
    row = job("test-count", lambda r: calls.append(r.name) or "counted", interval=600)
    later = job("test-later", lambda r: calls.append(r.name) or "no")
    Housekeeping.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )

    assert runner.run_once(models=HK) == 1
    assert calls == ["test-count"]
    row.refresh_from_db()
    assert row.state == "scheduled"
    assert row.last_result == "counted"
    assert row.locked_by == "" and row.locked_until is None
    assert row.next_attempt_at is not None and row.last_run_at is not None
    assert row.next_attempt_at - row.last_run_at == dt.timedelta(seconds=600)
    assert runner.run_once(models=HK) == 0  # nothing due any more


def test_handler_errors_back_off_then_fail_with_the_reason(job) -> None:
    def broken(row: Housekeeping) -> str:
        raise ConnectionError("network unreachable")

    row = job("test-broken", broken)
    state = HousekeepingStates.scheduled
    now = timezone.now()
    for attempt in range(1, state.max_attempts):
        with time_machine.travel(now, tick=False):
            assert runner.run_once(models=HK) == 1
        row.refresh_from_db()
        assert row.state == "scheduled"
        assert row.attempts == attempt
        assert "network unreachable" in row.last_error
        base = min(HousekeepingStates.max_backoff, state.try_interval * 2 ** (attempt - 1))
        delay = (row.next_attempt_at - now).total_seconds()
        assert base / 2 <= delay <= base
        now = row.next_attempt_at
    with time_machine.travel(now, tick=False):
        assert runner.run_once(models=HK) == 1
    row.refresh_from_db()
    assert row.state == "failed"
    assert row.next_attempt_at is None
    with translation.override("en"):
        assert render(row.problem).startswith(
            f"scheduled, attempt {state.max_attempts}: ConnectionError"
        )
    with time_machine.travel(now + dt.timedelta(days=30), tick=False):
        assert runner.run_once(models=HK) == 0  # a failed row waits for a person

    row.transition("scheduled")  # what the admin's "retry now" does
    row.refresh_from_db()
    assert row.state == "scheduled" and row.attempts == 0 and row.problem == ""


def test_a_handler_returning_none_is_looked_at_again_after_the_interval(job, monkeypatch) -> None:
    row = job("test-none", lambda r: "x")
    monkeypatch.setattr(Housekeeping, "handle_scheduled", lambda self: None)
    before = timezone.now()
    assert runner.run_once(models=HK) == 1
    row.refresh_from_db()
    assert row.attempts == 0 and row.last_run_at is None
    interval = HousekeepingStates.scheduled.try_interval
    assert row.next_attempt_at >= before + dt.timedelta(seconds=interval)


def test_a_handler_returning_an_undeclared_state_is_an_error(job, monkeypatch) -> None:
    row = job("test-undeclared", lambda r: "x")
    monkeypatch.setattr(Housekeeping, "handle_scheduled", lambda self: "published")
    runner.run_once(models=HK)
    row.refresh_from_db()
    assert row.state == "scheduled" and row.attempts == 1
    assert "has no state 'published'" in row.last_error


def test_a_handler_may_give_up_at_once_with_its_reason(job, monkeypatch) -> None:
    row = job("test-give-up", lambda r: "x")
    monkeypatch.setattr(
        Housekeeping,
        "handle_scheduled",
        lambda self: Outcome("failed", fields={"problem": "the account was deleted"}),
    )
    runner.run_once(models=HK)
    row.refresh_from_db()
    assert row.state == "failed" and row.problem == "the account was deleted"
    assert row.next_attempt_at is None and row.attempts == 0


def test_transition_refuses_what_the_graph_does_not_declare(job) -> None:
    row = job("test-refuse", lambda r: "x")
    row.state = "failed"
    row.save()
    with pytest.raises(TransitionRefused):
        row.transition("failed")
    with pytest.raises(KeyError):
        row.transition("published")


@given(
    interval=st.floats(min_value=0.1, max_value=10_000),
    attempts=st.integers(min_value=1, max_value=60),
    seed=st.integers(),
)
def test_backoff_grows_stays_under_its_cap_and_is_jittered(
    interval: float, attempts: int, seed: int
) -> None:
    cap = 3600.0
    delay = runner.backoff_seconds(interval, attempts, cap, random.Random(seed))
    base = min(cap, interval * 2 ** (attempts - 1))
    assert base / 2 <= delay <= base


def test_a_leased_row_is_not_claimed_until_its_lease_expires(job) -> None:
    row = job("test-lease", lambda r: "done")
    first = runner.claim(Housekeeping, 10, "worker-a", lease_seconds=60)
    assert [r.pk for r in first] == [row.pk]
    assert runner.claim(Housekeeping, 10, "worker-b", lease_seconds=60) == []

    # worker-a "crashes": after the lease, worker-b takes the row and finishes it.
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        second = runner.claim(Housekeeping, 10, "worker-b", lease_seconds=60)
        assert [r.pk for r in second] == [row.pk]
        # worker-a wakes up: its lease is gone, so its result is discarded...
        assert runner.process(first[0]) is False
        row.refresh_from_db()
        assert row.locked_by.startswith("worker-b#") and row.last_run_at is None
        with pytest.raises(LeaseLost):
            first[0].extend_lease()
        # ...and worker-b's is written.
        assert runner.process(second[0]) is True
    row.refresh_from_db()
    assert row.locked_by == "" and row.last_result == "done"


def test_stop_releases_claimed_rows_that_were_not_started(job) -> None:
    stop = threading.Event()
    ran: list[str] = []

    def first_stops(row: Housekeeping) -> str:
        ran.append(row.name)
        stop.set()
        return "ok"

    job("test-a", first_stops)
    job("test-b", first_stops)
    assert runner.run_once(models=HK, stop=stop) == 1
    assert len(ran) == 1
    left = Housekeeping.objects.exclude(name=ran[0]).get()
    assert left.locked_by == "" and left.locked_until is None
    assert runner.run_once(models=HK) == 1  # the released row is due at once


@pytest.mark.django_db(transaction=True)
def test_threads_never_claim_the_same_row() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("threads share the in-memory SQLite test database; see test_process.py")
    Housekeeping.objects.bulk_create([Housekeeping(name=f"row-{i}") for i in range(300)])
    got: dict[int, list[int]] = {}

    def work(index: int) -> None:
        worker_id = f"thread-{index}"
        mine: list[int] = []
        try:
            while rows := runner.claim(Housekeeping, 7, worker_id, lease_seconds=600):
                mine.extend(r.pk for r in rows)
        finally:
            connection.close()
        got[index] = mine

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [pk for ids in got.values() for pk in ids]
    assert len(everything) == len(set(everything)) == 300
    assert sum(1 for ids in got.values() if ids) > 1  # the work was actually shared


def test_purge_invitations_deletes_only_stale_unaccepted_ones(team) -> None:
    now = timezone.now()
    old = now - dt.timedelta(days=31)
    ws = team.workspace

    def invite(email: str, **fields: object) -> Invitation:
        return Invitation.objects.create(
            workspace=ws, email=email, role="viewer", token_hash=email, **fields
        )

    invite("expired@x.test", expires_at=old)
    invite("revoked@x.test", expires_at=now + dt.timedelta(days=3), revoked_at=old)
    kept_accepted = invite("accepted@x.test", expires_at=old, accepted_at=old)
    kept_recent = invite("recent@x.test", expires_at=now - dt.timedelta(days=2))
    housekeeping.ensure_housekeeping()
    Housekeeping.objects.exclude(name="purge-invitations").update(next_attempt_at=None)

    assert runner.run_once(models=HK) == 1
    left = set(Invitation.objects.filter(workspace=ws).values_list("pk", flat=True))
    assert left == {kept_accepted.pk, kept_recent.pk}
    row = Housekeeping.objects.get(name="purge-invitations")
    assert row.last_result == "2 stale invitation(s) deleted"
    entry = AuditEntry.objects.get(action="invitation.purged")
    assert entry.workspace == ws and entry.after["count"] == 2
    assert entry.actor_label == "worker"


def test_clear_sessions_job_runs(db) -> None:
    housekeeping.ensure_housekeeping()
    assert set(Housekeeping.objects.values_list("name", flat=True)) >= {
        "clear-sessions",
        "purge-invitations",
    }
    assert housekeeping.ensure_housekeeping() == []
    ours = ["clear-sessions", "purge-invitations"]  # other apps register their own jobs
    Housekeeping.objects.exclude(name__in=ours).update(next_attempt_at=None)
    assert runner.run_once(models=HK) == 2
    rows = Housekeeping.objects.filter(name__in=ours)
    assert {(r.state, r.attempts, bool(r.last_run_at)) for r in rows} == {("scheduled", 0, True)}


def test_a_result_is_discarded_when_an_action_moved_the_row_meanwhile(job) -> None:
    row = job("test-moved", lambda r: "done")
    [claimed] = runner.claim(Housekeeping, 10, "worker-a", lease_seconds=60)
    Housekeeping.objects.get(pk=row.pk).transition("failed")  # e.g. a person gives up on it
    assert runner.process(claimed) is False
    row.refresh_from_db()
    assert row.state == "failed" and row.last_run_at is None
    assert row.locked_by == "" and row.locked_until is None  # the lease is given back


def test_a_claimed_row_no_longer_automatic_is_given_back_unhandled(job) -> None:
    calls: list[str] = []
    row = job("test-gone", lambda r: calls.append("ran") or "x")
    [claimed] = runner.claim(Housekeeping, 10, "worker-a", lease_seconds=60)
    Housekeeping.objects.filter(pk=row.pk).update(state="failed", next_attempt_at=None)
    claimed.state = "failed"  # as read by a claim that raced with the action
    assert runner.process(claimed) is False
    assert calls == []
    row.refresh_from_db()
    assert row.state == "failed" and row.locked_by == "" and row.locked_until is None


@pytest.mark.parametrize(
    ("now", "due"),
    [
        # Before 03:00 in Paris: tonight; after: the next night.
        (dt.datetime(2026, 12, 4, 1, 30, tzinfo=dt.UTC), dt.datetime(2026, 12, 4, 2, 0)),
        (dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC), dt.datetime(2026, 12, 5, 2, 0)),
        (dt.datetime(2026, 12, 4, 21, 0, tzinfo=dt.UTC), dt.datetime(2026, 12, 5, 2, 0)),
        # The night summer time starts, 03:00 in Paris is 01:00 UTC; the night it ends, 02:00.
        (dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 1, 0)),
        (dt.datetime(2026, 10, 24, 12, 0, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 2, 0)),
    ],
)
def test_a_daily_job_with_an_hour_runs_at_that_hour_in_the_servers_zone(
    db, settings, now, due
) -> None:
    """Retention deletes at night (03:00 where the server is), not every 24 hours from
    whenever the worker first started."""
    settings.TIME_ZONE = "Europe/Paris"
    job = housekeeping.JOBS["privacy-retention"]
    assert job.daily_at == dt.time(3, 0)
    assert job.next_run(now) == due.replace(tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        outcome = housekeeping.run(Housekeeping(name="privacy-retention"))
    assert outcome.at == due.replace(tzinfo=dt.UTC)
    # A job without an hour keeps its interval.
    assert housekeeping.JOBS["care-assign"].next_run(now) == now + dt.timedelta(seconds=60)
