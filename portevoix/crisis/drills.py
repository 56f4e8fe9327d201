"""Drills (issue 12 §6): the team trains on the sandbox world, as if it were real, and is scored.

A manager starts a drill (``crisis.declare``):

* a **staged crisis** at an intensity: the sandbox world's storm (``world.start_crisis``) on
  every sandbox account of the workspace whose world moves; detection, the alert, the incident,
  its checklists and the inbox work as for a real one;
* a **busy webcare evening**: the sandbox's customers write ``intensity`` times as often.

Everything a drill produces is marked as a drill: the alert raised while it runs
(:func:`claim_alert`) and the incident opened during it (:func:`claim_incident`) are linked
to it and shown as such (the banner, their pages, the notification's title), and the sandbox
conversations that start during it get the label "Drill" (:func:`label_conversations`, an
inbox ingest handler). A drill only ever runs on sandbox accounts, so nothing reaches a real
network. Its hours are left out of the crisis baseline (:func:`drill_windows`) and its
conversations out of webcare's metrics (:func:`exclude_drill_conversations`), and once it is
over its alert no longer holds back real alerts (the cooldown).

When it ends (by hand, or by itself at ``ends_at``: the ``crisis-drills`` job), it is scored
(:func:`score`): time from the start to the alert, to the incident, to the holding statement
(when the product has them), to each department's checklist; the share of drill conversations
answered within their SLA target; and per member what they did (:class:`DrillResult`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member, Workspace

from .models import Alert, Drill, DrillKind, DrillResult, DrillState, Incident

#: Staged-crisis intensities offered (``sandbox.world.start_crisis``), and busy-evening factors.
CRISIS_INTENSITIES = (1.0, 3.0, 10.0)
EVENING_FACTORS = (3.0, 6.0)
#: How long a drill may run (hours); it ends by itself after its duration.
DURATIONS = (1, 2, 3)
DEFAULT_DURATION = 2
TOPIC = ("le retard de livraison", "the delivery delay")
#: The targets each time is scored against: 100 points within the target, falling linearly to
#: 0 at three times the target (from the drill's start for the alert, from the alert or the
#: start for the incident, from the incident for the statement and each checklist).
TARGETS = {
    "alert": dt.timedelta(minutes=30),
    "incident": dt.timedelta(minutes=30),
    "statement": dt.timedelta(hours=1),
    "checklist": dt.timedelta(hours=2),
}
#: A conversation without an SLA clock is judged against this first-response target.
DEFAULT_FIRST_RESPONSE = dt.timedelta(hours=1)
#: The inbox label of drill conversations, in the workspace's language.
LABEL = ("Exercice", "Drill")
LABEL_COLOR = "#7c3aed"


def _check(by: Member, workspace: Workspace) -> None:
    from .actions import _check as check

    check(by, workspace, "crisis.declare")


def running(workspace_id: int) -> Drill | None:
    return (
        Drill.objects.filter(workspace_id=workspace_id, state=DrillState.RUNNING)
        .order_by("started_at")
        .first()
    )


# --- starting and ending -------------------------------------------------------------------


@transaction.atomic
def start_drill(
    workspace: Workspace,
    *,
    by: Member,
    kind: str,
    intensity: float,
    hours: int = DEFAULT_DURATION,
    now: dt.datetime | None = None,
) -> Drill:
    """Start a drill on every sandbox account of the workspace whose world moves."""
    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxAccount

    _check(by, workspace)
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if kind == DrillKind.CRISIS:
        if intensity not in CRISIS_INTENSITIES:
            raise ActionRefused(_("Choose one of the offered intensities."), field="intensity")
    elif kind == DrillKind.EVENING:
        if intensity not in EVENING_FACTORS:
            raise ActionRefused(_("Choose one of the offered intensities."), field="intensity")
    else:
        raise ActionRefused(_("Choose a kind of drill."), field="kind")
    if hours not in DURATIONS:
        raise ActionRefused(_("Choose one of the offered durations."), field="hours")
    if running(workspace.pk) is not None:
        raise ActionRefused(_("A drill is already running: end it first."))
    if (
        kind == DrillKind.CRISIS
        and Incident.objects.filter(workspace=workspace, closed_at__isnull=True).exists()
    ):
        raise ActionRefused(_("An incident is open: a crisis drill waits until it is closed."))
    accounts = list(
        SandboxAccount.objects.select_for_update().filter(workspace=workspace, simulate=True)
    )
    if not accounts:
        raise ActionRefused(_("This workspace has no sandbox channel whose world moves."))
    now = now or timezone.now()
    if kind == DrillKind.CRISIS and any(a.crisis_active(now) for a in accounts):
        # The drill would restart it from a calm first minute, and its end would calm a storm
        # it did not start.
        raise ActionRefused(
            _("A storm staged from the crisis page is under way: calm it there first.")
        )
    drill = Drill.objects.create(
        workspace=workspace,
        kind=kind,
        intensity=intensity,
        started_by=by,
        started_at=now,
        ends_at=now + dt.timedelta(hours=hours),
        accounts=[
            {"pk": a.pk, "handle": a.handle, "inbound_per_day": a.inbound_per_day} for a in accounts
        ],
    )
    for account in accounts:
        if kind == DrillKind.CRISIS:
            world.start_crisis(
                account,
                intensity,
                account.crisis_topic or TOPIC[0],
                topic_en=account.crisis_topic_en or TOPIC[1],
                at=now,
                hours=hours,
            )
        else:
            account.inbound_per_day = account.inbound_per_day * intensity
            account.save(update_fields=["inbound_per_day"])
    audit.record(
        "crisis.drill_start",
        workspace=workspace,
        actor=by.user,
        obj=drill,
        after={"kind": kind, "intensity": intensity, "hours": hours},
    )
    return drill


@transaction.atomic
def end_drill(drill: Drill, *, by: Member | None, now: dt.datetime | None = None) -> Drill:
    """End the drill (by a manager, or by itself at its planned end): stop the storm or the
    busy evening, close its incident, score it."""
    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxAccount

    workspace = Workspace.objects.get(pk=drill.workspace_id)
    if by is not None:
        _check(by, workspace)
    drill = Drill.objects.select_for_update().get(pk=drill.pk)
    if drill.state != DrillState.RUNNING:
        raise ActionRefused(_("This drill has already ended."))
    now = now or timezone.now()
    end = min(now, drill.ends_at) if by is None else now
    for row in drill.accounts:
        account = SandboxAccount.objects.select_for_update().filter(pk=row["pk"]).first()
        if account is None:
            continue
        if drill.kind == DrillKind.CRISIS:
            world.end_crisis(account, at=max(end, drill.started_at))
        else:
            account.inbound_per_day = float(row["inbound_per_day"])
            account.save(update_fields=["inbound_per_day"])
    drill.state = DrillState.ENDED
    drill.ended_at = end
    _lift_pauses(drill)
    # Every incident of the drill closes with it (a second one opened from its alert too).
    for incident in Incident.objects.filter(drill=drill, closed_at__isnull=True):
        from .actions import close_incident

        closer = by or drill.started_by
        if closer is not None and closer.is_active:
            with translation.override(workspace.language or "fr"):
                close_incident(incident, by=closer, summary=_("End of the drill."))
    drill.save(update_fields=["state", "ended_at"])
    score(drill)
    audit.record(
        "crisis.drill_end",
        workspace=workspace,
        actor=by.user if by is not None else None,
        obj=drill,
        after={"score": drill.score},
    )
    return drill


def _lift_pauses(drill: Drill) -> int:
    """The pauses of sandbox channels started during the drill end with it."""
    from portevoix.publishing import pause as pauses
    from portevoix.publishing.models import Pause

    lifted = 0
    for row in Pause.objects.filter(
        workspace_id=drill.workspace_id,
        channel__network="sandbox",
        started_at__gte=drill.started_at,
        ended_at__isnull=True,
    ):
        pauses.resume(row, by=None)  # the drill lifts what it paused
        lifted += 1
    return lifted


def end_due(now: dt.datetime | None = None) -> int:
    """The worker's run: end every drill past its planned end; returns how many."""
    now = now or timezone.now()
    ended = 0
    for drill in Drill.objects.filter(state=DrillState.RUNNING, ends_at__lte=now):
        try:
            end_drill(drill, by=None, now=now)
        except ActionRefused:
            continue
        ended += 1
    return ended


