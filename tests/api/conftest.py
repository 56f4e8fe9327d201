"""API fixtures: a sandbox channel, a draft post, conversations, and a token per role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from portevoix.api import actions
from portevoix.api.models import ALL_SCOPES
from portevoix.channels import actions as channel_actions
from portevoix.inbox.ingest import ingest
from portevoix.publishing import actions as post_actions
from portevoix.sandbox import service
from tests.inbox.conftest import PRICE_FR, conversation_of, make_item


@pytest.fixture(autouse=True)
def _english():
    from django.utils import translation

    with translation.override("en"):
        yield


class Api:
    """Calls the API with one token."""

    def __init__(self, secret: str):
        self.secret = secret
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", **(extra or {})}

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(None))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def put(self, path: str, body: Any = None):
        return self.client.put(
            f"/api/v1{path}",
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(None),
        )

    def delete(self, path: str):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(None))


def token_for(member, scopes=None) -> Api:
    _token, secret = actions.create_token(
        member, by=member, name="test", scopes=scopes or ALL_SCOPES
    )
    return Api(secret)


@pytest.fixture
def api_as(team):
    made: dict[int, Api] = {}

    def make(member) -> Api:
        if member.pk not in made:
            made[member.pk] = token_for(member)
        return made[member.pk]

    return make


@pytest.fixture
def channel(team):
    account = service.create_account("acme-shop", display_name="Acme", workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="acme-shop",
    )


@pytest.fixture
def draft(team, channel):
    composition = post_actions.Composition(
        text="Notre nouvelle gamme arrive lundi.",
        variants=(post_actions.Variant(channel=channel),),
    )
    return post_actions.save_post(team.workspace, by=team["content"], composition=composition)


@pytest.fixture
def conversation(team, channel):
    ingest(channel, [make_item("p1", PRICE_FR, reply_to="our-post")])
    return conversation_of("p1")
