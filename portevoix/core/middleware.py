"""Request plumbing: language and time zone per person, and workspace membership."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

from portevoix.core import audit
from portevoix.core.models import Member


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


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
    the workspace did not exist. It also applies the person's language and time zone, and
    sends members of a workspace that requires two-factor authentication to set it up.
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
            raise Http404("not found")
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
        if member.workspace.require_two_factor and not _has_totp(user):
            return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return None


def _last_workspace(request: HttpRequest, user: Any) -> Any:
    """The workspace the person last worked in (as the navigation shows it), or their first."""
    if user.language and user.time_zone:
        return None  # nothing to look up
    from portevoix.core.models import Workspace

    active = Workspace.objects.filter(members__user=user, members__is_active=True)
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


def _has_totp(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return bool(Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists())
