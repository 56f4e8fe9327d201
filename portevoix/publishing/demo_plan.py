"""The demo's content plan: a month of posts across the sandbox channels, campaigns, visuals in
the library, a visual request in progress (and one late), ideas in the backlog, posting slots
and recurring dates. Everything goes through the actions, as a team would do it."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from django.utils import timezone
from PIL import Image, ImageDraw

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.media import actions as media_actions
from portevoix.media.models import Asset
from portevoix.publishing import actions
from portevoix.publishing.models import CreativeRequest, Weekday

VISUALS = (
    ("serum-velours.jpg", "Le flacon du sérum Velours sur un lit de pétales roses", (214, 96, 140)),
    (
        "atelier-grasse.jpg",
        "L’atelier de Grasse, des mains qui remplissent des flacons",
        (120, 150, 90),
    ),
    ("coffret-hiver.jpg", "Le coffret d’hiver ouvert, fond de neige", (90, 120, 190)),
)

#: (days from today, time, channels ("photo", "pro"), author, title, text, link, campaign)
PLAN = (
    (
        2,
        "12:30",
        ("photo",),
        "lucas",
        "Velours J-5",
        "J-5 avant le sérum Velours 🌸",
        "https://lumiere.example/velours",
        "velours",
    ),
    (
        4,
        "08:45",
        ("pro",),
        "lucas",
        "Grasse, l’atelier",
        "Nos flacons sont remplis à Grasse, à la main.",
        "https://lumiere.example/atelier",
        "",
    ),
    (
        7,
        "12:30",
        ("photo", "pro"),
        "lucas",
        "Velours : c’est lundi",
        "Le sérum Velours est là. Texture, parfum, promesse : on vous dit tout.",
        "https://lumiere.example/velours",
        "velours",
    ),
    (
        9,
        "18:00",
        ("photo",),
        "ines",
        "Routine du soir",
        "Notre routine du soir en trois gestes.",
        "",
        "",
    ),
    (
        11,
        "08:45",
        ("pro",),
        "lucas",
        "Sobriété",
        "Moins de flacons, mieux choisis : notre engagement 2027.",
        "https://lumiere.example/engagements",
        "",
    ),
    (
        14,
        "12:30",
        ("photo", "pro"),
        "lucas",
        "Coffrets d’hiver",
        "Les coffrets d’hiver arrivent : trois rituels, un seul ruban.",
        "https://lumiere.example/coffrets",
        "hiver",
    ),
    (
        16,
        "18:00",
        ("photo",),
        "ines",
        "Coulisses",
        "Dans les coulisses du shooting d’hiver 📸",
        "",
        "hiver",
    ),
    (
        21,
        "12:30",
        ("photo",),
        "lucas",
        "Soldes J-1",
        "Demain, -20 % sur les coffrets.",
        "https://lumiere.example/soldes",
        "hiver",
    ),
    (
        25,
        "08:45",
        ("pro",),
        "lucas",
        "Recrutement",
        "Nous recrutons un·e chef·fe de produit soin.",
        "https://lumiere.example/carrieres",
        "",
    ),
)


def _visual(name: str, colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (1600, 1600), colour)
    draw = ImageDraw.Draw(image)
    for step in range(0, 760, 80):
        shade = tuple(min(255, c + step // 20) for c in colour)
        draw.ellipse((step, step, 1600 - step, 1600 - step), outline=shade, width=24)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def load_plan(workspace: Workspace) -> None:
    people = {
        m.user.email.split("@")[0]: m
        for m in Member.objects.filter(workspace=workspace, is_active=True).select_related("user")
    }
    sophie, lucas, ines = people["sophie"], people["lucas"], people["ines"]
    channels = list(Channel.objects.filter(workspace=workspace).order_by("name"))
    by_kind = {
        "photo": next(c for c in channels if c.name.startswith("Instagram")),
        "pro": next(c for c in channels if c.name.startswith("LinkedIn")),
    }
    zone = ZoneInfo(workspace.time_zone)
    today = timezone.now().astimezone(zone).date()

    campaigns = {
        "velours": actions.save_campaign(
            workspace,
            by=sophie,
            name="Lancement Velours",
            goal="Notoriété du nouveau sérum, 2 000 visites sur la page produit",
            starts_on=today,
            ends_on=today + dt.timedelta(days=10),
            color="#b3386e",
            channels=list(by_kind.values()),
        ),
        "hiver": actions.save_campaign(
            workspace,
            by=sophie,
            name="Coffrets d’hiver",
            goal="Ventes des coffrets avant les fêtes",
            starts_on=today + dt.timedelta(days=12),
            ends_on=today + dt.timedelta(days=30),
            color="#2f5fb3",
            channels=[by_kind["photo"]],
        ),
    }
    assets: list[Asset] = [
        media_actions.upload(
            workspace,
            by=ines,
            filename=name,
            data=_visual(name, colour),
            alt_text=alt,
            tags=["démo", name.split("-")[0]],
        )
        for name, alt, colour in VISUALS
    ]

    for weekday, clock, kind in (
        (Weekday.TUESDAY, "12:30", "photo"),
        (Weekday.THURSDAY, "12:30", "photo"),
        (Weekday.FRIDAY, "18:00", "photo"),
        (Weekday.MONDAY, "08:45", "pro"),
        (Weekday.WEDNESDAY, "08:45", "pro"),
    ):
        actions.add_slot(
            by_kind[kind], by=lucas, weekday=weekday, time=dt.time.fromisoformat(clock)
        )
    for name, month, day, end in (
        ("Journée mondiale de la beauté", 9, 9, None),
        ("Fête des mères", 5, 31, None),
        ("Saison des fêtes", 12, 1, (12, 31)),
        ("Soldes d’hiver", 1, 7, (2, 3)),
        ("Journée de la Terre", 4, 22, None),
    ):
        actions.add_recurring_date(
            workspace,
            by=lucas,
            name=name,
            month=month,
            day=day,
            end_month=end[0] if end else None,
            end_day=end[1] if end else None,
        )

    posts = []
    for days, clock, kinds, who, title, text, link, campaign in PLAN:
        at = dt.datetime.combine(today + dt.timedelta(days=days), dt.time.fromisoformat(clock))
        media: tuple[actions.MediaChoice, ...] = ()
        if campaign == "velours":
            media = (actions.MediaChoice(assets[0]),)
        elif campaign == "hiver" and days < 20:
            media = (actions.MediaChoice(assets[2]),)
        elif "atelier" in link:
            media = (actions.MediaChoice(assets[1]),)
        post = actions.save_post(
            workspace,
            by=people[who],
            composition=actions.Composition(
                text=text,
                title=title,
                campaign=campaigns.get(campaign),
                media=media,
                variants=tuple(actions.Variant(by_kind[k], link=link) for k in kinds),
                when=actions.When.LOCAL,
                local=at,
            ),
        )
        posts.append(post)
        if days != 25:  # one stays a draft
            actions.submit_post(post, by=people[who])

    # A visual in progress for a post that waits on it, and one that is already late.
    waiting = actions.save_post(
        workspace,
        by=lucas,
        composition=actions.Composition(
            text="Le calendrier de l’Avent Lumière : 24 cases, 24 soins.",
            title="Calendrier de l’Avent",
            campaign=campaigns["hiver"],
            variants=(actions.Variant(by_kind["photo"]),),
            when=actions.When.LOCAL,
            local=dt.datetime.combine(today + dt.timedelta(days=18), dt.time(12, 30)),
        ),
    )
    actions.request_creative(
        workspace,
        by=lucas,
        title="Visuel calendrier de l’Avent",
        brief="Le calendrier ouvert sur la case 1, lumière chaude, format carré et vertical.",
        channels=[by_kind["photo"]],
        deadline=timezone.now() + dt.timedelta(days=4),
        post=waiting,
        assignee=ines,
    )
    late = actions.request_creative(
        workspace,
        by=lucas,
        title="Bannière LinkedIn recrutement",
        brief="Photo de l’équipe produit, texte « On recrute » lisible en petit.",
        channels=[by_kind["pro"]],
        deadline=timezone.now() + dt.timedelta(hours=1),
        post=posts[-1],
        assignee=ines,
    )
    CreativeRequest.objects.filter(pk=late.pk).update(
        deadline=timezone.now() - dt.timedelta(days=1)
    )
    # One request already done: asked by Lucas, delivered by Inès from the library, and the
    # post that waited on it scheduled.
    atelier = actions.save_post(
        workspace,
        by=lucas,
        composition=actions.Composition(
            text="Chaque flacon Velours est rempli à la main, à Grasse.",
            title="Rempli à la main",
            campaign=campaigns["velours"],
            variants=(actions.Variant(by_kind["photo"]),),
            when=actions.When.LOCAL,
            local=dt.datetime.combine(today + dt.timedelta(days=6), dt.time(17, 45)),
        ),
    )
    done = actions.request_creative(
        workspace,
        by=lucas,
        title="Photo de l’atelier de Grasse",
        brief="Des mains qui remplissent des flacons, lumière naturelle.",
        channels=[by_kind["photo"]],
        deadline=timezone.now() + dt.timedelta(days=2),
        post=atelier,
        assignee=ines,
    )
    actions.deliver_creative(done, by=ines, assets=[assets[1]], note="Recadrée au format carré.")
    actions.submit_post(atelier, by=lucas)

    julien = people.get("julien")
    for who, title, description in (
        (lucas, "Un quiz « quel sérum pour vous ? »", "En story, quatre questions."),
        (ines, "Série « les mains de Grasse »", "Portraits des personnes de l’atelier."),
    ):
        actions.propose_idea(workspace, by=who, title=title, description=description)
    if julien is not None:
        actions.propose_idea(
            workspace,
            by=julien,
            title="Répondre en vidéo aux questions sur les prix",
            description="Les clients demandent souvent pourquoi le sérum coûte ce prix.",
        )
    accepted = actions.propose_idea(
        workspace, by=ines, title="Avant/après sans retouche", campaign=campaigns["velours"]
    )
    actions.decide_idea(accepted, by=sophie, accept=True, note="Oui, et en toute transparence.")
    declined = actions.propose_idea(workspace, by=lucas, title="Concours « taguez 10 amis »")
    actions.decide_idea(
        declined,
        by=sophie,
        accept=False,
        note="Contraire aux règles des réseaux et à notre ton : on préfère un vrai échange.",
    )
