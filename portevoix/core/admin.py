"""The Django admin: a read-only window on the installation for its operators (staff).

It is not a second way to change things. Core models are read-only here; what an operator may
do goes through :mod:`portevoix.core.actions` (permission, audit entry, side effects after
commit) as admin actions: archive or restore a workspace, remove a person's two-factor
authenticator, end their sessions. Nothing here deletes: a workspace is archived, never
deleted with its history.

The admin's login page is allauth's (two-factor, throttling and the audit log apply), and
:class:`portevoix.core.middleware.StaffTwoFactorMiddleware` makes two-factor mandatory for
every staff page.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portevoix.core import actions
from portevoix.core.actions import ActionRefused
from portevoix.core.models import (
    AccessToken,
    AuditEntry,
    Department,
    Invitation,
    Member,
    User,
    Workspace,
)

# Every login goes through allauth's flow: the admin's own form would skip the code, the
# throttling and the audit log.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


def _password_change(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    return HttpResponseRedirect(reverse("account_change_password"))


admin.site.password_change = _password_change  # type: ignore[method-assign,assignment]
admin.site.site_header = _("Porte-voix — operators")
admin.site.site_title = _("Porte-voix operators")
admin.site.index_title = _("The installation, read-only; changes go through actions")


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shows rows; adds, edits and deletes nothing. Admin actions call core actions."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        act: Any,
        done: str,
    ) -> None:
        count = 0
        for row in queryset:
            try:
                act(row)
            except ActionRefused as exc:
                self.message_user(request, f"{row}: {exc.message}", messages.ERROR)
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            else:
                count += 1
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)


@admin.register(User)
class UserAdmin(ReadOnlyAdmin, BaseUserAdmin):  # type: ignore[type-arg]
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email",)}),
        (_("Profile"), {"fields": ("full_name", "language", "time_zone")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "last_login")}),
    )
    actions = ["reset_two_factor", "end_sessions"]

    def has_change_user_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("core.change_user"))

    @admin.action(
        description=_("Remove two-factor authentication (lost authenticator)"),
        permissions=["change_user"],
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        operator = request.user
        assert isinstance(operator, User)
        self._each(
            request,
            queryset,
            lambda user: actions.reset_two_factor(user, by=operator),
            str(_("Two-factor authentication removed for %(count)d person(s).")),
        )

    @admin.action(
        description=_("End every session (log out everywhere)"), permissions=["change_user"]
    )
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        operator = request.user
        assert isinstance(operator, User)
        self._each(
            request,
            queryset,
            lambda user: actions.end_user_sessions(user, by=operator),
            str(_("Sessions ended for %(count)d person(s).")),
        )


class ArchivedFilter(admin.SimpleListFilter):
    title = _("archived")
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("Not archived")), ("yes", _("Archived"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        return queryset


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "archived_at", "require_two_factor", "created_at"]
    list_filter = [ArchivedFilter]
    search_fields = ["name", "slug"]
    actions = ["archive", "restore"]

    def has_change_workspace_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("core.change_workspace"))

    @admin.action(
        description=_("Archive (close its pages, keep its history)"),
        permissions=["change_workspace"],
    )
    def archive(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        operator = request.user
        assert isinstance(operator, User)
        self._each(
            request,
            queryset,
            lambda workspace: actions.archive_workspace(workspace, by=operator),
            str(_("%(count)d workspace(s) archived.")),
        )

    @admin.action(description=_("Restore (open it again)"), permissions=["change_workspace"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        operator = request.user
        assert isinstance(operator, User)
        self._each(
            request,
            queryset,
            lambda workspace: actions.restore_workspace(workspace, by=operator),
            str(_("%(count)d workspace(s) restored.")),
        )


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "code", "workspace", "is_active"]
    list_filter = ["workspace"]


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ["user", "workspace", "role", "department", "is_active"]
    list_filter = ["workspace", "role", "is_active"]
    search_fields = ["user__email", "user__full_name"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "workspace", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["workspace"]
    exclude = ["token_hash"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "workspace", "actor_label", "action", "object_repr", "ip_address"]
    list_filter = ["workspace", "action"]
    search_fields = ["actor_label", "action", "object_repr"]


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    """The links that work without a login (docs/ways-in.md); only their hash is stored."""

    list_display = [
        "created_at",
        "workspace",
        "purpose",
        "object_repr",
        "expires_at",
        "revoked_at",
        "use_count",
        "last_used_at",
    ]
    list_filter = ["purpose", "workspace"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_change_accesstoken_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("core.change_accesstoken"))

    @admin.action(
        description=_("Withdraw (stops at the next use)"), permissions=["change_accesstoken"]
    )
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        operator = request.user
        assert isinstance(operator, User)
        self._each(
            request,
            queryset,
            lambda token: actions.revoke_access_token(token, by=operator),
            str(_("%(count)d link(s) withdrawn.")),
        )


# --- allauth's own models: read-only too, and never their secrets ------------------------

admin.site.unregister(Group)  # roles live in the permission matrix, not in groups
for _model in (EmailAddress, Authenticator, UserSession):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(EmailAddress)
class EmailAddressAdmin(ReadOnlyAdmin):
    list_display = ["email", "user", "primary", "verified"]
    search_fields = ["email"]


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    exclude = ["data"]  # encrypted secrets: nothing for a page


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "last_seen_at", "ip", "user_agent"]
    exclude = ["session_key"]  # a session key is a login
