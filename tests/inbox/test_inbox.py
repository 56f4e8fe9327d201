"""Inbound items are stored once, labelled by triage, and shown per role."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from portevoix.channels import actions
from portevoix.channels.models import Channel
from portevoix.core.permissions import MATRIX
from portevoix.inbox.actions import ingest
from portevoix.inbox.models import InboundMessage
from portevoix.networks.types import Author, InboundItem, InboundKind
from portevoix.sandbox import service
from portevoix.worker import runner
from tests.conftest import ALL_ROLES

pytestmark = pytest.mark.django_db

TEXTS = {
    "m1": "Bonjour, quel est le prix du coffret ? Il y a une promo ?",
    "m2": "Je vais porter plainte, votre crème m'a brûlé le visage, mon avocat vous contactera",
    "m3": "Ma commande n'est jamais arrivée, numéro 4521, ça fait 3 semaines !!",
    "m4": "Hello, I'm a journalist at Le Monde, could we interview your CEO?",
}


@pytest.fixture
def channel(team):
    account = service.create_account("acme-inbox", workspace=team.workspace)
    return actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
    )


def items() -> list[InboundItem]:
    now = timezone.now()
    return [
        InboundItem(
            network="sandbox",
            message_id=key,
            kind=InboundKind.COMMENT,
            author=Author(id=key, handle=f"client-{key}"),
            text=text,
            created_at=now - dt.timedelta(minutes=i),
        )
        for i, (key, text) in enumerate(TEXTS.items())
    ]


def test_ingest_labels_and_routes_once(team, channel):
    assert ingest(channel, items()) == 4
    assert ingest(channel, items()) == 0  # idempotent on the network's message id
    routed = dict(InboundMessage.objects.values_list("message_id", "routed_to"))
    assert routed == {"m1": "sales", "m2": "legal", "m3": "customer_service", "m4": "communication"}
    m1 = InboundMessage.objects.get(message_id="m1")
    assert m1.language == "fr" and m1.department.code == "sales" and m1.intent == "pricing"
    assert InboundMessage.objects.get(message_id="m4").language == "en"


def test_the_worker_sync_brings_the_sandbox_customers_in(team, channel):
    account = service.create_account("acme-busy", workspace=team.workspace, inbound_per_day=400)
    busy = actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Busy",
    )
    from portevoix.sandbox import world

    world.advance(account, timezone.now() + dt.timedelta(hours=6))
    Channel.objects.filter(pk=busy.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])
    busy.refresh_from_db()
    assert busy.last_sync_at is not None and busy.sync_cursor
    rows = InboundMessage.objects.filter(channel=busy)
    assert rows.exists()
    assert all(r.language and r.intent and r.routed_to and r.sentiment for r in rows)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_sees_what(team, client_for, channel, role):
    ingest(channel, items())
    member = team[role]  # the agent belongs to Sales
    visible = set(InboundMessage.objects.visible_to(member).values_list("message_id", flat=True))
    if "inbox.view_all" in MATRIX[role]:
        assert visible == set(TEXTS)
    elif "inbox.view_assigned" in MATRIX[role]:
        assert visible == {"m1"}
    else:
        assert visible == set()
    response = client_for(member).get(reverse("inbox", kwargs={"ws": "acme"}))
    can_open = bool({"inbox.view_all", "inbox.view_assigned"} & MATRIX[role])
    assert response.status_code == (200 if can_open else 403)
    if can_open:
        html = response.content.decode()
        for key, text in TEXTS.items():
            assert (escape(text[:30]) in html) == (key in visible), (role, key)


def test_each_queue_tab_keeps_the_filters_and_names_its_queue_once(team, client_for, channel):
    import re
    from urllib.parse import parse_qs, urlsplit

    url = reverse("inbox", kwargs={"ws": "acme"})
    html = client_for(team["manager"]).get(url, {"queue": "mine", "state": "open"}).content
    tabs = re.findall(r'<a href="([^"]+)" data-queue="([a-z_]+)"', html.decode())
    assert len(tabs) >= 3
    for href, key in tabs:
        query = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        assert query["queue"] == [key], href  # not "queue=mine&...&queue=unassigned"
        assert query["state"] == ["open"]


def test_outsider_sees_no_message(team, client_for, channel):
    ingest(channel, items())
    assert not InboundMessage.objects.visible_to(team.outsider).exists()
    other = team.outsider.workspace.slug
    html = client_for(team.outsider).get(reverse("inbox", kwargs={"ws": other})).content.decode()
    assert TEXTS["m1"][:30] not in html


def test_ingest_stores_a_lone_surrogate_as_a_replacement_character(team, channel):
    now = timezone.now()
    batch = [
        InboundItem(
            network="sandbox",
            message_id="s1",
            kind=InboundKind.COMMENT,
            author=Author(id="u1", handle="client-\udc00", display_name="Zoé \ud83d"),
            text="Merci pour le colis \ud83d",  # half an emoji, as a truncating server sends it
            created_at=now,
        ),
        InboundItem(
            network="sandbox",
            message_id="s2",
            kind=InboundKind.COMMENT,
            author=Author(id="u2", handle="client-2"),
            text="Quel est le prix du coffret ?",
            created_at=now,
        ),
    ]
    assert ingest(channel, batch) == 2
    stored = InboundMessage.objects.get(message_id="s1")
    assert stored.text == "Merci pour le colis \ufffd"
    assert stored.author_name == "Zoé \ufffd" and stored.author_handle == "client-\ufffd"
    assert stored.intent and stored.routed_to
    assert ingest(channel, batch) == 0  # still idempotent


def test_the_sync_survives_a_lone_surrogate(team, channel, monkeypatch):
    """The network's JSON carries "\\ud83d"; the sync stores the batch and goes on."""
    from portevoix.networks.sandbox import SandboxNetwork
    from portevoix.sandbox.models import SandboxAccount

    account = SandboxAccount.objects.get(handle=channel.handle)
    service.inject_interaction(account, "Avant, sans souci", author_handle="a1")
    service.inject_interaction(account, "Colis reçu HALF", author_handle="a2")
    real_item = SandboxNetwork._item

    def as_a_json_network_decodes_it(self, row):
        item = real_item(self, row)
        return replace(item, text=item.text.replace("HALF", "\ud83d"))

    monkeypatch.setattr(SandboxNetwork, "_item", as_a_json_network_decodes_it)
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])
    channel.refresh_from_db()
    assert channel.state == "active" and channel.sync_failing_since is None
    assert channel.last_sync_at is not None and channel.sync_cursor
    texts = set(InboundMessage.objects.filter(channel=channel).values_list("text", flat=True))
    assert {"Avant, sans souci", "Colis reçu \ufffd"} <= texts
    # And the next sync goes on from there.
    cursor = channel.sync_cursor
    service.inject_interaction(account, "Et après ?", author_handle="a3")
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=timezone.now())
    runner.run_once([Channel])
    channel.refresh_from_db()
    assert channel.sync_cursor != cursor
    assert InboundMessage.objects.filter(channel=channel, text="Et après ?").exists()


def test_a_failing_sync_is_said_in_the_readers_words(team, client_for, channel):
    """The channel's problem is a stored sentence: the inbox said it as raw JSON."""
    from portevoix.core.sentences import Sentence

    problem = Sentence("%(network)s refused the request.", {"network": "Instagram"}).dumps()
    Channel.objects.filter(pk=channel.pk).update(sync_failing_since=timezone.now(), problem=problem)
    page = client_for(team["agent"]).get(reverse("inbox", kwargs={"ws": team.workspace.slug}))
    html = page.content.decode()
    assert "Instagram refused the request." in html or "Instagram a refusé" in html
    assert "&quot;sentence&quot;" not in html and '"sentence"' not in html
