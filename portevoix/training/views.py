"""Training record pages: a member's own record, any member's (managers), the team overview
(managers). Views parse and render; :mod:`portevoix.training.actions` decides."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require
from portevoix.core.views import _member

from . import actions


@require_GET
def overview(request: HttpRequest, ws: str) -> HttpResponse:
    """The team's training at a glance (managers); everyone else reads their own record."""
    me = _member(request)
    if not can(me, actions.MANAGE):
        return redirect("training_member", ws=ws, pk=me.pk)
    require(me, actions.MANAGE)
    members = list(
        Member.objects.filter(workspace=me.workspace, is_active=True)
        .select_related("user", "department")
        .order_by("user__full_name", "user__email")
    )
    rows = actions.records(me.workspace, members)
    return render(
        request,
        "training/overview.html",
        {
            "rows": rows,
            "policy_missing": sum(1 for r in rows if not r.policy_ok),
            "compliance_missing": sum(1 for r in rows if not r.compliance_ok),
            "never_drilled": sum(1 for r in rows if not r.drills),
            "active_section": "team",
        },
    )


@require_GET
def member_record(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    member = (
        Member.objects.filter(pk=pk, workspace_id=me.workspace_id).select_related("user").first()
    )
    if member is None:
        from django.http import Http404

        raise Http404("not found")
    actions.require_reader(me, member)
    record = actions.records(me.workspace, [member])[0]
    return render(
        request,
        "training/member.html",
        {
            "record": record,
            "is_me": member.pk == me.pk,
            "can_manage": can(me, actions.MANAGE),
            "active_section": "team",
        },
    )


@require_POST
def acknowledge_compliance(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    try:
        actions.acknowledge_compliance(
            me.workspace, by=me, fingerprint=request.POST.get("fingerprint", "")
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you: your acknowledgement of the rules is recorded."))
    return redirect("training_member", ws=ws, pk=me.pk)
