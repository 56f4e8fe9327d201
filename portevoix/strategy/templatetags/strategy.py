"""The prompt on every page until a member acknowledges the policy in force."""

from __future__ import annotations

from typing import Any

from django import template

from portevoix.strategy.actions import needs_acknowledgement

register = template.Library()


@register.inclusion_tag("strategy/_policy_prompt.html", takes_context=True)
def policy_prompt(context: Any) -> dict[str, Any]:
    request = context.get("request")
    member = getattr(request, "member", None) if request is not None else None
    if member is None or not getattr(member, "is_active", False):
        return {"version": None}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name == "strategy_policy":
        return {"version": None}
    return {"version": needs_acknowledgement(member), "member": member}
