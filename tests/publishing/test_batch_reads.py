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
    # PostgreSQL: the claim is the ``UPDATE`` inside ``WITH claimed AS (...)``.
    return sum('UPDATE "publishing_publication" SET "locked_by"' in q["sql"] for q in queries)


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


# --- what a claim brings with its rows, in statements written once -----------------------------


def _statements(seen) -> list[str]:
    """What reached the database, without the savepoints of the test's own transaction."""
    return [
        q["sql"] for q in seen.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def _values(instance) -> list:
    return [getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields]


def test_claimed_rows_come_with_their_related_rows_and_media(team, channel) -> None:
    from portevoix.publishing import actions as publishing
    from portevoix.publishing.actions import Upload
    from portevoix.publishing.models import Post, PostMedia
    from tests.images import image_bytes

    with_media = publishing.schedule_post(
        team.workspace,
        by=team["content"],
        text="Deux images",
        channels=[channel],
        at=timezone.now(),
        uploads=[
            Upload("b.png", image_bytes("PNG"), mime_type="image/png"),
            Upload("a.png", image_bytes("PNG", (5, 4)), mime_type="image/png"),
        ],
    )
    [without] = _due(team, channel, 1)
    # The second image first: the media come in the model's order (position, id).
    first, second = PostMedia.objects.filter(post=with_media).order_by("id")
    PostMedia.objects.filter(pk=first.pk).update(position=5)
    with CaptureQueriesContext(connection) as claiming:
        rows = runner.claim(Publication, 10, "test-worker", 60)
    # PostgreSQL: the claim with its post, workspace, campaign and channel, then the media;
    # SQLite (no UPDATE in WITH): the related rows by primary key in between.
    assert len(_statements(claiming)) == (2 if connection.vendor == "postgresql" else 3)
    assert {r.post_id for r in rows} == {with_media.pk, without.pk}
    with CaptureQueriesContext(connection) as reading:
        for row in rows:
            fresh = Publication.objects.select_related("post__workspace", "channel").get(pk=row.pk)
            with_no_query = [
                _values(row),
                _values(row.post),
                _values(row.post.workspace),
                _values(row.channel),
                row.post.campaign,
                [m.pk for m in row.media_rows()],
            ]
            expected = [
                _values(fresh),
                _values(fresh.post),
                _values(fresh.post.workspace),
                _values(fresh.channel),
                None,
                [m.pk for m in fresh.media_rows()],
            ]
            assert with_no_query == expected
    # Only the fresh reads of the comparison above reached the database.
    fresh_reads = [q for q in _statements(reading) if "publishing_postmedia" not in q]
    assert len(fresh_reads) == 2
    media = next(r for r in rows if r.post_id == with_media.pk).media_rows()
    assert [m.pk for m in media] == [second.pk, first.pk]
    assert all(m.post is not None for m in media)
    assert Post.objects.get(pk=without.pk).media.count() == 0
    for row in rows:
        runner.process(row)
    assert states(with_media) == ["published"] and states(without) == ["published"]


def _send_time_tables(queries) -> int:
    tables = (
        '"publishing_pause"',
        '"publishing_compliancerule"',
        '"publishing_approvalsettings"',
        '"publishing_complianceroute"',
    )
    return sum(any(t in q["sql"] for t in tables) for q in queries)


def test_what_a_workspace_does_not_have_is_asked_in_one_statement(team, account, channel) -> None:
    posts = _due(team, channel, 3)
    rows = runner.claim(Publication, 10, "test-worker", 60)
    with CaptureQueriesContext(connection) as seen:
        for row in rows:
            runner.process(row)
    # No pause, blocking rule, approval settings or compliance route: one statement says so
    # for the batch (four reads before).
    assert _send_time_tables(seen.captured_queries) == 1
    assert [states(p) for p in posts] == [["published"]] * 3


def test_what_a_workspace_has_is_read_at_send_time(team, account, channel) -> None:
    from portevoix.publishing.approvals.models import ComplianceRule, RuleKind, Severity

    [blocked] = _due(team, channel, 1)
    ComplianceRule.objects.create(
        workspace=team.workspace,
        name="Interdit",
        kind=RuleKind.BANNED,
        values="Post",
        severity=Severity.BLOCK,
    )
    rows = runner.claim(Publication, 10, "test-worker", 60)
    with CaptureQueriesContext(connection) as seen:
        for row in rows:
            runner.process(row)
    assert states(blocked) == ["rejected"]
    assert sum(publish_calls(account).values()) == 0
    # The statement that says what exists, then the blocking rules themselves.
    assert _send_time_tables(seen.captured_queries) == 2


def test_the_author_comes_with_user_department_and_trust(team, channel) -> None:
    from portevoix.core.models import Member
    from portevoix.publishing.approvals import actions as approvals
    from portevoix.publishing.approvals import policy

    [post] = _due(team, channel, 1)
    member = Member.objects.get(workspace=team.workspace, user=post.author)
    Member.objects.filter(pk=member.pk).update(department=team.department("marketing"))
    for trust in (None, True):
        if trust is not None:
            approvals.set_trust(member, by=team["admin"], publishes_directly=trust)
        with CaptureQueriesContext(connection) as seen:
            found = policy.author_member(post)
        assert len(_statements(seen)) == 1
        fresh = Member.objects.select_related("user", "department").get(pk=member.pk)
        with CaptureQueriesContext(connection) as seen:
            assert found is not None
            assert _values(found) == _values(fresh)
            assert _values(found.user) == _values(fresh.user)
            assert found.department is not None and found.department.code == "marketing"
            assert policy.trust_override(found, loaded=True) is trust
        assert _statements(seen) == []
