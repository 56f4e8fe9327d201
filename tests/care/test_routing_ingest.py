"""Routing at ingest: triage's labels, rules that override them, hiding spam, replays."""

from __future__ import annotations

import pytest

from portevoix.care import actions
from portevoix.care.models import Routing, SlaClock
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Conversation, ConversationState, InboundMessage, RoutedBy
from portevoix.networks.types import InboundKind
from portevoix.publishing.models import Post
from tests.care.conftest import WEDNESDAY, ingest_one, item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _wednesday(clock) -> None:
    clock(WEDNESDAY)


def test_a_french_price_question_goes_to_sales_by_triage(team, channel) -> None:
    conversation = ingest_one(
        channel, "Bonjour, combien coûte le coffret Velours ? Il y a une promo ?", at=WEDNESDAY
    )
    assert conversation.department is not None
    assert conversation.department.code == "sales"
    assert conversation.routed_by == RoutedBy.TRIAGE
    assert not Routing.objects.exists()  # no rule, nothing to explain beyond triage


def test_each_seed_route_by_triage(team, channel) -> None:
    """Seed 003's routes: prices to sales, a specific complaint to customer service, legal
    threats to legal, jobs to HR, press to communication, general questions to the team."""
    cases = {
        "Quel est le prix du sérum Éclat en 50 ml ?": "sales",
        "Ma commande n°48213 n'est jamais arrivée, je veux être remboursée": "customer_service",
        "Je vais porter plainte et saisir mon avocat, c'est de la publicité mensongère": "legal",
        "Bonjour, vous recrutez des conseillères de vente à Lyon ?": "hr",
        "Je suis journaliste au Parisien, pouvez-vous m'accorder une interview ?": "communication",
    }
    for minute, (text, code) in enumerate(cases.items()):
        conversation = ingest_one(channel, text, at=WEDNESDAY, author=f"p{minute}")
        assert conversation.department is not None, text
        assert conversation.department.code == code, text
    general = ingest_one(channel, "Vous êtes ouverts le dimanche ?", at=WEDNESDAY, author="q")
    assert general.department is None  # the social media team


def test_a_rule_overrides_triage_and_says_why(team, channel) -> None:
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Livraisons au service client",
        condition="text contains colis, livraison and sentiment is negative",
        actions={"department": "customer_service", "priority": "high", "labels": "livraison"},
    )
    conversation = ingest_one(
        channel,
        "Franchement nul, mon colis est en retard et personne ne répond",
        at=WEDNESDAY,
    )
    conversation.refresh_from_db()
    assert conversation.department.code == "customer_service"
    assert conversation.priority == 2
    assert conversation.routed_by == RoutedBy.RULE
    assert conversation.route_note == "Livraisons au service client"
    assert [label.name for label in conversation.labels.all()] == ["livraison"]
    routing = Routing.objects.get(conversation=conversation)
    assert routing.matched[0]["name"] == "Livraisons au service client"
    assert routing.department == "customer_service"


def test_rules_apply_in_their_visible_order(team, channel) -> None:
    first = actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Tout vers le social",
        condition="",
        actions={"department": "social_team", "priority": "low"},
    )
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Prix vers ventes",
        condition="intent in pricing, purchase",
        actions={"department": "sales", "priority": "normal"},
    )
    price = ingest_one(channel, "C'est combien le baume Cerise ?", at=WEDNESDAY)
    price.refresh_from_db()
    assert price.department.code == "sales" and price.priority == 1
    # Move the catch-all last: it now overrides the price rule.
    actions.move_rule(first, by=team["manager"], to=2)
    again = ingest_one(channel, "Et le prix du mascara ?", at=WEDNESDAY, author="marc")
    again.refresh_from_db()
    assert again.department is None and again.priority == 0
    assert again.route_note == "Tout vers le social"


