"""Sentences stored for later readers, rendered in each reader's language.

A row that tells a person something (a channel's last problem, a publication's reason) is read
long after it is written, by people who read different languages, and is written by processes
(the worker, the command line) that have no reader's language at all. Storing the rendered
text freezes one language; storing the English original (a ``gettext_noop`` message id) and
its parameters lets each page translate it when it shows it::

    row.problem = Sentence(gettext_noop("The channel %(name)s is disconnected."),
                           {"name": channel.name}).dumps()
    ...
    {{ row.problem|sentence }}          {# in a template #}
    render(row.problem)                 # in Python

Plain text stored before (or by code that still stores text) is shown as it is. A parameter
may itself be a sentence (an earlier reason kept in a new one): it is rendered in turn.

A sentence that counts something has a singular and a plural, and the number chooses in each
reader's language (French says "1 publication retenue", English "0 posts held")::

    counted("%(count)s post held", "%(count)s posts held", {"count": n}).dumps()

``counted`` is also what marks the pair for ``makemessages`` (``core/management/commands/
makemessages.py`` adds it to xgettext's keywords, as ``ngettext``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext, ngettext

_MARK = "sentence"
_MAX_PARAM = 500


@dataclass(frozen=True)
class Sentence:
    """An English message id (marked with ``gettext_noop``) and its parameters."""

    message: str
    params: Mapping[str, str] = field(default_factory=dict)
    #: The plural message id ("" when the sentence counts nothing) and the parameter whose
    #: number chooses between the two (:func:`counted`).
    plural: str = ""
    number: str = "count"

    def render(self) -> str:
        """The sentence in the active language (a parameter that is itself a stored
        sentence, such as an earlier reason, is rendered too)."""
        original = self.message
        if self.plural:
            n = _number(self.params.get(self.number, ""))
            text = ngettext(self.message, self.plural, n)
            original = self.message if n == 1 else self.plural
        else:
            text = gettext(self.message)
        if not self.params:
            return text
        params = {k: render(v) for k, v in self.params.items()}
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            # A translation that lost a placeholder must not hide the sentence.
            try:
                return original % params
            except (KeyError, ValueError, TypeError):
                return original

    def dumps(self) -> str:
        """What a text column stores: compact JSON that :func:`render` recognises."""
        params = {str(k): _param(v) for k, v in self.params.items()}
        data: dict[str, Any] = {_MARK: self.message, "params": params}
        if self.plural:
            data["plural"] = self.plural
            data["number"] = self.number
        return json.dumps(data, ensure_ascii=False)

    def __str__(self) -> str:
        return self.render()


def counted(
    singular: str, plural: str, params: Mapping[str, object], number: str = "count"
) -> Sentence:
    """A sentence that counts ``params[number]``: its singular and plural English message ids,
    the reader's language choosing the form (``ngettext``)."""
    return Sentence(
        singular, {str(k): _param(v) for k, v in params.items()}, plural=plural, number=number
    )


def _number(value: str) -> int:
    """The count a parameter holds ("3", "3.0", "1,200"); 0 when it holds none."""
    try:
        return int(float(str(value).replace(",", "").replace("\u202f", "").replace(" ", "")))
    except ValueError:
        return 0


def _param(value: object) -> str:
    if isinstance(value, Sentence):
        return value.dumps()
    text = str(value)
    return text if loads(text) is not None else text[:_MAX_PARAM]


def loads(stored: str) -> Sentence | None:
    """The :class:`Sentence` stored in ``stored``, or None for plain text."""
    if not stored or not stored.startswith('{"' + _MARK + '"'):
        return None
    try:
        data: Any = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get(_MARK), str):
        return None
    params = data.get("params") or {}
    if not isinstance(params, dict):
        params = {}
    plural = data.get("plural")
    number = data.get("number")
    return Sentence(
        data[_MARK],
        {str(k): str(v) for k, v in params.items()},
        plural=plural if isinstance(plural, str) else "",
        number=number if isinstance(number, str) and number else "count",
    )


def render(stored: str | None) -> str:
    """A stored sentence in the active language; plain text unchanged; None as ""."""
    if not stored:
        return ""
    sentence = loads(stored)
    return sentence.render() if sentence is not None else stored
