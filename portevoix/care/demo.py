"""Webcare in the demo: the team's hours, SLA policies, an evening and weekend rota, rules.

``load_webcare_demo(workspace)`` runs before the demo's channels first sync, so the day of
customers that comes in is routed by these rules, gets SLA clocks and goes to whoever is on
duty; ``finish_webcare_demo(workspace)`` runs after and builds the metrics. Everything goes
through the actions (the audit log shows who set what up).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from portevoix.core.models import Member, Workspace

from . import actions, metrics
from .models import AfterHours, RotaShift, Strategy

OFFICE = "09:00-12:30, 13:30-18:00"
#: French public holidays that fall on the same date every year.
HOLIDAYS = (
    (1, 1, "Jour de l’an"),
    (5, 1, "Fête du Travail"),
    (5, 8, "Victoire 1945"),
    (7, 14, "Fête nationale"),
    (8, 15, "Assomption"),
    (11, 1, "Toussaint"),
    (11, 11, "Armistice"),
    (12, 25, "Noël"),
)
RULES = (
    (
        "Spam et arnaques",
        'intent is spam or text contains crypto, bitcoin, "gagnez un iphone"',
        {"hide": True},
    ),
    (
        "Menace juridique",
        'text contains "mise en demeure", "mon avocat", "porter plainte", "60 millions"',
        {"department": "legal", "priority": "urgent", "labels": "juridique", "escalate": True},
    ),
    (
        "Influence et VIP",
        "followers >= 10000 or author is vip",
        {"priority": "high", "labels": "influence", "escalate": True},
    ),
    (
        "Réclamation négative",
        "intent is complaint and sentiment is negative",
        {"priority": "high", "labels": "réclamation"},
    ),
    (
        "Prix et promotions",
        "intent in pricing, purchase",
        {"department": "sales", "labels": "promo"},
    ),
)
VIPS = (("clara.beaute", "Journaliste beauté, Elle"), ("maison.azur", "Partenaire distribution"))


def _member(workspace: Workspace, email: str) -> Member:
    member: Member = Member.objects.select_related("user").get(
        workspace=workspace, user__email=email
    )
    return member


@transaction.atomic
def load_webcare_demo(workspace: Workspace) -> None:
    if workspace.business_calendars.exists():
        return
    sophie = _member(workspace, "sophie@lumiere.demo")
    lucas = _member(workspace, "lucas@lumiere.demo")
    calendar = actions.create_calendar(
        workspace,
        by=sophie,
        name="Service client",
        time_zone=workspace.time_zone,
        week=actions.parse_week([OFFICE] * 5 + ["10:00-13:00", ""]),
    )
    for month, day, name in HOLIDAYS:
        actions.add_holiday(
            calendar, by=sophie, date=dt.date(2026, month, day), name=name, every_year=True
        )
    actions.update_settings(
        workspace,
        by=sophie,
        calendar=calendar,
        after_hours=AfterHours.ROTA,
        assignment=Strategy.LEAST_LOADED,
        default_capacity=12,
    )
    actions.create_policy(
        workspace,
        by=sophie,
        name="Standard",
        calendar=calendar,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=16 * 60,
        warn_at_percent=75,
    )
    actions.create_policy(
        workspace,
        by=sophie,
        name="Urgent",
        priority=3,
        calendar=calendar,
        first_response_minutes=15,
        next_response_minutes=30,
        resolution_minutes=4 * 60,
        warn_at_percent=60,
    )
    for name, condition, rule_actions in RULES:
        actions.create_rule(
            workspace, by=sophie, name=name, condition=condition, actions=rule_actions
        )
    for handle, note in VIPS:
        actions.add_vip(workspace, by=sophie, handle=handle, note=note)
    _rota(workspace, sophie, lucas)


def _rota(workspace: Workspace, sophie: Member, lucas: Member) -> None:
    """Evenings 18:00-22:00 in turn, Saturday afternoons and Sundays, for four weeks."""
    zone = ZoneInfo(workspace.time_zone)
    today = timezone.now().astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())

    def at(day: dt.date, clock: str) -> dt.datetime:
        hour, minute = (int(x) for x in clock.split(":"))
        return dt.datetime.combine(day, dt.time(hour, minute), zone)

    for offset in range(5):
        day = monday + dt.timedelta(days=offset)
        actions.create_shifts(
            workspace,
            by=sophie,
            member=lucas if offset % 2 == 0 else sophie,
            starts_at=at(day, "18:00"),
            ends_at=at(day, "22:00"),
            weeks=4,
            note="Soirée",
        )
    saturday, sunday = monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
    actions.create_shifts(
        workspace,
        by=sophie,
        member=lucas,
        starts_at=at(saturday, "13:00"),
        ends_at=at(saturday, "22:00"),
        weeks=4,
        note="Samedi",
    )
    actions.create_shifts(
        workspace,
        by=sophie,
        member=sophie,
        starts_at=at(sunday, "10:00"),
        ends_at=at(sunday, "20:00"),
        weeks=4,
        note="Dimanche",
    )
    # Lucas asks Sophie to take his Saturday in two weeks.
    later = RotaShift.objects.filter(
        member=lucas, note="Samedi", starts_at__gt=at(saturday + dt.timedelta(days=7), "00:00")
    ).first()
    if later is not None:
        actions.request_swap(later, by=lucas, offered_to=sophie, message="Mariage de ma sœur")


def finish_webcare_demo(workspace: Workspace) -> None:
    """After the first sync: the metrics of the day that came in."""
    now = timezone.now()
    metrics.refresh(workspace, now - dt.timedelta(days=2), now)