def test_a_rule_stops_the_list_and_assigns(team, channel) -> None:
    actions.add_vip(team.workspace, by=team["manager"], handle="@grande.influence")
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="VIP",
        condition="author is vip",
        actions={"priority": "urgent", "assignee": team["content"].pk, "escalate": True},
        stop=True,
    )
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Jamais atteinte pour un VIP",
        condition="",
        actions={"priority": "low"},
    )
    vip = ingest_one(channel, "Coucou l'équipe !", at=WEDNESDAY, author="grande.influence")
    vip.refresh_from_db()
    assert vip.priority == 3
    assert vip.assignee_id == team["content"].pk
    assert Routing.objects.get(conversation=vip).escalated
    other = ingest_one(channel, "Coucou !", at=WEDNESDAY, author="quelquun")
    other.refresh_from_db()
    assert other.priority == 0 and other.assignee_id is None


def test_a_spam_rule_hides_the_conversation_and_nothing_else_happens(team, channel) -> None:
    actions.create_policy(
        team.workspace, by=team["admin"], name="Standard", first_response_minutes=60
    )
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Casino",
        condition='text contains casino, "gagnez des bitcoins"',
        actions={"hide": True},
    )
    spam = ingest_one(channel, "Gagnez des bitcoins au casino en ligne !!!", at=WEDNESDAY)
    spam.refresh_from_db()
    assert spam.state == ConversationState.SPAM
    assert not SlaClock.objects.filter(conversation=spam).exists()
    question = ingest_one(channel, "Le sérum convient aux peaux sensibles ?", at=WEDNESDAY)
    assert question.state == ConversationState.NEW
    assert SlaClock.objects.filter(conversation=question).exists()


def test_an_unhappy_customer_is_never_hidden(team) -> None:
    from portevoix.core.actions import ActionRefused

    with pytest.raises(ActionRefused) as refused:
        actions.create_rule(
            team.workspace,
            by=team["manager"],
            name="Cacher les râleurs",
            condition="sentiment is negative",
            actions={"hide": True},
        )
    assert refused.value.field == "hide"


def test_a_rule_reply_goes_out_once_in_the_customer_language(team, channel) -> None:
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Accusé de réception DM",
        condition="kind is dm",
        actions={
            "auto_reply": {
                "fr": "Merci, nous avons bien reçu votre message.",
                "en": "Thanks, we got your message.",
            }
        },
    )
    french = ingest_one(
        channel, "Bonjour, une question sur ma commande", at=WEDNESDAY, kind=InboundKind.DM
    )
    ingest_one(channel, "Vous êtes là ?", at=WEDNESDAY, kind=InboundKind.DM)  # same thread
    english = ingest_one(
        channel,
        "Hello, a question about my order please",
        at=WEDNESDAY,
        kind=InboundKind.DM,
        author="john",
    )
    texts = {
        reply.conversation_id: (reply.post.text, reply.private, reply.post.source)
        for reply in french.replies.all() | english.replies.all()
    }
    assert texts[french.pk] == ("Merci, nous avons bien reçu votre message.", True, "auto")
    assert texts[english.pk] == ("Thanks, we got your message.", True, "auto")
    assert Post.objects.filter(source="auto").count() == 2
    publication = french.replies.get().post.publications.get()
    assert publication.state == "scheduled" and publication.private
    assert publication.in_reply_to == french.messages.order_by("created_at").first().message_id
    # An automatic reply is not the team's response.
    french.refresh_from_db()
    assert french.first_response_at is None and french.last_reply_at is None


def test_a_batch_replayed_three_times_stores_and_routes_each_message_once(team, channel) -> None:
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Tout en priorité haute",
        condition="",
        actions={"priority": "high", "labels": "vu", "auto_reply": {"fr": "Merci !"}},
    )
    actions.create_policy(
        team.workspace, by=team["admin"], name="Standard", first_response_minutes=60
    )
    batch = [
        item("Question 1 ?", at=WEDNESDAY, author="a", key="r1"),
        item("Question 2 ?", at=WEDNESDAY, author="b", key="r2"),
        item("Suite de la 1", at=WEDNESDAY, author="a", key="r3", reply_to="r1"),
    ]
    assert ingest(channel, batch) == 3
    assert ingest(channel, batch) == 0
    assert ingest(channel, list(reversed(batch))) == 0
    assert InboundMessage.objects.count() == 3
    assert Conversation.objects.count() == 2
    assert Routing.objects.count() == 2
    assert SlaClock.objects.count() == 2
    assert Post.objects.filter(source="auto").count() == 2


