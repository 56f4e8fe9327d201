"""The API's listening, crisis and analytics endpoints: mentions (sent to the inbox or to the
ideas), incidents (opened, closed, their checklists ticked) and alerts, metrics (a
publication's snapshots, a channel's account snapshots and daily roll-ups, the goals' KPI
progress).

Same order as every endpoint (see :mod:`portevoix.api.endpoints`): the token's scope, the
member's permission (403), the object among those the member may see (404), then the action
the pages call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.params import functions as param
from pydantic import Field

from portevoix.api.core import MAX_LIMIT, ApiError, need, paginate
from portevoix.api.models import Scope
from portevoix.core.models import Member
from portevoix.core.permissions import require

Limit = param.Query(50, ge=1, le=MAX_LIMIT)


def _answers(ok: Any, status: int = 200) -> dict[int, Any]:
    from portevoix.api.endpoints import answers

    return answers(ok, status)


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApiError(
            422,
            "naive_datetime",
            _("Give the time with its offset (2026-05-01T09:00:00+02:00)."),
            field=field,
        )
    return value


def _not_found() -> ApiError:
    return ApiError(404, "not_found", _("Not found."))


# --- schemas --------------------------------------------------------------------------------


class MentionOut(Schema):
    id: int
    network: str
    author: str
    author_name: str
    author_reach: int
    text: str
    language: str
    url: str
    posted_at: dt.datetime
    sentiment: str
    intent: str
    queries: list[int]
    conversation_id: int | None
    idea_id: int | None


class MentionPage(Schema):
    items: list[MentionOut]
    next_cursor: str | None


class IdeaIn(Schema):
    title: str = Field("", max_length=200)


class SentOut(Schema):
    mention_id: int
    conversation_id: int | None = None
    idea_id: int | None = None


class TaskOut(Schema):
    id: int
    department: str
    text: str
    done: bool
    done_at: dt.datetime | None


class TimelineOut(Schema):
    at: dt.datetime
    kind: str
    detail: str
    actor: str


class IncidentOut(Schema):
    id: int
    title: str
    severity: str
    owner_id: int | None
    alert_id: int | None
    terms: list[str]
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    summary: str
    tasks: list[TaskOut]


class IncidentDetailOut(IncidentOut):
    timeline: list[TimelineOut]


class IncidentPage(Schema):
    items: list[IncidentOut]
    next_cursor: str | None


class IncidentIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    severity: str = "medium"
    owner_id: int | None = None
    alert_id: int | None = None
    terms: list[str] | None = Field(None, max_length=20)


class CloseIn(Schema):
    summary: str = Field("", max_length=5000)


class TickIn(Schema):
    done: bool = True


class AlertOut(Schema):
    id: int
    raised_at: dt.datetime
    window_start: dt.datetime
    window_end: dt.datetime
    observed: int
    expected: float
    p_value: float
    network: str
    terms: list[str]
    state: str
    #: The alert in words, in the request's language (written from its numbers when asked).
    explanation: str


class AlertPage(Schema):
    items: list[AlertOut]
    next_cursor: str | None


class SnapshotOut(Schema):
    taken_at: dt.datetime
    source: str
    impressions: int | None
    reach: int | None
    engagements: int | None
    clicks: int | None
    video_views: int | None
    likes: int | None
    comments: int | None
    shares: int | None


class PublicationMetricsOut(Schema):
    publication_id: int
    post_id: int
    channel_id: int
    published_at: dt.datetime | None
    snapshots: list[SnapshotOut]


class AccountSnapshotOut(Schema):
    taken_at: dt.datetime
    since: dt.datetime
    followers: int | None
    profile_visits: int | None


class DayOut(Schema):
    day: dt.date
    posts: int
    impressions: int
    reach: int
    engagements: int
    clicks: int
    video_views: int
    followers: int | None
    profile_visits: int


class ChannelMetricsOut(Schema):
    channel_id: int
    days: list[DayOut]
    snapshots: list[AccountSnapshotOut]


class KpiOut(Schema):
    id: int
    metric: str
    channel_id: int | None
    period: str
    period_start: dt.datetime
    period_end: dt.datetime
    value: float | None
    expected_by_now: float
    target: float
    status: str


class GoalOut(Schema):
    id: int
    code: str
    label: str
    kpis: list[KpiOut]


# --- mentions -------------------------------------------------------------------------------

mentions = Router(tags=["listening"])


def _mention_out(m: Any) -> dict[str, Any]:
    return {
        "id": m.pk,
        "network": m.network,
        "author": m.author_handle,
        "author_name": m.author_name,
        "author_reach": m.author_reach,
        "text": m.text,
        "language": m.language,
        "url": m.url,
        "posted_at": m.posted_at,
        "sentiment": m.sentiment,
        "intent": m.intent,
        "queries": sorted(q.pk for q in m.queries.all()),
        "conversation_id": m.conversation_id,
        "idea_id": m.idea_id,
    }


def _mention(member: Member, mention_id: int) -> Any:
    from portevoix.listening.models import Mention

    found = Mention.objects.visible_to(member).filter(pk=mention_id).first()
    if found is None:
        raise _not_found()
    return found


@mentions.get("/mentions", response=_answers(MentionPage), summary="Mentions, newest first")
def list_mentions(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Limit,
    network: str | None = None,
    sentiment: str | None = None,
    query: int | None = None,
    since: dt.datetime | None = None,
    untreated: bool = False,
) -> dict[str, Any]:
    from portevoix.listening.models import Mention

    member = need(request, Scope.LISTENING_READ)
    require(member, "listening.view")
    queryset = Mention.objects.visible_to(member).prefetch_related("queries")
    if network:
        queryset = queryset.filter(network=network)
    if sentiment:
        queryset = queryset.filter(sentiment=sentiment)
    if query:
        queryset = queryset.filter(queries__pk=query).distinct()
    if since is not None:
        queryset = queryset.filter(posted_at__gte=_aware(since, "since"))
    if untreated:
        queryset = queryset.filter(conversation__isnull=True, idea__isnull=True)
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_mention_out(m) for m in rows], "next_cursor": after}


@mentions.post(
    "/mentions/{mention_id}/inbox",
    response=_answers(SentOut),
    summary="Open the mention as a conversation in the inbox (once)",
)
def mention_to_inbox(request: HttpRequest, mention_id: int) -> dict[str, Any]:
    from portevoix.listening import actions as listening_actions

    member = need(request, Scope.LISTENING_WRITE)
    require(member, "listening.view")
    require(member, "inbox.reply")
    mention = _mention(member, mention_id)
    conversation: Any = listening_actions.send_to_inbox(mention, by=member)
    return {"mention_id": mention.pk, "conversation_id": conversation.pk}


@mentions.post(
    "/mentions/{mention_id}/idea",
    response=_answers(SentOut),
    summary="Propose the mention as an idea for the content plan (once)",
)
def mention_to_idea(request: HttpRequest, mention_id: int, payload: IdeaIn) -> dict[str, Any]:
    from portevoix.listening import actions as listening_actions

    member = need(request, Scope.LISTENING_WRITE)
    require(member, "listening.view")
    require(member, "idea.propose")
    mention = _mention(member, mention_id)
    idea: Any = listening_actions.send_to_ideas(mention, by=member, title=payload.title)
    return {"mention_id": mention.pk, "idea_id": idea.pk}


# --- incidents and alerts -------------------------------------------------------------------

crisis = Router(tags=["crisis"])


def _incident_out(i: Any, *, timeline: bool = False) -> dict[str, Any]:
    out = {
        "id": i.pk,
        "title": i.title,
        "severity": i.severity,
        "owner_id": i.owner_id,
        "alert_id": i.alert_id,
        "terms": list(i.terms),
        "opened_at": i.opened_at,
        "closed_at": i.closed_at,
        "summary": i.summary,
        "tasks": [
            {
                "id": t.pk,
                "department": t.department.code,
                "text": t.text,
                "done": t.done_at is not None,
                "done_at": t.done_at,
            }
            for t in i.tasks.select_related("department").all()
        ],
    }
    if timeline:
        out["timeline"] = [
            # A system entry is a stored sentence, an alert explained from its numbers: said
            # in the request's language.
            {"at": e.at, "kind": e.kind, "detail": e.text(), "actor": e.actor}
            for e in i.timeline.select_related("alert").order_by("at", "pk")
        ]
    return out


def _incident(member: Member, incident_id: int) -> Any:
    from portevoix.crisis.models import Incident

    found = Incident.objects.visible_to(member).filter(pk=incident_id).first()
    if found is None:
        raise _not_found()
    return found


@crisis.get("/incidents", response=_answers(IncidentPage), summary="Incidents, newest first")
def list_incidents(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Limit,
    state: Literal["open", "closed"] | None = None,
) -> dict[str, Any]:
    from portevoix.crisis.models import Incident

    member = need(request, Scope.CRISIS_READ)
    require(member, "crisis.view")
    queryset = Incident.objects.visible_to(member)
    if state is not None:
        queryset = queryset.filter(closed_at__isnull=state == "open")
    rows, after = paginate(queryset, cursor, limit)
    return {"items": [_incident_out(i) for i in rows], "next_cursor": after}


@crisis.get(
    "/incidents/{incident_id}",
    response=_answers(IncidentDetailOut),
    summary="One incident, its checklists and its timeline",
)
def get_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    member = need(request, Scope.CRISIS_READ)
    require(member, "crisis.view")
    return _incident_out(_incident(member, incident_id), timeline=True)


@crisis.post(
    "/incidents",
    response=_answers(IncidentDetailOut, 201),
    summary="Open an incident (one at a time), with each department's checklist",
)
def open_incident(request: HttpRequest, payload: IncidentIn) -> Status[Any]:
    from portevoix.crisis import actions as crisis_actions
    from portevoix.crisis.models import Alert

    member = need(request, Scope.CRISIS_WRITE)
    require(member, "crisis.declare")
    owner = None
    if payload.owner_id is not None:
        owner = Member.objects.filter(workspace_id=member.workspace_id, pk=payload.owner_id).first()
        if owner is None:
            raise ApiError(
                400, "unknown_member", _("That member does not exist here."), field="owner_id"
            )
    alert = None
    if payload.alert_id is not None:
        alert = Alert.objects.visible_to(member).filter(pk=payload.alert_id).first()
        if alert is None:
            raise ApiError(
                400, "unknown_alert", _("That alert does not exist here."), field="alert_id"
            )
    terms = None
    if payload.terms is not None:
        terms = crisis_actions.parse_terms(", ".join(payload.terms))
    incident = crisis_actions.open_incident(
        member.workspace,
        by=member,
        title=payload.title,
        severity=payload.severity,
        owner=owner,
        alert=alert,
        terms=terms,
    )
    return Status(201, _incident_out(incident, timeline=True))


@crisis.post(
    "/incidents/{incident_id}/close",
    response=_answers(IncidentDetailOut),
    summary="Close an incident, with its summary",
)
def close_incident(request: HttpRequest, incident_id: int, payload: CloseIn) -> dict[str, Any]:
    from portevoix.crisis import actions as crisis_actions

    member = need(request, Scope.CRISIS_WRITE)
    require(member, "crisis.declare")
    incident = _incident(member, incident_id)
    crisis_actions.close_incident(incident, by=member, summary=payload.summary)
    return _incident_out(_incident(member, incident_id), timeline=True)


@crisis.post(
    "/incidents/{incident_id}/tasks/{task_id}",
    response=_answers(TaskOut),
    summary="Tick (or untick) a task of a department's checklist",
)
def tick_task(
    request: HttpRequest, incident_id: int, task_id: int, payload: TickIn
) -> dict[str, Any]:
    from portevoix.crisis import actions as crisis_actions

    member = need(request, Scope.CRISIS_WRITE)
    require(member, "crisis.view")
    incident = _incident(member, incident_id)
    task = incident.tasks.select_related("department").filter(pk=task_id).first()
    if task is None:
        raise _not_found()
    if not crisis_actions.may_tick(member, task):
        raise PermissionDenied(
            _("Only the members of %(department)s tick this list.")
            % {"department": task.department.name}
        )
    task = crisis_actions.set_task_done(task, by=member, done=payload.done)
    return {
        "id": task.pk,
        "department": task.department.code,
        "text": task.text,
        "done": task.done_at is not None,
        "done_at": task.done_at,
    }


@crisis.get("/alerts", response=_answers(AlertPage), summary="Crisis alerts, newest first")
def list_alerts(
    request: HttpRequest, cursor: str | None = None, limit: int = Limit, state: str | None = None
) -> dict[str, Any]:
    from portevoix.crisis import notices
    from portevoix.crisis.models import Alert

    member = need(request, Scope.CRISIS_READ)
    require(member, "crisis.view")
    queryset = Alert.objects.visible_to(member)
    if state:
        queryset = queryset.filter(state=state)
    rows, after = paginate(queryset, cursor, limit)
    return {
        "items": [
            {
                "id": a.pk,
                "raised_at": a.raised_at,
                "window_start": a.window_start,
                "window_end": a.window_end,
                "observed": a.observed,
                "expected": a.expected,
                "p_value": a.p_value,
                "network": a.network,
                "terms": list(a.terms),
                "state": a.state,
                "explanation": notices.explain(notices.alert_params(a)),
            }
            for a in rows
        ],
        "next_cursor": after,
    }


# --- metrics --------------------------------------------------------------------------------

metrics = Router(tags=["metrics"])

SNAPSHOT_FIELDS = (
    "impressions",
    "reach",
    "engagements",
    "clicks",
    "video_views",
    "likes",
    "comments",
    "shares",
)


@metrics.get(
    "/metrics/publications/{publication_id}",
    response=_answers(PublicationMetricsOut),
    summary="A publication's measurements, newest first (None: not measured)",
)
def publication_metrics(request: HttpRequest, publication_id: int) -> dict[str, Any]:
    from portevoix.analytics.models import PostSnapshot
    from portevoix.publishing.models import Publication

    member = need(request, Scope.METRICS_READ)
    require(member, "analytics.view")
    publication = Publication.objects.visible_to(member).filter(pk=publication_id).first()
    if publication is None:
        raise _not_found()
    snapshots = PostSnapshot.objects.visible_to(member).filter(publication=publication)[:500]
    return {
        "publication_id": publication.pk,
        "post_id": publication.post_id,
        "channel_id": publication.channel_id,
        "published_at": publication.published_at,
        "snapshots": [
            {
                "taken_at": s.taken_at,
                "source": s.source,
                **{name: getattr(s, name) for name in SNAPSHOT_FIELDS},
            }
            for s in snapshots
        ],
    }


@metrics.get(
    "/metrics/channels/{channel_id}",
    response=_answers(ChannelMetricsOut),
    summary="A channel's daily roll-ups and account snapshots in a period (at most 366 days)",
)
def channel_metrics(
    request: HttpRequest,
    channel_id: int,
    start: dt.date = param.Query(..., alias="from"),  # noqa: B008
    end: dt.date = param.Query(..., alias="to"),  # noqa: B008
) -> dict[str, Any]:
    from portevoix.analytics.models import AccountSnapshot, ChannelDay
    from portevoix.channels.models import Channel

    member = need(request, Scope.METRICS_READ)
    require(member, "analytics.view")
    if end < start or (end - start).days > 366:
        raise ApiError(
            400,
            "invalid_period",
            _("Give a period of at most 366 days, from before to."),
            field="to",
        )
    channel = Channel.objects.visible_to(member).filter(pk=channel_id).first()
    if channel is None:
        raise _not_found()
    days = ChannelDay.objects.visible_to(member).filter(
        channel=channel, day__gte=start, day__lte=end
    )
    zone = channel.audience_zone
    first = dt.datetime.combine(start, dt.time(), tzinfo=zone)
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    snapshots = AccountSnapshot.objects.visible_to(member).filter(
        channel=channel, taken_at__gte=first, taken_at__lt=last
    )
    return {
        "channel_id": channel.pk,
        "days": [
            {
                "day": d.day,
                "posts": d.posts,
                "impressions": d.impressions,
                "reach": d.reach,
                "engagements": d.engagements,
                "clicks": d.clicks,
                "video_views": d.video_views,
                "followers": d.followers,
                "profile_visits": d.profile_visits,
            }
            for d in days.order_by("day")
        ],
        "snapshots": [
            {
                "taken_at": s.taken_at,
                "since": s.since,
                "followers": s.followers,
                "profile_visits": s.profile_visits,
            }
            for s in snapshots.order_by("taken_at")[:2000]
        ],
    }


@metrics.get(
    "/metrics/goals",
    response=_answers(list[GoalOut]),
    summary="Each goal's KPIs against their targets, in the current period",
)
def goals_progress(request: HttpRequest) -> list[dict[str, Any]]:
    from portevoix.analytics import goals

    member = need(request, Scope.METRICS_READ)
    require(member, "analytics.view")
    out = []
    for row in goals.progress(member.workspace):
        kpis = []
        for item in row["kpis"]:
            p: goals.Progress = item["progress"]
            kpis.append(
                {
                    "id": p.kpi.pk,
                    "metric": p.kpi.metric,
                    "channel_id": p.kpi.channel_id,
                    "period": p.kpi.period,
                    "period_start": p.start,
                    "period_end": p.end,
                    "value": None if p.value is None else round(p.value, 4),
                    "expected_by_now": round(p.expected, 4),
                    "target": p.target,
                    "status": p.status,
                }
            )
        out.append(
            {
                "id": row["goal"].pk,
                "code": row["goal"].code,
                "label": str(row["label"]),
                "kpis": kpis,
            }
        )
    return out


# --- CRM and helpdesk hand-off ---------------------------------------------------------------

crm_router = Router(tags=["conversations"])


class CrmIn(Schema):
    integration_id: int
    note: str = Field("", max_length=2000)


class CrmRecordOut(Schema):
    id: int
    integration_id: int
    integration: str
    kind: str
    reference: str
    state: str
    external_id: str
    external_url: str
    external_status: str
    outcome: str
    deal_value: float | None
    deal_currency: str
    created_at: dt.datetime
    problem: str


def _record_out(r: Any) -> dict[str, Any]:
    return {
        "id": r.pk,
        "integration_id": r.integration_id,
        "integration": r.integration.name,
        "kind": r.integration.record_kind,
        "reference": r.reference,
        "state": r.state,
        "external_id": r.external_id,
        "external_url": r.external_url,
        "external_status": r.external_status,
        "outcome": r.outcome,
        "deal_value": float(r.deal_value) if r.deal_value is not None else None,
        "deal_currency": r.deal_currency,
        "created_at": r.created_at,
        "problem": r.problem,
    }


def _visible_conversation(member: Member, conversation_id: int) -> Any:
    from portevoix.inbox.models import Conversation

    found = Conversation.objects.visible_to(member).filter(pk=conversation_id).first()
    if found is None:
        raise _not_found()
    return found


@crm_router.get(
    "/conversations/{conversation_id}/crm",
    response=_answers(list[CrmRecordOut]),
    summary="The leads and cases made from the conversation in external systems",
)
def conversation_records(request: HttpRequest, conversation_id: int) -> list[dict[str, Any]]:
    from portevoix.api.models import CrmRecord
    from portevoix.core.permissions import can

    member = need(request, Scope.INBOX_READ)
    if not (can(member, "inbox.view_all") or can(member, "inbox.view_assigned")):
        require(member, "inbox.view_all")
    conversation = _visible_conversation(member, conversation_id)
    rows = (
        CrmRecord.objects.visible_to(member)
        .filter(conversation=conversation)
        .select_related("integration")
        .order_by("-pk")
    )
    return [_record_out(r) for r in rows]


@crm_router.post(
    "/conversations/{conversation_id}/crm",
    response=_answers(CrmRecordOut, 201),
    summary="Create a lead or a case in a CRM or helpdesk integration (delivered once)",
)
def hand_to_crm(request: HttpRequest, conversation_id: int, payload: CrmIn) -> Status[Any]:
    from portevoix.api import actions as api_actions
    from portevoix.api.models import CrmIntegration

    member = need(request, Scope.INBOX_WRITE)
    require(member, "inbox.route")
    conversation = _visible_conversation(member, conversation_id)
    integration = CrmIntegration.objects.filter(
        workspace_id=member.workspace_id, pk=payload.integration_id
    ).first()
    if integration is None:
        raise ApiError(
            400,
            "unknown_integration",
            _("That integration does not exist here."),
            field="integration_id",
        )
    record = api_actions.hand_to_crm(
        conversation, by=member, integration=integration, note=payload.note
    )
    return Status(201, _record_out(record))


ROUTERS = (mentions, crisis, metrics, crm_router)
