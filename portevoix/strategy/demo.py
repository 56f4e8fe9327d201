"""Demo data for Lumière Cosmétiques: its canvas, goals, channel levels, KPI targets,
content pillars (with posts labelled), the responsibility matrix, and an employee policy
that some members and employees have not acknowledged yet. Made through the actions."""

from __future__ import annotations

from django.db import transaction

from portevoix.channels.models import Channel, StrategyLevel
from portevoix.core.models import Member, Workspace

from . import actions, reading
from .models import Goal, Level, Task

CANVAS = {
    "market": (
        "Cosmétiques naturels fabriqués en France, vendus en ligne et dans 12 boutiques. "
        "Nous voulons être la marque de soin sincère et experte du marché français et belge."
    ),
    "audiences": (
        "« Léa, 29 ans » : urbaine, lit les compositions, achète en ligne, suit des "
        "créatrices sur Instagram.\n« Martine, 52 ans » : fidèle en boutique, veut des "
        "conseils pour une peau mature, sur Facebook.\nRecrues : esthéticiennes et "
        "conseillères de vente, sur LinkedIn."
    ),
    "competitors": (
        "Marque A : très présente sur Instagram et TikTok, influence.\n"
        "Marque B : forte sur Facebook, promotions fréquentes.\n"
        "Enseignes de grande distribution : publicité payante, peu de webcare."
    ),
    "business_model": "Vente directe en ligne (60 %), boutiques (30 %), revendeurs (10 %).",
    "budget": "2 500 € par mois de publicité ; une personne et demie à temps plein.",
    "channels": (
        "Instagram (proactif : communauté, conseils), LinkedIn (actif : marque employeur, "
        "recrutement), Facebook (écoute et service client)."
    ),
    "stakeholders": (
        "Direction, service client, ventes, RH (recrutement), juridique (allégations "
        "cosmétiques), boutiques."
    ),
}

POLICY = """\
Nos règles pour vos propres réseaux sociaux

1. Vous parlez en votre nom : dites que vous travaillez chez Lumière
quand vous parlez de nos produits.
2. Rien de confidentiel : lancements, chiffres, clients, collègues.
3. Restez courtois, même face à une critique ; transmettez les plaintes au service client.
4. Aucune allégation de santé ou d'efficacité que l'équipe n'a pas validée.
5. En cas de doute, ou si une discussion s'envenime, prévenez l'équipe réseaux sociaux."""


def _member(workspace: Workspace, email: str) -> Member:
    member: Member = Member.objects.select_related("user", "workspace").get(
        workspace=workspace, user__email=email
    )
    return member


