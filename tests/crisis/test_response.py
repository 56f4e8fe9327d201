"""Issue 12 §5, the response: holding statements approved by legal and published on every
channel, the inbox in surge (crisis conversations, bulk reply, extra members on duty), and
the lockdown with each channel's credential custody."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from portevoix.care.models import RotaShift
from portevoix.channels import actions as channel_actions
from portevoix.core.actions import ActionRefused
from portevoix.core.audit import AuditEntry
from portevoix.core.models import Member
from portevoix.core.permissions import Role
from portevoix.crisis import actions, lockdown, statements
from portevoix.crisis.models import (
    ChannelCustody,
    CrisisConversation,
    StatementReply,
    TimelineEntry,
)
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Reply
from portevoix.notifications.models import Notification
from portevoix.publishing import pause
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import ApprovalStep, StepKind, StepState
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxCall
from tests.conftest import make_user
from tests.inbox.conftest import conversation_of, make_item
from tests.publishing.conftest import publish_calls, run_publications


@pytest.fixture(autouse=True)
def _english():
    from django.utils import translation

    with translation.override("en"):
        yield


def connect(team, handle: str):
    account = service.create_account(handle, display_name=handle, workspace=team.workspace)
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )
    return account, channel


@pytest.fixture
def world(team):
    shop = connect(team, "acme-shop")
    care = connect(team, "acme-care")
    legal = Member.objects.create(
        workspace=team.workspace,
        user=make_user("lawyer@acme.test", "Laure Legal"),
        role=Role.AGENT,
        department=team.department("legal"),
    )
    incident = actions.open_incident(
        team.workspace, by=team["manager"], title="Retards de livraison", terms=["retard"]
    )
    return {"shop": shop, "care": care, "legal": legal, "incident": incident}


def draft(
    team, world, text="Nous savons que des commandes sont en retard. Nous revenons vers vous."
):
    return statements.save_statement(
        world["incident"],
        by=team["manager"],
        text=text,
        channel_ids=[world["shop"][1].pk, world["care"][1].pk],
    )


def legal_step(statement) -> ApprovalStep:
    return ApprovalStep.objects.get(post=statement.post, state=StepState.WAITING)


# --- holding statements ---------------------------------------------------------------------


def test_a_statement_goes_to_legal_and_out_on_every_channel_once_approved(team, world) -> None:
    # The crisis paused everything else first: the statement is not held by it.
    actions.pause_publishing(world["incident"], by=team["manager"])
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    step = legal_step(statement)
    assert step.kind == StepKind.COMPLIANCE and step.department.code == "legal"
    assert statements.standing(statement).code == "waiting"
    assert set(statement.post.publications.values_list("state", flat=True)) == {"pending_approval"}
    # Legal is told through the one notification path.
    assert Notification.objects.filter(recipient=world["legal"], kind="approval.requested").exists()
    run_publications()
    assert not publish_calls()

    approvals.approve(step, by=world["legal"])
    assert statements.standing(statement).legal_approved
    run_publications()
    calls = publish_calls()
    # One post with a publication per channel: one network call each, on each account.
    assert len(calls) == 2 and set(calls.values()) == {1}
    for account, _channel in (world["shop"], world["care"]):
        assert publish_calls(account).total() == 1
    assert set(statement.post.publications.values_list("state", flat=True)) == {"published"}
    # The statement's page says so for each channel (the state was blank).
    page = _client(team["manager"]).get(
        reverse("crisis_statement", kwargs={"ws": team.workspace.slug, "pk": world["incident"].pk})
    )
    assert page.content.decode().count('<span class="badge ok">Publié</span>') == 2
    run_publications()
    assert publish_calls().total() == 2  # never twice
    # The pause still holds the other posts.
    assert pause.active_keys(team.workspace.pk) == frozenset({"workspace"})
    from django.utils import translation

    from portevoix.core.sentences import render

    stored = list(
        TimelineEntry.objects.filter(incident=world["incident"], kind="statement").values_list(
            "detail", flat=True
        )
    )
    # Drafted, sent to legal, approved: read in each reader's language, not frozen in one.
    with translation.override("fr"):
        french = [render(d) for d in stored]
    with translation.override("en"):
        english = [render(d) for d in stored]
    assert len(stored) == 3 and "juridique" in french[1] and "legal" in english[1]
    assert english[0].startswith("Drafted") and french[0].startswith("Rédigée")
    assert statement.text in english[1]  # what legal was asked to approve
    assert any(world["legal"].department.name in d for d in french)


def test_the_time_of_legals_first_approval_is_what_a_drill_scores(team, world) -> None:
    from portevoix.crisis import drills

    assert statements.first_approved_at(world["incident"]) is None
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    assert statements.first_approved_at(world["incident"]) is None  # waiting is not approved
    step = legal_step(statement)
    approvals.approve(step, by=world["legal"])
    step.refresh_from_db()
    assert statements.first_approved_at(world["incident"]) == step.decided_at
    assert drills._statement_at(world["incident"]) == (True, step.decided_at)


@pytest.mark.parametrize("role", ["admin", "manager", "content", "agent"])
def test_nobody_but_legal_approves_a_statement(team, world, role) -> None:
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    with pytest.raises(PermissionDenied):
        approvals.approve(legal_step(statement), by=team[role])
    assert not statements.standing(statement).legal_approved
    run_publications()
    assert not publish_calls()
    # Nor does sending it again by hand get round it: the worker asks the rule again.
    publication = statement.post.publications.first()
    Publication.objects.filter(pk=publication.pk).update(
        state="scheduled", next_attempt_at=timezone.now()
    )
    run_publications()
    assert not publish_calls()
    publication.refresh_from_db()
    assert publication.state == "pending_approval"


def test_each_networks_limits_are_checked_before_it_leaves(team, world) -> None:
    long = "Nous revenons vers vous. " * 140  # 3,360 characters: the sandbox takes 3,000
    statement = statements.save_statement(
        world["incident"],
        by=team["manager"],
        text=long,
        channel_ids=[world["shop"][1].pk, world["care"][1].pk],
        variants={str(world["care"][1].pk): "Nous revenons vers vous très vite."},
    )
    problems = statements.channel_problems(
        [world["shop"][1], world["care"][1]], statement.text, statement.variants
    )
    assert list(problems) == [world["shop"][1].pk]
    with pytest.raises(ActionRefused) as refused:
        statements.send_to_legal(statement, by=team["manager"])
    assert "acme-shop" in refused.value.message and "acme-care" not in refused.value.message
    statement.refresh_from_db()
    assert statement.post is None


def test_drafting_needs_to_write_posts_and_an_open_incident(team, world) -> None:
    for role in ("analyst", "viewer"):
        with pytest.raises(PermissionDenied):
            statements.save_statement(
                world["incident"], by=team[role], text="x", channel_ids=[world["shop"][1].pk]
            )
    with pytest.raises(ActionRefused) as empty:
        statements.save_statement(
            world["incident"], by=team["manager"], text=" ", channel_ids=[world["shop"][1].pk]
        )
    assert empty.value.field == "text"
    with pytest.raises(ActionRefused) as none:
        statements.save_statement(world["incident"], by=team["manager"], text="x", channel_ids=[])
    assert none.value.field == "channels"
    actions.close_incident(world["incident"], by=team["manager"], summary="Fin.")
    with pytest.raises(ActionRefused):
        draft(team, world)


def test_a_statement_waiting_for_legal_is_taken_back_to_edit(team, world) -> None:
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    with pytest.raises(ActionRefused):
        statements.save_statement(
            world["incident"],
            by=team["manager"],
            text="Autre",
            channel_ids=[world["shop"][1].pk],
            statement=statement,
        )
    statements.take_back(statement, by=team["manager"])
    statement = statements.save_statement(
        world["incident"],
        by=team["manager"],
        text="Un autre texte",
        channel_ids=[world["shop"][1].pk],
        statement=statement,
    )
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    live = statement.post.publications.exclude(state="cancelled")
    assert [p.channel_id for p in live] == [world["shop"][1].pk]
    approvals.approve(legal_step(statement), by=world["legal"])
    run_publications()
    assert publish_calls().total() == 1


# --- the inbox in surge ---------------------------------------------------------------------


@pytest.fixture
def surge(team, world):
    _account, channel = world["care"]
    ingest(
        channel,
        [
            make_item("c1", "Encore un retard de livraison, inadmissible", author="lea"),
            make_item("c2", "Mon colis est en retard depuis 2 semaines", author="marc", minutes=1),
            make_item("c3", "Bonjour, quel est le prix du coffret ?", author="zoe", minutes=2),
        ],
    )
    return [conversation_of("c1"), conversation_of("c2"), conversation_of("c3")]


def test_crisis_conversations_are_labelled_as_they_come_in(team, world, surge) -> None:
    labelled = set(
        CrisisConversation.objects.filter(incident=world["incident"]).values_list(
            "conversation_id", flat=True
        )
    )
    assert labelled == {surge[0].pk, surge[1].pk}
    label = statements.crisis_label(team.workspace)
    assert set(label.conversations.values_list("pk", flat=True)) == labelled
    # The inbox's queue is its label filter.
    response = _client(team["manager"]).get(
        reverse("inbox", kwargs={"ws": team.workspace.slug}) + f"?label={label.pk}"
    )
    assert response.status_code == 200
    assert "marc" in response.content.decode() and "zoe" not in response.content.decode()
    # The surge page says how triage read each one, so a plain question naming the crisis's
    # term is told apart from an angry customer before the statement goes to both.
    page = (
        _client(team["manager"])
        .get(
            reverse("crisis_surge", kwargs={"ws": team.workspace.slug, "pk": world["incident"].pk})
        )
        .content.decode()
    )
    for conversation in surge[:2]:
        conversation.refresh_from_db()
        assert conversation.sentiment
        row = page.split(f'data-conversation="{conversation.pk}"')[1].split("</tr>")[0]
        assert f'data-tone="{conversation.sentiment}"' in row
        assert f'class="tone-{conversation.sentiment}"' in row


def test_bulk_reply_waits_for_legal_then_answers_each_once(team, world, surge) -> None:
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    with pytest.raises(ActionRefused) as early:
        statements.reply_with_statement(statement, surge[:2], by=team["content"])
    assert early.value.code == "state"
    assert not Reply.objects.exists()
    approvals.approve(legal_step(statement), by=world["legal"])
    result = statements.reply_with_statement(statement, surge, by=team["content"])
    assert result.sent == 2 and len(result.refused) == 1  # the price question is not one
    again = statements.reply_with_statement(statement, surge[:2], by=team["content"])
    assert again.sent == 0 and again.skipped == 2
    assert StatementReply.objects.count() == 2 and Reply.objects.count() == 2
    run_publications()
    # Each answer reached the network once, through the delivery engine (the messages were
    # made up for the test, so the sandbox refuses them as unknown: once, never retried).
    keys = list(
        Publication.objects.filter(post__in=[r.post_id for r in Reply.objects.all()]).values_list(
            "idempotency_key", flat=True
        )
    )
    calls = SandboxCall.objects.filter(operation="publish", idempotency_key__in=keys)
    assert len(keys) == 2 and sorted(calls.values_list("idempotency_key", flat=True)) == sorted(
        keys
    )
    assert all(r.post.text == statement.text for r in Reply.objects.select_related("post"))
    with pytest.raises(PermissionDenied):
        statements.reply_with_statement(statement, surge[:1], by=team["viewer"])


def test_extra_members_are_called_on_duty_until_the_incident_closes(team, world) -> None:
    until = (timezone.now() + dt.timedelta(hours=6)).replace(second=0, microsecond=0)
    calls = statements.call_on_duty(
        world["incident"], by=team["manager"], members=[team["content"], team["agent"]], until=until
    )
    assert len(calls) == 2
    shifts = RotaShift.objects.filter(member__in=[team["content"], team["agent"]])
    assert shifts.count() == 2 and all(s.ends_at == until for s in shifts)
    assert Notification.objects.filter(kind="crisis.on_duty").count() == 2
    # The timeline says it in each reader's language, the time day first on 24 hours.
    from django.utils import translation

    from portevoix.core.sentences import render

    entry = world["incident"].timeline.filter(kind="surge").latest("pk")
    local = timezone.localtime(until, ZoneInfo(team.workspace.time_zone))
    with translation.override("en"):
        assert render(entry.detail).startswith(f"Called on duty until {local:%d/%m/%Y %H:%M}: ")
    with translation.override("fr"):
        assert render(entry.detail).startswith("Appelé")
    from portevoix.care import rota

    on_duty = rota.shift_member_ids(team.workspace.pk, timezone.now() + dt.timedelta(minutes=1))
    assert {team["content"].pk, team["agent"].pk} <= on_duty
    # Someone on duty is no longer offered, and calling them again says why.
    offered = {m.pk for m in statements.callable_members(world["incident"])}
    assert team["content"].pk not in offered and team["agent"].pk not in offered
    assert team["manager"].pk in offered
    with pytest.raises(ActionRefused) as twice:
        statements.call_on_duty(
            world["incident"], by=team["manager"], members=[team["agent"]], until=until
        )
    assert twice.value.field == "members" and "already on duty" in str(twice.value)
    # Once the shift is over, they may be called again.
    RotaShift.objects.filter(member=team["agent"]).update(
        starts_at=timezone.now() - dt.timedelta(hours=2),
        ends_at=timezone.now() - dt.timedelta(hours=1),
    )
    assert team["agent"].pk in {m.pk for m in statements.callable_members(world["incident"])}
    # The page offers whoever is left; once everyone is on duty, it says so.
    client = _client(team["manager"])
    url = reverse("crisis_surge", kwargs={"ws": team.workspace.slug, "pk": world["incident"].pk})
    page = client.get(url).content.decode()
    assert f'value="{team["agent"].pk}"' in page and f'value="{team["content"].pk}"' not in page
    statements.call_on_duty(
        world["incident"],
        by=team["manager"],
        members=statements.callable_members(world["incident"]),
        until=until,
    )
    page = client.get(url).content.decode()
    assert 'id="nobody-to-call"' in page and 'name="members"' not in page
    with pytest.raises(PermissionDenied):
        statements.call_on_duty(
            world["incident"], by=team["content"], members=[team["agent"]], until=until
        )
    with pytest.raises(ActionRefused) as too_long:
        statements.call_on_duty(
            world["incident"],
            by=team["manager"],
            members=[team["creative"]],
            until=timezone.now() + dt.timedelta(days=4),
        )
    assert too_long.value.field == "until"
    actions.close_incident(world["incident"], by=team["manager"], summary="Fin.")
    for shift in RotaShift.objects.filter(pk__in=[c.shift_id for c in calls]):
        assert shift.ends_at <= timezone.now()


# --- lockdown and custody -------------------------------------------------------------------


def test_custody_is_kept_encrypted_and_edited_by_those_who_manage_channels(team, world) -> None:
    channel = world["shop"][1]
    lockdown.save_custody(
        channel,
        by=team["manager"],
        login_holder=team["content"],
        recovery="social@acme.test",
        second_factor_holder=team["admin"],
        second_factor_method="Authenticator on the shared phone",
        notes="Recovery codes in the safe",
    )
    row = ChannelCustody.objects.get(channel=channel)
    assert "social@acme.test" not in row.recovery_encrypted
    assert "safe" not in row.notes_encrypted
    shown = lockdown.custody_of(channel, team["admin"])
    assert shown["recovery"] == "social@acme.test" and shown["login_holder"] == "Content Marketer"
    hidden = lockdown.custody_of(channel, team["viewer"])
    assert hidden["recovery"] == "" and hidden["notes"] == ""
    entry = AuditEntry.objects.get(action="channel.custody")
    assert "social@acme.test" not in str(entry.after)
    for role in ("content", "agent", "viewer"):
        with pytest.raises(PermissionDenied):
            lockdown.save_custody(channel, by=team[role], recovery="x@y.z")
    with pytest.raises(ActionRefused) as bad:
        lockdown.save_custody(channel, by=team["manager"], recovery="call Bob")
    assert bad.value.field == "recovery"
    with pytest.raises(ActionRefused) as both:  # one holder: a member or an outsider
        lockdown.save_custody(
            channel, by=team["manager"], login_holder=team["content"],
            login_holder_other="Agence Pixel",
        )  # fmt: skip
    assert both.value.field == "login_holder_other"
    assert lockdown.custody_of(channel, team["admin"])["recovery"] == "social@acme.test"


def test_lockdown_deactivates_ends_sessions_rotates_and_disconnects(team, world) -> None:
    incident = world["incident"]
    account, channel = world["shop"]
    old = service.credentials_for(account)
    lockdown.rotate(incident, by=team["manager"], channel=channel)
    account.refresh_from_db()
    assert service.credentials_for(account) != old
    lockdown.disconnect(incident, by=team["manager"], channel=channel)
    channel.refresh_from_db()
    assert channel.state == "disconnected"
    lockdown.end_member_sessions(incident, by=team["admin"], member=team["creative"])
    lockdown.deactivate(incident, by=team["admin"], member=team["creative"])
    team["creative"].refresh_from_db()
    assert not team["creative"].is_active
    kinds = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "channel.reconnect",
        "channel.disconnect",
        "member.deactivate",
        "member.end_sessions",
    } <= kinds
    assert TimelineEntry.objects.filter(incident=incident, kind="lockdown").count() == 4
    # Each step is read in the reader's language, whatever the workspace's.
    from django.utils import translation

    from portevoix.core.sentences import render

    stored = list(
        TimelineEntry.objects.filter(incident=incident, kind="lockdown")
        .order_by("at", "pk")
        .values_list("detail", flat=True)
    )
    with translation.override("en"):
        english = [render(d) for d in stored]
    with translation.override("fr"):
        french = [render(d) for d in stored]
    assert english[0] == "acme-shop: credentials rotated"
    assert english[1] == "acme-shop disconnected"
    assert english[3].endswith("deactivated; their sessions ended")
    assert "identifiants renouvelés" in french[0] and french[1] == "acme-shop déconnecté"
    assert "Sessions de" in french[2] and "ses sessions sont terminées" in french[3]
    for role in ("content", "viewer"):
        with pytest.raises(PermissionDenied):
            lockdown.deactivate(incident, by=team[role], member=team["analyst"])
        with pytest.raises(PermissionDenied):
            lockdown.disconnect(incident, by=team[role], channel=world["care"][1])


def test_recovery_steps_for_every_network_with_their_links() -> None:
    for network in (
        "facebook",
        "instagram",
        "linkedin",
        "x",
        "youtube",
        "tiktok",
        "bluesky",
        "mastodon",
    ):
        found = lockdown.RECOVERY[network]
        assert len(found.steps) >= 3
        assert all(url.startswith("https://") for _label, url in found.links)


# --- pages ----------------------------------------------------------------------------------


def _client(member):
    from tests.conftest import signed_in

    return signed_in(member.user)


@pytest.mark.parametrize("role", ["admin", "manager", "content", "agent", "viewer", "analyst"])
def test_the_response_pages_for_every_role(team, world, surge, role) -> None:
    statement = draft(team, world)
    incident = world["incident"]
    client = _client(team[role])
    ws = team.workspace.slug
    for name in ("crisis_statement", "crisis_surge", "crisis_lockdown", "crisis_incident"):
        response = client.get(reverse(name, kwargs={"ws": ws, "pk": incident.pk}))
        assert response.status_code == 200, name
    page = client.get(reverse("crisis_statement", kwargs={"ws": ws, "pk": incident.pk}))
    assert statement.text[:20] in page.content.decode()
    custody = client.get(reverse("crisis_custody", kwargs={"ws": ws, "pk": world["shop"][1].pk}))
    if role in ("admin", "manager"):
        assert custody.status_code == 200
    else:  # refused; one who may not even see the channel learns nothing of it
        assert custody.status_code in (403, 404)


def test_the_link_to_legals_decision_is_shown_only_to_who_can_open_it(team, world) -> None:
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    ws = team.workspace.slug
    url = reverse("crisis_statement", kwargs={"ws": ws, "pk": world["incident"].pk})
    review = reverse("approval_review", kwargs={"ws": ws, "pk": statement.post_id})
    # Legal decides it, the manager sees the plan: both get the link, and it opens.
    for member in (world["legal"], team["manager"]):
        client = _client(member)
        assert review in client.get(url).content.decode()
        assert client.get(review).status_code == 200
    # A sales agent sees the statement but not the plan: no link to a page that would 404.
    agent = _client(team["agent"])
    assert agent.get(url).status_code == 200
    assert review not in agent.get(url).content.decode()
    assert agent.get(review).status_code == 404


def test_a_bad_statement_keeps_what_was_typed(team, world) -> None:
    client = _client(team["manager"])
    url = reverse(
        "crisis_statement", kwargs={"ws": team.workspace.slug, "pk": world["incident"].pk}
    )
    long = "Nous revenons vers vous. " * 140
    response = client.post(url, {"text": long, "channels": [world["shop"][1].pk], "op": "send"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "acme-shop" in body and "Nous revenons vers vous." in body
    ok = client.post(
        url, {"text": "Nous revenons vers vous.", "channels": [world["shop"][1].pk], "op": "send"}
    )
    assert ok.status_code == 302
    assert statements.standing(statements.current_statement(world["incident"])).code == "waiting"


def test_a_network_without_its_own_recovery_steps_gets_the_general_ones(team) -> None:
    """A channel entered by hand (Snapchat here): the lockdown still says how to take the
    account back, with a link to it; it said only "See the network's help pages"."""
    from django.utils import translation

    from portevoix.channels.models import Channel

    channel = Channel.objects.create(
        workspace=team.workspace, network="snapchat", name="Snap", account_id="s1",
        account_url="https://www.snapchat.com/add/lumiere",
    )  # fmt: skip
    with translation.override("en"):
        found = lockdown.recovery_for(channel)
    assert found is not None and len(found["steps"]) == 4
    assert "forgot password" in found["steps"][1]
    assert found["links"] == [("The account's page", "https://www.snapchat.com/add/lumiere")]


def test_the_holding_statement_comes_first_among_the_approvals_waiting(team, world) -> None:
    from django.utils import timezone

    from portevoix.publishing import actions as publishing

    routine = publishing.schedule_post(
        team.workspace, by=team["creative"], text="Nouvelle routine du soir",
        channels=[world["shop"][1]], at=timezone.now() + dt.timedelta(days=2),
    )  # fmt: skip
    assert ApprovalStep.objects.filter(post=routine, state=StepState.WAITING).exists()
    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])  # asked for later
    page = _client(team["manager"]).get(
        reverse("approvals", kwargs={"ws": team.workspace.slug}), {"tab": "all"}
    )
    steps = page.context["steps"]
    assert steps[0].post.source == "crisis" and steps[-1].post == routine
    assert "Déclaration d’attente de crise" in page.content.decode()


def test_answers_go_out_while_the_crisis_holds_the_posts(team, world, surge) -> None:
    """The crisis paused publishing, then the team answered with the approved statement: the
    answers stayed paused ("it goes out when publishing resumes") while the page said they
    were sent. The workspace's pause holds posts, not answers to customers; a pause of the
    answer's own channel (taken over, locked down) still holds them."""
    from portevoix.publishing.models import PublicationStates

    statement = draft(team, world)
    statements.send_to_legal(statement, by=team["manager"])
    statement.refresh_from_db()
    approvals.approve(legal_step(statement), by=world["legal"])
    actions.pause_publishing(world["incident"], by=team["manager"])
    result = statements.reply_with_statement(statement, surge[:1], by=team["content"])
    assert result.sent == 1
    run_publications()
    answer = Publication.objects.get(post=Reply.objects.get().post)
    assert answer.state != PublicationStates.paused.name
    calls = SandboxCall.objects.filter(operation="publish", idempotency_key=answer.idempotency_key)
    assert calls.count() == 1  # it reached the network, once
    # The channel's own pause holds the next one.
    pause.pause(surge[1].channel, by=team["manager"], reason="Compte repris")
    statements.reply_with_statement(statement, surge[1:2], by=team["content"])
    run_publications()
    held = Publication.objects.get(post=Reply.objects.get(conversation=surge[1]).post)
    assert held.state == PublicationStates.paused.name


