"""Schemathesis against the served OpenAPI schema, as each role and as an outsider: no
server error, no status or body that the schema does not declare.

A bounded number of examples per endpoint (``EXAMPLES``) keeps the run short; path ids are
replaced by real ones half of the time so the examples reach the actions, not only 404s.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for
from tests.conftest import ALL_ROLES

EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _token(member) -> str:
    from portevoix.api.models import ApiToken

    secret = token_for(member).secret
    ApiToken.objects.filter(member=member).update(rate_limit=100_000)
    return secret


def _schema():
    """The schema as /api/openapi.json serves it (test_schema_is_served checks they agree),
    called through the WSGI application in the test's own database transaction."""
    from django.core.wsgi import get_wsgi_application

    from portevoix.api.endpoints import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api"))
    loaded.app = get_wsgi_application()
    # The generated examples only (the coverage phase's hundreds of edge cases per endpoint
    # would take the run far past its budget on two shared cores).
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded


schema = _schema()


def test_schema_is_served(client):
    from portevoix.api.endpoints import api

    served = client.get("/api/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api")))
    assert client.get("/api/docs").status_code == 200


@pytest.fixture
def in_the_tests_transaction():
    """As Django's test client does: requests called through the WSGI application must not
    close the database connection at their end (on PostgreSQL that closes the connection that
    holds the test's transaction, and the next request fails with "the connection is closed")."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, team, channel, draft, conversation, in_the_tests_transaction):
    ids = _monitoring_ids(team, channel, draft)
    return {
        "post_id": draft.pk,
        "channel_id": channel.pk,
        "conversation_id": conversation.pk,
        **ids,
        # Tokens with no rate limit to speak of: the examples come fast.
        "tokens": {role: _token(team[role]) for role in ALL_ROLES}
        | {"outsider": _token(team.outsider)},
    }


def _monitoring_ids(team, channel, draft) -> dict[str, int]:
    """A mention, an incident and its task, a publication, a subscription: real ids for the
    path parameters of the newer endpoints; and a CRM integration to hand conversations to."""
    from tests.api import test_monitoring as made

    mention = made.make_mention(team)
    incident = made.make_incident(team)
    task = made.legal_task_of(incident)
    subscription = made.make_subscription(team)
    from portevoix.api import actions

    actions.create_integration(
        team.workspace, by=team["admin"], name="CRM", url="https://crm.example.com/leads"
    )
    return {
        "mention_id": mention.pk,
        "incident_id": incident.pk,
        "task_id": task.pk,
        "publication_id": draft.publications.get().pk,
        "subscription_id": subscription.pk,
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, world):
    for name in list(case.path_parameters or {}):
        if name in world and len(repr(case.body)) % 2 == 0:
            case.path_parameters[name] = world[name]
    for who, secret in world["tokens"].items():
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:
            raise AssertionError(f"as {who}: {exc}") from exc
