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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext

_MARK = "sentence"
_MAX_PARAM = 500


@dataclass(frozen=True)
class Sentence:
    """An English message id (marked with ``gettext_noop``) and its parameters."""

    message: str
    params: Mapping[str, str] = field(default_factory=dict)

    def render(self) -> str:
        """The sentence in the active language (a parameter that is itself a stored
        sentence, such as an earlier reason, is rendered too)."""
        text = gettext(self.message)
        if not self.params:
            return text
        params = {k: render(v) for k, v in self.params.items()}
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            # A translation that lost a placeholder must not hide the sentence.
            try:
                return self.message % params
            except (KeyError, ValueError, TypeError):
                return self.message

    def dumps(self) -> str:
        """What a text column stores: compact JSON that :func:`render` recognises."""
        params = {str(k): _param(v) for k, v in self.params.items()}
        return json.dumps({_MARK: self.message, "params": params}, ensure_ascii=False)

    def __str__(self) -> str:
        return self.render()


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
    return Sentence(data[_MARK], {str(k): str(v) for k, v in params.items()})


def render(stored: str | None) -> str:
    """A stored sentence in the active language; plain text unchanged; None as ""."""
    if not stored:
        return ""
    sentence = loads(stored)
    return sentence.render() if sentence is not None else stored