# --- what a drill produces is marked ---------------------------------------------------------


def claim_alert(alert: Alert) -> Drill | None:
    """Called when an alert is raised: while a crisis drill runs without an alert, the alert is
    the drill's (its causes come from the sandbox's storm)."""
    drill = running(alert.workspace_id)
    if drill is None or drill.kind != DrillKind.CRISIS or drill.alert_id is not None:
        return None
    Drill.objects.filter(pk=drill.pk).update(alert=alert)
    drill.alert = alert
    return drill


def drill_for_new_incident(workspace_id: int, alert: Alert | None) -> Drill | None:
    """The drill an incident about to open is part of: the drill its alert came from (even
    after the drill's first incident was closed), else a running crisis drill that has no
    incident yet (opened by hand during it); None for a real incident."""
    if alert is not None:
        drill = drill_of_alert(alert)
        if drill is not None:
            return drill
    drill = running(workspace_id)
    if drill is None or drill.kind != DrillKind.CRISIS or drill.incident_id is not None:
        return None
    return drill


def claim_incident(incident: Incident) -> Drill | None:
    """Called when an incident of a drill opens: the drill's first incident is the one its
    scores measure."""
    if incident.drill_id is None:
        return None
    drill = Drill.objects.get(pk=incident.drill_id)
    if drill.incident_id is None:
        Drill.objects.filter(pk=drill.pk).update(incident=incident)
        drill.incident = incident
    return drill


