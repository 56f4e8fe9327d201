"""Listening for the demo company: its queries, and a month of what the sandbox world said.

``load_listening_demo(workspace)`` (once; run again, nothing is duplicated) writes the queries
of Lumière Cosmétiques (the brand, its products, its founder, two competitors, its industry,
a hashtag), creates the sandbox world's *public voice* of the brand (an account of the world
that nobody connects: people talking about the brand and its two competitors, a month of it,
with the world's daily rhythm), and reads it through the listening pipeline, so that the
listening page opens on a month of matched, labelled mentions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from portevoix.core.models import Member
from portevoix.core.permissions import Role

from . import actions, sources
from .models import ListeningQuery

QUERIES = [
    ("Lumière Cosmétiques", "brand", '"lumière cosmétiques" OR lumiere* OR #lumierecosmetiques'),
    (
        "Nos produits",
        "product",
        '"sérum éclat" OR "crème velours" OR "huile sublime" OR "baume cerise" '
        'OR "masque nuit douce" OR "mascara volume"',
    ),
    ("Rosée Paris", "competitor", '"rosée paris" OR #roseeparis'),
    ("Belle Peau", "competitor", '"belle peau" -"ma belle peau"'),
    (
        "Beauté responsable",
        "industry",
        '(cosmétique* OR beauté OR skincare) AND (recharge* OR bio OR "zéro déchet" OR zerowaste)',
    ),
    ("#skincare", "hashtag", "#skincare"),
]
#: The two competitors the public voice talks about.
COMPETITORS = ["Rosée Paris", "Belle Peau"]


def load_listening_demo(workspace: Any, *, days: int = 30) -> int:
    """Returns the number of mentions stored by this call."""
    from portevoix.sandbox import service, world
    from portevoix.sandbox.demo import PRODUCTS
    from portevoix.sandbox.models import SandboxAccount

    manager = (
        Member.objects.filter(workspace=workspace, role=Role.ADMIN, is_active=True)
        .order_by("pk")
        .first()
    )
    if manager is None:
        return 0
    for name, kind, text in QUERIES:
        if not ListeningQuery.objects.filter(workspace=workspace, name=name).exists():
            actions.create_query(workspace, by=manager, name=name, kind=kind, text=text)
    handle = f"{workspace.slug}-public"[:60]
    if not SandboxAccount.objects.filter(handle=handle).exists():
        now = timezone.now()
        account = service.create_account(
            handle,
            display_name=workspace.name,
            flavour="micro",
            follower_count=0,
            seed=world.seed_digest("listening-demo", workspace.slug),
            brand_name=workspace.name,
            products=PRODUCTS,
            competitors=COMPETITORS,
            inbound_per_day=0.0,
            mentions_per_day=45.0,
            now=world.floor_step(now - timedelta(days=days)),
            token_lifetime=None,
        )
        world.advance(account, now)
    _, stored = sources.read_sandbox(batches=1000)
    return stored
