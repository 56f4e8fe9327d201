"""Publishing exactly once: what the worker does with a publication in each automatic state.

The rule (ARCHITECTURE §4), and how each part of it is kept here:

* **A durable "sending" mark before every call.** :func:`mark_sending` commits ``sending_at``
  (and ``first_attempt_at`` the first time) under this worker's claim, and in the same write
  stretches the lease to cover the whole call (its timeout plus a margin), so no other worker
  can take the row while the call may still be running, even if the heartbeat stops.
* **A row found with the mark is reconciled, never sent blind**, however long ago the mark was
  made and whichever path led back to ``scheduled`` (a retry, a reconnect, "send now", a
  resumed pause, an edit): :func:`handle_scheduled` looks at the mark before anything else,
  before the lateness check too. The mark is cleared only by a definite answer: the network
  confirmed the post, refused it before accepting anything, or ``reconcile`` found nothing.
* **Reconcile waits for the network to settle** (the lost call's timeout) and then asks for
  the post made under the publication's own key, after its first attempt, and not recorded by
  another publication. What stays ambiguous goes to a person (``needs_check``).
* **The network's post id is stored the moment it answers**: the result is written with the
  transition to ``published`` by the engine, fenced by this worker's claim; a result is
  accepted as long as this worker holds the row (a slow success is never thrown away).
* **Transient errors retry with back-off until the workspace's lateness limit**, then the
  workspace's rule applies: hold and ask a person, or send late (up to a week).
* Rate limits wait for the network's own reset time; permanent refusals fail at once and tell
  the author; a refused token marks the channel for reconnection and the post waits for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext_noop

from portevoix.channels import clients
from portevoix.channels.messages import network_problem
from portevoix.channels.models import Channel, ChannelStates
from portevoix.core.models import LatePolicy
from portevoix.core.sentences import Sentence
from portevoix.networks.base import Network
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    NetworkError,
    OutcomeUnknown,
    Permanent,
    RateLimited,
)
from portevoix.networks.types import OutgoingPost, PublishedRef
from portevoix.publishing import events
from portevoix.publishing.approvals.actions import send_time_check
from portevoix.publishing.models import Publication, PublicationStates
from portevoix.worker.models import LeaseLost, Outcome

log = logging.getLogger(__name__)

#: Added to a call's timeout: the lease outlasts the call, and reconcile waits this much more.
MARGIN = dt.timedelta(seconds=5)
#: With "send late", a post is still retried up to this late, then it fails.
SEND_LATE_CEILING = dt.timedelta(days=7)
#: After this many failed reconcile attempts in a row, a person looks instead.
RECONCILE_TRIES = 20
#: Posts recorded by other publications this long before the first attempt are excluded too
#: (a network's clock may differ from ours).
EXCLUDE_BEFORE = dt.timedelta(days=1)

S = PublicationStates


def _error(exc: BaseException) -> str:
    if isinstance(exc, NetworkError):
        return f"{type(exc).__name__} ({exc.network} {exc.code}): {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def say(message: str, **params: object) -> str:
    """A problem to store: an English message id and its parameters, rendered in each
    reader's language when a page shows it (``core.sentences``)."""
    values = {k: v.dumps() if isinstance(v, Sentence) else str(v) for k, v in params.items()}
    return Sentence(message, values).dumps()


def problem_of(exc: NetworkError) -> str:
    """The network's refusal, to store: rendered later in the reader's language."""
    return network_problem(exc).dumps()


def _later(problem: str, previous: str) -> str:
    """A problem sentence that keeps the network's last reason, if any."""
    if previous and previous != problem:
        return say(
            gettext_noop("%(problem)s Last answer from the network: %(previous)s"),
            problem=problem,
            previous=previous,
        )
    return problem


def _notify(publication: Publication, kind: str) -> Callable[[], None]:
    pk = publication.pk

    def send() -> None:
        events.publication_needs_attention(pk, kind)

    return send


