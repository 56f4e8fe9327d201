"""Mentions, incidents, alerts, metrics and webhook subscriptions through the API: what they
do, and for each endpoint the role that is refused (403) and the other workspace (404)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portevoix.api.models import WebhookSubscription
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import can
from portevoix.crisis import actions as crisis_actions
from portevoix.crisis.models import Incident, IncidentTask
from portevoix.listening import actions as listening_actions
from portevoix.listening import pipeline, sources
from portevoix.listening.models import Mention
from tests.api.test_access import _is_error
from tests.conftest import ALL_ROLES


@pytest.fixture
def mention(team, channel):
    return make_mention(team)


def make_mention(team):
    listening_actions.create_query(
        team.workspace, by=team["admin"], name="Marque", kind="brand", text="acme"
    )
    pipeline.ingest(
        sources.sandbox_source(),
        [
            pipeline.PublicPost(
                external_id="m1",
                network="sandbox",
                text="Acme a encore oublié ma commande",
                posted_at=timezone.now() - dt.timedelta(hours=1),
                author_handle="clara",
                author_reach=1200,
                language="fr",
            )
        ],
    )
    return Mention.objects.get(workspace=team.workspace)


@pytest.fixture
def incident(team):
    return make_incident(team)


def make_incident(team):
    return crisis_actions.open_incident(
        team.workspace, by=team["manager"], title="Retards de livraison"
    )


@pytest.fixture
def legal_task(incident):
    return legal_task_of(incident)


def legal_task_of(incident):
    return IncidentTask.objects.filter(incident=incident, department__code="legal").first()


@pytest.fixture
def published(team, draft):
    return draft.publications.get()


@pytest.fixture
def subscription(team):
    return make_subscription(team)


def make_subscription(team):
    from portevoix.api import actions

    made, _secret = actions.create_subscription(
        team.workspace,
        by=team["admin"],
        url="https://hooks.example.com/porte-voix",
        events=["incident.opened"],
    )
    return made


ENDPOINTS = [
    (
        "post",
        "/mentions/{mention}/inbox",
        {},
        lambda m: can(m, "listening.view") and can(m, "inbox.reply"),
    ),
    (
        "post",
        "/mentions/{mention}/idea",
        {},
        lambda m: can(m, "listening.view") and can(m, "idea.propose"),
    ),
    ("get", "/incidents/{incident}", None, lambda m: can(m, "crisis.view")),
    ("post", "/incidents/{incident}/close", {}, lambda m: can(m, "crisis.declare")),
    (
        "post",
        "/incidents/{incident}/tasks/{task}",
        {"done": True},
        lambda m: can(m, "crisis.declare"),
    ),
    ("get", "/metrics/publications/{publication}", None, lambda m: can(m, "analytics.view")),
    (
        "get",
        "/metrics/channels/{channel}?from=2026-01-01&to=2026-01-31",
        None,
        lambda m: can(m, "analytics.view"),
    ),
    (
        "get",
        "/webhooks/subscriptions/{subscription}/deliveries",
        None,
        lambda m: can(m, "integration.manage"),
    ),
    (
        "delete",
        "/webhooks/subscriptions/{subscription}",
        None,
        lambda m: can(m, "integration.manage"),
    ),
    (
        "post",
        "/conversations/{conversation}/crm",
        {"integration_id": 0},
        lambda m: can(m, "inbox.route"),
    ),
    (
        "get",
        "/conversations/{conversation}/crm",
        None,
        lambda m: can(m, "inbox.view_all") or can(m, "inbox.view_assigned"),
    ),
]

LISTS = [
    ("/mentions", lambda m: can(m, "listening.view")),
    ("/incidents", lambda m: can(m, "crisis.view")),
    ("/alerts", lambda m: can(m, "crisis.view")),
    ("/metrics/goals", lambda m: can(m, "analytics.view")),
    ("/webhooks/subscriptions", lambda m: can(m, "integration.manage")),
]


@pytest.fixture
def world(team, channel, mention, incident, legal_task, published, subscription, conversation):
    from portevoix.inbox import actions as inbox_actions

    # Handed to sales, so the sales agent sees it (and may read its CRM records).
    inbox_actions.hand_off(conversation, by=team["manager"], department=team.department("sales"))
    return {
        "conversation": conversation.pk,
        "mention": mention.pk,
        "incident": incident.pk,
        "task": legal_task.pk,
        "publication": published.pk,
        "channel": channel.pk,
        "subscription": subscription.pk,
    }


def _call(api, method, path, body):
    if method == "get":
        return api.client.get(f"/api/v1{path}", headers=api._headers(None))
    if method == "delete":
        return api.delete(path)
    return api.post(path, body)


@pytest.mark.parametrize(("method", "template", "body", "allowed"), ENDPOINTS)
def test_refused_roles_get_403(team, api_as, world, method, template, body, allowed):
    """Every role: 403 when its role lacks the permission, otherwise let through. (Every role
    follows a crisis, so ``GET /incidents/{id}`` refuses none; a deactivated member's token is
    refused at the door, see test_access.)"""
    path = template.format(**world)
    for role in ALL_ROLES:
        if method == "delete" and allowed(team[role]):
            continue  # it would delete the subscription for the next roles
        response = _call(api_as(team[role]), method, path, body)
        if allowed(team[role]):
            assert response.status_code not in (403, 404), (role, response.content)
        else:
            _is_error(response, 403, "forbidden")


@pytest.mark.parametrize(("method", "template", "body", "allowed"), ENDPOINTS)
def test_other_workspace_gets_404(team, api_as, world, method, template, body, allowed):
    path = template.format(**world)
    assert allowed(team.outsider)
    _is_error(_call(api_as(team.outsider), method, path, body), 404, "not_found")


@pytest.mark.parametrize(("path", "allowed"), LISTS)
def test_lists_refuse_roles_and_show_outsiders_nothing(team, api_as, world, path, allowed):
    for role in ALL_ROLES:
        response = api_as(team[role]).get(path)
        if allowed(team[role]):
            assert response.status_code == 200, (role, response.content)
        else:
            _is_error(response, 403, "forbidden")
    outsider = api_as(team.outsider).get(path)
    assert outsider.status_code == 200
    items = outsider.json()
    assert (items["items"] if isinstance(items, dict) else items) == []


def test_a_token_without_the_scope_is_refused(team, world):
    from tests.api.conftest import token_for

    api = token_for(team["admin"], scopes=["posts:read"])
    _is_error(api.get("/mentions"), 403, "insufficient_scope")
    _is_error(api.post(f"/incidents/{world['incident']}/close"), 403, "insufficient_scope")


def test_mentions_are_listed_filtered_and_sent_to_inbox_and_ideas(team, api_as, world, mention):
    api = api_as(team["content"])
    page = api.get("/mentions").json()
    assert [m["id"] for m in page["items"]] == [mention.pk]
    assert page["items"][0]["author"] == "clara"
    assert api.get("/mentions", network="x").json()["items"] == []
    assert api.get("/mentions", untreated="true").json()["items"]

    sent = api.post(f"/mentions/{mention.pk}/inbox")
    assert sent.status_code == 200, sent.content
    conversation_id = sent.json()["conversation_id"]
    again = api.post(f"/mentions/{mention.pk}/inbox")
    assert again.json()["conversation_id"] == conversation_id  # opened once
    idea = api.post(f"/mentions/{mention.pk}/idea", {"title": "Répondre sur les retards"})
    assert idea.status_code == 200 and idea.json()["idea_id"]
    mention.refresh_from_db()
    assert mention.conversation_id == conversation_id and mention.idea_id == idea.json()["idea_id"]
    assert api.get("/mentions", untreated="true").json()["items"] == []
    assert AuditEntry.objects.filter(action="listening.to_inbox").count() == 1


def test_incidents_open_tick_and_close(team, api_as):
    manager = api_as(team["manager"])
    opened = manager.post(
        "/incidents", {"title": "Compte piraté", "severity": "high", "terms": ["piratage"]}
    )
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["severity"] == "high" and body["terms"] == ["piratage"]
    assert body["timeline"][0]["kind"] == "opened"
    # One at a time: the second is refused with a stable code.
    second = manager.post("/incidents", {"title": "Encore"})
    _is_error(second, 400, "already_open")

    sales_task = next(t for t in body["tasks"] if t["department"] == "sales")
    legal_task = next(t for t in body["tasks"] if t["department"] == "legal")
    agent = api_as(team["agent"])  # a sales agent ticks the sales list, not legal's
    ticked = agent.post(f"/incidents/{body['id']}/tasks/{sales_task['id']}", {"done": True})
    assert ticked.status_code == 200 and ticked.json()["done"] is True
    _is_error(
        agent.post(f"/incidents/{body['id']}/tasks/{legal_task['id']}", {"done": True}),
        403,
        "forbidden",
    )
    # A task of another incident is not found under this one.
    _is_error(agent.post(f"/incidents/{body['id']}/tasks/999999", {"done": True}), 404)

    closed = manager.post(f"/incidents/{body['id']}/close", {"summary": "Compte repris."})
    assert closed.status_code == 200 and closed.json()["closed_at"]
    assert Incident.objects.get(pk=body["id"]).summary == "Compte repris."
    assert manager.get("/incidents", state="open").json()["items"] == []
    assert [i["id"] for i in manager.get("/incidents", state="closed").json()["items"]] == [
        body["id"]
    ]


def test_invalid_incident_input_is_a_4xx_with_its_field(team, api_as):
    manager = api_as(team["manager"])
    response = manager.post("/incidents", {"title": "X", "severity": "apocalyptic"})
    _is_error(response, 400)
    assert response.json()["error"]["field"] == "severity"
    response = manager.post("/incidents", {"title": "X", "owner_id": team.outsider.pk})
    _is_error(response, 400, "unknown_member")


def test_metrics_of_a_publication_and_a_channel(team, api_as, channel, published):
    from portevoix.analytics.models import ChannelDay, PostSnapshot

    now = timezone.now()
    PostSnapshot.objects.create(
        publication=published, channel=channel, taken_at=now, source="api", impressions=420
    )
    ChannelDay.objects.create(channel=channel, day=dt.date(2026, 3, 2), posts=2, impressions=900)
    api = api_as(team["analyst"])
    answer = api.get(f"/metrics/publications/{published.pk}").json()
    assert answer["snapshots"][0]["impressions"] == 420
    assert answer["snapshots"][0]["reach"] is None  # not measured, never zero
    days = api.get(f"/metrics/channels/{channel.pk}", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert days.json()["days"] == [
        {
            "day": "2026-03-02",
            "posts": 2,
            "impressions": 900,
            "reach": 0,
            "engagements": 0,
            "clicks": 0,
            "video_views": 0,
            "followers": None,
            "profile_visits": 0,
        }
    ]
    too_long = api.get(
        f"/metrics/channels/{channel.pk}", **{"from": "2024-01-01", "to": "2026-01-01"}
    )
    _is_error(too_long, 400, "invalid_period")


def test_goal_progress_is_the_dashboards(team, api_as, channel):
    from portevoix.analytics import goals
    from portevoix.strategy.models import Goal, Kpi

    goal = Goal.objects.create(workspace=team.workspace, code="brand_awareness")
    Kpi.objects.create(
        workspace=team.workspace, goal=goal, metric="posts_published", target=10, period="month"
    )
    answer = api_as(team["viewer"]).get("/metrics/goals").json()
    expected = goals.progress(team.workspace)[0]["kpis"][0]["progress"]
    assert answer[0]["code"] == "brand_awareness"
    kpi = answer[0]["kpis"][0]
    assert kpi["metric"] == "posts_published" and kpi["target"] == 10
    assert kpi["status"] == expected.status
    assert kpi["expected_by_now"] == pytest.approx(expected.expected, abs=0.01)


def test_subscriptions_are_made_listed_and_deleted(team, api_as):
    api = api_as(team["manager"])
    made = api.post(
        "/webhooks/subscriptions",
        {"url": "https://hooks.example.com/in", "events": ["incident.opened", "alert.raised"]},
    )
    assert made.status_code == 201, made.content
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    listed = api.get("/webhooks/subscriptions")
    assert [s["id"] for s in listed.json()] == [made.json()["id"]]
    assert secret not in listed.content.decode()  # shown once
    assert api.get(f"/webhooks/subscriptions/{made.json()['id']}/deliveries").json() == {
        "items": [],
        "next_cursor": None,
    }
    bad = api.post("/webhooks/subscriptions", {"url": "https://x.example", "events": ["nope"]})
    _is_error(bad, 400)
    assert bad.json()["error"]["field"] == "events"
    gone = api.delete(f"/webhooks/subscriptions/{made.json()['id']}")
    assert gone.status_code == 204
    assert not WebhookSubscription.objects.filter(pk=made.json()["id"]).exists()
    assert AuditEntry.objects.filter(action="webhook.delete").count() == 1


def test_hand_a_conversation_to_a_crm_through_the_api(team, api_as, conversation):
    from portevoix.api import actions

    integration, _secret = actions.create_integration(
        team.workspace, by=team["admin"], name="CRM", url="https://crm.example.com/leads"
    )
    api = api_as(team["content"])
    made = api.post(
        f"/conversations/{conversation.pk}/crm",
        {"integration_id": integration.pk, "note": "Devis"},
    )
    assert made.status_code == 201, made.content
    assert made.json()["state"] == "pending" and made.json()["reference"].startswith("pv-")
    listed = api.get(f"/conversations/{conversation.pk}/crm").json()
    assert [r["reference"] for r in listed] == [made.json()["reference"]]
    unknown = api.post(f"/conversations/{conversation.pk}/crm", {"integration_id": 999999})
    _is_error(unknown, 400, "unknown_integration")
