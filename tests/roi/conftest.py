from __future__ import annotations

from collections.abc import Iterator

import pytest

from portevoix.channels import actions, clients
from portevoix.sandbox import service


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    clients.clear()
    yield
    clients.clear()


@pytest.fixture
def channel(team):
    account = service.create_account(
        "acme-shop", display_name="Acme Shop", workspace=team.workspace
    )
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        owner_department=team.department("marketing"),
    )


@pytest.fixture
def campaign(team):
    from portevoix.publishing.models import Campaign

    return Campaign.objects.create(workspace=team.workspace, name="Soldes d'hiver")