def drill_of_incident(incident: Incident) -> Drill | None:
    return incident.drill if incident.drill_id is not None else None


def drill_of_alert(alert: Alert) -> Drill | None:
    return Drill.objects.filter(alert=alert).first()


def is_drill_alert(alert_id: int) -> bool:
    return Drill.objects.filter(alert_id=alert_id).exists()


def label_conversations(ingested: Any) -> None:
    """Inbox ingest handler: the sandbox conversations that start while a drill runs get the
    label "Drill" (the inbox shows it on the list and the conversation)."""
    channel = ingested.channel
    if channel.network != "sandbox" or not ingested.new_conversations:
        return
    drill = running(channel.workspace_id)
    if drill is None:
        return
    mine = [
        c
        for c in ingested.new_conversations
        if drill.started_at <= c.created_at < (drill.ended_at or drill.ends_at)
    ]
    if not mine:
        return
    label = drill_label(channel.workspace)
    for conversation in mine:
        conversation.labels.add(label)


def drill_label(workspace: Workspace) -> Any:
    from portevoix.inbox.models import Label

    name = LABEL[0] if (workspace.language or "fr").startswith("fr") else LABEL[1]
    label = Label.objects.filter(workspace=workspace, name__in=LABEL).first()
    if label is None:
        label = Label.objects.create(workspace=workspace, name=name, color=LABEL_COLOR)
    return label


# --- keeping drills out of real figures ----------------------------------------------------


