"""``{% crm_records conversation member %}``: the conversation's leads and cases in external
systems, with the form to create one (the inbox's conversation page includes it)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("api/_crm_records.html")
def crm_records(conversation: Any, member: Any) -> dict[str, Any]:
    from portevoix.api.integration_views import records_for

    return records_for(member, conversation)
