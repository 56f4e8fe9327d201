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


@register.filter
def audit_changes(entry: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for the fields an audit entry records; unchanged ones skipped."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        rows.append((key, _show(old) if key in before else None, _show(new)))
    return rows


def _show(value: Any) -> Any:
    if isinstance(value, dict) and "repr" in value:
        return value["repr"]
    if isinstance(value, list):
        return ", ".join(str(_show(v)) for v in value)
    if value is True:
        return gettext("yes")
    if value is False:
        return gettext("no")
    return value


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
