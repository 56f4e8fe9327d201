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
from portevoix.core.models import AuditEntry, Department, Invitation, Member, User, Workspace
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
    ("aicha@lumiere.demo", "Aïcha Benali", Role.AMBASSADOR, "hr"),
    # Seed 001: communication weighs a crisis's impact on the brand and drafts what it says
    # (a content marketer: she writes the holding statement), finance its cost; each ticks its
    # own list in crisis mode.
    ("elodie@lumiere.demo", "Élodie Lambert", Role.CONTENT, "communication"),
    ("antoine@lumiere.demo", "Antoine Mercier", Role.AGENT, "finance"),
)


@dataclass
class DemoResult:
    workspace: Workspace
    logins: list[tuple[str, str]] = field(default_factory=list)


def _user(email: str, name: str, password_hash: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, None, full_name=name)
        # One hash for every demo account: the login page checks the password once to know
        # whether the demo accounts still have it (see open_logins).
        User.objects.filter(pk=user.pk).update(password=password_hash)
        user.password = password_hash
    return user


def _is_demo_password(encoded: str) -> bool:
    """Does this stored hash still open with the demo's public password? (cached: a check
    costs half a second, and every demo account shares one hash until its password changes)"""
    import hashlib

    from django.contrib.auth.hashers import check_password
    from django.core.cache import cache

    key = "portevoix:demo-password:" + hashlib.sha256(encoded.encode()).hexdigest()
    known = cache.get(key)
    if known is None:
        known = bool(encoded) and check_password(PASSWORD, encoded)
        cache.set(key, known, None)
    return bool(known)


def open_logins() -> list[tuple[str, str]]:
    """The demo accounts whose password is still the public one, for the login page.

    An account whose password was changed is no longer a demo account: it is not listed.
    """
    stored = dict(
        User.objects.filter(email__in=[p[0] for p in PEOPLE], is_active=True).values_list(
            "email", "password"
        )
    )
    return [
        (email, label)
        for email, label in logins()
        if email in stored and _is_demo_password(stored[email])
    ]


def logins() -> list[tuple[str, str]]:
    """(e-mail, "role — department") for every demo account, in the active language."""
    from django.utils.translation import gettext

    names = dict(Department.objects.filter(workspace__slug=SLUG).values_list("code", "name"))
    rows = []
    for email, _, role, code in PEOPLE:
        label = str(Role(role).label)
        if (role == Role.AGENT or code == "communication") and code:
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


def _purge(slugs: list[str]) -> None:
    """The demo is throwaway: a reset removes its workspaces *with* their history.

    This is the one place where audit entries are deleted, and it only ever touches the demo's
    own workspaces. A real workspace is archived (``actions.archive_workspace``), never deleted:
    its audit entries protect it.
    """
    from django.db import connection

    ids = list(Workspace.objects.filter(slug__in=slugs).values_list("pk", flat=True))
    if not ids:
        return
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE workspace_id IN ({marks})", ids)  # noqa: S608
    from portevoix.channels.models import Channel
    from portevoix.publishing.models import Publication

    # Channels protect their publications, departments their members, invitations and
    # channels: the demo's go first, in that order. What else protects a row of these
    # workspaces (media used by posts, SLA policies used by clocks, routes used by approval
    # steps...) is deleted first, as Django names it.
    _delete(Publication.objects.filter(channel__workspace_id__in=ids))
    _delete(Channel.objects.filter(workspace_id__in=ids))
    _delete(Member.objects.filter(workspace_id__in=ids))
    _delete(Invitation.objects.filter(workspace_id__in=ids))
    _delete(Workspace.objects.filter(pk__in=ids))


def _delete(rows: Any, depth: int = 0) -> None:
    """Delete ``rows`` and, first, whatever protects them (only ever the demo's own rows)."""
    from collections import defaultdict

    from django.db.models import ProtectedError, RestrictedError

    for _ in range(50):
        try:
            with transaction.atomic():
                rows.delete()
            return
        except (ProtectedError, RestrictedError) as exc:
            if depth > 10:
                raise
            blocking = (
                exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            )
            by_model: dict[Any, list[Any]] = defaultdict(list)
            for obj in blocking:
                by_model[type(obj)].append(obj.pk)
            for model, pks in by_model.items():
                _delete(model._base_manager.filter(pk__in=pks), depth + 1)
    rows.delete()


