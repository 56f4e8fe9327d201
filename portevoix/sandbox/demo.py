"""Sandbox accounts for the demo company: a month of posts and a day of customers.

``load_sandbox_demo(workspace)`` creates (once) a photo account (Instagram-like) and a
professional account (LinkedIn-like) with a French audience, a month of posts the network
already received, their engagement simulated hour by hour, and the last day of inbound
messages (comments, private messages, mentions, competitors). Run it again: nothing is
duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from . import service, world
from .models import (
    Flavour,
    Intent,
    InteractionKind,
    PostKind,
    SandboxAccount,
    SandboxInteraction,
    SandboxPost,
)

PRODUCTS = [
    "sérum Éclat",
    "crème Velours",
    "huile Sublime",
    "baume Cerise",
    "mascara Volume+",
    "masque Nuit Douce",
]
COMPETITORS = ["Rosée Paris", "Belle Peau", "Maison Azur"]

PHOTO_POSTS = [
    "Le sérum Éclat, notre best-seller, enfin en format voyage ✨ Vous l'emportez où ?",
    "Routine du soir en 3 gestes avec la crème Velours 🌙 #skincare #routine",
    "Nouvelle teinte du baume Cerise : plutôt brillant ou mat ? Dites-le-nous 👇",
    "Dans les coulisses de notre atelier de Grasse 🌿 #madeinfrance",
    "Concours ! Gagnez un coffret Lumière : abonnez-vous et identifiez une amie 🎁",
    "L'huile Sublime, trois ingrédients, zéro compromis. #clean #beauté",
    "Merci pour vos 18 000 ❤️ ! On vous prépare une surprise.",
    "Masque Nuit Douce : on l'applique, on dort, on se réveille lumineuse 😴✨",
    "Le mascara Volume+ testé par notre équipe : verdict en vidéo 🎬",
    "Recharges disponibles en boutique : moins de plastique, même plaisir ♻️",
    "Peau sensible ? Voici comment choisir votre crème (swipe) 👉",
    "Journée mondiale de l'abeille 🐝 nos baumes sont à la cire d'abeille locale",
]
PRO_POSTS = [
    "Lumière Cosmétiques recrute : 3 postes ouverts en R&D à Grasse. Rejoignez une équipe "
    "qui formule des soins exigeants et responsables. #recrutement #cosmétique",
    "Notre usine de Grasse passe à 100 % d'électricité renouvelable. Retour sur 18 mois "
    "de travaux et ce que nous avons appris. #RSE",
    "Chiffre clé : 92 % de nos emballages sont désormais recyclables. Prochaine étape : "
    "les recharges dans toutes nos boutiques.",
    "Rencontre avec Amélie, formulatrice depuis 12 ans chez nous : comment naît un soin ?",
    "Lumière Cosmétiques au salon Cosmetic 360 la semaine prochaine : venez nous voir stand B12 !",
    "Nos résultats annuels : +14 % de chiffre d'affaires, 35 nouveaux emplois en France.",
]


@dataclass(frozen=True)
class _Regular:
    """A customer the demo's story needs every day (the world's draw may not write one)."""

    #: Found in the day's messages already when this matches one (case-insensitive).
    pattern: str
    text: str
    kind: str
    intent: str
    hours_ago: float
    author_handle: str
    author_name: str


#: The morning the inbox demo tells (a health question handed to customer service and
#: answered, a stock question waiting for sales, a journalist for communication, a question
#: snoozed until the lab answers, the question everyone asks): written into the photo
#: account's day when its random draw left one out, so the demo is the same story at any hour.
REGULARS = [
    _Regular(
        r"enceinte|pregnant",
        "Petite question : on peut l'utiliser pendant la grossesse ? Je suis enceinte de 5 mois.",
        InteractionKind.COMMENT,
        Intent.QUESTION,
        7.0,
        "manon.lfv",
        "Manon Lefèvre",
    ),
    _Regular(
        r"stock",
        "Il sera de nouveau en stock quand, le baume Cerise ? je veux le commander",
        InteractionKind.DM,
        Intent.PURCHASE,
        5.5,
        "julie_bertrand",
        "Julie Bertrand",
    ),
    _Regular(
        r"presse",
        "Bonjour, pouvez-vous me transmettre le contact de votre service presse ?",
        InteractionKind.DM,
        Intent.PRESS,
        4.0,
        "claire.vasseur.presse",
        "Claire Vasseur",
    ),
    _Regular(
        r"conserve",
        "Ça se conserve combien de temps une fois ouvert, le masque Nuit Douce ?",
        InteractionKind.COMMENT,
        Intent.QUESTION,
        3.0,
        "ines_mro",
        "Inès Moreau",
    ),
    _Regular(
        r"Belgique",
        "Vous livrez en Belgique ?",
        InteractionKind.COMMENT,
        Intent.PURCHASE,
        2.0,
        "sarah.peeters",
        "Sarah Peeters",
    ),
]


def _regulars(account: SandboxAccount, now: datetime) -> None:
    """Write the regulars the day's draw left out, at a fixed hour before ``now``."""
    day = SandboxInteraction.objects.filter(
        account=account, addressed=True, created_at__gt=now - timedelta(days=1)
    )
    latest = (
        SandboxPost.objects.filter(account=account, in_reply_to="", received_at__lte=now)
        .order_by("-received_at")
        .first()
    )
    for regular in REGULARS:
        if day.filter(text__iregex=regular.pattern).exists():
            continue
        # A comment sits under the latest post; with no post yet, the customer writes in private.
        kind, under = regular.kind, ""
        if kind == InteractionKind.COMMENT:
            if latest is None:
                kind = InteractionKind.DM
            else:
                under = latest.network_id
        service.inject_interaction(
            account,
            regular.text,
            kind=kind,
            in_reply_to=under,
            author_handle=regular.author_handle,
            author_name=regular.author_name,
            language="fr",
            intent=regular.intent,
            created_at=now - timedelta(hours=regular.hours_ago),
        )


