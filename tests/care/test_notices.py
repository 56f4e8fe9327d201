"""Webcare tells people through the one notification path: assignment, SLA, escalation, rota."""

from __future__ import annotations

import pytest
from django.utils import translation

from portevoix.care import actions, jobs, notices
from portevoix.core.models import Member
from portevoix.notifications.kinds import get
from portevoix.notifications.models import EmailDelivery, Notification
from tests.care.conftest import SATURDAY_NIGHT, WEDNESDAY, ingest_one, paris
from tests.care.test_rota import weekend_shift
from tests.care.test_sla import FRIDAY_EVENING, run_clocks
from tests.care.test_sla import policy as sla_policy
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def told(kind: str) -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(kind=kind).values_list("recipient__user__email", "key")
    )


def test_every_kind_is_registered_and_renders_in_both_languages() -> None:
    for kind in notices.kinds():
        registered = get(kind.code)
        for language in ("fr", "en"):
            with translation.override(language):
                rendered = registered.render(
                    {
                        "customer": "lea",
                        "channel": "Instagram",
                        "target": "first_response",
                        "due_at": "2026-06-15T09:30:00+02:00",
                        "rule": "VIP",
                        "who": "Paul",
                        "starts_at": "2026-06-13T18:00:00+02:00",
                        "ends_at": "2026-06-13T22:00:00+02:00",
                    }
                )
            assert rendered.title and "%(" not in rendered.title


def test_the_member_on_duty_is_told_a_conversation_is_theirs(team, channel, clock) -> None:
    from tests.care.conftest import office_calendar

    office_calendar(team)
    weekend_shift(team, team["content"])
    clock(SATURDAY_NIGHT)
    conversation = ingest_one(channel, "Bonsoir, ma commande n'est pas arrivée", at=SATURDAY_NIGHT)
    (note,) = Notification.objects.filter(kind=notices.ASSIGNED)
    assert note.recipient_id == team["content"].pk
    assert note.params["on_duty"] is True and note.params["customer"]
    assert note.url.endswith(f"{conversation.pk}/") or str(conversation.pk) in note.url
    with translation.override("fr"):
        assert get(note.kind).render(note.params).title.startswith("Vous êtes de permanence")


policy = sla_policy


def test_a_warning_to_the_assignee_then_a_breach_escalated_to_the_managers(
    team, channel, policy, clock
) -> None:
    clock(FRIDAY_EVENING)
    conversation = ingest_one(channel, "Bonjour, une question sur le sérum", at=FRIDAY_EVENING)
    conversation.assignee = team["content"]
    conversation.save(update_fields=["assignee"])
    clock(paris(2026, 6, 15, 9, 20))
    run_clocks()
    assert [email for email, _key in told(notices.SLA_WARNING)] == ["content@acme.test"]
    clock(paris(2026, 6, 15, 9, 31))
    run_clocks()
    breached = {email for email, _key in told(notices.SLA_BREACHED)}
    assert breached == {"content@acme.test", "admin@acme.test", "manager@acme.test"}
    assert EmailDelivery.objects.filter(notification__kind=notices.SLA_BREACHED).exists()
    run_clocks()  # told once
    assert len(told(notices.SLA_BREACHED)) == 3


def test_a_rule_that_escalates_tells_the_managers(team, channel) -> None:
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Avocat",
        condition='text contains "mon avocat"',
        actions={"priority": "urgent", "escalate": True},
    )
    ingest_one(channel, "Je vais contacter mon avocat", at=WEDNESDAY)
    ingest_one(channel, "Bonjour, une question", at=WEDNESDAY, author="other")
    emails = {email for email, _key in told(notices.ESCALATED)}
    assert emails == {"admin@acme.test", "manager@acme.test"}


def test_swaps_and_shift_reminders_reach_the_right_people(team, clock) -> None:
    colleague = Member.objects.create(
        workspace=team.workspace, user=make_user("paul@acme.test", "Paul"), role="content"
    )
    clock(WEDNESDAY)
    shift = weekend_shift(team, team["content"])
    swap = actions.request_swap(shift, by=team["content"], offered_to=colleague, message="Mariage")
    assert [email for email, _key in told(notices.SWAP_REQUESTED)] == ["paul@acme.test"]
    actions.answer_swap(swap, by=colleague, accept=True)
    assert [email for email, _key in told(notices.SWAP_ANSWERED)] == ["content@acme.test"]
    clock(paris(2026, 6, 13, 17, 15))  # 45 minutes before the shift, now Paul's
    jobs.remind_shifts(None)  # type: ignore[arg-type]
    jobs.remind_shifts(None)  # type: ignore[arg-type]
    assert [email for email, _key in told(notices.SHIFT_STARTS)] == ["paul@acme.test"]
