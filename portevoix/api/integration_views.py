"""The CRM and helpdesk integrations' pages (workspace settings), the hand-off from a
conversation, and the signed inbound webhook that brings status updates back."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from portevoix.api import actions, crm
from portevoix.api.forms import HandToCrmForm, IntegrationForm
from portevoix.api.models import CrmIntegration, CrmRecord
from portevoix.core.actions import ActionRefused
from portevoix.core.models import Member
from portevoix.core.permissions import can, require

#: An inbound status update is small; more is refused before it is read.
MAX_INBOUND = 64 * 1024
OAUTH_SALT = "portevoix.api.crm-oauth"


def _member(request: HttpRequest) -> Member:
    member: Member = getattr(request, "member")  # noqa: B009
    return member


def _site(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def inbound_url(request: HttpRequest, integration: CrmIntegration) -> str:
    return _site(request) + reverse("api_crm_inbound", kwargs={"pk": integration.pk})


def _refused(form: Any, exc: ActionRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def integrations(request: HttpRequest, ws: str) -> HttpResponse:
    me = _member(request)
    require(me, "integration.manage")
    form = IntegrationForm(request.POST or None, initial={"is_active": True})
    status = 200
    made = secret = None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                made, secret = actions.create_integration(
                    me.workspace,
                    by=me,
                    name=data["name"],
                    kind=data["kind"],
                    preset=data["preset"],
                    record_kind=data["record_kind"],
                    url=data["url"],
                    email=data["email"],
                    mapping=data["mapping"],
                    auth_header=data["auth_header"],
                    oauth_client_id=data["oauth_client_id"],
                    oauth_client_secret=data["oauth_client_secret"],
                )
            except ActionRefused as exc:
                _refused(form, exc)
        if made is None:
            status = 400
        else:
            form = IntegrationForm(initial={"is_active": True})
    rows = CrmIntegration.objects.visible_to(me).order_by("name")
    response = render(
        request,
        "api/integrations.html",
        {
            "form": form,
            "integrations": rows,
            "made": made,
            "secret": secret,
            "inbound": inbound_url(request, made) if made else "",
            "source_fields": crm.SOURCE_FIELDS,
            "active_section": "settings",
        },
        status=status,
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


def _detail_form(integration: CrmIntegration, data: Any = None) -> IntegrationForm:
    initial = {
        "name": integration.name,
        "preset": integration.preset,
        "record_kind": integration.record_kind,
        "kind": integration.kind,
        "url": integration.url,
        "email": integration.email,
        "mapping": json.dumps(integration.mapping, indent=2, ensure_ascii=False),
        "oauth_client_id": integration.oauth_client_id,
        "is_active": integration.is_active,
    }
    return IntegrationForm(data, initial=initial)


def integration_detail(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me = _member(request)
    require(me, "integration.manage")
    integration: CrmIntegration = CrmIntegration.objects.get_for(me, pk=pk)
    status = 200
    if request.method == "POST" and "delete" in request.POST:
        actions.delete_integration(integration, by=me)
        messages.success(request, _("Integration deleted."))
        return redirect("api_integrations", ws=ws)
    if request.method == "POST" and "retry" in request.POST:
        chosen = request.POST.get("retry", "")
        record: CrmRecord | None = (
            CrmRecord.objects.visible_to(me)
            .filter(integration=integration, pk=int(chosen) if chosen.isdigit() else 0)
            .first()
        )
        if record is None:
            messages.error(request, _("Choose the hand-off to send again."))
        else:
            try:
                actions.retry_record(record, by=me)
                messages.success(request, _("It will be sent again in a moment."))
            except ActionRefused as exc:
                messages.error(request, exc.message)
        return redirect("api_integration", ws=ws, pk=pk)
    form = _detail_form(integration, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.update_integration(
                    integration,
                    by=me,
                    name=data["name"],
                    kind=data["kind"],
                    preset=data["preset"],
                    record_kind=data["record_kind"],
                    url=data["url"],
                    email=data["email"],
                    mapping=data["mapping"],
                    auth_header=data["auth_header"],
                    is_active=data["is_active"],
                )
                messages.success(request, _("Integration saved."))
                return redirect("api_integration", ws=ws, pk=pk)
            except ActionRefused as exc:
                _refused(form, exc)
        status = 400
    return render(
        request,
        "api/integration.html",
        _detail_context(request, me, integration, form),
        status=status,
    )


def _detail_context(
    request: HttpRequest, me: Member, integration: CrmIntegration, form: IntegrationForm
) -> dict[str, Any]:
    records = (
        CrmRecord.objects.visible_to(me)
        .filter(integration=integration)
        .select_related("conversation", "requested_by__user")
        .order_by("-created_at")[:100]
    )
    return {
        "integration": integration,
        "form": form,
        "records": records,
        "inbound": inbound_url(request, integration),
        "preview": json.dumps(actions.preview(integration), indent=2, ensure_ascii=False),
        "source_fields": crm.SOURCE_FIELDS,
        "uses_oauth": integration.preset != "generic",
        "connected": bool(integration.oauth_refresh_token_encrypted),
        "active_section": "settings",
    }


@require_POST
def integration_preview(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """The body the mapping typed in the form would send, with sample values (htmx)."""
    me = _member(request)
    require(me, "integration.manage")
    integration: CrmIntegration = CrmIntegration.objects.get_for(me, pk=pk)
    raw = request.POST.get("mapping", "").strip()
    error = body = ""
    try:
        mapping = json.loads(raw) if raw else integration.mapping
        body = json.dumps(actions.preview(integration, mapping), indent=2, ensure_ascii=False)
    except ValueError as exc:
        error = (
            str(exc)
            if not isinstance(exc, json.JSONDecodeError)
            else _("This is not JSON (line %(line)s): %(error)s")
            % {"line": exc.lineno, "error": exc.msg}
        )
    return render(
        request,
        "api/_integration_preview.html",
        {"preview": body, "preview_error": error},
        status=400 if error else 200,
    )


@require_POST
def integration_test(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """Send the sample now and show what the system answered."""
    me = _member(request)
    require(me, "integration.manage")
    integration: CrmIntegration = CrmIntegration.objects.get_for(me, pk=pk)
    actions.test_integration(integration, by=me)
    integration.refresh_from_db()
    if request.headers.get("HX-Request"):
        return render(request, "api/_integration_test.html", {"integration": integration})
    return redirect("api_integration", ws=ws, pk=pk)


def _redirect_uri(request: HttpRequest, ws: str) -> str:
    return _site(request) + reverse("api_integration_oauth_callback", kwargs={"ws": ws})


@require_POST
def integration_connect(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """Send the admin to HubSpot or Salesforce to grant access (authorization code)."""
    me = _member(request)
    require(me, "integration.manage")
    integration: CrmIntegration = CrmIntegration.objects.get_for(me, pk=pk)
    if integration.preset == "generic":
        messages.error(request, _("A generic integration has no account to connect."))
        return redirect("api_integration", ws=ws, pk=pk)
    state = signing.dumps({"i": integration.pk, "m": me.pk}, salt=OAUTH_SALT)
    return redirect(
        crm.authorize_url(integration, redirect_uri=_redirect_uri(request, ws), state=state)
    )


@require_GET
def integration_oauth_callback(request: HttpRequest, ws: str) -> HttpResponse:
    """Where HubSpot or Salesforce sends the admin back, with the code."""
    me = _member(request)
    require(me, "integration.manage")
    try:
        state = signing.loads(request.GET.get("state", ""), salt=OAUTH_SALT, max_age=900)
    except signing.BadSignature:
        messages.error(request, _("This connection link expired or was not ours: try again."))
        return redirect("api_integrations", ws=ws)
    if state.get("m") != me.pk:
        messages.error(request, _("This connection was started by someone else: try again."))
        return redirect("api_integrations", ws=ws)
    integration: CrmIntegration = CrmIntegration.objects.get_for(me, pk=state.get("i"))
    code = request.GET.get("code", "")
    if not code:
        messages.error(
            request,
            _("The system did not grant access: %(error)s")
            % {"error": request.GET.get("error_description") or request.GET.get("error") or "?"},
        )
        return redirect("api_integration", ws=ws, pk=integration.pk)
    try:
        actions.connect_integration(
            integration, by=me, code=code, redirect_uri=_redirect_uri(request, ws)
        )
        messages.success(request, _("Connected: hand-offs will use this account."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("api_integration", ws=ws, pk=integration.pk)


@require_POST
def conversation_hand_to_crm(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    """From a conversation's page: create a lead or a case in the chosen system."""
    from portevoix.inbox.models import Conversation

    me = _member(request)
    require(me, "inbox.route")
    conversation: Conversation = Conversation.objects.get_for(me, pk=pk)
    choices = CrmIntegration.objects.filter(workspace=me.workspace, is_active=True)
    form = HandToCrmForm(request.POST, integrations=choices)
    if form.is_valid():
        integration = choices.get(pk=int(form.cleaned_data["integration"]))
        try:
            record = actions.hand_to_crm(
                conversation, by=me, integration=integration, note=form.cleaned_data["note"]
            )
            messages.success(
                request,
                _("Sent to %(name)s (reference %(ref)s): the link appears here once it is created.")
                % {"name": integration.name, "ref": record.reference},
            )
        except ActionRefused as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("inbox_conversation", ws=ws, pk=pk)


