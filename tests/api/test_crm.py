"""CRM and helpdesk hand-off: delivered once by the worker (a receiver that counts calls), the
signed inbound status updates, the pages (settings, preview, test button, delivery log, the
conversation's link) and who may use them."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portevoix.api import actions, crm
from portevoix.api.models import CrmInboundEvent, CrmRecord
from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.core.permissions import can
from portevoix.worker import runner
from tests.conftest import ALL_ROLES


class CountingCrm:
    """A CRM on loopback that honours ``Idempotency-Key``: one record per key, however often
    it is asked. ``lose_answers`` first calls create the record, then drop the connection
    before answering (the answer is lost on the way back)."""

    def __init__(self, *, lose_answers: int = 0, status: int = 201):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.calls: list[tuple[dict[str, str], dict]] = []
        self.records: dict[str, int] = {}
        self.lose_answers = lose_answers
        self.status = status
        crm_ = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                headers = {k.lower(): v for k, v in self.headers.items()}
                crm_.calls.append((headers, body))
                if crm_.status >= 400:
                    self._answer(crm_.status, {"error": "missing field email"})
                    return
                key = headers.get("idempotency-key", "")
                number = crm_.records.setdefault(key, len(crm_.records) + 1)
                if crm_.lose_answers > 0:
                    crm_.lose_answers -= 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._answer(
                    crm_.status,
                    {"id": f"L-{number}", "url": f"https://crm.example.com/leads/L-{number}"},
                )

            def _answer(self, status, data):
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/leads"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counting_crm():
    made = CountingCrm()
    yield made
    made.stop()


def _integration(team, url, **kwargs):
    return actions.create_integration(
        team.workspace, by=team["admin"], name="Notre CRM", url=url, **kwargs
    )


def _run_until_settled(record):
    for _ in range(5):
        CrmRecord.objects.filter(pk=record.pk, state="pending").update(
            next_attempt_at=timezone.now()
        )
        runner.run_once([CrmRecord])
        record.refresh_from_db()
        if record.state != "pending":
            return record
    return record


def test_a_hand_off_is_created_once_although_the_first_answer_was_lost(team, conversation):
    receiver = CountingCrm(lose_answers=1)
    try:
        integration, _secret = _integration(team, receiver.url, auth_header="Bearer crm-key-1")
        record = actions.hand_to_crm(
            conversation, by=team["content"], integration=integration, note="Devis 40 vélos"
        )
        runner.run_once([CrmRecord])
        record.refresh_from_db()
        assert record.state == "pending" and record.attempts == 1  # answer lost: try again
        record = _run_until_settled(record)
        assert record.state == "created"
        assert len(receiver.calls) == 2  # two calls...
        assert len(receiver.records) == 1  # ...one lead
        keys = {headers["idempotency-key"] for headers, _body in receiver.calls}
        assert keys == {record.reference}
        assert receiver.calls[0][1]["reference"] == record.reference
        assert receiver.calls[0][1]["note"] == "Devis 40 vélos"
        assert receiver.calls[0][0]["authorization"] == "Bearer crm-key-1"
        assert record.external_id == "L-1"
        assert record.external_url == "https://crm.example.com/leads/L-1"
        # Nothing sends it again: the worker finds no due row.
        CrmRecord.objects.update(next_attempt_at=timezone.now())
        runner.run_once([CrmRecord])
        assert len(receiver.calls) == 2
    finally:
        receiver.stop()


def test_a_refusal_fails_at_once_and_tells_who_handed_it_off(
    team, conversation, django_capture_on_commit_callbacks
):
    from portevoix.notifications.models import Notification

    receiver = CountingCrm(status=422)
    try:
        integration, _secret = _integration(team, receiver.url)
        record = actions.hand_to_crm(conversation, by=team["content"], integration=integration)
        with django_capture_on_commit_callbacks(execute=True):
            runner.run_once([CrmRecord])
        record.refresh_from_db()
        assert record.state == "failed" and "422" in record.problem
        assert len(receiver.calls) == 1
        assert Notification.objects.filter(recipient=team["content"], kind="crm.failed").exists()
        # Sent again by an admin: the same reference.
        receiver.status = 201
        actions.retry_record(record, by=team["admin"])
        runner.run_once([CrmRecord])
        record.refresh_from_db()
        assert record.state == "created"
        assert {h["idempotency-key"] for h, _b in receiver.calls} == {record.reference}
    finally:
        receiver.stop()


def test_by_email(team, conversation):
    integration, _secret = actions.create_integration(
        team.workspace,
        by=team["admin"],
        name="Helpdesk",
        kind="email",
        record_kind="case",
        email="support@helpdesk.example.com",
    )
    record = actions.hand_to_crm(conversation, by=team["manager"], integration=integration)
    runner.run_once([CrmRecord])
    record.refresh_from_db()
    assert record.state == "created"
    [message] = [m for m in mail.outbox if m.to == ["support@helpdesk.example.com"]]
    assert record.reference in message.subject
    assert message.extra_headers["X-Porte-Voix-Reference"] == record.reference
    assert "reference: " + record.reference in message.body
    # Sent again (the mail server took it but the answer was lost): the same Message-ID, so a
    # mailbox that keeps one message per Message-ID keeps one hand-off.
    again = crm._email(integration, record.reference, record.payload)
    assert again.status == 250
    first, second = (m.message()["Message-ID"] for m in mail.outbox[-2:])
    assert first == second and first.startswith(f"<{record.reference}@")


def test_mapping_nests_dotted_keys_and_refuses_unknown_fields(team, conversation):
    mapping = {"properties.email": "customer.handle", "properties.source": "=Porte-voix"}
    integration, _s = _integration(team, "https://crm.example.com/in", mapping=mapping)
    record = actions.hand_to_crm(conversation, by=team["manager"], integration=integration)
    assert record.payload["properties"]["source"] == "Porte-voix"
    assert record.payload["properties"]["email"] == conversation.customer.handle
    with pytest.raises(ActionRefused) as refused:
        _integration(team, "https://crm.example.com/in", mapping={"x": "customer.password"})
    assert refused.value.field == "mapping"


def test_hand_off_needs_inbox_route_and_a_visible_conversation(team, conversation):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    integration, _s = _integration(team, "https://crm.example.com/in")
    for role in ALL_ROLES:
        if not can(team[role], "inbox.route"):
            with pytest.raises(PermissionDenied):
                actions.hand_to_crm(conversation, by=team[role], integration=integration)
    with pytest.raises(Http404):
        actions.hand_to_crm(conversation, by=team.outsider, integration=integration)


def test_saving_a_private_endpoint_is_refused(team, settings):
    settings.PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = False
    for url in ("http://127.0.0.1:8000/x", "http://169.254.169.254/", "http://10.0.0.2/crm"):
        with pytest.raises(ActionRefused) as refused:
            _integration(team, url)
        assert refused.value.field == "url"


# --- inbound status updates -------------------------------------------------------------------


def _signed(secret, body: dict, *, message_id="msg_1", at=None):
    raw = json.dumps(body).encode()
    stamp = int(at or time.time())
    return raw, {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(stamp),
        "HTTP_WEBHOOK_SIGNATURE": crm.sign(secret, message_id, stamp, raw),
    }


@pytest.fixture
def delivered(team, conversation, counting_crm):
    integration, secret = _integration(team, counting_crm.url)
    record = actions.hand_to_crm(conversation, by=team["content"], integration=integration)
    runner.run_once([CrmRecord])
    record.refresh_from_db()
    assert record.state == "created"
    return integration, secret, record


def test_a_signed_status_update_reaches_the_conversation(team, client, client_for, delivered):
    integration, secret, record = delivered
    url = reverse("api_crm_inbound", kwargs={"pk": integration.pk})
    update = {
        "reference": record.reference,
        "status": "Qualifié",
        "deal": {"value": "1890.50", "currency": "EUR", "outcome": "won"},
    }
    raw, headers = _signed(secret, update)
    response = client.post(url, raw, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    record.refresh_from_db()
    assert record.external_status == "Qualifié"
    assert str(record.deal_value) == "1890.50" and record.outcome == "won"
    entry = AuditEntry.objects.get(action="integration.status_update")
    assert entry.actor is None and entry.workspace == team.workspace
    # The conversation's page shows the record, its link and what the CRM said.
    page = client_for(team["content"]).get(
        reverse(
            "inbox_conversation", kwargs={"ws": team.workspace.slug, "pk": record.conversation_id}
        )
    )
    text = page.content.decode()
    assert "https://crm.example.com/leads/L-1" in text and "Qualifié" in text
    assert "1890,50" in text  # in French, the page language
    # The same webhook-id again is a replay: refused, nothing changes.
    again = client.post(url, raw, content_type="application/json", **headers)
    assert again.status_code == 409
    assert CrmInboundEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ("wrong_secret", 401),
        ("old", 401),
        ("no_signature", 401),
        ("unknown_reference", 404),
        ("not_json", 400),
        ("bad_outcome", 400),
    ],
)
def test_bad_status_updates_are_refused(client, delivered, change, status):
    integration, secret, record = delivered
    url = reverse("api_crm_inbound", kwargs={"pk": integration.pk})
    body = {"reference": record.reference, "status": "Perdu"}
    at = None
    if change == "unknown_reference":
        body["reference"] = "pv-nope"
    if change == "bad_outcome":
        body["deal"] = {"outcome": "maybe"}
    if change == "old":
        at = time.time() - 600
    raw, headers = _signed(
        crm.new_inbound_secret() if change == "wrong_secret" else secret, body, at=at
    )
    if change == "not_json":
        raw = b"status=Perdu"
        headers["HTTP_WEBHOOK_SIGNATURE"] = crm.sign(
            secret, "msg_1", int(headers["HTTP_WEBHOOK_TIMESTAMP"]), raw
        )
    if change == "no_signature":
        del headers["HTTP_WEBHOOK_SIGNATURE"]
    response = client.post(url, raw, content_type="application/json", **headers)
    assert response.status_code == status, response.content
    assert response.json()["error"]["message"]
    record.refresh_from_db()
    assert record.external_status == ""


def test_a_paused_integration_takes_no_update(client, delivered):
    integration, secret, record = delivered
    type(integration).objects.filter(pk=integration.pk).update(is_active=False)
    raw, headers = _signed(secret, {"reference": record.reference, "status": "x"})
    url = reverse("api_crm_inbound", kwargs={"pk": integration.pk})
    assert client.post(url, raw, content_type="application/json", **headers).status_code == 404


# --- pages ------------------------------------------------------------------------------------


def test_pages_refuse_roles_and_outsiders(team, client_for, counting_crm):
    integration, _s = _integration(team, counting_crm.url)
    ws = team.workspace.slug
    pages = [
        reverse("api_integrations", kwargs={"ws": ws}),
        reverse("api_integration", kwargs={"ws": ws, "pk": integration.pk}),
    ]
    for role in ALL_ROLES:
        for url in pages:
            status = client_for(team[role]).get(url).status_code
            assert status == (200 if can(team[role], "integration.manage") else 403), (role, url)
    outsider = client_for(team.outsider)
    assert (
        outsider.get(
            pages[1].replace(f"/w/{ws}/", f"/w/{team.outsider.workspace.slug}/")
        ).status_code
        == 404
    )
    test_url = reverse("api_integration_test", kwargs={"ws": ws, "pk": integration.pk})
    assert client_for(team["content"]).post(test_url).status_code == 403
    assert counting_crm.calls == []


def test_create_preview_and_test_from_the_pages(team, client_for, counting_crm):
    admin = client_for(team["admin"])
    ws = team.workspace.slug
    url = reverse("api_integrations", kwargs={"ws": ws})
    bad = admin.post(
        url,
        {
            "name": "CRM",
            "preset": "generic",
            "record_kind": "lead",
            "kind": "http",
            "url": counting_crm.url,
            "mapping": '{"name": "customer.nom"',
        },
    )
    assert bad.status_code == 400
    assert "JSON (ligne 1)" in bad.content.decode()  # the page is in French
    assert "customer.nom" in bad.content.decode()  # what was typed is kept
    made = admin.post(
        url,
        {
            "name": "CRM",
            "preset": "generic",
            "record_kind": "lead",
            "kind": "http",
            "url": counting_crm.url,
            "mapping": "",
            "is_active": "on",
        },
    )
    assert made.status_code == 200
    assert "whsec_" in made.content.decode() and made["Cache-Control"] == "no-store"
    integration = type(made.context["made"]).objects.get(workspace=team.workspace)
    preview_url = reverse("api_integration_preview", kwargs={"ws": ws, "pk": integration.pk})
    preview = admin.post(preview_url, {"mapping": '{"contact.nom": "customer.name"}'})
    assert preview.status_code == 200 and "Claire Martin" in preview.content.decode()
    wrong = admin.post(preview_url, {"mapping": '{"contact.nom": "client"}'})
    assert wrong.status_code == 400 and "client" in wrong.content.decode()
    tested = admin.post(
        reverse("api_integration_test", kwargs={"ws": ws, "pk": integration.pk}),
        HTTP_HX_REQUEST="true",
    )
    assert 'data-test-status="201"' in tested.content.decode()
    assert "L-1" in tested.content.decode()
    assert counting_crm.calls[0][1]["test"] is True


def test_hand_off_from_the_conversation_page(team, client_for, conversation, counting_crm):
    integration, _s = _integration(team, counting_crm.url)
    content = client_for(team["content"])
    page_url = reverse(
        "inbox_conversation", kwargs={"ws": team.workspace.slug, "pk": conversation.pk}
    )
    crm_url = reverse(
        "api_conversation_crm", kwargs={"ws": team.workspace.slug, "pk": conversation.pk}
    )
    assert crm_url in content.get(page_url).content.decode()  # the form is there
    response = content.post(
        reverse("api_conversation_crm", kwargs={"ws": team.workspace.slug, "pk": conversation.pk}),
        {"integration": str(integration.pk), "note": "Client pro"},
    )
    assert response.status_code == 302
    record = CrmRecord.objects.get()
    assert record.note == "Client pro" and record.requested_by == team["content"]
    runner.run_once([CrmRecord])
    assert "https://crm.example.com/leads/L-1" in content.get(page_url).content.decode()
    viewer = client_for(team["viewer"])
    refused = viewer.post(
        reverse("api_conversation_crm", kwargs={"ws": team.workspace.slug, "pk": conversation.pk}),
        {"integration": str(integration.pk)},
    )
    assert refused.status_code == 403


def test_the_demo_integration(team, channel, client_for):
    from portevoix.api.demo import load_integrations_demo
    from portevoix.inbox.ingest import ingest
    from tests.inbox.conftest import make_item

    ingest(channel, [make_item("d1", "Un devis ?"), make_item("d2", "Revendeur", author="bob")])
    integration = load_integrations_demo(team.workspace)
    records = list(CrmRecord.objects.filter(integration=integration).order_by("pk"))
    assert [r.state for r in records] == ["created", "created"]
    assert records[0].outcome == "won" and records[0].external_status == "Devis signé"
    page = client_for(team["admin"]).get(
        reverse("api_integration", kwargs={"ws": team.workspace.slug, "pk": integration.pk})
    )
    assert page.status_code == 200 and "L-4810" in page.content.decode()


def test_leads_and_deals_reach_the_return_on_investment(
    team, client, delivered, django_capture_on_commit_callbacks
):
    from portevoix.roi.models import Lead

    integration, secret, record = delivered
    url = reverse("api_crm_inbound", kwargs={"pk": integration.pk})
    raw, headers = _signed(
        secret,
        {
            "reference": record.reference,
            "status": "Gagné",
            "deal": {"value": 1890.5, "currency": "EUR", "outcome": "won"},
        },
    )
    assert client.post(url, raw, content_type="application/json", **headers).status_code == 200
    lead = Lead.objects.get(workspace=team.workspace, source="crm")
    assert lead.external_id == record.reference
    assert lead.status == "won" and str(lead.value) == "1890.50"
    assert lead.conversation_id == record.conversation_id
    assert lead.channel_id == record.conversation.channel_id
    # Another update (same deal): still one lead.
    raw, headers = _signed(
        secret, {"reference": record.reference, "status": "Facturé"}, message_id="msg_2"
    )
    assert client.post(url, raw, content_type="application/json", **headers).status_code == 200
    assert Lead.objects.filter(workspace=team.workspace, source="crm").count() == 1
    # Money counts in the workspace's currency only: another one is refused, nothing kept.
    raw, headers = _signed(
        secret,
        {"reference": record.reference, "status": "x", "deal": {"value": 5, "currency": "USD"}},
        message_id="msg_3",
    )
    refused = client.post(url, raw, content_type="application/json", **headers)
    assert refused.status_code == 400 and "EUR" in refused.json()["error"]["message"]
    record.refresh_from_db()
    assert record.external_status == "Facturé" and record.deal_currency == "EUR"
    assert not CrmInboundEvent.objects.filter(message_id="msg_3").exists()


def test_a_lead_is_recorded_when_the_crm_creates_it(
    team, conversation, counting_crm, django_capture_on_commit_callbacks
):
    from portevoix.roi.models import Lead

    integration, _s = _integration(team, counting_crm.url)
    record = actions.hand_to_crm(conversation, by=team["content"], integration=integration)
    with django_capture_on_commit_callbacks(execute=True):
        runner.run_once([CrmRecord])
    lead = Lead.objects.get(source="crm", external_id=record.reference)
    assert lead.status == "new" and lead.conversation_id == conversation.pk
