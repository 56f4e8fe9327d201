"""Drill pages: start one, follow the running one, past drills and their scores, one drill.

Views parse and render; :mod:`portevoix.crisis.drills` decides. Reading needs ``crisis.view``;
starting and ending a drill ``crisis.declare``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from portevoix.core.actions import ActionRefused
from portevoix.core.permissions import can, require

from . import drills
from .models import Drill, DrillKind
from .views import _has_sandbox, _reader


def _scenarios() -> list[tuple[str, Any]]:
    crisis = [
        (
            f"crisis:{i:g}",
            gettext_lazy("Staged crisis, intensity %(intensity)s") % {"intensity": f"{i:g}"},
        )
        for i in drills.CRISIS_INTENSITIES
    ]
    evening = [
        (
            f"evening:{f:g}",
            gettext_lazy("Busy webcare evening: customers write %(factor)s times as often")
            % {"factor": f"{f:g}"},
        )
        for f in drills.EVENING_FACTORS
    ]
    return crisis + evening


class DrillForm(forms.Form):
    scenario = forms.ChoiceField(label=gettext_lazy("Scenario"), choices=_scenarios)
    hours = forms.TypedChoiceField(
        label=gettext_lazy("Duration"),
        coerce=int,
        choices=[(h, gettext_lazy("%(hours)s h") % {"hours": h}) for h in drills.DURATIONS],
        initial=drills.DEFAULT_DURATION,
        help_text=gettext_lazy("The drill ends by itself after this long, and is scored."),
    )


def _seconds(value: int | None) -> str:
    if value is None:
        return "—"
    minutes = round(value / 60)
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    return _("%(hours)s h %(minutes)02d") % {"hours": minutes // 60, "minutes": minutes % 60}


def _row(drill: Drill) -> dict[str, Any]:
    scores = drill.scores or {}
    share = scores.get("sla_share")
    return {
        "drill": drill,
        "alert": _seconds(scores.get("alert_seconds")),
        "incident": _seconds(scores.get("incident_seconds")),
        "statement": _seconds(scores.get("statement_seconds"))
        if scores.get("statements_built")
        else None,
        "sla": f"{round(share * 100)} %" if share is not None else "—",
        "conversations": scores.get("conversations", 0),
        "checklists": [
            {**c, "took": _seconds(c.get("seconds"))} for c in scores.get("checklists", [])
        ],
    }


def drills_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    form = DrillForm()
    status = 200
    if request.method == "POST":
        require(me, "crisis.declare")
        form = DrillForm(request.POST)
        if form.is_valid():
            kind, _sep, value = form.cleaned_data["scenario"].partition(":")
            try:
                drill = drills.start_drill(
                    me.workspace,
                    by=me,
                    kind=kind,
                    intensity=float(value),
                    hours=form.cleaned_data["hours"],
                )
            except ActionRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "The drill has started on the sandbox: handle it as if it were real. "
                        "Everything it brings is marked as a drill."
                    ),
                )
                return redirect("crisis_drill", ws=ws, pk=drill.pk)
        status = 400
    rows = [_row(d) for d in Drill.objects.visible_to(me).order_by("-started_at")[:50]]
    current = next((r["drill"] for r in rows if r["drill"].is_running), None)
    return render(
        request,
        "crisis/drills.html",
        {
            "rows": [r for r in rows if not r["drill"].is_running],
            "current": current,
            "form": form,
            "can_declare": can(me, "crisis.declare"),
            "has_sandbox": _has_sandbox(me),
            "targets": {k: round(v.total_seconds() / 60) for k, v in drills.TARGETS.items()},
            "active_section": "crisis",
            "tab": "drills",
        },
        status=status,
    )


@require_GET
def drill_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    drill = Drill.objects.get_for(me, pk=pk)
    if drill.is_running:
        drill.scores = drills.live_scores(drill)
        drill.score = drill.scores.get("score")
    results = list(drill.results.select_related("member__user").order_by("member__user__email"))
    return render(
        request,
        "crisis/drill.html",
        {
            "drill": drill,
            "row": _row(drill),
            "results": results,
            "can_declare": can(me, "crisis.declare"),
            "is_crisis": drill.kind == DrillKind.CRISIS,
            "active_section": "crisis",
            "tab": "drills",
        },
    )


@require_POST
def drill_end(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    drill = Drill.objects.get_for(me, pk=pk)
    require(me, "crisis.declare")
    try:
        drills.end_drill(drill, by=me)
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The drill has ended and is scored."))
    return redirect("crisis_drill", ws=ws, pk=drill.pk)
