"""The demo's inbox: the morning of a day already handled by the team.

The sandbox world writes a day of customers in (comments, private messages, mentions, in
French and English); the channels sync it and triage routes it. This module then does what
the team would have done by mid-morning, through the same actions a person uses: labels,
canned replies and current offers are set up; thanks answered and resolved; spam marked;
questions answered in public; specific complaints answered in private or invited there;
a sales agent's public answer waits for approval; conversations handed to departments (one
answered by the department and back as a draft, others still waiting); notes with
@mentions, assignments, a high priority and a snooze. Most of the day's flow stays new, for
whoever opens the demo.

Idempotent: it runs once per workspace (it does nothing when canned replies exist).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member, Workspace
from portevoix.inbox import actions
from portevoix.inbox.models import (
    CannedReply,
    Conversation,
    ConversationKind,
    ConversationState,
    Priority,
)

CANNED = (
    (
        "Merci !",
        "fr",
        "Merci beaucoup {customer_name} 💛 Toute l’équipe {brand} est ravie de vous lire !",
    ),
    (
        "Thank you!",
        "en",
        "Thank you so much {customer_name} 💛 The whole {brand} team is delighted!",
    ),
    (
        "Livraison en Belgique",
        "fr",
        "Bonjour {customer_name}, oui : nous livrons en Belgique en 3 à 5 jours ouvrés, "
        "gratuitement dès 49 €. Belle journée ! {agent_name}",
    ),
    (
        "Passons en privé",
        "fr",
        "Bonjour {customer_name}, nous sommes désolés. Écrivez-nous en message privé avec votre "
        "numéro de commande : nous regardons tout de suite. {agent_name}",
    ),
)

LABELS = (("Livraison", "#b45309"), ("Prix", "#1d4ed8"), ("Produit", "#047857"))

#: Customer service's validated answers to a health question handed off to it.
HEALTH_ANSWERS = {
    ("fr", "pregnancy"): (
        "Bonjour, la formule convient pendant la grossesse, mais demandez l’avis de votre "
        "sage-femme ; notre pharmacienne peut vous rappeler : écrivez-nous votre numéro en privé."
    ),
    ("en", "pregnancy"): (
        "Hello, the formula is suitable during pregnancy, but do ask your midwife; our "
        "pharmacist can call you back: send us your number in private."
    ),
    ("fr", "rash"): (
        "Bonjour, nous sommes désolés : arrêtez le sérum et envoyez-nous votre numéro de "
        "commande en privé, nous vous le remboursons et notre pharmacienne vous rappelle."
    ),
    ("en", "rash"): (
        "Hello, we are sorry to hear that. Please stop using the serum and send us your order "
        "number in private: we will refund it and our pharmacist will call you back."
    ),
}


def _member(workspace: Workspace, email: str) -> Member:
    member: Member = Member.objects.select_related("user").get(
        workspace=workspace, user__email=email
    )
    return member


def _conversations(workspace: Workspace, **filters: Any) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(workspace=workspace, **filters)
        .select_related("customer", "channel", "department")
        .order_by("created_at", "pk")
    )


def _try(step: Callable[[], Any]) -> Any:
    """A step the sandbox's day may not allow (a conversation it did not write): skip it."""
    try:
        return step()
    except ActionRefused:
        return None


