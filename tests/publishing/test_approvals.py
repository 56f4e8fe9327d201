"""Approvals without committees (issue 9 §0, §5), enforced on the server, role by role.

Every way in ends in the same routing: the action (``schedule_post``, ``submit_post``), the
channel page's quick post and the CLI. The worker checks again before each send.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import cli as channels_cli
from portevoix.cli import build_parser
from portevoix.core import actions as core_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry, Member
from portevoix.core.permissions import MATRIX, Role
from portevoix.publishing import actions as publishing
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals import policy
from portevoix.publishing.approvals.models import (
    ApprovalStep,
    LapseReason,
    StepKind,
    StepState,
)
from portevoix.publishing.models import Post, Publication
from portevoix.worker.models import Housekeeping
from tests.conftest import ALL_ROLES
from tests.publishing.approvals_helpers import (
    later,
    reply_draft,
    schedule,
    second_channel,
    states,
    waiting,
)
from tests.publishing.conftest import publish_calls, run_publications

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run the worker as it runs for real: what a result asks for after its commit runs."""

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            run_publications()

    return run


DIRECT = {"admin", "manager", "content"}
SUBMITS = {"creative"}
REFUSED = {"analyst", "agent", "viewer", "ambassador"}


# --- §0 and the defaults: who publishes directly, by every way in -------------------------


def test_the_matrix_gives_the_defaults_of_the_issue() -> None:
    direct = {r for r in Role if "post.publish_now" in MATRIX[r]}
    assert direct == {Role.ADMIN, Role.MANAGER, Role.CONTENT}
    assert {r for r in Role if "post.create" in MATRIX[r]} == direct | {Role.CREATIVE}
    assert "post.approve" not in MATRIX[Role.CONTENT]
    assert "post.approve_compliance" in MATRIX[Role.AGENT]
    assert "post.approve" not in MATRIX[Role.AGENT]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_schedule_post_follows_the_role(team, channel, role) -> None:
    member = team[role]
    if role in REFUSED:
        with pytest.raises(PermissionDenied):
            schedule(team, member, [channel])
        assert not Post.objects.exists()
        return
    post = schedule(team, member, [channel])
    if role in DIRECT:
        assert states(post) == ["scheduled"]
        assert not ApprovalStep.objects.exists()
    else:
        assert states(post) == ["pending_approval"]
        [step] = waiting(post)
        assert step.kind == StepKind.APPROVAL and step.requested_by == member.user


def test_an_outsider_schedules_nothing_here(team, channel) -> None:
    with pytest.raises(Http404):
        schedule(team, team.outsider, [channel])
    assert not Post.objects.exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_quick_post_on_the_channel_page_follows_the_role(
    team, client_for, account, channel, role
) -> None:
    url = reverse("channel_quick_post", kwargs={"ws": "acme", "pk": channel.pk})
    response = client_for(team[role]).post(url, {"text": f"Depuis la page ({role})"})
    if role in REFUSED:
        # Agents and ambassadors do not even see the channels; the others may not post.
        assert response.status_code == (404 if role in {"agent", "ambassador"} else 403)
        assert not Post.objects.exists()
        return
    assert response.status_code == 302
    run_publications()
    publication = Publication.objects.get()
    if role in DIRECT:
        assert publication.state == "published"
        assert sum(publish_calls(account).values()) == 1
    else:
        # The creative's post no longer goes out at once: it waits for a manager.
        assert publication.state == "pending_approval"
        assert publish_calls(account) == {}


