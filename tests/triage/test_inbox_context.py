"""Issue 16 §2 through the inbox: the ingest gives triage what an item answers."""

from __future__ import annotations

import pytest

from portevoix.inbox.ingest import _parent_texts, ingest
from portevoix.inbox.models import InboundMessage
from tests.inbox.conftest import connect, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(team):
    return connect(team)


COMPLAINT = "Ma commande n'est jamais arrivée et personne ne répond à mes mails"


def _intent(key: str) -> str:
    return InboundMessage.objects.get(message_id=key).intent


def test_a_reply_to_a_stored_complaint_is_read_with_it(team, channel):
    ingest(channel, [make_item("c1", COMPLAINT)])
    ingest(channel, [make_item("c2", "pareil pour moi", author="sam", reply_to="c1", minutes=1)])
    ingest(channel, [make_item("c3", "pareil pour moi", author="max", minutes=2)])
    assert _intent("c1") == "complaint"
    assert _intent("c2") == "complaint"
    assert _intent("c3") != "complaint"  # the same words answering nothing


def test_a_reply_in_the_same_batch_is_read_with_its_parent(team, channel):
    ingest(
        channel,
        [
            make_item("b1", "My order never arrived and nobody answers my emails"),
            make_item("b2", "same here", author="sam", reply_to="b1", minutes=1),
        ],
    )
    assert _intent("b2") == "complaint"


def test_parent_texts_come_from_messages_and_the_batch(team, channel):
    ingest(channel, [make_item("p1", COMPLAINT)])
    fresh = [
        make_item("p2", "moi aussi", author="sam", reply_to="p1"),
        make_item("p3", "pareil", author="max", reply_to="p2"),
        make_item("p4", "ok", author="zoe", reply_to="unknown-id"),
        make_item("p5", "hello", author="ana"),
    ]
    parents = _parent_texts(channel, fresh)
    assert parents == {"p1": (COMPLAINT, "comment"), "p2": ("moi aussi", "comment")}
