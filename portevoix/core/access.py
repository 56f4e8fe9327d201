"""Ways in without a login: what an access token may do, and what one looks like.

A feature that lets someone in without a login (a calendar feed, a hand-off link, a policy
acknowledgement link: see ``docs/ways-in.md``) registers a :class:`Purpose` from its
``AppConfig.ready()`` and then only calls the three actions in :mod:`portevoix.core.actions`:
``issue_access_token``, ``revoke_access_token`` and ``use_access_token``. Those enforce the
rules for every purpose alike:

* **signed**: the token carries an HMAC of its secret under the purpose's name (keyed by the
  installation's secret key), so a token made for one purpose fails the signature check of any
  other, and a tampered token is refused before the database is asked;
* **hashed at rest**: only the SHA-256 of the secret is stored (like invitations), and the
  link is shown once;
* **one purpose, one object**: a token names its purpose and the one object it opens;
* **expiring**: every token has an end, at most the purpose's ``max_lifetime``;
* **revocable**: revoking takes effect on the next use;
* **audited**: every use, and every refused use of a known token, is an audit entry.

Tokens look like ``pvt.<secret>.<signature>``: the fixed prefix lets the log filter
(:mod:`portevoix.core.logs`) mask them in any URL.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import models
from django.utils.crypto import constant_time_compare, salted_hmac

from portevoix.core.crypto import secret_keys

PREFIX = "pvt"


@dataclass(frozen=True)
class Purpose:
    """What tokens of one kind open, for how long, how often, and who may hand them out."""

    code: str
    #: ``app_label.model`` of the one object a token opens (``core.member``...).
    target: str
    #: The permission (``core.permissions``) needed to issue or revoke one.
    issue_action: str
    max_lifetime: timedelta
    default_lifetime: timedelta
    #: None: any number of uses until it expires; 1: a one-shot link.
    max_uses: int | None = None
    #: Extra rule checked at issue time and at every use (e.g. "the member is still active");
    #: returns a refusal message or None.
    check: Callable[[Any], str | None] | None = None

    def __post_init__(self) -> None:
        if "." in self.code or not self.code:
            raise ValueError(f"a purpose code is a plain word, not {self.code!r}")
        if self.default_lifetime > self.max_lifetime:
            raise ValueError(f"{self.code}: the default lifetime exceeds the maximum")


_PURPOSES: dict[str, Purpose] = {}


def register(purpose: Purpose) -> Purpose:
    """Declare a purpose (idempotent for the same declaration; a clash is an error)."""
    known = _PURPOSES.get(purpose.code)
    if known is not None and known != purpose:
        raise ValueError(f"the access-token purpose {purpose.code!r} is already declared")
    _PURPOSES[purpose.code] = purpose
    return purpose


def unregister(code: str) -> None:
    _PURPOSES.pop(code, None)


def purpose(code: str) -> Purpose:
    try:
        return _PURPOSES[code]
    except KeyError as exc:
        raise LookupError(f"unknown access-token purpose {code!r}") from exc


def purposes() -> list[Purpose]:
    return sorted(_PURPOSES.values(), key=lambda p: p.code)


def target_label(obj: models.Model) -> str:
    return obj._meta.label_lower


def _signature(code: str, secret: str, key: str | None = None) -> str:
    digest = salted_hmac(
        f"portevoix.access.{code}", secret, secret=key, algorithm="sha256"
    ).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(code: str) -> tuple[str, str]:
    """A fresh token for ``code`` and the hash to store."""
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}.{secret}.{_signature(code, secret)}", hash_secret(secret)


def signed_secret(token: str, code: str) -> str | None:
    """The secret inside ``token`` if its signature holds for purpose ``code``, else None."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    secret, signature = parts[1], parts[2]
    # Signed with the secret key or, after a rotation, with one of its fallbacks.
    if not any(
        constant_time_compare(signature, _signature(code, secret, k)) for k in secret_keys()
    ):
        return None
    return secret