@transaction.atomic
def load_strategy_demo(workspace: Workspace) -> None:
    if workspace.canvas_versions.exists():
        return
    sophie = _member(workspace, "sophie@lumiere.demo")
    lucas = _member(workspace, "lucas@lumiere.demo")
    ines = _member(workspace, "ines@lumiere.demo")
    thomas = _member(workspace, "thomas@lumiere.demo")
    nadia = _member(workspace, "nadia@lumiere.demo")
    first = {**CANVAS, "market": "Cosmétiques naturels fabriqués en France, vendus en ligne."}
    actions.save_canvas(workspace, by=sophie, note="Première version", **first)
    actions.save_canvas(
        workspace, by=sophie, note="Ouverture des boutiques et de la Belgique", **CANVAS
    )

    actions.set_goals(
        workspace,
        by=sophie,
        codes=[
            "brand_awareness",
            "customer_service",
            "direct_sales",
            "store_traffic",
            "recruitment",
            "employer_brand",
        ],
    )
    goals = {g.code: g for g in Goal.objects.filter(workspace=workspace)}
    channels = list(Channel.objects.filter(workspace=workspace).order_by("pk"))
    by_name = {c.name: c for c in channels}
    insta = by_name.get("Instagram (sandbox)") or (channels[0] if channels else None)
    linkedin = by_name.get("LinkedIn (sandbox)")
    if insta is not None:
        actions.set_channel_strategy(
            insta,
            by=sophie,
            level=StrategyLevel.PROACTIVE,
            goals=[goals["brand_awareness"], goals["direct_sales"], goals["store_traffic"]],
        )
        actions.add_kpi(
            goals["brand_awareness"], by=sophie, metric="reach", target=120000,
            period="month", channel=insta,
        )  # fmt: skip
        actions.add_kpi(
            goals["brand_awareness"], by=sophie, metric="engagement_rate", target="4.5",
            period="month", channel=insta,
        )  # fmt: skip
        actions.add_kpi(
            goals["direct_sales"], by=sophie, metric="clicks", target=3000, period="month",
            channel=insta,
        )  # fmt: skip
    if linkedin is not None:
        actions.set_channel_strategy(
            linkedin,
            by=sophie,
            level=StrategyLevel.ACTIVE,
            goals=[goals["recruitment"], goals["employer_brand"]],
        )
        actions.add_kpi(
            goals["recruitment"], by=sophie, metric="leads", target=40, period="month",
            channel=linkedin,
        )  # fmt: skip
        actions.add_kpi(
            goals["employer_brand"], by=sophie, metric="follower_growth", target=300,
            period="quarter", channel=linkedin,
        )  # fmt: skip
    # Listening measures these two: what people say of the brand, against its competitors.
    actions.add_kpi(
        goals["brand_awareness"], by=sophie, metric="share_of_voice", target=50, period="month",
    )  # fmt: skip
    actions.add_kpi(
        goals["brand_awareness"], by=sophie, metric="mentions", target=900, period="month",
    )  # fmt: skip
    actions.add_kpi(
        goals["customer_service"], by=sophie, metric="first_response_minutes", target=60,
        period="week",
    )  # fmt: skip
    actions.add_kpi(
        goals["customer_service"], by=sophie, metric="sla_compliance", target=90,
        period="month",
    )  # fmt: skip

    tips = actions.add_pillar(
        workspace, by=sophie, name="Conseils de soin", description="Routines, ingrédients, peau"
    )
    behind = actions.add_pillar(
        workspace, by=sophie, name="Coulisses", description="Atelier, équipe, fabrication"
    )
    products = actions.add_pillar(
        workspace, by=sophie, name="Produits et offres", description="Lancements, promotions"
    )
    actions.set_pillar_targets(
        workspace, by=sophie, targets={tips.pk: 50, behind.pk: 20, products.pk: 30}
    )
    # The plan speaks too much of the company: most posts are labelled "products".
    for index, post in enumerate(reading.plan_posts(workspace)[:10]):
        pillar = products if index % 3 != 2 else tips
        actions.label_post(post, by=lucas, pillar=pillar)

    members = Member.objects.filter(workspace=workspace, is_active=True)
    cells = {(m.pk, str(t)): "" for m in members for t in Task.values}
    cells.update(
        {
            (sophie.pk, Task.MANAGEMENT): Level.RESPONSIBLE,
            (sophie.pk, Task.WEBCARE): Level.BACKUP,
            (lucas.pk, Task.WEBCARE): Level.RESPONSIBLE,
            (lucas.pk, Task.ADVERTISING): Level.RESPONSIBLE,
            (nadia.pk, Task.WEBCARE): Level.RESPONSIBLE,
            (ines.pk, Task.CREATIVE): Level.RESPONSIBLE,
            (lucas.pk, Task.CREATIVE): Level.BACKUP,
            (thomas.pk, Task.ANALYTICS): Level.RESPONSIBLE,
            (sophie.pk, Task.ANALYTICS): Level.CONSULTED,
        }
    )
    actions.set_responsibilities(workspace, by=sophie, cells={k: str(v) for k, v in cells.items()})

    version = actions.publish_policy(workspace, by=sophie, text=POLICY, note="Première version")
    for member in (sophie, lucas, ines):
        actions.acknowledge_policy(version, by=member)
    actions.import_employees(
        workspace,
        by=sophie,
        text=(
            "nom,email,service\n"
            "Margot Lemaire,margot.lemaire@lumiere.demo,Boutique Lyon\n"
            "Hugo Perrin,hugo.perrin@lumiere.demo,Atelier\n"
            "Aïcha Benali,aicha.benali@lumiere.demo,RH\n"
        ),
    )
    actions.send_acknowledgement_links(workspace, by=sophie)
    from .models import EmployeeAcknowledgement

    first_request = (
        EmployeeAcknowledgement.objects.filter(version=version).order_by("employee__name").first()
    )
    if first_request is not None:
        actions.acknowledge_by_link(first_request)


@transaction.atomic
def load_ambassadors_demo(workspace: Workspace) -> None:
    """Seed 001's virtual team: Aïcha (HR, on LinkedIn) and Julien (sales, the product
    catalogue: a department agent who becomes ambassador as an extra role); Sophie is manager
    and content marketer at once (seed 002's small team). Two published posts suggested, some
    shared, an idea proposed by an ambassador."""
    from portevoix.core import actions as core
    from portevoix.core.permissions import Role
    from portevoix.publishing import actions as publishing

    from . import ambassadors
    from .models import Ambassador, ShareRequest

    if Ambassador.objects.filter(member__workspace=workspace).exists():
        return
    claire = _member(workspace, "admin@lumiere.demo")
    sophie = _member(workspace, "sophie@lumiere.demo")
    core.set_extra_roles(sophie, by=claire, roles=[Role.CONTENT])
    aicha = _member(workspace, "aicha@lumiere.demo")
    julien = _member(workspace, "julien@lumiere.demo")
    ambassadors.name_ambassador(aicha, by=sophie, networks=["linkedin"], subject="Recrutement")
    ambassadors.name_ambassador(
        julien, by=sophie, networks=["x"], subject="Catalogue produits, astuces"
    )
    julien.refresh_from_db()
    publishing.propose_idea(
        workspace,
        by=julien,
        title="Astuces du vendeur : 3 soins pour l'hiver",
        description="Les questions que les clientes posent le plus en boutique.",
    )
    posts = list(ambassadors.shareable(workspace)[:2])
    for index, publication in enumerate(posts):
        ambassadors.suggest_share(
            publication,
            by=sophie,
            note="À partager depuis vos comptes, merci !" if index == 0 else "",
        )
    if posts:
        first = posts[0]
        for who, network, url in (
            (aicha, "linkedin", "https://www.linkedin.com/feed/update/urn:li:activity:demo1"),
            (julien, "x", ""),
        ):
            row = ShareRequest.objects.get(suggestion__publication=first, ambassador__member=who)
            ambassadors.mark_shared(row, by=who, network=network, url=url)
