"""Inbox fixtures: a sandbox channel and a few conversations, grouped by the real ingest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Conversation, InboundMessage
from portevoix.networks.types import Author, InboundItem, InboundKind
from portevoix.sandbox import service


def connect(team, handle: str = "acme-care"):
    account = service.create_account(handle, workspace=team.workspace)
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )


@pytest.fixture(autouse=True)
def _english():
    """Refusals are read in English here (the product's default language is French)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def channel(team):
    return connect(team)


def make_item(
    key: str,
    text: str,
    *,
    author: str = "lea",
    kind: InboundKind = InboundKind.COMMENT,
    minutes: int = 0,
    reply_to: str | None = None,
    thread: str | None = None,
    at: dt.datetime | None = None,
) -> InboundItem:
    base = at or timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    return InboundItem(
        network="sandbox",
        message_id=key,
        kind=kind,
        author=Author(id=f"id-{author}", handle=author, display_name=author.title()),
        text=text,
        created_at=base + dt.timedelta(minutes=minutes),
        in_reply_to=reply_to,
        thread_id=thread,
    )


def conversation_of(key: str) -> Conversation:
    conversation = InboundMessage.objects.get(message_id=key).conversation
    assert conversation is not None
    return conversation


#: Texts triage routes the way the tests expect.
PRICE_FR = "Bonjour, quel est le prix du coffret ? Il y a une promo ?"
PRESS_EN = "Hello, I'm a journalist at Le Monde, could we interview your CEO?"
ORDER_FR = "Ma commande n'est jamais arrivée, numéro 4521, ça fait 3 semaines !!"


@pytest.fixture
def conversations(team, channel):
    """A public price question (sales), a press request (communication), a private order
    complaint (customer service)."""
    ingest(
        channel,
        [
            make_item("p1", PRICE_FR, reply_to="our-post"),
            make_item("j1", PRESS_EN, author="journalist", minutes=1),
            make_item(
                "o1", ORDER_FR, author="marc", kind=InboundKind.DM, thread="dm-marc", minutes=2
            ),
        ],
    )
    return {
        "price": conversation_of("p1"),
        "press": conversation_of("j1"),
        "order": conversation_of("o1"),
    }
