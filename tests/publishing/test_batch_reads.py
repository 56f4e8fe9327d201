"""The worker reads a workspace's pauses, rules and approval settings once per claimed batch,
and never from anything older than the batch (issue 7 §4: worker CPU per post)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portevoix.publishing import pause
from portevoix.publishing.models import Publication
from portevoix.worker import runner
from tests.publishing.approvals_helpers import schedule, states
from tests.publishing.conftest import publish_calls


def _due(team, channel, count: int) -> list:
    return [
        schedule(team, team["content"], [channel], text=f"Post {i}", at=timezone.now())
        for i in range(count)
    ]


def _pause_reads(queries) -> int:
    return sum('FROM "publishing_pause"' in q["sql"] for q in queries)


def test_rows_claimed_together_read_the_pauses_once(team, account, channel) -> None:
    posts = _due(team, channel, 3)
    rows = runner.claim(Publication, 10, "test-worker", 60)
    assert len(rows) == 3
    with CaptureQueriesContext(connection) as seen:
        for row in rows:
            runner.process(row)
    assert _pause_reads(seen.captured_queries) == 1
    assert [states(p) for p in posts] == [["published"]] * 3
    assert sum(publish_calls(account).values()) == 3


def test_a_pause_is_seen_by_the_next_batch(team, account, channel) -> None:
    [first] = _due(team, channel, 1)
    for row in runner.claim(Publication, 10, "test-worker", 60):
        runner.process(row)
    assert states(first) == ["published"]
    pause.pause(team.workspace, by=team["manager"])
    # Made due behind the pause's back (as a row the worker finds already scheduled).
    [second] = _due(team, channel, 1)
    Publication.objects.filter(post=second).update(
        state="scheduled", next_attempt_at=timezone.now()
    )
    rows = runner.claim(Publication, 10, "test-worker", 60)
    assert len(rows) == 1
    for row in rows:
        runner.process(row)
    assert states(second) == ["paused"]
    assert sum(publish_calls(account).values()) == 1


def test_a_row_checked_outside_a_claim_reads_afresh(team, channel) -> None:
    from portevoix.publishing.approvals.actions import send_time_check

    [post] = _due(team, channel, 1)
    publication = Publication.objects.get(post=post)
    with CaptureQueriesContext(connection) as seen:
        send_time_check(publication)
        send_time_check(publication)
    assert _pause_reads(seen.captured_queries) == 2


def _claims(queries) -> int:
    return sum(
        q["sql"].startswith('UPDATE "publishing_publication" SET "locked_by"') for q in queries
    )


def test_an_idle_table_is_not_asked_every_round_until_woken(team, account, channel) -> None:
    worker = runner.Worker(concurrency=2, models=[Publication])
    try:
        with CaptureQueriesContext(connection) as seen:
            assert worker.claim_round(4) == 0  # nothing due: asked, found nothing
            assert worker.claim_round(4) == 0  # idle a moment: not asked again
        assert _claims(seen.captured_queries) == 1
        _due(team, channel, 1)
        worker.waiter.nudge()  # what an action in this process (or a NOTIFY) does
        with CaptureQueriesContext(connection) as seen:
            assert worker.claim_round(4) == 1
        assert _claims(seen.captured_queries) == 1
    finally:
        worker.stop.set()
        while (
            row := worker._queue.get_nowait() if not worker._queue.empty() else None
        ) is not None:
            runner.release([row])
        worker.waiter.close()


def test_a_table_that_had_rows_is_asked_again_next_round(team, account, channel) -> None:
    worker = runner.Worker(concurrency=2, models=[Publication])
    try:
        _due(team, channel, 1)
        assert worker.claim_round(4) == 1
        with CaptureQueriesContext(connection) as seen:
            worker.claim_round(4)  # empty, but it just had rows: a burst may be coming due
            worker.claim_round(4)  # empty twice in a row: idle from now
            worker.claim_round(4)  # not asked
        assert _claims(seen.captured_queries) == 2
    finally:
        worker.stop.set()
        while not worker._queue.empty():
            runner.release([worker._queue.get_nowait()])
        worker.waiter.close()
