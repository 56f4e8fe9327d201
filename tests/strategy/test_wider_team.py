"""Several roles per member (the permission union, who to tell), team presets by size,
ambassadors (naming, suggesting, sharing, counting), and the review prompt after a closed
incident. Each refused role is tested."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from portevoix.core import actions as core
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry, Member
from portevoix.core.permissions import Role, can, members_with
from portevoix.crisis import actions as crisis
from portevoix.notifications.models import Notification
from portevoix.publishing.approvals.models import ApprovalSettings, MemberTrust
from portevoix.publishing.approvals.policy import Deciders
from portevoix.publishing.models import Post, Publication
from portevoix.strategy import actions, ambassadors, presets, reading
from portevoix.strategy.models import (
    Ambassador,
    Responsibility,
    ShareRequest,
    StrategySettings,
)
from portevoix.strategy.responsibility import matrix
from tests.care.conftest import connect
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _member(team, email: str, role: str, department: str | None = None) -> Member:
    return Member.objects.create(
        workspace=team.workspace,
        user=make_user(email, email.split("@")[0].title()),
        role=role,
        department=team.department(department) if department else None,
    )


# --- several roles per member -----------------------------------------------------------------


def test_the_permissions_are_the_union_of_the_roles(team) -> None:
    viewer = _member(team, "vera@acme.test", Role.VIEWER)
    assert not can(viewer, "post.create")
    core.set_extra_roles(viewer, by=team["admin"], roles=[Role.CONTENT])
    viewer.refresh_from_db()
    assert can(viewer, "post.create")  # only the extra role allows it
    assert can(viewer, "strategy.view")  # the main role's still hold
    assert not can(viewer, "approval.manage")  # neither role allows it
    assert not can(viewer, "workspace.settings")
    entry = AuditEntry.objects.get(action="member.extra_roles")
    assert entry.before == {"extra_roles": []} and entry.after == {"extra_roles": ["content"]}


def test_who_to_tell_includes_a_member_through_an_extra_role(team) -> None:
    viewer = _member(team, "vera@acme.test", Role.VIEWER)
    core.set_extra_roles(viewer, by=team["admin"], roles=[Role.MANAGER])
    found = set(Member.objects.filter(members_with("strategy.manage"), workspace=team.workspace))
    assert viewer in found and team["manager"] in found and team["viewer"] not in found
    # The notification path: closing an incident tells whoever may change the strategy.
    incident = crisis.open_incident(team.workspace, by=team["manager"], title="Tempête")
    crisis.close_incident(incident, by=team["manager"], summary="Calmé")
    told = set(
        Notification.objects.filter(kind="strategy.review_incident").values_list(
            "recipient_id", flat=True
        )
    )
    assert viewer.pk in told and team["admin"].pk in told and team["content"].pk not in told


def test_a_named_approver_role_is_held_through_an_extra_role(team) -> None:
    creative = team["creative"]
    core.set_extra_roles(creative, by=team["admin"], roles=[Role.ANALYST])
    creative.refresh_from_db()
    policy = Deciders(team.workspace.pk)
    assert policy._others_in_role(Role.ANALYST, None)
    assert Member.objects.filter(
        members_with("analytics.report"), workspace=team.workspace, pk=creative.pk
    ).exists()


def test_only_an_admin_changes_extra_roles_and_admin_is_never_one(team) -> None:
    with pytest.raises(ActionRefused, match="Only an admin"):
        core.set_extra_roles(team["viewer"], by=team["manager"], roles=[Role.CONTENT])
    with pytest.raises(PermissionDenied):
        core.set_extra_roles(team["viewer"], by=team["content"], roles=[Role.CONTENT])
    with pytest.raises(ActionRefused, match="main role only"):
        core.set_extra_roles(team["viewer"], by=team["admin"], roles=[Role.ADMIN])
    with pytest.raises(ActionRefused, match="department"):
        core.set_extra_roles(team["viewer"], by=team["admin"], roles=[Role.AGENT])
    # The last admin keeps the workspace: no extra role can take admin away from anyone.
    core.set_extra_roles(team["admin"], by=team["admin"], roles=[Role.CONTENT])
    assert can(team["admin"], "workspace.settings")


def test_the_team_page_edits_extra_roles(team, client_for) -> None:
    viewer = _member(team, "vera@acme.test", Role.VIEWER)
    url = reverse("member_detail", args=[team.workspace.slug, viewer.pk])
    page = client_for(team["admin"]).post(
        url, {"extra_roles_form": "1", "x-extra_roles": ["content", "analyst"]}
    )
    assert page.status_code == 302
    viewer.refresh_from_db()
    assert viewer.extra_roles == ",content,analyst,"
    bad = client_for(team["admin"]).post(url, {"extra_roles_form": "1", "x-extra_roles": ["admin"]})
    assert bad.status_code == 400  # admin is not even offered
    refused = client_for(team["manager"]).post(
        url, {"extra_roles_form": "1", "x-extra_roles": ["creative"]}
    )
    assert refused.status_code == 400 and "Only an admin" in refused.content.decode()
    viewer.refresh_from_db()
    assert viewer.extra_roles == ",content,analyst,"
    listing = client_for(team["viewer"]).get(
        reverse("team", args=[team.workspace.slug]) + "?role=analyst"
    )
    assert "Vera" in listing.content.decode()


def test_the_matrix_from_roles_reads_every_role(team) -> None:
    core.set_extra_roles(team["manager"], by=team["admin"], roles=[Role.CONTENT])
    actions.matrix_from_roles(team.workspace, by=team["manager"])
    cells = matrix(team.workspace.pk)
    assert cells[(team["manager"].pk, "management")] == "responsible"
    assert cells[(team["manager"].pk, "webcare")] == "responsible"  # content beats backup


# --- team presets ---------------------------------------------------------------------------


def test_the_small_team_preset_sets_roles_matrix_and_approvals(team) -> None:
    # Only the admin and two more in the social media team.
    for role in ("creative", "analyst", "viewer"):
        team[role].is_active = False
        team[role].save()
    chosen = {"lead": team["manager"].pk, "content": team["content"].pk}
    plan = presets.preview(team.workspace, by=team["manager"], code="small", chosen=chosen)
    assert plan.changes_anything and not Responsibility.objects.exists()  # nothing written
    presets.apply_preset(team.workspace, by=team["manager"], code="small", chosen=chosen)
    lead = Member.objects.get(pk=team["manager"].pk)
    content = Member.objects.get(pk=team["content"].pk)
    assert (lead.role, lead.extra_roles) == ("manager", ",content,")
    assert (content.role, content.extra_roles) == ("content", ",analyst,")
    assert can(content, "analytics.report")
    cells = matrix(team.workspace.pk)
    assert cells[(lead.pk, "management")] == "responsible"
    assert cells[(content.pk, "webcare")] == "responsible"
    settings = ApprovalSettings.objects.get(workspace=team.workspace)
    assert settings.approver_id == lead.pk
    assert MemberTrust.objects.get(member=content).publishes_directly
    assert StrategySettings.objects.get(workspace=team.workspace).preset == "small"
    entries = AuditEntry.objects.filter(action="strategy.preset").count()
    # Idempotent: again with the same people changes and records nothing.
    again = presets.apply_preset(team.workspace, by=team["manager"], code="small", chosen=chosen)
    assert not again.changes_anything
    assert AuditEntry.objects.filter(action="strategy.preset").count() == entries
    # Undone by applying another: the large team, one role each.
    for role in ("creative", "analyst"):
        team[role].is_active = True
        team[role].save()
    large = {
        "manager": lead.pk,
        "content": content.pk,
        "creative": team["creative"].pk,
        "analyst": team["analyst"].pk,
    }
    presets.apply_preset(team.workspace, by=team["admin"], code="large", chosen=large)
    lead.refresh_from_db()
    content.refresh_from_db()
    assert (lead.extra_roles, content.extra_roles) == ("", "")
    assert matrix(team.workspace.pk)[(team["creative"].pk, "creative")] == "responsible"


def test_a_preset_refuses_clearly_when_the_team_lacks_people(team) -> None:
    for role in ("manager", "content", "creative", "analyst", "viewer"):
        team[role].is_active = False
        team[role].save()
    with pytest.raises(ActionRefused, match="needs 2 people"):
        presets.apply_preset(
            team.workspace, by=team["admin"], code="small", chosen={"lead": team["admin"].pk}
        )
    # One person: the admin stays admin, takes every task and publishes directly.
    presets.apply_preset(
        team.workspace, by=team["admin"], code="solo", chosen={"lead": team["admin"].pk}
    )
    admin = Member.objects.get(pk=team["admin"].pk)
    assert admin.role == "admin"
    assert len([k for k in matrix(team.workspace.pk) if k[0] == admin.pk]) == 5


def test_a_preset_is_refused_to_roles_that_may_not_apply_it(team, client_for) -> None:
    for role in ("content", "creative", "analyst", "viewer", "agent", "ambassador"):
        with pytest.raises(PermissionDenied):
            presets.apply_preset(
                team.workspace, by=team[role], code="solo", chosen={"lead": team[role].pk}
            )
    url = reverse("strategy_presets", args=[team.workspace.slug])
    assert client_for(team["content"]).get(url).status_code == 403
    page = client_for(team["manager"]).post(
        url,
        {"preset": "small", "slot_lead": team["manager"].pk, "slot_content": team["manager"].pk},
    )
    assert page.status_code == 400 and "chosen twice" in page.content.decode()
    preview = client_for(team["manager"]).post(
        url,
        {"preset": "small", "slot_lead": team["manager"].pk, "slot_content": team["content"].pk},
    )
    assert preview.status_code == 200 and "Apply this preset" in preview.content.decode()
    assert not Responsibility.objects.exists()


# --- ambassadors ----------------------------------------------------------------------------


def _published(team, text: str = "Nos recettes d'hiver") -> Publication:
    channel = connect(team)
    post = Post.objects.create(workspace=team.workspace, text=text, author=team["content"].user)
    return Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=timezone.now(),
        state="published",
        published_at=timezone.now(),
        url="https://sandbox.example/p/1",
    )


def test_an_hr_agent_named_ambassador_receives_shares_and_the_shares_count(
    team, client_for
) -> None:
    hr = _member(team, "helene@acme.test", Role.AGENT, "hr")
    sales = _member(team, "sami@acme.test", Role.AMBASSADOR, "sales")
    assert not can(hr, "ambassador.share")
    ambassadors.name_ambassador(hr, by=team["manager"], networks=["linkedin"])
    ambassadors.name_ambassador(sales, by=team["manager"], subject="Catalogue produits")
    hr.refresh_from_db()
    assert hr.extra_roles == ",ambassador," and can(hr, "ambassador.share")
    publication = _published(team)
    suggestion = ambassadors.suggest_share(
        publication, by=team["manager"], audience="network", value="linkedin", note="Pour RH"
    )
    assert [r.ambassador.member for r in suggestion.requests.all()] == [hr]
    told = Notification.objects.get(kind="strategy.share_suggested")
    assert told.recipient_id == hr.pk
    page = client_for(hr).get(reverse("strategy_share", args=[team.workspace.slug]))
    html = page.content.decode()
    assert page.status_code == 200 and "Nos recettes" in html
    assert "linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fsandbox.example%2Fp%2F1" in html
    row = ShareRequest.objects.get(ambassador__member=hr)
    mark = reverse("strategy_share_mark", args=[team.workspace.slug, row.pk])
    bad = client_for(hr).post(
        mark, {f"r{row.pk}-network": "linkedin", f"r{row.pk}-url": "pas un lien"}
    )
    assert bad.status_code == 400 and "full link" in bad.content.decode()
    # Someone else's list answers as if the row did not exist.
    assert client_for(sales).post(mark, {f"r{row.pk}-network": "x"}).status_code == 404
    ok = client_for(hr).post(
        mark, {f"r{row.pk}-network": "linkedin", f"r{row.pk}-url": "https://linkedin.com/p/9"}
    )
    assert ok.status_code == 302
    ambassadors.suggest_share(publication, by=team["manager"])  # to all: both
    counts = {a.member_id: n for a, n in ambassadors.counts_by_ambassador(team.workspace)}
    assert (counts[hr.pk].suggested, counts[hr.pk].shared) == (2, 1)
    assert (counts[sales.pk].suggested, counts[sales.pk].shared) == (1, 0)
    departments = dict(ambassadors.counts_by_department(team.workspace))
    assert departments[team.department("hr").name].shared == 1
    assert departments[team.department("sales").name].shared == 0
    assert ambassadors.shared_total(team.workspace) == 1
    manage = client_for(team["manager"]).get(
        reverse("strategy_ambassadors", args=[team.workspace.slug])
    )
    assert manage.status_code == 200 and "Helene" in manage.content.decode()


def test_an_ambassador_proposes_an_idea(team, client_for) -> None:
    sales = _member(team, "sami@acme.test", Role.AMBASSADOR, "sales")
    ambassadors.name_ambassador(sales, by=team["manager"], subject="Catalogue")
    page = client_for(sales).post(
        reverse("ideas", args=[team.workspace.slug]), {"idea-title": "Astuces catalogue"}
    )
    assert page.status_code == 302
    counts = {a.member_id: n for a, n in ambassadors.counts_by_ambassador(team.workspace)}
    assert counts[sales.pk].ideas == 1


def test_ambassador_actions_are_refused_to_other_roles(team, client_for) -> None:
    publication = _published(team)
    hr = _member(team, "helene@acme.test", Role.AGENT, "hr")
    for role in ("content", "creative", "analyst", "viewer", "agent", "ambassador"):
        with pytest.raises(PermissionDenied):
            ambassadors.name_ambassador(hr, by=team[role], networks=["linkedin"])
        with pytest.raises(PermissionDenied):
            ambassadors.suggest_share(publication, by=team[role])
        page = client_for(team[role]).get(
            reverse("strategy_ambassadors", args=[team.workspace.slug])
        )
        assert page.status_code == 403
    with pytest.raises(ActionRefused, match="No active ambassador"):
        ambassadors.suggest_share(publication, by=team["manager"])
    for role in ("content", "creative", "analyst", "viewer", "agent"):
        assert (
            client_for(team[role])
            .get(reverse("strategy_share", args=[team.workspace.slug]))
            .status_code
            == 403
        )


def test_removing_an_ambassador_takes_the_extra_role_back(team) -> None:
    hr = _member(team, "helene@acme.test", Role.AGENT, "hr")
    row = ambassadors.name_ambassador(hr, by=team["manager"], networks=["linkedin"])
    ambassadors.remove_ambassador(row, by=team["manager"])
    hr.refresh_from_db()
    assert hr.extra_roles == "" and not can(hr, "ambassador.share")
    assert not Ambassador.objects.get(pk=row.pk).is_active
    with pytest.raises(ActionRefused, match="network they are active on"):
        ambassadors.name_ambassador(hr, by=team["manager"])
    with pytest.raises(Http404):
        ambassadors.name_ambassador(team.outsider, by=team["manager"], subject="x")


# --- the review prompt after an incident ------------------------------------------------------


def test_closing_an_incident_asks_for_a_strategy_review(team) -> None:
    actions.save_canvas(team.workspace, by=team["manager"], market="Bio")
    assert reading.review_reasons(team.workspace) == []
    incident = crisis.open_incident(team.workspace, by=team["manager"], title="Rupture de stock")
    assert reading.review_reasons(team.workspace) == []  # open: not yet
    crisis.close_incident(incident, by=team["manager"], summary="Résolu")
    reasons = reading.review_reasons(team.workspace)
    assert len(reasons) == 1 and "Rupture de stock" in reasons[0]
    assert Notification.objects.filter(
        kind="strategy.review_incident", recipient=team["manager"]
    ).exists()
    # Saving the canvas again is the review: the prompt goes.
    actions.save_canvas(team.workspace, by=team["manager"], market="Bio, revu")
    assert reading.review_reasons(team.workspace) == []


def test_the_ambassador_page_suggests_a_post_and_keeps_a_bad_choice(team, client_for) -> None:
    hr = _member(team, "helene@acme.test", Role.AGENT, "hr")
    ambassadors.name_ambassador(hr, by=team["manager"], networks=["linkedin"])
    publication = _published(team)
    url = reverse("strategy_share_suggest", args=[team.workspace.slug])
    bad = client_for(team["manager"]).post(
        url,
        {
            "suggest-publication": publication.pk,
            "suggest-audience": "network",
            "suggest-network": "x",
            "suggest-note": "Merci",
        },
    )
    assert bad.status_code == 400 and "No active ambassador" in bad.content.decode()
    assert 'value="Merci"' in bad.content.decode()  # what was typed stays
    ok = client_for(team["manager"]).post(
        url,
        {
            "suggest-publication": publication.pk,
            "suggest-audience": "department",
            "suggest-department": team.department("hr").pk,
        },
    )
    assert ok.status_code == 302
    assert ShareRequest.objects.filter(ambassador__member=hr).count() == 1
