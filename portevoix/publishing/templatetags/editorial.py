"""Template helpers of the editorial controls."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """A wait as people say it: "3 h 20 min", "2 days 4 h", "under a minute"."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)s day", "%(n)s days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)s h") % {"n": hours})
    if minutes and not days:
        parts.append(_("%(n)s min") % {"n": minutes})
    return " ".join(parts[:2])
