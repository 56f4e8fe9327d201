from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def attention_count(member: Any) -> int:
    """``{{ member|attention_count }}``: what the "Needs attention" page lists for them."""
    from portevoix.publishing.attention import count

    return count(member)
