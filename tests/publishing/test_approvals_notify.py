"""Who hears about approvals and pauses, through the one notification path (issue 9 §5, §7)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation

from portevoix.notifications import kinds
from portevoix.notifications.models import Notification
from portevoix.publishing import pause
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals import notices
from portevoix.worker.models import Housekeeping
from tests.publishing.approvals_helpers import schedule, waiting

pytestmark = pytest.mark.django_db


def told(member, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=member, kind=kind).order_by("id"))


def test_the_kinds_are_registered() -> None:
    for code in (notices.REQUESTED, notices.REMINDER, notices.DECIDED, notices.PAUSED):
        assert kinds.find(code) is not None


def test_a_request_tells_who_may_approve_never_the_author(team, channel) -> None:
    post = schedule(team, team["creative"], [channel], text="Nouveau sérum Velours")
    for role in ("admin", "manager"):
        [notice] = told(team[role], notices.REQUESTED)
        assert notice.url.endswith(f"/approvals/posts/{post.pk}/")
        with translation.override("en"):
            assert "waits for your approval" in notice.render().title
    for role in ("creative", "content", "analyst", "agent", "viewer"):
        assert told(team[role], notices.REQUESTED) == []


def test_a_named_approver_alone_is_told(team, channel) -> None:
    approvals.update_settings(team.workspace, by=team["admin"], approver=team["content"])
    schedule(team, team["creative"], [channel])
    assert len(told(team["content"], notices.REQUESTED)) == 1
    assert told(team["manager"], notices.REQUESTED) == []


def test_a_compliance_step_tells_the_departments_agents(team, channel) -> None:
    approvals.save_route(
        team.workspace,
        by=team["manager"],
        name="Ventes",
        department=team.department("sales"),
        words="remise",
    )
    schedule(team, team["content"], [channel], text="Une remise de 10 % ce week-end")
    [notice] = told(team["agent"], notices.REQUESTED)
    with translation.override("fr"):
        assert "conformité" in notice.render().title


@pytest.mark.parametrize(
    ("decide", "state", "words"),
    [
        ("approve", "approved", "approved your post"),
        ("request_changes", "changes_requested", "asks for changes"),
        ("reject", "rejected", "rejected your post"),
    ],
)
def test_the_author_hears_the_decision_with_the_comment(team, channel, decide, state, words):
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    getattr(approvals, decide)(step, by=team["manager"], comment="Voir le visuel")
    [notice] = told(team["creative"], notices.DECIDED)
    assert notice.params["state"] == state
    with translation.override("en"):
        rendered = notice.render()
    assert words in rendered.title and "Voir le visuel" in rendered.body
    assert told(team["manager"], notices.DECIDED) == []


def test_reminders_are_notifications_once_each(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    step.remind_at = step.requested_at
    step.save(update_fields=["remind_at"])
    row = Housekeeping.objects.create(name="approval-reminders", locked_by="test")
    approvals.send_reminders(row)
    assert len(told(team["manager"], notices.REMINDER)) == 1
    assert told(team["creative"], notices.REMINDER) == []
    # Nothing due: nothing more.
    approvals.send_reminders(row)
    assert len(told(team["manager"], notices.REMINDER)) == 1


@override_settings(LANGUAGE_CODE="en")
def test_a_pause_and_its_end_tell_the_writers_but_the_one_who_did_it(team, channel) -> None:
    schedule(team, team["manager"], [channel])
    row = pause.pause(team.workspace, by=team["manager"], reason="Incident")
    pause.resume(row, by=team["manager"])
    for role in ("admin", "content", "creative"):
        states = [n.params["state"] for n in told(team[role], notices.PAUSED)]
        assert states == ["paused", "resumed"]
    assert told(team["manager"], notices.PAUSED) == []
    for role in ("analyst", "agent", "viewer"):
        assert told(team[role], notices.PAUSED) == []
    [first, _] = told(team["admin"], notices.PAUSED)
    with translation.override("en"):
        rendered = first.render()
    assert "paused on the whole workspace" in rendered.title
    assert "Incident" in rendered.body and "1 scheduled post is paused" in rendered.body
