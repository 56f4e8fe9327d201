"""Every role against every action, on the server; and an outsider who sees nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from portevoix.core.models import AuditEntry, Department, Invitation, Member
from portevoix.core.permissions import ACTIONS, MATRIX, Role, can, matrix_markdown, require
from tests.conftest import ALL_ROLES

ROOT = Path(__file__).resolve().parents[2]


def test_permissions_doc_matches_the_code() -> None:
    doc = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert doc == matrix_markdown(), "run: ./dev manage permissions_doc"


def test_every_role_has_a_row_and_admin_can_do_everything() -> None:
    assert set(MATRIX) == set(Role.values)
    assert MATRIX[Role.ADMIN] == {a.code for a in ACTIONS}


def test_unknown_action_is_a_programming_error(team) -> None:
    with pytest.raises(ValueError):
        can(team["admin"], "post.teleport")


def test_inactive_member_can_do_nothing(team) -> None:
    admin = team["admin"]
    admin.is_active = False
    for action in ACTIONS:
        assert not can(admin, action.code)


def test_require_raises_with_the_action_in_the_message(team) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match=r"Invite people|Inviter"):
        require(team["viewer"], "member.invite")


# Pages and the action each one needs (GET). None: any active member.
PAGES = [
    ("workspace_home", {}, None),
    ("team", {}, "member.view"),
    ("roles", {}, "member.view"),
    ("invitations", {}, "member.invite"),
    ("departments", {}, None),
    ("workspace_settings", {}, None),
    ("audit_log", {}, "audit.view"),
    ("audit_export", {}, "audit.view"),
]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(("name", "extra", "action"), PAGES)
def test_pages_follow_the_matrix(team, client_for, role, name, extra, action) -> None:
    member = team[role]
    url = reverse(name, kwargs={"ws": team.workspace.slug, **extra})
    response = client_for(member).get(url)
    allowed = action is None or action in MATRIX[role]
    assert response.status_code == (200 if allowed else 403), (role, name, response.status_code)


@pytest.mark.parametrize(("name", "extra", "action"), PAGES)
def test_outsider_sees_nothing_at_all(team, client_for, name, extra, action) -> None:
    url = reverse(name, kwargs={"ws": team.workspace.slug, **extra})
    response = client_for(team.outsider).get(url)
    assert response.status_code == 404
    assert team.workspace.name.encode() not in response.content


def test_anonymous_is_sent_to_login(team, client_for) -> None:
    response = client_for(None).get(reverse("team", kwargs={"ws": team.workspace.slug}))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_outsider_cannot_reach_objects_of_another_workspace_by_id(team, client_for) -> None:
    """The outsider is admin of workspace B and asks B's URLs for A's objects."""
    other = team.outsider.workspace.slug
    client = client_for(team.outsider)
    target = team["content"]
    for name in ("member_detail", "member_deactivate", "member_reactivate"):
        url = reverse(name, kwargs={"ws": other, "pk": target.pk})
        response = client.post(url) if "activate" in name else client.get(url)
        assert response.status_code == 404, name
    department = team.department("legal")
    response = client.post(
        reverse("department_edit", kwargs={"ws": other, "pk": department.pk}),
        {"name": "Pwned"},
    )
    assert response.status_code == 404
    target.refresh_from_db()
    department.refresh_from_db()
    assert target.is_active and department.name != "Pwned"


def test_invitation_of_another_workspace_cannot_be_revoked(team, client_for) -> None:
    from portevoix.core import actions

    invitation, _ = actions.invite(
        team.workspace, by=team["admin"], email="new@acme.test", role=Role.CONTENT
    )
    url = reverse(
        "invitation_revoke", kwargs={"ws": team.outsider.workspace.slug, "pk": invitation.pk}
    )
    assert client_for(team.outsider).post(url).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.parametrize("role", ALL_ROLES)
def test_querysets_are_restricted_to_the_member(team, role) -> None:
    member = team[role]
    outsider_ws = team.outsider.workspace
    visible = Member.objects.visible_to(member)
    assert not visible.filter(workspace=outsider_ws).exists()
    assert visible.exists() == can(member, "member.view")
    assert Department.objects.visible_to(member).count() == 9
    assert not Department.objects.visible_to(member).filter(workspace=outsider_ws).exists()
    assert AuditEntry.objects.visible_to(member).exists() == can(member, "audit.view")
    assert Invitation.objects.visible_to(member).count() == 0


def test_nothing_is_visible_to_nobody(team) -> None:
    assert not Member.objects.visible_to(None).exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_writes_follow_the_matrix(team, client_for, role) -> None:
    """POST to every write page; only roles with the action change anything."""
    member = team[role]
    client = client_for(member)
    ws = team.workspace.slug
    target = team["creative"]

    before = Member.objects.get(pk=target.pk).role
    client.post(
        reverse("member_detail", kwargs={"ws": ws, "pk": target.pk}), {"role": Role.ANALYST}
    )
    changed = Member.objects.get(pk=target.pk).role != before
    assert changed == can(member, "member.change_role"), role

    count = Invitation.objects.count()
    client.post(
        reverse("invitations", kwargs={"ws": ws}),
        {"email": f"x-{role}@example.test", "role": Role.VIEWER},
    )
    assert (Invitation.objects.count() > count) == can(member, "member.invite"), role

    count = Department.objects.count()
    client.post(reverse("departments", kwargs={"ws": ws}), {"name": f"Dept {role}"})
    assert (Department.objects.count() > count) == can(member, "department.manage"), role

    old_name = team.workspace.name
    client.post(
        reverse("workspace_settings", kwargs={"ws": ws}),
        {
            "name": "Renamed",
            "time_zone": "Europe/Paris",
            "language": "fr",
            "lateness_limit_minutes": "360",
            "when_late": "hold",
        },
    )
    team.workspace.refresh_from_db()
    assert (team.workspace.name != old_name) == can(member, "workspace.settings"), role

    victim = team["viewer"] if role != "viewer" else team["analyst"]
    client.post(reverse("member_deactivate", kwargs={"ws": ws, "pk": victim.pk}))
    victim.refresh_from_db()
    assert (not victim.is_active) == can(member, "member.deactivate"), role


def test_viewer_posting_to_an_admin_url_changes_nothing(team, client_for) -> None:
    client = client_for(team["viewer"])
    response = client.post(
        reverse("workspace_settings", kwargs={"ws": team.workspace.slug}),
        {"name": "Hacked", "time_zone": "UTC", "language": "en", "require_two_factor": "on"},
    )
    assert response.status_code == 403
    team.workspace.refresh_from_db()
    assert team.workspace.name == "Acme" and not team.workspace.require_two_factor
    assert not AuditEntry.objects.filter(action="workspace.update").exists()


def test_navigation_shows_only_what_the_role_may_open(team, client_for) -> None:
    html = (
        client_for(team["agent"])
        .get(reverse("workspace_home", kwargs={"ws": team.workspace.slug}))
        .content.decode()
    )
    assert "nav-inbox" in html and "nav-crisis" in html
    assert "nav-team" not in html and "nav-calendar" not in html and "nav-analytics" not in html