def cli(*argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    return channels_cli.run(args, out, err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_cli_follows_the_role_of_its_member(team, account, channel, role) -> None:
    email = team[role].user.email
    code, out, err = cli(
        "post", "--workspace", "acme", "--channel", channel.name, "--as", email, "Par la CLI"
    )
    if role in REFUSED:
        assert code == 1 and ("schedule posts" in err or "programmer" in err), err
        assert not Post.objects.exists()
    elif role in DIRECT:
        assert code == 0, err
        assert "published" in out
    else:
        assert code == 1
        assert "pending_approval" in out and "approval" in out.lower()
        assert publish_calls(account) == {}


def test_the_cli_without_a_member_is_the_operator(team, account, channel) -> None:
    code, _out, err = cli("post", "--workspace", "acme", "--channel", channel.name, "Opérateur")
    assert code == 0, err
    assert sum(publish_calls(account).values()) == 1


# --- a manager's settings ----------------------------------------------------------------------


def test_a_manager_withdraws_and_grants_publishing_directly(team, channel) -> None:
    manager = team["manager"]
    approvals.set_trust(team["content"], by=manager, publishes_directly=False)
    assert states(schedule(team, team["content"], [channel])) == ["pending_approval"]
    approvals.set_trust(team["creative"], by=manager, publishes_directly=True)
    assert states(schedule(team, team["creative"], [channel])) == ["scheduled"]
    approvals.set_trust(team["content"], by=manager, publishes_directly=None)
    assert states(schedule(team, team["content"], [channel])) == ["scheduled"]
    assert AuditEntry.objects.filter(action="approval.trust").count() == 3


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_managers_and_admins_change_trust_and_settings(team, channel, role) -> None:
    member = team[role]
    allowed = role in {"admin", "manager"}
    calls = [
        lambda: approvals.set_trust(team["creative"], by=member, publishes_directly=True),
        lambda: approvals.update_settings(team.workspace, by=member, everyone=True),
        lambda: approvals.save_route(
            team.workspace,
            by=member,
            name=f"Finance {role}",
            department=team.department("legal"),
            words="crédit",
        ),
    ]
    for call in calls:
        if allowed:
            call()
        else:
            with pytest.raises(PermissionDenied):
                call()


def test_the_trust_of_a_role_that_publishes_nothing_is_refused(team) -> None:
    with pytest.raises(ActionRefused):
        approvals.set_trust(team["viewer"], by=team["manager"], publishes_directly=True)


def test_trust_does_not_outlive_the_right_to_write(team, channel) -> None:
    approvals.set_trust(team["creative"], by=team["manager"], publishes_directly=True)
    creative = team["creative"]
    creative.role = Role.VIEWER
    creative.save()
    assert not policy.publishes_directly(creative)


def test_a_launch_requires_approval_from_everyone_until_its_end(team, channel) -> None:
    manager = team["manager"]
    approvals.update_settings(
        team.workspace, by=manager, everyone=True, everyone_until=later(hours=24)
    )
    assert states(schedule(team, team["content"], [channel])) == ["pending_approval"]
    own = schedule(team, manager, [channel])
    assert states(own) == ["pending_approval"]
    [step] = waiting(own)
    # Nobody approves their own post; the admin may.
    with pytest.raises(PermissionDenied, match=r"own|propre"):
        approvals.approve(step, by=manager)
    approvals.approve(step, by=team["admin"])
    assert states(own) == ["scheduled"]
    approvals.update_settings(
        team.workspace, by=manager, everyone=True, everyone_until=later(hours=-1)
    )
    assert states(schedule(team, team["content"], [channel])) == ["scheduled"]


def test_a_channel_that_always_needs_approval(team, channel) -> None:
    shop = second_channel(team)
    approvals.update_settings(team.workspace, by=team["manager"], channels=[shop])
    assert states(schedule(team, team["content"], [channel])) == ["scheduled"]
    post = schedule(team, team["content"], [channel, shop])
    assert states(post) == ["pending_approval", "pending_approval"]
    [step] = waiting(post)
    assert step.why["reasons"] == ["channel"] and step.why["channels"] == [shop.name]


def test_settings_refuse_a_committee_and_an_agent_as_approver(team) -> None:
    manager = team["manager"]
    with pytest.raises(ActionRefused):
        approvals.update_settings(
            team.workspace, by=manager, approver=team["content"], approver_role=Role.MANAGER
        )
    with pytest.raises(ActionRefused):
        approvals.update_settings(team.workspace, by=manager, approver=team["agent"])
    with pytest.raises(ActionRefused):
        approvals.update_settings(team.workspace, by=manager, approver_role=Role.AGENT)
    with pytest.raises(ActionRefused):
        approvals.update_settings(team.workspace, by=manager, approver=team.outsider)


# --- who decides ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_approve_by_default(team, channel, role) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    if role in {"admin", "manager"}:
        approvals.approve(step, by=team[role], comment="OK")
        assert states(post) == ["scheduled"]
    else:
        with pytest.raises(PermissionDenied):
            approvals.approve(step, by=team[role])
        assert states(post) == ["pending_approval"]
    with pytest.raises(Http404):
        approvals.approve(step, by=team.outsider)


def test_approval_follows_experience_not_title_one_named_approver(team, channel) -> None:
    """The manager names the senior content marketer: she approves, the manager does not."""
    approvals.update_settings(team.workspace, by=team["manager"], approver=team["content"])
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    assert step.approver == team["content"]
    assert policy.Deciders(team.workspace.pk).members_for(step, post.author_id) == [team["content"]]
    with pytest.raises(PermissionDenied):
        approvals.approve(step, by=team["manager"])
    approvals.approve(step, by=team["content"])
    assert states(post) == ["scheduled"]


def test_a_named_approver_who_wrote_the_post_falls_back_to_the_managers(team, channel) -> None:
    approvals.update_settings(team.workspace, by=team["manager"], approver=team["content"])
    approvals.set_trust(team["content"], by=team["manager"], publishes_directly=False)
    post = schedule(team, team["content"], [channel])
    [step] = waiting(post)
    with pytest.raises(PermissionDenied):
        approvals.approve(step, by=team["content"])
    approvals.approve(step, by=team["manager"])
    assert states(post) == ["scheduled"]


def test_one_role_approves(team, channel) -> None:
    approvals.update_settings(team.workspace, by=team["manager"], approver_role=Role.CONTENT)
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    with pytest.raises(PermissionDenied):
        approvals.approve(step, by=team["admin"])
    approvals.approve(step, by=team["content"])
    assert states(post) == ["scheduled"]


def test_changing_the_approver_moves_the_waiting_requests(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    approvals.update_settings(team.workspace, by=team["manager"], approver=team["content"])
    [step] = waiting(post)
    assert step.approver == team["content"]


# --- the compliance step -------------------------------------------------------------------


@pytest.fixture
def legal(team) -> Member:
    """A department agent in legal (the team's agent is in sales)."""
    from tests.conftest import make_user

    return Member.objects.create(
        workspace=team.workspace,
        user=make_user("legal@acme.test", "Léa Legal"),
        role=Role.AGENT,
        department=team.department("legal"),
    )


@pytest.fixture
def finance_route(team):
    return approvals.save_route(
        team.workspace,
        by=team["manager"],
        name="Finance",
        department=team.department("legal"),
        words="crédit\ntaux d'intérêt",
    )


def test_finance_words_add_a_compliance_step_for_legal(team, channel, finance_route, legal):
    post = schedule(team, team["content"], [channel], text="Notre nouveau CREDIT à 2 %")
    assert states(post) == ["pending_approval"]
    [step] = waiting(post)
    assert step.kind == StepKind.COMPLIANCE and step.department == team.department("legal")
    assert step.why["words"] == ["CREDIT"] and step.why["routes"] == ["Finance"]
    # The agent of another department, and a manager outside legal, may not approve it.
    for member in (team["agent"], team["manager"], team["admin"]):
        with pytest.raises(PermissionDenied):
            approvals.approve(step, by=member)
    approvals.approve(step, by=legal, comment="Mentions conformes")
    assert states(post) == ["scheduled"]


def test_a_department_agent_approves_that_step_and_only_that_step(
    team, channel, finance_route, legal
):
    post = schedule(team, team["creative"], [channel], text="Un crédit pour votre salon")
    general, step = sorted(waiting(post), key=lambda s: s.kind)
    assert (general.kind, step.kind) == (StepKind.APPROVAL, StepKind.COMPLIANCE)
    with pytest.raises(PermissionDenied):
        approvals.approve(general, by=legal)
    approvals.approve(step, by=legal)
    assert states(post) == ["pending_approval"]  # at most one approver, plus compliance
    approvals.approve(general, by=team["manager"])
    assert states(post) == ["scheduled"]


def test_a_named_channel_goes_to_compliance_too(team, channel, legal) -> None:
    bank = second_channel(team, "acme-bank")
    approvals.save_route(
        team.workspace,
        by=team["manager"],
        name="Banque",
        department=team.department("legal"),
        channels=[bank],
    )
    assert states(schedule(team, team["content"], [channel])) == ["scheduled"]
    post = schedule(team, team["content"], [bank])
    [step] = waiting(post)
    assert step.kind == StepKind.COMPLIANCE and step.why["channels"] == [bank.name]


def test_agents_see_only_the_steps_of_their_department(team, channel, finance_route, legal):
    schedule(team, team["creative"], [channel], text="Le crédit, simplement")
    assert ApprovalStep.objects.visible_to(legal).count() == 1
    assert ApprovalStep.objects.visible_to(legal).get().kind == StepKind.COMPLIANCE
    assert ApprovalStep.objects.visible_to(team["agent"]).count() == 0
    assert ApprovalStep.objects.visible_to(team["viewer"]).count() == 2
    assert ApprovalStep.objects.visible_to(team.outsider).count() == 0
    assert not Post.objects.visible_to(legal).exists()


def test_a_route_needs_a_department_and_words_or_channels(team) -> None:
    with pytest.raises(ActionRefused):
        approvals.save_route(
            team.workspace, by=team["manager"], name="Vide", department=team.department("legal")
        )
    with pytest.raises(ActionRefused):
        approvals.save_route(
            team.workspace, by=team["manager"], name="Sans", department=None, words="x"
        )


# --- decisions, comments, the trail -----------------------------------------------------------


def test_request_changes_then_resubmit(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    with pytest.raises(ActionRefused):
        approvals.request_changes(step, by=team["manager"], comment="  ")
    approvals.request_changes(step, by=team["manager"], comment="Plus court, s'il te plaît")
    assert states(post) == ["draft"]
    publication = Publication.objects.get(post=post)
    assert "Plus court" in publication.problem
    step.refresh_from_db()
    assert step.state == StepState.CHANGES and step.decided_by == team["manager"].user
    Post.objects.filter(pk=post.pk).update(text="Bonjour !")
    publishing.submit_post(post, by=team["creative"], note="Raccourci")
    [again] = waiting(post)
    assert again.pk != step.pk and again.note == "Raccourci"
    approvals.approve(again, by=team["manager"])
    assert states(post) == ["scheduled"]


def test_reject_cancels_with_the_reason(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    with pytest.raises(ActionRefused):
        approvals.reject(step, by=team["manager"], comment="")
    approvals.reject(step, by=team["manager"], comment="Hors charte")
    assert states(post) == ["cancelled"]
    assert "Hors charte" in Publication.objects.get(post=post).problem
    with pytest.raises(ActionRefused):
        approvals.approve(step, by=team["admin"])


def test_the_author_withdraws_a_post_to_edit_it(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    with pytest.raises(PermissionDenied):
        approvals.withdraw(post, by=team["content"])
    approvals.withdraw(post, by=team["creative"])
    assert states(post) == ["draft"]
    assert ApprovalStep.objects.get(post=post).lapse_reason == LapseReason.WITHDRAWN


def test_every_step_is_in_the_audit_log_with_the_time_it_waited(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    ApprovalStep.objects.filter(pk=step.pk).update(
        requested_at=timezone.now() - dt.timedelta(hours=3)
    )
    approvals.approve(step, by=team["manager"], comment="Parfait")
    actions = list(
        AuditEntry.objects.filter(object_type="publishing.post").values_list("action", flat=True)
    )
    assert {"post.schedule", "approval.request", "approval.approve"} <= set(actions)
    entry = AuditEntry.objects.get(action="approval.approve")
    assert entry.after["comment"] == "Parfait"
    assert 3 * 3600 - 5 <= entry.after["waited_seconds"] <= 3 * 3600 + 60
    step.refresh_from_db()
    assert dt.timedelta(hours=3) <= step.waited < dt.timedelta(hours=3, minutes=1)


def test_a_requests_audit_entry_reads_in_the_readers_language(team, channel) -> None:
    """« Step 12 · Kind approval · Why {'reasons': ['author'], 'channels': []} » on a French
    page: a request's entry named its fields in English and showed its reasons as a dict."""
    from django.utils import translation

    from portevoix.core import audit

    schedule(team, team["creative"], [channel])
    entry = AuditEntry.objects.get(action="approval.request")
    with translation.override("fr"):
        rows = {label: after for label, _before, after in audit.changes(entry)}
    assert rows["Type"] == "Approbation"
    assert rows["Pourquoi"] == "l’auteur soumet pour approbation"
    assert "Étape d’approbation" in rows
    with translation.override("en"):
        rows = {label: after for label, _before, after in audit.changes(entry)}
    assert rows["Kind"] == "Approval" and rows["Why"] == "the author submits for approval"
    assert entry.after["why"] == {"reasons": ["author"], "channels": []}  # the stored fact


# --- an approval lapses when the content changes ----------------------------------------------


def test_approving_what_one_did_not_read_is_refused(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    read = post.content_fingerprint()
    Post.objects.filter(pk=post.pk).update(text="Autre chose")
    with pytest.raises(ActionRefused, match=r"changed|changé"):
        approvals.approve(step, by=team["manager"], fingerprint=read)
    post.refresh_from_db()
    approvals.approve(step, by=team["manager"], fingerprint=post.content_fingerprint())


def test_an_approval_lapses_when_the_content_changes(team, account, channel, send) -> None:
    post = schedule(team, team["creative"], [channel], at=timezone.now())
    [step] = waiting(post)
    approvals.approve(step, by=team["manager"])
    Publication.objects.filter(post=post).update(text="Modifié après l'approbation")
    send()
    assert publish_calls(account) == {}
    publication = Publication.objects.get(post=post)
    assert publication.state == "pending_approval"
    assert "changed" in publication.problem or "modifié" in publication.problem
    step.refresh_from_db()
    assert step.state == StepState.LAPSED and step.lapse_reason == LapseReason.CONTENT_CHANGED
    [again] = waiting(post)
    approvals.approve(again, by=team["admin"])
    send()
    assert sum(publish_calls(account).values()) == 1


def test_a_new_time_keeps_the_approval(team, account, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    approvals.approve(step, by=team["manager"])
    Publication.objects.filter(post=post).update(
        scheduled_at=timezone.now(), next_attempt_at=timezone.now()
    )
    run_publications()
    assert states(post) == ["published"]


# --- permission and approval checked again at send time ---------------------------------------


def test_an_author_who_lost_the_right_waits_for_approval(team, account, channel, send) -> None:
    post = schedule(team, team["content"], [channel], at=timezone.now())
    core_actions.deactivate_member(team["content"], by=team["admin"])
    send()
    assert publish_calls(account) == {}
    assert states(post) == ["pending_approval"]
    [step] = waiting(post)  # asked for once the worker's result was written
    approvals.approve(step, by=team["manager"])
    send()
    assert states(post) == ["published"]


def test_an_approval_from_someone_who_may_no_longer_approve_lapses(team, account, channel, send):
    post = schedule(team, team["creative"], [channel], at=timezone.now())
    [step] = waiting(post)
    approvals.approve(step, by=team["manager"])
    core_actions.change_role(team["manager"], by=team["admin"], role=Role.CONTENT)
    send()
    assert publish_calls(account) == {}
    step.refresh_from_db()
    assert step.lapse_reason == LapseReason.DECIDER_LEFT
    assert states(post) == ["pending_approval"] and len(waiting(post)) == 1


def test_a_launch_declared_after_scheduling_holds_at_send_time(
    team, account, channel, send
) -> None:
    post = schedule(team, team["content"], [channel], at=timezone.now())
    approvals.update_settings(team.workspace, by=team["manager"], everyone=True)
    send()
    assert publish_calls(account) == {}
    assert states(post) == ["pending_approval"] and len(waiting(post)) == 1


def test_a_trusted_post_goes_out_with_no_step(team, account, channel) -> None:
    post = schedule(team, team["content"], [channel], at=timezone.now())
    run_publications()
    assert states(post) == ["published"] and not ApprovalStep.objects.exists()


# --- §0: passive channels take replies, not posts -------------------------------------------


@pytest.fixture
def passive(team):
    return second_channel(team, "acme-listen", strategy_level="passive")


@pytest.mark.parametrize("role", ["admin", "manager", "content", "creative"])
def test_a_passive_channel_refuses_a_new_post(team, passive, role) -> None:
    with pytest.raises(ActionRefused, match="passive"):
        schedule(team, team[role], [passive])
    assert not Post.objects.exists()


def test_a_passive_channel_accepts_a_reply_and_a_private_message(team, passive) -> None:
    public = reply_draft(team, team["content"], passive)
    publishing.submit_post(public, by=team["content"])
    assert states(public) == ["scheduled"]
    private = reply_draft(team, team["agent"], passive, private=True)
    publishing.submit_post(private, by=team["agent"])
    assert states(private) == ["scheduled"]


def test_a_channel_made_passive_after_scheduling_refuses_at_send_time(
    team, account, channel
) -> None:
    from portevoix.channels import actions as channel_actions

    post = schedule(team, team["content"], [channel], at=timezone.now())
    channel_actions.update_channel(
        channel,
        by=team["admin"],
        name=channel.name,
        owner_department=channel.owner_department,
        strategy_level="passive",
    )
    run_publications()
    assert publish_calls(account) == {}
    publication = Publication.objects.get(post=post)
    assert publication.state == "rejected" and "passive" in publication.problem


# --- replies to customers, for webcare -------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_replies_follow_the_same_mechanism(team, channel, role) -> None:
    member = team[role]
    post = reply_draft(team, member, channel)
    if role in {"analyst", "viewer", "creative", "ambassador"}:
        with pytest.raises(PermissionDenied):
            publishing.submit_post(post, by=member)
        return
    publishing.submit_post(post, by=member)
    if role == "agent":
        # A department agent's public reply waits for approval.
        assert states(post) == ["pending_approval"]
        [step] = waiting(post)
        approvals.approve(step, by=team["manager"])
    assert states(post) == ["scheduled"]


def test_an_agents_private_reply_needs_no_approval(team, channel) -> None:
    post = reply_draft(team, team["agent"], channel, private=True)
    publishing.submit_post(post, by=team["agent"])
    assert states(post) == ["scheduled"]


def test_a_launch_does_not_hold_replies_to_customers(team, channel) -> None:
    approvals.update_settings(team.workspace, by=team["manager"], everyone=True)
    post = reply_draft(team, team["content"], channel)
    publishing.submit_post(post, by=team["content"])
    assert states(post) == ["scheduled"]


# --- submit_post: the composer's entry point ---------------------------------------------------


def draft(team, member, channel, text="Brouillon du compositeur") -> Post:
    post = Post.objects.create(workspace=team.workspace, text=text, author=member.user)
    Publication.objects.create(
        post=post, channel=channel, scheduled_at=later(), state="draft", next_attempt_at=None
    )
    return post


@pytest.mark.parametrize("role", ALL_ROLES)
def test_submit_post_follows_the_role(team, channel, role) -> None:
    member = team[role]
    post = draft(team, team["admin"] if role in REFUSED else member, channel)
    if role in REFUSED:
        with pytest.raises(PermissionDenied):
            publishing.submit_post(post, by=member)
        assert states(post) == ["draft"]
        return
    publishing.submit_post(post, by=member)
    assert states(post) == (["scheduled"] if role in DIRECT else ["pending_approval"])


def test_submitting_again_after_approval_keeps_it_when_nothing_changed(team, channel) -> None:
    post = draft(team, team["creative"], channel)
    publishing.submit_post(post, by=team["creative"])
    [step] = waiting(post)
    approvals.approve(step, by=team["manager"])
    publishing.submit_post(post, by=team["creative"])
    assert states(post) == ["scheduled"] and not waiting(post)
    Post.objects.filter(pk=post.pk).update(text="Changé")
    publishing.submit_post(post, by=team["creative"])
    assert states(post) == ["pending_approval"] and len(waiting(post)) == 1
    step.refresh_from_db()
    assert step.lapse_reason == LapseReason.CONTENT_CHANGED


def test_nothing_to_submit_is_said(team, channel) -> None:
    post = draft(team, team["content"], channel)
    Publication.objects.filter(post=post).update(state="published")
    with pytest.raises(ActionRefused):
        publishing.submit_post(post, by=team["content"])


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_recall_waiting_requests_then_stop(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    [step] = waiting(post)
    row = Housekeeping.objects.create(name="approval-reminders", locked_by="test")
    assert approvals.send_reminders(row).startswith("0 reminder")
    for number in range(1, approvals.MAX_REMINDERS + 2):
        ApprovalStep.objects.filter(pk=step.pk, remind_at__isnull=False).update(
            remind_at=timezone.now() - dt.timedelta(seconds=1)
        )
        approvals.send_reminders(row)
        step.refresh_from_db()
        assert step.reminders_sent == min(number, approvals.MAX_REMINDERS)
    assert step.remind_at is None
    assert AuditEntry.objects.filter(action="approval.remind").count() == approvals.MAX_REMINDERS


def test_the_reminders_job_asks_again_for_a_post_left_without_a_request(team, channel) -> None:
    post = schedule(team, team["creative"], [channel])
    ApprovalStep.objects.all().delete()
    row = Housekeeping.objects.create(name="approval-reminders", locked_by="test")
    assert "1 post" in approvals.send_reminders(row)
    assert len(waiting(post)) == 1


def test_the_reminders_job_is_registered() -> None:
    from portevoix.worker import housekeeping

    assert "approval-reminders" in housekeeping.JOBS
