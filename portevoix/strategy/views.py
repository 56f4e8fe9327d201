"""Strategy pages: the canvas, goals, channel levels, KPIs and pillars; the responsibility
matrix; the employee policy. Views parse and render; :mod:`.actions` decides.

Reading the strategy needs ``strategy.view``; changing it ``strategy.manage``. The policy is
every member's: each one reads and acknowledges it.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from portevoix.channels.models import Channel
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member
from portevoix.publishing.models import Post

from . import actions, reading
from .forms import (
    CanvasForm,
    ChannelStrategyForm,
    EmployeeImportForm,
    GoalsForm,
    KpiForm,
    PillarForm,
    PolicyForm,
    ReviewForm,
)
from .metrics import METRICS
from .models import (
    CANVAS_FIELDS,
    CanvasVersion,
    Employee,
    EmployeeAcknowledgement,
    Goal,
    GoalCode,
    Kpi,
    Level,
    Pillar,
    PolicyAcknowledgement,
    PolicyVersion,
    PostPillar,
    Task,
)
from .responsibility import matrix as read_matrix


def _reader(request: HttpRequest) -> Member:
    me = _member(request)
    require(me, "strategy.view")
    return me


def _manager(request: HttpRequest) -> Member:
    me = _member(request)
    require(me, "strategy.manage")
    return me


def _run[T](form: forms.BaseForm | None, request: HttpRequest, call: Callable[[], T]) -> T | None:
    try:
        return call()
    except ActionRefused as exc:
        if form is not None:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.error(request, exc.message)
        return None


def _label(name: str) -> Any:
    return getattr(CanvasVersion._meta.get_field(name), "verbose_name", name)


def _context(me: Member, tab: str, **extra: Any) -> dict[str, Any]:
    return {
        "tab": tab,
        "active_section": "strategy",
        "can_manage": can(me, "strategy.manage"),
        "can_view": can(me, "strategy.view"),
        **extra,
    }


def _canvas_rows(version: CanvasVersion | None) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": _label(name),
            "value": getattr(version, name) if version else "",
        }
        for name in CANVAS_FIELDS
    ]


# --- the strategy page ---------------------------------------------------------------------


def _money_budgets(me: Member) -> dict[str, Any]:
    """The structured budget beside the canvas's budget text (portevoix.roi), for who sees
    money: the budgets in force and whether one is over."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from portevoix.roi.figures import budget_rows
    from portevoix.roi.forms import BudgetForm

    zone = ZoneInfo(me.workspace.time_zone or "UTC")
    today = timezone.localdate(timezone=zone)
    rows = budget_rows(me.workspace, today, current_only=True)
    may_plan = can(me, "budget.manage")
    first = today.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return {
        "budgets": rows,
        "over_budgets": [r for r in rows if r["over"]],
        "may_plan": may_plan,
        "budget_form": BudgetForm(member=me, initial={"start_on": first, "end_on": last})
        if may_plan
        else None,
    }


