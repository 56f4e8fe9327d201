"""The ops page: per kind of background work, what is due, running, late, stuck and failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.worker.models import StatefulModel, stateful_models

# A row due for longer than this is late: workers are missing, stuck or too few.
LATE_AFTER = dt.timedelta(minutes=5)
# A row waiting for a person for longer than this is stuck: nobody is looking.
WAITING_AFTER = dt.timedelta(hours=24)
FAILED_SHOWN = 50
# Rows shown per kind of work and per reason it is stuck.
STUCK_SHOWN = 50

#: Why a row is listed as stuck, in the order the page shows them.
REASONS = {
    "failed": _("failed"),
    "lease_expired": _("lease expired"),
    "late": _("late"),
    "waiting": _("waiting for a person"),
}


@dataclass
class Stuck:
    row: StatefulModel
    reason: str
    since: dt.datetime | None

    @property
    def reason_label(self) -> str:
        return str(REASONS[self.reason])


@dataclass
class WorkSummary:
    label: str
    name: str
    due: int
    running: int
    late: int
    failed: int
    by_state: list[tuple[str, int]]
    oldest_due: dt.datetime | None
    failed_rows: list[StatefulModel] = field(default_factory=list)
    waiting: int = 0
    lease_expired: int = 0
    stuck: list[Stuck] = field(default_factory=list)
    #: This kind's rows in the Django admin, when the admin has them and the person may look.
    admin_url: str = ""


def waiting_states(model: type[StatefulModel]) -> list[str]:
    """The states where a row waits for a person: the model's ``WAITING_FOR_PERSON`` when it
    declares them, else every state without a handler that is neither terminal nor failure."""
    declared = getattr(model, "WAITING_FOR_PERSON", None)
    if declared is not None:
        return sorted(declared)
    graph = model.STATE_GRAPH
    return [s.name for s in graph.states.values() if s.external and not s.failure]


def summarize(model: type[StatefulModel], now: dt.datetime | None = None) -> WorkSummary:
    now = now or timezone.now()
    graph = model.STATE_GRAPH
    automatic = [s.name for s in graph.automatic_states()]
    failure = graph.failure.name if graph.failure is not None else None
    waiting_in = waiting_states(model)
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    due = Q(state__in=automatic, next_attempt_at__lte=now) & free
    late = due & Q(next_attempt_at__lt=now - LATE_AFTER)
    expired = Q(locked_until__lt=now) & ~Q(locked_by="")
    waiting = Q(state__in=waiting_in, state_changed_at__lt=now - WAITING_AFTER)
    manager = model._default_manager
    counts: dict[str, Any] = manager.aggregate(
        due=Count("pk", filter=due),
        running=Count("pk", filter=Q(locked_until__gte=now)),
        late=Count("pk", filter=late),
        failed=Count("pk", filter=Q(state=failure)) if failure else Count("pk", filter=Q(pk=None)),
        waiting=Count("pk", filter=waiting) if waiting_in else Count("pk", filter=Q(pk=None)),
        lease_expired=Count("pk", filter=expired),
    )
    per_state = dict(
        manager.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    oldest = (
        manager.filter(due).order_by("next_attempt_at").values_list("next_attempt_at", flat=True)
    ).first()
    failed_rows: list[StatefulModel] = []
    stuck: list[Stuck] = []
    if failure:
        failed_rows = list(
            manager.filter(state=failure).order_by("-state_changed_at")[:FAILED_SHOWN]
        )
        stuck += [Stuck(r, "failed", r.state_changed_at) for r in failed_rows]
    if counts["lease_expired"]:
        rows = manager.filter(expired).order_by("locked_until")[:STUCK_SHOWN]
        stuck += [Stuck(r, "lease_expired", r.locked_until) for r in rows]
    if counts["late"]:
        rows = manager.filter(late).order_by("next_attempt_at")[:STUCK_SHOWN]
        stuck += [Stuck(r, "late", r.next_attempt_at) for r in rows]
    if counts["waiting"]:
        rows = manager.filter(waiting).order_by("state_changed_at")[:STUCK_SHOWN]
        stuck += [Stuck(r, "waiting", r.state_changed_at) for r in rows]
    return WorkSummary(
        label=model._meta.label,
        name=str(model._meta.verbose_name_plural),
        due=counts["due"],
        running=counts["running"],
        late=counts["late"],
        failed=counts["failed"],
        by_state=[(name, per_state.get(name, 0)) for name in graph.states],
        oldest_due=oldest,
        failed_rows=failed_rows,
        waiting=counts["waiting"],
        lease_expired=counts["lease_expired"],
        stuck=_once(stuck),
    )


def _once(stuck: list[Stuck]) -> list[Stuck]:
    """Each row once, under the first reason it is stuck for (a dead worker's row is late too)."""
    seen: set[Any] = set()
    kept = []
    for entry in stuck:
        if entry.row.pk not in seen:
            seen.add(entry.row.pk)
            kept.append(entry)
    return kept


def _admin_url(request: HttpRequest, model: type[StatefulModel]) -> str:
    """The admin's list of ``model``'s rows, if it is registered and the person may view it
    (an app's admin index answers 404 to a staff account that may view none of its models)."""
    opts = model._meta
    if not admin.site.is_registered(model):
        return ""
    may = [f"{opts.app_label}.{get_permission_codename(a, opts)}" for a in ("view", "change")]
    if not any(request.user.has_perm(p) for p in may):
        return ""
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def overview(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        raise PermissionDenied(
            _("Only the operators of this installation (staff accounts) see the worker.")
        )
    now = timezone.now()
    summaries = []
    for model in stateful_models():
        summary = summarize(model, now)
        summary.admin_url = _admin_url(request, model)
        summaries.append(summary)
    return render(
        request,
        "worker/overview.html",
        {
            "summaries": summaries,
            "now": now,
            "late_minutes": int(LATE_AFTER.total_seconds() // 60),
            "waiting_hours": int(WAITING_AFTER.total_seconds() // 3600),
        },
    )
