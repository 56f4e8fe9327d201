"""Fixtures for the sandbox network: an account with a quiet world, and its adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from portevoix.networks.sandbox import SandboxNetwork
from portevoix.networks.types import Credentials
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxAccount

#: A Monday in the winter (Paris is UTC+1), on a step boundary.
MONDAY = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)

AccountFactory = Callable[..., SandboxAccount]


@pytest.fixture
def make_account(db: None) -> AccountFactory:
    """Create sandbox accounts; by default the world stands still unless told to move."""
    made: list[int] = []

    def make(handle: str = "", **fields: Any) -> SandboxAccount:
        fields.setdefault("simulate", False)
        fields.setdefault("brand_name", "Lumière Cosmétiques")
        fields.setdefault("products", ["sérum Éclat", "crème Velours"])
        fields.setdefault("competitors", ["Rosée Paris", "Belle Peau"])
        account = service.create_account(handle or f"brand{len(made) + 1}", **fields)
        made.append(account.pk)
        return account

    return make


@pytest.fixture
def account(make_account: AccountFactory) -> SandboxAccount:
    return make_account("lumiere", display_name="Lumière Cosmétiques")


@pytest.fixture
def network(account: SandboxAccount) -> Iterator[SandboxNetwork]:
    network = SandboxNetwork(timeout=5.0)
    network.connect(Credentials(service.credentials_for(account)))
    yield network
    network.close()
