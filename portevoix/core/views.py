"""Team, settings and audit pages. Views parse and render; actions do the work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portevoix.core import actions, exports
from portevoix.core.actions import ActionRefused
from portevoix.core.forms import (
    AcceptInvitationForm,
    AuditFilterForm,
    DepartmentForm,
    ExtraRolesForm,
    InvitationForm,
    ProfileForm,
    RoleForm,
    WorkspaceCreateForm,
    WorkspaceSettingsForm,
)
from portevoix.core.models import AuditEntry, Department, Invitation, Member, User
from portevoix.core.permissions import (
    ACTIONS,
    MATRIX,
    ROLE_DESCRIPTIONS,
    Role,
    can,
    holding,
    require,
    require_any,
    split_roles,
)
from portevoix.core.query import BadQuery, query_choice, query_int, query_text
from portevoix.core.text import fold


def _refusal_to_form(form: forms.Form, exc: ActionRefused) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _run[T](form: forms.Form, call: Callable[[], T]) -> T | None:
    """Run an action for a valid form; a refusal becomes a form error, shown in place."""
    try:
        return call()
    except ActionRefused as exc:
        _refusal_to_form(form, exc)
        return None


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


def _user(request: HttpRequest) -> User:
    """The logged-in person (views that call this are behind login_required)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _member(request: HttpRequest) -> Member:
    """The member set by ActiveMemberMiddleware for every URL with a ``ws`` argument."""
    member: Member = getattr(request, "member")  # noqa: B009
    return member


# --- entry points -----------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = Member.objects.filter(
        user=_user(request), is_active=True, workspace__archived_at__isnull=True
    ).select_related("workspace")
    last = request.session.get("workspace")
    chosen = next((m for m in memberships if m.workspace.slug == last), None) or next(
        iter(memberships), None
    )
    if chosen is not None:
        return redirect("workspace_home", ws=chosen.workspace.slug)
    return redirect("workspace_create")


@login_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = _run(
            form,
            lambda: actions.create_workspace(creator=_user(request), **form.cleaned_data),
        )
        if workspace is not None:
            messages.success(request, _("Workspace created."))
            return redirect("workspace_home", ws=workspace.slug)
    has_any = Member.objects.filter(
        user=_user(request), is_active=True, workspace__archived_at__isnull=True
    ).exists()
    # A member whose access was removed is told so, instead of being offered to start over.
    removed = list(
        Member.objects.filter(
            user=_user(request), is_active=False, workspace__archived_at__isnull=True
        ).select_related("workspace")
    )
    return render(
        request,
        "core/workspace_create.html",
        {"form": form, "has_any": has_any, "removed": removed},
    )


@require_safe
def workspace_home(request: HttpRequest, ws: str) -> HttpResponse:
    member: Member = _member(request)
    context: dict[str, Any] = {
        "departments": Department.objects.visible_to(member).filter(is_active=True),
    }
    if can(member, "member.view"):
        members = Member.objects.visible_to(member)
        context["member_count"] = members.filter(is_active=True).count()
        counts = dict(members.filter(is_active=True).values_list("role").annotate(n=Count("id")))
        for stored in (
            members.filter(is_active=True)
            .exclude(extra_roles="")
            .values_list("extra_roles", flat=True)
        ):
            for code in split_roles(stored):
                counts[code] = counts.get(code, 0) + 1
        # In the order of the roles (admin first), not alphabetically by code.
        context["role_counts"] = [(r.label, counts[r.value]) for r in Role if r.value in counts]
    if can(member, "audit.view"):
        context["recent"] = AuditEntry.objects.visible_to(member).select_related("actor")[:8]
    return render(request, "core/workspace_home.html", context)


@require_safe
def section(request: HttpRequest, ws: str, key: str) -> HttpResponse:
    """Modules that later releases fill in; each says what it will do and what to set up."""
    from portevoix.core.context_processors import NAVIGATION

    entry = next((n for n in NAVIGATION if n[0] == key), None)
    if entry is None or key in {
        "team",
        "settings",
        "inbox",
        "calendar",
        "channels",
        "attention",
        "strategy",
        "crisis",
        "listening",
    }:
        from django.http import Http404

        raise Http404("not found")
    member: Member = _member(request)
    action = entry[2]
    if action is not None:
        require(member, action)
    elif key == "inbox":
        require_any(member, "inbox.view_all", "inbox.view_assigned")
    return render(request, "core/section.html", {"section": key, "title": entry[1]})


# --- team -------------------------------------------------------------------------------


