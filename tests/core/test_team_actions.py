"""Invitations, roles, deactivation, departments: the rules and the refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portevoix.core import actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry, Department, Invitation, Member, User
from portevoix.core.permissions import Role
from tests.conftest import PASSWORD, make_team, make_user


def _invite(team, email="new@acme.test", role=Role.CONTENT, **kw):
    return actions.invite(team.workspace, by=team["admin"], email=email, role=role, **kw)


def test_workspace_is_created_with_its_departments_and_an_admin(db) -> None:
    user = make_user("founder@example.test")
    ws = actions.create_workspace(name="Maison Test", creator=user)
    assert ws.slug == "maison-test"
    assert set(ws.departments.values_list("name", flat=True)) == {
        "Marketing",
        "Communication / RP",
        "Service client",
        "Ventes",
        "RH",
        "Juridique",
        "Informatique",
        "Finance",
        "Direction",
    }
    assert Member.objects.get(workspace=ws, user=user).role == Role.ADMIN
    with pytest.raises(ActionRefused, match=r"taken|pris"):
        actions.create_workspace(name="Maison Test", creator=user)


def test_english_workspace_gets_english_department_names(db) -> None:
    ws = actions.create_workspace(name="Brand", creator=make_user("a@b.test"), language="en")
    assert "Customer service" in set(ws.departments.values_list("name", flat=True))


def test_invitation_is_emailed_and_accepted_by_a_new_person(
    team, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = _invite(team, department=team.department("marketing"))
    assert len(mail.outbox) == 1
    assert token in mail.outbox[0].body
    assert invitation.token_hash != token  # only the hash is stored
    member = actions.accept_invitation(token, full_name="Nina New", password=PASSWORD)
    assert member.role == Role.CONTENT and member.department.code == "marketing"
    assert member.user.check_password(PASSWORD)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    with pytest.raises(ActionRefused) as used:
        actions.accept_invitation(token, full_name="Again", password=PASSWORD)
    assert used.value.code == "used"
    assert AuditEntry.objects.filter(action="invitation.accept", workspace=team.workspace).exists()


def test_expired_invitation_is_refused_and_changes_nothing(team) -> None:
    invitation, token = _invite(team)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    users = User.objects.count()
    with pytest.raises(ActionRefused) as refused:
        actions.accept_invitation(token, full_name="Late", password=PASSWORD)
    assert refused.value.code == "expired"
    assert User.objects.count() == users
    assert not Member.objects.filter(user__email="new@acme.test").exists()


@pytest.mark.parametrize("token", ["", "forged-token", "x" * 43])
def test_forged_invitation_is_refused(team, client, token) -> None:
    with pytest.raises(ActionRefused) as refused:
        actions.accept_invitation(token, full_name="Eve", password=PASSWORD)
    assert refused.value.code == "invalid"
    if token:
        response = client.get(reverse("invitation_accept", args=[token]))
        assert response.status_code == 404
        assert b"not valid" in response.content or "n’est pas valide".encode() in response.content


def test_expired_invitation_page_says_so(team, client) -> None:
    invitation, token = _invite(team)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1)
    )
    response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 410
    response = client.post(
        reverse("invitation_accept", args=[token]), {"full_name": "X", "password": PASSWORD}
    )
    assert response.status_code == 410
    assert not User.objects.filter(email="new@acme.test").exists()


def test_revoked_and_resent_invitations(team) -> None:
    invitation, token = _invite(team)
    new_token = actions.resend_invitation(invitation, by=team["admin"])
    with pytest.raises(ActionRefused):
        actions.check_invitation(token)  # the old link stops working
    actions.revoke_invitation(invitation, by=team["admin"])
    with pytest.raises(ActionRefused) as refused:
        actions.check_invitation(new_token)
    assert refused.value.code == "revoked"


def test_duplicate_email_is_refused(team) -> None:
    with pytest.raises(ActionRefused) as member_exists:
        _invite(team, email="CONTENT@acme.test")
    assert member_exists.value.code == "duplicate" and member_exists.value.field == "email"
    _invite(team)
    with pytest.raises(ActionRefused) as pending:
        _invite(team, email="New@Acme.test")
    assert pending.value.code == "duplicate"
    assert Invitation.objects.filter(email="new@acme.test").count() == 1


def test_duplicate_email_shows_in_the_form(team, client_for) -> None:
    response = client_for(team["admin"]).post(
        reverse("invitations", kwargs={"ws": "acme"}),
        {"email": "viewer@acme.test", "role": Role.CONTENT},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="viewer@acme.test"' in html  # what was typed is kept
    assert "already a member" in html or "déjà membre" in html


def test_invitation_for_the_wrong_account_is_refused(team) -> None:
    _, token = _invite(team)
    with pytest.raises(ActionRefused) as refused:
        actions.accept_invitation(token, user=team.outsider.user)
    assert refused.value.code == "wrong_user"


def test_weak_password_is_refused_with_the_reason(team) -> None:
    _, token = _invite(team)
    with pytest.raises(ActionRefused) as refused:
        actions.accept_invitation(token, full_name="Nina", password="123")
    assert refused.value.field == "password"
    assert not User.objects.filter(email="new@acme.test").exists()


def test_only_admins_make_admins(team) -> None:
    with pytest.raises(ActionRefused):
        actions.invite(team.workspace, by=team["manager"], email="x@acme.test", role=Role.ADMIN)
    with pytest.raises(ActionRefused):
        actions.change_role(team["content"], by=team["manager"], role=Role.ADMIN)
    with pytest.raises(ActionRefused):
        actions.change_role(team["admin"], by=team["manager"], role=Role.VIEWER)
    assert Member.objects.get(pk=team["content"].pk).role == Role.CONTENT


def test_agent_needs_a_department(team) -> None:
    with pytest.raises(ActionRefused) as refused:
        actions.change_role(team["content"], by=team["admin"], role=Role.AGENT)
    assert refused.value.field == "department"
    member = actions.change_role(
        team["content"], by=team["admin"], role=Role.AGENT, department=team.department("legal")
    )
    assert member.department.code == "legal"


def test_department_of_another_workspace_is_refused(team) -> None:
    foreign = Department.objects.filter(workspace=team.outsider.workspace).first()
    with pytest.raises(ActionRefused):
        actions.change_role(team["content"], by=team["admin"], role=Role.AGENT, department=foreign)


def test_last_admin_cannot_be_demoted_or_deactivated(team) -> None:
    admin = team["admin"]
    with pytest.raises(ActionRefused) as demote:
        actions.change_role(admin, by=admin, role=Role.MANAGER)
    assert demote.value.code == "last_admin"
    second = actions.change_role(team["manager"], by=admin, role=Role.ADMIN)
    with pytest.raises(ActionRefused) as deactivate:
        actions.deactivate_member(second, by=second)
        actions.deactivate_member(admin, by=admin)
    assert (
        Member.objects.filter(role=Role.ADMIN, is_active=True, workspace=team.workspace).count()
        >= 1
    )
    assert deactivate.value.code == "last_admin"


def test_last_admin_refusal_in_the_page(team, client_for) -> None:
    admin = team["admin"]
    response = client_for(admin).post(
        reverse("member_detail", kwargs={"ws": "acme", "pk": admin.pk}), {"role": Role.VIEWER}
    )
    assert response.status_code == 400
    assert "last admin" in response.content.decode() or "dernier" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_deactivation_ends_the_members_sessions_at_once(
    team, client, django_capture_on_commit_callbacks
) -> None:
    victim = team["content"]
    client.post(reverse("account_login"), {"login": victim.user.email, "password": PASSWORD})
    assert client.get(reverse("team", kwargs={"ws": "acme"})).status_code == 200
    assert UserSession.objects.filter(user=victim.user).exists()
    from django.test import Client

    admin = Client()
    admin.force_login(team["admin"].user, backend="django.contrib.auth.backends.ModelBackend")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("member_deactivate", kwargs={"ws": "acme", "pk": victim.pk}))
    assert response.status_code == 302
    assert not UserSession.objects.filter(user=victim.user).exists()
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(victim.user.pk) for s in Session.objects.all()
    )
    response = client.get(reverse("team", kwargs={"ws": "acme"}))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    entry = AuditEntry.objects.filter(action="member.deactivate").latest("created_at")
    assert entry.before["is_active"] is True and entry.after["is_active"] is False


def test_a_deactivated_member_sees_nothing_even_with_a_live_session(team, client_for) -> None:
    victim = team["manager"]
    client = client_for(victim)
    Member.objects.filter(pk=victim.pk).update(is_active=False)
    response = client.get(reverse("team", kwargs={"ws": "acme"}))
    # Told why (a 403 of the product), shown nothing of the workspace.
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="access-removed"' in page
    assert team["admin"].user.email not in page and team["content"].user.display_name not in page
    # Someone who never belonged still finds nothing there.
    outsider = make_team("globex")["admin"]
    assert client_for(outsider).get(reverse("team", kwargs={"ws": "acme"})).status_code == 404


def test_a_deactivated_member_is_told_their_access_was_removed(team, client_for) -> None:
    """Signing in again, a deactivated member landed on "New workspace: you do not belong to
    any workspace yet, create one", never told what happened."""
    from django.test import Client

    victim = actions.deactivate_member(team["ambassador"], by=team["admin"])
    client = Client()
    client.force_login(victim.user)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("workspace_create")).content.decode()
    assert f"Your access to {team.workspace.name} was removed on" in page
    # On the workspace's own pages too.
    response = client.get(reverse("inbox", kwargs={"ws": team.workspace.slug}))
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="access-removed"' in page and team.workspace.name in page


