"""Outgoing webhooks: signed as Standard Webhooks says (checked with its reference verifier),
delivered at least once with a stable id, retried for more than a day, replayed."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import standardwebhooks
import time_machine
from django.utils import timezone

from portevoix.api import actions, webhooks
from portevoix.api.models import WebhookDelivery
from portevoix.core.models import AuditEntry
from portevoix.inbox import actions as inbox_actions
from portevoix.inbox.ingest import ingest
from portevoix.worker import runner
from tests.conftest import ALL_ROLES
from tests.inbox.conftest import conversation_of, make_item


class Receiver:
    """A loopback HTTP receiver that can be down (nothing listens on its port) or up."""

    def __init__(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server: HTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/porte-voix"

    def up(self):
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.down()


def _deliver_until(moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        while runner.run_once([WebhookDelivery]):
            pass


def test_signature_is_standard_webhooks(team, receiver, channel):
    receiver.up()
    subscription, secret = actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["conversation.created"]
    )
    assert secret.startswith("whsec_") and secret not in subscription.secret_encrypted
    ingest(channel, [make_item("w1", "Bonjour, une question")])
    runner.run_once([WebhookDelivery])
    [(headers, body)] = receiver.received
    verified = standardwebhooks.Webhook(secret).verify(body, headers)
    assert verified["type"] == "conversation.created"
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")
    # A wrong secret does not verify.
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(webhooks.new_secret()).verify(body, headers)


def test_receiver_down_for_a_day_gets_every_missed_event(team, receiver, channel):
    actions.create_subscription(
        team.workspace,
        by=team["manager"],
        url=receiver.url,
        events=["conversation.created", "conversation.assigned"],
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ingest(
            channel,
            [make_item("a1", "Où est ma commande ?"), make_item("b1", "Un prix ?", author="bob")],
        )
        from tests.inbox.conftest import conversation_of

        inbox_actions.assign(conversation_of("a1"), by=team["manager"], assignee=team["content"])
    rows = list(WebhookDelivery.objects.all())
    assert len(rows) == 3
    # Down for a day: every attempt in that day fails, and none gives up.
    moment = start
    while moment < start + dt.timedelta(hours=24):
        _deliver_until(moment)
        moment += dt.timedelta(minutes=20)
    assert receiver.received == []
    assert all(r.state == "pending" and r.attempts >= 5 for r in WebhookDelivery.objects.all())
    receiver.up()
    _deliver_until(start + dt.timedelta(hours=36))
    assert sorted(json.loads(b)["type"] for _h, b in receiver.received) == [
        "conversation.assigned",
        "conversation.created",
        "conversation.created",
    ]
    ids = [h["webhook-id"] for h, _b in receiver.received]
    assert len(set(ids)) == 3
    assert {r.message_id for r in WebhookDelivery.objects.all()} == set(ids)
    assert all(r.state == "delivered" for r in WebhookDelivery.objects.all())


def test_gives_up_after_more_than_a_day_then_replays_with_the_same_id(team, receiver, channel):
    actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["conversation.created"]
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ingest(channel, [make_item("c1", "Allô ?")])
    delivery = WebhookDelivery.objects.get()
    moment = start
    while moment < start + dt.timedelta(hours=30):
        _deliver_until(moment)
        moment += dt.timedelta(minutes=30)
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert delivery.last_attempt_at - start > dt.timedelta(hours=24)
    receiver.up()
    for role in ALL_ROLES:
        if role in ("admin", "manager"):
            continue
        with pytest.raises(Exception):  # noqa: B017 (PermissionDenied)
            actions.replay_delivery(delivery, by=team[role])
    actions.replay_delivery(delivery, by=team["admin"])
    runner.run_once([WebhookDelivery])
    [(headers, _body)] = receiver.received
    assert headers["webhook-id"] == delivery.message_id
    assert AuditEntry.objects.filter(action="webhook.replay").exists()


def test_emitting_the_same_event_twice_queues_it_once(team, receiver):
    actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["post.published"]
    )
    assert webhooks.emit(team.workspace.pk, "post.published", "7:published:x", {"post_id": 7}) == 1
    assert webhooks.emit(team.workspace.pk, "post.published", "7:published:x", {"post_id": 7}) == 0


def test_a_batch_reads_the_subscriptions_once_and_queues_each_new_conversation(
    team, receiver, channel
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wanted, _ = actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["conversation.created"]
    )
    actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["conversation.assigned"]
    )
    paused, _ = actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["conversation.created"]
    )
    actions.set_subscription_active(paused, by=team["admin"], active=False)
    items = [make_item(f"m{n}", f"Question {n} ?", author=f"author{n}") for n in range(6)]
    with CaptureQueriesContext(connection) as queries:
        ingest(channel, items)
    reads = [q for q in queries.captured_queries if "api_webhooksubscription" in q["sql"]]
    assert len(reads) == 1  # one batch (a chunk), six conversations
    rows = WebhookDelivery.objects.all()
    assert {r.subscription_id for r in rows} == {wanted.pk}
    assert sorted(r.payload["data"]["conversation_id"] for r in rows) == sorted(
        conversation_of(f"m{n}").pk for n in range(6)
    )


def test_subscriptions_need_integration_manage(team):
    for role in ALL_ROLES:
        if role in ("admin", "manager"):
            continue
        with pytest.raises(Exception):  # noqa: B017
            actions.create_subscription(
                team.workspace, by=team[role], url="https://example.com/h", events=["post.failed"]
            )
    with pytest.raises(Exception):  # noqa: B017
        actions.create_subscription(
            team.workspace, by=team.outsider, url="https://example.com/h", events=["post.failed"]
        )


# --- crisis's events --------------------------------------------------------------------------


def test_incident_opened_and_alert_raised_reach_a_subscription_signed(team, receiver):
    from portevoix.crisis import actions as crisis_actions
    from portevoix.crisis import detect
    from portevoix.crisis.signals import Signal

    receiver.up()
    _subscription, secret = actions.create_subscription(
        team.workspace,
        by=team["admin"],
        url=receiver.url,
        events=["incident.opened", "alert.raised"],
    )
    now = timezone.now()
    found = detect.Finding(
        start=now - dt.timedelta(hours=1),
        end=now,
        observed=12,
        expected=1.5,
        p_value=1e-6,
        weeks=4,
        network="sandbox",
        terms=["retard"],
        weekday=2,
        hour=14,
        causes=[Signal(now, "sandbox", True, "Encore un retard !", "inbox:1")],
    )
    alert = crisis_actions.raise_alert(team.workspace, found, now=now)
    incident = crisis_actions.open_incident(
        team.workspace, by=team["manager"], title="Retards", alert=alert
    )
    runner.run_once([WebhookDelivery])
    runner.run_once([WebhookDelivery])
    events = {}
    for headers, body in receiver.received:
        verified = standardwebhooks.Webhook(secret).verify(body, headers)
        events[verified["type"]] = verified["data"]
    assert events["alert.raised"]["alert_id"] == alert.pk
    assert events["alert.raised"]["observed"] == 12
    assert events["incident.opened"] == {
        **events["incident.opened"],
        "incident_id": incident.pk,
        "alert_id": alert.pk,
        "title": "Retards",
    }


def test_an_incident_that_rolls_back_sends_nothing(team, receiver):
    from django.db import transaction

    from portevoix.crisis import actions as crisis_actions

    actions.create_subscription(
        team.workspace, by=team["admin"], url=receiver.url, events=["incident.opened"]
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        crisis_actions.open_incident(team.workspace, by=team["manager"], title="Retards")
        raise RuntimeError("the caller's transaction fails after the action")
    assert not WebhookDelivery.objects.exists()


# --- addresses that are refused (SSRF) ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://172.16.3.4:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        "http://crm.local/hook",
        "http://user:pass@hooks.example.com/hook",
    ],
)
def test_private_addresses_are_refused_when_saved(team, url, settings):
    from portevoix.core.actions import ActionRefused

    settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = True  # loopback only: these stay refused
    with pytest.raises(ActionRefused) as refused:
        actions.create_subscription(
            team.workspace, by=team["admin"], url=url, events=["post.failed"]
        )
    assert refused.value.field == "url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/h", "http://localhost/h", "http://[::1]/h"])
def test_loopback_is_refused_unless_the_setting_allows_it(team, url, settings):
    from portevoix.core.actions import ActionRefused

    settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = False
    with pytest.raises(ActionRefused, match="public"):
        actions.create_subscription(
            team.workspace, by=team["admin"], url=url, events=["post.failed"]
        )
    settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = True
    actions.create_subscription(team.workspace, by=team["admin"], url=url, events=["post.failed"])


def test_the_page_shows_the_refusal_in_place(team, client_for, settings):
    from django.urls import reverse

    settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = False
    url = reverse("api_webhooks", kwargs={"ws": team.workspace.slug})
    response = client_for(team["admin"]).post(
        url, {"url": "http://169.254.169.254/latest", "events": ["post.failed"]}
    )
    assert response.status_code == 400
    assert "adresses publiques" in response.content.decode()  # in French, the page language
    assert 'value="http://169.254.169.254/latest"' in response.content.decode()


def test_a_name_that_resolves_to_loopback_is_refused_when_sending(team, receiver, settings):
    """``localhost.example.test`` is a public-looking name: saved. At send time it resolves to
    127.0.0.1, and with loopback not allowed the worker does not connect."""
    from portevoix.api import outbound

    receiver.up()
    settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = False
    name_url = receiver.url.replace("127.0.0.1", "receiver.example.test")
    actions.create_subscription(
        team.workspace, by=team["admin"], url=name_url, events=["post.failed"]
    )
    webhooks.emit(team.workspace.pk, "post.failed", "1", {"post_id": 1})

    real_client = outbound.client

    def resolving_to_loopback(**kwargs):
        return real_client(**kwargs, resolver=lambda host, port: ["127.0.0.1"])

    import unittest.mock

    with unittest.mock.patch.object(outbound, "client", resolving_to_loopback):
        runner.run_once([WebhookDelivery])
        delivery = WebhookDelivery.objects.get()
        assert receiver.received == []
        assert delivery.state == "pending" and "Could not connect" in delivery.problem
        # The same name, allowed to reach loopback (a local receiver): delivered.
        settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = True
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        runner.run_once([WebhookDelivery])
    assert len(receiver.received) == 1


def test_every_resolved_address_must_be_public():
    from portevoix.api import outbound

    guard = outbound.OutboundGuard(
        allow_loopback=False, resolver=lambda host, port: ["93.184.215.14", "10.1.2.3"]
    )
    with pytest.raises(OSError, match="Could not connect"):
        guard.addresses("mixed.example.test", 443)
    public = outbound.OutboundGuard(allow_loopback=False, resolver=lambda h, p: ["93.184.215.14"])
    assert public.addresses("crm.example.test", 443) == ("93.184.215.14",)
