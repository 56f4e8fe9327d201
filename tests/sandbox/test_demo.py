"""The demo company's sandbox accounts: a month of history and a day of customers."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from portevoix.networks.sandbox import SandboxNetwork
from portevoix.networks.types import Credentials
from portevoix.sandbox import service
from portevoix.sandbox.demo import load_sandbox_demo
from portevoix.sandbox.models import SandboxAccount, SandboxInteraction, SandboxPost

from ..conftest import Team


def test_demo_accounts_have_history_and_a_day_of_inbound(team: Team) -> None:
    now = timezone.now()
    accounts = load_sandbox_demo(team.workspace, now=now)
    assert [a.flavour for a in accounts] == ["photo", "pro"]
    photo, pro = accounts
    assert photo.workspace == team.workspace and photo.handle == team.workspace.slug
    posts = SandboxPost.objects.filter(account=photo)
    assert posts.count() >= 35
    assert posts.filter(received_at__lt=now - timedelta(days=25)).exists()
    assert all(p.impressions > 0 and p.likes > 0 for p in posts)
    assert SandboxPost.objects.filter(account=pro).count() >= 6
    inbound = SandboxInteraction.objects.filter(account__in=accounts)
    assert inbound.count() > 10
    assert not inbound.filter(created_at__lt=now - timedelta(days=1, minutes=15)).exists()
    assert {"fr"} <= set(inbound.values_list("language", flat=True))
    assert inbound.filter(target="competitor").exists() or inbound.filter(kind="dm").exists()

    # The channel connects with the account's credentials.
    network = SandboxNetwork()
    info = network.connect(Credentials(service.credentials_for(photo)))
    assert "sandbox" in info.display_name
    assert network.fetch_inbound(None).items

    # Idempotent.
    counts = (SandboxAccount.objects.count(), SandboxPost.objects.count(), inbound.count())
    again = load_sandbox_demo(team.workspace, now=now)
    assert [a.pk for a in again] == [a.pk for a in accounts]
    assert (SandboxAccount.objects.count(), SandboxPost.objects.count(), inbound.count()) == counts
