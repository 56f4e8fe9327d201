from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from portevoix.core import audit
from portevoix.core.models import Member, User


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """Sign-up is open only to create the very first account; everyone else is invited."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return not User.objects.exists()

    def login(self, request: HttpRequest, user: Any) -> Any:
        response = super().login(request, user)
        for member in Member.objects.filter(user=user, is_active=True).select_related("workspace"):
            audit.record("user.login", workspace=member.workspace, actor=user, obj=member)
        return response

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        email = str(credentials.get("email", ""))[:200]
        user = User.objects.filter(email__iexact=email).first() if email else None
        if user is not None:
            for member in Member.objects.filter(user=user, is_active=True).select_related(
                "workspace"
            ):
                audit.record(
                    "user.login_failed", workspace=member.workspace, actor=None, obj=member
                )
