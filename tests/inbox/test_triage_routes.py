"""Each routing of issue 10 §4, through the real ingest: where a conversation starts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Conversation
from portevoix.networks.types import InboundKind
from portevoix.sandbox import world
from portevoix.sandbox.models import InteractionKind, SandboxAccount, SandboxInteraction
from tests.inbox.conftest import conversation_of, make_item

pytestmark = pytest.mark.django_db

ROUTES = [
    # (text, kind, department code or None for the social team, specific)
    ("Bonjour, c'est combien le coffret de Noël ? il y a une promo ?", "comment", "sales", False),
    ("Do you have any discount on the winter set?", "comment", "sales", False),
    (
        "Ma commande n°45821 n'est jamais arrivée, c'est honteux",
        "comment",
        "customer_service",
        True,
    ),
    ("you charged my card twice for order 778812, refund me", "dm", "customer_service", True),
    ("franchement votre nouvelle pub est nulle, on dirait une blague", "comment", None, False),
    ("your new advert is awful", "mention", None, False),
    ("Je vais porter plainte, mon avocat vous contactera", "dm", "legal", False),
    ("cease and desist: you are using my photo without permission", "dm", "legal", False),
    ("Bonjour, vous recrutez des conseillers en boutique ?", "comment", "hr", False),
    ("are you hiring in Leeds?", "comment", "hr", False),
    (
        "Bonjour, je suis journaliste au Parisien, une interview possible ?",
        "dm",
        "communication",
        False,
    ),
    (
        "Hello, I'm a journalist at Le Monde, could we interview your CEO?",
        "dm",
        "communication",
        False,
    ),
]


@pytest.mark.parametrize(("text", "kind", "department", "specific"), ROUTES)
def test_each_route(team, channel, text, kind, department, specific):
    ingest(
        channel,
        [make_item("r1", text, kind=InboundKind(kind), thread="t" if kind == "dm" else None)],
    )
    conversation = conversation_of("r1")
    assert (conversation.department.code if conversation.department else None) == department
    assert conversation.specific is specific
    if department is None:
        assert conversation.routed_to == "social_team"


def test_the_sandbox_worlds_complaints_carry_their_truth_and_triage_follows_it(team, channel):
    account = SandboxAccount.objects.get(handle="acme-care")
    SandboxAccount.objects.filter(pk=account.pk).update(inbound_per_day=3000)
    account.refresh_from_db()
    world.advance(account, timezone.now() + dt.timedelta(hours=8))
    complaints = SandboxInteraction.objects.filter(
        account=account, intent="complaint", is_crisis=False
    ).exclude(kind=InteractionKind.MENTION, addressed=False)
    assert complaints.filter(specific=True).exists() and complaints.filter(specific=False).exists()
    from portevoix.networks.types import Author, InboundItem

    items = [
        InboundItem(
            network="sandbox",
            message_id=c.message_id,
            kind=InboundKind(c.kind),
            author=Author(id=c.author_handle, handle=c.author_handle),
            text=c.text,
            created_at=c.created_at,
            thread_id=f"solo-{c.pk}" if c.kind == InteractionKind.DM else None,
        )
        for c in complaints
    ]
    ingest(channel, items)
    truth = dict(complaints.values_list("message_id", "specific"))
    right = total = 0
    for conversation in Conversation.objects.filter(intent="complaint"):
        message = conversation.messages.get()
        total += 1
        right += conversation.specific == truth[message.message_id]
        if conversation.specific:
            assert conversation.department.code == "customer_service"
        else:
            assert conversation.routed_to == "social_team"
    assert total >= 10 and right / total >= 0.8, (right, total)


def test_careful_triage_reads_every_message_with_the_language_model(team, channel):
    """A workspace that chose careful triage (webcare settings) gets triage's ``thorough``
    design: a plain message the cascade decides with the fast model is embedded too."""
    from portevoix.care import actions as care
    from portevoix.inbox.models import InboundMessage

    text = "Bonjour, quel est le prix du coffret ? Il y a une promo ?"
    ingest(channel, [make_item("c1", text)])
    assert InboundMessage.objects.get(message_id="c1").decided_by == "fast"
    care.update_settings(team.workspace, by=team["manager"], careful_triage=True)
    ingest(channel, [make_item("c2", text + " Merci")])
    careful = InboundMessage.objects.get(message_id="c2")
    assert careful.decided_by == "embedding"
    assert conversation_of("c2").department.code == "sales"