def test_a_new_draft_does_not_take_the_approved_statements_place(team, world, surge) -> None:
    """A creative started a new statement from the approved one and saved "x": the surge page
    then said the reply "opens once legal has approved it" and the sent marks disappeared.
    The conversations are answered with the newest statement legal approved, and the marks
    stay."""
    approved = draft(team, world)
    statements.send_to_legal(approved, by=team["manager"])
    approved.refresh_from_db()
    approvals.approve(legal_step(approved), by=world["legal"])
    statements.reply_with_statement(approved, surge[:1], by=team["content"])
    newer = statements.save_statement(
        world["incident"], by=team["creative"], text="x", channel_ids=[world["shop"][1].pk]
    )
    assert statements.current_statement(world["incident"]) == newer
    assert statements.answering_statement(world["incident"]) == approved
    client = _client(team["manager"])
    ws, pk = team.workspace.slug, world["incident"].pk
    page = client.get(reverse("crisis_surge", kwargs={"ws": ws, "pk": pk})).content.decode()
    assert "approuvée par le juridique." not in page  # the reply is open
    assert page.count("déclaration envoyée") == 1
    client.post(
        reverse("crisis_surge_reply", kwargs={"ws": ws, "pk": pk}),
        {"conversations": [str(surge[1].pk)]},
    )
    answer = Reply.objects.get(conversation=surge[1])
    assert answer.post.text == approved.text


