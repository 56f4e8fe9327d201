"""What people call a publication's states (the state names are for code and logs)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

STATE_LABELS = {
    "scheduled": _("Scheduled"),
    "outcome_unknown": _("Checking with the network"),
    "waiting_reconnect": _("Waiting for reconnection"),
    "needs_check": _("To check on the network"),
    "held": _("Held: late"),
    "rejected": _("Refused by the network"),
    "published": _("Published"),
    "cancelled": _("Cancelled"),
    "waiting_manual": _("Waiting to be published by hand"),
    "not_published": _("Not published"),
    "failed": _("Failed"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))