@require_safe
def team(request: HttpRequest, ws: str) -> HttpResponse:
    member: Member = _member(request)
    require(member, "member.view")
    show = query_choice(request, "show", ("active", "inactive", "all"), default="active")
    members = Member.objects.visible_to(member).select_related("user", "department")
    if show == "inactive":
        members = members.filter(is_active=False)
    elif show != "all":
        members = members.filter(is_active=True)
    query = query_text(request, "q")
    if query:
        members = members.filter(
            Q(user__full_name__icontains=query) | Q(user__email__icontains=query)
        )
    role = query_choice(request, "role", Role.values)
    if role:
        members = members.filter(holding([role]))
    return render(
        request,
        "core/team.html",
        {
            "members": members,
            "show": show,
            "query": query,
            "role_filter": role,
            "roles": Role.choices,
            "pending_invitations": Invitation.objects.visible_to(member)
            .filter(
                accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
            .count(),
        },
    )


def member_detail(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me: Member = _member(request)
    target: Member = Member.objects.select_related("user", "department").get_for(me, pk=pk)
    extra_post = request.method == "POST" and "extra_roles_form" in request.POST
    form = RoleForm(
        request.POST if request.method == "POST" and not extra_post else None,
        workspace=me.workspace,
        initial={"role": target.role, "department": target.department_id},
    )
    extra_form = ExtraRolesForm(
        request.POST if extra_post else None,
        initial={"extra_roles": [r.value for r in target.extra_role_list]},
        prefix="x",
    )
    if extra_post:
        require(me, "member.change_role")
        if extra_form.is_valid():
            done = _run(
                extra_form,
                lambda: actions.set_extra_roles(
                    target, by=me, roles=extra_form.cleaned_data["extra_roles"]
                ),
            )
            if done is not None:
                messages.success(
                    request,
                    _("%(name)s's extra roles are saved.") % {"name": done.user.display_name},
                )
                return redirect("member_detail", ws=ws, pk=pk)
    elif request.method == "POST":
        require(me, "member.change_role")
        if form.is_valid():
            done = _run(
                form,
                lambda: actions.change_role(
                    target,
                    by=me,
                    role=form.cleaned_data["role"],
                    department=form.cleaned_data["department"],
                ),
            )
            if done is not None:
                messages.success(
                    request,
                    _("%(name)s is now %(role)s.")
                    % {"name": done.user.display_name, "role": done.get_role_display()},
                )
                return redirect("member_detail", ws=ws, pk=pk)
    history = (
        AuditEntry.objects.visible_to(me)
        .filter(object_type="core.member", object_id=str(target.pk))
        .select_related("actor")[:20]
        if can(me, "audit.view")
        else []
    )
    return render(
        request,
        "core/member_detail.html",
        {
            "target": target,
            "form": form,
            "extra_form": extra_form,
            "is_admin": me.role == Role.ADMIN,
            "history": history,
            "is_self": target.pk == me.pk,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def member_deactivate(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me: Member = _member(request)
    target: Member = Member.objects.select_related("user").get_for(me, pk=pk)
    require(me, "member.deactivate")
    try:
        actions.deactivate_member(target, by=me)
        messages.success(
            request,
            _("%(name)s is deactivated; their sessions have ended.")
            % {"name": target.user.display_name},
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("member_detail", ws=ws, pk=pk)


@require_POST
def member_reactivate(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me: Member = _member(request)
    target: Member = Member.objects.select_related("user").get_for(me, pk=pk)
    require(me, "member.deactivate")
    try:
        actions.reactivate_member(target, by=me)
        messages.success(
            request, _("%(name)s is active again.") % {"name": target.user.display_name}
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("member_detail", ws=ws, pk=pk)


def invitations(request: HttpRequest, ws: str) -> HttpResponse:
    me: Member = _member(request)
    require(me, "member.invite")
    form = InvitationForm(request.POST or None, workspace=me.workspace)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            created = _run(
                form,
                lambda: actions.invite(
                    me.workspace,
                    by=me,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    department=form.cleaned_data["department"],
                ),
            )
            if created is not None:
                invitation, token = created
                request.session["last_invitation_link"] = actions.invitation_url(token)
                messages.success(
                    request,
                    _("Invitation sent to %(email)s.") % {"email": invitation.email},
                )
                return redirect("invitations", ws=ws)
        status = 400
    link = request.session.pop("last_invitation_link", None)
    rows = Invitation.objects.visible_to(me).select_related("department", "invited_by")
    return render(
        request,
        "core/invitations.html",
        {"form": form, "invitations": rows[:200], "new_link": link},
        status=status,
    )


@require_POST
def invitation_revoke(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me: Member = _member(request)
    invitation: Invitation = Invitation.objects.get_for(me, pk=pk)
    try:
        actions.revoke_invitation(invitation, by=me)
        messages.success(request, _("Invitation withdrawn."))
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("invitations", ws=ws)


@require_POST
def invitation_resend(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me: Member = _member(request)
    invitation: Invitation = Invitation.objects.get_for(me, pk=pk)
    try:
        token = actions.resend_invitation(invitation, by=me)
        request.session["last_invitation_link"] = actions.invitation_url(token)
        messages.success(
            request, _("Invitation sent again to %(email)s.") % {"email": invitation.email}
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("invitations", ws=ws)


@require_safe
def roles(request: HttpRequest, ws: str) -> HttpResponse:
    me: Member = _member(request)
    require(me, "member.view")
    role_list = list(Role)
    matrix = [{"action": a, "cells": [a.code in MATRIX[r] for r in role_list]} for a in ACTIONS]
    return render(
        request,
        "core/roles.html",
        {
            "role_list": [(r, ROLE_DESCRIPTIONS[r]) for r in role_list],
            "matrix": matrix,
        },
    )


def departments(request: HttpRequest, ws: str) -> HttpResponse:
    me: Member = _member(request)
    form = DepartmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(me, "department.manage")
        if form.is_valid():
            made = _run(
                form, lambda: actions.create_department(me.workspace, by=me, **form.cleaned_data)
            )
            if made is not None:
                messages.success(request, _("Department “%(name)s” created.") % {"name": made.name})
                return redirect("departments", ws=ws)
        status = 400
    rows = Department.objects.visible_to(me).annotate(
        active_members=Count("members", filter=Q(members__is_active=True))
    )
    return render(
        request,
        "core/departments.html",
        {"departments": rows, "form": form, "can_manage": can(me, "department.manage")},
        status=status,
    )


def department_edit(request: HttpRequest, ws: str, pk: int) -> HttpResponse:
    me: Member = _member(request)
    require(me, "department.manage")
    department: Department = Department.objects.get_for(me, pk=pk)
    initial = {
        "name": department.name,
        "description": department.description,
        "contact_email": department.contact_email,
    }
    form = DepartmentForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if "archive" in request.POST or "restore" in request.POST:
            try:
                actions.update_department(department, by=me, is_active="restore" in request.POST)
                return redirect("departments", ws=ws)
            except ActionRefused as exc:
                form = DepartmentForm(initial=initial)
                form.add_error(None, exc.message)
                status = 400
        elif form.is_valid():
            done = _run(
                form, lambda: actions.update_department(department, by=me, **form.cleaned_data)
            )
            if done is not None:
                messages.success(request, _("Department saved."))
                return redirect("departments", ws=ws)
            status = 400
        else:
            status = 400
    return render(
        request,
        "core/department_edit.html",
        {"department": department, "form": form},
        status=status,
    )


# --- settings and audit -----------------------------------------------------------------


def workspace_settings(request: HttpRequest, ws: str) -> HttpResponse:
    me: Member = _member(request)
    workspace = me.workspace
    editable = can(me, "workspace.settings")
    form = WorkspaceSettingsForm(
        request.POST or None,
        initial={
            "name": workspace.name,
            "time_zone": workspace.time_zone,
            "language": workspace.language,
            "require_two_factor": workspace.require_two_factor,
            "lateness_limit_minutes": workspace.lateness_limit_minutes,
            "when_late": workspace.when_late,
        },
    )
    status = 200
    if request.method == "POST":
        require(me, "workspace.settings")
        if form.is_valid():
            done = _run(
                form, lambda: actions.update_workspace(workspace, by=me, **form.cleaned_data)
            )
            if done is not None:
                messages.success(request, _("Settings saved."))
                return redirect("workspace_settings", ws=ws)
        status = 400
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "core/settings.html",
        {"form": form, "editable": editable, "can_audit": can(me, "audit.view")},
        status=status,
    )


def _filtered_audit(request: HttpRequest, me: Member) -> tuple[AuditFilterForm, Any]:
    require(me, "audit.view")
    form = AuditFilterForm(request.GET or None)
    rows = AuditEntry.objects.visible_to(me).select_related("actor")
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            rows = rows.filter(actor_label__icontains=data["actor"])
        if data["action"]:
            # The code ("member.change_role", "approval") or words of its name as the page
            # shows it ("rôle", "Role changed"), accents and capitals aside.
            wanted = fold(data["action"].strip())
            named = [
                code
                for code, label in actions.AUDIT_ACTION_LABELS.items()
                if wanted in fold(_(label))
            ]
            rows = rows.filter(Q(action__icontains=data["action"]) | Q(action__in=named))
        tz = timezone.get_current_timezone()
        if data["since"]:
            rows = rows.filter(created_at__gte=dt.datetime.combine(data["since"], dt.time(), tz))
        if data["until"]:
            end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time(), tz)
            rows = rows.filter(created_at__lt=end)
    return form, rows


@require_safe
def audit_log(request: HttpRequest, ws: str) -> HttpResponse:
    me: Member = _member(request)
    form, rows = _filtered_audit(request, me)
    page = Paginator(rows, 50).get_page(query_int(request, "page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "labels": {k: _(v) for k, v in actions.AUDIT_ACTION_LABELS.items()},
            "action_names": sorted({_(v) for v in actions.AUDIT_ACTION_LABELS.values()}),
        },
        status=200 if form.is_valid() or not request.GET else 400,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_safe
def audit_export(request: HttpRequest, ws: str) -> HttpResponse | StreamingHttpResponse:
    me: Member = _member(request)
    form, rows = _filtered_audit(request, me)
    if request.GET and not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else name}: "
            + " ".join(str(error) for error in errors)
            for name, errors in form.errors.items()
        )
        raise BadQuery("", _("The filter is not valid: %(errors)s") % {"errors": problems})
    writer = exports.csv_writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(
            [
                "time_utc",
                "actor",
                "action",
                "object_type",
                "object_id",
                "object",
                "before",
                "after",
                "ip_address",
                "user_agent",
            ]
        )
        import json

        for entry in rows.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    entry.created_at.astimezone(dt.UTC).isoformat(),
                    entry.actor_label,
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.object_repr,
                    json.dumps(entry.before, ensure_ascii=False)
                    if entry.before is not None
                    else "",
                    json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else "",
                    entry.ip_address or "",
                    entry.user_agent,
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{ws}-{stamp}.csv"'
    return response


# --- people -----------------------------------------------------------------------------


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = actions.check_invitation(token)
    except ActionRefused as exc:
        return render(
            request,
            "core/invitation_invalid.html",
            {"reason": exc.message},
            status=410 if exc.code in {"expired", "used", "revoked", "archived"} else 404,
        )
    user = request.user if isinstance(request.user, User) else None
    form = AcceptInvitationForm(request.POST or None) if user is None else None
    error = None
    status = 200
    if request.method == "POST":
        if user is not None:
            try:
                member = actions.accept_invitation(token, user=user)
                messages.success(request, _("Welcome to %(ws)s.") % {"ws": member.workspace.name})
                return redirect("workspace_home", ws=member.workspace.slug)
            except ActionRefused as exc:
                error = exc.message
                status = 400
        elif form is not None and form.is_valid():
            try:
                member = actions.accept_invitation(
                    token,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password"],
                )
            except ActionRefused as exc:
                _refusal_to_form(form, exc)
                status = 400
            else:
                login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome to %(ws)s.") % {"ws": member.workspace.name})
                return redirect("workspace_home", ws=member.workspace.slug)
        else:
            status = 400
    account_exists = user is None and _account_exists(invitation.email)
    return render(
        request,
        "core/invitation_accept.html",
        {"invitation": invitation, "form": form, "error": error, "account_exists": account_exists},
        status=status,
    )


def _account_exists(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ProfileForm(
        request.POST or None,
        initial={
            "full_name": user.full_name,
            "language": user.language,
            "time_zone": user.time_zone,
        },
    )
    if request.method == "POST" and form.is_valid():
        done = _run(form, lambda: actions.update_profile(user, **form.cleaned_data))
        if done is not None:
            messages.success(request, _("Profile saved."))
            response = redirect("profile")
            if done.language:
                translation.activate(done.language)
                response.set_cookie(
                    "django_language", done.language, samesite="Lax", max_age=365 * 86400
                )
            return response
    return render(request, "core/profile.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language, and remember it on the account."""
    from django.conf import settings

    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        raise BadQuery("language", _("Unknown language."))
    user = request.user
    if isinstance(user, User) and user.language != language:
        actions.update_profile(
            user, full_name=user.full_name, language=language, time_zone=user.time_zone
        )
    response = _back(request, reverse("home"))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 86400, samesite="Lax"
    )
    return response
