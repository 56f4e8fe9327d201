"""Sentences for people in the reader's language.

The network modules are plain Python, but what they say to a person (``validate``'s problems,
the refusals mapped from a network's answer) goes through Django's translations when Django
runs, in the language active for the request or the worker's task; outside Django (a script)
the English text is kept. Messages take their values by name (``_("...%(network)s...") %
{...}``) so that a translation may put them in its own order.
"""

from __future__ import annotations


def gettext(message: str) -> str:
    """``message`` in the active language (English when Django is not configured)."""
    from django.conf import settings

    if not settings.configured:
        return message
    from django.utils.translation import gettext as translate

    return translate(message)


def gettext_noop(message: str) -> str:
    """Marks ``message`` for translation where it is defined; ``gettext`` it where it is shown."""
    return message


__all__ = ["gettext", "gettext_noop"]
