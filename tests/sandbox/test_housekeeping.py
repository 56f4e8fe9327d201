"""The worker's sandbox jobs: the world moves on, old call receipts go."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxCall
from portevoix.worker import housekeeping
from portevoix.worker.models import Housekeeping

pytestmark = pytest.mark.django_db


def test_jobs_are_registered():
    assert {"sandbox-advance", "sandbox-purge-calls"} <= set(housekeeping.JOBS)


def test_purge_keeps_a_week_of_calls(team):
    account = service.create_account("acme-calls", workspace=team.workspace)
    service.verify_credentials(account.handle, account.token)
    service.verify_credentials(account.handle, account.token)
    old = SandboxCall.objects.filter(account=account).first()
    SandboxCall.objects.filter(pk=old.pk).update(received_at=timezone.now() - dt.timedelta(days=8))
    row = Housekeeping.objects.create(name="sandbox-purge-calls", state="scheduled")
    outcome = housekeeping.run(row)
    assert "1 sandbox call" in outcome.fields["last_result"]
    assert SandboxCall.objects.filter(account=account).count() == 1


def test_advance_moves_the_world(team):
    account = service.create_account(
        "acme-world", workspace=team.workspace, now=timezone.now() - dt.timedelta(hours=3)
    )
    before = account.simulated_until
    row = Housekeeping.objects.create(name="sandbox-advance", state="scheduled")
    outcome = housekeeping.run(row)
    account.refresh_from_db()
    assert account.simulated_until > before + dt.timedelta(hours=2)
    assert "advanced" in outcome.fields["last_result"]
