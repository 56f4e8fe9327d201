"""The inbox in the browser (issue 10): routing, the private-message suggestion, an agent's
answer waiting for approval, and a hand-off answered by someone without an account."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portevoix.channels import actions as channel_actions
from portevoix.inbox.ingest import ingest
from portevoix.inbox.models import Conversation, InboundMessage, Reply
from portevoix.networks.types import InboundKind
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from tests.conftest import Team
from tests.e2e.conftest import Browse, login, visit
from tests.inbox.conftest import make_item

PRICE_FR = "Bonjour, c'est combien le coffret de Noël ? il y a une promo ?"
SPECIFIC_FR = "Ma commande n°45821 n'est jamais arrivée, c'est honteux"
GENERAL_FR = "franchement votre nouvelle pub est nulle, on dirait une blague"
LEGAL_FR = "Je vais porter plainte, mon avocat vous contactera"


@pytest.fixture
def inbox(live_team: Team) -> dict[str, Conversation]:
    account = service.create_account("acme-care", workspace=live_team.workspace, simulate=False)
    channel = channel_actions.connect_channel(
        live_team.workspace,
        by=live_team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Care",
    )
    ingest(
        channel,
        [
            make_item("price", PRICE_FR, author="lea", reply_to="our-post"),
            make_item("specific", SPECIFIC_FR, author="marc", reply_to="our-post", minutes=1),
            make_item("general", GENERAL_FR, author="zoe", reply_to="our-post", minutes=2),
            make_item("legal", LEGAL_FR, author="paul", kind=InboundKind.DM, thread="t", minutes=3),
        ],
    )
    out = {}
    for key in ("price", "specific", "general", "legal"):
        conversation = InboundMessage.objects.get(message_id=key).conversation
        assert conversation is not None
        out[key] = conversation
    return out


def test_routing_the_private_suggestion_and_an_agents_answer_approved(
    browse: Browse, live_team: Team, inbox: dict[str, Conversation]
) -> None:
    # The social team sees everything, each where triage sent it.
    page = browse.page("social")
    login(page, "content@acme.test")
    visit(page, "/w/acme/inbox/")
    items = page.locator("li.conv-item")
    expect(items).to_have_count(4)
    expect(page.locator(f"[data-conversation='{inbox['price'].pk}']")).to_have_attribute(
        "data-route", "sales"
    )
    expect(page.locator(f"[data-conversation='{inbox['specific'].pk}']")).to_have_attribute(
        "data-route", "customer_service"
    )
    expect(page.locator(f"[data-conversation='{inbox['general'].pk}']")).to_have_attribute(
        "data-route", "social_team"
    )
    # A specific complaint in public: take it to private messages, in the customer's language.
    visit(page, f"/w/acme/inbox/c/{inbox['specific'].pk}/")
    suggestion = page.locator("section.suggest-private")
    expect(suggestion).to_be_visible()
    expect(suggestion.locator("blockquote.invitation")).to_have_attribute("lang", "fr")
    expect(suggestion.locator("blockquote.invitation")).to_contain_text("message privé")
    suggestion.locator("button[data-insert-replace]").click()
    expect(page.locator("#id_text")).to_have_value(re.compile("message privé"))
    # A general one stays with the social team and gets no such suggestion.
    visit(page, f"/w/acme/inbox/c/{inbox['general'].pk}/")
    expect(page.locator("section.suggest-private")).to_have_count(0)

    # The sales agent sees only the price question and answers it in public.
    agent = browse.page("agent")
    login(agent, "agent@acme.test")
    visit(agent, "/w/acme/inbox/")
    expect(agent.locator("li.conv-item")).to_have_count(1)
    agent.locator(f"[data-conversation='{inbox['price'].pk}'] a").first.click()
    agent.wait_for_url(re.compile(rf"/inbox/c/{inbox['price'].pk}/"))
    agent.locator("#id_text").fill("Bonjour Léa ! −20 % sur les coffrets ce week-end 🎁")
    agent.locator("input[name=private][value='0']").check()
    with agent.expect_navigation():
        agent.locator("section.reply-box button.btn-primary[type=submit]").click()
    expect(agent.locator("li.entry-reply")).to_have_attribute(
        "data-reply-state", "pending_approval"
    )
    visit(agent, f"/w/acme/inbox/c/{inbox['specific'].pk}/", status=404)

    # The manager approves it: it goes to the engine, due now.
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    visit(manager, "/w/acme/inbox/?queue=approval")
    expect(manager.locator("li.conv-item")).to_have_count(1)
    visit(manager, f"/w/acme/inbox/c/{inbox['price'].pk}/")
    with manager.expect_navigation():
        manager.locator("li.entry-reply form:not([formaction]) button.btn-primary").click()
    answer = Reply.objects.get(conversation=inbox["price"])
    publication = Publication.objects.get(post=answer.post)
    assert publication.state == "scheduled"
    assert publication.in_reply_to == "price" and not publication.private


def test_a_hand_off_link_lets_someone_without_an_account_answer_until_withdrawn(
    browse: Browse, live_team: Team, inbox: dict[str, Conversation]
) -> None:
    conversation = inbox["legal"]
    page = browse.page("social")
    login(page, "content@acme.test")
    visit(page, f"/w/acme/inbox/c/{conversation.pk}/")
    # Already with legal (triage); the social team makes a link for the company's lawyer.
    page.locator("section.handoffs details summary").last.click()
    handoff_form = page.locator("form[action*='/hand-off/']")
    handoff_form.locator("select[name=department]").select_option(
        value=str(live_team.department("legal").pk)
    )
    handoff_form.locator("textarea[name=note]").fill("Un risque juridique ?")
    with page.expect_navigation():
        handoff_form.locator("button[type=submit]").click()
    page.locator("li.handoff details summary").first.click()
    make = page.locator("form[action*='/link/']")
    make.locator("input[name=recipient]").fill("Maître Dupont")
    with page.expect_navigation():
        make.locator("button[type=submit]").click()
    link = page.locator(".new-link input.link-value").input_value()
    assert "/h/pvt." in link

    # The lawyer, in a browser of their own, without an account.
    lawyer = browse.page("lawyer")
    visit(lawyer, link)
    expect(lawyer.locator("main")).to_contain_text(LEGAL_FR)
    expect(lawyer.locator("main")).to_contain_text("Un risque juridique ?")
    lawyer.locator("input[name=name]").fill("Maître Dupont")
    lawyer.locator("textarea[name=text]").fill("Aucun risque : proposez un geste commercial.")
    with lawyer.expect_navigation():
        lawyer.locator("button[name=answer]").click()
    expect(lawyer.locator("[data-done]")).to_be_visible()

    # Back to the social team as a draft to send.
    page.reload()
    draft = page.locator("li.entry-reply[data-reply-state=draft]")
    expect(draft).to_have_count(1)
    expect(draft.locator("textarea")).to_have_value(re.compile("geste commercial"))
    assert Reply.objects.get(conversation=conversation).handoff is not None

    # Another browser cannot use the link.
    other = browse.page("other")
    visit(other, link, status=403)

    # Withdrawn: the link stops at once.
    with page.expect_navigation():
        page.locator("li[data-link] form button[type=submit]").click()
    expect(page.locator("li[data-link]")).to_have_attribute("data-link-status", "revoked")
    visit(lawyer, link, status=410)
    expect(lawyer.locator("[data-refused]")).to_be_visible()


def test_an_agent_answers_and_the_sla_clock_stops(browse: Browse, live_team: Team) -> None:
    """The clock runs on the open conversation; the answer goes out through the worker to the
    network, and the clock then says the first response came in time."""
    from portevoix.care import actions as care_actions
    from portevoix.care.models import SlaClock
    from portevoix.sandbox.models import SandboxPost
    from portevoix.worker import runner

    care_actions.create_policy(
        live_team.workspace, by=live_team["admin"], name="Standard", first_response_minutes=60
    )
    account = service.create_account("acme-care", workspace=live_team.workspace, simulate=False)
    channel = channel_actions.connect_channel(
        live_team.workspace,
        by=live_team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Care",
    )
    service.inject_interaction(account, GENERAL_FR, author_handle="zoe")
    channel.refresh_from_db()
    outcome = channel.handle_active()  # the worker's sync
    type(channel).objects.filter(pk=channel.pk).update(**outcome.fields)
    conversation = Conversation.objects.get(customer__handle="zoe")
    assert conversation.routed_to == "social_team"
    assert SlaClock.objects.filter(conversation=conversation).exists()

    page = browse.page("social")
    login(page, "content@acme.test")
    visit(page, "/w/acme/inbox/")
    page.locator(f"[data-conversation='{conversation.pk}'] a").first.click()
    page.wait_for_url(re.compile(rf"/inbox/c/{conversation.pk}/"))
    clock = page.locator("main .sla-clock").first
    expect(clock).to_have_attribute("data-sla", "ok")
    expect(clock).to_have_attribute("data-target", "first_response")
    expect(clock).to_contain_text("Première réponse sous")

    answer = "Merci Zoé pour votre retour, on transmet à l’équipe créative !"
    page.locator("#id_text").fill(answer)
    page.locator("input[name=private][value='0']").check()
    with page.expect_navigation():
        page.locator("section.reply-box button.btn-primary[type=submit]").click()
    expect(page.locator("li.entry-reply")).to_have_attribute("data-reply-state", "scheduled")
    clock = page.locator("main .sla-clock").first
    expect(clock).to_have_attribute("data-sla", "met")
    expect(clock).to_contain_text("réponse à temps")

    # The worker sends it: the customer sees it under their comment, once.
    runner.run_once(models=[Publication])
    runner.run_once(models=[Publication])
    sent = SandboxPost.objects.filter(account=account, text=answer)
    assert sent.count() == 1
    page.reload()
    expect(page.locator("li.entry-reply")).to_have_attribute("data-reply-state", "published")
    expect(page.locator("main .sla-clock").first).to_have_attribute("data-sla", "met")
    row = SlaClock.objects.get(conversation=conversation)
    assert row.first_response_breached_at is None


def test_the_customer_card_puts_each_value_under_its_label_when_narrow(
    browse: Browse, live_team: Team, inbox: dict[str, Conversation]
) -> None:
    """In the conversation's side cards (about 18rem wide), « Vu pour la première fois » took
    the card's width and the handle broke into « @juli / e198 / 3 »."""
    page = browse.page("social")
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "content@acme.test")
    visit(page, f"/w/acme/inbox/c/{inbox['price'].pk}/")
    card = page.locator("section[aria-labelledby='customer-title']")
    handle = card.locator("dd").first
    label = card.locator("dt").first
    expect(handle).to_contain_text("@lea")
    box, label_box = handle.bounding_box(), label.bounding_box()
    assert box is not None and label_box is not None
    assert box["y"] >= label_box["y"] + label_box["height"] - 1  # under its label
    assert box["height"] < 2 * label_box["height"]  # on one line
