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
    from portevoix.crisis.models import Drill

    if obj is None or getattr(obj, "pk", None) is None:
        return None
    if type(obj).__name__ == "Alert":
        return Drill.objects.filter(alert=obj).first()
    return obj.drill if getattr(obj, "drill_id", None) is not None else None
