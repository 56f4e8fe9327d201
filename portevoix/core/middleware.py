"""Request plumbing: the client's address, language and time zone per person, workspace
membership, and two-factor authentication for staff."""

from __future__ import annotations

import ipaddress
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation

from portevoix.core import audit, twofactor
from portevoix.core.models import Member

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: str) -> Address | None:
    """An address from ``REMOTE_ADDR`` or one ``X-Forwarded-For`` hop (ports dropped)."""
    value = value.strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address) -> bool:
    return any(address in network for network in settings.PORTEVOIX_TRUSTED_PROXIES)


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person making the request, for throttling and the audit log.

    ``X-Forwarded-For`` is believed only when the connection comes from a proxy named in
    ``PORTEVOIX_TRUSTED_PROXIES``, and only as far back as the chain of trusted proxies goes:
    reading the header from the right, the first address that is not a trusted proxy is the
    client. Anything a client writes into the header itself sits to the left of that and is
    never read. Without trusted proxies the header is ignored.
    """
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    if not _trusted(remote):
        return str(remote)
    client = remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address):
            break
    return str(client)


class OriginMiddleware:
    """Records where the request comes from, for the audit log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = audit.Origin(
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            label="web",
        )
        with audit.origin(where):
            return self.get_response(request)


class ActiveMemberMiddleware:
    """Every URL with a ``ws`` argument belongs to a workspace: only its active members pass.

    Sets ``request.workspace`` and ``request.member``. Anybody else gets a 404, exactly as if
    the workspace did not exist. An archived workspace is closed: its members get a page that
    says so (410), with nothing of its content. It also applies the person's language and
    time zone, and sends members of a workspace that requires two-factor authentication to
    set it up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Once logged in, the account decides, not the browser: the profile's language,
            # else the workspace's (refined in process_view once the URL names a workspace).
            # Accept-Language and the language cookie only count before login.
            workspace = _last_workspace(request, user)
            _apply(
                request,
                user.language or (workspace.language if workspace else ""),
                user.time_zone or (workspace.time_zone if workspace else ""),
            )
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        slug = view_kwargs.get("ws")
        if slug is None:
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        member = (
            Member.objects.select_related("workspace", "department", "user")
            .filter(workspace__slug=slug, user=user, is_active=True)
            .first()
        )
        if member is None:
            # A member whose access was removed learns it (with when); to anyone else the
            # workspace does not exist.
            removed = (
                Member.objects.select_related("workspace")
                .filter(
                    workspace__slug=slug,
                    user=user,
                    is_active=False,
                    workspace__archived_at__isnull=True,
                )
                .first()
            )
            if removed is not None:
                return render(request, "core/access_removed.html", {"removed": removed}, status=403)
            raise Http404("not found")
        if member.workspace.archived_at is not None:
            # Closed, not gone: its members learn why; everyone else still sees nothing.
            return render(
                request,
                "core/workspace_archived.html",
                {"archived_workspace": member.workspace},
                status=410,
            )
        request.workspace = member.workspace  # type: ignore[attr-defined]
        request.member = member  # type: ignore[attr-defined]
        if not user.language or not user.time_zone:
            # "The workspace's language/time zone": the workspace of this page.
            _apply(
                request,
                user.language or member.workspace.language,
                user.time_zone or member.workspace.time_zone,
            )
        if request.session.get("workspace") != slug:  # no session write on every request
            request.session["workspace"] = slug
        if member.workspace.require_two_factor and not twofactor.has_totp(user):
            return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return None


def _last_workspace(request: HttpRequest, user: Any) -> Any:
    """The workspace the person last worked in (as the navigation shows it), or their first."""
    if user.language and user.time_zone:
        return None  # nothing to look up
    from portevoix.core.models import Workspace

    active = Workspace.objects.filter(
        members__user=user, members__is_active=True, archived_at__isnull=True
    )
    last = request.session.get("workspace")
    return (last and active.filter(slug=last).first()) or active.order_by("name").first()


def _apply(request: HttpRequest, language: str, tz_name: str) -> None:
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
    try:
        timezone.activate(zoneinfo.ZoneInfo(tz_name or settings.TIME_ZONE))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


#: Pages that act on the whole installation rather than on one workspace.
STAFF_PREFIXES = ("/admin/", "/ops/")


class StaffTwoFactorMiddleware:
    """Staff need two-factor authentication for ``/admin/`` and ``/ops/``, always.

    Staff access is instance-wide, so the rule is too, whatever their workspaces require: a
    staff member without an authenticator is sent to set one up, and a session that was not
    confirmed with a code (logged in before the authenticator existed) is asked for one. The
    admin's own login page is allauth's (see ``portevoix/core/admin.py``), so throttling, the
    code and the audit log apply there like everywhere else.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path.startswith(STAFF_PREFIXES)
            and request.path != reverse("admin:logout")
        ):
            if not twofactor.has_totp(user):
                return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
            if not twofactor.session_passed_two_factor(request):
                return redirect(f"{reverse('mfa_reauthenticate')}?next={request.path}")
        return self.get_response(request)
