"""A TOTP code that the server will still accept when it reads it.

A code is valid for the 30-second window it was computed in, and the server (allauth, with
no tolerance) checks it against the window of the moment it reads it. A code computed in the
last instants of a window fails at random when the request lands in the next one: CI failed
once on exactly that. So a code is never handed out in the last few seconds of its window.
"""

from __future__ import annotations

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

PERIOD = 30
MARGIN = 4.0  # seconds: longer than any login round trip in the tests


def current_code(secret: str, step: int = 0) -> str:
    """The code of the current window (plus `step` windows), with at least MARGIN s left."""
    left = PERIOD - time.time() % PERIOD
    if left < MARGIN:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // PERIOD + step))