def test_reactivation(team) -> None:
    victim = actions.deactivate_member(team["content"], by=team["admin"])
    assert not victim.is_active
    with pytest.raises(ActionRefused):
        actions.invite(team.workspace, by=team["admin"], email=victim.user.email, role=Role.VIEWER)
    assert actions.reactivate_member(victim, by=team["admin"]).is_active


def test_departments_can_be_added_renamed_and_archived(team) -> None:
    admin = team["admin"]
    dept = actions.create_department(team.workspace, by=admin, name="Ambassadeurs")
    assert dept.code == "ambassadeurs"
    with pytest.raises(ActionRefused):
        actions.create_department(team.workspace, by=admin, name="ambassadeurs")
    with pytest.raises(ActionRefused):
        actions.update_department(dept, by=admin, name="Ventes")
    actions.update_department(dept, by=admin, name="Ambassadeurs internes")
    with pytest.raises(ActionRefused):
        actions.update_department(team.department("sales"), by=admin, is_active=False)
    assert actions.update_department(dept, by=admin, is_active=False).is_active is False


def test_department_form_keeps_input_on_error(team, client_for) -> None:
    response = client_for(team["admin"]).post(
        reverse("departments", kwargs={"ws": "acme"}), {"name": "Ventes", "description": "dup"}
    )
    assert response.status_code == 400
    assert 'value="Ventes"' in response.content.decode()
    assert Department.objects.filter(workspace=team.workspace, name="Ventes").count() == 1


def test_workspace_switcher_lists_only_the_persons_workspaces(team, client_for) -> None:
    user = team["manager"].user
    other = actions.create_workspace(name="Second Brand", creator=user)
    html = (
        client_for(team["manager"])
        .get(reverse("workspace_home", kwargs={"ws": "acme"}))
        .content.decode()
    )
    assert "Second Brand" in html and "Other" not in html
    assert (
        client_for(team["manager"])
        .get(reverse("workspace_home", kwargs={"ws": other.slug}))
        .status_code
        == 200
    )
