"""The crisis demo: four weeks of baseline, one past incident closed, a storm ready to stage.

* **Baseline.** The demo's sandbox accounts have a month of engagement but customers' messages
  only for the last day (``sandbox/demo.py``). The four weeks before are backfilled as hourly
  counts (:class:`HourlyVolume`) drawn from the sandbox world's own model: each account's
  messages a day, spread over the hours by its audience's rhythm (``world.Audience``), seeded;
  the negative share is the demo inbox's own (else 30 %). The last day is counted from the
  real inbox, as the worker does.
* **A past incident**, twelve days ago: the alert that opened it, ten customers who wrote
  about the delays (the public ones answered with the approved statement at once, the private
  ones in person, one still waiting), ticks by every department but HR, a note, and
  its close two days later.
* **Two past drills**, scored (``drill_demo.py``).
* **The storm**: managers stage the sandbox's crisis from the Crisis page
  (``actions.stage_sandbox_crisis``), or admins from the sandbox admin.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace

from . import actions
from .models import Alert, AlertState, HourlyVolume, Incident, IncidentTask, TimelineEntry

HOUR = dt.timedelta(hours=1)
HISTORY = dt.timedelta(weeks=4)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def backfill_baseline(workspace: Workspace, now: dt.datetime) -> int:
    """Four weeks of hourly counts before the real inbox's first day; returns the hours."""
    from portevoix.inbox.models import InboundMessage
    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxAccount

    accounts = list(SandboxAccount.objects.filter(workspace=workspace, simulate=True))
    if not accounts or HourlyVolume.objects.filter(workspace=workspace).exists():
        return 0
    audiences = [(a, world.Audience(list(a.cohorts.all()))) for a in accounts]
    messages = InboundMessage.objects.filter(channel__workspace=workspace)
    total = messages.count()
    share = messages.filter(sentiment="negative").count() / total if total else 0.3
    first = messages.order_by("created_at").values_list("created_at", flat=True).first()
    end = actions._floor_hour(first or now - dt.timedelta(days=1))
    rng = random.Random(world.seed_digest("crisis-demo", workspace.slug))
    rows = []
    hour = end - HISTORY
    while hour < end:
        middle = hour + HOUR / 2
        lam = sum(
            a.inbound_per_day / 24 * audience.activity(middle) / audience.mean
            for a, audience in audiences
            if audience.mean
        )
        count = _poisson(rng, lam)
        negative = sum(1 for _ in range(count) if rng.random() < share)
        rows.append(HourlyVolume(workspace=workspace, hour=hour, total=count, negative=negative))
        hour += HOUR
    HourlyVolume.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _past_incident(workspace: Workspace, now: dt.datetime) -> Incident | None:
    if Incident.objects.filter(workspace=workspace).exists():
        return None
    people = {
        m.user.email.split("@")[0]: m
        for m in Member.objects.filter(workspace=workspace).select_related("user")
    }
    sophie = people.get("sophie")
    if sophie is None:
        return None
    opened = (now - dt.timedelta(days=12)).replace(hour=13, minute=20, second=0, microsecond=0)
    samples = [
        "@lumiere le retard de livraison c'est une honte, 3 semaines sans nouvelles 😡",
        "Toujours pas reçu ma commande Lumière Cosmétiques, retard de livraison inadmissible",
        "Retard de livraison encore et encore, plus jamais Lumière",
        "@lumiere where is my order? the delivery delay is ridiculous",
        "Le retard de livraison de Lumière Cosmétiques : quelqu'un a eu une réponse ?",
    ]
    alert = Alert.objects.create(
        workspace=workspace,
        raised_at=opened - dt.timedelta(minutes=25),
        window_start=opened - dt.timedelta(hours=1, minutes=25),
        window_end=opened - dt.timedelta(minutes=25),
        observed=11,
        expected=1.4,
        p_value=2.1e-7,
        weeks_of_data=4,
        network="sandbox",
        terms=["retard", "livraison"],
        weekday=(opened - dt.timedelta(minutes=55))
        .astimezone(ZoneInfo(workspace.time_zone))
        .weekday(),
        hour=(opened - dt.timedelta(minutes=55)).astimezone(ZoneInfo(workspace.time_zone)).hour,
        messages=[
            {
                "at": (opened - dt.timedelta(minutes=80 - 12 * n)).isoformat(),
                "network": "sandbox",
                "text": t,
                "ref": "",
            }
            for n, t in enumerate(samples)
        ],
    )
    incident = actions.open_incident(
        workspace,
        by=sophie,
        title="Retards de livraison de décembre",
        severity="high",
        alert=alert,
        terms=["livraison", "expédition", "delivery"],
    )
    talks = _past_conversations(incident, opened)
    # Each department works through its list (Sophie ticks marketing's); HR's stays open: no
    # account was hijacked, which the summary says.
    ticks = [
        ("nadia", "customer_service", 35),
        ("elodie", "communication", 25),
        ("camille", "legal", 70),
        ("julien", "sales", 110),
        ("sophie", "marketing", 90),
        ("antoine", "finance", 160),
    ]
    for who, code, minutes in ticks:
        member = people.get(who)
        tasks = IncidentTask.objects.filter(incident=incident, department__code=code).order_by(
            "position", "pk"
        )
        if member is None:
            continue
        for n, task in enumerate(tasks):
            if not actions.may_tick(member, task):
                continue
            at = opened + dt.timedelta(minutes=minutes + 20 * n)
            actions.set_task_done(task, by=member, done=True)
            IncidentTask.objects.filter(pk=task.pk).update(done_at=at)
            # The tick's timeline entry is the newest (a stored sentence: not found by text).
            entry = TimelineEntry.objects.filter(incident=incident, kind="ticked").latest("pk")
            TimelineEntry.objects.filter(pk=entry.pk).update(at=at)
    note = actions.add_note(
        incident,
        by=sophie,
        text=(
            "Le transporteur confirme un incident sur son entrepôt de Lyon ; "
            "réponse commune avec le service client."
        ),
    )
    TimelineEntry.objects.filter(pk=note.pk).update(at=opened + dt.timedelta(minutes=50))
    _past_statement(incident, people, opened)
    _past_replies(incident, people, opened, talks)
    actions.close_incident(
        incident,
        by=sophie,
        summary=(
            "Colis débloqués en 48 h ; un message d’excuse et un code de réduction envoyés "
            "aux clients concernés. RH non concernés : aucun compte de l’entreprise n’a été "
            "détourné."
        ),
    )
    closed = opened + dt.timedelta(days=2, hours=3)
    Incident.objects.filter(pk=incident.pk).update(opened_at=opened, closed_at=closed)
    TimelineEntry.objects.filter(incident=incident, kind="opened").update(at=opened)
    TimelineEntry.objects.filter(incident=incident, kind="closed").update(at=closed)
    Alert.objects.filter(pk=alert.pk).update(state=AlertState.INCIDENT)
    _forget_later_conversations(incident, opened, closed)
    # The storm in the counts too, shaped like the sandbox's (a two-hour ramp, then an ebb).
    start = actions._floor_hour(opened - dt.timedelta(hours=2))
    for n, row in enumerate(
        HourlyVolume.objects.filter(workspace=workspace, hour__gte=start, hour__lt=closed).order_by(
            "hour"
        )
    ):
        extra = round(12 * min(1.0, (n + 0.5) / 2) * math.exp(-max(0.0, n - 12) / 12))
        HourlyVolume.objects.filter(pk=row.pk).update(
            total=row.total + extra, negative=row.negative + extra
        )
    return incident


