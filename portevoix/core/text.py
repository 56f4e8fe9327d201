"""Text from outside, made storable."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any

REPLACEMENT = "\ufffd"


def fold(text: str) -> str:
    """Lower case, without accents, typographic apostrophes made plain: for comparing what
    people type with what is stored ("rôle" finds "Rôle modifié")."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (�).

    A network's JSON may carry ``"\\ud83d"``, half of an emoji cut by a truncation; Python
    decodes it into a string that neither PostgreSQL nor SQLite (nor any UTF-8 encoder) accepts.
    A pair of surrogates that arrived as two characters is joined back into its character.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return valid_unicode(value)
    if is_dataclass(value) and not isinstance(value, type):
        return valid_unicode_fields(value)
    if isinstance(value, Mapping):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_cleaned(v) for v in value)
    return value


def valid_unicode_fields[T](obj: T) -> T:
    """A copy of the dataclass ``obj`` whose strings, at any depth, are valid Unicode.

    For what a network hands over (an ``InboundItem`` with its ``Author``, its ``extra``
    mapping...): the fields are found, not listed, so a field added later is covered too.
    ``obj`` itself comes back when nothing needed mending.
    """
    if not is_dataclass(obj) or isinstance(obj, type):
        raise TypeError("valid_unicode_fields() takes a dataclass instance")
    changes = {}
    for item in fields(obj):
        if not item.init:
            continue
        value = getattr(obj, item.name)
        mended = _cleaned(value)
        if mended != value:
            changes[item.name] = mended
    return replace(obj, **changes) if changes else obj
