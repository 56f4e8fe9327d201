"""Secrets never reach a log line: invitation tokens, OAuth codes, access tokens are masked.

Some secrets travel in URLs (an invitation link, an OAuth callback's ``code``, a
password-reset key, the access tokens of :mod:`portevoix.core.access`), and URLs are what
access logs and "Not Found: /path" warnings print. :class:`MaskSecrets` is a logging filter
that rewrites every record it sees; it sits on Porte-voix's console handler (settings
``LOGGING``) and, from :meth:`portevoix.core.apps.CoreConfig.ready`, on gunicorn's access and
error loggers and on Django's request loggers, so the production server's access log is
masked too.

:class:`OneLineRefusals` writes a 4xx as one line with its reason instead of a traceback.
Both are importable before Django's apps are ready (``LOGGING`` names them).
"""

from __future__ import annotations

import logging
import re
from typing import Any

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


def one_line(text: object) -> str:
    """``text`` on one line: a reason written to a log must not forge further lines."""
    return " ".join(str(text).split())


class OneLineRefusals(logging.Filter):
    """A 4xx is a refusal, not a crash: one line with its reason, no traceback.

    Django logs ``Forbidden (Permission denied): /path`` with the exception attached, which a
    handler prints as a traceback, with the reason only inside it. This filter keeps the line,
    appends the reason, and drops the traceback; 5xx records keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status: Any = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500 or not record.exc_info:
            return True
        exception = record.exc_info[1]
        reason = getattr(exception, "message", None)
        if not isinstance(reason, str):
            args = getattr(exception, "args", ())
            reason = str(args[0]) if args else ""
        message = record.getMessage()
        reason = one_line(reason)
        escaped = reason.encode("unicode_escape").decode("ascii")  # as Django writes args
        if reason and reason not in message and escaped not in message:
            message = f"{message}: {reason}"
        record.msg, record.args = message, ()
        record.exc_info, record.exc_text = None, None
        return True
