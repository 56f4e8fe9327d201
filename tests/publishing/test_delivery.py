"""Exactly once through crashes, slow calls, refused tokens and outages (issue 7, §1).

Every test counts the publish calls that reached the network (``publish_calls``), not the
posts a de-duplicating network kept: a blind resend shows as a second call.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.core.models import LatePolicy
from portevoix.core.sentences import render
from portevoix.networks.sandbox import SandboxNetwork
from portevoix.publishing import actions as publishing
from portevoix.publishing import states
from portevoix.publishing.models import NEEDS_PERSON, Publication, PublicationStates
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxPost
from portevoix.worker import runner
from tests.publishing.conftest import publish_calls, run_publications

pytestmark = pytest.mark.django_db

S = PublicationStates


def schedule(team, channel, text="Soldes d’hiver : -30 % sur tout", at=None):
    post = publishing.schedule_post(
        team.workspace, by=team["manager"], text=text, channels=[channel], at=at
    )
    return Publication.objects.get(post=post)


def later(seconds: float) -> time_machine.travel:
    return time_machine.travel(timezone.now() + dt.timedelta(seconds=seconds), tick=True)


# -- 1. A handler that outlives its lease ---------------------------------------------------


def test_a_slow_success_after_the_lease_ran_out_is_kept_not_sent_again(
    team, account, channel, monkeypatch
):
    monkeypatch.setattr(S, "lease_seconds", 0.2)
    service.configure_faults(account, latency_ms=700)
    publication = schedule(team, channel)
    runner.run_once([Publication])
    publication.refresh_from_db()
    assert publication.state == "published" and publication.network_post_id
    assert publication.sending_at is None and publication.locked_by == ""
    run_publications()
    assert publish_calls(account) == {publication.idempotency_key: 1}


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_never_sends_a_row_whose_first_call_may_still_run(
    team, account, channel, monkeypatch
):
    monkeypatch.setattr(S, "lease_seconds", 0.2)
    service.configure_faults(account, latency_ms=1500)
    publication = schedule(team, channel)

    def worker_a() -> None:
        try:
            runner.run_once([Publication], "worker-a")
        finally:
            connection.close()  # this thread's own connection (PostgreSQL)

    first = threading.Thread(target=worker_a)
    first.start()
    time.sleep(0.6)  # worker-a is in the middle of its (slow) call; its claim's lease is over
    assert runner.run_once([Publication], "worker-b") == 0  # the mark's lease covers the call
    first.join()
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publish_calls(account) == {publication.idempotency_key: 1}


def test_a_row_taken_over_after_the_call_timed_out_is_reconciled_never_resent(
    team, account, channel
):
    publication = schedule(team, channel)
    # worker-a claims and commits its mark, then stops answering (a stalled process).
    (row,) = runner.claim(Publication, 1, "worker-a", S.lease_seconds)
    states.mark_sending(row, timeout=SandboxNetwork.default_timeout)
    assert runner.run_once([Publication], "worker-b") == 0  # still covered
    with later(SandboxNetwork.default_timeout + 6):
        runner.run_once([Publication], "worker-b")
        publication.refresh_from_db()
        assert publication.state == "outcome_unknown"  # not sent: asked first
        run_publications()
    publication.refresh_from_db()
    # Nothing had reached the network: reconcile found nothing, so it was sent, once.
    assert publication.state == "published"
    assert publish_calls(account) == {publication.idempotency_key: 1}
    # worker-a wakes up: its claim was taken over, its result is discarded.
    assert runner.process(row) is False


# -- 2. The worker dies after the network accepted the post, before the commit -------------


class Died(BaseException):
    """What a SIGKILL looks like from inside: nothing after this line runs."""


def die_after_publishing(monkeypatch):
    real = SandboxNetwork.publish

    def publish_then_die(self, post, *, idempotency_key):
        real(self, post, idempotency_key=idempotency_key)
        raise Died

    monkeypatch.setattr(SandboxNetwork, "publish", publish_then_die)


@pytest.mark.parametrize("outage", [dt.timedelta(minutes=1), dt.timedelta(days=3)])
def test_a_worker_that_dies_after_acceptance_leaves_a_mark_that_is_reconciled(
    team, account, channel, monkeypatch, outage
):
    publication = schedule(team, channel)
    die_after_publishing(monkeypatch)
    with pytest.raises(Died):
        runner.run_once([Publication])
    monkeypatch.undo()
    publication.refresh_from_db()
    assert publication.state == "scheduled" and publication.sending_at is not None
    assert publish_calls(account) == {publication.idempotency_key: 1}
    # However long the outage (longer than the workspace's lateness limit too), the row with
    # the mark is reconciled, never rejected as too late and never sent blind.
    with later(outage.total_seconds()):
        run_publications()
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publication.network_post_id == SandboxPost.objects.get(account=account).network_id
    assert publish_calls(account) == {publication.idempotency_key: 1}


# -- 3. "Outcome unknown" is never forgotten: every path back to sending reconciles first ---


def _unknown_then_refused_token(team, account, channel):
    service.inject_faults(account, "timeout_after_accept")
    publication = schedule(team, channel)
    runner.run_once([Publication])
    publication.refresh_from_db()
    assert publication.state == "outcome_unknown"
    service.expire_token(account)
    with later(SandboxNetwork.default_timeout + 6):
        runner.run_once([Publication])
    publication.refresh_from_db()
    channel.refresh_from_db()
    assert publication.state == "waiting_reconnect" and channel.state == "needs_reconnect"
    assert publication.sending_at is not None  # the question is still open
    return publication


def test_outcome_unknown_then_refused_token_then_reconnect_reconciles_first(team, account, channel):
    publication = _unknown_then_refused_token(team, account, channel)
    service.rotate_token(account)
    account.refresh_from_db()
    channel_actions.reconnect_channel(
        channel, by=team["admin"], credentials=service.credentials_for(account)
    )
    with later(SandboxNetwork.default_timeout + 6):
        run_publications()
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publish_calls(account) == {publication.idempotency_key: 1}


PATHS_BACK = [
    # (the state a person sees, how the row got there) -> "send again" from the page
    S.failed.name,
    S.waiting_reconnect.name,
    S.held.name,
    S.rejected.name,
    S.outcome_unknown.name,
]


@pytest.mark.parametrize("waiting", PATHS_BACK)
def test_every_way_back_to_sending_reconciles_a_marked_row_first(
    team, account, channel, monkeypatch, waiting
):
    """Retry, reconnect, "send now", a resumed pause or an edit all end in ``scheduled``:
    whatever the path, a row whose earlier call may have reached the network is asked about
    first. (``needs_check`` -> send is the one exception: a person looked and said it is not
    there, and the action that records that clears the mark.)"""
    publication = schedule(team, channel)
    die_after_publishing(monkeypatch)
    with pytest.raises(Died):
        runner.run_once([Publication])
    monkeypatch.undo()
    publication.refresh_from_db()
    Publication.objects.filter(pk=publication.pk).update(
        state=waiting, next_attempt_at=None, locked_by="", locked_until=None
    )
    publication.refresh_from_db()
    if publication.state != S.scheduled.name:
        if S.get(waiting).automatic:
            Publication.objects.filter(pk=publication.pk).update(next_attempt_at=timezone.now())
        else:
            publication.transition(S.scheduled)
    with later(SandboxNetwork.default_timeout + 6):
        run_publications()
    publication.refresh_from_db()
    assert publication.state == "published"
    assert publish_calls(account) == {publication.idempotency_key: 1}


def test_a_failed_publish_that_reached_nothing_is_sent_again_after_retry(team, account, channel):
    service.inject_faults(account, *["server_error"] * 1)
    publication = schedule(team, channel)
    runner.run_once([Publication])  # 500: may have been accepted -> outcome unknown
    publication.refresh_from_db()
    assert publication.state == "outcome_unknown"
    with later(SandboxNetwork.default_timeout + 6):
        run_publications()
    publication.refresh_from_db()
    assert publication.state == "published"  # reconcile: not there -> sent, once
    assert publish_calls(account) == {publication.idempotency_key: 1}


# -- 4. Reconcile's inputs: the first attempt's time and what others recorded ---------------


class AskingNetwork(SandboxNetwork):
    """The sandbox, recording what reconcile is asked and answering ``Ambiguous``."""

    asked: list[dict] = []

    def reconcile(self, idempotency_key, *, post=None, since=None, exclude=frozenset()):
        from portevoix.networks.errors import Ambiguous
        from portevoix.networks.types import Candidate

        self.asked.append({"since": since, "exclude": exclude})
        raise Ambiguous(
            "Two posts with this text appeared after the first attempt.",
            candidates=(
                Candidate(post_id="111", url="https://example.test/111", text="Soldes"),
                Candidate(post_id="112", url="https://example.test/112", text="Soldes"),
            ),
            network=self.name,
        )


def test_reconcile_is_bounded_by_the_first_attempt_and_ambiguity_goes_to_a_person(
    team, account, channel, monkeypatch
):
    earlier = schedule(team, channel, text="Une autre publication")
    run_publications()
    earlier.refresh_from_db()
    assert earlier.state == "published"

    service.inject_faults(account, "timeout_after_accept")
    publication = schedule(team, channel)
    runner.run_once([Publication])
    publication.refresh_from_db()
    first_attempt = publication.first_attempt_at
    assert publication.state == "outcome_unknown" and first_attempt is not None

    AskingNetwork.asked = []
    monkeypatch.setattr(Channel, "network_class", property(lambda self: AskingNetwork))
    with later(SandboxNetwork.default_timeout + 6):
        runner.run_once([Publication])
    publication.refresh_from_db()
    (asked,) = AskingNetwork.asked
    assert asked["since"] == first_attempt
    assert earlier.network_post_id in asked["exclude"]  # never taken for this one
    assert publication.state == "needs_check" and publication.state in NEEDS_PERSON
    assert [c["post_id"] for c in publication.candidates] == ["111", "112"]
    assert "after the first attempt" in render(publication.problem)
    assert publish_calls(account) == {
        earlier.idempotency_key: 1,
        publication.idempotency_key: 1,
    }  # never sent blind, never marked published on a guess


# -- 5. Idempotency keys are unique across installations ------------------------------------


def test_keys_are_random_so_a_restored_backup_never_meets_an_old_record(team, account, channel):
    # Another installation (or this one before a restore) already used the old-style key of
    # "post 1 on channel 1" on the same account.
    service.publish(
        account.handle,
        account.token,
        [service.PartIn("an older post from a staging copy")],
        idempotency_key=f"pv-1-{channel.pk}",
    )
    first = schedule(team, channel, text="Nouvelle collection")
    second = schedule(team, channel, text="Nouvelle collection, bis")
    assert first.idempotency_key != second.idempotency_key
    assert len(first.idempotency_key) >= 30 and not first.idempotency_key.startswith("pv-1-")
    run_publications()
    first.refresh_from_db()
    texts = dict(SandboxPost.objects.values_list("network_id", "text"))
    assert texts[first.network_post_id] == "Nouvelle collection"  # its own post, not the old one


# -- 6. Short outages do not end in failure -------------------------------------------------


def test_transient_errors_are_retried_until_the_lateness_limit(team, account, channel):
    service.inject_faults(account, *["unavailable"] * 12)  # an hour or so of 503s
    publication = schedule(team, channel)
    moment = timezone.now()
    for _ in range(14):
        with time_machine.travel(moment):
            runner.run_once([Publication])
        publication.refresh_from_db()
        if publication.state != "scheduled":
            break
        assert publication.sending_at is None  # nothing was accepted
        moment = max(moment, publication.next_attempt_at) + dt.timedelta(seconds=1)
    assert publication.state == "published"  # past the old 5 tries, within the 6 h limit
    assert publish_calls(account) == {publication.idempotency_key: 1}


@pytest.mark.parametrize("policy", [LatePolicy.HOLD, LatePolicy.SEND])
def test_past_the_lateness_limit_the_workspace_rule_applies(team, account, channel, policy):
    team.workspace.lateness_limit_minutes = 30
    team.workspace.when_late = policy
    team.workspace.save()
    service.configure_faults(account, queue=["unavailable"] * 50)
    publication = schedule(team, channel)
    moment = timezone.now()
    while moment < publication.scheduled_at + dt.timedelta(minutes=45):
        with time_machine.travel(moment):
            runner.run_once([Publication])
        publication.refresh_from_db()
        if publication.state != "scheduled":
            break
        moment = max(moment, publication.next_attempt_at) + dt.timedelta(seconds=1)
    if policy == LatePolicy.HOLD:
        assert publication.state == "held"
        assert "unavailable" in render(publication.problem)  # the network's last reason
        assert publish_calls(account) == {}
    else:
        assert publication.state == "scheduled"  # still trying, late
        service.configure_faults(account, queue=[])
        with time_machine.travel(moment + dt.timedelta(hours=2)):
            Publication.objects.filter(pk=publication.pk).update(next_attempt_at=timezone.now())
            run_publications()
        publication.refresh_from_db()
        assert publication.state == "published"


def test_a_failing_sync_shows_at_once_with_the_networks_reason(team, account, channel):
    service.configure_faults(account, writes_only=False, queue=["unavailable"])
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])
    channel.refresh_from_db()
    assert channel.health == "failing" and channel.sync_failing_since is not None
    assert "unavailable" in render(channel.problem).lower()
    assert channel.state == "active" and channel.next_attempt_at > timezone.now()
    with later(3600):
        Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
        runner.run_once([Channel])
    channel.refresh_from_db()
    assert channel.health == "ok" and channel.problem == ""


def test_a_refused_token_waits_for_reconnection_and_nothing_is_rejected(team, account, channel):
    service.expire_token(account)
    publication = schedule(team, channel)
    runner.run_once([Publication])
    publication.refresh_from_db()
    channel.refresh_from_db()
    assert publication.state == "waiting_reconnect" and channel.health == "expired"
    assert publish_calls(account) == {}


def test_one_network_call_per_post(team, account, channel):
    """The worker reuses connected clients: no account check before every post."""
    from portevoix.sandbox.models import SandboxCall

    for number in range(3):
        schedule(team, channel, text=f"Publication {number}")
    before = SandboxCall.objects.count()
    run_publications()
    operations = list(SandboxCall.objects.order_by("pk")[before:].values_list("operation"))
    assert [op for (op,) in operations] == ["publish"] * 3


class CutThreadNetwork(SandboxNetwork):
    """The sandbox, as a network whose reconcile finds only the first part of a thread."""

    completes_threads = False

    def reconcile(self, idempotency_key, *, post=None, since=None, exclude=frozenset()):
        found = super().reconcile(idempotency_key, post=post, since=since, exclude=exclude)
        if found is None:
            return None
        from dataclasses import replace

        return replace(found, thread=())


@pytest.mark.parametrize("completes", [True, False])
def test_a_thread_cut_midway_is_completed_or_goes_to_a_person(
    team, account, channel, monkeypatch, completes
):
    from portevoix.networks.types import OutgoingPost, ThreadPart

    monkeypatch.setattr(
        Publication,
        "outgoing",
        lambda self: OutgoingPost(text=self.post.text, thread=(ThreadPart("Suite du fil"),)),
    )
    monkeypatch.setattr(CutThreadNetwork, "completes_threads", completes)
    monkeypatch.setattr(Channel, "network_class", property(lambda self: CutThreadNetwork))
    service.inject_faults(account, "timeout_after_accept")
    publication = schedule(team, channel)
    runner.run_once([Publication])
    with later(SandboxNetwork.default_timeout + 6):
        runner.run_once([Publication])
    publication.refresh_from_db()
    if completes:
        assert publication.state == "scheduled" and publication.sending_at is None
        with later(SandboxNetwork.default_timeout + 7):
            run_publications()
        publication.refresh_from_db()
        assert publication.state == "published" and len(publication.network_post_ids) == 2
    else:
        assert publication.state == "needs_check" and "1 des 2 parties" in render(
            publication.problem
        )
    # Completing publishes again under the same key (here the sandbox had kept both parts, so
    # it stores nothing new); a network that cannot complete exactly is not called again.
    assert publish_calls(account)[publication.idempotency_key] == (2 if completes else 1)
    assert SandboxPost.objects.filter(account=account).count() == 2


@pytest.mark.parametrize("private", [False, True])
def test_a_reply_goes_out_exactly_once_through_the_same_delivery(team, account, channel, private):
    """Webcare answers are posts of kind "reply": same mark, reconcile and attention page."""
    from portevoix.publishing.models import Post, PostKind
    from portevoix.sandbox.models import InteractionKind

    question = service.inject_interaction(
        account,
        "Bonjour, le sérum existe-t-il en 50 ml ?",
        kind=InteractionKind.DM if private else InteractionKind.COMMENT,
    )
    post = Post.objects.create(
        workspace=team.workspace, kind=PostKind.REPLY, text="Bonjour ! Oui, en 30 et 50 ml."
    )
    reply = Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=timezone.now(),
        next_attempt_at=timezone.now(),
        in_reply_to=question.message_id,
        private=private,
    )
    service.inject_faults(account, "timeout_after_accept")
    runner.run_once([Publication])
    with later(SandboxNetwork.default_timeout + 6):
        run_publications()
    reply.refresh_from_db()
    assert reply.state == "published"
    stored = SandboxPost.objects.get(network_id=reply.network_post_id)
    assert stored.kind == ("dm" if private else "reply")
    assert stored.in_reply_to == question.message_id or private
    from portevoix.sandbox.models import SandboxCall

    sends = SandboxCall.objects.filter(
        idempotency_key=reply.idempotency_key,
        outcome__in=("ok", "duplicate", "timeout_after_accept"),
    ).exclude(operation="lookup")
    assert sends.count() == 1  # found again by reconcile, never sent twice
