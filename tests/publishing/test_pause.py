"""Pause (issue 9 §7): a workspace, a channel or a campaign; the schedule is kept; resuming
sends what is still on time and holds the rest for a person."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.publishing import pause
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import ApprovalStep, Pause, StepState
from portevoix.publishing.models import Campaign, Post, Publication
from tests.conftest import ALL_ROLES
from tests.publishing.approvals_helpers import later, schedule, second_channel, states, waiting
from tests.publishing.conftest import publish_calls, run_publications

pytestmark = pytest.mark.django_db

MAY_PAUSE = {"admin", "manager", "content"}


@pytest.fixture
def campaign(team):
    return Campaign.objects.create(workspace=team.workspace, name="Soldes d'hiver")


def in_campaign(post: Post, campaign: Campaign) -> Post:
    Post.objects.filter(pk=post.pk).update(campaign=campaign)
    post.refresh_from_db()
    return post


def test_pausing_the_workspace_keeps_the_schedule(team, account, channel) -> None:
    now_post = schedule(team, team["content"], [channel], at=timezone.now())
    tomorrow = schedule(team, team["content"], [channel], at=later(24))
    due = Publication.objects.get(post=tomorrow).scheduled_at
    row = pause.pause(team.workspace, by=team["manager"], reason="Crise en cours")
    assert row.paused_count == 2
    assert states(now_post) == states(tomorrow) == ["paused"]
    run_publications()
    assert publish_calls(account) == {}
    assert Publication.objects.get(post=tomorrow).scheduled_at == due
    resumed = pause.resume(team.workspace, by=team["manager"])
    assert (resumed.resumed_count, resumed.held_count) == (2, 0)
    run_publications()
    assert states(now_post) == ["published"] and states(tomorrow) == ["scheduled"]
    assert Publication.objects.get(post=tomorrow).next_attempt_at == due


def test_resuming_holds_what_is_later_than_the_limit(team, account, channel) -> None:
    team.workspace.lateness_limit_minutes = 60
    team.workspace.save()
    stale = schedule(team, team["content"], [channel], at=timezone.now())
    fresh = schedule(team, team["content"], [channel], at=timezone.now())
    pause.pause(team.workspace, by=team["manager"])
    Publication.objects.filter(post=stale).update(
        scheduled_at=timezone.now() - dt.timedelta(hours=3)
    )
    Publication.objects.filter(post=fresh).update(
        scheduled_at=timezone.now() - dt.timedelta(minutes=30)
    )
    row = pause.resume(team.workspace, by=team["manager"])
    assert (row.resumed_count, row.held_count) == (1, 1)
    held = Publication.objects.get(post=stale)
    assert held.state == "held" and "pause" in held.problem
    run_publications()
    assert states(fresh) == ["published"]
    assert sum(publish_calls(account).values()) == 1


def test_a_channel_pause_holds_only_that_channel(team, channel) -> None:
    pro = second_channel(team)
    post = schedule(team, team["content"], [channel, pro])
    pause.pause(pro, by=team["content"])
    assert sorted(
        Publication.objects.filter(post=post).values_list("channel__name", "state")
    ) == sorted([(channel.name, "scheduled"), (pro.name, "paused")])


def test_overlapping_pauses_hold_until_the_last_ends(team, channel, campaign) -> None:
    post = in_campaign(schedule(team, team["content"], [channel]), campaign)
    pause.pause(campaign, by=team["manager"])
    pause.pause(team.workspace, by=team["manager"])
    pause.resume(campaign, by=team["manager"])
    assert states(post) == ["paused"]
    pause.resume(team.workspace, by=team["manager"])
    assert states(post) == ["scheduled"]


def test_what_becomes_due_during_a_pause_is_paused(team, account, channel) -> None:
    pause.pause(channel, by=team["manager"])
    # Scheduled by a trusted author: straight to paused.
    assert states(schedule(team, team["content"], [channel])) == ["paused"]
    # Approved during the pause: paused too.
    post = schedule(team, team["creative"], [channel], at=timezone.now())
    [step] = waiting(post)
    approvals.approve(step, by=team["manager"])
    assert states(post) == ["paused"]
    # And the worker's own check, for anything that reached "scheduled" another way.
    sneaky = schedule(team, team["content"], [pro := second_channel(team)], at=timezone.now())
    Publication.objects.filter(post=sneaky).update(channel=channel)
    run_publications()
    assert publish_calls(account) == {}
    assert states(sneaky) == ["paused"]
    assert pro.pk


def test_a_publication_being_sent_is_not_touched(team, channel) -> None:
    post = schedule(team, team["content"], [channel], at=timezone.now())
    Publication.objects.filter(post=post).update(sending_at=timezone.now())
    row = pause.pause(team.workspace, by=team["manager"])
    assert row.paused_count == 0 and states(post) == ["scheduled"]


def test_pausing_twice_and_resuming_what_is_not_paused_are_refused(team, channel) -> None:
    pause.pause(channel, by=team["manager"])
    with pytest.raises(ActionRefused):
        pause.pause(channel, by=team["content"])
    with pytest.raises(ActionRefused):
        pause.resume(team.workspace, by=team["manager"])


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_pause_and_resume(team, channel, role) -> None:
    member = team[role]
    if role in MAY_PAUSE:
        pause.pause(team.workspace, by=member, reason=role)
        pause.resume(team.workspace, by=member)
    else:
        with pytest.raises(PermissionDenied):
            pause.pause(team.workspace, by=member)
        assert not Pause.objects.exists()
    with pytest.raises(Http404):
        pause.pause(team.workspace, by=team.outsider)


def test_pause_and_resume_are_audited(team, channel) -> None:
    schedule(team, team["content"], [channel])
    pause.pause(channel, by=team["manager"], reason="Compte piraté ?")
    pause.resume(channel, by=team["manager"])
    paused = AuditEntry.objects.get(action="publishing.pause")
    assert paused.after["paused"] == 1 and paused.after["reason"] == "Compte piraté ?"
    assert AuditEntry.objects.get(action="publishing.resume").after["resumed"] == 1


def test_the_crisis_mode_may_pause_without_a_member(team, channel) -> None:
    row = pause.pause(team.workspace, by=None, reason="Crise déclarée")
    assert row.started_by is None
    pause.resume(row, by=None)
    assert not pause.active_keys(team.workspace.pk)


def test_cancelling_a_campaign(team, account, channel, campaign) -> None:
    scheduled = in_campaign(schedule(team, team["content"], [channel]), campaign)
    waiting_post = in_campaign(schedule(team, team["creative"], [channel]), campaign)
    sending = in_campaign(schedule(team, team["content"], [channel]), campaign)
    Publication.objects.filter(post=sending).update(sending_at=timezone.now())
    elsewhere = schedule(team, team["content"], [channel])
    pause.pause(campaign, by=team["manager"])
    with pytest.raises(PermissionDenied):
        pause.cancel_campaign(campaign, by=team["creative"])
    pause.cancel_campaign(campaign, by=team["manager"], reason="Rupture de stock")
    assert states(scheduled) == states(waiting_post) == ["cancelled"]
    assert states(sending) == ["scheduled"]  # being sent: it lands or is reconciled
    assert states(elsewhere) == ["scheduled"]
    assert ApprovalStep.objects.get(post=waiting_post).state == StepState.LAPSED
    assert not pause.active_keys(team.workspace.pk)
    entry = AuditEntry.objects.get(action="campaign.cancel")
    assert (entry.after["cancelled"], entry.after["being_sent"]) == (2, 1)
    with pytest.raises(ActionRefused):
        pause.cancel_campaign(campaign, by=team["manager"])
    with pytest.raises(ActionRefused):
        pause.pause(campaign, by=team["manager"])
    # A cancelled campaign takes no new submission.
    from portevoix.publishing import actions as publishing

    Publication.objects.filter(post=scheduled).update(state="draft")
    with pytest.raises(ActionRefused):
        publishing.submit_post(scheduled, by=team["content"])


# --- the banner ------------------------------------------------------------------------------


def test_a_banner_on_every_page_says_what_is_paused(team, client_for, channel) -> None:
    pause.pause(channel, by=team["manager"], reason="Vérification du compte")
    for role in ("admin", "creative", "agent", "viewer"):
        response = client_for(team[role]).get(reverse("workspace_home", kwargs={"ws": "acme"}))
        body = response.content.decode()
        assert 'class="pause-banner"' in body, role
        assert channel.name in body and "Vérification du compte" in body
    other = client_for(team.outsider).get(
        reverse("workspace_home", kwargs={"ws": team.outsider.workspace.slug})
    )
    assert 'class="pause-banner"' not in other.content.decode()
    pause.resume(channel, by=team["manager"])
    response = client_for(team["admin"]).get(reverse("workspace_home", kwargs={"ws": "acme"}))
    assert 'class="pause-banner"' not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_pausing_and_resuming_are_each_one_transaction_of_their_own(team) -> None:
    """A helper inserted between ``@transaction.atomic`` and ``def pause`` took its decorator:
    the pause page then failed (500, "notify() runs inside the transaction of the change it
    tells about") wherever no transaction was already open. Tests inside one never saw it."""
    from django.db import connection

    assert not connection.in_atomic_block
    row = pause.pause(team.workspace, by=team["manager"], reason="Maintenance")
    assert row.ended_at is None
    assert pause.resume(row, by=team["manager"]).ended_at is not None
