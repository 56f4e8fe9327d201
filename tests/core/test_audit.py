"""The audit log: every action leaves an entry; nothing can change or delete one."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from portevoix.core import actions, audit
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import Role


def test_actions_record_who_what_before_after_and_where(team) -> None:
    with audit.origin(audit.Origin(ip_address="203.0.113.9", user_agent="pytest")):
        actions.change_role(team["content"], by=team["admin"], role=Role.ANALYST)
    entry = AuditEntry.objects.get(action="member.change_role")
    assert entry.actor == team["admin"].user and entry.workspace == team.workspace
    assert entry.before["role"] == "content" and entry.after["role"] == "analyst"
    assert entry.ip_address == "203.0.113.9" and entry.user_agent == "pytest"


def test_the_log_is_append_only(team) -> None:
    entry = AuditEntry.objects.first()
    entry.action = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_web_requests_record_the_address(team, client_for) -> None:
    client = client_for(team["admin"])
    client.post(
        reverse("departments", kwargs={"ws": "acme"}),
        {"name": "Presse"},
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT="Firefox",
    )
    entry = AuditEntry.objects.get(action="department.create")
    assert entry.ip_address == "198.51.100.7" and entry.user_agent == "Firefox"


def test_filter_and_export(team, client_for) -> None:
    actions.change_role(team["content"], by=team["manager"], role=Role.CREATIVE)
    actions.create_department(team.workspace, by=team["admin"], name="Presse")
    client = client_for(team["manager"])
    page = client.get(reverse("audit_log", kwargs={"ws": "acme"}), {"action": "change_role"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "member.change_role" in html and "department.create" not in html

    response = client.get(reverse("audit_export", kwargs={"ws": "acme"}), {"actor": "manager@"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "actor", "action"]
    assert [r[2] for r in rows[1:]] == ["member.change_role"]
    assert '"role": "creative"' in rows[1][7]


def test_export_never_leaks_another_workspace(team, client_for) -> None:
    actions.create_department(team.outsider.workspace, by=team.outsider, name="Secret")
    response = client_for(team["admin"]).get(reverse("audit_export", kwargs={"ws": "acme"}))
    body = b"".join(response.streaming_content).decode()
    assert "Secret" not in body and "Other" not in body


def test_bad_filter_is_a_clear_400(team, client_for) -> None:
    client = client_for(team["admin"])
    response = client.get(reverse("audit_export", kwargs={"ws": "acme"}), {"since": "yesterday"})
    assert response.status_code == 400
    response = client.get(reverse("audit_log", kwargs={"ws": "acme"}), {"since": "31/02/2026"})
    assert response.status_code == 400
