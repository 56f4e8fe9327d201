"""The strategy tests read English pages (test_french checks the French ones): a member's
own language decides once logged in, so each client's member reads English."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.utils import translation

from portevoix.core.models import Member, User


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def client_for(client_for: Callable[[Member | None], Client]) -> Callable[[Member | None], Client]:
    def make(member: Member | None) -> Client:
        if member is not None:
            User.objects.filter(pk=member.user_id).update(language="en")
        return client_for(member)

    return make