def drill_windows(workspace_id: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The periods the workspace's drills ran (a running one: until its planned end)."""
    return [
        (start, ended or ends)
        for start, ended, ends in Drill.objects.filter(workspace_id=workspace_id).values_list(
            "started_at", "ended_at", "ends_at"
        )
    ]


def drill_hours(workspace_id: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The periods the drills touched, from the start of each one's first hour."""
    return [
        (start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0), end)
        for start, end in drill_windows(workspace_id)
    ]


def exclude_drill_hours(queryset: Any, workspace_id: int, field: str = "hour") -> Any:
    """``queryset`` of hourly rows without the hours a drill touched."""
    for first, end in drill_hours(workspace_id):
        queryset = queryset.exclude(**{f"{field}__gte": first, f"{field}__lt": end})
    return queryset


def drill_conversations_q(workspace_id: int, prefix: str = "") -> Q | None:
    """The drill conversations (sandbox channels, started during a drill), as a filter."""
    q: Q | None = None
    for start, end in drill_windows(workspace_id):
        part = Q(
            **{
                f"{prefix}channel__network": "sandbox",
                f"{prefix}created_at__gte": start,
                f"{prefix}created_at__lt": end,
            }
        )
        q = part if q is None else q | part
    return q


def exclude_drill_conversations(queryset: Any, workspace_id: int, prefix: str = "") -> Any:
    q = drill_conversations_q(workspace_id, prefix)
    return queryset if q is None else queryset.exclude(q)


# --- scoring -------------------------------------------------------------------------------


def points(took: dt.timedelta | None, target: dt.timedelta) -> int:
    """100 within the target, falling linearly to 0 at three times it; 0 when never done."""
    if took is None:
        return 0
    if took <= target:
        return 100
    return max(0, round(100 * (3 * target - took) / (2 * target)))


def _seconds(took: dt.timedelta | None) -> int | None:
    return None if took is None else max(0, int(took.total_seconds()))


def _statement_at(incident: Incident | None) -> tuple[bool, dt.datetime | None]:
    """(holding statements exist in the product, when the incident's first was approved)."""
    from portevoix.crisis.statements import first_approved_at

    if incident is None:
        return True, None
    return True, first_approved_at(incident)


def conversations(drill: Drill) -> Any:
    from portevoix.inbox.models import Conversation

    end = drill.ended_at or drill.ends_at
    return Conversation.objects.filter(
        workspace_id=drill.workspace_id,
        channel__network="sandbox",
        created_at__gte=drill.started_at,
        created_at__lt=end,
    ).exclude(state="spam")


def _in_sla(conversation: Any) -> bool:
    first = conversation.first_response_at
    if first is None:
        return False
    clock = getattr(conversation, "sla_clock", None)
    due = clock.first_response_due_at if clock is not None else None
    if due is None:
        due = conversation.created_at + DEFAULT_FIRST_RESPONSE
    return bool(first <= due and (clock is None or clock.first_response_breached_at is None))


def _approvals(drill: Drill) -> list[tuple[int, dt.datetime]]:
    """(approver's user, when) for each approval given on the drill's holding statements."""
    from portevoix.publishing.approvals.models import ApprovalStep, StepState

    from .models import HoldingStatement

    incidents = Q(incident__drill=drill)
    if drill.incident_id is not None:
        incidents |= Q(incident_id=drill.incident_id)
    posts = HoldingStatement.objects.filter(incidents, post__isnull=False).values("post_id")
    return [
        (user_id, at)
        for user_id, at in ApprovalStep.objects.filter(
            post_id__in=posts,
            state=StepState.APPROVED,
            decided_by__isnull=False,
            decided_at__isnull=False,
        )
        .order_by("decided_at")
        .values_list("decided_by_id", "decided_at")
    ]


def score(drill: Drill) -> dict[str, Any]:
    """Compute and store the drill's scores and each member's results."""
    from portevoix.inbox.models import Reply

    from .models import IncidentTask

    start = drill.started_at
    scores: dict[str, Any] = {"kind": drill.kind}
    parts: list[int] = []
    incident = drill.incident
    if drill.kind == DrillKind.CRISIS:
        alert_took = drill.alert.raised_at - start if drill.alert else None
        incident_took = incident.opened_at - start if incident else None
        from_alert = (
            incident.opened_at - drill.alert.raised_at if incident and drill.alert else None
        )
        # Each time shown is the one scored (the drills page says from when): the alert from
        # the start, the incident from the alert (from the start without one), the statement
        # and each checklist from the incident.
        scores["alert_seconds"] = _seconds(alert_took)
        scores["incident_seconds"] = _seconds(
            from_alert if from_alert is not None else incident_took
        )
        parts.append(points(alert_took, TARGETS["alert"]))
        parts.append(
            points(from_alert if from_alert is not None else incident_took, TARGETS["incident"])
        )
        built, statement_at = _statement_at(incident)
        scores["statements_built"] = built
        if built:
            since = statement_at - incident.opened_at if statement_at and incident else None
            scores["statement_seconds"] = _seconds(since)
            parts.append(points(since, TARGETS["statement"]))
        checklists = []
        if incident is not None:
            tasks = list(
                IncidentTask.objects.filter(incident=incident).select_related("department")
            )
            by_department: dict[int, list[IncidentTask]] = {}
            for task in tasks:
                by_department.setdefault(task.department_id, []).append(task)
            for rows in by_department.values():
                times = [t.done_at for t in rows if t.done_at is not None]
                finished = max(times) if len(times) == len(rows) and times else None
                checklists.append(
                    {
                        "department": rows[0].department.name,
                        "done": len(times),
                        "total": len(rows),
                        "seconds": _seconds(finished - incident.opened_at) if finished else None,
                    }
                )
                since = finished - incident.opened_at if finished else None
                parts.append(points(since, TARGETS["checklist"]))
        checklists.sort(key=lambda row: str(row["department"]))
        scores["checklists"] = checklists
    talks = list(conversations(drill).select_related("sla_clock"))
    answered = [c for c in talks if c.first_response_at is not None]
    in_sla = [c for c in talks if _in_sla(c)]
    scores["conversations"] = len(talks)
    scores["answered"] = len(answered)
    scores["in_sla"] = len(in_sla)
    scores["sla_share"] = round(len(in_sla) / len(talks), 3) if talks else None
    if talks:
        parts.append(round(100 * len(in_sla) / len(talks)))
    overall = round(sum(parts) / len(parts)) if parts else 0

    # Per member: replies in the drill's conversations, first replies within the SLA, tasks.
    results: dict[int, dict[str, Any]] = {}

    def result(member_id: int) -> dict[str, Any]:
        return results.setdefault(
            member_id,
            {
                "replies": 0,
                "first_replies": 0,
                "first_replies_in_sla": 0,
                "tasks_done": 0,
                "approvals": 0,
                "opened_incident": False,
                "first": None,
            },
        )

    def acted(row: dict[str, Any], at: dt.datetime) -> None:
        if row["first"] is None or at < row["first"]:
            row["first"] = at

    def members_by_user(user_id: int) -> int | None:
        member_id: int | None = (
            Member.objects.filter(workspace_id=drill.workspace_id, user_id=user_id)
            .values_list("pk", flat=True)
            .first()
        )
        return member_id

    talk_by_pk = {c.pk: c for c in talks}
    first_reply: dict[int, int] = {}
    for reply in Reply.objects.filter(conversation_id__in=list(talk_by_pk)).order_by(
        "created_at", "id"
    ):
        first_reply.setdefault(reply.conversation_id, reply.pk)
        if reply.author_id is None:
            continue
        row = result(reply.author_id)
        row["replies"] += 1
        acted(row, reply.created_at)
        if first_reply[reply.conversation_id] == reply.pk:
            row["first_replies"] += 1
            if _in_sla(talk_by_pk[reply.conversation_id]):
                row["first_replies_in_sla"] += 1
    if incident is not None:
        for task in IncidentTask.objects.filter(incident=incident, done_by__isnull=False):
            if task.done_by_id is None:
                continue
            row = result(task.done_by_id)
            row["tasks_done"] += 1
            if task.done_at:
                acted(row, task.done_at)
        opener = (
            Member.objects.filter(
                workspace_id=drill.workspace_id, user_id=incident.opened_by_id
            ).first()
            if incident.opened_by_id is not None
            else None
        )
        if opener is not None:
            row = result(opener.pk)
            row["opened_incident"] = True
            acted(row, incident.opened_at)
    # Approvals of the drill's holding statements (legal's part), in any of its incidents.
    for user_id, decided_at in _approvals(drill):
        member_id = members_by_user(user_id)
        if member_id is None:
            continue
        row = result(member_id)
        row["approvals"] += 1
        acted(row, decided_at)
    DrillResult.objects.filter(drill=drill).delete()
    DrillResult.objects.bulk_create(
        [
            DrillResult(
                drill=drill,
                member_id=member_id,
                replies=row["replies"],
                first_replies=row["first_replies"],
                first_replies_in_sla=row["first_replies_in_sla"],
                tasks_done=row["tasks_done"],
                approvals=row["approvals"],
                opened_incident=row["opened_incident"],
                first_action_seconds=_seconds(row["first"] - start) if row["first"] else None,
            )
            for member_id, row in results.items()
        ]
    )
    scores["parts"] = parts
    scores["score"] = overall
    drill.scores = scores
    drill.score = overall
    Drill.objects.filter(pk=drill.pk).update(scores=scores, score=overall)
    return scores


def live_scores(drill: Drill) -> dict[str, Any]:
    """The scores so far of a running drill (nothing stored)."""
    found: dict[str, Any] = {}
    try:
        with transaction.atomic():
            found = score(drill)
            raise _Undo
    except _Undo:
        pass
    drill.refresh_from_db()
    return found


class _Undo(Exception):
    """Rolls back the scoring of a running drill (its scores are read, not kept)."""
