"""Filters for the PDF templates."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def css_string(value: object) -> SafeString:
    """``value`` inside a CSS string (``content: "…"`` of a page margin): every character but
    letters, digits, spaces and plain punctuation as a CSS escape (``\\22 `` for ``"``), which
    WeasyPrint reads back; ``escapejs``'s ``\\u002D`` is JavaScript and was printed as is."""
    out = [char if char.isalnum() or char in _PLAIN else f"\\{ord(char):X} " for char in str(value)]
    return mark_safe("".join(out))  # noqa: S308 - escaped above, character by character


#: Characters kept as they are in a CSS string (not quotes, backslashes, brackets or controls).
_PLAIN = frozenset(" .,:;!?()/+%&@#*=_-–—·")
