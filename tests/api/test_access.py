"""Every endpoint: a role without the permission gets 403, a member of another workspace 404
(or, for lists, nothing of ours), and no token at all 401; all in the one error shape."""

from __future__ import annotations

import pytest

from portevoix.core.permissions import can
from portevoix.inbox import actions as inbox_actions
from tests.conftest import ALL_ROLES


def _inbox_view(m):
    return can(m, "inbox.view_all") or can(m, "inbox.view_assigned")


#: (method, path, body, who may). ``{post}``, ``{channel}``, ``{conversation}`` are filled in.
ENDPOINTS = [
    ("get", "/posts/{post}", None, lambda m: can(m, "post.view")),
    ("post", "/posts/{post}/submit", {}, lambda m: can(m, "post.create")),
    (
        "post",
        "/posts/{post}/schedule",
        {"at": "2031-01-02T09:00:00+01:00"},
        lambda m: can(m, "post.create"),
    ),
    ("post", "/posts/{post}/cancel", {}, lambda m: can(m, "post.create")),
    (
        "post",
        "/posts/{post}/approve",
        {},
        lambda m: can(m, "post.approve") or can(m, "post.approve_compliance"),
    ),
    ("get", "/channels/{channel}/health", None, lambda m: can(m, "channel.view")),
    ("get", "/conversations/{conversation}", None, _inbox_view),
    ("get", "/conversations/{conversation}/messages", None, _inbox_view),
    (
        "post",
        "/conversations/{conversation}/reply",
        {"text": "Bonjour !"},
        lambda m: can(m, "inbox.reply"),
    ),
    (
        "post",
        "/conversations/{conversation}/assign",
        {"member_id": None},
        lambda m: can(m, "inbox.route") or can(m, "inbox.reply"),
    ),
    (
        "post",
        "/conversations/{conversation}/labels",
        {"labels": []},
        lambda m: can(m, "inbox.route"),
    ),
    (
        "post",
        "/conversations/{conversation}/handoff",
        {"department": "legal"},
        lambda m: can(m, "inbox.route"),
    ),
]

LISTS = [
    ("/posts", lambda m: can(m, "post.view")),
    ("/media", lambda m: can(m, "post.view")),
    ("/channels", lambda m: can(m, "channel.view")),
    ("/conversations", _inbox_view),
    ("/audit", lambda m: can(m, "audit.view")),
    ("/webhooks/deliveries", lambda m: can(m, "integration.manage")),
]


@pytest.fixture
def handed(team, conversation):
    """The conversation handed to sales, so the sales agent sees it."""
    inbox_actions.hand_off(conversation, by=team["manager"], department=team.department("sales"))
    return conversation


def _path(template, draft, channel, conversation):
    return template.format(post=draft.pk, channel=channel.pk, conversation=conversation.pk)


def _call(client, method, path, body):
    return client.get(path) if method == "get" else client.post(path, body)


def _is_error(response, status, code=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code


@pytest.mark.parametrize(("method", "template", "body", "allowed"), ENDPOINTS)
def test_refused_roles_get_403(
    team, api_as, draft, channel, handed, method, template, body, allowed
):
    path = _path(template, draft, channel, handed)
    refused = [r for r in ALL_ROLES if not allowed(team[r])]
    if template.endswith("/approve"):
        # A department agent sees only the posts routed to its department: 404 below.
        refused = [r for r in refused if r != "agent"]
    assert refused or template.startswith("/posts/{post}/approve") is False
    for role in refused:
        _is_error(_call(api_as(team[role]), method, path, body), 403, "forbidden")


@pytest.mark.parametrize(("method", "template", "body", "allowed"), ENDPOINTS)
def test_other_workspace_gets_404(
    team, api_as, draft, channel, handed, method, template, body, allowed
):
    path = _path(template, draft, channel, handed)
    assert allowed(team.outsider)  # an admin there: only the workspace stops them
    _is_error(_call(api_as(team.outsider), method, path, body), 404, "not_found")


@pytest.mark.parametrize(("path", "allowed"), LISTS)
def test_lists_refuse_roles_and_show_outsiders_nothing(
    team, api_as, draft, channel, handed, path, allowed
):
    for role in ALL_ROLES:
        response = api_as(team[role]).get(path)
        if allowed(team[role]):
            assert response.status_code == 200, (role, response.content)
        else:
            _is_error(response, 403, "forbidden")
    outsider = api_as(team.outsider).get(path)
    assert outsider.status_code == 200
    items = outsider.json()
    items = items["items"] if isinstance(items, dict) else items
    if path == "/audit":  # their own workspace's entries (their token's creation), none of ours
        from portevoix.core.models import AuditEntry

        ours = set(AuditEntry.objects.filter(workspace=team.workspace).values_list("pk", flat=True))
        assert items and not ours & {i["id"] for i in items}
    else:
        assert items == []


def test_no_token_or_a_bad_one_is_401(team, api_as, draft):
    from django.test import Client

    _is_error(Client().get("/api/v1/me"), 401, "invalid_token")
    response = Client().get("/api/v1/posts", headers={"Authorization": "Bearer pvk_nope"})
    _is_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_calendar_refuses_roles_without_post_view(team, api_as, draft):
    params = {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    for role in ALL_ROLES:
        response = api_as(team[role]).get("/calendar", **params)
        if can(team[role], "post.view"):
            assert response.status_code == 200
        else:
            _is_error(response, 403, "forbidden")


def test_upload_refuses_roles_without_post_create(team, api_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    for role in ALL_ROLES:
        if can(team[role], "post.create"):
            continue
        api = api_as(team[role])
        response = api.client.post(
            "/api/v1/media",
            {"file": SimpleUploadedFile("a.png", b"not really")},
            headers={"Authorization": f"Bearer {api.secret}"},
        )
        _is_error(response, 403, "forbidden")


@pytest.fixture
def failed_delivery(team):
    from portevoix.api import actions as api_actions
    from portevoix.api import webhooks
    from portevoix.api.models import WebhookDelivery

    api_actions.create_subscription(
        team.workspace, by=team["admin"], url="http://127.0.0.1:9/h", events=["post.failed"]
    )
    webhooks.emit(team.workspace.pk, "post.failed", "1", {"post_id": 1})
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed", next_attempt_at=None)
    return delivery


def test_replay_refuses_roles_and_outsiders(team, api_as, failed_delivery):
    path = f"/webhooks/deliveries/{failed_delivery.pk}/replay"
    for role in ALL_ROLES:
        if not can(team[role], "integration.manage"):
            _is_error(api_as(team[role]).post(path), 403, "forbidden")
    _is_error(api_as(team.outsider).post(path), 404, "not_found")
    replayed = api_as(team["manager"]).post(path)
    assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
    again = api_as(team["manager"]).post(path)
    assert again.status_code == 409
