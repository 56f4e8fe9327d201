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


def test_the_action_filter_takes_the_name_the_page_shows(team, client_for) -> None:
    """« rôle » finds « Rôle modifié » (member.change_role) in a French page, accents aside;
    a code or part of one still works."""
    actions.change_role(team["content"], by=team["manager"], role=Role.CREATIVE)
    actions.create_department(team.workspace, by=team["admin"], name="Presse")
    client = client_for(team["manager"])
    url = reverse("audit_log", kwargs={"ws": "acme"})
    for wanted in ("role", "Rôle modifié", "member.change"):
        html = client.get(url, {"action": wanted}).content.decode()
        assert '<code class="small">member.change_role</code>' in html, wanted
        assert '<code class="small">department.create</code>' not in html, wanted
    html = client.get(url).content.decode()
    assert '<datalist id="audit-actions">' in html and '<option value="Rôle modifié">' in html


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


# --- one language per reader -----------------------------------------------------------------


def _diff_cells(html: str) -> str:
    import re

    return " ".join(re.findall(r'<td class="diff">(.*?)</td>', html, flags=re.S))


def test_the_log_reads_in_the_readers_language_whoever_wrote_it(team, client_for) -> None:
    from django.utils import translation

    with translation.override("fr"):
        actions.change_role(
            team["viewer"],
            by=team["admin"],
            role=Role.AGENT,
            department=team.department("sales"),
        )
    with translation.override("en"):
        actions.change_role(team["analyst"], by=team["admin"], role=Role.ADMIN)
    admin = team["admin"]
    url = reverse("audit_log", kwargs={"ws": team.workspace.slug}) + "?action=member.change_role"
    pages = {}
    for language in ("fr", "en"):
        admin.user.language = language
        admin.user.save(update_fields=["language"])
        pages[language] = _diff_cells(client_for(admin).get(url).content.decode())
    assert "Rôle" in pages["fr"] and "Lecteur / Direction" in pages["fr"]
    assert "Agent de service" in pages["fr"] and "Administrateur" in pages["fr"]
    assert "Viewer / Executive" not in pages["fr"] and ">Admin<" not in pages["fr"]
    assert "Role" in pages["en"] and "Viewer / Executive" in pages["en"]
    assert "Department agent" in pages["en"] and ">Admin<" in pages["en"]
    assert "Administrateur" not in pages["en"] and "Lecteur" not in pages["en"]


def test_stored_entries_hold_codes_not_labels(team) -> None:
    from django.utils import translation

    with translation.override("fr"):
        actions.change_role(team["content"], by=team["admin"], role=Role.ADMIN)
        _invitation, _token = actions.invite(
            team.workspace,
            by=team["admin"],
            email="new@acme.test",
            role=Role.AGENT,
            department=team.department("sales"),
        )
    changed = AuditEntry.objects.get(action="member.change_role")
    assert changed.after["role"] == "admin"
    assert "Administrat" not in changed.object_repr and "Admin" not in changed.object_repr
    invited = AuditEntry.objects.get(action="invitation.create")
    assert invited.after["department"]["id"] == team.department("sales").pk


def test_who_acted_when_no_person_did_is_named_in_the_readers_language(team) -> None:
    from django.utils import translation

    entry = audit.record("secrets.rotate", workspace=None, actor=None)
    with audit.origin(audit.Origin(label="cli")):
        cli = audit.record("secrets.rotate", workspace=None, actor=None)
    with translation.override("fr"):
        assert audit.actor_name(cli) == "ligne de commande"
        assert audit.actor_name(entry) == "système"
    with translation.override("en"):
        assert audit.actor_name(cli) == "command line"
    assert cli.actor_label == "cli"  # the stored fact


def test_the_migration_rewrites_entries_written_in_one_language(team) -> None:
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    migration = importlib.import_module("portevoix.core.migrations.0003_audit_language_neutral")
    member = team["content"]
    old = AuditEntry.objects.create(
        workspace=team.workspace,
        action="member.change_role",
        object_type="core.member",
        object_id=str(member.pk),
        object_repr="Claire Martin (Administrateur, Lumière Cosmétiques)",
    )
    untouched = AuditEntry.objects.create(
        workspace=team.workspace,
        action="member.add",
        object_type="core.member",
        object_repr="Claire Martin (Lumière Cosmétiques)",
    )
    sales = team.department("sales")
    invited = AuditEntry.objects.create(
        workspace=team.workspace,
        action="invitation.create",
        object_type="core.invitation",
        after={"email": "x@acme.test", "role": "agent", "department": sales.pk},
    )
    gone = AuditEntry.objects.create(
        workspace=team.workspace,
        action="invitation.create",
        object_type="core.invitation",
        after={"email": "y@acme.test", "role": "agent", "department": 999_999},
    )
    state = MigrationExecutor(connection).loader.project_state(
        ("core", "0003_audit_language_neutral")
    )
    migration.forwards(state.apps, None)
    by_pk = {e.pk: e for e in AuditEntry.objects.filter(pk__in=[old.pk, untouched.pk])}
    assert by_pk[old.pk].object_repr == "Claire Martin (Lumière Cosmétiques)"
    assert by_pk[untouched.pk].object_repr == "Claire Martin (Lumière Cosmétiques)"
    assert AuditEntry.objects.get(pk=invited.pk).after["department"] == {
        "id": sales.pk,
        "repr": sales.name,
    }
    assert AuditEntry.objects.get(pk=gone.pk).after["department"] == {
        "id": 999_999,
        "repr": "#999999",
    }


