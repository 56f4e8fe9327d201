"""The training record: drills, the employee policy and the compliance rules acknowledged; a
member reads their own, managers everyone's and the overview."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.audit import AuditEntry
from portevoix.core.permissions import MATRIX
from portevoix.crisis.models import Drill, DrillResult
from portevoix.publishing import compliance
from portevoix.strategy import actions as strategy
from portevoix.training import actions
from portevoix.training.models import ComplianceAcknowledgement
from tests.conftest import ALL_ROLES

MANAGERS = [r for r in ALL_ROLES if "strategy.manage" in MATRIX[r]]
OTHERS = [r for r in ALL_ROLES if r not in MANAGERS]


def rule(team, name: str = "Pas de promesse", values: str = "garanti") -> object:
    return compliance.create_rule(
        team.workspace,
        by=team["manager"],
        name=name,
        kind="banned",
        values=values,
        message="AMF : aucune promesse de rendement",
    )


def test_the_record_gathers_drills_policy_and_rules(team) -> None:
    now = timezone.now()
    drill = Drill.objects.create(
        workspace=team.workspace,
        kind="crisis",
        intensity=3.0,
        state="ended",
        started_at=now - dt.timedelta(days=3),
        ends_at=now - dt.timedelta(days=3, hours=-2),
        ended_at=now - dt.timedelta(days=3, hours=-2),
        score=72,
    )
    DrillResult.objects.create(drill=drill, member=team["content"], replies=6, tasks_done=1)
    version = strategy.publish_policy(team.workspace, by=team["manager"], text="Soyez courtois.")
    strategy.acknowledge_policy(version, by=team["content"])
    first = rule(team)
    content = team["content"]
    record = actions.records(team.workspace, [content])[0]
    assert [r.drill for r in record.drills] == [drill] and record.mean_drill_score == 72
    assert record.policy_ok and record.policy_acknowledged_at is not None
    assert not record.compliance_ok

    actions.acknowledge_compliance(team.workspace, by=content, fingerprint=record.fingerprint)
    assert AuditEntry.objects.filter(action="training.compliance_ack").count() == 1
    record = actions.records(team.workspace, [content])[0]
    assert record.compliance_ok
    # A changed rule asks again; a new policy version too.
    compliance.update_rule(first, by=team["manager"], values="garanti, sans risque")
    strategy.publish_policy(team.workspace, by=team["manager"], text="Soyez courtois. v2")
    record = actions.records(team.workspace, [content])[0]
    assert not record.compliance_ok and record.compliance_last is not None
    assert not record.policy_ok and len(record.policy_earlier) == 1


def test_acknowledging_rules_refuses_what_changed_and_nothing(team) -> None:
    with pytest.raises(ActionRefused):  # no rule
        actions.acknowledge_compliance(team.workspace, by=team["viewer"], fingerprint="x")
    rule(team)
    with pytest.raises(ActionRefused):  # not the rules in force
        actions.acknowledge_compliance(team.workspace, by=team["viewer"], fingerprint="x" * 64)
    fingerprint = actions.rules_fingerprint(actions.active_rules(team.workspace.pk))
    actions.acknowledge_compliance(team.workspace, by=team["agent"], fingerprint=fingerprint)
    actions.acknowledge_compliance(team.workspace, by=team["agent"], fingerprint=fingerprint)
    assert ComplianceAcknowledgement.objects.count() == 1  # once


@pytest.mark.parametrize("role", ALL_ROLES)
def test_a_member_reads_their_own_record_managers_everyone(team, client_for, role) -> None:
    me = team[role]
    client = client_for(me)
    ws = team.workspace.slug
    own = client.get(reverse("training_member", kwargs={"ws": ws, "pk": me.pk}))
    assert own.status_code == 200
    other = team["creative"] if role != "creative" else team["content"]
    theirs = client.get(reverse("training_member", kwargs={"ws": ws, "pk": other.pk}))
    overview = client.get(reverse("training", kwargs={"ws": ws}))
    if role in MANAGERS:
        assert theirs.status_code == 200 and overview.status_code == 200
        assert other.user.display_name in overview.content.decode()
    else:
        assert theirs.status_code == 403
        assert overview.status_code == 302 and overview["Location"].endswith(f"/{me.pk}/")
        with pytest.raises(PermissionDenied):
            actions.require_reader(me, other)
    # Another workspace's member is not found.
    outsider = client.get(reverse("training_member", kwargs={"ws": ws, "pk": team.outsider.pk}))
    assert outsider.status_code == 404


def test_acknowledging_the_rules_in_the_browser(team, client_for) -> None:
    rule(team)
    client = client_for(team["agent"])
    ws = team.workspace.slug
    page = client.get(reverse("training_member", kwargs={"ws": ws, "pk": team["agent"].pk}))
    body = page.content.decode()
    assert "Pas de promesse" in body
    fingerprint = actions.rules_fingerprint(actions.active_rules(team.workspace.pk))
    assert fingerprint in body
    stale = client.post(reverse("training_compliance", kwargs={"ws": ws}), {"fingerprint": "old"})
    assert stale.status_code == 302 and not ComplianceAcknowledgement.objects.exists()
    client.post(reverse("training_compliance", kwargs={"ws": ws}), {"fingerprint": fingerprint})
    assert ComplianceAcknowledgement.objects.filter(member=team["agent"]).exists()
