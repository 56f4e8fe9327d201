"""The pages of approvals, compliance and pause: every role, on the server."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.core.models import Member
from portevoix.core.permissions import MATRIX, Role
from portevoix.publishing import compliance, pause
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import (
    ApprovalSettings,
    ApprovalStep,
    ComplianceRule,
    MemberTrust,
    Pause,
    StepState,
)
from tests.conftest import ALL_ROLES, make_user
from tests.publishing.approvals_helpers import schedule, states, waiting

pytestmark = pytest.mark.django_db


def url(name: str, **kwargs: object) -> str:
    return reverse(name, kwargs={"ws": "acme", **kwargs})


@pytest.fixture
def submitted(team, channel):
    return schedule(team, team["creative"], [channel], text="Nouveau sérum, bientôt")


@pytest.fixture
def legal(team) -> Member:
    return Member.objects.create(
        workspace=team.workspace,
        user=make_user("legal@acme.test", "Léa Legal"),
        role=Role.AGENT,
        department=team.department("legal"),
    )


def sees_plan(role: str) -> bool:
    return "post.view" in MATRIX[role]


# --- pages anyone in the plan may read ----------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_reading_pages_follow_the_matrix(team, client_for, submitted, role) -> None:
    client = client_for(team[role])
    pages = [
        url("approval_settings"),
        url("compliance_rules"),
        url("pause"),
        url("approval_review", pk=submitted.pk),
    ]
    for page in pages:
        response = client.get(page)
        expected = 200 if sees_plan(role) else (404 if "posts" in page else 403)
        assert response.status_code == expected, (role, page, response.status_code)
    # Agents approve compliance steps: they have the approvals page, not the plan. An
    # ambassador has neither: the page is refused.
    allowed = {"post.view", "post.approve_compliance"} & MATRIX[Role(role)]
    assert client.get(url("approvals")).status_code == (200 if allowed else 403)
    if not allowed:
        return
    for tab in ("all", "decided"):
        body = client.get(url("approvals") + f"?tab={tab}").content.decode()
        assert ("Nouveau sérum" in body) == (sees_plan(role) and tab == "all"), (role, tab)


def test_an_outsider_sees_none_of_it(team, client_for, submitted) -> None:
    client = client_for(team.outsider)
    for page in (
        url("approvals"),
        url("approval_review", pk=submitted.pk),
        url("approval_settings"),
        url("compliance_rules"),
        url("pause"),
    ):
        assert client.get(page).status_code == 404, page
    other = team.outsider.workspace.slug
    response = client.get(reverse("approval_review", kwargs={"ws": other, "pk": submitted.pk}))
    assert response.status_code == 404


# --- waiting for me, and deciding ----------------------------------------------------------------


def test_waiting_for_me_lists_what_the_member_may_decide(team, client_for, submitted) -> None:
    body = client_for(team["manager"]).get(url("approvals")).content.decode()
    assert "Nouveau sérum" in body and 'data-count="1"' in body
    # The navigation shows the count on every page.
    home = client_for(team["manager"]).get(url("workspace_home")).content.decode()
    assert 'class="nav-count" data-count="1"' in home
    mine = client_for(team["creative"]).get(url("approvals")).content.decode()
    assert "Nouveau sérum" not in mine  # nobody approves their own post
    submitted_tab = client_for(team["creative"]).get(url("approvals") + "?tab=submitted")
    assert "Nouveau sérum" in submitted_tab.content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_deciding_from_the_page_follows_the_role(team, client_for, submitted, role) -> None:
    [step] = waiting(submitted)
    fingerprint = submitted.content_fingerprint()
    response = client_for(team[role]).post(
        url("approval_approve", pk=step.pk), {"fingerprint": fingerprint, "comment": "Go"}
    )
    if role in {"admin", "manager"}:
        assert response.status_code == 302
        assert states(submitted) == ["scheduled"]
    else:
        assert response.status_code in {403, 404}, (role, response.status_code)
        assert states(submitted) == ["pending_approval"]


def test_a_decision_needs_a_comment_and_says_so_in_place(team, client_for, submitted) -> None:
    [step] = waiting(submitted)
    client = client_for(team["manager"])
    response = client.post(url("approval_changes", pk=step.pk), {"comment": ""})
    assert response.status_code == 400
    assert "author reads it" in response.content.decode() or "auteur" in response.content.decode()
    response = client.post(url("approval_reject", pk=step.pk), {"comment": "Hors sujet"})
    assert response.status_code == 302 and states(submitted) == ["cancelled"]


def test_an_approval_of_content_that_changed_is_refused_in_place(team, client_for, submitted):
    [step] = waiting(submitted)
    read = submitted.content_fingerprint()
    submitted.publications.update(text="Autre texte")
    response = client_for(team["manager"]).post(
        url("approval_approve", pk=step.pk), {"fingerprint": read}
    )
    assert response.status_code == 400
    assert "Autre texte" in response.content.decode()  # the page shows what it is now
    assert states(submitted) == ["pending_approval"]


def test_the_review_page_marks_what_breaks_a_rule_and_offers_no_approval(
    team, client_for, submitted
) -> None:
    compliance.create_rule(
        team.workspace,
        by=team["manager"],
        name="Promesses",
        kind="banned",
        values="bientôt",
        message="Pas de date tant que le lancement n'est pas confirmé.",
    )
    body = client_for(team["manager"]).get(url("approval_review", pk=submitted.pk)).content
    html = body.decode()
    assert '<mark class="finding-block">bientôt</mark>' in html
    assert "Pas de date tant que" in html
    assert "disabled" in html
    assert "cannot be approved" in html or "ne peut pas" in html


def test_an_agent_reviews_only_the_posts_routed_to_their_department(
    team, client_for, channel, legal
) -> None:
    approvals.save_route(
        team.workspace,
        by=team["manager"],
        name="Santé",
        department=team.department("legal"),
        words="acné",
    )
    routed = schedule(team, team["content"], [channel], text="Fini l'acné !")
    other = schedule(team, team["creative"], [channel], text="Rien à voir")
    client = client_for(legal)
    assert client.get(url("approval_review", pk=routed.pk)).status_code == 200
    assert client.get(url("approval_review", pk=other.pk)).status_code == 404
    assert client_for(team["agent"]).get(url("approval_review", pk=routed.pk)).status_code == 404
    body = client.get(url("approvals")).content.decode()
    assert "Fini l" in body and "Rien à voir" not in body
    [step] = waiting(routed)
    response = client.post(
        url("approval_approve", pk=step.pk), {"fingerprint": routed.content_fingerprint()}
    )
    assert response.status_code == 302
    assert states(routed) == ["scheduled"]


def test_the_author_takes_a_post_back(team, client_for, submitted) -> None:
    assert (
        client_for(team["content"]).post(url("approval_withdraw", pk=submitted.pk)).status_code
        == 403
    )
    response = client_for(team["creative"]).post(url("approval_withdraw", pk=submitted.pk))
    assert response.status_code == 302 and states(submitted) == ["draft"]
    response = client_for(team["creative"]).post(url("approval_resubmit", pk=submitted.pk))
    assert response.status_code == 302 and states(submitted) == ["pending_approval"]


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_approval_settings_are_changed_by_managers_and_admins(team, client_for, channel, role):
    response = client_for(team[role]).post(
        url("approval_settings"),
        {
            "mode": "person",
            "approver": team["content"].pk,
            "everyone": "on",
            "everyone_until": "2099-03-26T09:00",
            "remind_after_hours": "6",
            "channels": [channel.pk],
        },
    )
    if role in {"admin", "manager"}:
        assert response.status_code == 302
        settings = ApprovalSettings.objects.get()
        assert settings.approver == team["content"] and settings.everyone
        assert settings.everyone_until.isoformat() == "2099-03-26T08:00:00+00:00"  # Paris
        assert list(settings.channels.all()) == [channel]
    else:
        assert response.status_code in {403, 404}
        assert not ApprovalSettings.objects.exists()


def test_a_time_that_does_not_exist_is_refused(team, client_for) -> None:
    response = client_for(team["manager"]).post(
        url("approval_settings"),
        {
            "mode": "anyone",
            "everyone": "on",
            "everyone_until": "2099-03-29T02:30",  # Paris springs forward at 2:00
            "remind_after_hours": "4",
        },
    )
    assert response.status_code == 400 and not ApprovalSettings.objects.exists()


def test_a_person_mode_without_a_person_keeps_what_was_typed(team, client_for) -> None:
    response = client_for(team["manager"]).post(
        url("approval_settings"), {"mode": "person", "remind_after_hours": "9"}
    )
    assert response.status_code == 400
    assert 'value="9"' in response.content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_trust_is_set_from_the_page_by_managers_and_admins(team, client_for, role) -> None:
    creative = team["creative"]
    response = client_for(team[role]).post(
        url("approval_trust", pk=creative.pk), {f"m{creative.pk}-trust": "yes"}
    )
    if role in {"admin", "manager"}:
        assert response.status_code == 302
        assert MemberTrust.objects.get(member=creative).publishes_directly
    else:
        assert response.status_code in {403, 404}
        assert not MemberTrust.objects.exists()


def test_routes_from_the_page(team, client_for, channel) -> None:
    client = client_for(team["manager"])
    legal = team.department("legal")
    response = client.post(
        url("approval_route_create"), {"name": "Finance", "department": legal.pk, "words": ""}
    )
    assert response.status_code == 400  # neither words nor channels
    response = client.post(
        url("approval_route_create"),
        {"name": "Finance", "department": legal.pk, "words": "crédit\ntaux", "is_active": "on"},
    )
    assert response.status_code == 302
    route = team.workspace.compliance_routes.get()
    assert route.word_list == ["crédit", "taux"]
    assert client.get(url("approval_route", pk=route.pk)).status_code == 200
    assert (
        client_for(team["content"]).post(url("approval_route_delete", pk=route.pk)).status_code
        == 403
    )
    assert client.post(url("approval_route_delete", pk=route.pk)).status_code == 302
    assert not team.workspace.compliance_routes.exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_compliance_rules_are_written_by_managers_and_admins(team, client_for, role) -> None:
    response = client_for(team[role]).post(
        url("compliance_rules"),
        {
            "rule": "1",
            "rule-name": "Santé",
            "rule-kind": "banned",
            "rule-severity": "block",
            "rule-values": "guérit\nsoigne",
            "rule-is_active": "on",
        },
    )
    if role in {"admin", "manager"}:
        assert response.status_code == 302
        assert ComplianceRule.objects.get().name == "Santé"
    else:
        assert response.status_code in {403, 404}
        assert not ComplianceRule.objects.exists()


def test_an_invalid_expression_is_a_form_error_that_keeps_the_text(team, client_for) -> None:
    response = client_for(team["manager"]).post(
        url("compliance_rules"),
        {
            "rule": "1",
            "rule-name": "Cassée",
            "rule-kind": "regex",
            "rule-severity": "warn",
            "rule-values": "(taux[",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "(taux[" in html and ("not valid" in html or "pas valide" in html)
    assert not ComplianceRule.objects.exists()


def test_the_brand_guide_from_the_page_is_shown_at_approval(team, client_for, submitted):
    client = client_for(team["manager"])
    response = client.post(
        url("compliance_rules"),
        {"guide": "1", "guide-tone": "Chaleureux et précis", "guide-avoid_words": "miracle"},
    )
    assert response.status_code == 302
    body = client.get(url("approval_review", pk=submitted.pk)).content.decode()
    assert "Chaleureux et précis" in body and "miracle" in body
    quick = client_for(team["creative"]).get(
        reverse(
            "channel_quick_post",
            kwargs={"ws": "acme", "pk": submitted.publications.get().channel_id},
        )
    )
    assert "Chaleureux et précis" in quick.content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_live_check_is_for_those_who_write(team, client_for, channel, role) -> None:
    compliance.create_rule(
        team.workspace, by=team["manager"], name="Promo", kind="banned", values="gratuit"
    )
    response = client_for(team[role]).post(
        url("compliance_check"), {"text": "C'est gratuit", "channel": channel.pk}
    )
    if "post.create" in MATRIX[role] or "inbox.reply" in MATRIX[role]:
        assert response.status_code == 200
        assert '<mark class="finding-block">gratuit</mark>' in response.content.decode()
    else:
        assert response.status_code == 403


# --- pause from the page -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_pausing_from_the_page_follows_the_role(team, client_for, channel, role) -> None:
    client = client_for(team[role])
    response = client.post(url("pause_start"), {"scope": f"channel:{channel.pk}", "reason": "?"})
    if "post.pause" in MATRIX[role]:
        assert response.status_code == 302
        row = Pause.objects.get()
        response = client.post(url("pause_resume", pk=row.pk))
        assert response.status_code == 302
        row.refresh_from_db()
        assert row.ended_at is not None
    else:
        assert response.status_code in {403, 404}
        assert not Pause.objects.exists()


def test_pausing_twice_is_a_message_in_place(team, client_for, channel) -> None:
    pause.pause(channel, by=team["manager"])
    response = client_for(team["manager"]).post(
        url("pause_start"), {"scope": f"channel:{channel.pk}"}
    )
    assert response.status_code == 400
    assert "already paused" in response.content.decode() or "déjà" in response.content.decode()


def test_another_workspaces_channel_cannot_be_paused(team, client_for, channel) -> None:
    response = client_for(team.outsider).post(
        reverse("pause_start", kwargs={"ws": team.outsider.workspace.slug}),
        {"scope": f"channel:{channel.pk}"},
    )
    assert response.status_code in {400, 404}
    assert not Pause.objects.exists()


def test_cancelling_a_campaign_needs_a_confirmation(team, client_for) -> None:
    from portevoix.publishing.models import Campaign

    campaign = Campaign.objects.create(workspace=team.workspace, name="Noël")
    client = client_for(team["manager"])
    response = client.post(url("campaign_cancel"), {"campaign": campaign.pk})
    assert response.status_code == 400
    campaign.refresh_from_db()
    assert campaign.cancelled_at is None
    response = client.post(url("campaign_cancel"), {"campaign": campaign.pk, "confirm": "on"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.cancelled_at is not None


def test_steps_are_not_decided_twice(team, client_for, submitted) -> None:
    [step] = waiting(submitted)
    client = client_for(team["manager"])
    fingerprint = submitted.content_fingerprint()
    assert (
        client.post(url("approval_approve", pk=step.pk), {"fingerprint": fingerprint}).status_code
        == 302
    )
    response = client.post(url("approval_reject", pk=step.pk), {"comment": "Non"}, follow=True)
    assert "already answered" in response.content.decode() or "déjà" in response.content.decode()
    assert ApprovalStep.objects.get(pk=step.pk).state == StepState.APPROVED