def test_a_channel_to_reconnect_is_not_ticked_and_says_so_before_anything_is_written(
    team, world
) -> None:
    """A channel that must be reconnected was ticked by default and said "this network takes
    it as it is", then the statement was refused once saved ("… must be reconnected first",
    its name twice)."""
    from portevoix.channels.models import Channel

    shop = world["shop"][1]
    Channel.objects.filter(pk=shop.pk).update(state="needs_reconnect")
    url = reverse(
        "crisis_statement", kwargs={"ws": team.workspace.slug, "pk": world["incident"].pk}
    )
    page = _client(team["manager"]).get(url).content.decode()
    box = re.search(rf'<input type="checkbox" name="channels" value="{shop.pk}"[^>]*>', page)
    assert box is not None and "checked" not in box.group(0)
    care = world["care"][1]
    other = re.search(rf'<input type="checkbox" name="channels" value="{care.pk}"[^>]*>', page)
    assert other is not None and "checked" in other.group(0)
    assert "doit d’abord être reconnecté" in page


def test_a_refused_lockdown_says_which_permission_it_needed(team, world) -> None:
    """The 403 page names the action asked for, not a bare "forbidden"."""
    url = reverse(
        "crisis_lockdown_act", kwargs={"ws": team.workspace.slug, "pk": world["incident"].pk}
    )
    client = _client(team["content"])
    channel = world["shop"][1]
    rotate = client.post(url, {"op": "rotate", "target": str(channel.pk)})
    assert rotate.status_code == 403
    assert "Connecter, reconnecter et déconnecter des canaux" in rotate.content.decode()
    deactivate = client.post(url, {"op": "deactivate", "target": str(team["creative"].pk)})
    assert deactivate.status_code == 403
    assert "Désactiver et réactiver des membres" in deactivate.content.decode()
    team["creative"].refresh_from_db()
    assert team["creative"].is_active
