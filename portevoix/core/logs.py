"""Secrets never reach a log line: invitation tokens, OAuth codes, access tokens are masked.

Some secrets travel in URLs (an invitation link, an OAuth callback's ``code``, a
password-reset key, the access tokens of :mod:`portevoix.core.access`), and URLs are what
access logs and "Not Found: /path" warnings print. :class:`MaskSecrets` is a logging filter
that rewrites every record it sees; it sits on Porte-voix's console handler (settings
``LOGGING``) and, from :meth:`portevoix.core.apps.CoreConfig.ready`, on gunicorn's access and
error loggers and on Django's request loggers, so the production server's access log is
masked too.
"""

from __future__ import annotations

import logging
import re

HIDDEN = "[hidden]"

#: Query parameters whose value is a secret wherever they appear.
SECRET_PARAMETERS = (
    "code",
    "state",
    "token",
    "key",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "secret",
    "oauth_token",
    "oauth_verifier",
    "signature",
)

# A URL path starts the line, follows a space or a quote, or follows scheme://host.
_START = r"(?P<start>^|[\s\"'(=]|://[^/\s\"']+)"
#: Paths whose next segment is a secret.
SECRET_PATH_PREFIXES = ("/invitations/", "/accounts/password/reset/key/")

_PATHS = re.compile(
    _START + "(?P<prefix>" + "|".join(re.escape(p) for p in SECRET_PATH_PREFIXES) + r")[^/?#\s\"']+"
)
_QUERY = re.compile(
    r"(?P<name>[?&;](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;#\s\"']*", re.IGNORECASE
)
#: Access tokens (portevoix.core.access) are recognisable anywhere, in any URL.
_ACCESS_TOKEN = re.compile(r"pvt\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def mask(text: str) -> str:
    """``text`` with every secret this module knows replaced by ``[hidden]``."""
    if not text:
        return text
    text = _PATHS.sub(lambda m: f"{m['start']}{m['prefix']}{HIDDEN}", text)
    text = _QUERY.sub(lambda m: f"{m['name']}{HIDDEN}", text)
    return _ACCESS_TOKEN.sub(HIDDEN, text)


class MaskSecrets(logging.Filter):
    """Formats the record's message once and masks it; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        masked = mask(message)
        if masked != message:
            record.msg = masked
            record.args = ()
        return True


MASK = MaskSecrets()

#: Loggers that write URLs and have handlers of their own (not only ours).
URL_LOGGERS = ("gunicorn.access", "gunicorn.error", "django.request", "django.server")


def install() -> None:
    """Put the filter on the loggers that print URLs (idempotent)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if MASK not in logger.filters:
            logger.addFilter(MASK)
