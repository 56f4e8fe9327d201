"""Every change crisis makes: counting hours, raising alerts, incidents and their checklists.

Each action checks permission (``crisis.declare`` to open, close and shape incidents and the
playbook; a department's members tick their own list), locks what it changes, writes the audit
entry and the incident's timeline in the same transaction, and tells people through the one
notification path (inside the transaction: its rows are the outbox).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Avg, Q
from django.http import Http404
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portevoix.api import webhooks
from portevoix.core import audit
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member, Workspace
from portevoix.core.permissions import can, require
from portevoix.core.sentences import Sentence, counted

from . import detect, drills, notices, signals
from .models import (
    Alert,
    AlertState,
    DrillKind,
    HourlyVolume,
    Incident,
    IncidentTask,
    PlaybookItem,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from .playbook import DEFAULT_PLAYBOOK

HOUR = dt.timedelta(hours=1)
#: The first count of a workspace reaches this far back (then one hour at a time).
FIRST_COUNT = dt.timedelta(weeks=detect.WARM_WEEKS)
#: The topic is what sets the causing messages apart from what was said in this period before.
TOPIC_BACKGROUND = dt.timedelta(days=7)
#: At most this many causing messages are kept on an alert.
KEEP_MESSAGES = 50


def _check(by: Member, workspace: Workspace, action: str) -> None:
    if by.workspace_id != workspace.pk:
        raise Http404("not found")  # an outsider learns nothing
    if workspace.archived_at is not None:
        raise ActionRefused(_("This workspace is archived."), code="archived")
    require(by, action)


def _actor(by: Member | None) -> str:
    if by is None:
        return ""
    return str(by.user.display_name)


def _timeline(
    incident: Incident, kind: str, detail: str | Sentence = "", by: Member | None = None
) -> None:
    """A timeline entry; a :class:`Sentence` is stored as such and read in each reader's
    language (the incident's page, the report), a person's text as written."""
    TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        detail=detail.dumps() if isinstance(detail, Sentence) else detail[:2000],
        actor=_actor(by)[:200],
    )


# --- counting and detection ----------------------------------------------------------------


def _floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def count_hours(workspace: Workspace, now: dt.datetime) -> int:
    """Count every closed hour not counted yet (the first time, the last four weeks)."""
    end = _floor_hour(now)
    last = (
        HourlyVolume.objects.filter(workspace=workspace)
        .order_by("-hour")
        .values_list("hour", flat=True)
        .first()
    )
    if last is not None:
        start = last + HOUR
    else:
        # The first count starts at the first item seen: hours before the workspace had any
        # channel are not quiet hours, they are no data.
        first = signals.gather(workspace.pk, end - FIRST_COUNT, end)
        if not first:
            return 0
        start = _floor_hour(first[0].at)
    if start >= end:
        return 0
    counts: dict[dt.datetime, list[int]] = {}
    moment = start
    while moment < end:
        counts[moment] = [0, 0]
        moment += HOUR
    for item in signals.gather(workspace.pk, start, end):
        row = counts[_floor_hour(item.at)]
        row[0] += 1
        row[1] += int(item.is_negative)
    HourlyVolume.objects.bulk_create(
        [
            HourlyVolume(workspace=workspace, hour=hour, total=total, negative=negative)
            for hour, (total, negative) in counts.items()
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return len(counts)


def baseline_for(
    workspace: Workspace, before: dt.datetime, *, count: str = "negative"
) -> detect.Baseline:
    """The hour-of-week baseline of the negative messages (``count="total"``: of all)."""
    since = before - dt.timedelta(weeks=detect.HISTORY_WEEKS)
    hours = list(
        drills.exclude_drill_hours(
            HourlyVolume.objects.filter(workspace=workspace, hour__gte=since, hour__lt=before),
            workspace.pk,
        )
        .order_by("hour")
        .values_list("hour", count)
    )
    global_prior = None
    if len(hours) < 24:
        # Every workspace's counts, but none of this one's from ``before`` on: a new
        # workspace's first counted hour may be the storm being tested, which must not set
        # its own bar.
        found = HourlyVolume.objects.exclude(workspace=workspace, hour__gte=before).aggregate(
            rate=Avg(count)
        )["rate"]
        global_prior = float(found) if found is not None else None
    return detect.build_baseline(hours, ZoneInfo(workspace.time_zone), global_prior=global_prior)


def vocabulary_for(workspace: Workspace, before: dt.datetime) -> detect.Vocabulary:
    """The words said over :data:`detect.TERM_HISTORY` before ``before``, without the hours
    a drill touched (as the baselines): a drill's staged storm would otherwise make its words
    common, and a real storm about the same thing a week later would rise unseen."""
    found = signals.gather(workspace.pk, before - detect.TERM_HISTORY, before)
    hours = drills.drill_hours(workspace.pk)
    if hours:
        found = [s for s in found if not any(first <= s.at < end for first, end in hours)]
    return detect.Vocabulary.of_signals(found)


def in_cooldown(workspace: Workspace, now: dt.datetime) -> bool:
    # An ended drill's alert holds back nothing real.
    return (
        Alert.objects.filter(
            workspace=workspace, raised_at__gt=now - detect.COOLDOWN, raised_at__lte=now
        )
        .exclude(drills__state="ended")
        .exists()
    )


def check_workspace(workspace: Workspace, now: dt.datetime | None = None) -> Alert | None:
    """Count the closed hours, then test the last half hour, hour and three hours against the
    baseline (``detect.evaluate``: the volume, and a word's sudden rise); an alert when one
    departs from it (and none was raised in the cooldown)."""
    now = now or timezone.now()
    count_hours(workspace, now)
    if in_cooldown(workspace, now):
        return None
    window_start = now - detect.WINDOW
    # The baseline is built from hours before the window, so a surge does not raise its own bar.
    baseline = baseline_for(workspace, _floor_hour(window_start))
    zone = ZoneInfo(workspace.time_zone)
    recent = signals.gather(workspace.pk, window_start, now)
    vocabulary = totals = None
    if detect.rising_words(recent, end=now):
        # Rare (a word in three messages at least, mostly negative): what was said before.
        vocabulary = vocabulary_for(workspace, _floor_hour(window_start))
        totals = baseline_for(workspace, _floor_hour(window_start), count="total")
    found = detect.evaluate(
        recent, baseline, end=now, zone=zone, vocabulary=vocabulary, totals=totals
    )
    if found is None:
        return None
    # Rare (an alert): name the topic against what was said in the week before.
    before = signals.gather(workspace.pk, window_start - TOPIC_BACKGROUND, window_start)
    terms = detect.top_terms((s.text for s in found.causes), (s.text for s in before))
    if found.term:  # the word whose rise raised it comes first
        terms = [found.term, *(t for t in terms if t != found.term)][:3]
    found.terms = terms
    return raise_alert(workspace, found, now=now)


@transaction.atomic
def raise_alert(workspace: Workspace, found: detect.Finding, *, now: dt.datetime) -> Alert | None:
    """Store the alert, note it on an open incident, tell who is on duty and the managers."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if in_cooldown(workspace, now):
        return None  # another worker raised it meanwhile
    alert = Alert.objects.create(
        workspace=workspace,
        raised_at=now,
        window_start=found.start,
        window_end=found.end,
        observed=found.observed,
        expected=found.expected,
        p_value=found.p_value,
        weeks_of_data=found.weeks,
        network=found.network,
        terms=found.terms,
        weekday=found.weekday,
        hour=found.hour,
        messages=[
            {"at": s.at.isoformat(), "network": s.network, "text": s.text[:500], "ref": s.ref}
            for s in found.causes[-KEEP_MESSAGES:]
        ],
    )
    drills.claim_alert(alert)  # while a crisis drill runs, its alert is the drill's
    audit.record(
        "crisis.alert",
        workspace=workspace,
        actor=None,
        obj=alert,
        after={
            "observed": found.observed,
            "expected": round(found.expected, 2),
            "p": found.p_value,
        },
    )
    params = notices.alert_params(alert)
    with translation.override(workspace.language or "fr"):
        summary = notices.explain(params)
    for incident in Incident.objects.filter(workspace=workspace, closed_at__isnull=True):
        TimelineEntry.objects.create(
            incident=incident, at=now, kind=TimelineKind.ALERT, detail=summary, alert=alert
        )
    from portevoix.notifications.actions import notify

    notify(
        workspace,
        notices.ALERT,
        alert_recipients(workspace, now),
        obj=alert,
        params={
            **params,
            "window_start_at": found.start.isoformat(),
            "window_end_at": found.end.isoformat(),
            "samples": [s.text[:200] for s in found.causes[-3:]],
        },
        url=reverse("crisis_alert", kwargs={"ws": workspace.slug, "pk": alert.pk}),
        key=f"crisis-alert-{alert.pk}",
    )
    webhooks.on_alert_raised(alert)
    return alert


def alert_recipients(workspace: Workspace, now: dt.datetime) -> list[Member]:
    """Whoever is on duty on the webcare rota now, and the members who may declare a crisis."""
    from portevoix.care import rota

    people = list(rota.status(workspace, now).on_duty)
    members = Member.objects.filter(workspace=workspace, is_active=True).select_related("user")
    people += [m for m in members if can(m, "crisis.declare")]
    return [m for m in people if can(m, "crisis.view")]


def check_all(now: dt.datetime | None = None) -> int:
    """The worker's run: every workspace that has channels; returns the alerts raised."""
    from portevoix.channels.models import Channel

    now = now or timezone.now()
    raised = 0
    ids = Channel.objects.values_list("workspace_id", flat=True).distinct()
    for workspace in Workspace.objects.filter(pk__in=list(ids), archived_at__isnull=True):
        if check_workspace(workspace, now) is not None:
            raised += 1
    return raised


@transaction.atomic
def dismiss_alert(alert: Alert, *, by: Member) -> Alert:
    workspace = Workspace.objects.get(pk=alert.workspace_id)
    _check(by, workspace, "crisis.declare")
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.state != AlertState.OPEN:
        raise ActionRefused(_("This alert was already handled."))
    alert.state = AlertState.DISMISSED
    alert.save(update_fields=["state"])
    audit.record("crisis.alert_dismiss", workspace=workspace, actor=by.user, obj=alert)
    return alert


# --- the playbook --------------------------------------------------------------------------


def playbook(workspace: Workspace) -> dict[Department, list[str]]:
    """Each active department's checklist: the workspace's own, else seed 001's defaults."""
    departments = list(
        Department.objects.filter(workspace=workspace, is_active=True).order_by("name")
    )
    saved: dict[int, list[str]] = {}
    for item in PlaybookItem.objects.filter(workspace=workspace).order_by("position", "id"):
        saved.setdefault(item.department_id, []).append(item.text)
    has_own = PlaybookItem.objects.filter(workspace=workspace).exists()
    result: dict[Department, list[str]] = {}
    for department in departments:
        if has_own:
            tasks = saved.get(department.pk, [])
        else:
            tasks = [_(t) for t in DEFAULT_PLAYBOOK.get(department.code, ())]
        result[department] = tasks
    return result


def _lines(text: str) -> list[str]:
    lines = [re.sub(r"\s+", " ", line).strip(" -•\t") for line in text.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if len(line) > 300:
            raise ActionRefused(_("Each task holds at most 300 characters."), field="tasks")
    if len(lines) > 30:
        raise ActionRefused(_("A checklist holds at most 30 tasks."), field="tasks")
    return lines


@transaction.atomic
def save_playbook(
    workspace: Workspace, *, by: Member, department: Department, tasks: str
) -> list[PlaybookItem]:
    """Replace one department's checklist (one task a line). The first save keeps every other
    department's default list, so the playbook stays whole."""
    _check(by, workspace, "crisis.declare")
    if department.workspace_id != workspace.pk:
        raise ActionRefused(_("That department does not exist here."), field="department")
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    lines = _lines(tasks)
    current = playbook(workspace)
    if not PlaybookItem.objects.filter(workspace=workspace).exists():
        PlaybookItem.objects.bulk_create(
            [
                PlaybookItem(workspace=workspace, department=d, text=t, position=n)
                for d, items in current.items()
                if d.pk != department.pk
                for n, t in enumerate(items)
            ]
        )
    before = current.get(department, [])
    PlaybookItem.objects.filter(workspace=workspace, department=department).delete()
    made = PlaybookItem.objects.bulk_create(
        [
            PlaybookItem(workspace=workspace, department=department, text=t, position=n)
            for n, t in enumerate(lines)
        ]
    )
    audit.record(
        "crisis.playbook",
        workspace=workspace,
        actor=by.user,
        obj=department,
        before={"tasks": before},
        after={"tasks": lines},
    )
    return made


# --- incidents -----------------------------------------------------------------------------


def open_incident_of(workspace: Workspace) -> Incident | None:
    return (
        Incident.objects.filter(workspace=workspace, closed_at__isnull=True)
        .order_by("opened_at")
        .first()
    )


def parse_terms(text: str) -> list[str]:
    terms = [t.strip() for t in re.split(r"[,;\n]", text) if t.strip()]
    if len(terms) > 20:
        raise ActionRefused(_("At most 20 terms."), field="terms")
    if any(len(t) > 80 for t in terms):
        raise ActionRefused(_("A term holds at most 80 characters."), field="terms")
    return terms


@transaction.atomic
def open_incident(
    workspace: Workspace,
    *,
    by: Member,
    title: str,
    severity: str = Severity.MEDIUM,
    owner: Member | None = None,
    alert: Alert | None = None,
    terms: Sequence[str] | None = None,
) -> Incident:
    """Open an incident (from an alert, or by hand), with each department's checklist."""
    _check(by, workspace, "crisis.declare")
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    title = title.strip()
    if not title:
        raise ActionRefused(_("Give the incident a title."), field="title")
    if len(title) > 200:
        raise ActionRefused(_("The title holds at most 200 characters."), field="title")
    if severity not in Severity.values:
        raise ActionRefused(_("Choose a severity."), field="severity")
    if owner is not None and (owner.workspace_id != workspace.pk or not owner.is_active):
        raise ActionRefused(
            _("The owner must be an active member of this workspace."), field="owner"
        )
    if owner is not None and not can(owner, "crisis.view"):
        raise ActionRefused(_("The owner must be able to follow the crisis."), field="owner")
    if open_incident_of(workspace) is not None:
        raise ActionRefused(
            _("An incident is already open: handle it, or close it before opening another."),
            code="already_open",
        )
    if alert is not None:
        if alert.workspace_id != workspace.pk:
            raise Http404("not found")
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state == AlertState.INCIDENT:
            raise ActionRefused(_("An incident was already opened from this alert."))
    now = timezone.now()
    incident = Incident.objects.create(
        workspace=workspace,
        title=title,
        severity=severity,
        owner=owner or by,
        alert=alert,
        drill=drills.drill_for_new_incident(workspace.pk, alert),
        terms=list(terms if terms is not None else (alert.terms if alert else [])),
        opened_at=now,
        opened_by=by.user,
    )
    # The checklists in the team's language (the workspace's), not the opener's screen's.
    with translation.override(workspace.language or "fr"):
        lists = playbook(workspace)
    IncidentTask.objects.bulk_create(
        [
            IncidentTask(incident=incident, department=department, text=text, position=n)
            for department, tasks in lists.items()
            for n, text in enumerate(tasks)
        ]
    )
    if alert is not None:
        alert.state = AlertState.INCIDENT
        alert.save(update_fields=["state"])
        with translation.override(workspace.language or "fr"):
            summary = notices.explain(notices.alert_params(alert))
        TimelineEntry.objects.create(
            incident=incident,
            at=alert.raised_at,
            kind=TimelineKind.ALERT,
            detail=summary,
            alert=alert,
        )
    _timeline(incident, TimelineKind.OPENED, title, by)
    from .statements import label_conversations

    label_conversations(incident, by=by)
    drills.claim_incident(incident)  # a drill's first incident is the one it is scored on
    audit.record(
        "crisis.open",
        workspace=workspace,
        actor=by.user,
        obj=incident,
        after={"title": title, "severity": severity, "alert": alert.pk if alert else None},
    )
    webhooks.on_incident_opened(incident)
    return incident


def _lock_incident(incident: Incident) -> Incident:
    locked: Incident = (
        Incident.objects.select_for_update().select_related("workspace").get(pk=incident.pk)
    )
    return locked


def may_tick(member: Member, task: IncidentTask) -> bool:
    """A department's members tick their list; those who declare crises tick any."""
    if can(member, "crisis.declare"):
        return True
    return can(member, "crisis.view") and member.department_id == task.department_id


@transaction.atomic
def set_task_done(task: IncidentTask, *, by: Member, done: bool) -> IncidentTask:
    task = (
        IncidentTask.objects.select_for_update()
        .select_related("incident__workspace", "department")
        .get(pk=task.pk)
    )
    incident = task.incident
    if by.workspace_id != incident.workspace_id:
        raise Http404("not found")
    require(by, "crisis.view")
    if not may_tick(by, task):
        raise ActionRefused(
            _("Only the members of %(department)s tick this list.")
            % {"department": task.department.name},
            code="forbidden",
        )
    if incident.closed_at is not None:
        raise ActionRefused(_("This incident is closed."))
    if done == (task.done_at is not None):
        return task
    task.done_at = timezone.now() if done else None
    task.done_by = by if done else None
    task.save(update_fields=["done_at", "done_by"])
    detail = Sentence(
        gettext_noop("%(department)s: %(task)s"),
        {"department": task.department.name, "task": task.text},
    )
    _timeline(incident, TimelineKind.TICKED if done else TimelineKind.UNTICKED, detail, by)
    audit.record(
        "crisis.task_done" if done else "crisis.task_undone",
        workspace=incident.workspace,
        actor=by.user,
        obj=task,
        after={"done": done},
    )
    return task


@transaction.atomic
def pause_publishing(incident: Incident, *, by: Member, campaign: Any = None) -> Any:
    """Pause every scheduled post of the workspace, or one campaign (publishing's pause)."""
    from portevoix.publishing import pause as pauses

    incident = _lock_incident(incident)
    _check(by, incident.workspace, "crisis.view")
    if incident.closed_at is not None:
        raise ActionRefused(_("This incident is closed."))
    if incident.drill_id is not None:
        return _pause_drill(incident, by=by, campaign=campaign)
    scope = campaign if campaign is not None else incident.workspace
    row = pauses.pause(scope, by=by, reason=_pause_reason(incident))
    _timeline(
        incident,
        TimelineKind.PAUSED,
        counted(
            "%(scope)s: %(count)s post held",
            "%(scope)s: %(count)s posts held",
            {"scope": _paused_scope(row).dumps(), "count": row.paused_count},
        ),
        by,
    )
    return row


def _pause_reason(incident: Incident) -> Sentence:
    """The reason a crisis's pause carries (read on publishing's pages in each reader's
    language); also how :func:`pauses_of` finds the pauses it started."""
    return Sentence(gettext_noop("Crisis: %(title)s"), {"title": incident.title})


def pauses_of(incident: Incident) -> list[Any]:
    """The pauses this incident started that still hold posts (a drill's are its own)."""
    from portevoix.publishing import pause as pauses
    from portevoix.publishing.approvals.models import Pause

    if incident.drill_id is not None:
        return []
    reason = pauses._stored_reason(_pause_reason(incident))
    return list(
        Pause.objects.filter(
            workspace_id=incident.workspace_id, ended_at__isnull=True, reason=reason
        ).select_related("campaign", "channel")
    )


def _paused_scope(row: Any) -> Sentence:
    """What a pause holds (publishing's ``pause.describe``) as a sentence to store."""
    if row.channel_id is not None:
        return Sentence(gettext_noop("the channel %(name)s"), {"name": row.channel.name})
    if row.campaign_id is not None:
        return Sentence(gettext_noop("the campaign %(name)s"), {"name": row.campaign.name})
    return Sentence(gettext_noop("the whole workspace"))


@dataclass
class DrillPause:
    """What a drill's "pause" held: the sandbox channels' posts only (lifted when it ends)."""

    paused_count: int
    rows: list[Any]


def _pause_drill(incident: Incident, *, by: Member, campaign: Any) -> DrillPause:
    """A drill pauses its sandbox channels, each on its own: real channels keep publishing
    (a drill must not hold the brand's real posts); the drill's end lifts these pauses."""
    from portevoix.channels.models import Channel
    from portevoix.publishing import pause as pauses

    if campaign is not None:
        raise ActionRefused(
            _(
                "In a drill, pausing holds the sandbox channels' posts only: pause every "
                "scheduled post instead of a campaign."
            ),
            code="drill",
        )
    reason = Sentence(gettext_noop("Drill: %(title)s"), {"title": incident.title})
    rows = []
    for channel in Channel.objects.filter(workspace=incident.workspace, network="sandbox"):
        if pauses.active_pause(channel) is None:
            rows.append(pauses.pause(channel, by=by, reason=reason))
    if not rows:
        raise ActionRefused(_("The sandbox channels are already paused."), code="already_paused")
    held = DrillPause(paused_count=sum(r.paused_count for r in rows), rows=rows)
    _timeline(
        incident,
        TimelineKind.PAUSED,
        counted(
            "Drill: the sandbox channels paused, %(count)s post held; real channels untouched",
            "Drill: the sandbox channels paused, %(count)s posts held; real channels untouched",
            {"count": held.paused_count},
        ),
        by,
    )
    return held


#: Publications not gone out yet, which a crisis may want to hold.
WAITING = ("scheduled", "paused", "held", "pending_approval")


def scan_posts(
    terms: Sequence[str], member: Member, *, states: Sequence[str] = WAITING, limit: int = 100
) -> list[Any]:
    """The publications in ``states`` that ``member`` may see whose text (or their post's, for
    a channel version that keeps the post's text) holds one of ``terms``; the crisis's own
    statements left out. Used by the incident's scan and the impact across workspaces."""
    from portevoix.publishing.models import Publication

    terms = [t for t in terms if t.strip()]
    if not terms:
        return []
    query = Q()
    for term in terms:
        query |= Q(text__icontains=term) | Q(text="", post__text__icontains=term)
    return list(
        Publication.objects.visible_to(member)
        .filter(state__in=states)
        .exclude(post__source="crisis")
        .filter(query)
        .select_related("channel", "post")
        .order_by("scheduled_at")[:limit]
    )


def scan_scheduled(incident: Incident, member: Member) -> list[Any]:
    """The publications not gone out yet whose text mentions one of the crisis's terms."""
    return scan_posts(incident.terms, member)


@transaction.atomic
def set_terms(incident: Incident, *, by: Member, terms: str) -> Incident:
    incident = _lock_incident(incident)
    _check(by, incident.workspace, "crisis.declare")
    before = list(incident.terms)
    incident.terms = parse_terms(terms)
    incident.save(update_fields=["terms"])
    from .statements import label_conversations

    label_conversations(incident, by=by)
    audit.record(
        "crisis.terms",
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        before={"terms": before},
        after={"terms": incident.terms},
    )
    return incident


@transaction.atomic
def add_note(incident: Incident, *, by: Member, text: str) -> TimelineEntry:
    incident = _lock_incident(incident)
    # Every department reports on the timeline: whoever follows the crisis adds to it.
    _check(by, incident.workspace, "crisis.view")
    if incident.closed_at is not None:
        raise ActionRefused(_("This incident is closed."))
    text = text.strip()
    if not text:
        raise ActionRefused(_("Write the note."), field="text")
    if len(text) > 2000:
        raise ActionRefused(_("A note holds at most 2,000 characters."), field="text")
    entry = TimelineEntry.objects.create(
        incident=incident, kind=TimelineKind.NOTE, detail=text, actor=_actor(by)
    )
    audit.record(
        "crisis.note",
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        after={"text": text},
    )
    return entry


@transaction.atomic
def close_incident(
    incident: Incident, *, by: Member, summary: str = "", resume: bool = False
) -> Incident:
    """Close the incident with its summary; with ``resume``, end the pauses it started
    (publishing's ``resume``: what is still on time goes back to its time, the rest waits for
    a person on the attention page). Without it, they stay, and the incident's page says so."""
    incident = _lock_incident(incident)
    _check(by, incident.workspace, "crisis.declare")
    held = pauses_of(incident)
    if resume and held:
        require(by, "post.pause")
    if incident.closed_at is not None:
        raise ActionRefused(_("This incident is already closed."))
    if not summary.strip():
        # The post-incident report opens with it (docs/crisis.md: "closed with a summary").
        raise ActionRefused(
            _("Write a summary: what happened and what was done, for the report."),
            field="summary",
        )
    incident.closed_at = timezone.now()
    incident.closed_by = by.user
    incident.summary = summary.strip()[:5000]
    incident.save(update_fields=["closed_at", "closed_by", "summary"])
    from .statements import end_duty

    end_duty(incident, incident.closed_at)
    if resume:
        from portevoix.publishing import pause as pauses

        for row in held:
            pauses.resume(row, by=by)
            _timeline(
                incident,
                TimelineKind.PAUSED,
                Sentence(
                    gettext_noop("%(scope)s: publishing resumed"),
                    {"scope": _paused_scope(row).dumps()},
                ),
                by,
            )
    _timeline(incident, TimelineKind.CLOSED, incident.summary, by)
    audit.record(
        "crisis.close",
        workspace=incident.workspace,
        actor=by.user,
        obj=incident,
        after={"summary": incident.summary},
    )
    return incident


# --- replaying the sandbox's staged crisis --------------------------------------------------

#: The storms a manager may stage on the sandbox (``sandbox.world.start_crisis`` intensities).
STAGED_INTENSITIES = (1.0, 3.0, 10.0)
STAGED_TOPIC = ("le retard de livraison", "the delivery delay")


@transaction.atomic
def stage_sandbox_crisis(workspace: Workspace, *, by: Member, intensity: float) -> int:
    """Start the sandbox world's staged crisis now on every sandbox account of the workspace
    (a rehearsal: the storm reaches the inbox through the channels' sync, detection runs as
    for a real one). Returns the number of accounts."""
    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxAccount

    _check(by, workspace, "crisis.declare")
    if intensity not in STAGED_INTENSITIES:
        raise ActionRefused(_("Choose one of the offered intensities."), field="intensity")
    accounts = list(
        SandboxAccount.objects.select_for_update().filter(workspace=workspace, simulate=True)
    )
    if not accounts:
        raise ActionRefused(_("This workspace has no sandbox channel whose world moves."))
    now = timezone.now()
    raging = [a for a in accounts if a.crisis_active(now)]
    if raging:
        # Staged again, it would start over from a calm first minute: the storm under way
        # (its ramp, what detection has seen of it) would vanish.
        since = timezone.localtime(raging[0].crisis_started_at, ZoneInfo(workspace.time_zone))
        raise ActionRefused(
            _("A storm is already under way since %(since)s: it ebbs by itself over a day or two.")
            % {"since": formats.time_format(since, "TIME_FORMAT")}
        )
    # The world moves in quarter hours and a step's storm is read at its middle: started now,
    # a storm staged late in a quarter hour would write nothing until the next one ends (up
    # to half an hour of a demo waiting). It starts with the quarter hour under way, whose
    # messages arrive when it ends.
    start = world.floor_step(now)
    for account in accounts:
        world.start_crisis(
            account,
            intensity,
            account.crisis_topic or STAGED_TOPIC[0],
            topic_en=account.crisis_topic_en or STAGED_TOPIC[1],
            at=start,
        )
    audit.record(
        "crisis.stage",
        workspace=workspace,
        actor=by.user,
        after={"intensity": intensity, "accounts": [a.handle for a in accounts]},
    )
    return len(accounts)


@dataclass(frozen=True)
class Storm:
    """The sandbox storm under way in a workspace, as the crisis page shows it."""

    started_at: dt.datetime
    intensity: float
    #: The running crisis drill whose storm it is (ending the drill calms it), or None.
    drill: Any


def storm_under_way(workspace: Workspace, now: dt.datetime | None = None) -> Storm | None:
    from portevoix.sandbox.models import SandboxAccount

    now = now or timezone.now()
    raging = [
        a
        for a in SandboxAccount.objects.filter(workspace=workspace, simulate=True)
        if a.crisis_active(now) and a.crisis_started_at is not None
    ]
    if not raging:
        return None
    first = min(raging, key=lambda a: a.crisis_started_at or now)
    drill = drills.running(workspace.pk)
    return Storm(
        started_at=first.crisis_started_at or now,
        intensity=first.crisis_intensity,
        drill=drill if drill is not None and drill.kind == DrillKind.CRISIS else None,
    )


@transaction.atomic
def calm_sandbox_crisis(workspace: Workspace, *, by: Member) -> int:
    """End the staged storm now on every sandbox account of the workspace (what was written
    stays; the world is calm from the current quarter hour on), so that it can be staged
    again. A crisis drill's storm ends with the drill, not here. Returns the accounts calmed."""
    from portevoix.sandbox import world
    from portevoix.sandbox.models import SandboxAccount

    _check(by, workspace, "crisis.declare")
    drill = drills.running(workspace.pk)
    if drill is not None and drill.kind == DrillKind.CRISIS:
        raise ActionRefused(_("This storm is the drill's: end the drill to calm it."))
    now = timezone.now()
    accounts = [
        a
        for a in SandboxAccount.objects.select_for_update().filter(
            workspace=workspace, simulate=True
        )
        if a.crisis_active(now)
    ]
    if not accounts:
        raise ActionRefused(_("No storm is under way on the sandbox."))
    for account in accounts:
        world.end_crisis(account, at=now)
    audit.record(
        "crisis.calm",
        workspace=workspace,
        actor=by.user,
        after={"accounts": [a.handle for a in accounts]},
    )
    return len(accounts)
