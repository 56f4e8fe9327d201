"""Listening for the demo company: its queries, and a month of what the sandbox world said.

``load_listening_demo(workspace)`` (once; run again, nothing is duplicated) writes the queries
of Lumière Cosmétiques (the brand, its products, its founder, two competitors, its industry,
a hashtag), creates the sandbox world's *public voice* of the brand (an account of the world
that nobody connects: people talking about the brand and its two competitors, a month of it,
with the world's daily rhythm), and reads it through the listening pipeline, so that the
listening page opens on a month of matched, labelled mentions.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
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
    load_sources_demo(workspace)
    load_competitors_demo(workspace)
    return stored


# --- sources and competitors -----------------------------------------------------------------

#: What the demo's Bluesky and Mastodon sources "heard" before the demo paused them: sample
#: public posts (author, language, text, hours ago), read through the pipeline like any other.
SAMPLE_BLUESKY = [
    ("maelle.bsky.social", "fr", "Le sérum Éclat de Lumière Cosmétiques, franchement bluffant", 3),
    ("jon-beauty.bsky.social", "en", "Trying the crème Velours by Lumière Cosmétiques today", 9),
    ("ines-r.bsky.social", "fr", "Commande lumiere cosmetiques toujours pas arrivée…", 20),
    ("skin-notes.bsky.social", "fr", "Rosée Paris sort une recharge, enfin du bio", 30),
    ("paulette.bsky.social", "fr", "#skincare du soir : huile Sublime puis masque Nuit douce", 44),
    ("lea29.bsky.social", "fr", "Belle Peau ou Lumière Cosmétiques pour une peau mature ?", 60),
]
SAMPLE_MASTODON = [
    ("claire@piaille.fr", "fr", "Le baume Cerise de Lumière Cosmétiques sauve mes lèvres", 5),
    ("marc@mastodon.social", "fr", "Service client Lumière Cosmétiques : réponse en 10 min", 14),
    ("zoe@framapiaf.org", "fr", "Cosmétiques bio en recharge : qui fait ça bien ? #zerowaste", 26),
    ("anna@mastodon.social", "en", "Belle Peau's new serum smells lovely #skincare", 50),
]
#: What the demo's YouTube, Instagram and X sources "read" (author, language, text, hours ago).
SAMPLE_YOUTUBE = [
    (
        "@clarabeaute",
        "fr",
        "Mon avis sur le sérum Éclat de Lumière Cosmétiques\nUn mois de test.",
        6,
    ),
    ("@routinedusoir", "fr", "Routine du soir : huile Sublime et masque Nuit douce #skincare", 28),
    ("@beautylab", "en", "Lumière Cosmétiques vs Rosée Paris: which serum wins?", 52),
]
SAMPLE_INSTAGRAM = [
    ("", "fr", "Ma routine #skincare du matin avec le baume Cerise", 4),
    ("", "fr", "Recharge bio et zéro déchet, enfin ! #skincare #zerowaste", 17),
    ("", "en", "Glow check ✨ #skincare", 40),
]
SAMPLE_X = [
    ("sophie_m", "fr", "Lumière Cosmétiques répond vite sur X, bravo au service client", 2),
    ("jb_avis", "fr", "Toujours pas reçu ma commande lumiere cosmetiques… #livraison", 11),
    ("beauty_daily", "en", "Belle Peau just dropped a new cream, anyone tried it?", 35),
    ("camille_c", "fr", "La crème Velours de Lumière Cosmétiques, coup de cœur", 58),
]
#: Competitors' sandbox accounts for the side-by-side table: (label, handle suffix, followers,
#: posts per week, engagement scale). Rosée Paris is the bigger one (the brand has 18,400), so
#: the followers chart shows three lines, not two on top of each other.
DEMO_COMPETITORS = [
    ("Rosée Paris", "rosee-paris", 24600, 5, 1.4),
    ("Belle Peau", "belle-peau", 7900, 9, 0.6),
]


def _sample_posts(rows: list[tuple[str, str, str, int]], network: str) -> list[Any]:
    from .pipeline import PublicPost

    now = timezone.now()
    posts = []
    for n, (author, language, text, hours) in enumerate(rows):
        digest = hashlib.sha256(f"{author}{n}".encode()).hexdigest()
        if network == "bluesky":
            did = "did:plc:demo" + hashlib.sha256(author.encode()).hexdigest()[:20]
            external = f"at://{did}/app.bsky.feed.post/3demo{n:08d}"
            url = f"https://bsky.app/profile/{author}/post/3demo{n:08d}"
        elif network == "youtube":
            external = "demo" + digest[:7]
            url = f"https://www.youtube.com/watch?v={external}"
        elif network == "instagram":
            external = "1789" + str(int(digest[:12], 16))[:13]
            url = f"https://www.instagram.com/p/demo{digest[:6]}/"
        elif network == "x":
            external = "18600000000000" + f"{n:05d}"
            url = f"https://x.com/{author}/status/{external}"
        else:
            user, _, server = author.partition("@")
            external = f"https://{server}/users/{user}/statuses/1135{n:08d}"
            url = f"https://{server}/@{user}/1135{n:08d}"
        posts.append(
            PublicPost(
                external_id=external,
                network=network,
                text=text,
                posted_at=now - timedelta(hours=hours),
                author_handle=author,
                author_reach=0 if network == "instagram" else 120 + 37 * len(author) * (n + 1),
                language=language,
                url=url,
            )
        )
    return posts


def load_sources_demo(workspace: Any) -> None:
    """A Bluesky (Jetstream), a Mastodon, a YouTube, an Instagram and an X source with the
    mentions they read, paused so that the demo never calls the real networks by itself (a
    manager starts them again)."""
    from . import pipeline
    from .models import ListeningSource, SourceKind

    specs = [
        ("demo-bluesky-jetstream", "bluesky", SourceKind.JETSTREAM, "", "", SAMPLE_BLUESKY),
        (
            "demo-mastodon-skincare",
            "mastodon",
            SourceKind.MASTODON_TAG,
            "https://mastodon.social",
            "skincare",
            SAMPLE_MASTODON,
        ),
    ]
    # YouTube, Instagram and X read with a connected channel's token: the demo connects none,
    # so these say so, paused (a manager connects a channel and adds the source again).
    specs += [
        (
            "demo-youtube-search",
            "youtube",
            SourceKind.YOUTUBE_SEARCH,
            "apikey",
            "all",
            SAMPLE_YOUTUBE,
        ),
        (
            "demo-instagram-skincare",
            "instagram",
            SourceKind.INSTAGRAM_HASHTAG,
            "instagram:demo",
            "skincare",
            SAMPLE_INSTAGRAM,
        ),
        ("demo-x-search", "x", SourceKind.X_SEARCH, "x:demo", "all", SAMPLE_X),
    ]

    def cursor(network: str, newest: datetime) -> str:
        if network == "bluesky":
            return str(int(newest.timestamp() * 1_000_000))
        if network == "mastodon":
            return "113500000000000000"
        if network == "x":
            return "1860000000000000003"
        return newest.strftime("%Y-%m-%dT%H:%M:%SZ")

    for name, network, kind, url, target, rows in specs:
        if ListeningSource.objects.filter(name=name).exists():
            continue
        if ListeningSource.objects.filter(kind=kind, url=url, target=target).exists():
            continue
        source = ListeningSource.objects.create(
            name=name, network=network, kind=kind, url=url, target=target, workspace=workspace
        )
        posts = _sample_posts(rows, network)
        stored = pipeline.ingest(source, posts)
        newest = max(p.posted_at for p in posts)
        source.transition(
            "paused",
            fields={
                "read_at": timezone.now(),
                "last_event_at": newest,
                "lag_seconds": 1.8,
                "items_read": len(posts) * 40,
                "mentions_stored": stored,
                "cursor": cursor(network, newest),
                "units_day": timezone.now().date().isoformat() if network == "youtube" else "",
                "units_spent": 300 if network == "youtube" else 0,
            },
        )


def load_competitors_demo(workspace: Any) -> None:
    """The brand's own sandbox account beside two competitors' (sandbox accounts with a month
    of posts), collected now, with four weekly snapshots before for the followers' curve."""
    import random

    from portevoix.sandbox import service
    from portevoix.sandbox.models import SandboxAccount

    from . import competitors
    from .models import AccountSnapshot, FollowedAccount

    manager = (
        Member.objects.filter(workspace=workspace, role=Role.ADMIN, is_active=True)
        .order_by("pk")
        .first()
    )
    if manager is None or FollowedAccount.objects.filter(workspace=workspace).exists():
        return
    now = timezone.now()
    own = (
        SandboxAccount.objects.filter(workspace=workspace, simulate=True)
        .exclude(handle__endswith="-public")
        .order_by("pk")
        .first()
    )
    followed = []
    if own is not None:
        followed.append(
            actions.follow_account(
                workspace,
                by=manager,
                label=workspace.name,
                network="sandbox",
                handle=own.handle,
                side="own",
            )
        )
    rng = random.Random(workspace.slug)
    for label, suffix, followers, per_week, scale in DEMO_COMPETITORS:
        handle = f"{workspace.slug}-{suffix}"[:60]
        account = SandboxAccount.objects.filter(handle=handle).first()
        if account is None:
            account = service.create_account(
                handle, display_name=label, follower_count=followers, simulate=False
            )
            for n in range(per_week * 4):
                at = now - timedelta(days=28 * (n + 0.5) / (per_week * 4))
                likes = int(followers * 0.004 * scale * rng.uniform(0.3, 2.5))
                account.posts.create(
                    network_id=f"{handle}-{n}",
                    idempotency_key=f"demo-{n}",
                    text=rng.choice(
                        [
                            "Nouvelle routine du soir, en trois gestes.",
                            "Notre recharge arrive en boutique cette semaine.",
                            "Jeu-concours : gagnez un coffret découverte !",
                            "Les coulisses de notre atelier à Grasse.",
                            "Vos questions sur les peaux sensibles, nos réponses.",
                        ]
                    ),
                    received_at=at,
                    likes=likes,
                    shares=likes // 6,
                    comments=likes // 9,
                )
        followed.append(
            actions.follow_account(
                workspace,
                by=manager,
                label=label,
                network="sandbox",
                handle=handle,
                side="competitor",
            )
        )
    for row in followed:
        found = competitors.collect("sandbox", row.handle)
        latest = competitors.snapshot(row, found)
        for weeks in (4, 3, 2, 1):
            AccountSnapshot.objects.create(
                account=row,
                taken_at=now - timedelta(weeks=weeks),
                followers=max(0, latest.followers - int(latest.followers * 0.006 * weeks)),
                posts=latest.posts,
                window_days=latest.window_days,
                posts_per_week=latest.posts_per_week,
                engagement_per_post=latest.engagement_per_post,
                best_posts=latest.best_posts,
            )
        FollowedAccount.objects.filter(pk=row.pk).update(
            next_attempt_at=now + timedelta(seconds=competitors.INTERVAL)
        )