@dataclass(frozen=True)
class _Plan:
    flavour: str
    suffix: str
    followers: int
    inbound_per_day: float
    mentions_per_day: float
    quality_bias: float
    posts: list[str]
    #: (weekdays, local time): when the team posts.
    slots: list[tuple[set[int], time]]
    with_image: bool


PLANS = [
    _Plan(
        Flavour.PHOTO,
        "",
        18400,
        24.0,
        10.0,
        0.15,
        PHOTO_POSTS,
        [({0, 1, 2, 3, 4, 5, 6}, time(19, 0)), ({1, 3, 5}, time(12, 30))],
        True,
    ),
    _Plan(
        Flavour.PRO,
        "-pro",
        6200,
        6.0,
        4.0,
        0.0,
        PRO_POSTS,
        [({1, 3}, time(8, 30))],
        False,
    ),
]


def _history_post(
    account: SandboxAccount, number: int, text: str, at: datetime, image: bool
) -> SandboxPost:
    key = f"demo-history-{number}"
    media: list[dict[str, Any]] = []
    if image:
        media = [
            {
                "mime_type": "image/jpeg",
                "size": 240_000,
                "alt_text": "Photo produit Lumière Cosmétiques",
                "filename": f"demo-{number}.jpg",
                "sha256": "",
            }
        ]
    return SandboxPost.objects.create(
        account=account,
        network_id=service.network_id(account, key, 0),
        kind=PostKind.POST,
        idempotency_key=key,
        part=0,
        text=text,
        media=media,
        language="fr",
        received_at=at,
        quality=world.quality_score(account, text, media, f"{key}:0"),
    )


@transaction.atomic
def load_sandbox_demo(workspace: Any, *, now: datetime | None = None) -> list[SandboxAccount]:
    """The demo company's sandbox accounts, created with their history the first time."""
    now = now or timezone.now()
    accounts: list[SandboxAccount] = []
    zone = ZoneInfo(workspace.time_zone or "Europe/Paris")
    for plan in PLANS:
        handle = f"{workspace.slug}{plan.suffix}"
        existing = SandboxAccount.objects.filter(workspace=workspace, flavour=plan.flavour).first()
        if existing is not None:
            accounts.append(existing)
            continue
        start = world.floor_step(now - timedelta(days=30))
        account = service.create_account(
            handle,
            display_name=workspace.name,
            workspace=workspace,
            flavour=plan.flavour,
            follower_count=plan.followers,
            seed=world.seed_digest("demo", workspace.slug, plan.flavour),
            brand_name=workspace.name,
            products=PRODUCTS,
            competitors=COMPETITORS,
            inbound_per_day=plan.inbound_per_day,
            mentions_per_day=plan.mentions_per_day,
            quality_bias=plan.quality_bias,
            now=start,
            token_lifetime=None,
        )
        number = 0
        day = start.astimezone(zone).date()
        while day <= now.astimezone(zone).date():
            for weekdays, moment in plan.slots:
                at = datetime.combine(day, moment, tzinfo=zone)
                if day.weekday() in weekdays and start <= at < now - timedelta(hours=2):
                    text = plan.posts[number % len(plan.posts)]
                    _history_post(account, number, text, at, plan.with_image)
                    number += 1
            day += timedelta(days=1)
        # A month of engagement, then the last day with its customers and mentions.
        world.advance(account, now - timedelta(days=1), inbound=False)
        world.advance(account, now)
        if plan.flavour == Flavour.PHOTO:
            _regulars(account, now)
        account.refresh_from_db()
        accounts.append(account)
    return accounts


def boutique_account(workspace: Any) -> SandboxAccount:
    """A small shop account whose token the demo lets expire: its channel needs reconnecting."""
    handle = f"{workspace.slug}-boutique"
    existing = SandboxAccount.objects.filter(handle=handle).first()
    if existing is not None:
        return existing
    return service.create_account(
        handle,
        display_name=f"{workspace.name} — Boutique de Grasse",
        workspace=workspace,
        flavour=Flavour.PHOTO,
        follower_count=2300,
        brand_name=workspace.name,
        products=PRODUCTS,
        competitors=COMPETITORS,
        simulate=False,
    )


def lookalike_posts(
    account: SandboxAccount, text: str, first_attempt: datetime
) -> list[SandboxPost]:
    """Two posts like ``text`` made after ``first_attempt`` (the lost attempt may be one of
    them, the other was typed on a phone): what a reconcile that cannot decide finds."""
    made = []
    for number, (delay, words) in enumerate(
        ((timedelta(seconds=4), text), (timedelta(minutes=11), text.replace(" 🌸", " !")))
    ):
        key = f"demo-lookalike-{number}"
        post = SandboxPost.objects.filter(account=account, idempotency_key=key).first()
        if post is None:
            post = SandboxPost.objects.create(
                account=account,
                network_id=service.network_id(account, key, 0),
                kind=PostKind.POST,
                idempotency_key=key,
                text=words,
                language="fr",
                received_at=first_attempt + delay,
                quality=world.quality_score(account, words, [], f"{key}:0"),
            )
        made.append(post)
    return made


__all__ = [
    "COMPETITORS",
    "PRODUCTS",
    "REGULARS",
    "boutique_account",
    "load_sandbox_demo",
    "lookalike_posts",
]
