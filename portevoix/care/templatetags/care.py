"""Template helpers for webcare: durations, and the SLA clock of a conversation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


def human_duration(delta: dt.timedelta) -> str:
    """ "2 h 30 min", "3 days 4 h", "45 min" (rounded to the minute, without a sign)."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)s day", "%(n)s days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)s h") % {"n": hours})
    if minutes and not days:
        parts.append(_("%(n)s min") % {"n": minutes})
    return " ".join(parts) or _("%(n)s min") % {"n": 0}


@register.filter
def minutes(value: int | None) -> str:
    """A target in minutes, for people; "—" when there is none."""
    if not value:
        return "—"
    return human_duration(dt.timedelta(minutes=int(value)))


@register.filter
def duration(value: dt.timedelta | None) -> str:
    if value is None:
        return "—"
    return human_duration(value)


@register.inclusion_tag("care/_clock.html")
def sla_clock(conversation: Any) -> dict[str, Any]:
    """The SLA clock of a conversation (``{% sla_clock conversation %}``), for the inbox."""
    from portevoix.care import sla
    from portevoix.care.models import SlaClock

    try:
        clock = conversation.sla_clock
    except SlaClock.DoesNotExist:
        clock = None
    reading = sla.read(clock, conversation, timezone.now())
    return {"reading": reading, "conversation": conversation}


@register.inclusion_tag("care/_correct.html", takes_context=True)
def correct_triage(context: Any, conversation: Any) -> dict[str, Any]:
    """``{% correct_triage conversation %}``: the "triage got it wrong?" form, for the inbox."""
    from portevoix.care.forms import CorrectForm

    member = context.get("member")
    return {
        "conversation": conversation,
        "member": member,
        "request": context.get("request"),
        "correct_form": CorrectForm(workspace=member.workspace) if member is not None else None,
    }
