"""Crisis pages: alerts, incidents (checklists, pause, scan, timeline), the playbook.

Views parse and render; :mod:`portevoix.crisis.actions` decides. Reading needs
``crisis.view``; opening, closing and shaping incidents and the playbook ``crisis.declare``; a
department's members tick their own list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Department, Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member

from . import actions
from .forms import CloseForm, IncidentForm, NoteForm, PlaybookForm, TermsForm
from .models import Alert, AlertState, Incident, IncidentTask
from .response_views import response_context


def _reader(request: HttpRequest) -> Member:
    me = _member(request)
    require(me, "crisis.view")
    return me


def _run[T](request: HttpRequest, form: forms.Form | None, call: Callable[[], T]) -> T | None:
    """Run an action; a refusal goes onto the form (in place) or into the page's messages."""
    try:
        return call()
    except ActionRefused as exc:
        if form is not None:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.error(request, exc.message)
        return None


def _ran(request: HttpRequest, form: forms.Form, call: Callable[[], object]) -> bool:
    """Did the action go through? (A refusal is on the form.)"""
    return _run(request, form, call) is not None


def _incident_form(me: Member, data: Any = None, **initial: Any) -> IncidentForm:
    return IncidentForm(data, workspace_id=me.workspace_id, initial=initial)


def _open(
    request: HttpRequest, me: Member, form: IncidentForm, alert: Alert | None
) -> Incident | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return _run(
        request,
        form,
        lambda: actions.open_incident(
            me.workspace,
            by=me,
            title=data["title"],
            severity=data["severity"],
            owner=data["owner"],
            alert=alert,
            terms=actions.parse_terms(data["terms"]),
        ),
    )


