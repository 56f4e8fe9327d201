from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def unread_notifications(member: Any) -> int:
    """``{{ member|unread_notifications }}``: the bell's count for this member."""
    from portevoix.notifications.actions import unread_count

    return unread_count(member)
