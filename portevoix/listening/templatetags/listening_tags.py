"""Template helpers of the listening pages."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from portevoix.care.templatetags.care import human_duration

register = template.Library()


@register.filter
def lag(seconds: float | None) -> str:
    """How far behind a source reads, as people say it: "2 s", "19 min", "1 h 5 min" (not
    "1146 s"); "–" when it has not read yet."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return _("%(n)s s") % {"n": round(seconds)}
    return human_duration(dt.timedelta(seconds=seconds))