def home(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    form = _incident_form(me)
    status = 200
    if request.method == "POST":
        require(me, "crisis.declare")
        form = _incident_form(me, request.POST)
        incident = _open(request, me, form, None)
        if incident is not None:
            messages.success(request, _("Incident opened."))
            return redirect("crisis_incident", ws=ws, pk=incident.pk)
        status = 400
    alerts = list(Alert.objects.visible_to(me).order_by("-raised_at")[:20])
    incidents = list(
        Incident.objects.visible_to(me).select_related("owner__user").order_by("-opened_at")[:20]
    )
    current = next((i for i in incidents if i.is_open), None)
    return render(
        request,
        "crisis/home.html",
        {
            "alerts": alerts,
            "incidents": incidents,
            "current": current,
            "form": form,
            "can_declare": can(me, "crisis.declare"),
            "intensities": actions.STAGED_INTENSITIES,
            "has_sandbox": _has_sandbox(me),
            "storm": actions.storm_under_way(me.workspace),
            "active_section": "crisis",
            "tab": "home",
        },
        status=status,
    )


def _has_sandbox(me: Member) -> bool:
    from portevoix.sandbox.models import SandboxAccount

    return SandboxAccount.objects.filter(workspace_id=me.workspace_id, simulate=True).exists()


@require_POST
def calm(request: HttpRequest, ws: str) -> HttpResponse:
    """A manager ends the staged storm now (to stage it again, or to show the calm)."""
    me = _reader(request)
    require(me, "crisis.declare")
    count = _run(request, None, lambda: actions.calm_sandbox_crisis(me.workspace, by=me))
    if count is not None:
        messages.success(
            request,
            _("The sandbox's storm is over: what it wrote stays, nothing more comes."),
        )
    return redirect("crisis_home", ws=ws)


@require_POST
def stage(request: HttpRequest, ws: str) -> HttpResponse:
    """A manager stages the sandbox's crisis (a rehearsal on the demo network)."""
    me = _reader(request)
    require(me, "crisis.declare")
    raw = request.POST.get("intensity", "")
    try:
        intensity = float(raw)
    except ValueError:
        intensity = 0.0
    count = _run(
        request,
        None,
        lambda: actions.stage_sandbox_crisis(me.workspace, by=me, intensity=intensity),
    )
    if count is not None:
        messages.success(
            request,
            ngettext(
                "The sandbox's storm has started on %(count)s account: the world moves in "
                "quarter hours, so its first messages come at the next one, then reach the inbox "
                "with each sync.",
                "The sandbox's storm has started on %(count)s accounts: the world moves in "
                "quarter hours, so its first messages come at the next one, then reach the inbox "
                "with each sync.",
                count,
            )
            % {"count": count},
        )
    return redirect("crisis_home", ws=ws)


def alert_page(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    alert = Alert.objects.get_for(me, pk=pk)
    title = (
        _("Crisis: %(terms)s") % {"terms": ", ".join(alert.terms)} if alert.terms else _("Crisis")
    )
    form = _incident_form(me, title=title, terms=", ".join(alert.terms))
    status = 200
    if request.method == "POST":
        require(me, "crisis.declare")
        form = _incident_form(me, request.POST)
        incident = _open(request, me, form, alert)
        if incident is not None:
            messages.success(request, _("Incident opened."))
            return redirect("crisis_incident", ws=ws, pk=incident.pk)
        status = 400
    causes = []
    for item in alert.messages:
        ref = str(item.get("ref", ""))
        at = dt.datetime.fromisoformat(str(item.get("at")))
        causes.append(
            {
                **item,
                "at": at,
                "inbox_pk": int(ref[6:])
                if ref.startswith("inbox:") and ref[6:].isdigit()
                else None,
            }
        )
    conversation_of = _conversations(me, [c["inbox_pk"] for c in causes if c["inbox_pk"]])
    for cause in causes:
        cause["conversation"] = conversation_of.get(cause["inbox_pk"])
    return render(
        request,
        "crisis/alert.html",
        {
            "alert": alert,
            "causes": causes,
            "form": form,
            "can_declare": can(me, "crisis.declare"),
            "is_open": alert.state == AlertState.OPEN,
            "active_section": "crisis",
            "tab": "home",
        },
        status=status,
    )


def _conversations(me: Member, message_pks: list[int]) -> dict[int, int]:
    """The conversation of each inbox message the member may see."""
    from portevoix.inbox.models import InboundMessage

    rows = (
        InboundMessage.objects.visible_to(me)
        .filter(pk__in=message_pks)
        .values_list("pk", "conversation_id")
    )
    return {pk: conversation for pk, conversation in rows if conversation}


@require_POST
def alert_dismiss(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    alert = Alert.objects.get_for(me, pk=pk)
    if _run(request, None, lambda: actions.dismiss_alert(alert, by=me)) is not None:
        messages.success(request, _("Alert dismissed."))
    return redirect("crisis_home", ws=ws)


def incident_page(
    request: HttpRequest,
    ws: str,
    pk: int,
    *,
    forms_: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    me = _reader(request)
    incident = Incident.objects.get_for(me, pk=pk)
    tasks = list(incident.tasks.select_related("department", "done_by__user"))
    lists: dict[Department, list[dict[str, Any]]] = {}
    for task in tasks:
        lists.setdefault(task.department, []).append(
            {"task": task, "may_tick": actions.may_tick(me, task)}
        )
    ordered = sorted(lists.items(), key=lambda kv: (kv[0].pk != me.department_id, kv[0].name))
    checklists = [
        {
            "department": department,
            "items": items,
            "done": sum(1 for i in items if i["task"].done_at),
            "mine": department.pk == me.department_id,
        }
        for department, items in ordered
    ]
    from portevoix.publishing.models import Campaign
    from portevoix.publishing.pause import active_pause

    campaigns = list(
        Campaign.objects.filter(workspace=me.workspace, cancelled_at__isnull=True).order_by("name")
    )
    given = forms_ or {}
    still_paused = actions.pauses_of(incident)
    return render(
        request,
        "crisis/incident.html",
        {
            "incident": incident,
            "checklists": checklists,
            "timeline": list(incident.timeline.select_related("alert")),
            "scan": actions.scan_scheduled(incident, me) if can(me, "post.view") else [],
            "campaigns": campaigns,
            "workspace_paused": active_pause(me.workspace) is not None,
            "can_declare": can(me, "crisis.declare"),
            "can_pause": can(me, "post.pause"),
            "can_note": True,
            "terms_form": given.get("terms")
            or TermsForm(initial={"terms": ", ".join(incident.terms)}),
            "note_form": given.get("note") or NoteForm(),
            "close_form": given.get("close")
            or CloseForm(paused=_may_resume(incident, me, still_paused)),
            # The pauses this crisis started that still hold posts (after it closed too).
            "still_paused": still_paused,
            "active_section": "crisis",
            "tab": "home",
            **response_context(incident, me),
        },
        status=status,
    )


def _may_resume(incident: Incident, me: Member, held: list[Any]) -> bool:
    """Does the close form offer to resume publishing? When the crisis's pauses still hold
    posts and the member may resume them."""
    return bool(held) and can(me, "post.pause")


@require_GET
def incident_view(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    return incident_page(request, ws, pk)


@require_POST
def task_toggle(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    task = _task_for(me, pk)
    done = request.POST.get("done") == "1"
    _run(request, None, lambda: actions.set_task_done(task, by=me, done=done))
    return redirect(f"{_incident_url(ws, task.incident_id)}#task-{task.pk}")


def _task_for(me: Member, pk: int) -> IncidentTask:
    from django.http import Http404

    task = IncidentTask.objects.filter(pk=pk, incident__workspace_id=me.workspace_id).first()
    if task is None:
        raise Http404("not found")
    return task


def _incident_url(ws: str, pk: int) -> str:
    from django.urls import reverse

    return reverse("crisis_incident", kwargs={"ws": ws, "pk": pk})


@require_GET
def incident_report(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """The post-incident report as a PDF, in the reader's language (once the incident closed)."""
    from django.utils import translation

    from . import report

    me = _reader(request)
    incident = Incident.objects.select_related("workspace", "owner__user").get_for(me, pk=pk)
    if incident.closed_at is None:
        messages.error(request, _("The report is made once the incident is closed."))
        return redirect("crisis_incident", ws=ws, pk=pk)
    try:
        content = report.render(incident, language=translation.get_language() or "fr")
    except OSError:  # WeasyPrint without Pango (docs/deployment.md)
        messages.error(
            request, _("This server cannot print PDFs: its administrator must install Pango.")
        )
        return redirect("crisis_incident", ws=ws, pk=pk)
    response = HttpResponse(content, content_type="application/pdf")
    name = "drill-incident" if incident.drill_id is not None else "incident"
    response["Content-Disposition"] = f'attachment; filename="{name}-{incident.pk}.pdf"'
    return response


@require_POST
def incident_pause(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = Incident.objects.get_for(me, pk=pk)
    campaign = None
    raw = request.POST.get("campaign", "")
    if raw:
        from django.http import Http404

        from portevoix.publishing.models import Campaign

        if not raw.isdigit():
            raise Http404("not found")
        campaign = Campaign.objects.filter(pk=int(raw), workspace=me.workspace).first()
        if campaign is None:
            raise Http404("not found")
    row = _run(request, None, lambda: actions.pause_publishing(incident, by=me, campaign=campaign))
    if row is not None:
        messages.success(
            request,
            ngettext(
                "Publishing paused: %(count)s post held.",
                "Publishing paused: %(count)s posts held.",
                row.paused_count,
            )
            % {"count": row.paused_count},
        )
    return redirect("crisis_incident", ws=ws, pk=pk)


@require_POST
def incident_terms(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = Incident.objects.get_for(me, pk=pk)
    require(me, "crisis.declare")
    form = TermsForm(request.POST)
    if form.is_valid() and _ran(
        request, form, lambda: actions.set_terms(incident, by=me, terms=form.cleaned_data["terms"])
    ):
        return redirect(f"{_incident_url(ws, pk)}#scan")
    return incident_page(request, ws, pk, forms_={"terms": form}, status=400)


@require_POST
def incident_note(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = Incident.objects.get_for(me, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid() and _ran(
        request, form, lambda: actions.add_note(incident, by=me, text=form.cleaned_data["text"])
    ):
        return redirect(f"{_incident_url(ws, pk)}#timeline")
    return incident_page(request, ws, pk, forms_={"note": form}, status=400)


@require_POST
def incident_close(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _reader(request)
    incident = Incident.objects.get_for(me, pk=pk)
    require(me, "crisis.declare")
    form = CloseForm(request.POST, paused=_may_resume(incident, me, actions.pauses_of(incident)))
    if form.is_valid() and _ran(
        request,
        form,
        lambda: actions.close_incident(
            incident,
            by=me,
            summary=form.cleaned_data["summary"],
            resume=bool(form.cleaned_data.get("resume")),
        ),
    ):
        messages.success(request, _("Incident closed."))
        return redirect("crisis_incident", ws=ws, pk=pk)
    return incident_page(request, ws, pk, forms_={"close": form}, status=400)


def playbook_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    book = actions.playbook(me.workspace)
    can_edit = can(me, "crisis.declare")
    errors: dict[int, PlaybookForm] = {}
    status = 200
    if request.method == "POST":
        require(me, "crisis.declare")
        raw = str(request.POST.get("department", ""))
        department = Department.objects.filter(
            workspace=me.workspace, pk=int(raw) if raw.isdigit() else 0
        ).first()
        form = PlaybookForm(request.POST)
        if department is None:
            messages.error(request, _("Choose the department whose checklist to save."))
            status = 400
        elif (
            form.is_valid()
            and _run(
                request,
                form,
                lambda: actions.save_playbook(
                    me.workspace, by=me, department=department, tasks=form.cleaned_data["tasks"]
                ),
            )
            is not None
        ):
            messages.success(
                request, _("Checklist of %(department)s saved.") % {"department": department.name}
            )
            return redirect(f"{request.path}#dept-{department.pk}")
        else:
            errors[department.pk] = form
            status = 400
    sections = [
        {
            "department": department,
            "tasks": tasks,
            "form": errors.get(department.pk) or PlaybookForm(initial={"tasks": "\n".join(tasks)}),
        }
        for department, tasks in book.items()
    ]
    return render(
        request,
        "crisis/playbook.html",
        {"sections": sections, "can_edit": can_edit, "active_section": "crisis", "tab": "playbook"},
        status=status,
    )
