"""Sentences for people in the reader's language.

The network modules are plain Python, but what they say to a person (``validate``'s problems,
the refusals mapped from a network's answer) goes through Django's translations when Django
runs, in the language active for the request or the worker's task; outside Django (a script)
the English text is kept. Messages take their values by name (``_("...%(network)s...") %
{...}``) so that a translation may put them in its own order.

What ``gettext`` returns is a :class:`Text`: a plain ``str`` in the active language that also
remembers its English message id and, once ``%`` filled it, its parameters. A refusal raised
in the worker (whose language is the server's default) is therefore not frozen in that
language: ``channels.messages.network_problem`` stores the message id and parameters, and each
page renders them in its reader's language (``core.sentences``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Text(str):
    """A sentence in the active language that keeps its message id and named parameters."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, rendered: str, msgid: str, params: Mapping[str, Any] | None = None) -> Text:
        text = super().__new__(cls, rendered)
        text.msgid = msgid
        text.params = dict(params or {})
        return text

    def __mod__(self, values: Any) -> Text:
        if not isinstance(values, Mapping):
            return Text(str.__mod__(self, values), self.msgid)
        try:
            rendered = str.__mod__(str(self), values)
        except (KeyError, ValueError, TypeError):
            # A translation that lost a placeholder must not hide the sentence.
            rendered = self.msgid % values
        return Text(rendered, self.msgid, values)


def gettext(message: str) -> Text:
    """``message`` in the active language (English when Django is not configured)."""
    from django.conf import settings

    if not settings.configured:
        return Text(message, message)
    from django.utils.translation import gettext as translate

    return Text(translate(message), message)


def gettext_noop(message: str) -> str:
    """Marks ``message`` for translation where it is defined; ``gettext`` it where it is shown."""
    return message


__all__ = ["Text", "gettext", "gettext_noop"]
