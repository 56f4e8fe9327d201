"""Which credential keys are secrets, for the forms and the command line.

A secret is typed into a password field in the browser, and is never accepted as a command-line
argument (it would stay in the shell history and in the process list).
"""

from __future__ import annotations

SECRET_FIELDS = frozenset(
    {"app_password", "access_token", "token", "password", "client_secret", "refresh_token"}
)
# Keys a network may add later are secrets when their name says so.
_SECRET_WORDS = ("password", "token", "secret", "session", "key")


def is_secret(key: str) -> bool:
    name = key.strip().lower()
    return name in SECRET_FIELDS or any(word in name for word in _SECRET_WORDS)