def test_the_migration_names_settings_drills_and_versions_in_no_language(team) -> None:
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    migration = importlib.import_module(
        "portevoix.core.migrations.0008_audit_objects_in_no_language"
    )
    written = {
        ("care.webcaresettings", "webcare of 1"): team.workspace.name,
        ("privacy.retentionpolicy", "retention of 12"): team.workspace.name,
        ("crisis.drill", "drill 3 (crisis)"): "#3 (crisis)",
        ("strategy.canvasversion", "canvas v2"): "v2",
        ("strategy.policyversion", "policy v11"): "v11",
        ("publishing.idea", "drill 3 (crisis)"): "drill 3 (crisis)",  # another type: untouched
        ("strategy.policyversion", "v4"): "v4",
    }
    entries = {
        AuditEntry.objects.create(
            workspace=team.workspace, action="x", object_type=kind, object_repr=text
        ).pk: expected
        for (kind, text), expected in written.items()
    }
    state = MigrationExecutor(connection).loader.project_state(
        ("core", "0008_audit_objects_in_no_language")
    )
    migration.forwards(state.apps, None)
    for pk, expected in entries.items():
        assert AuditEntry.objects.get(pk=pk).object_repr == expected


def test_objects_the_log_names_are_named_in_no_language(team) -> None:
    """The settings, drills and versions an entry names: no English words beside a French
    label (the page translates the action, not the object)."""
    from portevoix.care.models import WebcareSettings
    from portevoix.crisis.models import Drill
    from portevoix.privacy.models import RetentionPolicy

    workspace = team.workspace
    assert str(WebcareSettings(workspace=workspace)) == workspace.name
    assert str(RetentionPolicy(workspace=workspace)) == workspace.name
    assert str(Drill(pk=4, workspace=workspace, kind="crisis")) == "#4 (crisis)"


def test_a_kpi_is_named_in_the_readers_language_and_the_csv_keeps_its_codes(team) -> None:
    """« KPI ajouté clicks 3000.00/month » mixed English codes into a French page."""
    from django.utils import translation

    stored = {
        "clicks 3000.00/month": ("Clics sur les liens · 3 000 clics par mois", "Link clicks · "),
        "first_response_minutes 60.00/week": (
            "Délai de première réponse · au plus 60 minutes sur la semaine",
            "First response time · at most 60 minutes over the week",
        ),
        "engagement_rate 4.50/month": ("Taux d’engagement · 4,50 % sur le mois", "Engagement"),
        "likes 3.00/month": ("likes 3.00/month", "likes 3.00/month"),  # unknown: as stored
        "not a kpi": ("not a kpi", "not a kpi"),
    }
    for text, (french, english) in stored.items():
        entry = AuditEntry.objects.create(
            workspace=team.workspace,
            action="strategy.kpi_add",
            object_type="strategy.kpi",
            object_repr=text,
        )
        with translation.override("fr"):
            assert audit.object_name(entry).replace("\u202f", " ").replace("\xa0", " ") == french
        with translation.override("en"):
            assert audit.object_name(entry).startswith(english)
        assert entry.object_repr == text  # the stored fact, and the CSV's
    other = AuditEntry.objects.create(
        workspace=team.workspace, action="x", object_type="publishing.post", object_repr="Hi"
    )
    assert audit.object_name(other) == "Hi"


def test_a_kpis_fields_are_named_in_the_readers_language(team) -> None:
    """The "Modification" column of a KPI entry read « Goal customer_service, metric
    sla_compliance, 90.00 »: an English label and three codes on a French page."""
    from django.utils import translation

    from portevoix.strategy import actions as strategy
    from portevoix.strategy.models import Goal

    goal = Goal.objects.create(workspace=team.workspace, code="customer_service")
    kpi = strategy.add_kpi(
        goal, by=team["manager"], metric="sla_compliance", target=90, period="month"
    )
    entry = AuditEntry.objects.get(action="strategy.kpi_add", object_id=str(kpi.pk))
    with translation.override("fr"):
        rows = {label: after for label, _before, after in audit.changes(entry)}
    assert rows["Objectif"] == "Service client"
    assert rows["Indicateur"] == "Réponses dans le délai promis"
    assert rows["Cible"] == "90"
    assert rows["Période"] == "par mois"
    with translation.override("en"):
        rows = {label: after for label, _before, after in audit.changes(entry)}
    assert rows["Goal"] == "Customer service" and rows["Target"] == "90"
    # The stored facts, and the CSV's, keep the codes.
    assert entry.after["metric"] == "sla_compliance"
    assert entry.after["goal"]["repr"] == "customer_service"
    # A code no longer known reads as stored rather than failing the page.
    entry.after["metric"] = "retired_metric"
    with translation.override("fr"):
        assert ("Indicateur", None, "retired_metric") in audit.changes(entry)