# --- the inbound webhook (a way in without login: docs/ways-in.md) ---------------------------


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@require_POST
def crm_inbound(request: HttpRequest, pk: int) -> HttpResponse:
    """A status update from the CRM or helpdesk, signed with the integration's secret."""
    integration = (
        CrmIntegration.objects.filter(pk=pk, is_active=True).first() if pk < 2**31 else None
    )
    if integration is None:
        return _error(404, "not_found", "no active integration here")
    if int(request.headers.get("Content-Length") or 0) > MAX_INBOUND:
        return _error(413, "too_large", "a status update holds at most 64 KiB")
    body = request.body
    try:
        message_id = crm.verify_inbound(integration, request.headers, body)
    except crm.BadSignature as exc:
        return _error(401, "bad_signature", str(exc))
    try:
        update = crm.parse_update(body)
    except ValueError as exc:
        return _error(400, "invalid_update", str(exc))
    try:
        record = actions.apply_status_update(integration, message_id=message_id, update=update)
    except actions.UpdateRefused as exc:
        return _error(exc.status, "refused", exc.message)
    except ActionRefused as exc:  # money refused the deal (another currency...): nothing kept
        return _error(400, exc.code, str(exc.message))
    return JsonResponse(
        {
            "reference": record.reference,
            "status": record.external_status,
            "outcome": record.outcome,
            "conversation_id": record.conversation_id,
        }
    )


def records_for(member: Member, conversation: Any) -> dict[str, Any]:
    """What the conversation's page shows: its records in external systems, and the form."""
    rows = list(
        CrmRecord.objects.visible_to(member)
        .filter(conversation=conversation)
        .select_related("integration")
        .order_by("-created_at")
    )
    choices = CrmIntegration.objects.filter(workspace_id=member.workspace_id, is_active=True)
    may = can(member, "inbox.route") and choices.exists()
    return {
        "crm_records": rows,
        "crm_form": HandToCrmForm(integrations=choices) if may else None,
        "conversation": conversation,
        "member": member,
    }
