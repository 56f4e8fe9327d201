"""Precompiled reads and writes for the sandbox's hot path (every publish and reply).

The sandbox runs inside the worker's process, where a real network would not, and each ORM
query costs it about 0.3 ms of CPU to compile (on PostgreSQL more than the server spends
answering it). Benchmarks of the worker measure the sandbox's share apart, but on a two-CPU
machine the sandbox's CPU is taken from the worker's: the few statements every publish runs
are built once per model and database, in SQL both databases accept, and rows are turned
into model instances with the fields' own converters, as the ORM would (the reading helpers
are the worker's, :mod:`portevoix.worker.rows`).
"""

from __future__ import annotations

import functools

from django.db import connection, models

from portevoix.worker.rows import columns, load, table, width

__all__ = ["columns", "insert", "load", "table", "width"]


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
