from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from portevoix.crisis import notices

register = template.Library()


@register.filter
def crisis_explanation(params: Mapping[str, Any]) -> str:
    """An alert's numbers (its notification parameters, or the alert) in words."""
    if hasattr(params, "observed") and not isinstance(params, Mapping):
        params = notices.alert_params(params)
    return notices.explain(params)


@register.inclusion_tag("crisis/_banner.html", takes_context=True)
def crisis_banner(context: dict[str, Any]) -> dict[str, Any]:
    """The banner every page of the workspace shows while an incident is open."""
    from portevoix.core.permissions import can
    from portevoix.crisis.models import Incident

    member = context.get("member")
    if member is None or not can(member, "crisis.view"):
        return {"incident": None}
    incident = (
        Incident.objects.filter(workspace_id=member.workspace_id, closed_at__isnull=True)
        .order_by("opened_at")
        .first()
    )
    return {"incident": incident, "member": member}


@register.simple_tag
def custody_for(channel: Any, member: Any) -> dict[str, Any] | None:
    """A channel's credential custody as ``member`` may read it (``crisis.lockdown``)."""
    from portevoix.crisis.lockdown import custody_of

    if member is None:
        return None
    return custody_of(channel, member)


@register.filter
def drill_of(obj: Any) -> Any:
    """The drill an alert or an incident belongs to, or None (it is real)."""
    from portevoix.crisis import drills
    from portevoix.crisis.models import Alert

    if obj is None or getattr(obj, "pk", None) is None:
        return None
    if isinstance(obj, Alert):
        return drills.drill_of_alert(obj)
    return drills.drill_of_incident(obj)


@register.filter
def one_in(p_value: float | None) -> str:
    """A probability as "1 in N" (N rounded to two significant digits, in the reader's
    number format): what a person reads, where 3.2e-09 says nothing."""
    from django.utils import formats
    from django.utils.translation import gettext as _

    if p_value is None or p_value <= 0:
        return _("less than 1 in a billion billion")
    if p_value >= 0.5:
        return _("about even")
    n = 1 / p_value
    digits = len(str(int(n))) - 2
    rounded = round(n, -digits) if digits > 0 else round(n)
    return _("about 1 in %(n)s") % {"n": formats.number_format(int(rounded), force_grouping=True)}


@register.simple_tag
def detection_rule() -> str:
    """The rule an alert passed, in words, with the detector's own numbers."""
    from django.utils import formats
    from django.utils.translation import gettext as _

    from portevoix.crisis import detect

    def count(n: float) -> str:
        return formats.number_format(round(n), force_grouping=True)

    return _(
        "The usual is learnt per hour of the week over the last %(weeks)s weeks; until %(warm)s "
        "weeks of history exist it leans on the average of all hours. An alert needs at least "
        "%(people)s people writing negative messages in the last half hour, hour or three "
        "hours, with a chance below 1 in %(volume)s of so many by accident at that hour; or a "
        "word written by at least %(word_people)s people, %(angry)s of them in anger, that was "
        "rarely said in the four weeks before (below 1 in %(word)s, shared among the words "
        "tested)."
    ) % {
        "weeks": detect.HISTORY_WEEKS,
        "warm": detect.WARM_WEEKS,
        "people": detect.MIN_COUNT,
        "volume": count(len(detect.WINDOWS) / detect.ALPHA),
        "word_people": detect.TERM_MIN_COUNT,
        "angry": detect.TERM_MIN_NEGATIVE,
        "word": count(1 / detect.TERM_ALPHA),
    }
