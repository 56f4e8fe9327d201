"""Demo: a month of what the demo company's social media brought and cost, so the money
pages are filled the day the demo opens: leads from the CRM and from a CSV import (some became
deals won or lost), paid promotion, budgets (one over) and short-link clicks, recorded through
the same actions as the pages (the clicks' counters directly: a month of clicks one by one
would be thousands of writes)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from portevoix.channels.models import Channel
from portevoix.core.models import Member, Workspace
from portevoix.publishing.models import Campaign

from . import actions
from .models import LeadSource, LeadStatus

DAYS = 30
COMPANIES = (
    "Institut Belle Peau",
    "Spa des Alpilles",
    "Hôtel du Port",
    "Pharmacie Centrale",
    "Boutique Rose & Lin",
    "Salon Éclat",
    "Concept store Oria",
    "Parfumerie Noé",
)


def load_money_demo(workspace: Workspace, *, now: dt.datetime | None = None) -> int:
    """A month of leads across the demo's channels and campaigns; returns how many."""
    now = now or timezone.now()
    rng = random.Random(f"money-{workspace.slug}")
    analyst = (
        Member.objects.filter(workspace=workspace, role="analyst", is_active=True).first()
        or Member.objects.filter(workspace=workspace, role="admin").first()
    )
    channels = list(Channel.objects.filter(workspace=workspace, network="sandbox").order_by("pk"))
    campaigns = list(Campaign.objects.filter(workspace=workspace).order_by("pk"))
    made = 0
    for day in range(DAYS, 0, -1):
        for number in range(rng.choice((0, 1, 1, 2, 3))):
            came_in = now - dt.timedelta(days=day, hours=rng.randint(0, 9))
            status = rng.choices(
                [LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.WON, LeadStatus.LOST],
                weights=[4, 3, 2, 1] if day < 10 else [1, 2, 4, 3],
            )[0]
            closed = None
            if status in (LeadStatus.WON, LeadStatus.LOST):
                closed = min(now, came_in + dt.timedelta(days=rng.randint(2, 12)))
            value = (
                rng.choice((350, 480, 900, 1200, 2400, 3600)) if status != LeadStatus.NEW else None
            )
            by_crm = rng.random() < 0.6
            actions.record_lead(
                workspace,
                by=None if by_crm else analyst,
                source=LeadSource.CRM if by_crm else LeadSource.CSV,
                external_id=f"{'CRM' if by_crm else 'XLS'}-{day:02d}{number}",
                name=rng.choice(COMPANIES),
                status=status,
                value=value,
                channel=rng.choice(channels) if channels and rng.random() < 0.85 else None,
                campaign=rng.choice(campaigns) if campaigns and rng.random() < 0.6 else None,
                occurred_at=came_in,
                closed_at=closed,
            )
            made += 1
    load_spend_demo(workspace, now=now)
    return made


def load_spend_demo(workspace: Workspace, *, now: dt.datetime | None = None) -> dict[str, int]:
    """A month of paid promotion (boosts of published posts and ads of their own), budgets
    for this month per channel and for the first campaign (one of them over), and short
    links on the month's published posts with their daily clicks."""
    from portevoix.publishing.models import Publication, PublicationStates

    from .models import Budget, LinkClicks, ShortLink
    from .shortlinks import new_code

    if Budget.objects.filter(workspace=workspace).exists():
        return {"boosts": 0, "budgets": 0, "links": 0}  # loaded already
    now = now or timezone.now()
    today = timezone.localdate(now)
    rng = random.Random(f"spend-{workspace.slug}")
    spender = (
        Member.objects.filter(workspace=workspace, role__in=["content", "manager"], is_active=True)
        .order_by("role")
        .first()
        or Member.objects.filter(workspace=workspace, role="admin").first()
    )
    manager = (
        Member.objects.filter(workspace=workspace, role="manager", is_active=True).first()
        or Member.objects.filter(workspace=workspace, role="admin").first()
    )
    channels = list(Channel.objects.filter(workspace=workspace, network="sandbox").order_by("pk"))
    campaigns = list(Campaign.objects.filter(workspace=workspace).order_by("pk"))
    if spender is None or manager is None or not channels:
        return {"boosts": 0, "budgets": 0, "links": 0}
    published = list(
        Publication.objects.filter(
            post__workspace=workspace,
            state=PublicationStates.published.name,
            published_at__gte=now - dt.timedelta(days=DAYS),
        )
        .select_related("post", "channel")
        .order_by("published_at")[:40]
    )
    boosts = 0
    for number, publication in enumerate(published[::3][:8]):
        start = timezone.localdate(publication.published_at)
        actions.record_boost(
            workspace,
            by=spender,
            external_id=f"BOOST-{number + 1:03d}",
            source="csv",
            post=publication.post,
            channel=publication.channel,
            audience=rng.choice(("25-45, Lyon", "Femmes 30-55, France", "Étudiants, Paris")),
            budget=rng.choice((80, 120, 200)),
            spent=rng.choice((60, 95, 110, 180)),
            impressions=rng.randint(8000, 30000),
            clicks=rng.randint(90, 420),
            leads=rng.randint(0, 7),
            start_on=start,
            end_on=min(today, start + dt.timedelta(days=6)),
        )
        boosts += 1
    for week in range(4):
        start = today - dt.timedelta(days=7 * (week + 1))
        actions.record_boost(
            workspace,
            by=spender,
            external_id=f"AD-{week + 1:03d}",
            source="csv",
            channel=channels[week % len(channels)],
            campaign=campaigns[0] if campaigns else None,
            audience="Lookalike clients 1 %",
            spent=rng.choice((150, 220, 260)),
            impressions=rng.randint(20000, 60000),
            clicks=rng.randint(200, 900),
            leads=rng.randint(2, 12),
            start_on=start,
            end_on=start + dt.timedelta(days=6),
        )
        boosts += 1
    first = today.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    budgets = 0
    for index, channel in enumerate(channels[:3]):
        actions.set_budget(
            workspace,
            by=manager,
            channel=channel,
            planned=(150, 600, 900)[index],
            start_on=first,
            end_on=last,
            note="Publicité du mois",
        )
        budgets += 1
    if campaigns:
        actions.set_budget(
            workspace,
            by=manager,
            campaign=campaigns[0],
            planned=1500,
            start_on=first,
            end_on=last,
        )
        budgets += 1
    links = 0
    for publication in published:
        if not rng.random() < 0.7:
            continue
        link = ShortLink.objects.create(
            workspace=workspace,
            code=new_code(),
            target=publication.link or "https://lumiere.example/",
            publication=publication,
            post=publication.post,
            channel=publication.channel,
            campaign=publication.post.campaign,
        )
        links += 1
        start = publication.published_at.date()
        for offset in range(min(10, (now.date() - start).days + 1)):
            count = max(0, int(rng.gauss(60 / (offset + 1), 6)))
            if count:
                LinkClicks.objects.create(
                    link=link, day=start + dt.timedelta(days=offset), count=count
                )
    return {"boosts": boosts, "budgets": budgets, "links": links}
