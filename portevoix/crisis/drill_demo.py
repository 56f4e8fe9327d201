"""Two past drills for the demo, scored, so the drills page and the training records are filled.

* **A staged crisis** (intensity 3) nineteen days ago: its alert 40 minutes after the start,
  Sophie opens the incident 15 minutes later, customer service, communication, legal and sales
  tick their lists; eight sandbox conversations came in, most answered within the SLA.
* **A busy webcare evening** (three times the customers) six days ago: twelve conversations,
  answered by Lucas and Nadia, a few late.

The sandbox world cannot be replayed in the past (its accounts move with the clock), so the
messages are written straight into the inbox (``inbox.ingest``, triage labels them) with their
times, their first answers set on the conversations, and each drill scored by
:func:`portevoix.crisis.drills.score` from those rows; the members' replies are then written
as the conversations' assignees answered them (a demo has no reply posts to send).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from portevoix.core.models import Member, Workspace

from . import actions, drills
from .models import Alert, Drill, DrillResult, IncidentTask, TimelineEntry

CRISIS_TEXTS = [
    "@lumiere le retard de livraison c'est inadmissible, ma commande date de 3 semaines",
    "Toujours rien reçu, Lumière Cosmétiques ne répond pas sur le retard de livraison 😡",
    "@lumiere where is my order?? delivery delay again",
    "Je boycotte Lumière après ce retard de livraison #boycottlumiere",
    "@lumiere vous pouvez me dire où en est mon colis ? retard de livraison",
    "Retard de livraison chez Lumière, quelqu'un a eu une réponse ?",
    "@lumiere honte à vous, le retard de livraison dure depuis des semaines",
    "@lumiere still waiting for my parcel, 3 weeks",
]
EVENING_TEXTS = [
    "Bonjour, le sérum Éclat convient-il aux peaux sensibles ?",
    "@lumiere vous livrez en Belgique ?",
    "Hello, is the Velours cream vegan?",
    "Bonsoir, j'ai un code promo qui ne marche pas",
    "@lumiere le mascara volume revient quand en stock ?",
    "Est-ce que la recharge du sérum existe en 50 ml ?",
    "Bonsoir, ma commande est arrivée abîmée",
    "@lumiere vous faites des coffrets pour Noël ?",
    "Hi, can I change my delivery address?",
    "Bonjour, quels sont vos délais de livraison en ce moment ?",
    "@lumiere la crème Velours pique un peu, normal ?",
    "Le baume cerise est-il testé sur les animaux ?",
]


def _people(workspace: Workspace) -> dict[str, Member]:
    return {
        m.user.email.split("@")[0]: m
        for m in Member.objects.filter(workspace=workspace).select_related("user")
    }


def _ingest(channel: Any, texts: list[str], start: dt.datetime, key: str) -> list[Any]:
    """Write the drill's customer messages into the inbox at their times; their conversations."""
    from portevoix.inbox.ingest import ingest
    from portevoix.inbox.models import Conversation
    from portevoix.networks.types import Author, InboundItem, InboundKind

    items = [
        InboundItem(
            network="sandbox",
            message_id=f"demo-drill-{key}-{n}",
            kind=InboundKind.MENTION if text.startswith("@") else InboundKind.DM,
            author=Author(id=f"sbx-user-drill{key}{n}", handle=f"client_{key}_{n}"),
            text=text,
            created_at=start + dt.timedelta(minutes=6 + 9 * n),
            thread_id=None if text.startswith("@") else f"dm-drill-{key}-{n}",
            extra={"sandbox": "true"},
        )
        for n, text in enumerate(texts)
    ]
    ingest(channel, items)
    return list(
        Conversation.objects.filter(
            channel=channel, messages__message_id__startswith=f"demo-drill-{key}-"
        )
        .distinct()
        .order_by("created_at")
    )


def _answer(conversations: list[Any], who: list[Member], late: set[int]) -> dict[int, int]:
    """Set each conversation's first answer (late ones after two hours); replies per member."""
    from portevoix.care.models import SlaClock
    from portevoix.inbox.models import Conversation

    replies: dict[int, int] = {}
    for n, conversation in enumerate(conversations):
        member = who[n % len(who)]
        took = dt.timedelta(hours=2, minutes=10) if n in late else dt.timedelta(minutes=12 + n)
        Conversation.objects.filter(pk=conversation.pk).update(
            assignee=member,
            first_response_at=conversation.created_at + took,
            last_reply_at=conversation.created_at + took,
            state="waiting",
        )
        replies[member.pk] = replies.get(member.pk, 0) + 1
        # The clock saw the answer: nothing left to watch (a late one was breached).
        clock = SlaClock.objects.filter(conversation=conversation).first()
        if clock is not None:
            due = clock.first_response_due_at
            SlaClock.objects.filter(pk=clock.pk).update(
                state="idle",
                first_response_breached_at=due if n in late and due else None,
            )
    return replies


