"""Outgoing webhooks, signed as the Standard Webhooks specification says (docs/webhooks.md).

* :func:`emit` queues one :class:`WebhookDelivery` per active subscription to the event, in
  the caller's transaction, with a stable ``msg_...`` id derived from the event's own key, so
  an event emitted twice (a scanner run again after a crash) is delivered once per subscriber.
* The worker delivers each row (:func:`deliver`): ``POST`` with ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
  id.timestamp.body>`` under the subscription's ``whsec_`` secret; a 2xx is delivered,
  anything else is retried after :data:`RETRY_DELAYS` (more than a day in all), then failed.
* A failed delivery is replayed from the deliveries page or the API (:func:`replay`).

Where the events come from: conversations created (the inbox's ingest hook) and assigned
(the inbox's change hook), incidents opened and alerts raised (crisis's actions), in the
transaction that made them; posts published or failed and
SLA breaches by a scanner the worker runs every minute (a housekeeping job), which reads the
rows changed since it last looked, so nothing is missed while the worker is down.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

import httpx
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from portevoix.api import outbound
from portevoix.api.models import (
    Event,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from portevoix.worker.models import Outcome

#: Delays before each new attempt (Standard Webhooks' suggested schedule): the last attempt
#: is about 27.6 hours after the first.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
#: The scanner reads rows changed up to this long ago: a transition written with an earlier
#: time but committed after a scan is still found by the next one.
SCAN_LAG = dt.timedelta(seconds=60)
TIMEOUT = 10.0
USER_AGENT = "Porte-voix-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body``,
    keyed with the base64-decoded part of the ``whsec_`` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def message_id(event: str, key: str) -> str:
    return "msg_" + hashlib.sha256(f"{event}:{key}".encode()).hexdigest()[:32]


def active_subscriptions(workspace_id: int) -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(workspace_id=workspace_id, is_active=True))


def emit(
    workspace_id: int,
    event: str,
    key: str,
    data: dict[str, Any],
    *,
    subscriptions: Sequence[WebhookSubscription] | None = None,
) -> int:
    """Queue ``event`` for every active subscription of the workspace that wants it.
    ``key`` identifies the event (the same key is the same event: queued once).

    ``subscriptions``: the workspace's active subscriptions (:func:`active_subscriptions`)
    when the caller emits many events in one transaction and has read them once."""
    assert event in Event.values, event
    if subscriptions is None:
        subscriptions = active_subscriptions(workspace_id)
    subscriptions = [s for s in subscriptions if event in s.events]
    if not subscriptions:
        return 0
    now = timezone.now()
    made = 0
    mid = message_id(event, key)
    payload = json.loads(
        json.dumps({"type": event, "timestamp": now, "data": data}, cls=DjangoJSONEncoder)
    )
    for subscription in subscriptions:
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(
                    subscription=subscription,
                    event=event,
                    message_id=mid,
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                )
                made += 1
        except IntegrityError:
            continue  # already queued: the receiver gets it once
    return made


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def deliver(delivery: WebhookDelivery) -> Outcome:
    """The handler of ``pending``: one attempt."""
    subscription = delivery.subscription
    now = timezone.now()
    attempt = delivery.attempts + 1
    if not subscription.is_active:
        return Outcome("failed", fields={"problem": "The subscription is paused."})
    body = body_of(delivery)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(subscription.secret, delivery.message_id, timestamp, body),
    }
    status: int | None = None
    try:
        # Checked again after DNS resolution: no private, loopback or metadata address.
        with outbound.client(timeout=TIMEOUT) as client:
            response = client.post(subscription.url, content=body, headers=headers)
        status = response.status_code
        error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    fields: dict[str, Any] = {"last_status": status, "last_attempt_at": now}
    if status is not None and 200 <= status < 300:
        return Outcome("delivered", fields={**fields, "delivered_at": now, "problem": ""})
    if attempt > len(RETRY_DELAYS):
        return Outcome(
            "failed",
            fields={**fields, "problem": f"Gave up after {attempt} attempts: {error}"},
        )
    return Outcome(
        "pending",
        retry=True,
        error=error,
        delay=RETRY_DELAYS[attempt - 1],
        fields={**fields, "problem": f"Attempt {attempt}: {error}"},
    )


# --- where events come from -------------------------------------------------------------------


def on_ingested(ingested: Any) -> None:
    """The inbox's hook: "conversation created" for each conversation the batch started. The
    subscriptions are read once per batch (in its transaction), not once per conversation."""
    if not ingested.new_conversations:
        return
    subscriptions = [
        s
        for s in active_subscriptions(ingested.channel.workspace_id)
        if Event.CONVERSATION_CREATED in s.events
    ]
    if not subscriptions:
        return
    for conversation in ingested.new_conversations:
        emit(
            conversation.workspace_id,
            Event.CONVERSATION_CREATED,
            str(conversation.pk),
            conversation_data(conversation),
            subscriptions=subscriptions,
        )


def on_conversation_changed(conversation: Any, fields: frozenset[str]) -> None:
    if "assignee" in fields and conversation.assignee_id is not None:
        emit(
            conversation.workspace_id,
            Event.CONVERSATION_ASSIGNED,
            f"{conversation.pk}:{conversation.assignee_id}:{timezone.now().isoformat()}",
            conversation_data(conversation),
        )


def on_incident_opened(incident: Any) -> None:
    """Crisis's ``open_incident`` calls this in its transaction: the delivery rows commit (or
    roll back) with the incident, and the worker sends them only once they are committed."""
    emit(
        incident.workspace_id,
        Event.INCIDENT_OPENED,
        str(incident.pk),
        {
            "incident_id": incident.pk,
            "title": incident.title,
            "severity": incident.severity,
            "owner_id": incident.owner_id,
            "alert_id": incident.alert_id,
            "terms": list(incident.terms),
            "opened_at": incident.opened_at,
        },
    )


def on_alert_raised(alert: Any) -> None:
    """Crisis's ``raise_alert`` calls this in its transaction (see :func:`on_incident_opened`)."""
    emit(
        alert.workspace_id,
        Event.ALERT_RAISED,
        str(alert.pk),
        {
            "alert_id": alert.pk,
            "raised_at": alert.raised_at,
            "window_start": alert.window_start,
            "window_end": alert.window_end,
            "observed": alert.observed,
            "expected": alert.expected,
            "p_value": alert.p_value,
            "network": alert.network,
            "terms": list(alert.terms),
        },
    )