@transaction.atomic
def load(*, reset: bool = False) -> DemoResult:
    existing = Workspace.objects.filter(slug=SLUG).first()
    if existing is not None and reset:
        emails = [p[0] for p in PEOPLE] + ["marc@port.demo"]
        _purge([SLUG, SECOND_SLUG])
        User.objects.filter(email__in=emails).delete()
        existing = None
    if existing is not None:
        operator = User.objects.filter(email=PEOPLE[0][0]).first()
        if operator is not None:
            grant_operations(operator)
        return DemoResult(existing, logins())

    from django.contrib.auth.hashers import make_password

    password_hash = make_password(PASSWORD)
    with audit.origin(audit.Origin(label="demo")):
        admin_user = _user(PEOPLE[0][0], PEOPLE[0][1], password_hash)
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
            actions.accept_invitation(token, user=_user(email, name, password_hash))
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
        former = _user("marc@port.demo", "Marc Lefèvre", password_hash)
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
        from portevoix.publishing.approvals.demo import load_editorial_demo

        load_editorial_demo(workspace)

        from portevoix.inbox.demo import load_inbox_demo

        load_inbox_demo(workspace)

        finish_webcare_demo(workspace)  # metrics of the day, answers included
        from portevoix.strategy.demo import load_strategy_demo

        load_strategy_demo(workspace)
        from portevoix.analytics.demo import load_analytics_demo

        load_analytics_demo(workspace)  # three months of results behind the charts
        from portevoix.crisis.demo import load_crisis_demo

        load_crisis_demo(workspace)

        from portevoix.listening.demo import load_listening_demo

        load_listening_demo(workspace)  # a month of mentions read through the pipeline
        from portevoix.strategy.demo import load_ambassadors_demo

        load_ambassadors_demo(workspace)  # needs published posts: after the others
        from portevoix.roi.demo import load_money_demo

        load_money_demo(workspace)  # a month of leads, deals, clicks and spend
        from portevoix.api.demo import load_integrations_demo

        load_integrations_demo(workspace)  # a CRM with two leads handed off, one deal won
        from portevoix.training.demo import load_training_demo

        load_training_demo(workspace)  # the compliance rules acknowledged by most
        from portevoix.privacy.demo import load_privacy_demo

        load_privacy_demo(workspace)  # retention periods, a customer's data request

    return DemoResult(workspace, logins())


def _load_channels(workspace: Workspace, admin: Member) -> None:
    """The company's sandbox accounts (a month of posts, a day of customers writing in),
    connected as channels and synced once, so the inbox is full when the demo opens; and a
    few posts that need a person, so the attention page and the bell are not empty."""
    from portevoix.channels import actions as channel_actions
    from portevoix.channels.models import SYNC_INTERVAL, StrategyLevel
    from portevoix.publishing.demo import load_attention_demo
    from portevoix.sandbox import service
    from portevoix.sandbox.demo import load_sandbox_demo

    names = {"photo": "Instagram (sandbox)", "pro": "LinkedIn (sandbox)"}
    owners = {"photo": "marketing", "pro": "communication"}
    channels: dict[str, Any] = {}
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
        channels[account.flavour] = channel
    # Posts that need a person (the "Needs attention" page) and the notifications they brought.
    load_attention_demo(workspace, admin, channels)
    # A month of the content plan: campaigns, posts, a visual request, ideas, dates.
    from portevoix.publishing.demo_plan import load_plan

    load_plan(workspace)
    # A manual channel (Snapchat): posts published by hand with their results, one waiting.
    from portevoix.publishing.manual_demo import load_manual_demo

    load_manual_demo(workspace, admin)


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
    from portevoix.publishing import actions as publishing

    manager = Member.objects.get(workspace=workspace, user__email="sophie@lumiere.demo")
    zone = channel.audience_zone  # posts are planned in the audience's zone
    today = timezone.now().astimezone(zone).date()
    for days, clock, text in UPCOMING.get(flavour, ()):
        hour, minute = (int(x) for x in clock.split(":"))
        at = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), zone)
        publishing.schedule_post(workspace, by=manager, text=text, channels=[channel], at=at)
