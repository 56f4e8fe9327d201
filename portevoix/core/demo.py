"""The demo: a French company with a member of every role, and a second brand next to it.

Everything is created through the actions, so the demo also fills the audit log the way
real use would. Loading is idempotent: run it again and nothing is duplicated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from portevoix.core import actions, audit
from portevoix.core.models import Department, Member, User, Workspace
from portevoix.core.permissions import Role

PASSWORD = "porte-voix-demo"
SLUG = "lumiere"
SECOND_SLUG = "brasserie-du-port"

PEOPLE: tuple[tuple[str, str, str, str | None], ...] = (
    # email, name, role, department code
    ("admin@lumiere.demo", "Claire Martin", Role.ADMIN, "direction"),
    ("sophie@lumiere.demo", "Sophie Bernard", Role.MANAGER, "marketing"),
    ("lucas@lumiere.demo", "Lucas Petit", Role.CONTENT, "marketing"),
    ("ines@lumiere.demo", "Inès Moreau", Role.CREATIVE, "marketing"),
    ("thomas@lumiere.demo", "Thomas Laurent", Role.ANALYST, "marketing"),
    ("julien@lumiere.demo", "Julien Garnier", Role.AGENT, "sales"),
    ("nadia@lumiere.demo", "Nadia Haddad", Role.AGENT, "customer_service"),
    ("camille@lumiere.demo", "Camille Roux", Role.AGENT, "legal"),
    ("philippe@lumiere.demo", "Philippe Durand", Role.VIEWER, "direction"),
)


@dataclass
class DemoResult:
    workspace: Workspace
    logins: list[tuple[str, str]] = field(default_factory=list)


def _user(email: str, name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, PASSWORD, full_name=name)
    return user


def logins() -> list[tuple[str, str]]:
    """(e-mail, "role — department") for every demo account, in the active language."""
    from django.utils.translation import gettext

    names = dict(Department.objects.filter(workspace__slug=SLUG).values_list("code", "name"))
    rows = []
    for email, _, role, code in PEOPLE:
        label = str(Role(role).label)
        if role == Role.AGENT and code:
            label = f"{label} — {names.get(code, gettext(code))}"
        rows.append((email, label))
    return rows


OPERATORS_GROUP = "Opérations (démo)"


def grant_operations(user: User) -> None:
    """The demo's admin also operates the installation: the ops page (``/ops/work/``, staff
    only) and, in the Django admin, what it links to: the rows of every kind of background
    work, and the sandbox network's controls (faults, a crisis). A staff account with no
    permission would find an empty admin."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from portevoix.worker.models import stateful_models

    models: list[Any] = [*stateful_models()]
    if apps.is_installed("portevoix.sandbox"):
        models += list(apps.get_app_config("sandbox").get_models())
    types = ContentType.objects.get_for_models(*models).values()
    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    group.permissions.set(
        Permission.objects.filter(content_type__in=types, codename__regex=r"^(view|change)_")
    )
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.groups.add(group)


