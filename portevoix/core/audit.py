"""Writing the audit log. Every action calls :func:`record` inside its transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models

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
) -> AuditEntry:
    where = current_origin()
    label = str(actor.email) if actor is not None else where.label or "system"
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
