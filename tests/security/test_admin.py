"""The Django admin and /ops/: one login flow for everyone, two-factor for staff, and no
second write path around the actions."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from portevoix.core import actions
from portevoix.core.models import AuditEntry, Department, Invitation, Member, User, Workspace
from tests.conftest import PASSWORD
from tests.totp import current_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(team) -> User:
    user = team["admin"].user
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    user.refresh_from_db()
    return user


def _login_with_code(email: str, secret: str) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302 and "2fa" in response["Location"]
    response = client.post(response["Location"], {"code": current_code(secret)})
    assert response.status_code == 302
    return client


# --- one login flow ---------------------------------------------------------------------


def test_the_admin_login_page_is_allauths(staff) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in response["Location"]


def test_a_password_alone_at_the_admin_login_logs_nobody_in(staff) -> None:
    """The bug: a staff member with TOTP got in at /admin/login/ with the password only."""
    TOTP.activate(staff, generate_totp_secret())
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("audit_export", kwargs={"ws": "acme"})).status_code == 302
    assert client.get("/ops/work/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_admin_logins_are_throttled_like_every_login(staff) -> None:
    """25 wrong passwords at /admin/login/ used to be free, then the right one worked. Now
    that form checks no password at all; allauth's form, with its throttling, does."""
    cache.clear()
    client = Client()
    for _ in range(25):
        client.post("/admin/login/", {"username": staff.email, "password": "wrong-wrong"})
    client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    for _ in range(5):
        client.post(reverse("account_login"), {"login": staff.email, "password": "wrong-wrong"})
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session, "the right password waits after 5 failures"
    cache.clear()


def test_a_staff_login_is_in_the_installations_audit_log(staff) -> None:
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    _login_with_code(staff.email, secret)
    assert AuditEntry.objects.filter(action="user.login", workspace=None, actor=staff).exists()


# --- two-factor for staff, whatever their workspaces require ---------------------------


