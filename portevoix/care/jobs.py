"""Webcare's periodic work, as housekeeping jobs (``docs/worker.md``).

* ``care-assign`` (every minute): conversations waiting for someone go to whoever is on duty
  as capacity frees, a shift starts or a member comes back — oldest first;
* ``care-rota`` (every 10 minutes): members whose shift starts within the hour are told;
* ``care-metrics`` (every 15 minutes): the last two days of metrics are rebuilt.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from portevoix.core.models import Workspace
from portevoix.inbox.models import ACTIVE_STATES, Conversation
from portevoix.worker.models import Housekeeping

from . import assignment, metrics, notices, rota
from .models import RotaShift, Strategy, workspace_settings

REMIND_BEFORE = dt.timedelta(hours=1)


def assign(row: Housekeeping) -> str:
    now = timezone.now()
    waiting = (
        Conversation.objects.filter(assignee__isnull=True, state__in=ACTIVE_STATES)
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    given = 0
    for workspace in Workspace.objects.filter(pk__in=list(waiting)):
        with transaction.atomic():
            settings = workspace_settings(workspace)
            status = rota.status(workspace, now, settings=settings)
            if status.mode == "open" and settings.assignment == Strategy.MANUAL:
                continue
            made = assignment.assign_waiting(workspace, now=now, settings=settings, status=status)
            for conversation, member in made:
                conversation.workspace = workspace
                notices.assigned(conversation, member, on_duty=status.mode == "rota")
            given += len(made)
    return f"{given} conversation(s) assigned"


def remind_shifts(row: Housekeeping) -> str:
    now = timezone.now()
    told = 0
    for shift in RotaShift.objects.filter(
        starts_at__gt=now, starts_at__lte=now + REMIND_BEFORE, member__is_active=True
    ).select_related("workspace", "member__user"):
        with transaction.atomic():
            notices.shift_starts(shift)
            told += 1
    return f"{told} shift(s) reminded"


def refresh_metrics(row: Housekeeping) -> str:
    return f"{metrics.refresh_recent()} row(s) of metrics rebuilt"


def register() -> None:
    from portevoix.worker import housekeeping

    housekeeping.register("care-assign", 60, assign)
    housekeeping.register("care-rota", 600, remind_shifts)
    housekeeping.register("care-metrics", 900, refresh_metrics)