def mark_sending(publication: Publication, *, timeout: float) -> dt.datetime:
    """Commit the "sending" mark under this worker's claim; the lease covers the call.

    Raises ``LeaseLost`` if the claim is no longer ours (another worker took the row over) or
    if the row already carries a mark (never send over one).
    """
    now = timezone.now()
    covered = now + dt.timedelta(seconds=timeout) + MARGIN
    conn = connections[Publication.objects.db]
    when, until = (conn.ops.adapt_datetimefield_value(v) for v in (now, covered))
    # One statement, written directly (it runs before every call to a network):
    # sending_at = now, first_attempt_at = COALESCE(first_attempt_at, now),
    # locked_until = GREATEST(locked_until, covered), under this claim, over no other mark.
    table = conn.ops.quote_name(Publication._meta.db_table)
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET sending_at = %s, "  # noqa: S608 - a quoted table name
            "first_attempt_at = COALESCE(first_attempt_at, %s), "
            "locked_until = CASE WHEN locked_until > %s THEN locked_until ELSE %s END "
            "WHERE id = %s AND state = %s AND locked_by = %s AND sending_at IS NULL",
            [when, when, until, until, publication.pk, S.scheduled.name, publication.locked_by],
        )
        written = cursor.rowcount
    if written != 1:
        raise LeaseLost(f"Publication {publication.pk}: not ours to send any more")
    publication.sending_at = now
    publication.first_attempt_at = publication.first_attempt_at or now
    return now


def _published(publication: Publication, ref: PublishedRef, now: dt.datetime) -> Outcome:
    ids = [*ref.all_post_ids]
    if ref.extra.get("first_comment"):
        ids.append(ref.extra["first_comment"])
    return Outcome(
        S.published,
        fields={
            "network_post_id": ref.post_id,
            "network_post_ids": ids,
            "url": ref.url[:500],
            "published_at": ref.published_at or now,
            "sending_at": None,
            "candidates": [],
            "problem": "",
        },
    )


def _channel_refused(channel: Channel, exc: AuthExpired, now: dt.datetime) -> None:
    """The token was refused: the channel shows it and needs reconnecting."""
    Channel.objects.filter(pk=channel.pk, state=ChannelStates.active.name).update(
        state=ChannelStates.needs_reconnect.name,
        state_changed_at=now,
        next_attempt_at=None,
        problem=problem_of(exc),
    )
    clients.forget(channel)


def _outgoing(publication: Publication) -> OutgoingPost | Outcome:
    try:
        return publication.outgoing()
    except FileNotFoundError as exc:
        return Outcome(
            S.rejected,
            fields={
                "problem": say(
                    gettext_noop("A file of this post is missing from the media storage: %(name)s"),
                    name=exc.filename or "",
                )
            },
            after=_notify(publication, "rejected"),
        )


def lateness_rule(publication: Publication, now: dt.datetime) -> Outcome | None:
    """``held`` or ``failed`` when the post is later than its workspace allows, else None."""
    if publication.late_ok:
        return None
    workspace = publication.post.workspace
    late = now - publication.scheduled_at
    limit = dt.timedelta(minutes=workspace.lateness_limit_minutes)
    if late <= limit:
        return None
    hours = late.total_seconds() / 3600
    if workspace.when_late == LatePolicy.SEND:
        if late <= SEND_LATE_CEILING:
            return None
        return Outcome(
            S.failed,
            fields={
                "problem": _later(
                    say(
                        gettext_noop(
                            "Not published: it was due %(hours)s hours ago and kept failing."
                        ),
                        hours=round(hours),
                    ),
                    publication.problem,
                )
            },
            after=_notify(publication, "failed"),
        )
    return Outcome(
        S.held,
        fields={
            "problem": _later(
                say(
                    gettext_noop(
                        "Held: it was due %(hours)s hours ago, later than this workspace's "
                        "limit of %(limit)s minutes. Send it late or cancel it."
                    ),
                    hours=f"{hours:.1f}",
                    limit=workspace.lateness_limit_minutes,
                ),
                publication.problem,
            )
        },
        after=_notify(publication, "held"),
    )


def reconcile_at(publication: Publication, settle: float) -> dt.datetime:
    """When a reconcile can be trusted: the lost call can no longer land after this."""
    sent = publication.sending_at or timezone.now()
    return sent + dt.timedelta(seconds=settle) + MARGIN


