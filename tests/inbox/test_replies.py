"""Answers go out through the publishing engine, exactly once, in public or in private, and a
department agent's public answer waits for the social team's approval."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import MATRIX
from portevoix.inbox import actions
from portevoix.inbox.models import Conversation, ConversationState, HandOffState, InboundMessage
from portevoix.publishing.actions import Upload
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from portevoix.sandbox.models import InteractionKind, SandboxCall, SandboxPost
from portevoix.worker import runner
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def world(team):
    """A quiet sandbox account (no simulated customers) connected as a channel."""
    account = service.create_account("acme-replies", workspace=team.workspace, simulate=False)
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
    )
    return account, channel


def sync(channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])


def deliver() -> None:
    Publication.objects.filter(state="scheduled").update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    runner.run_once([Publication])


def customer_writes(
    account, text: str, *, kind=InteractionKind.COMMENT, reply_to: str = "", who="lea"
):
    return service.inject_interaction(
        account,
        text,
        kind=kind,
        in_reply_to=reply_to,
        author_handle=who,
        author_name=who.title(),
        created_at=timezone.now() - dt.timedelta(minutes=5),
    )


def test_a_public_answer_goes_out_once_under_the_message_and_the_answer_back_joins(team, world):
    account, channel = world
    post = SandboxPost.objects.create(
        account=account, network_id="our-post-1", idempotency_key="k-ours", text="Nouveau sérum"
    )
    question = customer_writes(account, "Il existe en 50 ml ?", reply_to=post.network_id)
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=question.message_id).conversation
    answer = actions.reply(conversation, by=team["content"], text="Oui, en 30 et 50 ml !")
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    assert conversation.first_response_at is not None
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "scheduled" and not publication.private
    assert publication.in_reply_to == question.message_id
    assert answer.post.kind == "reply"
    deliver()
    deliver()  # a second pass sends nothing more
    publication.refresh_from_db()
    assert publication.state == "published"
    sent = SandboxPost.objects.filter(account=account, in_reply_to=question.message_id)
    assert sent.count() == 1 and sent.get().kind == "reply"
    # One call reached the network (a public answer is a publish under the message).
    writes = SandboxCall.objects.filter(account=account, operation__in=["publish", "reply"])
    assert writes.count() == 1
    # The customer answers our answer: the same conversation, back with the team.
    customer_writes(account, "Merci !", reply_to=publication.network_post_id)
    sync(channel)
    conversation.refresh_from_db()
    assert conversation.messages.count() == 2
    assert conversation.state == ConversationState.OPEN


def test_a_private_answer_goes_through_network_reply(team, world):
    account, channel = world
    message = customer_writes(account, "Ma commande 4521 ?", kind=InteractionKind.DM)
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    assert conversation.is_private
    answer = actions.reply(conversation, by=team["content"], text="On regarde tout de suite.")
    assert answer.private
    deliver()
    dm = SandboxPost.objects.get(account=account, in_reply_to=message.message_id)
    assert dm.kind == "dm" and dm.visibility == "direct"


def test_a_public_complaint_can_be_answered_in_private(team, world):
    account, channel = world
    message = customer_writes(account, "Commande 4521 jamais reçue", reply_to="our-post")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    actions.reply(conversation, by=team["content"], text="Écrivez-nous en privé", private=True)
    deliver()
    assert SandboxPost.objects.get(account=account, in_reply_to=message.message_id).kind == "dm"


def test_answers_follow_the_channels_rules(team, world):
    account, channel = world
    message = customer_writes(account, "Bonjour", kind=InteractionKind.DM)
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    with pytest.raises(ActionRefused, match="Write the answer"):
        actions.reply(conversation, by=team["content"], text="   ")
    limit = channel.network_class.limits.max_text_length
    with pytest.raises(ActionRefused) as refused:
        actions.reply(conversation, by=team["content"], text="x" * (limit + 1))
    assert refused.value.code == "invalid_reply"
    with pytest.raises(ActionRefused, match="text only"):
        actions.reply(
            conversation,
            by=team["content"],
            text="Voici",
            private=True,
            uploads=[Upload("a.png", PNG)],
        )
    Conversation.objects.filter(pk=conversation.pk).update(state="spam")
    with pytest.raises(ActionRefused, match="spam"):
        actions.reply(conversation, by=team["content"], text="Bonjour")
    assert not Publication.objects.exists()  # nothing half-made


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_answer(team, world, role):
    account, channel = world
    message = customer_writes(account, "Prix du coffret ?", reply_to="our-post")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    member = team[role]  # the agent is in Sales, where a price question goes
    assert conversation.department.code == "sales"
    if "inbox.reply" in MATRIX[role]:
        answer = actions.reply(conversation, by=member, text="29 €", private=True)
        assert answer.author == member
    else:
        with pytest.raises(PermissionDenied):
            actions.reply(conversation, by=member, text="29 €")
    with pytest.raises(Http404):
        actions.reply(conversation, by=team.outsider, text="29 €")


def test_an_agent_cannot_answer_another_departments_conversation(team, world):
    account, channel = world
    message = customer_writes(account, "Hello, I'm a journalist at Le Monde", who="press")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    assert conversation.department.code == "communication"
    with pytest.raises(Http404):
        actions.reply(conversation, by=team["agent"], text="Hi")


def test_a_department_agents_public_answer_waits_for_approval(team, world):
    account, channel = world
    message = customer_writes(account, "Quel est le prix du coffret ?", reply_to="our-post")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    agent = team["agent"]
    answer = actions.reply(conversation, by=agent, text="29 € jusqu'à dimanche")
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "pending_approval"
    conversation.refresh_from_db()
    assert conversation.first_response_at is None  # nothing went out yet
    deliver()
    assert not SandboxPost.objects.filter(in_reply_to=message.message_id).exists()
    # The agent cannot approve it; a content marketer neither (no post.approve).
    for member in (agent, team["content"]):
        with pytest.raises(PermissionDenied):
            actions.send_reply(answer, by=member)
    actions.send_reply(answer, by=team["manager"])
    publication.refresh_from_db()
    assert publication.state == "scheduled"
    conversation.refresh_from_db()
    assert conversation.first_response_at is not None
    deliver()
    assert SandboxPost.objects.filter(in_reply_to=message.message_id).count() == 1
    # Private answers never wait.
    private = actions.reply(conversation, by=agent, text="Je vous écris en privé", private=True)
    assert Publication.objects.get(post=private.post).state == "scheduled"


def test_a_manager_changes_who_needs_approval(team, world):
    account, channel = world
    message = customer_writes(account, "Quel est le prix du coffret ?", reply_to="our-post")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    agent, manager = team["agent"], team["manager"]
    sales = team.department("sales")
    actions.set_reply_approval(team.workspace, by=manager, required=False, department=sales)
    assert not actions.needs_approval(agent, private=False)
    actions.set_reply_approval(team.workspace, by=manager, required=True, member=agent)
    assert actions.needs_approval(agent, private=False)  # the member's rule wins
    actions.set_reply_approval(team.workspace, by=manager, required=True, member=team["content"])
    assert actions.needs_approval(team["content"], private=False)
    actions.set_reply_approval(team.workspace, by=manager, required=None, member=agent)
    answer = actions.reply(conversation, by=agent, text="29 €")
    assert Publication.objects.get(post=answer.post).state == "scheduled"
    # The worker's send-time check follows the same rule: the answer reaches the network.
    deliver()
    assert Publication.objects.get(post=answer.post).state == "published"
    assert SandboxPost.objects.filter(in_reply_to=message.message_id).count() == 1
    for role in ("content", "agent", "viewer"):
        with pytest.raises(PermissionDenied):
            actions.set_reply_approval(team.workspace, by=team[role], required=True, member=agent)


def test_an_approver_can_drop_an_answer_and_its_author_too(team, world):
    account, channel = world
    message = customer_writes(account, "Quel est le prix du coffret ?", reply_to="our-post")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    first = actions.reply(conversation, by=team["agent"], text="29 €")
    second = actions.reply(conversation, by=team["agent"], text="30 €")
    actions.discard_reply(first, by=team["manager"])
    actions.discard_reply(second, by=team["agent"])
    assert set(Publication.objects.values_list("state", flat=True)) == {"cancelled"}
    with pytest.raises(ActionRefused):
        actions.send_reply(first, by=team["manager"])


def test_an_answer_by_the_department_ends_its_hand_off_response_time(team, world):
    account, channel = world
    message = customer_writes(account, "Vous livrez en Belgique ?", reply_to="our-post")
    sync(channel)
    conversation = InboundMessage.objects.get(message_id=message.message_id).conversation
    handoff = actions.hand_off(
        conversation, by=team["content"], department=team.department("sales"), note="?"
    )
    actions.reply(conversation, by=team["agent"], text="Oui, sous 3 jours", private=True)
    handoff.refresh_from_db()
    assert handoff.state == HandOffState.ANSWERED
    assert handoff.answered_by == team["agent"] and handoff.answered_at is not None
