"""Demo: a month of what the demo company's social media brought and cost, so the money
pages are filled the day the demo opens: leads from the CRM and from a CSV import (some became
deals won or lost), recorded through the same action as the pages."""

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
    return made
