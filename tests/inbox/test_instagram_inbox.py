"""Instagram in the inbox, end to end on the loopback Graph fake: a direct message and a tag
arrive as conversations through the channel's sync, and the team's private answer to the
direct message reaches Instagram exactly once (through the publishing engine)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.inbox import actions
from portevoix.inbox.models import ConversationKind, InboundMessage
from portevoix.publishing.models import Publication
from portevoix.worker import runner
from tests.networks.fake_facebook import FakeGraph, FakeGraphServer

pytestmark = pytest.mark.django_db

IG = "17841400000000888"
PAGE = "500600800"


@pytest.fixture
def fake() -> Iterator[FakeGraphServer]:
    with FakeGraphServer(FakeGraph()) as server:
        server.graph.add_page(PAGE, "Lumière & Co", "lumiereco", "page-token-ig-inbox")
        server.graph.add_ig_user(IG, "lumiere.co", PAGE)
        yield server


def sync(channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])


def deliver() -> None:
    Publication.objects.filter(state="scheduled").update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    runner.run_once([Publication])


def test_a_dm_and_a_tag_arrive_and_the_dm_is_answered_once(team, fake: FakeGraphServer) -> None:
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="instagram",
        credentials={
            "ig_user_id": IG,
            "page_id": PAGE,
            "page_access_token": "page-token-ig-inbox",
            "graph_url": fake.url,
        },
        name="Instagram Lumière",
    )
    dm_id = fake.graph.add_ig_message(IG, "99000333", "jules.petit", "Ma commande 4521 ?")
    tag_id = fake.graph.add_ig_tag(IG, "marie.durand", "Merci @lumiere.co pour la soirée")
    sync(channel)
    sync(channel)  # a second sync brings nothing twice
    dm = InboundMessage.objects.get(message_id=dm_id)
    tag = InboundMessage.objects.get(message_id=tag_id)
    assert InboundMessage.objects.filter(message_id__in=[dm_id, tag_id]).count() == 2
    assert dm.conversation is not None and dm.conversation.is_private
    assert tag.conversation is not None and tag.conversation.kind == ConversationKind.MENTION
    assert not tag.conversation.is_private

    answer = actions.reply(
        dm.conversation, by=team["content"], text="Nous regardons tout de suite."
    )
    assert answer.private
    deliver()
    deliver()  # a second pass sends nothing more
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "published", publication.problem
    assert fake.graph.posts[f"{PAGE}/messages"] == 1
    sent = fake.graph.objects[publication.network_post_id]
    assert sent["message"] == "Nous regardons tout de suite."
    assert sent["to"] == {"data": [{"id": "99000333"}]}

    # The tag is answered in public: a comment under that media, through /{ig-user}/mentions.
    thanks = actions.reply(tag.conversation, by=team["content"], text="Merci Marie !")
    assert not thanks.private
    deliver()
    publication = Publication.objects.get(post=thanks.post)
    assert publication.state == "published", publication.problem
    assert fake.graph.posts[f"{IG}/mentions"] == 1
    assert fake.graph.objects[publication.network_post_id]["message"] == "Merci Marie !"


def test_a_comment_is_answered_in_private_exactly_once(team, fake: FakeGraphServer) -> None:
    """Instagram's private reply: the team answers a public comment "in private"; the
    publishing engine sends one direct message to its author (recipient: comment_id)."""
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="instagram",
        credentials={
            "ig_user_id": IG,
            "page_id": PAGE,
            "page_access_token": "page-token-ig-inbox",
            "graph_url": fake.url,
        },
        name="Instagram Lumière",
    )
    media_id = fake.graph.new_id()
    fake.graph.objects[media_id] = {
        "type": "ig_media",
        "id": media_id,
        "user": IG,
        "caption": "La nouvelle crème",
        "media_type": "IMAGE",
        "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink": f"https://www.instagram.com/p/{media_id}/",
    }
    comment_id = fake.graph.add_comment(
        media_id, "Ma commande 4521 est arrivée cassée", author=("17841400000000999", "cliente")
    )
    sync(channel)
    message = InboundMessage.objects.get(message_id=comment_id)
    assert message.conversation is not None and not message.conversation.is_private
    answer = actions.reply(
        message.conversation,
        by=team["content"],
        text="Désolés ! Écrivez-nous ici avec votre numéro de commande.",
        private=True,
    )
    deliver()
    deliver()
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "published", publication.problem
    assert fake.graph.posts[f"{PAGE}/messages"] == 1
    sent = fake.graph.objects[publication.network_post_id]
    assert sent["to"] == {"comment_id": comment_id}
    assert fake.graph.objects[comment_id]["private_reply"] == publication.network_post_id