#: The customers who wrote during the incident: (minutes after it opened, private, text).
CONVERSATIONS = [
    (4, False, "@lumiere toujours pas de nouvelles de ma commande, le retard de livraison c'est "
     "trop 😡"),
    (11, True, "Bonjour, ma commande 48213 n'est toujours pas livrée, la livraison était "
     "prévue il y a dix jours. Pouvez-vous me dire où elle en est ?"),
    (19, False, "@lumiere where is my order? Three weeks, the delivery delay is ridiculous"),
    (27, False, "@lumiere la livraison de mon coffret de Noël, c'est pour quand ?"),
    (38, True, "Bonsoir, le suivi de ma livraison ne bouge plus depuis Lyon, que se passe-t-il ?"),
    (52, False, "@lumiere pas d'expédition depuis une semaine, vous pouvez expliquer ?"),
    (75, False, "@lumiere any news on my delivery? My parcel has been stuck in Lyon for days"),
    (104, True, "Bonjour, si la livraison n'arrive pas avant le 24 je voudrais être remboursée."),
    (150, False, "@lumiere retard de livraison encore, c'est la dernière fois que je commande"),
    (230, False, "@lumiere merci pour le message, mais ma livraison est toujours bloquée"),
]  # fmt: skip


def _forget_later_conversations(
    incident: Incident, opened: dt.datetime, closed: dt.datetime
) -> None:
    """The incident was opened now and moved twelve days back: the demo day's conversations
    about deliveries, labelled as it opened, are not its own."""
    from portevoix.inbox.models import Conversation

    from . import statements
    from .models import CrisisConversation

    later = CrisisConversation.objects.filter(incident=incident).exclude(
        conversation__created_at__gte=opened - dt.timedelta(hours=2),
        conversation__created_at__lt=closed,
    )
    ids = list(later.values_list("conversation_id", flat=True))
    later.delete()
    Conversation.labels.through.objects.filter(
        conversation_id__in=ids, label=statements.crisis_label(incident.workspace)
    ).delete()


