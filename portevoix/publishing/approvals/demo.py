"""The demo's editorial controls: a cosmetics brand's compliance step (health claims go to
legal), its rules and brand guide, and posts waiting for approval, so that "waiting for me",
the review page and the report have something to show. Everything goes through the actions;
only the times are moved back, so that the waits look like a real week."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.publishing import actions as publishing
from portevoix.publishing import compliance
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import ApprovalStep, RuleKind, Severity, StepState
from portevoix.publishing.models import Post

RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "Allégations thérapeutiques",
        "kind": RuleKind.BANNED,
        "severity": Severity.BLOCK,
        "values": "guérit\nsoigne\ntraitement\nmiracle",
        "message": "Un cosmétique ne soigne pas (règlement CE 1223/2009, art. 20).",
    },
    {
        "name": "Mention stocks sur les offres",
        "kind": RuleKind.DISCLAIMER,
        "severity": Severity.WARN,
        "values": "Offre valable dans la limite des stocks disponibles.",
        "topic": "promo\ncode promo\nsoldes\n-20 %\n-30 %",
    },
    {
        "name": "Liens vers nos sites",
        "kind": RuleKind.LINK_ALLOW,
        "severity": Severity.WARN,
        "values": "lumiere-cosmetiques.example\nboutique.lumiere-cosmetiques.example",
        "message": "Les liens mènent à nos sites, pas à des revendeurs.",
    },
    {
        "name": "Chiffres d'efficacité",
        "kind": RuleKind.REGEX,
        "severity": Severity.WARN,
        "values": r"\d{1,3}\s?%\s+(?:de\s+)?(?:rides|taches|efficacité)",
        "message": "Un chiffre d'efficacité cite son étude.",
    },
)

GUIDE = {
    "tone": (
        "Chaleureux, précis, jamais condescendant. On vouvoie nos clientes. "
        "Des phrases courtes, un emoji au plus."
    ),
    "use_words": "soin\nrituel\nfabriqué à Grasse\nformule",
    "avoid_words": "anti-âge\nbon plan\nimperfections",
}


def _member(workspace: Workspace, email: str) -> Member:
    member: Member = Member.objects.select_related("user").get(
        workspace=workspace, user__email=email
    )
    return member


def _at(workspace: Workspace, days: int, hour: int, minute: int = 0) -> dt.datetime:
    zone = ZoneInfo(workspace.time_zone)
    today = timezone.now().astimezone(zone).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), zone)


def _asked(post: Post, hours_ago: float, decided_after: float | None = None) -> None:
    """Move a post's requests back in time (and their decisions) for the demo's report."""
    now = timezone.now()
    asked = now - dt.timedelta(hours=hours_ago)
    for step in ApprovalStep.objects.filter(post=post):
        fields: dict[str, object] = {"requested_at": asked}
        if step.decided_at is not None and decided_after is not None:
            fields["decided_at"] = asked + dt.timedelta(hours=decided_after)
        if step.state == StepState.WAITING and step.remind_at is not None:
            fields["remind_at"] = now + dt.timedelta(hours=1)
        ApprovalStep.objects.filter(pk=step.pk).update(**fields)


def load_editorial_demo(workspace: Workspace) -> None:
    admin = _member(workspace, "admin@lumiere.demo")
    sophie = _member(workspace, "sophie@lumiere.demo")
    lucas = _member(workspace, "lucas@lumiere.demo")
    ines = _member(workspace, "ines@lumiere.demo")
    instagram = Channel.objects.get(workspace=workspace, name="Instagram (sandbox)")
    linkedin = Channel.objects.get(workspace=workspace, name="LinkedIn (sandbox)")
    legal = workspace.departments.get(code="legal")

    approvals.update_settings(workspace, by=admin, remind_after_hours=4)
    approvals.save_route(
        workspace,
        by=sophie,
        name="Allégations santé",
        department=legal,
        words="acné\neczéma\ndermatologue\nhypoallergénique\npeau sensible",
    )
    for rule in RULES:
        compliance.create_rule(workspace, by=sophie, channels=(), **rule)
    compliance.update_brand_guide(workspace, by=sophie, **GUIDE)

    # Approved last week after 2 h 40: the report has a wait to show.
    done = publishing.schedule_post(
        workspace,
        by=ines,
        text="Le rituel du matin en 3 gestes ☀️ Lotion, sérum Velours, crème Jour.",
        channels=[instagram],
        at=_at(workspace, 8, 9, 30),
    )
    [step] = ApprovalStep.objects.filter(post=done)
    approvals.approve(step, by=sophie, comment="Très joli, on garde.")
    _asked(done, hours_ago=5 * 24, decided_after=2 + 40 / 60)

    # Sent back: "bon plan" is not how the brand speaks.
    back = publishing.schedule_post(
        workspace,
        by=ines,
        text="Le bon plan de l'été : -30 % sur la crème Solaire Douce 🏖️",
        channels=[instagram],
        at=_at(workspace, 9, 18),
    )
    [step] = ApprovalStep.objects.filter(post=back)
    approvals.request_changes(
        step,
        by=sophie,
        comment="Pas de « bon plan » chez nous, et ajoute la mention sur les stocks.",
    )
    _asked(back, hours_ago=3 * 24, decided_after=1.25)

    # Waiting for a manager: Inès's visual for the evening routine.
    waiting = publishing.schedule_post(
        workspace,
        by=ines,
        text=(
            "La routine du soir en 3 gestes 🌙 Démaquillant, sérum Velours, crème Nuit. "
            "Fabriqué à Grasse."
        ),
        channels=[instagram, linkedin],
        at=_at(workspace, 4, 20),
    )
    Post.objects.filter(pk=waiting.pk).update(title="Routine du soir — visuel d'Inès")
    _asked(waiting, hours_ago=3.5)

    # A health claim: Lucas publishes directly, but legal checks this one.
    claim = publishing.schedule_post(
        workspace,
        by=lucas,
        text=(
            "Peau sensible ? Notre gel nettoyant a été testé sous contrôle dermatologique "
            "sur 40 volontaires."
        ),
        channels=[instagram],
        at=_at(workspace, 5, 12, 30),
    )
    _asked(claim, hours_ago=26)
    ApprovalStep.objects.filter(post=claim).update(reminders_sent=1)
