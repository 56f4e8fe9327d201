"""Checking a channel can mark it "needs reconnection": it takes channel.manage, and is logged."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.channels import actions
from portevoix.channels.models import Channel
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.sandbox import service
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(team):
    return service.create_account("acme-check", display_name="Acme", workspace=team.workspace)


@pytest.fixture
def channel(team, account):
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_channel_managers_can_check_a_channel(team, client_for, account, channel, role):
    service.expire_token(account)  # a check now moves the channel to needs_reconnect
    url = reverse("channel_check", kwargs={"ws": "acme", "pk": channel.pk})
    response = client_for(team[role]).post(url)
    channel = Channel.objects.get(pk=channel.pk)
    checks = AuditEntry.objects.filter(action="channel.check", object_id=str(channel.pk))
    if "channel.manage" in MATRIX[role]:
        assert response.status_code == 302
        assert channel.state == "needs_reconnect"
        entry = checks.get()
        assert entry.actor == team[role].user
        assert entry.before["state"] == "active" and entry.after["state"] == "needs_reconnect"
    else:
        assert response.status_code in {403, 404}
        assert channel.state == "active"
        assert not checks.exists()


def test_a_viewer_cannot_check_through_the_action_either(team, account, channel):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        actions.check_channel(channel, by=team["viewer"])


def test_the_workers_checks_are_logged_only_when_they_change_something(team, account, channel):
    actions.check_channel(channel)
    assert not AuditEntry.objects.filter(action="channel.check").exists()
    service.expire_token(account)
    actions.check_channel(channel)
    entry = AuditEntry.objects.get(action="channel.check")
    assert entry.actor is None and entry.after["state"] == "needs_reconnect"
