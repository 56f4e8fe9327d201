"""Secrets at rest: MultiFernet over the keys in PORTEVOIX_ENCRYPTION_KEYS (newest first).

Credentials are stored as one encrypted JSON object. Any listed key decrypts; the first one
encrypts, so rotation is: put a new key first, run ``portevoix rotate-keys``, drop the old one.
"""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """No configured key opens this secret (a key was dropped too early)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretUnreadable("no encryption key is configured (PORTEVOIX_ENCRYPTION_KEYS)")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.PORTEVOIX_ENCRYPTION_KEYS))


def encrypt(values: dict[str, str]) -> str:
    return fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable(
            "these credentials were encrypted with a key that is no longer configured"
        ) from exc
    return {str(k): str(v) for k, v in data.items()}


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("a secret cannot be read with the configured keys") from exc
