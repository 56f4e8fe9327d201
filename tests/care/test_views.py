"""Webcare pages: who may read and change what, and bad input answered in place."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portevoix.care import actions
from portevoix.care.models import (
    BusinessCalendar,
    Holiday,
    RotaShift,
    RoutingRule,
    ShiftSwap,
    SlaPolicy,
    VipAuthor,
    WebcareSettings,
)
from portevoix.core.models import AuditEntry
from tests.care.conftest import office_calendar, paris
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

SOCIAL = {"admin", "manager", "content", "analyst"}  # see every conversation
READERS = SOCIAL | {"agent"}  # work in the inbox
CONFIGURE = {"admin", "manager"}

PAGES = {
    "care_overview": READERS,
    "care_on_duty": READERS,
    "care_rota": READERS,
    "care_rules": SOCIAL,
    "care_calendars": SOCIAL,
    "care_policies": SOCIAL,
    "care_metrics": SOCIAL,
}


def url(team, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"ws": team.workspace.slug, **kwargs})


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_who_may_open_each_page(team, client_for, role, page) -> None:
    response = client_for(team[role]).get(url(team, page))
    assert response.status_code == (200 if role in PAGES[page] else 403), (role, page)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_outsiders_and_strangers_learn_nothing(team, client_for, page) -> None:
    assert client_for(team.outsider).get(url(team, page)).status_code == 404
    anonymous = client_for(None).get(url(team, page))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_pages_show_in_french_and_english(team, client_for) -> None:
    office_calendar(team)
    actions.create_rule(
        team.workspace,
        by=team["admin"],
        name="Prix",
        condition="intent is pricing and language is fr",
        actions={"department": "sales"},
    )
    client = client_for(team["admin"])
    french = client.get(url(team, "care_rules"), HTTP_ACCEPT_LANGUAGE="fr")
    assert "intention est pricing et langue est fr" in french.content.decode()
    client.post(reverse("set_language"), {"language": "en"})
    english = client.get(url(team, "care_rules"))
    assert "intent is pricing and language is fr" in english.content.decode()
    assert "Routing rules" in english.content.decode()


# --- changing the team's rules -----------------------------------------------------------------


RULE = {
    "name": "Prix",
    "condition": "intent is pricing",
    "department": "sales",
    "priority": "high",
    "labels": "prix",
}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_admins_and_managers_write_rules(team, client_for, role) -> None:
    response = client_for(team[role]).post(url(team, "care_rules"), RULE)
    if role in CONFIGURE:
        assert response.status_code == 302
        assert RoutingRule.objects.get().name == "Prix"
    else:
        assert response.status_code == 403
        assert not RoutingRule.objects.exists()


def test_a_bad_condition_is_shown_in_place_and_nothing_typed_is_lost(team, client_for) -> None:
    response = client_for(team["manager"]).post(
        url(team, "care_rules"), {**RULE, "condition": "intent is prix and language is fr"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "n’est pas une valeur connue pour intent" in page
    assert "intent is prix and language is fr" in page  # kept in the field
    assert not RoutingRule.objects.exists()


def test_hiding_by_tone_is_refused_on_the_page(team, client_for) -> None:
    response = client_for(team["manager"]).post(
        url(team, "care_rules"),
        {"name": "Râleurs", "condition": "sentiment is negative", "hide": "on"},
    )
    assert response.status_code == 400
    assert "Masquer est réservé au spam et aux abus" in response.content.decode()


def test_rules_are_edited_moved_and_deleted(team, client_for) -> None:
    client = client_for(team["manager"])
    client.post(url(team, "care_rules"), RULE)
    client.post(
        url(team, "care_rules"), {**RULE, "name": "Plaintes", "condition": "intent is complaint"}
    )
    first, second = RoutingRule.objects.order_by("position")
    client.post(url(team, "care_rule_move", pk=second.pk), {"to": "1"})
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Plaintes",
        "Prix",
    ]
    assert client.post(url(team, "care_rule_move", pk=second.pk), {"to": "x"}).status_code == 302
    response = client.post(
        url(team, "care_rule_edit", pk=first.pk),
        {**RULE, "name": "Prix et achats", "condition": "intent in pricing, purchase"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.name == "Prix et achats" and not first.is_active  # the box was not ticked
    client.post(url(team, "care_rule_delete", pk=first.pk))  # a bare POST removes nothing
    assert RoutingRule.objects.filter(pk=first.pk).exists()
    client.post(url(team, "care_rule_delete", pk=first.pk), {"confirm": "1"})
    assert RoutingRule.objects.count() == 1
    assert AuditEntry.objects.filter(action__startswith="rule.").count() == 5


def test_another_workspaces_rule_answers_404(team, client_for) -> None:
    rule = actions.create_rule(
        team.workspace, by=team["admin"], name="x", condition="", actions={"priority": "low"}
    )
    other = client_for(team.outsider)
    assert (
        other.get(f"/w/{team.outsider.workspace.slug}/webcare/rules/{rule.pk}/").status_code == 404
    )
    assert (
        other.post(f"/w/{team.outsider.workspace.slug}/webcare/rules/{rule.pk}/delete/").status_code
        == 404
    )


def test_trying_a_message_shows_triage_and_the_rules(team, client_for) -> None:
    actions.create_rule(
        team.workspace,
        by=team["admin"],
        name="Prix vers ventes",
        condition="intent in pricing, purchase",
        actions={"department": "sales"},
    )
    response = client_for(team["content"]).post(
        url(team, "care_rule_try"), {"text": "C'est combien le coffret ?", "kind": "comment"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Prix vers ventes" in page and "Ventes" in page
    # Triage's reading in words of the page's language, not its codes ("pricing", "neutral").
    assert "intention prix et offres" in page and "pricing" not in page.split("try-result")[1]


def test_vip_authors(team, client_for) -> None:
    client = client_for(team["manager"])
    client.post(url(team, "care_vip_add"), {"handle": "@journaliste", "note": "Le Monde"})
    vip = VipAuthor.objects.get()
    assert vip.handle == "journaliste"
    assert (
        client_for(team["content"]).post(url(team, "care_vip_remove", pk=vip.pk)).status_code == 403
    )
    client.post(url(team, "care_vip_remove", pk=vip.pk), {"confirm": "1"})
    assert not VipAuthor.objects.exists()


# --- hours, SLA, settings ------------------------------------------------------------------------


def calendar_form(**overrides) -> dict[str, str]:
    data = {"name": "Bureau", "time_zone": "Europe/Paris"}
    data.update({f"day_{i}": "09:00-12:30, 13:30-18:00" for i in range(5)})
    data.update(day_5="", day_6="")
    data.update(overrides)
    return data


def test_business_hours_are_written_day_by_day(team, client_for) -> None:
    client = client_for(team["admin"])
    response = client.post(url(team, "care_calendars"), calendar_form())
    calendar = BusinessCalendar.objects.get()
    assert response.status_code == 302
    assert calendar.week[0] == [[540, 750], [810, 1080]] and calendar.week[6] == []
    listed = client.get(url(team, "care_calendars")).content.decode()
    assert "<dt>Dimanche</dt><dd>fermé</dd>" in listed  # a day is « fermé », not « close »
    bad = client.post(
        url(team, "care_calendar", pk=calendar.pk),
        {**calendar_form(day_2="18:00-09:00"), "intent": "save"},
    )
    assert bad.status_code == 400
    assert "finit avant de commencer" in bad.content.decode()
    client.post(
        url(team, "care_calendar", pk=calendar.pk),
        {"intent": "holiday", "date": "2026-12-25", "name": "Noël", "every_year": "on"},
    )
    holiday = Holiday.objects.get()
    assert holiday.every_year
    client.post(url(team, "care_holiday_remove", pk=holiday.pk), {"confirm": "1"})
    assert not Holiday.objects.exists()
    assert (
        client_for(team["content"]).post(url(team, "care_calendars"), calendar_form()).status_code
        == 403
    )


def test_a_calendar_in_use_is_not_deleted(team, client_for) -> None:
    calendar = office_calendar(team)
    actions.create_policy(
        team.workspace, by=team["admin"], name="P", calendar=calendar, first_response_minutes=60
    )
    client_for(team["admin"]).post(url(team, "care_calendar", pk=calendar.pk), {"intent": "delete"})
    assert BusinessCalendar.objects.exists()


def test_sla_policies(team, client_for) -> None:
    client = client_for(team["manager"])
    data = {
        "name": "Standard",
        "first_response_minutes": "60",
        "next_response_minutes": "120",
        "resolution_minutes": "1440",
        "warn_at_percent": "80",
        "is_active": "on",
    }
    assert client.post(url(team, "care_policies"), data).status_code == 302
    policy = SlaPolicy.objects.get()
    clash = client.post(url(team, "care_policies"), {**data, "name": "Autre"})
    assert clash.status_code == 400
    assert "couvre déjà ce canal et cette priorité" in clash.content.decode()
    none = client.post(
        url(team, "care_policies"),
        {"name": "Vide", "warn_at_percent": "80", "priority": "3", "is_active": "on"},
    )
    assert "Fixez au moins un objectif" in none.content.decode()
    client.post(
        url(team, "care_policy_edit", pk=policy.pk), {**data, "first_response_minutes": "30"}
    )
    policy.refresh_from_db()
    assert policy.first_response_minutes == 30
    assert (
        client_for(team["analyst"])
        .post(url(team, "care_policy_edit", pk=policy.pk), data)
        .status_code
        == 403
    )
    client.post(url(team, "care_policy_edit", pk=policy.pk), {**data, "delete": "1"})
    assert not SlaPolicy.objects.exists()


def test_settings_and_people(team, client_for) -> None:
    calendar = office_calendar(team)
    client = client_for(team["manager"])
    response = client.post(
        url(team, "care_overview"),
        {
            "calendar": calendar.pk,
            "after_hours": "closed",
            "closed_reply_fr": "Fermé, retour {opens}.",
            "closed_reply_en": "",
            "assignment": "round_robin",
            "default_capacity": "5",
            "careful_triage": "on",
        },
    )
    assert response.status_code == 302
    settings = WebcareSettings.objects.get()
    assert settings.closed_replies == {"fr": "Fermé, retour {opens}."}
    assert settings.assignment == "round_robin" and settings.default_capacity == 5
    assert settings.careful_triage is True
    # Who may not configure webcare cannot switch it off, and the page shows it, disabled.
    refused = client_for(team["content"]).post(
        url(team, "care_overview"),
        {"after_hours": "closed", "assignment": "manual", "default_capacity": "5"},
    )
    assert refused.status_code == 403
    settings.refresh_from_db()
    assert settings.careful_triage is True
    page = client_for(team["content"]).get(url(team, "care_overview")).content.decode()
    assert 'name="careful_triage"' in page and "disabled" in page
    # Anyone who answers says they are away; only a manager sets someone else's capacity.
    content = client_for(team["content"])
    content.post(url(team, "care_agent_update", pk=team["content"].pk), {"capacity": "50"})
    profile = team["content"].agent_profile
    assert profile.available is False and profile.capacity is None
    content.post(url(team, "care_agent_update", pk=team["agent"].pk), {"available": "on"})
    assert (
        not hasattr(team["agent"], "agent_profile") or team["agent"].agent_profile.capacity is None
    )
    client.post(
        url(team, "care_agent_update", pk=team["content"].pk),
        {"available": "on", "capacity": "3", "auto_assign": "no"},
    )
    profile.refresh_from_db()
    assert (profile.available, profile.capacity, profile.auto_assign) == (True, 3, False)
    page = client.get(url(team, "care_overview")).content.decode()
    assert "0 / 3" in page


# --- the rota ------------------------------------------------------------------------------------


def test_shifts_are_added_in_the_workspace_zone_and_refused_in_the_gap(team, client_for) -> None:
    client = client_for(team["manager"])
    data = {
        "member": team["content"].pk,
        "day": "2026-06-13",
        "start": "18:00",
        "end": "01:00",
        "weeks": "2",
        "note": "",
    }
    assert client.post(url(team, "care_rota"), data).status_code == 302
    first = RotaShift.objects.order_by("starts_at").first()
    assert first.starts_at == paris(2026, 6, 13, 18, 0)
    assert first.ends_at == paris(2026, 6, 14, 1, 0)  # earlier than the start: the next day
    assert RotaShift.objects.count() == 2
    gap = client.post(url(team, "care_rota"), {**data, "day": "2026-03-29", "start": "02:30"})
    assert gap.status_code == 400
    assert "n’existe pas" in gap.content.decode() or "does not exist" in gap.content.decode()
    page = client.get(url(team, "care_rota") + "?week=2026-06-08").content.decode()
    assert "18:00–01:00" in page


def test_the_rota_page_swaps(team, client_for, clock) -> None:
    from tests.care.conftest import WEDNESDAY

    clock(WEDNESDAY)
    (shift,) = actions.create_shifts(
        team.workspace,
        by=team["manager"],
        member=team["content"],
        starts_at=paris(2026, 6, 13, 18, 0),
        ends_at=paris(2026, 6, 13, 23, 0),
    )
    content = client_for(team["content"])
    assert content.get(url(team, "care_rota")).status_code == 200
    content.post(url(team, "care_swap_request", pk=shift.pk), {"offered_to": team["agent"].pk})
    swap = ShiftSwap.objects.get()
    page = client_for(team["agent"]).get(url(team, "care_rota")).content.decode()
    assert "vous demande de prendre sa permanence" in page
    # Someone else cannot answer it.
    client_for(team["manager"]).post(
        url(team, "care_swap_answer", pk=swap.pk), {"answer": "accept"}
    )
    shift.refresh_from_db()
    assert shift.member_id == team["content"].pk
    client_for(team["agent"]).post(url(team, "care_swap_answer", pk=swap.pk), {"answer": "accept"})
    shift.refresh_from_db()
    assert shift.member_id == team["agent"].pk
    assert (
        client_for(team.outsider)
        .post(
            f"/w/{team.outsider.workspace.slug}/webcare/rota/swaps/{swap.pk}/", {"answer": "accept"}
        )
        .status_code
        == 404
    )


def test_the_team_status_and_the_open_column_read_as_such_in_french(team, client_for, clock):
    """« Open » is the team's state (Ouvert) and a count of conversations (Conversations
    ouvertes), never the button's verb (Ouvrir)."""
    office_calendar(team)
    clock(paris(2026, 6, 15, 10, 0))  # a Monday, in opening hours
    manager = team["manager"].user
    for language, status, column in (
        ("fr", "Ouvert", "Conversations ouvertes"),
        ("en", "Open", "Open"),
    ):
        manager.language = language
        manager.save(update_fields=["language"])
        client = client_for(team["manager"])
        badge = client.get(url(team, "care_on_duty")).content.decode()
        assert f"<strong>{status}</strong>" in badge, language
        page = client.get(url(team, "care_overview")).content.decode()
        assert f'<th scope="col">{column}</th>' in page, language
        assert "Ouvrir</th>" not in page and "<strong>Ouvrir</strong>" not in page
