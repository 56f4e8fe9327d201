"""The ops page: per kind of background work, what is due, running, late and failed."""

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

from portevoix.worker.models import StatefulModel, stateful_models

# A row due for longer than this is late: workers are missing, stuck or too few.
LATE_AFTER = dt.timedelta(minutes=5)
FAILED_SHOWN = 50


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
    #: This kind's rows in the Django admin, when the admin has them and the person may look.
    admin_url: str = ""


def summarize(model: type[StatefulModel], now: dt.datetime | None = None) -> WorkSummary:
    now = now or timezone.now()
    graph = model.STATE_GRAPH
    automatic = [s.name for s in graph.automatic_states()]
    failure = graph.failure.name if graph.failure is not None else None
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    due = Q(state__in=automatic, next_attempt_at__lte=now) & free
    counts: dict[str, Any] = model._default_manager.aggregate(
        due=Count("pk", filter=due),
        running=Count("pk", filter=Q(locked_until__gte=now)),
        late=Count("pk", filter=due & Q(next_attempt_at__lt=now - LATE_AFTER)),
        failed=Count("pk", filter=Q(state=failure)) if failure else Count("pk", filter=Q(pk=None)),
    )
    per_state = dict(
        model._default_manager.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    oldest = (
        model._default_manager.filter(due)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    failed_rows: list[StatefulModel] = []
    if failure:
        failed_rows = list(
            model._default_manager.filter(state=failure).order_by("-state_changed_at")[
                :FAILED_SHOWN
            ]
        )
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
    )


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
        raise PermissionDenied
    now = timezone.now()
    summaries = []
    for model in stateful_models():
        summary = summarize(model, now)
        summary.admin_url = _admin_url(request, model)
        summaries.append(summary)
    return render(
        request,
        "worker/overview.html",
        {"summaries": summaries, "now": now, "late_minutes": int(LATE_AFTER.total_seconds() // 60)},
    )
