"""Channel credentials at rest: one encrypted JSON object per channel.

The keys and their rotation are :mod:`portevoix.core.crypto`'s; this module only turns a
credentials dictionary into one encrypted string and back.
"""

from __future__ import annotations

import json

from portevoix.core.crypto import SecretUnreadable, decrypt_text, encrypt_text, fernet, rotate

__all__ = ["SecretUnreadable", "decrypt", "encrypt", "fernet", "rotate"]


def encrypt(values: dict[str, str]) -> str:
    return encrypt_text(json.dumps(values, sort_keys=True))


def decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    data = json.loads(decrypt_text(token, what="these credentials"))
    return {str(k): str(v) for k, v in data.items()}
