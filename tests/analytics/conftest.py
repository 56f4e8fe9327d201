from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from portevoix.channels import actions, clients
from portevoix.publishing.models import Post, Publication, PublicationStates
from portevoix.sandbox import service


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    clients.clear()
    yield
    clients.clear()


@pytest.fixture
def account(team):
    return service.create_account("acme-shop", display_name="Acme Shop", workspace=team.workspace)


@pytest.fixture
def channel(team, account):
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        owner_department=team.department("marketing"),
    )


@pytest.fixture
def published(team, channel):
    """``published(at, text=...)``: a publication already out (as the worker leaves it)."""

    def make(at: dt.datetime | None = None, *, text: str = "Bonjour", network_id: str = ""):
        at = at or timezone.now() - dt.timedelta(hours=2)
        post = Post.objects.create(workspace=team.workspace, text=text, author=team["manager"].user)
        return Publication.objects.create(
            post=post,
            channel=channel,
            scheduled_at=at,
            published_at=at,
            state=PublicationStates.published.name,
            network_post_id=network_id,
            next_attempt_at=None,
        )

    return make
