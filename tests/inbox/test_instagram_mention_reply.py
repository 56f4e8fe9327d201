"""Answering an Instagram @mention without a tag (a caption or a comment on someone else's
media that names the account, brought by Meta's webhook): from the inbox, once, through the
publishing engine, to ``POST /{ig-user-id}/mentions`` with ``media_id`` (and ``comment_id``
for a comment) on the loopback Graph fake. Where Instagram gives no way to answer (a mention,
in private), the page says so instead of offering that choice, and the action refuses it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import Role
from portevoix.inbox import actions, ingest
from portevoix.inbox.models import ConversationKind, InboundMessage
from portevoix.networks.instagram import InstagramNetwork
from portevoix.networks.types import Author, InboundItem, InboundKind
from portevoix.publishing.models import Publication
from portevoix.worker import runner
from tests.networks.fake_facebook import FakeGraph, FakeGraphServer

pytestmark = pytest.mark.django_db

IG = "17841400000000777"
PAGE = "500600900"


@pytest.fixture
def fake() -> Iterator[FakeGraphServer]:
    with FakeGraphServer(FakeGraph()) as server:
        server.graph.add_page(PAGE, "Lumière & Co", "lumiereco", "page-token-ig-mention")
        server.graph.add_ig_user(IG, "lumiere.co", PAGE)
        yield server


@pytest.fixture
def channel(team, fake: FakeGraphServer) -> Channel:
    return channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="instagram",
        credentials={
            "ig_user_id": IG,
            "page_id": PAGE,
            "page_access_token": "page-token-ig-mention",
            "graph_url": fake.url,
        },
        name="Instagram Lumière",
    )


def someone_elses_media(fake: FakeGraphServer, caption: str) -> str:
    media_id = fake.graph.new_id()
    fake.graph.objects[media_id] = {
        "type": "ig_media",
        "id": media_id,
        "user": "other:marie.durand",
        "username": "marie.durand",
        "caption": caption,
        "media_type": "IMAGE",
        "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink": f"https://www.instagram.com/p/{media_id}/",
    }
    return media_id


def mention(channel: Channel, message_id: str, text: str, media_id: str, comment: bool) -> None:
    """The item ``InstagramNetwork.fetch_mention`` makes of Meta's webhook change."""
    ingest.ingest(
        channel,
        [
            InboundItem(
                network="instagram",
                message_id=message_id,
                kind=InboundKind.MENTION,
                author=Author(id="marie.durand", handle="@marie.durand"),
                text=text,
                created_at=timezone.now(),
                in_reply_to=media_id if comment else None,
                thread_id=media_id,
                extra={"mention": "comment", "comment": "yes"} if comment else {},
            )
        ],
    )


def deliver() -> None:
    Publication.objects.filter(state="scheduled").update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    runner.run_once([Publication])


def test_a_comment_that_mentions_the_account_is_answered_once(
    team, fake: FakeGraphServer, channel: Channel
) -> None:
    media_id = someone_elses_media(fake, "Ma routine du soir")
    comment_id = fake.graph.add_comment(
        media_id, "@lumiere.co votre crème a changé ma peau", author=("1799", "marie.durand")
    )
    mention(channel, comment_id, "@lumiere.co votre crème a changé ma peau", media_id, True)
    message = InboundMessage.objects.get(message_id=comment_id)
    assert message.conversation is not None
    assert message.conversation.kind == ConversationKind.MENTION

    answer = actions.reply(message.conversation, by=team["content"], text="Merci Marie !")
    publication = Publication.objects.get(post=answer.post)
    assert publication.in_reply_to == f"mention:{media_id}:{comment_id}"
    deliver()
    deliver()  # nothing more goes out
    publication.refresh_from_db()
    assert publication.state == "published", publication.problem
    assert fake.graph.posts[f"{IG}/mentions"] == 1
    sent = fake.graph.objects[publication.network_post_id]
    assert sent["message"] == "Merci Marie !"
    assert sent["parent"] == comment_id  # under the comment that mentioned the account


def test_a_caption_that_mentions_the_account_is_answered_under_the_media(
    team, fake: FakeGraphServer, channel: Channel
) -> None:
    media_id = someone_elses_media(fake, "Ma routine du soir avec @lumiere.co")
    mention(channel, media_id, "Ma routine du soir avec @lumiere.co", media_id, False)
    message = InboundMessage.objects.get(message_id=media_id)
    answer = actions.reply(message.conversation, by=team["content"], text="Belle routine !")
    assert Publication.objects.get(post=answer.post).in_reply_to == f"mention:{media_id}"
    deliver()
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "published", publication.problem
    assert fake.graph.posts[f"{IG}/mentions"] == 1
    sent = fake.graph.objects[publication.network_post_id]
    assert sent["root"] == media_id and sent["parent"] is None


def test_a_mention_cannot_be_answered_in_private_and_the_page_says_so(
    team, fake: FakeGraphServer, channel: Channel, client_for
) -> None:
    media_id = someone_elses_media(fake, "Ma routine du soir avec @lumiere.co")
    mention(channel, media_id, "Ma routine du soir avec @lumiere.co", media_id, False)
    conversation = InboundMessage.objects.get(message_id=media_id).conversation
    assert conversation is not None
    with pytest.raises(ActionRefused) as refused:
        actions.reply(conversation, by=team["content"], text="En privé", private=True)
    assert refused.value.code == "no_reply"
    assert not Publication.objects.exists()

    url = reverse("inbox_conversation", kwargs={"ws": team.workspace.slug, "pk": conversation.pk})
    for language, said in (
        ("en", "Instagram lets a business answer a mention only in public"),
        ("fr", "Instagram ne permet de répondre à une mention qu’en public"),
    ):
        user = team["content"].user
        type(user).objects.filter(pk=user.pk).update(language=language)
        page = client_for(team["content"]).get(url)
        body = page.content.decode()
        assert page.status_code == 200
        assert said in body, language
        assert 'name="private" value="1"' not in body  # no private choice offered
        assert 'name="private" value="0"' in body  # the public answer is


def test_a_viewer_may_not_answer_a_mention(
    team, fake: FakeGraphServer, channel: Channel, client_for
) -> None:
    media_id = someone_elses_media(fake, "Avec @lumiere.co")
    mention(channel, media_id, "Avec @lumiere.co", media_id, False)
    conversation = InboundMessage.objects.get(message_id=media_id).conversation
    assert conversation is not None
    viewer = team[Role.VIEWER.value]
    with pytest.raises(PermissionDenied):
        actions.reply(conversation, by=viewer, text="Merci")
    url = reverse("inbox_reply", kwargs={"ws": team.workspace.slug, "pk": conversation.pk})
    response = client_for(viewer).post(url, {"text": "Merci", "private": "0"})
    assert response.status_code in (403, 404)
    assert not Publication.objects.exists()
    assert fake.graph.posts[f"{IG}/mentions"] == 0


def test_reply_target_of_each_kind() -> None:
    target = InstagramNetwork.reply_target
    assert target("c1", kind="mention", in_reply_to="m1", thread_id="m1") == "mention:m1:c1"
    assert target("m1", kind="mention", in_reply_to="", thread_id="m1") == "mention:m1"
    assert target("c2", kind="comment", in_reply_to="m1", thread_id="m1") == "c2"