def handle_scheduled(publication: Publication) -> Outcome:
    now = timezone.now()
    channel = publication.channel
    if publication.sending_at is not None:
        # An earlier attempt may have reached the network (a worker died mid-call, a lost
        # answer): find out first, whatever led back here and however late it is.
        return Outcome(S.outcome_unknown, fields={"problem": ""})
    if channel.is_manual:
        return by_hand(publication)
    rule = lateness_rule(publication, now)
    if rule is not None:
        return rule
    rule = send_time_check(publication)
    if rule is not None:
        return rule
    if channel.state == ChannelStates.disconnected.name:
        return Outcome(
            S.rejected,
            fields={
                "problem": say(
                    gettext_noop("The channel %(name)s is disconnected."), name=channel.name
                )
            },
            after=_notify(publication, "rejected"),
        )
    if channel.state == ChannelStates.needs_reconnect.name:
        return Outcome(
            S.waiting_reconnect,
            fields={
                "problem": say(
                    gettext_noop("The channel %(name)s needs to be reconnected."),
                    name=channel.name,
                )
            },
            after=_notify(publication, "waiting_reconnect"),
        )
    post = _outgoing(publication)
    if isinstance(post, Outcome):
        return post
    settle = 0.0
    try:
        with clients.checkout(channel) as network:
            settle = network.settle
            mark_sending(publication, timeout=network.timeout)
            ref = _send(network, publication, post)
    except LeaseLost:
        raise
    except OutcomeUnknown as exc:
        # The mark stays: the next step asks the network, once the call cannot land any more.
        return Outcome(
            S.outcome_unknown,
            at=reconcile_at(publication, settle),
            fields={"problem": problem_of(exc)},
        )
    except RateLimited as exc:
        return Outcome(
            S.scheduled,
            at=exc.reset_at or now + dt.timedelta(minutes=5),
            fields={"sending_at": None, "problem": problem_of(exc)},
        )
    except AuthExpired as exc:
        _channel_refused(channel, exc, now)
        return Outcome(
            S.waiting_reconnect,
            fields={"sending_at": None, "problem": problem_of(exc)},
            after=_notify(publication, "waiting_reconnect"),
        )
    except Permanent as exc:
        return Outcome(
            S.rejected,
            fields={"sending_at": None, "problem": problem_of(exc)},
            after=_notify(publication, "rejected"),
        )
    except NetworkError as exc:
        # Transient (and anything else typed): nothing was accepted; retry with back-off
        # until the lateness limit.
        return Outcome(
            S.scheduled,
            retry=True,
            error=_error(exc),
            fields={"sending_at": None, "problem": problem_of(exc)},
        )
    return _published(publication, ref, now)


def by_hand(publication: Publication) -> Outcome:
    """A manual channel's post at its time: never sent; its owner is reminded to publish it.

    The approvals are asked again, as before any send (an edit since the approval sends it
    back); a disconnected channel refuses it as for any network. No lateness rule: a person
    publishes it, late or not, and the attention page shows it once it is late.
    """
    rule = send_time_check(publication)
    if rule is not None:
        return rule
    channel = publication.channel
    if channel.state == ChannelStates.disconnected.name:
        return Outcome(
            S.rejected,
            fields={
                "problem": say(
                    gettext_noop("The channel %(name)s is disconnected."), name=channel.name
                )
            },
            after=_notify(publication, "rejected"),
        )
    pk = publication.pk

    def remind() -> None:
        from portevoix.publishing import manual

        manual.remind(pk)

    return Outcome(S.waiting_manual, fields={"problem": ""}, after=remind)


def _send(network: Network, publication: Publication, post: OutgoingPost) -> PublishedRef:
    """One call: a post (or a public reply, ``in_reply_to``), or a private answer."""
    if publication.private and publication.in_reply_to:
        return network.reply(
            publication.in_reply_to,
            post.text,
            idempotency_key=publication.idempotency_key,
            private=True,
        )
    return network.publish(post, idempotency_key=publication.idempotency_key)