@require_safe
def overview(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    return _overview(request, me, status=200)


def _overview(request: HttpRequest, me: Member, *, status: int, **forms_: Any) -> HttpResponse:
    workspace = me.workspace
    current = CanvasVersion.objects.visible_to(me).select_related("saved_by").first()
    goals = list(Goal.objects.visible_to(me).prefetch_related("kpis__channel", "channels"))
    channels = list(
        Channel.objects.filter(workspace=workspace, disconnected_at__isnull=True).prefetch_related(
            "strategy_goals"
        )
    )
    from portevoix.analytics.kpis import MONEY_METRICS

    sees_money = can(me, "money.view")
    goal_rows = [
        {
            "goal": goal,
            "label": GoalCode(goal.code).label,
            "kpis": [
                {
                    "kpi": k,
                    "metric": METRICS.get(k.metric),
                    # A deal-value target is money: only who sees money reads it.
                    "money_hidden": k.metric in MONEY_METRICS and not sees_money,
                }
                for k in goal.kpis.all()
            ],
            "channels": list(goal.channels.all()),
        }
        for goal in goals
    ]
    channel_rows = [
        {
            "channel": c,
            "goals": [GoalCode(g.code).label for g in c.strategy_goals.all()],
            "form": ChannelStrategyForm(
                workspace=workspace,
                initial={"level": c.strategy_level, "goals": list(c.strategy_goals.all())},
                prefix=f"c{c.pk}",
            ),
        }
        for c in channels
    ]
    mix, unlabelled = reading.pillar_mix(workspace)
    target_total = sum(row.pillar.target_percent for row in mix)
    return render(
        request,
        "strategy/overview.html",
        _context(
            me,
            "strategy",
            current=current,
            canvas=_canvas_rows(current),
            reasons=reading.review_reasons(workspace),
            review_months=reading.review_months(workspace),
            goal_rows=goal_rows,
            money=_money_budgets(me) if sees_money else None,
            channel_rows=channel_rows,
            mix=mix,
            unlabelled=unlabelled,
            target_total=target_total,
            goals_form=forms_.get("goals_form")
            or GoalsForm(initial={"goals": [g.code for g in goals]}),
            kpi_form=forms_.get("kpi_form") or KpiForm(workspace=workspace),
            pillar_form=forms_.get("pillar_form") or PillarForm(),
            review_form=forms_.get("review_form")
            or ReviewForm(initial={"review_after_months": reading.review_months(workspace)}),
            targets_error=forms_.get("targets_error", ""),
        ),
        status=status,
    )


@never_cache
def canvas_edit(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    current = CanvasVersion.objects.visible_to(me).first()
    initial = {name: getattr(current, name) for name in CANVAS_FIELDS} if current else {}
    form = CanvasForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            saved = _run(
                form,
                request,
                lambda: actions.save_canvas(
                    me.workspace,
                    by=me,
                    note=data.get("note", ""),
                    **{name: data.get(name, "") for name in CANVAS_FIELDS},
                ),
            )
            if saved is not None:
                messages.success(
                    request, _("Strategy saved as version %(n)d.") % {"n": saved.number}
                )
                return redirect("strategy", ws=ws)
        status = 400
    return render(
        request,
        "strategy/canvas_edit.html",
        _context(me, "strategy", form=form, current=current),
        status=status,
    )


@require_safe
def canvas_history(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    versions = list(CanvasVersion.objects.visible_to(me).select_related("saved_by")[:50])
    rows = []
    for index, version in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        changes = []
        for name in actions.changed_fields(previous, version):
            old = (getattr(previous, name) if previous else "").splitlines()
            new = getattr(version, name).splitlines()
            diff = [
                {"sign": line[0], "text": line[1:]}
                for line in difflib.ndiff(old, new)
                if line[:1] in {"+", "-"}
            ]
            changes.append({"label": _label(name), "diff": diff})
        rows.append({"version": version, "changes": changes})
    return render(request, "strategy/history.html", _context(me, "history", rows=rows))


@require_POST
def review_rule(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    form = ReviewForm(request.POST)
    if (
        form.is_valid()
        and _run(
            form,
            request,
            lambda: actions.set_review_interval(
                me.workspace, by=me, months=form.cleaned_data["review_after_months"]
            ),
        )
        is not None
    ):
        messages.success(request, _("Saved."))
        return redirect("strategy", ws=ws)
    return _overview(request, me, status=400, review_form=form)


@require_POST
def goals(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    form = GoalsForm(request.POST)
    if (
        form.is_valid()
        and _run(
            form,
            request,
            lambda: actions.set_goals(me.workspace, by=me, codes=form.cleaned_data["goals"]),
        )
        is not None
    ):
        messages.success(request, _("Goals saved."))
        return redirect("strategy", ws=ws)
    return _overview(request, me, status=400, goals_form=form)


@require_POST
def channel_strategy(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _manager(request)
    channel: Channel = Channel.objects.get_for(me, pk=pk)
    form = ChannelStrategyForm(request.POST, workspace=me.workspace, prefix=f"c{channel.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose a level and goals from the lists."))
        return _overview(request, me, status=400)
    if _run(
        None,
        request,
        lambda: actions.set_channel_strategy(
            channel, by=me, level=form.cleaned_data["level"], goals=form.cleaned_data["goals"]
        ),
    ):
        messages.success(request, _("Channel “%(name)s” saved.") % {"name": channel.name})
        return redirect("strategy", ws=ws)
    return _overview(request, me, status=400)


@require_POST
def kpi_add(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    form = KpiForm(request.POST, workspace=me.workspace)
    if form.is_valid():
        data = form.cleaned_data
        if _run(
            form,
            request,
            lambda: actions.add_kpi(
                data["goal"],
                by=me,
                metric=data["metric"],
                target=data["target"],
                period=data["period"],
                channel=data["channel"],
            ),
        ):
            messages.success(request, _("KPI added."))
            return redirect("strategy", ws=ws)
    return _overview(request, me, status=400, kpi_form=form)


@require_POST
def kpi_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _manager(request)
    kpi: Kpi = Kpi.objects.get_for(me, pk=pk)
    if request.POST.get("confirm") != "1":
        # Only the page's own button deletes (it says so in its ``confirm`` field).
        return redirect("strategy", ws=ws)
    actions.delete_kpi(kpi, by=me)
    messages.success(request, _("KPI removed."))
    return redirect("strategy", ws=ws)


@require_POST
def pillar_add(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    form = PillarForm(request.POST)
    if (
        form.is_valid()
        and _run(
            form,
            request,
            lambda: actions.add_pillar(
                me.workspace,
                by=me,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            ),
        )
        is not None
    ):
        messages.success(request, _("Pillar added: now set the mix."))
        return redirect("strategy", ws=ws)
    return _overview(request, me, status=400, pillar_form=form)


@require_POST
def pillar_delete(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _manager(request)
    pillar: Pillar = Pillar.objects.get_for(me, pk=pk)
    if request.POST.get("confirm") != "1":
        # Only the page's own button deletes (it says so in its ``confirm`` field).
        return redirect("strategy", ws=ws)
    actions.delete_pillar(pillar, by=me)
    messages.success(request, _("Pillar removed."))
    return redirect("strategy", ws=ws)


@require_POST
def pillar_targets(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    targets: dict[int, int] = {}
    error = ""
    for pillar in Pillar.objects.visible_to(me):
        raw = request.POST.get(f"target_{pillar.pk}", "").strip()
        if not raw.isdigit() or len(raw) > 3:
            error = _("Each share is a whole number from 0 to 100.")
            break
        targets[pillar.pk] = int(raw)
    if not error:
        try:
            actions.set_pillar_targets(me.workspace, by=me, targets=targets)
        except ActionRefused as exc:
            error = exc.message
    if error:
        return _overview(request, me, status=400, targets_error=error)
    messages.success(request, _("Target mix saved."))
    return redirect("strategy", ws=ws)


def post_pillars(request: HttpRequest, ws: str) -> HttpResponse:
    """The plan's posts with their pillar: the actual mix is computed from these labels."""
    me = _reader(request)
    if request.method == "POST":
        require(me, "post.create")
        raw_post, raw = request.POST.get("post", ""), request.POST.get("pillar", "")
        if not raw_post.isdigit() or not (raw == "" or raw.isdigit()):
            messages.error(request, _("Choose a post and a pillar from the list."))
            return redirect("strategy_post_pillars", ws=ws)
        post: Post = Post.objects.get_for(me, pk=_int(raw_post))
        pillar = Pillar.objects.get_for(me, pk=_int(raw)) if raw else None
        actions.label_post(post, by=me, pillar=pillar)
        messages.success(request, _("Pillar saved for “%(post)s”.") % {"post": post})
        return redirect("strategy_post_pillars", ws=ws)
    if request.method not in {"GET", "HEAD"}:
        return HttpResponse(status=405)
    posts = list(reading.plan_posts(me.workspace)[:200])
    labels = dict(PostPillar.objects.filter(post__in=posts).values_list("post_id", "pillar_id"))
    return render(
        request,
        "strategy/post_pillars.html",
        _context(
            me,
            "strategy",
            rows=[{"post": p, "pillar_id": labels.get(p.pk)} for p in posts],
            pillars=list(Pillar.objects.visible_to(me)),
            can_label=can(me, "post.create"),
        ),
    )


def _int(raw: str | None) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        raise Http404("not found") from None
    if not 0 < value < 2**63:
        raise Http404("not found")
    return value


# --- the responsibility matrix ---------------------------------------------------------------


def matrix_page(request: HttpRequest, ws: str) -> HttpResponse:
    me = _reader(request)
    members = list(
        Member.objects.filter(workspace=me.workspace, is_active=True).select_related("user")
    )
    tasks = list(Task)
    if request.method == "POST":
        require(me, "strategy.manage")
        cells: dict[tuple[int, str], str] = {}
        for m in members:
            for task in tasks:
                value = request.POST.get(f"cell_{m.pk}_{task.value}", "")
                if value and value not in Level.values:
                    messages.error(request, _("Unknown task or level."))
                    return redirect("strategy_matrix", ws=ws)
                cells[(m.pk, task.value)] = value
        try:
            actions.set_responsibilities(me.workspace, by=me, cells=cells)
        except ActionRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Responsibility matrix saved."))
        return redirect("strategy_matrix", ws=ws)
    if request.method not in {"GET", "HEAD"}:
        return HttpResponse(status=405)
    current = read_matrix(me.workspace_id)
    rows = [
        {
            "member": m,
            "cells": [{"task": t, "level": current.get((m.pk, t.value), "")} for t in tasks],
        }
        for m in members
    ]
    return render(
        request,
        "strategy/matrix.html",
        _context(me, "matrix", rows=rows, tasks=tasks, levels=Level.choices),
    )


@require_POST
def matrix_from_roles(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    actions.matrix_from_roles(me.workspace, by=me)
    messages.success(request, _("The matrix now follows each member's role."))
    return redirect("strategy_matrix", ws=ws)


# --- the employee policy ------------------------------------------------------------------------


@never_cache
def policy(request: HttpRequest, ws: str) -> HttpResponse:
    """Every member reads the policy in force and acknowledges it."""
    me = _member(request)
    current = actions.current_policy(me.workspace_id)
    if request.method == "POST":
        if current is None or str(current.pk) != request.POST.get("version", ""):
            messages.error(request, _("A newer version is in force: read it first."))
            return redirect("strategy_policy", ws=ws)
        if _run(None, request, lambda: actions.acknowledge_policy(current, by=me)):
            messages.success(request, _("Thank you: your acknowledgement is recorded."))
        return redirect("strategy_policy", ws=ws)
    if request.method not in {"GET", "HEAD"}:
        return HttpResponse(status=405)
    mine = (
        PolicyAcknowledgement.objects.filter(version=current, member=me).first()
        if current
        else None
    )
    return render(
        request,
        "strategy/policy.html",
        _context(me, "policy", current=current, mine=mine),
    )


@never_cache
def policy_manage(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    workspace = me.workspace
    current = actions.current_policy(workspace.pk)
    form = PolicyForm(request.POST or None, initial={"text": current.text if current else ""})
    import_form = EmployeeImportForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            saved = _run(
                form,
                request,
                lambda: actions.publish_policy(
                    workspace, by=me, text=form.cleaned_data["text"], note=form.cleaned_data["note"]
                ),
            )
            if saved is not None:
                messages.success(
                    request,
                    _("Version %(n)d is in force: everyone is asked to acknowledge it.")
                    % {"n": saved.number},
                )
                return redirect("strategy_policy_manage", ws=ws)
        status = 400
    return _policy_manage_page(request, me, form, import_form, status=status)


def _policy_manage_page(
    request: HttpRequest,
    me: Member,
    form: PolicyForm,
    import_form: EmployeeImportForm,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    workspace = me.workspace
    current = actions.current_policy(workspace.pk)
    members = list(
        Member.objects.filter(workspace=workspace, is_active=True).select_related("user")
    )
    acked = (
        dict(
            PolicyAcknowledgement.objects.filter(version=current).values_list(
                "member_id", "acknowledged_at"
            )
        )
        if current
        else {}
    )
    employees = list(Employee.objects.visible_to(me))
    requests = (
        {r.employee_id: r for r in EmployeeAcknowledgement.objects.filter(version=current)}
        if current
        else {}
    )
    return render(
        request,
        "strategy/policy_manage.html",
        _context(
            me,
            "policy",
            current=current,
            versions=PolicyVersion.objects.visible_to(me).select_related("published_by")[:20],
            form=form,
            import_form=import_form,
            member_rows=[{"member": m, "at": acked.get(m.pk)} for m in members],
            missing=sum(1 for m in members if m.pk not in acked),
            employee_rows=[{"employee": e, "request": requests.get(e.pk)} for e in employees],
            **extra,
        ),
        status=status,
    )


@require_POST
def policy_employees(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    import_form = EmployeeImportForm(request.POST, request.FILES)
    form = PolicyForm()
    current = actions.current_policy(me.workspace_id)
    if current:
        form = PolicyForm(initial={"text": current.text})
    if not import_form.is_valid():
        return _policy_manage_page(request, me, form, import_form, status=400)
    report = actions.import_employees(
        me.workspace, by=me, text=import_form.cleaned_data["csv_text"]
    )
    if report.errors:
        return _policy_manage_page(request, me, form, import_form, status=400, report=report)
    messages.success(
        request,
        _("%(created)d employees added, %(updated)d updated.")
        % {"created": report.created, "updated": report.updated},
    )
    return redirect("strategy_policy_manage", ws=ws)


@require_POST
def policy_send(request: HttpRequest, ws: str) -> HttpResponse:
    me = _manager(request)
    sent = _run(None, request, lambda: actions.send_acknowledgement_links(me.workspace, by=me))
    if sent is not None:
        messages.success(request, _("%(n)d links sent by e-mail.") % {"n": sent})
    return redirect("strategy_policy_manage", ws=ws)


@require_POST
def policy_link(request: HttpRequest, ws: str) -> HttpResponse:
    """A public read-only link to the policy in force: shown once, on this answer."""
    me = _manager(request)
    if actions.current_policy(me.workspace_id) is None:
        messages.error(request, _("Publish the policy first."))
        return redirect("strategy_policy_manage", ws=ws)
    link = actions.issue_policy_page_link(me.workspace, by=me)
    current = actions.current_policy(me.workspace_id)
    form = PolicyForm(initial={"text": current.text if current else ""})
    response = _policy_manage_page(request, me, form, EmployeeImportForm(), new_link=link)
    response["Cache-Control"] = "no-store"
    return response


# --- without an account ----------------------------------------------------------------------


def _public(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def policy_public(request: HttpRequest, token: str) -> HttpResponse:
    from portevoix.core.actions import use_access_token

    try:
        _row, workspace = use_access_token(token, purpose=actions.POLICY_PAGE_PURPOSE)
    except ActionRefused as exc:
        return _public(request, "strategy/public_refused.html", {"message": exc.message}, 404)
    current = actions.current_policy(workspace.pk)
    return _public(
        request, "strategy/public_policy.html", {"workspace": workspace, "current": current}
    )


def policy_ack_link(request: HttpRequest, token: str) -> HttpResponse:
    """One employee's signed link: read the version, then say so. It does nothing else."""
    if request.method not in {"GET", "HEAD", "POST"}:
        return HttpResponse(status=405)
    try:
        ack = actions.open_acknowledgement_link(token)
    except ActionRefused as exc:
        return _public(request, "strategy/public_refused.html", {"message": exc.message}, 404)
    if request.method == "POST":
        ack = actions.acknowledge_by_link(ack)
    ack = EmployeeAcknowledgement.objects.select_related("version", "employee", "workspace").get(
        pk=ack.pk
    )
    return _public(
        request,
        "strategy/public_ack.html",
        {"ack": ack, "workspace": ack.workspace, "current": ack.version},
    )
