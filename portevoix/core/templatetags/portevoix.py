from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from portevoix.core.actions import AUDIT_ACTION_LABELS
from portevoix.core.permissions import can as _can

register = template.Library()


@register.filter
def can(member: Any, action: str) -> bool:
    """``{% if member|can:"post.approve" %}``: only to decide what to show; the server checks."""
    return _can(member, action)


@register.filter
def audit_label(action: str) -> str:
    label = AUDIT_ACTION_LABELS.get(action)
    return gettext(label) if label else action