def conversation_data(conversation: Any) -> dict[str, Any]:
    return {
        "conversation_id": conversation.pk,
        "channel_id": conversation.channel_id,
        "kind": conversation.kind,
        "state": conversation.state,
        "assignee_id": conversation.assignee_id,
        "department_id": conversation.department_id,
        "preview": conversation.preview,
    }


def _cursor(name: str, now: dt.datetime) -> WebhookCursor:
    cursor, _created = WebhookCursor.objects.select_for_update().get_or_create(
        name=name, defaults={"seen_until": now}
    )
    return cursor


@transaction.atomic
def scan(now: dt.datetime | None = None) -> str:
    """Queue the events found in rows changed since the last scan: publications published
    or failed, SLA targets breached."""
    from portevoix.care.models import SlaClock
    from portevoix.publishing.models import PostKind, Publication

    now = (now or timezone.now()) - SCAN_LAG
    counted = 0
    cursor = _cursor("publications", now)
    rows = Publication.objects.filter(
        state__in=("published", "failed"),
        state_changed_at__gt=cursor.seen_until,
        state_changed_at__lte=now,
        post__kind=PostKind.POST,
    ).select_related("post", "channel")
    for row in rows:
        event = Event.POST_PUBLISHED if row.state == "published" else Event.POST_FAILED
        counted += emit(
            row.post.workspace_id,
            event,
            f"{row.pk}:{row.state}:{row.state_changed_at.isoformat()}",
            {
                "post_id": row.post_id,
                "publication_id": row.pk,
                "channel_id": row.channel_id,
                "state": row.state,
                "url": row.url,
                "published_at": row.published_at,
                "problem": row.problem,
            },
        )
    cursor.seen_until = now
    cursor.save(update_fields=["seen_until"])
    sla = _cursor("sla", now)
    for target in ("first_response", "next_response", "resolution"):
        clocks = SlaClock.objects.filter(
            **{f"{target}_breached_at__gt": sla.seen_until, f"{target}_breached_at__lte": now}
        ).select_related("conversation")
        for clock in clocks:
            breached = getattr(clock, f"{target}_breached_at")
            counted += emit(
                clock.conversation.workspace_id,
                Event.CONVERSATION_SLA_BREACHED,
                f"{clock.conversation_id}:{target}:{breached.isoformat()}",
                {
                    **conversation_data(clock.conversation),
                    "target": target,
                    "breached_at": breached,
                },
            )
    sla.seen_until = now
    sla.save(update_fields=["seen_until"])
    return f"{counted} webhook deliveries queued"