def test_a_sync_interrupted_midway_stores_nothing_and_its_replay_everything(
    team, channel, monkeypatch
) -> None:
    from portevoix.care import flow

    actions.create_policy(
        team.workspace, by=team["admin"], name="Standard", first_response_minutes=60
    )
    batch = [
        item(f"Bonjour, le coffret {n} est-il vegan ?", at=WEDNESDAY, author=f"u{n}")
        for n in range(5)
    ]

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(flow.sla, "start_clocks", crash)
    with pytest.raises(RuntimeError):
        ingest(channel, batch)
    assert InboundMessage.objects.count() == 0 and Conversation.objects.count() == 0
    monkeypatch.undo()
    assert ingest(channel, batch) == 5
    assert ingest(channel, batch) == 0
    assert SlaClock.objects.count() == 5


def test_an_author_with_a_large_audience_is_escalated(team, channel) -> None:
    actions.create_rule(
        team.workspace,
        by=team["manager"],
        name="Influence",
        condition="followers >= 10000",
        actions={"priority": "high", "labels": "influence", "escalate": True},
    )
    big = ingest_one(channel, "Votre sérum est top", at=WEDNESDAY, author="star", followers=48_000)
    small = ingest_one(channel, "Votre sérum est top", at=WEDNESDAY, author="moi", followers=120)
    unknown = ingest_one(channel, "Votre sérum est top", at=WEDNESDAY, author="x")
    big.refresh_from_db()
    small.refresh_from_db()
    unknown.refresh_from_db()
    assert big.priority == 2 and [label.name for label in big.labels.all()] == ["influence"]
    assert Routing.objects.get(conversation=big).escalated
    assert small.priority == 1 and unknown.priority == 1  # unknown audience: no match


def test_the_sandbox_and_mastodon_give_follower_counts() -> None:
    from portevoix.networks.mastodon import _count
    from portevoix.networks.sandbox import sandbox_followers

    assert sandbox_followers("lea.martin") == sandbox_followers("lea.martin")
    counts = [sandbox_followers(f"user{n}") for n in range(3000)]
    assert 0.02 < sum(c >= 10_000 for c in counts) / len(counts) < 0.05
    assert (_count(1234), _count(-1), _count(None), _count(True)) == (1234, None, None, None)


def test_a_person_corrects_the_route_and_triage_learns(team, channel, client_for) -> None:
    from portevoix.triage.models import TriageCorrection
    from portevoix.triage.service import label_items

    text = "Vous êtes ouverts le dimanche ?"
    conversation = ingest_one(channel, text, at=WEDNESDAY)
    assert conversation.intent == "question" and conversation.department is None
    response = client_for(team["content"]).post(
        f"/w/{team.workspace.slug}/webcare/conversations/{conversation.pk}/correct/",
        {"intent": "press", "next": "/w/acme/inbox/"},
    )
    assert response.status_code == 302 and response["Location"] == "/w/acme/inbox/"
    conversation.refresh_from_db()
    assert conversation.intent == "press"
    assert conversation.department.code == "communication"
    assert conversation.routed_by == RoutedBy.PERSON
    corrections = TriageCorrection.objects.filter(workspace=team.workspace)
    assert {c.field for c in corrections} == {"intent", "department"}
    (label,) = label_items([text], workspace=team.workspace, count=False)
    assert label.intent.value == "press" and label.department.value == "communication"


@pytest.mark.parametrize("role", ["creative", "viewer", "analyst"])
def test_who_may_not_correct(team, channel, client_for, role) -> None:
    conversation = ingest_one(channel, "Vous êtes ouverts le dimanche ?", at=WEDNESDAY)
    response = client_for(team[role]).post(
        f"/w/{team.workspace.slug}/webcare/conversations/{conversation.pk}/correct/",
        {"intent": "purchase"},
    )
    assert response.status_code in (403, 404)
    conversation.refresh_from_db()
    assert conversation.intent != "purchase"
