"""Meta's webhooks for Instagram mentions without a tag (recorded answers from Meta's
documentation, tests/networks/fixtures/instagram/*.json, each with its source): the
subscription check, the signature, each change stored as a row of background work once, and
the worker (run inline) reading it from Graph and storing the mention in the inbox once."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.permissions import Role
from portevoix.inbox.models import ConversationKind, InboundMessage, MetaChange
from portevoix.networks import meta
from portevoix.networks.types import Credentials
from portevoix.worker import runner

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[1] / "networks" / "fixtures" / "instagram"
IG = "17841405822304914"
SECRET = "meta-app-secret-for-webhooks"
VERIFY = "verify-token-3f9c"
GRAPH = "https://graph.facebook.com/v26.0"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data["_source"].startswith("https://developers.facebook.com/"), name
    return data


@pytest.fixture(autouse=True)
def meta_app(settings) -> Iterator[None]:
    settings.PORTEVOIX_META_WEBHOOK_TOKEN = VERIFY
    before = meta.app()
    meta.configure(app_id="1234", app_secret=SECRET)
    yield
    meta.configure(
        app_id=before.app_id,
        app_secret=before.app_secret,
        graph_url=before.graph_url,
        dialog_url=before.dialog_url,
    )


@pytest.fixture
def channel(team) -> Channel:
    row = Channel(
        workspace=team.workspace,
        network="instagram",
        name="Instagram Lumière",
        account_id=IG,
        handle="@lumiere.co",
    )
    row.set_credentials(Credentials({"ig_user_id": IG, "page_access_token": "EAA-ig-hook"}))
    row.save()
    return row


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(body: bytes, signature: str | None) -> Any:
    headers = {} if signature is None else {"HTTP_X_HUB_SIGNATURE_256": signature}
    return Client().post(
        reverse("meta_webhook"), data=body, content_type="application/json", **headers
    )


def graph_answers(router: respx.MockRouter) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        fields = request.url.params.get("fields", "")
        name = "mentioned_comment.json" if "mentioned_comment" in fields else "mentioned_media.json"
        return httpx.Response(200, json=load(name)["body"])

    return router.get(f"{GRAPH}/{IG}").mock(side_effect=answer)


def test_the_subscription_check_answers_the_challenge_only_with_the_token() -> None:
    url = reverse("meta_webhook")
    good = Client().get(
        url, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert good.status_code == 200 and good.content == b"1158201444"
    bad = Client().get(
        url, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "x"}
    )
    assert bad.status_code == 403 and b"x" not in bad.content


def test_the_webhooks_are_closed_without_a_token(settings) -> None:
    settings.PORTEVOIX_META_WEBHOOK_TOKEN = ""
    url = reverse("meta_webhook")
    check = Client().get(
        url, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "c"}
    )
    assert check.status_code == 403
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    assert deliver(body, signed(body)).status_code == 403


def work() -> int:
    """One inline worker cycle over the webhook's rows."""
    return runner.run_once([MetaChange])


def due_now() -> None:
    """Skip the back-off: the rows left for a retry are due now."""
    MetaChange.objects.filter(state="received").update(next_attempt_at=timezone.now())


def test_unsigned_or_wrongly_signed_deliveries_are_refused(channel: Channel) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    with respx.mock(assert_all_called=False) as router:
        route = graph_answers(router)
        assert deliver(body, None).status_code == 403
        assert deliver(body, signed(body, "another-secret")).status_code == 403
        assert deliver(body, "sha1=" + signed(body)[7:]).status_code == 403
        tampered = body.replace(b"17918195224117852", b"17918195224117853")
        assert deliver(tampered, signed(body)).status_code == 403
        work()
    assert not route.called
    assert not MetaChange.objects.exists()
    assert not InboundMessage.objects.exists()


def test_the_hook_stores_rows_and_answers_at_once_without_calling_graph(
    channel: Channel,
) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    with respx.mock(assert_all_called=False) as router:
        route = graph_answers(router)
        first = deliver(body, signed(body))
        again = deliver(body, signed(body))  # Meta delivers at least once
    assert first.status_code == 200 and first.content == b"queued 2"
    assert again.status_code == 200 and again.content == b"queued 0"
    assert not route.called
    rows = list(MetaChange.objects.order_by("comment_id"))
    assert [(r.state, r.media_id, r.comment_id) for r in rows] == [
        ("received", "17918195224117852", ""),
        ("received", "17918195224117851", "17894227972186120"),
    ]
    assert {r.account_id for r in rows} == {IG}
    assert not InboundMessage.objects.exists()