def load_inbox_demo(workspace: Workspace) -> None:
    if CannedReply.objects.filter(workspace=workspace).exists():
        return
    manager = _member(workspace, "sophie@lumiere.demo")
    social = _member(workspace, "lucas@lumiere.demo")
    sales = _member(workspace, "julien@lumiere.demo")
    service = _member(workspace, "nadia@lumiere.demo")
    departments = {d.code: d for d in Department.objects.filter(workspace=workspace)}
    now = timezone.now()
    zone = ZoneInfo(workspace.time_zone)

    # The set-up a manager makes once.
    labels = {
        name: actions.create_label(workspace, by=manager, name=name, color=color)
        for name, color in LABELS
    }
    canned = {
        title: actions.save_canned_reply(
            workspace, by=manager, title=title, text=text, language=language
        )
        for title, language, text in CANNED
    }
    actions.save_offer(
        workspace,
        by=manager,
        title="Coffrets de Noël −20 %",
        text="−20 % sur tous les coffrets cadeaux jusqu’à dimanche, avec le code NOEL20.",
        link="https://lumiere.example/offres/coffrets",
        language="fr",
        keywords="coffret, cadeau, noël, noel, prix, promo, combien",
        valid_from=now - dt.timedelta(days=2),
        valid_until=now + dt.timedelta(days=5),
    )
    actions.save_offer(
        workspace,
        by=manager,
        title="Black Friday −30 %",
        text="−30 % sur toute la boutique en ligne pendant le Black Friday.",
        link="https://lumiere.example/offres/black-friday",
        language="fr",
        keywords="black friday, promo, soldes, réduction, prix, combien, svp",
        valid_from=now - dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=3),
    )
    actions.save_offer(
        workspace,
        by=manager,
        title="Black Friday: 30% off",
        text="30% off the whole online shop for Black Friday.",
        link="https://lumiere.example/en/offers/black-friday",
        language="en",
        keywords="black friday, sale, discount, price, how much",
        valid_from=now - dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=3),
    )
    # Nadia answers customers for a living: her public answers need no approval.
    actions.set_reply_approval(workspace, by=manager, required=False, member=service)

    # Thanks: answered with the canned reply of the customer's language, then resolved.
    positive = _conversations(
        workspace,
        kind=ConversationKind.PUBLIC,
        department__isnull=True,
        sentiment="positive",
        language__in=("fr", "en"),
    )
    for conversation in positive[:4]:
        template = canned["Merci !" if conversation.language == "fr" else "Thank you!"]
        text = actions.fill_variables(template.text, conversation, social)
        _try(partial(actions.reply, conversation, by=social, text=text, resolve=True))

    # Spam: the team marks what triage flagged, all at once.
    spam = list(_conversations(workspace, intent="spam").exclude(state=ConversationState.SPAM))
    if spam:
        _try(lambda: actions.bulk(spam, by=social, operation="spam"))

    # A question everyone asks, answered in public from the canned reply.
    for conversation in _conversations(
        workspace, kind=ConversationKind.PUBLIC, preview__icontains="Belgique"
    )[:2]:
        text = actions.fill_variables(canned["Livraison en Belgique"].text, conversation, social)
        _try(partial(actions.reply, conversation, by=social, text=text))
        _try(partial(actions.set_labels, conversation, by=social, labels=[labels["Livraison"]]))

    # Prices go to sales. Julien answers one in public with the current offer: as a department
    # agent, his public answer waits for the social team's approval.
    price = list(
        _conversations(
            workspace, kind=ConversationKind.PUBLIC, department=departments.get("sales")
        ).filter(language="fr")[:3]
    )
    for conversation in price:
        _try(partial(actions.set_labels, conversation, by=social, labels=[labels["Prix"]]))
    if price:
        first = price[0]
        _try(
            lambda: actions.reply(
                first,
                by=sales,
                text=(
                    f"Bonjour @{first.customer.handle} ! En ce moment : −30 % sur toute la "
                    "boutique pour le Black Friday 👉 https://lumiere.example/offres/black-friday"
                ),
            )
        )
    if len(price) > 1:
        second = price[1]
        _try(lambda: actions.assign(second, by=social, assignee=sales))

    # Specific complaints: in private, customer service answers; in public, the social team
    # invites the customer to private messages.
    private_service = list(
        _conversations(
            workspace,
            kind=ConversationKind.PRIVATE,
            department=departments.get("customer_service"),
        )[:4]
    )
    if private_service:
        first = private_service[0]
        _try(lambda: actions.assign(first, by=manager, assignee=service))
        _try(
            lambda: actions.reply(
                first,
                by=service,
                text=(
                    "Bonjour, je suis Nadia du service client. Je regarde votre commande tout de "
                    "suite et je reviens vers vous avant midi."
                ),
            )
        )
    if len(private_service) > 1:
        urgent = private_service[1]
        _try(lambda: actions.set_priority(urgent, by=manager, priority=Priority.HIGH))
        _try(lambda: actions.assign(urgent, by=manager, assignee=service))
        _try(
            lambda: actions.add_note(
                urgent,
                by=service,
                text="Double débit confirmé par la compta, remboursement lancé. @lucas je "
                "réponds dès que le virement part.",
            )
        )
    public_service = list(
        _conversations(
            workspace,
            kind=ConversationKind.PUBLIC,
            department=departments.get("customer_service"),
        )[:2]
    )
    if public_service:
        first = public_service[0]
        text = actions.fill_variables(canned["Passons en privé"].text, first, social)
        _try(lambda: actions.reply(first, by=social, text=text))

    # Hand-offs: a question about a product's safety to customer service, answered by Nadia and
    # back to the social team as a draft; a stock question to sales, still waiting.
    # The answer is in the customer's language and about what they asked (a French question is
    # preferred: the demo team is French).
    health = (
        _conversations(workspace, preview__iregex=r"(enceinte|pregnant)", language="fr").first()
        or _conversations(workspace, preview__iregex=r"(rash|enceinte|pregnant)").first()
    )
    if health is not None and "customer_service" in departments:
        customer_language = health.customer.language if health.customer else ""
        language = "en" if (customer_language or health.language) == "en" else "fr"
        pregnancy = bool(re.search(r"(enceinte|pregnant)", health.preview, re.IGNORECASE))
        answer = HEALTH_ANSWERS[(language, "pregnancy" if pregnancy else "rash")]
        handoff = _try(
            lambda: actions.hand_off(
                health,
                by=social,
                department=departments["customer_service"],
                note="Question de santé : merci de nous donner la réponse validée.",
            )
        )
        if handoff is not None:
            _try(lambda: actions.answer_handoff(handoff, by=service, text=answer))
    # The sandbox demo writes a stock question into the day (``sandbox.demo.REGULARS``); a
    # sandbox account made before that may lack one: the first question routed to sales goes.
    stock = _conversations(workspace, preview__icontains="stock").first()
    if stock is None and "sales" in departments:
        stock = _conversations(workspace, department=departments["sales"]).first()
    if stock is not None and "sales" in departments:
        note = (
            "Quand revient le produit ? La cliente veut commander."
            if "stock" in stock.preview.lower()
            else "Une cliente veut commander : pouvez-vous lui répondre ?"
        )
        _try(lambda: actions.hand_off(stock, by=social, department=departments["sales"], note=note))
    press = _conversations(workspace, preview__icontains="presse").first()
    if press is not None and "communication" in departments:
        _try(
            lambda: actions.hand_off(
                press, by=social, department=departments["communication"], note=""
            )
        )
        _try(
            lambda: actions.add_note(
                press, by=social, text="@sophie une journaliste, je te laisse voir avec la com ?"
            )
        )

    # A product question the team will answer after checking with the lab tomorrow morning.
    product = _conversations(
        workspace, kind=ConversationKind.PUBLIC, preview__icontains="conserve"
    ).first()
    if product is not None:
        _try(lambda: actions.set_labels(product, by=social, labels=[labels["Produit"]]))
        tomorrow = (now.astimezone(zone) + dt.timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        _try(
            lambda: actions.set_state(
                product, by=social, state=ConversationState.SNOOZED, until=tomorrow
            )
        )

    # What Lucas keeps for himself this morning.
    mine = list(
        _conversations(workspace, state=ConversationState.NEW, department__isnull=True).filter(
            intent="question"
        )[:3]
    )
    if mine:
        _try(lambda: actions.bulk(mine, by=manager, operation="assign", value=social))