def _past_conversations(incident: Incident, opened: dt.datetime) -> list[Any]:
    """The customers who wrote about the delays while the incident was open: written into the
    inbox at their times (triage labels them; the open incident labels them as its own)."""
    from portevoix.inbox.ingest import ingest
    from portevoix.inbox.models import Conversation
    from portevoix.networks.types import Author, InboundItem, InboundKind

    from . import statements

    channel = next(
        (
            c
            for c in statements.statement_channels(incident.workspace, incident)
            if c.network == "sandbox"
        ),
        None,
    )
    if channel is None:
        return []
    items = [
        InboundItem(
            network="sandbox",
            message_id=f"demo-incident-{n}",
            kind=InboundKind.DM if private else InboundKind.MENTION,
            author=Author(id=f"sbx-user-incident{n}", handle=f"cliente_noel_{n}"),
            text=text,
            created_at=opened + dt.timedelta(minutes=minutes),
            thread_id=f"dm-incident-{n}" if private else None,
            extra={"sandbox": "true"},
        )
        for n, (minutes, private, text) in enumerate(CONVERSATIONS)
    ]
    ingest(channel, items)
    return list(
        Conversation.objects.filter(
            channel=channel, messages__message_id__startswith="demo-incident-"
        )
        .distinct()
        .order_by("created_at")
    )


def _past_replies(
    incident: Incident, people: dict[str, Member], opened: dt.datetime, talks: list[Any]
) -> None:
    """The team's answers: the approved statement to every public crisis conversation at
    once (Lucas), and answers in private (Nadia for what triage routed to customer service,
    Lucas for the rest); the last customer still waits. Their
    times moved to the incident's, as the worker leaves them once the network confirmed."""
    from portevoix.care.models import SlaClock
    from portevoix.inbox import actions as inbox
    from portevoix.inbox.models import Conversation, Reply
    from portevoix.publishing.models import Publication, PublicationStates

    from . import statements
    from .models import CrisisConversation

    statement = statements.current_statement(incident)
    lucas, nadia = people.get("lucas"), people.get("nadia")
    if statement is None or lucas is None or nadia is None:
        return
    labelled = set(
        CrisisConversation.objects.filter(incident=incident).values_list(
            "conversation_id", flat=True
        )
    )
    talks = [c for c in talks if c.pk in labelled]
    public = [c for c in talks[:-1] if not c.is_private]
    private = [c for c in talks[:-1] if c.is_private]
    statements.reply_with_statement(statement, public, by=lucas)
    for conversation in private:
        # Customer service answers what triage routed to it; the social team the rest.
        who = nadia if conversation.department_id == nadia.department_id else lucas
        try:
            inbox.reply(
                conversation,
                by=who,
                text=(
                    f"Bonjour, ici {who.user.display_name.split()[0]} de Lumière. Votre colis "
                    "est bloqué dans "
                    "l'entrepôt de notre transporteur à Lyon : je le suis personnellement et "
                    "je vous écris dès qu'il repart."
                ),
            )
        except ActionRefused:  # a step this demo's settings refuse is skipped
            continue
    # The statement could go out once legal approved it (65 minutes after the opening): the
    # earlier customers waited for it, the later ones got it within minutes.
    approved = opened + dt.timedelta(minutes=66)
    for n, reply in enumerate(
        Reply.objects.filter(conversation__in=talks).select_related("conversation", "post")
    ):
        conversation = reply.conversation
        if reply.private:
            at = conversation.created_at + dt.timedelta(minutes=14 + 3 * n)
        else:
            at = max(approved, conversation.created_at + dt.timedelta(minutes=6)) + dt.timedelta(
                minutes=n
            )
        Reply.objects.filter(pk=reply.pk).update(created_at=at)
        for publication in Publication.objects.filter(
            post=reply.post, state=PublicationStates.scheduled.name
        ):
            publication.transition(
                PublicationStates.published,
                fields={
                    "published_at": at,
                    "network_post_id": f"demo-incident-reply-{reply.pk}",
                    "scheduled_at": at,
                },
            )
        Conversation.objects.filter(pk=conversation.pk).update(
            first_response_at=at, last_reply_at=at, last_message_at=at
        )
        clock = SlaClock.objects.filter(conversation=conversation).first()
        if clock is not None:
            due = clock.first_response_due_at
            SlaClock.objects.filter(pk=clock.pk).update(
                state="idle", first_response_breached_at=due if due and due < at else None
            )
    TimelineEntry.objects.filter(incident=incident, kind="surge").update(at=approved)