@transaction.atomic
def load(*, reset: bool = False) -> DemoResult:
    existing = Workspace.objects.filter(slug=SLUG).first()
    if existing is not None and reset:
        emails = [p[0] for p in PEOPLE] + ["marc@port.demo"]
        Workspace.objects.filter(slug__in=[SLUG, SECOND_SLUG]).delete()
        User.objects.filter(email__in=emails).delete()
        existing = None
    if existing is not None:
        operator = User.objects.filter(email=PEOPLE[0][0]).first()
        if operator is not None:
            grant_operations(operator)
        return DemoResult(existing, logins())

    with audit.origin(audit.Origin(label="demo")):
        admin_user = _user(PEOPLE[0][0], PEOPLE[0][1])
        grant_operations(admin_user)
        workspace = actions.create_workspace(
            name="Lumière Cosmétiques", slug=SLUG, creator=admin_user, language="fr"
        )
        admin = Member.objects.get(workspace=workspace, user=admin_user)
        admin = actions.change_role(
            admin,
            by=admin,
            role=Role.ADMIN,
            department=Department.objects.get(workspace=workspace, code="direction"),
        )
        for email, name, role, code in PEOPLE[1:]:
            department = Department.objects.get(workspace=workspace, code=code) if code else None
            _invitation, token = actions.invite(
                workspace, by=admin, email=email, role=role, department=department
            )
            actions.accept_invitation(token, user=_user(email, name))
        sophie = Member.objects.get(workspace=workspace, user__email="sophie@lumiere.demo")
        # A pending invitation and a departed freelancer, so that those pages have content.
        actions.invite(
            workspace,
            by=sophie,
            email="lea.fontaine@freelance.demo",
            role=Role.CREATIVE,
        )
        actions.create_department(
            workspace,
            by=sophie,
            name="Ambassadeurs",
            description="Salariés qui relaient les contenus approuvés",
        )
        former = _user("marc@port.demo", "Marc Lefèvre")
        _, token = actions.invite(workspace, by=sophie, email=former.email, role=Role.CONTENT)
        marc = actions.accept_invitation(token, user=former)
        actions.deactivate_member(marc, by=admin)

        # An agency case: Sophie also runs a second brand.
        second = actions.create_workspace(
            name="Brasserie du Port", slug=SECOND_SLUG, creator=former, language="fr"
        )
        second_admin = Member.objects.get(workspace=second, user=former)
        _, token = actions.invite(
            second, by=second_admin, email="sophie@lumiere.demo", role=Role.ADMIN
        )
        actions.accept_invitation(token, user=User.objects.get(email="sophie@lumiere.demo"))
        from portevoix.care.demo import finish_webcare_demo, load_webcare_demo

        load_webcare_demo(workspace)  # before the first sync routes the day that comes in
        _load_channels(workspace, admin)
        finish_webcare_demo(workspace)

    return DemoResult(workspace, logins())


def _load_channels(workspace: Workspace, admin: Member) -> None:
    """The company's sandbox accounts (a month of posts, a day of customers writing in),
    connected as channels and synced once, so the inbox is full when the demo opens."""
    from portevoix.channels import actions as channel_actions
    from portevoix.channels.models import SYNC_INTERVAL, StrategyLevel
    from portevoix.sandbox import service
    from portevoix.sandbox.demo import load_sandbox_demo

    names = {"photo": "Instagram (sandbox)", "pro": "LinkedIn (sandbox)"}
    owners = {"photo": "marketing", "pro": "communication"}
    for account in load_sandbox_demo(workspace):
        channel = channel_actions.connect_channel(
            workspace,
            by=admin,
            network="sandbox",
            credentials=service.credentials_for(account),
            name=names.get(account.flavour, account.handle),
            owner_department=Department.objects.get(
                workspace=workspace, code=owners.get(account.flavour, "marketing")
            ),
            strategy_level=StrategyLevel.PROACTIVE,
        )
        outcome = channel.handle_active()
        type(channel).objects.filter(pk=channel.pk).update(
            **outcome.fields,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=SYNC_INTERVAL),
        )
        _schedule_posts(workspace, channel, account.flavour)


UPCOMING = {
    "photo": (
        (
            1,
            "09:30",
            "Nouveau : le sérum Velours arrive lundi 🌸 Qui veut le tester en avant-première ?",
        ),
        (3, "12:15", "Derrière les flacons : visite de notre atelier de Grasse 🎥"),
        (6, "18:00", "-20 % sur les coffrets ce week-end seulement ✨"),
    ),
    "pro": (
        (2, "08:45", "Nous recrutons un·e responsable qualité à Grasse. Postulez !"),
        (5, "10:00", "Cosmétique et sobriété : ce que nos clientes nous ont appris en 2026."),
    ),
}


def _schedule_posts(workspace: Workspace, channel: Any, flavour: str) -> None:
    """The coming week's plan, so the channel pages show scheduled publications."""
    from zoneinfo import ZoneInfo

    from portevoix.publishing import actions as publishing

    manager = Member.objects.get(workspace=workspace, user__email="sophie@lumiere.demo")
    zone = ZoneInfo(workspace.time_zone)
    today = timezone.now().astimezone(zone).date()
    for days, clock, text in UPCOMING.get(flavour, ()):
        hour, minute = (int(x) for x in clock.split(":"))
        at = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), zone)
        publishing.schedule_post(workspace, by=manager, text=text, channels=[channel], at=at)
