"""The responsibility matrix, and the inbox's rota and assignment reading it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.care import assignment
from portevoix.care.forms import ShiftForm
from portevoix.core.models import Member
from portevoix.strategy import actions
from portevoix.strategy.models import Responsibility
from portevoix.strategy.responsibility import (
    matrix,
    webcare_member_ids,
    webcare_responsible_ids,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_the_matrix_starts_from_seed_002s_four_roles(team) -> None:
    actions.matrix_from_roles(team.workspace, by=team["manager"])
    cells = matrix(team.workspace.pk)
    assert cells[(team["manager"].pk, "management")] == "responsible"
    assert cells[(team["content"].pk, "webcare")] == "responsible"
    assert cells[(team["content"].pk, "advertising")] == "responsible"
    assert cells[(team["creative"].pk, "creative")] == "responsible"
    assert cells[(team["analyst"].pk, "analytics")] == "responsible"
    assert (team["viewer"].pk, "webcare") not in cells


def test_a_new_rota_shift_proposes_those_responsible_for_webcare(team, client_for) -> None:
    second = Member.objects.create(
        workspace=team.workspace, user=make_user("zoe@acme.test", "Zoé Webcare"), role="content"
    )
    # Without the matrix, no default person.
    assert ShiftForm(workspace=team.workspace)["member"].initial is None
    actions.set_responsibilities(
        team.workspace, by=team["manager"], cells={(second.pk, "webcare"): "responsible"}
    )
    assert webcare_responsible_ids(team.workspace.pk) == [second.pk]
    page = client_for(team["manager"]).get(reverse("care_rota", args=[team.workspace.slug]))
    form = page.context["form"]
    assert form["member"].value() == second.pk
    # ...and listed first among the people who answer.
    assert next(iter(form.fields["member"].queryset)).pk == second.pk


def test_automatic_assignment_follows_the_matrix_once_it_names_webcare(team) -> None:
    content, manager = team["content"], team["manager"]
    # Roles decide while the matrix says nothing about webcare.
    assert webcare_member_ids(team.workspace.pk) is None
    assert assignment.receives(content, None, None)
    assert not assignment.receives(manager, None, None)
    actions.set_responsibilities(
        team.workspace,
        by=manager,
        cells={(manager.pk, "webcare"): "backup", (content.pk, "webcare"): ""},
    )
    webcare = webcare_member_ids(team.workspace.pk)
    assert webcare == {manager.pk}
    assert assignment.receives(manager, None, webcare)
    assert not assignment.receives(content, None, webcare)


def test_the_matrix_page_saves_and_refuses_unknown_levels(team, client_for) -> None:
    url = reverse("strategy_matrix", args=[team.workspace.slug])
    client = client_for(team["manager"])
    key = f"cell_{team['creative'].pk}_creative"
    assert client.post(url, {key: "responsible"}).status_code == 302
    assert Responsibility.objects.get(member=team["creative"]).level == "responsible"
    client.post(url, {key: "boss"})
    assert Responsibility.objects.get(member=team["creative"]).level == "responsible"
    assert client_for(team["content"]).post(url, {key: ""}).status_code == 403
    assert Responsibility.objects.filter(member=team["creative"]).exists()
    page = client_for(team["viewer"]).get(url)
    assert page.status_code == 200 and "Responsible" in page.content.decode()


def test_a_member_of_another_workspace_cannot_be_put_in_the_matrix(team) -> None:
    from portevoix.core.actions import ActionRefused

    with pytest.raises(ActionRefused):
        actions.set_responsibilities(
            team.workspace, by=team["manager"], cells={(team.outsider.pk, "webcare"): "backup"}
        )
