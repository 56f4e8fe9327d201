from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from portevoix.core import audit
from portevoix.core.actions import AUDIT_ACTION_LABELS
from portevoix.core.permissions import can as _can
from portevoix.core.sentences import render as render_sentence

register = template.Library()


@register.filter
def can(member: Any, action: str) -> bool:
    """``{% if member|can:"post.approve" %}``: only to decide what to show; the server checks."""
    return _can(member, action)


@register.filter
def sentence(stored: str | None) -> str:
    """``{{ row.problem|sentence }}``: a stored sentence in the reader's language."""
    return render_sentence(stored)


@register.filter
def network_label(code: str) -> str:
    """``{{ mention.network|network_label }}``: "Bluesky", not the code "bluesky"."""
    from portevoix.networks import registry

    return registry.label(code)


@register.filter
def audit_label(action: str) -> str:
    label = AUDIT_ACTION_LABELS.get(action)
    return gettext(label) if label else action


@register.filter
def audit_changes(entry: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for the fields an audit entry records; unchanged ones skipped."""
    return audit.changes(entry)


@register.filter
def audit_actor(entry: Any) -> str:
    """Who acted: a person's address, or "command line", "background worker"..."""
    return audit.actor_name(entry)


@register.filter
def audit_object(entry: Any) -> str:
    """The entry's object in the reader's language where its app names it (a KPI's codes)."""
    return audit.object_name(entry)


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("HeadlessChrome/", "Chrome (headless)"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


@register.filter
def browser_summary(user_agent: str | None) -> str:
    """A short name ("Firefox 128 · Windows") from a User-Agent header, for session lists."""
    agent = user_agent or ""
    browser = next((name for key, name in _BROWSERS if key in agent), "")
    if browser:
        key = next(key for key, name in _BROWSERS if name == browser)
        version = agent.split(key, 1)[1].split(".", 1)[0].split(" ", 1)[0]
        if version.isdigit():
            browser = f"{browser} {version}"
    system = next((name for key, name in _SYSTEMS if key in agent), "")
    return " · ".join(p for p in (browser, system) if p) or gettext("Unknown browser")
