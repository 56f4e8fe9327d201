"""Saving many changed rows quickly, and inserting many new ones.

Django's ``bulk_update`` writes one ``UPDATE ... SET f = CASE WHEN pk = 1 THEN ... END`` per
field and batch, and building those expressions costs about a third of a millisecond per row
and field in Python: for a hundred conversations and eight fields, more than a second of CPU,
longer than the queries. :func:`save_rows` sends one plain ``UPDATE ... SET f = %s WHERE
pk = %s`` with a parameter set per row (``executemany``: one prepared statement, pipelined by
psycopg), which is more than ten times faster for the batches that ingest and routing write
(bench/inbox_ingest.py).

Django's ``bulk_create`` is the other large cost of ingesting a page: for every row and field
it calls ``pre_save`` and ``get_db_prep_save`` (ten Python calls deep for a string), which is
most of the CPU of storing a conversation, a message or an SLA clock. :func:`insert_rows`
writes the same rows with one ``INSERT ... VALUES ... RETURNING`` per batch, preparing a value
the long way only when it needs it: a value of the exact type the database takes as it is (a
``str`` for a text column, an ``int`` for an integer or a foreign key, a ``bool``, a
``float``, ``None``) goes as it is; anything else (a date, JSON, an enum member, a subclass
of a field) goes through the field's own ``get_db_prep_save``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router
from django.db.models import Field
from django.db.models import fields as model_fields
from django.db.models.fields.related import ForeignKey


def save_rows(rows: Iterable[models.Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of each row (already changed in memory) to the database; returns how
    many rows were written. Same contract as ``bulk_update``: no signals, no ``save()``."""
    rows = list(rows)
    if not rows:
        return 0
    model = type(rows[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns: list[Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, Field) and field.column, name
        columns.append(field)
    sets = ", ".join(f"{quote(str(field.column))} = %s" for field in columns)
    table, pk = quote(meta.db_table), quote(str(meta.pk.column))
    sql = f"UPDATE {table} SET {sets} WHERE {pk} = %s"  # noqa: S608 - quoted names
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in columns]
        + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(rows)


#: Field classes whose value, of the exact type below, is what the database takes as it is.
_TEXT = (
    model_fields.CharField,
    model_fields.TextField,
    model_fields.SlugField,
    model_fields.EmailField,
    model_fields.URLField,
)
_INT = (
    model_fields.IntegerField,
    model_fields.BigIntegerField,
    model_fields.SmallIntegerField,
    model_fields.PositiveIntegerField,
    model_fields.PositiveSmallIntegerField,
    model_fields.PositiveBigIntegerField,
)
_AS_IS: dict[type[Any], tuple[type[Any], ...]] = {
    **dict.fromkeys(_TEXT, (str,)),
    **dict.fromkeys(_INT, (int,)),
    model_fields.BooleanField: (bool,),
    model_fields.FloatField: (float, int),
}


def _as_is_types(field: Field[Any, Any]) -> tuple[type[Any], ...]:
    """The value types this field's column takes unchanged (none: always prepare)."""
    if type(field) is ForeignKey:
        target = field.target_field
        return _AS_IS.get(type(target), ()) if type(target) is not ForeignKey else ()
    if type(field) in (model_fields.AutoField, model_fields.BigAutoField):
        return (int,)
    return _AS_IS.get(type(field), ())


def insert_rows(
    rows: Sequence[models.Model], *, ignore_conflicts: bool = False, batch_size: int = 500
) -> list[models.Model]:
    """Insert ``rows`` (new instances of one model) and set their primary keys, like
    ``bulk_create``: no signals, no ``save()``; ``auto_now``/``auto_now_add`` dates are set.

    With ``ignore_conflicts``, a row that breaks a unique constraint is skipped (``ON CONFLICT
    DO NOTHING``) and, as with ``bulk_create``, no primary key is set. Returns ``rows``.
    """
    rows = list(rows)
    if not rows:
        return rows
    model = type(rows[0])
    meta = model._meta
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    pk = meta.pk
    assert pk is not None
    generated = pk.db_returning  # an automatic id, returned by the database
    columns: list[Field[Any, Any]] = [
        f for f in meta.concrete_fields if not (f.primary_key and generated)
    ]
    assert all(f.db_default is model_fields.NOT_PROVIDED for f in columns), "db_default"
    presaved = [
        f for f in columns if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    plans = [(f, f.attname, _as_is_types(f)) for f in columns]
    width = len(columns)
    # PostgreSQL takes 65,535 parameters a statement, SQLite 32,766.
    batch_size = max(1, min(batch_size, 30000 // max(1, width)))
    names = ", ".join(quote(str(f.column)) for f in columns)
    table = quote(meta.db_table)
    one = "(" + ", ".join(["%s"] * width) + ")"
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    returning = (
        f" RETURNING {quote(str(pk.column))}"
        if generated
        and not ignore_conflicts
        and connection.features.can_return_rows_from_bulk_insert
        else ""
    )
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        params: list[Any] = []
        for row in batch:
            for field in presaved:
                field.pre_save(row, add=True)
            for field, attname, as_is in plans:
                value = getattr(row, attname)
                if value is None and isinstance(field, ForeignKey) and field.is_cached(row):
                    # A related row assigned before it was saved (bulk_create does the same).
                    related = field.get_cached_value(row)
                    if related is not None:
                        if related.pk is None:
                            raise ValueError(f"{field.name}: the related row is not saved")
                        setattr(row, field.name, related)  # sets the id, keeps the row
                        value = getattr(row, attname)
                if value is None or type(value) in as_is:
                    params.append(value)
                else:
                    params.append(field.get_db_prep_save(value, connection))
        values = ", ".join([one] * len(batch))
        sql = f"INSERT INTO {table} ({names}) VALUES {values}{conflict}{returning}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [r[0] for r in cursor.fetchall()] if returning else []
        if returning:
            assert len(ids) == len(batch)
            for row, value in zip(batch, ids, strict=True):
                setattr(row, pk.attname, value)
        for row in batch:
            if returning or not generated:
                row._state.adding = False
                row._state.db = alias
    return rows
