"""Precompiled reads and writes for the sandbox's hot path (every publish and reply).

The sandbox runs inside the worker's process, where a real network would not, and each ORM
query costs it about 0.3 ms of CPU to compile (on PostgreSQL more than the server spends
answering it). Benchmarks of the worker measure the sandbox's share apart, but on a two-CPU
machine the sandbox's CPU is taken from the worker's: the few statements every publish runs
are built here once per model and database, in SQL both databases accept, and rows are turned
into model instances with the fields' own converters, as the ORM would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

type Converter = Callable[[Any, Any, Any], Any]


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def columns(model: type[models.Model], alias: str = "") -> str:
    """Every column of ``model``, in field order (``alias``: the table's alias in the query)."""
    qn = connection.ops.quote_name
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{qn(str(f.column))}" for f in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


@functools.cache
def _converters(
    model: type[models.Model], vendor: str
) -> tuple[tuple[Any, tuple[Converter, ...]], ...]:
    del vendor  # part of the cache key: converters differ per database
    found = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        found.append(
            (
                column,
                tuple(
                    connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                ),
            )
        )
    return tuple(found)


def load[M: models.Model](model: type[M], values: Sequence[Any]) -> M:
    """A ``model`` instance from a row of ``columns(model)``, as the ORM would build it."""
    converted = []
    for value, (column, converters) in zip(
        values, _converters(model, connection.vendor), strict=True
    ):
        for convert in converters:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [], converted)


@functools.cache
def _insert_sql(model: type[models.Model], vendor: str, ignore_conflicts: bool) -> str:
    del vendor
    qn = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(qn(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    assert model._meta.pk is not None
    pk = qn(str(model._meta.pk.column))
    # Identifiers are quoted by the backend; every value is a parameter.
    return f"INSERT INTO {table(model)} ({names}) VALUES ({marks}){conflict} RETURNING {pk}"  # noqa: S608


def insert(obj: models.Model, *, ignore_conflicts: bool = False) -> bool:
    """INSERT ``obj`` (defaults already applied by its constructor) and set its primary key.

    With ``ignore_conflicts`` a row that a unique constraint refuses is not stored and the
    answer is False (no savepoint needed: the statement does not fail).
    """
    model = type(obj)
    params = [
        f.get_db_prep_save(f.pre_save(obj, True), connection)
        for f in model._meta.concrete_fields
        if not f.primary_key
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, connection.vendor, ignore_conflicts), params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
