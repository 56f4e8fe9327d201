"""Inbound items grouped into conversations, one customer per author, each stored once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.core.permissions import MATRIX
from portevoix.inbox import ingest as ingest_module
from portevoix.inbox.ingest import Ingested, ingest, on_ingested, remove_handler
from portevoix.inbox.models import (
    Conversation,
    ConversationKind,
    ConversationState,
    Customer,
    InboundMessage,
    Reply,
)
from portevoix.networks.types import Author, InboundItem, InboundKind
from portevoix.publishing.models import Post, PostKind, Publication
from portevoix.sandbox import service
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)


def connect(team, handle: str = "acme-care"):
    account = service.create_account(handle, workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )


@pytest.fixture
def channel(team):
    return connect(team)


def item(
    key: str,
    text: str,
    *,
    author: str = "lea",
    kind: InboundKind = InboundKind.COMMENT,
    minutes: int = 0,
    reply_to: str | None = None,
    thread: str | None = None,
) -> InboundItem:
    return InboundItem(
        network="sandbox",
        message_id=key,
        kind=kind,
        author=Author(id=f"id-{author}", handle=author, display_name=author.title()),
        text=text,
        created_at=T0 + dt.timedelta(minutes=minutes),
        in_reply_to=reply_to,
        thread_id=thread,
    )


def conversation_of(key: str) -> Conversation:
    return InboundMessage.objects.get(message_id=key).conversation


def test_comments_under_our_post_are_one_conversation_per_comment_thread(team, channel):
    ingest(
        channel,
        [
            item("c1", "Le coffret est-il dispo en rose ?", reply_to="our-post", thread="our-post"),
            item("c2", "Trop beau !", author="marc", minutes=1, reply_to="our-post"),
            # Léa answers her own comment: the same thread.
            item("c3", "Ou en bleu sinon", minutes=2, reply_to="c1", thread="our-post"),
        ],
    )
    first, second = conversation_of("c1"), conversation_of("c2")
    assert first != second
    assert conversation_of("c3") == first
    assert first.kind == ConversationKind.PUBLIC
    assert first.message_count == 2 and first.preview == "Ou en bleu sinon"
    assert first.customer.handle == "lea" and second.customer.handle == "marc"
    assert first.state == ConversationState.NEW
    assert first.last_inbound_at == T0 + dt.timedelta(minutes=2)


def test_private_messages_of_one_thread_join_across_batches(team, channel):
    ingest(channel, [item("d1", "Bonjour", kind=InboundKind.DM, thread="dm-lea")])
    ingest(
        channel,
        [item("d2", "Ma commande 4521 ?", kind=InboundKind.DM, thread="dm-lea", minutes=5)],
    )
    conversation = conversation_of("d1")
    assert conversation_of("d2") == conversation
    assert conversation.kind == ConversationKind.PRIVATE
    assert conversation.thread_key == "dm:dm-lea"
    conversation.refresh_from_db()
    assert conversation.message_count == 2


def test_a_mention_and_the_replies_under_it_are_one_conversation(team, channel):
    ingest(channel, [item("m1", "@acme vos délais sont longs", kind=InboundKind.MENTION)])
    ingest(
        channel,
        [
            item("m2", "@acme toujours rien", kind=InboundKind.MENTION, minutes=3, reply_to="m1"),
            # A reply to a reply we never received, but in the thread the mention started.
            item("m3", "+1", author="marc", minutes=4, reply_to="elsewhere", thread="m1"),
        ],
    )
    conversation = conversation_of("m1")
    assert conversation.kind == ConversationKind.MENTION
    assert conversation_of("m2") == conversation == conversation_of("m3")


def test_the_customers_answer_to_our_reply_joins_the_conversation(team, channel):
    ingest(channel, [item("q1", "Vous livrez en Belgique ?", reply_to="our-post")])
    conversation = conversation_of("q1")
    post = Post.objects.create(workspace=team.workspace, kind=PostKind.REPLY, text="Oui !")
    Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=T0,
        state="published",
        in_reply_to="q1",
        network_post_id="our-reply-1",
    )
    Reply.objects.create(conversation=conversation, post=post)
    Conversation.objects.filter(pk=conversation.pk).update(state=ConversationState.WAITING)
    ingest(channel, [item("q2", "Super merci", minutes=30, reply_to="our-reply-1")])
    conversation.refresh_from_db()
    assert conversation_of("q2") == conversation
    # The customer spoke again: the conversation is back with the team.
    assert conversation.state == ConversationState.OPEN


def test_a_new_message_reopens_a_resolved_conversation_but_not_spam(team, channel):
    ingest(channel, [item("r1", "Merci pour tout", kind=InboundKind.DM, thread="t-r")])
    resolved = conversation_of("r1")
    Conversation.objects.filter(pk=resolved.pk).update(
        state=ConversationState.RESOLVED, resolved_at=T0
    )
    ingest(channel, [item("s1", "Gagnez un iPhone ici", kind=InboundKind.DM, thread="t-s")])
    spam = conversation_of("s1")
    Conversation.objects.filter(pk=spam.pk).update(state=ConversationState.SPAM)
    ingest(
        channel,
        [
            item("r2", "En fait une question", kind=InboundKind.DM, thread="t-r", minutes=9),
            item("s2", "clique vite", kind=InboundKind.DM, thread="t-s", minutes=9),
        ],
    )
    resolved.refresh_from_db()
    spam.refresh_from_db()
    assert resolved.state == ConversationState.OPEN and resolved.resolved_at is None
    assert spam.state == ConversationState.SPAM


def test_one_customer_per_author_across_the_channels_of_a_network(team, channel):
    other = connect(team, "acme-care-2")
    ingest(channel, [item("a1", "Bonjour", kind=InboundKind.DM, thread="x")])
    ingest(other, [item("b1", "Re-bonjour", kind=InboundKind.DM, thread="y", minutes=60)])
    customer = Customer.objects.get(handle="lea")
    assert customer.message_count == 2
    assert customer.first_seen_at == T0
    assert customer.last_seen_at == T0 + dt.timedelta(minutes=60)
    assert {c.channel_id for c in customer.conversations.all()} == {channel.pk, other.pk}


def test_a_replayed_batch_stores_everything_once(team, channel):
    batch = [
        item("p1", "Prix du sérum ?", reply_to="our-post"),
        item("p2", "et en 50 ml ?", minutes=1, reply_to="p1"),
        item("p3", "Bonjour", kind=InboundKind.DM, thread="z", author="marc", minutes=2),
    ]
    assert ingest(channel, batch) == 3
    assert ingest(channel, batch) == 0
    assert ingest(channel, [*batch, item("p4", "Allo ?", minutes=3, reply_to="p2")]) == 1
    assert InboundMessage.objects.count() == 4
    assert Conversation.objects.count() == 2
    assert Customer.objects.count() == 2
    assert sum(Conversation.objects.values_list("message_count", flat=True)) == 4


def test_a_sync_interrupted_midway_stores_nothing_and_its_replay_everything(team, channel):
    batch = [item(f"i{n}", f"Message {n}", author=f"a{n % 3}", minutes=n) for n in range(9)]

    def crash(ingested: Ingested) -> None:
        raise RuntimeError("the worker died")

    on_ingested(crash)
    try:
        with pytest.raises(RuntimeError):
            ingest(channel, batch)
    finally:
        remove_handler(crash)
    assert not InboundMessage.objects.exists() and not Conversation.objects.exists()
    assert ingest(channel, batch[:4]) == 4
    assert ingest(channel, batch) == 5
    assert ingest(channel, batch) == 0
    assert InboundMessage.objects.count() == 9
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == sorted(
        i.message_id for i in batch
    )


def test_a_page_is_stored_in_chunks_and_a_crash_in_one_keeps_the_others_exactly_once(
    team, channel, monkeypatch
):
    """A page of 70 in chunks of 25: the 2nd chunk's transaction dies after the 1st committed.
    Every later reply joins the conversation its parent (in an earlier chunk) started, and
    three replays of the whole page then store each message once, none lost."""
    monkeypatch.setattr(ingest_module, "CHUNK", 25)
    page = []
    for n in range(70):
        parent = f"c{n - 30}" if n >= 30 and n % 3 == 0 else None  # a reply 30 items later
        page.append(item(f"c{n}", f"Message {n}", author=f"a{n % 7}", minutes=n, reply_to=parent))
    committed: list[int] = []
    calls = {"n": 0}

    def crash_in_second_chunk(ingested: Ingested) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the worker died")
        committed.append(len(ingested.messages))

    on_ingested(crash_in_second_chunk)
    try:
        with pytest.raises(RuntimeError):
            ingest(channel, page)
    finally:
        remove_handler(crash_in_second_chunk)
    assert committed == [25]
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == sorted(
        f"c{n}" for n in range(25)
    )
    assert ingest(channel, page) == 45
    for _ in range(3):
        assert ingest(channel, page) == 0
    assert InboundMessage.objects.count() == 70
    assert sum(Conversation.objects.values_list("message_count", flat=True)) == 70
    for n in range(30, 70, 3):
        message = InboundMessage.objects.get(message_id=f"c{n}")
        assert message.conversation_id == conversation_of(f"c{n - 30}").pk
    assert Customer.objects.count() == 7
    assert sum(Customer.objects.values_list("message_count", flat=True)) == 70


def test_handlers_hear_what_each_batch_started_and_touched(team, channel):
    heard: list[Ingested] = []
    on_ingested(heard.append)
    try:
        ingest(channel, [item("h1", "Bonjour", kind=InboundKind.DM, thread="h")])
        ingest(channel, [item("h1", "Bonjour", kind=InboundKind.DM, thread="h")])  # nothing new
        ingest(channel, [item("h2", "Vous êtes là ?", kind=InboundKind.DM, thread="h", minutes=1)])
    finally:
        remove_handler(heard.append)
    assert len(heard) == 2
    assert [c.thread_key for c in heard[0].new_conversations] == ["dm:h"]
    assert heard[0].touched_conversations == []
    assert heard[1].new_conversations == []
    assert [c.thread_key for c in heard[1].touched_conversations] == ["dm:h"]
    assert [m.message_id for m in heard[1].messages] == ["h2"]
    assert heard[1].messages[0].pk is not None


def test_triage_routes_the_conversation_and_says_why(team, channel):
    ingest(channel, [item("t1", "Bonjour, quel est le prix du coffret ? Il y a une promo ?")])
    conversation = conversation_of("t1")
    assert conversation.routed_to == "sales" and conversation.department.code == "sales"
    assert conversation.intent == "pricing" and conversation.language == "fr"
    assert conversation.routed_by == "triage"
    message = InboundMessage.objects.get(message_id="t1")
    assert message.decided_by in {"rules", "fast", "embedding", "correction"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_which_conversation(team, channel, role):
    ingest(
        channel,
        [
            item("v1", "Quel est le prix du coffret ?", reply_to="our-post"),  # sales
            item("v2", "Hello, I'm a journalist at Le Monde", author="press", minutes=1),
            item("v3", "Vous recrutez des vendeurs ?", author="job", minutes=2),
        ],
    )
    member = team[role]  # the department agent belongs to Sales
    hr = conversation_of("v3")
    if role == "agent":
        Conversation.objects.filter(pk=hr.pk).update(assignee=member)
    visible = {c.pk for c in Conversation.objects.visible_to(member)}
    everyone = set(Conversation.objects.values_list("pk", flat=True))
    if "inbox.view_all" in MATRIX[role]:
        assert visible == everyone
    elif "inbox.view_assigned" in MATRIX[role]:
        # Their department's, and the one assigned to them; not the press request.
        assert visible == {conversation_of("v1").pk, hr.pk}
        messages = set(
            InboundMessage.objects.visible_to(member).values_list("message_id", flat=True)
        )
        assert messages == {"v1", "v3"}
        assert set(Customer.objects.visible_to(member).values_list("handle", flat=True)) == {
            "lea",
            "job",
        }
    else:
        assert visible == set()


def test_an_outsider_sees_no_conversation(team, channel):
    ingest(channel, [item("o1", "Bonjour", kind=InboundKind.DM, thread="o")])
    assert not Conversation.objects.visible_to(team.outsider).exists()
    assert not Customer.objects.visible_to(team.outsider).exists()


def test_the_module_keeps_no_state_between_batches():
    # Handlers registered by the apps (routing, SLA...) are the only module state.
    assert all(callable(h) for h in ingest_module._handlers)
