"""The sandbox in the admin: pages render, tokens stay hidden, actions turn the knobs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portevoix.core.models import User
from portevoix.sandbox.models import SandboxAccount, SandboxFaults
from tests.conftest import signed_in

MODELS = ["sandboxaccount", "sandboxpost", "sandboxinteraction", "sandboxcall"]


@pytest.fixture
def admin_client_(db: None) -> Client:
    user = User.objects.create_superuser("root@sandbox.test", "pw-sandbox-root")
    return signed_in(user)  # with the two-factor authentication staff need


def test_pages_render_without_the_token(admin_client_: Client, account: SandboxAccount) -> None:
    for model in MODELS:
        response = admin_client_.get(reverse(f"admin:sandbox_{model}_changelist"))
        assert response.status_code == 200, model
    page = admin_client_.get(reverse("admin:sandbox_sandboxaccount_change", args=[account.pk]))
    assert page.status_code == 200
    assert account.token not in page.content.decode()


def test_actions(admin_client_: Client, account: SandboxAccount) -> None:
    url = reverse("admin:sandbox_sandboxaccount_changelist")
    for action in ("start_crisis", "queue_rate_limited", "expire_token"):
        response = admin_client_.post(
            url, {"action": action, "_selected_action": [account.pk]}, follow=True
        )
        assert response.status_code == 200
    account.refresh_from_db()
    assert account.crisis_intensity == 1.0
    assert SandboxFaults.objects.get(account=account).queue == ["rate_limited"]
    assert account.token_expires_at is not None


def test_management_command(account: SandboxAccount, capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("sandbox", "fault", account.handle, "timeout_after_accept", "unavailable")
    call_command(
        "sandbox",
        "faults",
        account.handle,
        "--latency-ms",
        "5",
        "--rate-limit",
        "9",
        "--random",
        "timeout_after_accept=0.05,server_error=0.02",
    )
    call_command("sandbox", "crisis", account.handle, "--intensity", "2", "--topic", "le rappel")
    call_command("sandbox", "advance")
    call_command("sandbox", "stats", account.handle)
    row = SandboxFaults.objects.get(account=account)
    assert row.queue == ["timeout_after_accept", "unavailable"]
    assert (row.latency_ms, row.rate_limit) == (5, 9)
    assert row.random_faults == {"timeout_after_accept": 0.05, "server_error": 0.02}
    account.refresh_from_db()
    assert account.crisis_intensity == 2 and account.crisis_topic == "le rappel"
    call_command("sandbox", "calm", account.handle)
    call_command("sandbox", "faults", account.handle, "--clear")
    assert SandboxFaults.objects.get(account=account).queue == []
    assert account.token not in capsys.readouterr().out