STATEMENT = (
    "Nous savons que de nombreuses commandes de décembre sont en retard et nous en sommes "
    "désolés. Notre transporteur a un incident sur son entrepôt de Lyon : nos équipes "
    "suivent chaque colis et répondent à chacun d'entre vous en message privé."
)


def _past_statement(incident: Incident, people: dict[str, Member], opened: dt.datetime) -> None:
    """The past incident's holding statement: drafted by Sophie, approved by Camille (legal)
    through the approvals, published on every channel; its times moved to the incident's."""
    from portevoix.publishing.approvals import actions as approvals
    from portevoix.publishing.approvals.models import ApprovalStep, StepState
    from portevoix.publishing.models import Publication, PublicationStates

    from . import statements

    sophie, camille = people.get("sophie"), people.get("camille")
    channels = statements.statement_channels(incident.workspace, incident)
    if sophie is None or camille is None or not channels:
        return
    usable = [c for c in channels if not statements.channel_problems([c], STATEMENT, {})]
    if not usable:
        return
    statement = statements.save_statement(
        incident, by=sophie, text=STATEMENT, channel_ids=[c.pk for c in usable]
    )
    statements.send_to_legal(statement, by=sophie)
    statement.refresh_from_db()
    step = ApprovalStep.objects.filter(post=statement.post, state=StepState.WAITING).first()
    if step is None:
        return
    approvals.approve(step, by=camille, comment="OK pour publication, sans promesse de délai.")
    sent, approved = opened + dt.timedelta(minutes=40), opened + dt.timedelta(minutes=65)
    ApprovalStep.objects.filter(pk=step.pk).update(requested_at=sent, decided_at=approved)
    # As the worker leaves them once the network confirmed (the demo does not wait for it).
    for n, publication in enumerate(
        Publication.objects.filter(post=statement.post, state=PublicationStates.scheduled.name)
    ):
        publication.transition(
            PublicationStates.published,
            fields={
                "published_at": approved + dt.timedelta(minutes=1 + n),
                "network_post_id": f"demo-statement-{statement.pk}-{publication.channel_id}",
                "scheduled_at": approved,
            },
        )
    entries = TimelineEntry.objects.filter(incident=incident, kind="statement").order_by("id")
    for entry, at in zip(
        entries, (opened + dt.timedelta(minutes=30), sent, approved), strict=False
    ):
        TimelineEntry.objects.filter(pk=entry.pk).update(at=at)


def _custody(workspace: Workspace) -> int:
    """Who holds the demo channels' logins and second factors."""
    from portevoix.channels.models import Channel

    from . import lockdown

    people = {
        m.user.email.split("@")[0]: m
        for m in Member.objects.filter(workspace=workspace).select_related("user")
    }
    admin = next((m for m in people.values() if m.role == "admin" and m.is_active), None)
    holder = people.get("lucas") or people.get("sophie")
    if admin is None or holder is None:
        return 0
    done = 0
    for n, channel in enumerate(Channel.objects.filter(workspace=workspace).order_by("pk")):
        lockdown.save_custody(
            channel,
            by=admin,
            login_holder=holder if n % 2 == 0 else people.get("sophie"),
            recovery=f"social+{channel.pk}@lumiere.demo" if n % 3 else "+33 6 12 34 56 78",
            second_factor_holder=admin,
            second_factor_method="Application d'authentification du téléphone partagé",
            notes="Codes de secours dans le coffre du service communication.",
        )
        done += 1
    return done