def test_staff_without_an_authenticator_must_set_one_up_for_admin_and_ops(staff) -> None:
    assert not staff.memberships.filter(workspace__require_two_factor=True).exists()
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    for path in ("/admin/", "/admin/core/auditentry/", "/ops/work/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("mfa_activate_totp")), path
    # Their workspace does not require two-factor: its pages stay open to them.
    assert client.get(reverse("team", kwargs={"ws": "acme"})).status_code == 200


def test_staff_whose_session_skipped_the_code_are_asked_for_it(staff) -> None:
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/ops/work/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    response = client.post(response["Location"], {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.get("/ops/work/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_staff_logged_in_with_their_code_reach_admin_and_ops(staff) -> None:
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = _login_with_code(staff.email, secret)
    assert client.get("/admin/").status_code == 200
    assert client.get("/ops/work/").status_code == 200


def test_members_who_are_not_staff_are_refused_by_the_admin(team, client_for) -> None:
    client = client_for(team["manager"])
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/ops/work/").status_code in {302, 403, 404}


# --- the admin writes nothing itself ----------------------------------------------------


@pytest.fixture
def operator(staff) -> Client:
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    return _login_with_code(staff.email, secret)


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(
    "model", [Workspace, Member, Department, Invitation, User, AuditEntry, Authenticator]
)
def test_core_models_are_read_only_in_the_admin(team, operator, model) -> None:
    TOTP.activate(team["viewer"].user, generate_totp_secret())
    actions.invite(team.workspace, by=team["admin"], email="new@acme.test", role="viewer")
    row = model.objects.first()
    assert row is not None
    assert operator.get(_admin_url(model, "changelist")).status_code == 200
    assert operator.get(_admin_url(model, "change", row.pk)).status_code == 200  # a view
    assert operator.get(_admin_url(model, "add")).status_code == 403
    assert operator.get(_admin_url(model, "delete", row.pk)).status_code == 403
    before = model.objects.count()
    response = operator.post(
        _admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert response.status_code in {200, 302}
    assert model.objects.count() == before


def test_a_member_cannot_be_edited_around_the_last_admin_rule(team, operator) -> None:
    admin = team["admin"]
    url = _admin_url(Member, "change", admin.pk)
    response = operator.post(
        url, {"workspace": admin.workspace_id, "user": admin.user_id, "role": "viewer"}
    )
    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_the_admin_shows_no_secret(team, operator) -> None:
    secret = generate_totp_secret()
    authenticator = TOTP.activate(team["viewer"].user, secret).instance
    page = operator.get(_admin_url(Authenticator, "change", authenticator.pk)).content.decode()
    assert secret not in page and authenticator.data["secret"] not in page
    invitation = Invitation.objects.create(
        workspace=team.workspace,
        email="x@y.test",
        role="viewer",
        token_hash="f" * 64,
        expires_at=team.workspace.created_at,
    )
    page = operator.get(_admin_url(Invitation, "change", invitation.pk)).content.decode()
    assert "f" * 64 not in page
    from allauth.usersessions.models import UserSession

    session = UserSession.objects.first()
    assert session is not None
    page = operator.get(_admin_url(UserSession, "change", session.pk)).content.decode()
    assert session.session_key not in page


def test_operator_removes_a_lost_authenticator_through_the_action(team, staff, operator) -> None:
    viewer = team["viewer"].user
    TOTP.activate(viewer, generate_totp_secret())
    response = operator.post(
        _admin_url(User, "changelist"),
        {"action": "reset_two_factor", "_selected_action": [viewer.pk]},
    )
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=viewer).exists()
    entry = AuditEntry.objects.get(action="user.reset_two_factor")
    assert entry.actor == staff and entry.object_id == str(viewer.pk)


# --- a workspace is archived, never deleted with its history ----------------------------


def test_a_workspace_cannot_be_deleted_with_its_audit_log(team) -> None:
    with pytest.raises(ProtectedError):
        team.workspace.delete()
    assert AuditEntry.objects.filter(workspace=team.workspace).exists()


def test_archiving_from_the_admin_closes_the_workspace_and_keeps_its_history(
    team, staff, operator, client_for
) -> None:
    history = AuditEntry.objects.filter(workspace=team.workspace).count()
    response = operator.post(
        _admin_url(Workspace, "changelist"),
        {"action": "archive", "_selected_action": [team.workspace.pk]},
    )
    assert response.status_code == 302
    team.workspace.refresh_from_db()
    assert team.workspace.archived_at is not None
    entry = AuditEntry.objects.get(action="workspace.archive")
    assert entry.actor == staff and entry.workspace == team.workspace
    assert AuditEntry.objects.filter(workspace=team.workspace).count() == history + 1

    member = client_for(team["manager"])
    page = member.get(reverse("team", kwargs={"ws": "acme"}))
    assert page.status_code == 410 and "archiv" in page.content.decode().lower()
    for name in ("workspace_home", "audit_export", "workspace_settings"):
        assert member.get(reverse(name, kwargs={"ws": "acme"})).status_code == 410
    # Outsiders still learn nothing.
    assert client_for(team.outsider).get(reverse("team", kwargs={"ws": "acme"})).status_code == 404
    # It leaves the switcher and the home page's choice.
    other = client_for(team.outsider)
    assert b"/w/acme/" not in other.get(reverse("profile")).content
    lonely = client_for(team["viewer"])
    assert lonely.get("/")["Location"] == reverse("workspace_create")

    operator.post(
        _admin_url(Workspace, "changelist"),
        {"action": "restore", "_selected_action": [team.workspace.pk]},
    )
    assert member.get(reverse("team", kwargs={"ws": "acme"})).status_code == 200
    assert AuditEntry.objects.filter(action="workspace.restore").exists()


def test_an_archived_workspaces_invitations_stop_working(team) -> None:
    _invitation, token = actions.invite(
        team.workspace, by=team["admin"], email="new@acme.test", role="viewer"
    )
    Workspace.objects.filter(pk=team.workspace.pk).update(archived_at=team.workspace.created_at)
    response = Client().get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 410


def test_an_archived_workspace_changes_no_more(team) -> None:
    from portevoix.core.actions import ActionRefused

    Workspace.objects.filter(pk=team.workspace.pk).update(archived_at=team.workspace.created_at)
    admin = Member.objects.select_related("workspace").get(pk=team["admin"].pk)
    with pytest.raises(ActionRefused) as refused:
        actions.invite(admin.workspace, by=admin, email="late@acme.test", role="viewer")
    assert refused.value.code == "archived"
    with pytest.raises(ActionRefused) as refused:
        actions.update_workspace(admin.workspace, by=admin, name="Renamed")
    assert refused.value.code == "archived"
    assert Workspace.objects.get(pk=team.workspace.pk).name == team.workspace.name


def test_only_operators_with_the_permission_archive(team) -> None:
    from django.core.exceptions import PermissionDenied

    plain_staff = team["manager"].user
    User.objects.filter(pk=plain_staff.pk).update(is_staff=True)
    plain_staff.refresh_from_db()
    with pytest.raises(PermissionDenied):
        actions.archive_workspace(team.workspace, by=plain_staff)
    with pytest.raises(PermissionDenied):
        actions.archive_workspace(team.workspace, by=team["admin"].user)  # not staff
    assert Workspace.objects.get(pk=team.workspace.pk).archived_at is None
