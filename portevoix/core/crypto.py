"""Secrets at rest: MultiFernet over the keys in PORTEVOIX_ENCRYPTION_KEYS (newest first).

Any listed key decrypts; the first one encrypts, so rotation is: put a new key first, run
``portevoix rotate-keys``, drop the old one. Channel credentials
(:mod:`portevoix.channels.crypto`) and two-factor secrets (:mod:`portevoix.core.adapters`)
both go through here.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

#: Every Fernet token starts with these characters (version byte 0x80, then a timestamp
#: whose first bytes are zero until the year 10889). A TOTP secret (base32, upper case) or a
#: recovery-code seed (hex) never does, which lets a migration tell clear from encrypted.
FERNET_PREFIX = "gAAAAA"


class SecretUnreadable(Exception):
    """No configured key opens this secret (a key was dropped too early)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretUnreadable("no encryption key is configured (PORTEVOIX_ENCRYPTION_KEYS)")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.PORTEVOIX_ENCRYPTION_KEYS))


def encrypt_text(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt_text(token: str, *, what: str = "this secret") -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            f"{what}: encrypted with a key that is no longer configured"
        ) from exc


def secret_keys() -> list[str]:
    """The secret key, then its fallbacks (``PORTEVOIX_SECRET_KEY_FALLBACKS``): a digest or
    signature made with any of them is still recognised; new ones use the first."""
    return [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]


def is_encrypted(value: str) -> bool:
    return value.startswith(FERNET_PREFIX)


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("a secret cannot be read with the configured keys") from exc
