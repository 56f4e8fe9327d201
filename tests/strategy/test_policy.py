"""The employee social media policy: versions, acknowledgements in the product, and for
employees without an account a public page and a signed acknowledgement link."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from portevoix.core.actions import ActionRefused
from portevoix.core.models import AccessToken, AuditEntry
from portevoix.strategy import actions
from portevoix.strategy.models import Employee, EmployeeAcknowledgement
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db


def test_members_are_asked_until_they_acknowledge_and_again_for_a_new_version(
    team, client_for
) -> None:
    manager, content = team["manager"], team["content"]
    v1 = actions.publish_policy(team.workspace, by=manager, text="Soyez courtois.")
    client = client_for(content)
    home = reverse("workspace_home", args=[team.workspace.slug])
    assert "policy-prompt" in client.get(home).content.decode()
    url = reverse("strategy_policy", args=[team.workspace.slug])
    assert client.post(url, {"version": v1.pk}).status_code == 302
    assert "policy-prompt" not in client.get(home).content.decode()
    manage = client_for(manager).get(reverse("strategy_policy_manage", args=[team.workspace.slug]))
    rows = {r["member"].pk: r["at"] for r in manage.context["member_rows"]}
    assert rows[content.pk] is not None and rows[manager.pk] is None
    v2 = actions.publish_policy(team.workspace, by=manager, text="Soyez courtois et prudents.")
    assert actions.needs_acknowledgement(content) == v2
    # An acknowledgement of the old version is refused: the new one is in force.
    with pytest.raises(ActionRefused):
        actions.acknowledge_policy(v1, by=content)
    assert client.post(url, {"version": v1.pk}).status_code == 302
    assert actions.needs_acknowledgement(content) == v2


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_member_reads_and_acknowledges(team, client_for, role) -> None:
    version = actions.publish_policy(team.workspace, by=team["manager"], text="Règles")
    client = client_for(team[role])
    url = reverse("strategy_policy", args=[team.workspace.slug])
    assert client.get(url).status_code == 200
    assert client.post(url, {"version": version.pk}).status_code == 302
    assert actions.needs_acknowledgement(team[role]) is None


def test_the_csv_import_reports_bad_lines_by_number_and_imports_nothing(team, client_for) -> None:
    text = "nom,email,service\nAna,ana@acme.test,RH\nBob,pas-une-adresse\nAna B,ana@acme.test\n,x@y.z\n"
    report = actions.import_employees(team.workspace, by=team["manager"], text=text)
    assert [line for line, _ in report.errors] == [3, 4, 5]
    assert not Employee.objects.exists()
    url = reverse("strategy_policy_employees", args=[team.workspace.slug])
    response = client_for(team["manager"]).post(url, {"csv_text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line 3" in html and "pas-une-adresse" in html  # the text stays in the form
    good = "Ana,ana@acme.test,RH\nBruno,bruno@acme.test\n"
    assert client_for(team["manager"]).post(url, {"csv_text": good}).status_code == 302
    assert Employee.objects.count() == 2


def test_an_employee_acknowledges_by_a_signed_link_that_does_only_that(
    team, client_for, django_capture_on_commit_callbacks
) -> None:
    manager = team["manager"]
    actions.publish_policy(team.workspace, by=manager, text="Règle 1")
    actions.import_employees(team.workspace, by=manager, text="Ana,ana@acme.test,RH\n")
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_acknowledgement_links(team.workspace, by=manager) == 1
    (message,) = mail.outbox
    link = next(word for word in message.body.split() if "/policy/ack/" in word)
    path = link[link.index("/policy/ack/") :]
    anonymous = client_for(None)
    page = anonymous.get(path)
    assert page.status_code == 200 and "Règle 1" in page.content.decode()
    assert EmployeeAcknowledgement.objects.get().acknowledged_at is None
    assert anonymous.post(path).status_code == 200
    ack = EmployeeAcknowledgement.objects.get()
    assert ack.acknowledged_at is not None and ack.employee.email == "ana@acme.test"
    assert AuditEntry.objects.filter(action="policy.employee_acknowledge").count() == 1
    # A tampered token, or a token of another purpose, opens nothing.
    assert anonymous.get(path[:-3] + "abc/").status_code == 404
    # A new version closes the old link; the employee is asked again.
    actions.publish_policy(team.workspace, by=manager, text="Règle 2")
    assert anonymous.get(path).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_acknowledgement_links(team.workspace, by=manager) == 1


def test_the_public_page_shows_the_policy_in_force_read_only(team, client_for) -> None:
    manager = team["manager"]
    actions.publish_policy(team.workspace, by=manager, text="Première")
    response = client_for(manager).post(reverse("strategy_policy_link", args=[team.workspace.slug]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    link = response.context["new_link"]
    path = link[link.index("/policy/") :]
    actions.publish_policy(team.workspace, by=manager, text="Deuxième")
    anonymous = client_for(None)
    page = anonymous.get(path)
    assert page.status_code == 200 and "Deuxième" in page.content.decode()
    assert anonymous.post(path).status_code == 405
    token = AccessToken.objects.get(purpose="policy_page")
    from portevoix.core.actions import revoke_access_token

    revoke_access_token(token, by=manager)
    assert anonymous.get(path).status_code == 404
