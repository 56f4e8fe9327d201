"""Two-factor authentication: secrets encrypted at rest, and the rule for staff.

allauth stores a TOTP secret (``data["secret"]``) and a recovery-code seed (``data["seed"]``,
or ``data["migrated_codes"]``) per authenticator. Its MFA adapter hands every one of them to
``encrypt``/``decrypt``; :class:`portevoix.core.adapters.MFAAdapter` uses the same keys as
channel credentials (:mod:`portevoix.core.crypto`), and :func:`rotate_secrets` re-encrypts
them when ``portevoix rotate-keys`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from portevoix.core import crypto

SECRET_KEYS = ("secret", "seed")
SECRET_LISTS = ("migrated_codes",)


def map_secrets(data: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """``data`` with ``change`` applied to every secret value allauth keeps in it."""
    out = dict(data)
    for key in SECRET_KEYS:
        if isinstance(out.get(key), str):
            out[key] = change(out[key])
    for key in SECRET_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [change(v) if isinstance(v, str) else v for v in out[key]]
    return out


def encrypt_if_clear(value: str) -> str:
    return value if crypto.is_encrypted(value) else crypto.encrypt_text(value)


def decrypt_if_encrypted(value: str) -> str:
    return crypto.decrypt_text(value) if crypto.is_encrypted(value) else value


def rotate_secrets() -> int:
    """Re-encrypt every two-factor secret with the newest key. Returns how many authenticators."""
    from allauth.mfa.models import Authenticator

    count = 0
    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().only("pk", "data"):
            data = map_secrets(
                authenticator.data or {}, lambda v: crypto.rotate(encrypt_if_clear(v))
            )
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
            count += 1
    return count


def has_totp(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return bool(Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists())


def session_passed_two_factor(request: HttpRequest) -> bool:
    """Did this session's person give an authenticator code (at login or since)?"""
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(r.get("method") == "mfa" for r in records if isinstance(r, dict))
