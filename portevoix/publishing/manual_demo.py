"""Demo: a manual "Snapchat" channel (issue 11 §3), owned by Lucas, the content marketer.

Three stories published by hand in the past weeks with their results (one typed in, two
imported), one due two hours ago that nobody has marked yet (the owner's reminder is in his
bell, and the attention page lists it as late), and one planned for the coming days. Everything
goes through the real actions, so the audit log reads as a real week would.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from portevoix.channels import actions as channel_actions
from portevoix.channels.models import Channel, StrategyLevel
from portevoix.core.models import Department, Member, Workspace
from portevoix.publishing import actions, manual
from portevoix.publishing.models import Publication, PublicationStates

S = PublicationStates

PAST = (
    (
        16,
        "Dans les coulisses du shooting Velours 📸 Swipe pour voir le making-of !",
        {"reach": 4200, "impressions": 6900, "likes": 310, "comments": 12, "shares": 41},
    ),
    (
        9,
        "Quiz : quel parfum de Grasse êtes-vous ? Réponse en story demain 🌸",
        {"reach": 3800, "impressions": 5200, "likes": 250, "comments": 33, "shares": 18},
    ),
    (
        3,
        "Atelier découverte samedi à la boutique de Nice : on vous attend ✨",
        {
            "reach": 2900,
            "impressions": 4100,
            "likes": 190,
            "comments": 7,
            "shares": 25,
            "clicks": 64,
        },
    ),
)
WAITING = "Ce soir 20 h : lancement du coffret Velours en direct de l’atelier 🎥"
UPCOMING = "Jeu : gagnez un coffret Velours en partageant votre routine du soir 🌙"


def _member(workspace: Workspace, email: str) -> Member:
    return Member.objects.get(workspace=workspace, user__email=email)


def _post(workspace: Workspace, channel: Channel, by: Member, text: str) -> Publication:
    post = actions.schedule_post(
        workspace,
        by=by,
        text=text,
        channels=[channel],
        at=timezone.now() + dt.timedelta(minutes=5),
    )
    publication: Publication = post.publications.get()
    return publication


def _due(publication: Publication, when: dt.datetime) -> Publication:
    """As the worker leaves it at its time: waiting for its owner, who was reminded."""
    Publication.objects.filter(pk=publication.pk).update(scheduled_at=when)
    publication.scheduled_at = when
    publication.transition(S.waiting_manual)
    manual.remind(publication.pk)
    publication.refresh_from_db()
    return publication


def load_manual_demo(workspace: Workspace, admin: Member) -> Channel:
    sophie = _member(workspace, "sophie@lumiere.demo")
    lucas = _member(workspace, "lucas@lumiere.demo")
    channel = channel_actions.connect_channel(
        workspace,
        by=admin,
        network="manual",
        credentials={
            "label": "Snapchat",
            "account": "lumiere.cosmetiques",
            "url": "https://www.snapchat.com/add/lumiere.cosmetiques",
        },
        name="Snapchat",
        owner_department=Department.objects.get(workspace=workspace, code="marketing"),
        strategy_level=StrategyLevel.ACTIVE,
        owner=lucas.user,
    )
    now = timezone.now()
    zone = channel.audience_zone
    lines = ["link;measured_on;reach;impressions;likes;comments;shares;clicks"]
    for index, (days, text, results) in enumerate(PAST):
        when = now - dt.timedelta(days=days, hours=2)
        publication = _due(_post(workspace, channel, sophie, text), when)
        link = f"https://www.snapchat.com/add/lumiere.cosmetiques?story={1200 + index}"
        manual.mark_published_by_hand(
            publication, by=lucas, url=link, published_at=when + dt.timedelta(minutes=12)
        )
        measured = (when + dt.timedelta(days=2)).astimezone(zone)
        if index == 0:
            manual.record_results(publication, by=lucas, values=results, taken_at=measured)
        else:
            cells = [str(results.get(name, "")) for name in manual.METRIC_FIELDS]
            lines.append(";".join([link, f"{measured:%Y-%m-%d %H:%M}", *cells]))
    report = manual.import_results(channel, by=lucas, data="\n".join(lines).encode())
    if not report.ok:  # pragma: no cover - the demo's own data
        raise RuntimeError(f"demo results not imported: {report.errors}")
    _due(_post(workspace, channel, sophie, WAITING), now - dt.timedelta(hours=2))
    today = now.astimezone(zone).date()
    upcoming = dt.datetime.combine(today + dt.timedelta(days=4), dt.time(18, 30), zone)
    actions.schedule_post(workspace, by=sophie, text=UPCOMING, channels=[channel], at=upcoming)
    return channel