def test_the_worker_stores_a_comment_and_a_caption_mention_once(channel: Channel) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    with respx.mock(assert_all_called=False) as router:
        route = graph_answers(router)
        assert deliver(body, signed(body)).status_code == 200
        assert work() == 2
        assert deliver(body, signed(body)).status_code == 200  # redelivered after the work
        assert work() == 0
    assert route.call_count == 2
    assert set(MetaChange.objects.values_list("state", "stored")) == {("done", 1)}
    stored = {m.message_id: m for m in InboundMessage.objects.filter(channel=channel)}
    assert set(stored) == {"17894227972186120", "17918195224117852"}
    comment = stored["17894227972186120"]
    assert "votre crème a changé ma peau" in comment.text
    assert comment.conversation is not None
    assert comment.conversation.kind == ConversationKind.MENTION
    assert stored["17918195224117852"].text == "Ma routine du soir avec @lumiere.co"
    asked = sorted(c.request.url.params["fields"] for c in route.calls)
    assert asked[0].startswith("mentioned_comment.comment_id(17894227972186120)")


def test_graph_failing_leaves_the_row_for_a_retry_then_it_succeeds(
    channel: Channel, team, client_for
) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    with respx.mock(assert_all_called=False) as router:
        down = router.get(f"{GRAPH}/{IG}").mock(return_value=httpx.Response(503, json={}))
        assert deliver(body, signed(body)).status_code == 200
        work()
        assert down.call_count == 2
        rows = list(MetaChange.objects.all())
        assert [r.state for r in rows] == ["received", "received"]
        assert all(r.attempts == 1 and r.problem and r.last_error for r in rows)
        assert all(r.next_attempt_at and r.next_attempt_at > timezone.now() for r in rows)
        assert not InboundMessage.objects.exists()
        # The background-work page shows them, waiting for their retry.
        admin = team[Role.ADMIN.value]
        admin.user.is_staff = True
        admin.user.save()
        page = client_for(admin).get(reverse("ops_work"))
        [summary] = [s for s in page.context["summaries"] if s.label == "inbox.MetaChange"]
        assert dict(summary.by_state)["received"] == 2
        work()  # not due yet: nothing runs
        assert down.call_count == 2
        graph_answers(router)
        due_now()
        assert work() == 2
    assert set(MetaChange.objects.values_list("state", "problem", "attempts")) == {("done", "", 0)}
    assert InboundMessage.objects.filter(channel=channel).count() == 2


def test_a_rate_limit_waits_for_graphs_reset(channel: Channel) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    limited = {"error": {"message": "(#4) Application request limit reached", "code": 4}}
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/{IG}").mock(return_value=httpx.Response(400, json=limited))
        deliver(body, signed(body))
        work()
    rows = list(MetaChange.objects.all())
    assert [r.state for r in rows] == ["received", "received"]
    assert all(r.next_attempt_at > timezone.now() for r in rows)
    assert not InboundMessage.objects.exists()


def test_a_refused_token_fails_the_row_with_its_reason(channel: Channel) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    expired = {"error": {"message": "Error validating access token", "code": 190}}
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{GRAPH}/{IG}").mock(return_value=httpx.Response(400, json=expired))
        deliver(body, signed(body))
        work()
    rows = list(MetaChange.objects.all())
    assert [r.state for r in rows] == ["failed", "failed"]
    assert all("reconnect" in r.problem for r in rows)


def test_an_account_that_is_no_channel_stores_nothing(team) -> None:
    body = json.dumps(load("webhook_mentions.json")["body"]).encode()
    with respx.mock(assert_all_called=False) as router:
        route = graph_answers(router)
        assert deliver(body, signed(body)).status_code == 200
        work()
    assert not route.called and not InboundMessage.objects.exists()
    assert set(MetaChange.objects.values_list("state", "stored")) == {("done", 0)}
