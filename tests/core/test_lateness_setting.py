"""The workspace's lateness rule: how late a post may go out, and what happens after."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.core import actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry, LatePolicy

SETTINGS = {
    "name": "Acme",
    "time_zone": "Europe/Paris",
    "language": "fr",
    "lateness_limit_minutes": "90",
    "when_late": "send",
}


def test_an_admin_sets_the_rule_and_it_is_audited(team, client_for) -> None:
    url = reverse("workspace_settings", kwargs={"ws": "acme"})
    response = client_for(team["admin"]).post(url, SETTINGS)
    assert response.status_code == 302
    team.workspace.refresh_from_db()
    assert team.workspace.lateness_limit_minutes == 90
    assert team.workspace.when_late == LatePolicy.SEND
    entry = AuditEntry.objects.filter(action="workspace.update").latest("id")
    assert entry.before["lateness_limit_minutes"] == 360 and entry.after["when_late"] == "send"


@pytest.mark.parametrize("minutes", ["4", "10081", "-5", "soon"])
def test_out_of_range_is_refused_in_place_keeping_what_was_typed(team, client_for, minutes):
    url = reverse("workspace_settings", kwargs={"ws": "acme"})
    response = client_for(team["admin"]).post(url, {**SETTINGS, "lateness_limit_minutes": minutes})
    assert response.status_code == 400
    assert f'value="{minutes}"' in response.content.decode()
    team.workspace.refresh_from_db()
    assert team.workspace.lateness_limit_minutes == 360


def test_the_action_checks_too(team) -> None:
    for bad in (0, 10_081, True, "60"):
        with pytest.raises(ActionRefused):
            actions.update_workspace(team.workspace, by=team["admin"], lateness_limit_minutes=bad)
    with pytest.raises(ActionRefused):
        actions.update_workspace(team.workspace, by=team["admin"], when_late="shrug")
    done = actions.update_workspace(team.workspace, by=team["admin"], lateness_limit_minutes=5)
    assert done.lateness_limit_minutes == 5


def test_only_an_admin_changes_it(team, client_for) -> None:
    url = reverse("workspace_settings", kwargs={"ws": "acme"})
    assert client_for(team["manager"]).post(url, SETTINGS).status_code == 403
    html = client_for(team["manager"]).get(url).content.decode()
    assert 'name="lateness_limit_minutes"' in html and "disabled" in html
