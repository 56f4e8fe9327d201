"""docs/api.md's Python example, run as written against a live test server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portevoix.inbox.models import HandOff, Reply
from portevoix.publishing.models import Post
from tests.api.conftest import token_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _python_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.django_db(transaction=True)
def test_python_example_drives_publishing_and_webcare(
    live_server, monkeypatch, team, channel, conversation
):
    from portevoix.api.models import WebhookDelivery, WebhookSubscription
    from portevoix.crisis.models import Incident
    from portevoix.listening.models import Mention
    from tests.api.test_monitoring import make_mention

    mention = make_mention(team)
    Mention.objects.filter(pk=mention.pk).update(sentiment="negative")
    api = token_for(team["manager"])
    monkeypatch.setenv("PORTEVOIX_URL", live_server.url)
    monkeypatch.setenv("PORTEVOIX_TOKEN", api.secret)
    exec(compile(_python_example(), str(DOC), "exec"), {})
    post = Post.objects.get(text="Le coffret printemps arrive !")
    assert post.source == "api"
    assert [p.state for p in post.publications.all()] == ["scheduled"]
    assert Reply.objects.filter(conversation=conversation).count() == 1
    assert HandOff.objects.filter(conversation=conversation, department__code="sales").exists()
    mention.refresh_from_db()
    assert mention.conversation_id is not None
    incident = Incident.objects.get(title="Retards de livraison")
    assert incident.tasks.filter(department__code="communication", done_at__isnull=False).exists()
    subscription = WebhookSubscription.objects.get(url="https://hooks.example.com/porte-voix")
    assert WebhookDelivery.objects.filter(
        subscription=subscription, event="incident.opened"
    ).exists()