def _impact_demo(incident: Incident | None, now: dt.datetime) -> int:
    """The past incident's impact across Sophie's workspaces: her second brand (the agency
    case) gets a sandbox channel with a few messages in the incident's window, an alert of
    its own then, and a post planned for next week that mentions the crisis's terms."""
    from portevoix.channels import actions as channel_actions
    from portevoix.inbox.ingest import ingest
    from portevoix.networks.types import Author, InboundItem, InboundKind
    from portevoix.publishing.actions import Composition, Variant, When, save_post, submit_post
    from portevoix.sandbox import service

    if incident is None:
        return 0
    # Its times were set by an update after it was made: read them back, not the object's.
    incident.refresh_from_db(fields=["opened_at", "closed_at"])
    sophie = Member.objects.filter(
        workspace=incident.workspace, user__email__startswith="sophie@"
    ).first()
    if sophie is None:
        return 0
    other = (
        Member.objects.filter(user_id=sophie.user_id, is_active=True, role="admin")
        .exclude(workspace=incident.workspace)
        .select_related("workspace")
        .first()
    )
    if other is None or Alert.objects.filter(workspace=other.workspace).exists():
        return 0
    brand = other.workspace
    account = service.create_account(
        f"{brand.slug}-demo", display_name=brand.name, workspace=brand, simulate=False
    )
    channel = channel_actions.connect_channel(
        brand,
        by=other,
        network="sandbox",
        credentials=service.credentials_for(account),
        name=f"{brand.name} (bac à sable)",
    )
    opened = incident.opened_at
    said = [
        ("Livraison de la bière de Noël en retard chez nous aussi ?", 10),
        ("Vous utilisez le même transporteur que Lumière ? Ma livraison est bloquée", 25),
        ("Super soirée hier au Port, merci !", 40),
        ("Toujours pas de livraison, c'est pénible", 70),
        ("Votre ambrée est excellente", 95),
        ("Commande passée, livraison annoncée en retard…", 130),
    ]
    ingest(
        channel,
        [
            InboundItem(
                network="sandbox",
                message_id=f"demo-impact-{brand.pk}-{n}",
                kind=InboundKind.COMMENT,
                author=Author(
                    id=f"demo-client-{n}", handle=f"client{n}", display_name=f"Client {n}"
                ),
                text=text,
                created_at=opened + dt.timedelta(minutes=minutes),
            )
            for n, (text, minutes) in enumerate(said)
        ],
    )
    Alert.objects.create(
        workspace=brand,
        raised_at=opened + dt.timedelta(hours=2),
        window_start=opened + dt.timedelta(hours=1),
        window_end=opened + dt.timedelta(hours=2),
        observed=5,
        expected=0.6,
        p_value=8.4e-6,
        weeks_of_data=0,
        network="sandbox",
        terms=["livraison", "retard"],
        state=AlertState.DISMISSED,
        messages=[
            {
                "at": (opened + dt.timedelta(minutes=m)).isoformat(),
                "network": "sandbox",
                "text": t,
                "ref": "",
            }
            for t, m in said
            if "livraison" in t.lower()
        ],
    )
    post = save_post(
        brand,
        by=other,
        composition=Composition(
            text="Livraison offerte sur les coffrets de Noël jusqu'à dimanche !",
            title="Coffrets de Noël",
            variants=(Variant(channel=channel),),
            when=When.AT,
            at=now + dt.timedelta(days=5),
        ),
    )
    submit_post(post, by=other)
    return 1


@transaction.atomic
def load_crisis_demo(workspace: Workspace, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    hours = backfill_baseline(workspace, now)
    counted = actions.count_hours(workspace, now)
    incident = _past_incident(workspace, now)
    custody = _custody(workspace)
    from .drill_demo import load_drill_demo

    drills = load_drill_demo(workspace, now=now)
    impact = _impact_demo(incident, now)
    return {
        "impact": impact,
        "backfilled": hours,
        "counted": counted,
        "incident": incident,
        "custody": custody,
        "drills": drills,
    }
