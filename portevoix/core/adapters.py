"""allauth, adapted: who may sign up, the client's address, the audit log, encrypted 2FA."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from portevoix.core import audit, crypto, twofactor
from portevoix.core.middleware import client_ip
from portevoix.core.models import Member, User


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """Sign-up is open only to create the very first account; everyone else is invited."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return not User.objects.exists()

    def get_client_ip(self, request: HttpRequest) -> str:
        """Login throttling and the session list count the person, not the proxy in front."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's address")
        return ip

    def login(self, request: HttpRequest, user: Any) -> Any:
        response = super().login(request, user)
        members = list(Member.objects.filter(user=user, is_active=True).select_related("workspace"))
        for member in members:
            audit.record("user.login", workspace=member.workspace, actor=user, obj=member)
        if user.is_staff or not members:
            # Staff act on the whole installation: their logins are in the instance's log
            # (the admin's audit list, workspace "—") whatever their workspaces.
            audit.record("user.login", workspace=None, actor=user, obj=user)
        return response

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        email = str(credentials.get("email", ""))[:200]
        user = User.objects.filter(email__iexact=email).first() if email else None
        if user is None:
            return
        members = list(Member.objects.filter(user=user, is_active=True).select_related("workspace"))
        for member in members:
            audit.record("user.login_failed", workspace=member.workspace, actor=None, obj=member)
        if user.is_staff or not members:
            audit.record("user.login_failed", workspace=None, actor=None, obj=user)


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    """TOTP secrets and recovery-code seeds are encrypted like channel credentials.

    A secret written in clear (by a process older than this code, during an upgrade) is still
    read; ``portevoix rotate-keys`` encrypts it.
    """

    def encrypt(self, text: str) -> str:
        return crypto.encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        return twofactor.decrypt_if_encrypted(encrypted_text)
