"""The registry of kinds of notification: what each one says, to whom it may go, by default how.

A kind is registered once, next to the code that sends it (``publishing/notices.py`` for
publishing), with :func:`register`. Nothing translated is stored: a notification keeps its
kind and its parameters, and :meth:`Kind.render` writes it in the reader's language when it is
read (in the app) or sent (by e-mail).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from portevoix.core import sentences

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    from portevoix.core.permissions import MemberLike


class Delivery(models.TextChoices):
    """How a member wants to hear about one kind of notification."""

    BOTH = "both", _("In the app and by e-mail")
    APP = "app", _("In the app only")
    EMAIL = "email", _("By e-mail only")
    NONE = "none", _("Not at all")

    @property
    def in_app(self) -> bool:
        return self in (Delivery.BOTH, Delivery.APP)

    @property
    def by_email(self) -> bool:
        return self in (Delivery.BOTH, Delivery.EMAIL)


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


@dataclass(frozen=True)
class Kind:
    """One kind of notification.

    ``title(params)`` is one line in the active language; ``template`` renders the body (plain
    text, shown in the app and sent by e-mail) with the parameters. Parameters whose name ends
    in ``_at`` are ISO dates: they reach the template as aware datetimes, so the template shows
    them in the reader's time zone; a parameter that is a stored sentence (a row's ``problem``)
    reaches it rendered in the reader's language. ``audience`` is the permission a member needs
    for the kind to be offered on the preferences page (None: everybody).
    """

    code: str
    label: _StrPromise
    help: _StrPromise
    title: Callable[[Mapping[str, Any]], str]
    template: str
    default: Delivery = Delivery.BOTH
    audience: str | None = None
    #: Files the e-mail carries, from the parameters and the recipient's language:
    #: ``(file name, content, MIME type)``; written when the e-mail is sent.
    attachments: Callable[[Mapping[str, Any], str], list[tuple[str, bytes, str]]] | None = None

    def context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters ready for the active language: dates as datetimes, and stored
        sentences (a row's ``problem``, see :mod:`portevoix.core.sentences`) rendered."""
        values = dict(params)
        for name, value in params.items():
            if not isinstance(value, str) or not value:
                continue
            if name.endswith("_at"):
                with contextlib.suppress(ValueError):
                    values[name] = dt.datetime.fromisoformat(value)
            elif sentences.loads(value) is not None:
                values[name] = sentences.render(value)
        return values

    def render(self, params: Mapping[str, Any]) -> Rendered:
        """Title and body in the active language and time zone."""
        values = self.context(params)
        body = render_to_string(self.template, {"params": values, "kind": self}).strip()
        return Rendered(title=str(self.title(values)), body=body)

    def offered_to(self, member: MemberLike) -> bool:
        from portevoix.core.permissions import can

        return self.audience is None or can(member, self.audience)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind; registering the same code twice with another definition is a mistake."""
    existing = _KINDS.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"notification kind {kind.code!r} is already registered")
    _KINDS[kind.code] = kind
    return kind


def get(code: str) -> Kind:
    try:
        return _KINDS[code]
    except KeyError:
        raise KeyError(f"unknown notification kind {code!r}: register it first") from None


def find(code: str) -> Kind | None:
    return _KINDS.get(code)


def all_kinds() -> list[Kind]:
    return list(_KINDS.values())