def _write_replies(drill: Drill, replies: dict[int, int], in_sla: dict[int, int]) -> None:
    for member_id, count in replies.items():
        row, _ = DrillResult.objects.get_or_create(drill=drill, member_id=member_id)
        row.replies = row.first_replies = count
        row.first_replies_in_sla = in_sla.get(member_id, 0)
        row.first_action_seconds = row.first_action_seconds or 20 * 60
        row.save()


def _in_sla_by_member(conversations: list[Any]) -> dict[int, int]:
    from portevoix.inbox.models import Conversation

    found: dict[int, int] = {}
    for conversation in Conversation.objects.filter(
        pk__in=[c.pk for c in conversations]
    ).select_related("sla_clock"):
        if conversation.assignee_id and drills._in_sla(conversation):
            found[conversation.assignee_id] = found.get(conversation.assignee_id, 0) + 1
    return found


def load_drill_demo(workspace: Workspace, *, now: dt.datetime | None = None) -> list[Drill]:
    from portevoix.channels.models import Channel

    if Drill.objects.filter(workspace=workspace).exists():
        return []
    now = now or timezone.now()
    people = _people(workspace)
    sophie, lucas, nadia = people.get("sophie"), people.get("lucas"), people.get("nadia")
    channel = Channel.objects.filter(workspace=workspace, network="sandbox").order_by("pk").first()
    if sophie is None or lucas is None or nadia is None or channel is None:
        return []
    made: list[Drill] = []

    # 1. The staged crisis.
    start = (now - dt.timedelta(days=19)).replace(hour=14, minute=0, second=0, microsecond=0)
    drill = Drill.objects.create(
        workspace=workspace,
        kind="crisis",
        intensity=3.0,
        started_by=sophie,
        started_at=start,
        ends_at=now + dt.timedelta(hours=2),  # running while the incident opens
    )
    talks = _ingest(channel, CRISIS_TEXTS, start, "c")
    label = drills.drill_label(workspace)
    for conversation in talks:
        conversation.labels.add(label)
    raised = start + dt.timedelta(minutes=40)
    alert = Alert.objects.create(
        workspace=workspace,
        raised_at=raised,
        window_start=raised - dt.timedelta(minutes=30),
        window_end=raised,
        observed=9,
        expected=0.6,
        p_value=3.2e-8,
        weeks_of_data=4,
        network="sandbox",
        terms=["retard", "livraison"],
        weekday=raised.weekday(),
        hour=raised.hour,
        messages=[
            {"at": raised.isoformat(), "network": "sandbox", "text": t, "ref": ""}
            for t in CRISIS_TEXTS[:5]
        ],
    )
    drills.claim_alert(alert)
    incident = actions.open_incident(
        workspace, by=sophie, title="Exercice : retard de livraison", severity="high", alert=alert
    )
    opened = raised + dt.timedelta(minutes=15)
    ticks = [
        ("nadia", "customer_service", 35),
        ("elodie", "communication", 50),
        ("camille", "legal", 80),
        ("julien", "sales", 150),
    ]
    for who, code, minutes in ticks:
        member = people.get(who)
        if member is None:
            continue
        for task in IncidentTask.objects.filter(incident=incident, department__code=code):
            actions.set_task_done(task, by=member, done=True)
            IncidentTask.objects.filter(pk=task.pk).update(
                done_at=opened + dt.timedelta(minutes=minutes)
            )
    replies = _answer(talks, [lucas, nadia], late={6})
    drills.end_drill(drill, by=sophie, now=start + dt.timedelta(hours=3))
    ended = start + dt.timedelta(hours=3)
    incident.refresh_from_db()
    type(incident).objects.filter(pk=incident.pk).update(opened_at=opened, closed_at=ended)
    TimelineEntry.objects.filter(incident=incident, kind="opened").update(at=opened)
    TimelineEntry.objects.filter(incident=incident, kind="closed").update(at=ended)
    TimelineEntry.objects.filter(incident=incident, kind="ticked").update(at=opened)
    Drill.objects.filter(pk=drill.pk).update(ended_at=ended, ends_at=ended)
    drill.refresh_from_db()
    drills.score(drill)
    _write_replies(drill, replies, _in_sla_by_member(talks))
    made.append(drill)

    # 2. The busy evening.
    start = (now - dt.timedelta(days=6)).replace(hour=19, minute=0, second=0, microsecond=0)
    evening = Drill.objects.create(
        workspace=workspace,
        kind="evening",
        intensity=3.0,
        state="ended",
        started_by=sophie,
        started_at=start,
        ends_at=start + dt.timedelta(hours=2),
        ended_at=start + dt.timedelta(hours=2),
    )
    talks = _ingest(channel, EVENING_TEXTS, start, "e")
    for conversation in talks:
        conversation.labels.add(label)
    replies = _answer(talks, [lucas, nadia, lucas], late={4, 9, 11})
    drills.score(evening)
    _write_replies(evening, replies, _in_sla_by_member(talks))
    made.append(evening)
    return made
