"""The worker's channel syncs under sustained load: a backlog is drained page after page, and
syncs of different channels of one workspace run at once (the lock is the channel's)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from portevoix.channels import sync
from portevoix.channels.models import SYNC_INTERVAL, Channel
from portevoix.inbox import ingest as inbox_ingest
from portevoix.inbox.models import InboundMessage
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxAccount
from portevoix.worker import runner
from tests.inbox.conftest import connect, make_item


def _inject(channel: Channel, count: int, prefix: str) -> None:
    account = SandboxAccount.objects.get(handle=channel.handle)
    for n in range(count):
        service.inject_interaction(
            account, f"Question {prefix} {n} ?", author_handle=f"{prefix}{n}"
        )


def test_a_backlog_is_drained_page_after_page_then_the_interval_resumes(team):
    channel = connect(team)
    _inject(channel, service.PAGE_SIZE * 2 + 30, "a")
    pages = 0
    while True:
        Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
        before = timezone.now()
        runner.run_once([Channel])
        pages += 1
        channel.refresh_from_db()
        if channel.next_attempt_at > before + dt.timedelta(seconds=SYNC_INTERVAL / 2):
            break  # the page brought nothing new: back to the interval
        assert channel.next_attempt_at <= timezone.now()  # more may wait: due at once
        assert pages < 10
    assert InboundMessage.objects.filter(channel=channel).count() == service.PAGE_SIZE * 2 + 30
    assert pages == 4  # three pages with items, then the empty one


@pytest.mark.django_db(transaction=True)
def test_two_channels_of_one_workspace_store_at_once(team):
    """While one channel's sync is inside its transaction (its channel's row locked, its
    messages stored, not yet committed), another channel's sync stores and commits."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one worker; its in-memory test database does not wait on locks")
    first = connect(team, "acme-first")
    second = connect(team, "acme-second")
    inside = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def hold(result: inbox_ingest.Ingested) -> None:
        if result.channel.pk == first.pk:
            inside.set()
            release.wait(30)

    # First in line: the first channel holds its transaction before routing and assignment.
    inbox_ingest._handlers.insert(0, hold)

    def sync_first() -> None:
        try:
            sync.deliver(first, [make_item("first-1", "Bonjour, un prix ?", author="un")])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=sync_first)
    try:
        thread.start()
        assert inside.wait(30)
        done = threading.Event()

        def sync_second() -> None:
            try:
                sync.deliver(second, [make_item("second-1", "Hello, a price?", author="deux")])
                done.set()
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        other = threading.Thread(target=sync_second)
        other.start()
        assert done.wait(30), "the second channel waited for the first one's transaction"
        other.join(30)
        assert InboundMessage.objects.filter(channel=second).count() == 1
        assert not InboundMessage.objects.filter(channel=first).exists()  # not committed yet
    finally:
        release.set()
        thread.join(30)
        inbox_ingest.remove_handler(hold)
    assert not errors, errors
    assert InboundMessage.objects.filter(channel=first).count() == 1
