"""Logging helpers, importable before Django's apps are ready (``LOGGING`` names them)."""

from __future__ import annotations

import logging
from typing import Any


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