def recorded_elsewhere(publication: Publication) -> frozenset[str]:
    """Post ids that other publications of this channel already recorded as theirs."""
    since = (publication.first_attempt_at or timezone.now()) - EXCLUDE_BEFORE
    ids: set[str] = set()
    rows = (
        Publication.objects.filter(channel_id=publication.channel_id)
        .exclude(pk=publication.pk)
        .exclude(network_post_id="")
        .filter(published_at__gte=since)
        .values_list("network_post_id", "network_post_ids")
    )
    for first, others in rows:
        ids.add(first)
        if isinstance(others, list):
            ids.update(str(i) for i in others)
    return frozenset(ids)


def _candidates(exc: Ambiguous) -> list[dict[str, Any]]:
    return [
        {
            "post_id": c.post_id,
            "url": c.url,
            "text": c.text[:1000],
            "created_at": c.created_at.isoformat() if c.created_at else "",
            "note": c.note,
        }
        for c in exc.candidates[:20]
    ]


def handle_outcome_unknown(publication: Publication) -> Outcome:
    now = timezone.now()
    channel = publication.channel
    if channel.state == ChannelStates.needs_reconnect.name:
        return Outcome(
            S.waiting_reconnect,
            fields={
                "problem": say(
                    gettext_noop(
                        "The channel %(name)s needs to be reconnected; then Porte-voix checks "
                        "whether the post went out before sending anything."
                    ),
                    name=channel.name,
                )
            },
            after=_notify(publication, "waiting_reconnect"),
        )
    if channel.state == ChannelStates.disconnected.name:
        return Outcome(
            S.needs_check,
            fields={
                "problem": say(
                    gettext_noop(
                        "The channel %(name)s was disconnected before Porte-voix could check "
                        "whether this post went out: look on the network."
                    ),
                    name=channel.name,
                )
            },
            after=_notify(publication, "needs_check"),
        )
    post = _outgoing(publication)
    if isinstance(post, Outcome):
        return post
    try:
        with clients.checkout(channel) as network:
            ready = reconcile_at(publication, network.settle)
            if publication.sending_at is not None and now < ready:
                return Outcome(S.outcome_unknown, at=ready)
            ref = network.reconcile(
                publication.idempotency_key,
                post=post,
                since=publication.first_attempt_at,
                exclude=recorded_elsewhere(publication),
            )
    except Ambiguous as exc:
        return Outcome(
            S.needs_check,
            fields={"problem": problem_of(exc), "candidates": _candidates(exc)},
            after=_notify(publication, "needs_check"),
        )
    except RateLimited as exc:
        return Outcome(S.outcome_unknown, at=exc.reset_at or now + dt.timedelta(minutes=5))
    except AuthExpired as exc:
        _channel_refused(channel, exc, now)
        return Outcome(
            S.waiting_reconnect,
            fields={"problem": problem_of(exc)},
            after=_notify(publication, "waiting_reconnect"),
        )
    except NetworkError as exc:
        if publication.attempts + 1 >= RECONCILE_TRIES:
            return Outcome(
                S.needs_check,
                fields={
                    "problem": say(
                        gettext_noop(
                            "Porte-voix could not check whether this post went out (%(reason)s): "
                            "look on the network."
                        ),
                        reason=problem_of(exc),
                    )
                },
                after=_notify(publication, "needs_check"),
            )
        return Outcome(
            S.outcome_unknown, retry=True, error=_error(exc), fields={"problem": problem_of(exc)}
        )
    if ref is None:
        # The network has no such post: publishing again, with the same key, is safe.
        return Outcome(S.scheduled, fields={"sending_at": None, "problem": ""})
    parts = len(post.parts())
    if len(ref.all_post_ids) < parts:
        if channel.network_class.completes_threads:
            # A thread cut midway: publishing again under the same key adds the missing
            # parts and repeats none.
            return Outcome(S.scheduled, fields={"sending_at": None, "problem": ""})
        return Outcome(
            S.needs_check,
            fields={
                "problem": say(
                    gettext_noop(
                        "Only %(found)s of the %(parts)s parts of this thread are on the network: "
                        "finish it there, then mark it as published."
                    ),
                    found=len(ref.all_post_ids),
                    parts=parts,
                ),
                "candidates": [
                    {"post_id": pid, "url": ref.url if i == 0 else "", "text": "", "note": ""}
                    for i, pid in enumerate(ref.all_post_ids)
                ],
            },
            after=_notify(publication, "needs_check"),
        )
    return _published(publication, ref, now)
