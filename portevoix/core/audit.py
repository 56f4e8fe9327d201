"""The audit log. Every action calls :func:`record` inside its transaction.

Entries store facts, not sentences: codes (``"admin"``, ``"proactive"``), references as
``{"id", "repr"}`` and the origin's label (``"cli"``). :func:`changes` and :func:`actor_name`
turn them into labels when a page shows them, in the reader's language, so that one log
never mixes languages whoever wrote it and whatever language they used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from portevoix.core.models import AuditEntry, User, Workspace


@dataclass(frozen=True)
class Origin:
    """Where an action comes from: a request's address, the CLI, the worker."""

    ip_address: str | None = None
    user_agent: str = ""
    label: str = ""


_origin: ContextVar[Origin] = ContextVar("portevoix_origin", default=Origin(label="system"))  # noqa: B039


@contextlib.contextmanager
def origin(value: Origin) -> Iterator[None]:
    token = _origin.set(value)
    try:
        yield
    finally:
        _origin.reset(token)


def current_origin() -> Origin:
    return _origin.get()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return {"id": value.pk, "repr": str(value)[:200]}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` made of JSON types only (dates as ISO strings, models as id and name)."""
    return _jsonable(value)


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The given fields of ``obj``, ready for ``before``/``after``."""
    data: dict[str, Any] = {}
    for name in fields:
        # Foreign keys are kept as {"id", "repr"}: the log stays readable after a rename.
        data[name] = getattr(obj, name)
    return _jsonable(data)  # type: ignore[no-any-return]


def record(
    action: str,
    *,
    workspace: Workspace | None,
    actor: User | None,
    obj: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """One entry. Without an ``actor``, ``actor_label`` (or the origin: "cli", "worker"...)
    says who acted, e.g. "link: handoff #12" for a use of an access token."""
    where = current_origin()
    label = str(actor.email) if actor is not None else actor_label or where.label or "system"
    return AuditEntry.objects.create(
        workspace=workspace,
        actor=actor,
        actor_label=label[:200],
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        ip_address=where.ip_address,
        user_agent=where.user_agent[:300],
    )


# --- reading ----------------------------------------------------------------------------

#: Who acted, when no person did (``Origin.label``).
ORIGIN_LABELS = {
    "cli": gettext_lazy("command line"),
    "demo": gettext_lazy("demo loader"),
    "system": gettext_lazy("system"),
    "web": gettext_lazy("web"),
    "worker": gettext_lazy("background worker"),
}

#: Keys that are not a field of the entry's model (or have no model), with their labels.
KEY_LABELS = {
    "text": gettext_lazy("text"),
    "channels": gettext_lazy("channels"),
    "at": pgettext_lazy("audit", "scheduled for"),
    "media": gettext_lazy("media"),
    "email": gettext_lazy("e-mail address"),
    "role": gettext_lazy("role"),
    "department": gettext_lazy("department"),
    "count": gettext_lazy("count"),
    "full_name": gettext_lazy("full name"),
    "goal": gettext_lazy("goal"),
    "network": gettext_lazy("network"),
}


#: How an entry's object is named when an app stores it as codes ("clicks 3000.00/month"):
#: object type → a function of the entry, in the reader's language. Apps register theirs in
#: ``ready()``; the others show ``object_repr`` as stored. The CSV keeps the stored text.
OBJECT_NAMES: dict[str, Callable[[AuditEntry], str]] = {}


#: How a field's stored code reads ("sla_compliance" → "Replies within the SLA"): (object type,
#: field) → a function of the stored value, in the reader's language. Apps register theirs in
#: ``ready()``, for the codes no model choice names; the CSV keeps the stored value.
VALUE_NAMES: dict[tuple[str, str], Callable[[Any], str]] = {}


def object_name(entry: AuditEntry) -> str:
    """The entry's object as the page shows it: named in the reader's language where its app
    says how, else as stored; a name that cannot be read falls back to the stored text."""
    namer = OBJECT_NAMES.get(entry.object_type)
    if namer is None or not entry.object_repr:
        return entry.object_repr
    try:
        return namer(entry) or entry.object_repr
    except (ValueError, KeyError, ArithmeticError):
        return entry.object_repr


def actor_name(entry: AuditEntry) -> str:
    """The person's address, or what acted in their place, in the reader's language."""
    if entry.actor_id is None and entry.actor_label in ORIGIN_LABELS:
        return str(ORIGIN_LABELS[entry.actor_label])
    return entry.actor_label


def _model(object_type: str) -> type[models.Model] | None:
    if "." not in object_type:
        return None
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, key: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None


def _label(model: type[models.Model] | None, key: str) -> str:
    field = _field(model, key)
    verbose = getattr(field, "verbose_name", None)
    if verbose and str(verbose) != key.replace("_", " "):
        return capfirst(str(verbose))
    if key in KEY_LABELS:
        return capfirst(str(KEY_LABELS[key]))
    if verbose:
        return capfirst(str(verbose))
    return key


def _moment(value: str) -> str | None:
    if len(value) < 16 or value[4:5] != "-" or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return None
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _value(model: type[models.Model] | None, key: str, value: Any) -> Any:
    namer = VALUE_NAMES.get((model._meta.label_lower, key)) if model is not None else None
    if namer is not None and value is not None:
        try:
            return namer(value) or _value(None, key, value)
        except (ValueError, KeyError, TypeError, ArithmeticError):
            pass
    if isinstance(value, dict) and "repr" in value:
        return value["repr"]
    if isinstance(value, list):
        return ", ".join(str(_value(model, key, v)) for v in value)
    if value is True:
        return gettext("yes")
    if value is False:
        return gettext("no")
    if isinstance(value, str):
        field = _field(model, key)
        choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
        if value in choices:
            return str(choices[value])
        if key in ("role", "extra_roles"):
            from portevoix.core.permissions import Role

            return str(Role(value).label) if value in Role.values else value
        if key == "language":
            return str(dict(settings.LANGUAGES).get(value, value))
        if key == "network":
            from portevoix.networks import registry
            from portevoix.networks.errors import NetworkError

            try:
                return registry.get(value).label
            except NetworkError:
                return value
        return _moment(value) or value
    return value


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(label, before, after) for each field an entry records, unchanged ones skipped;
    labels and coded values are rendered in the active language."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    model = _model(entry.object_type)
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        rows.append(
            (
                _label(model, key),
                _value(model, key, old) if key in before else None,
                _value(model, key, new),
            )
        )
    return rows
