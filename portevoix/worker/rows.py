"""Statements written once, for the hot path of background work (every claimed row).

Building a query with the ORM costs more CPU than running it: about 0.3 to 1 ms to compile a
``select_related`` or an ``ORDER BY``, against a fraction of that for the database to answer.
The few reads that every claimed batch runs (the rows' related rows, the author of a post) and
the sandbox's publish path are therefore written here once per model and database, in SQL
that both databases accept, and their rows are turned into model instances with the fields'
own converters and the ORM's related-object caches, as a queryset would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models
from django.db.models import Field, ForeignObjectRel

type Converter = Callable[[Any, Any, Any], Any]


def table(model: type[models.Model], alias: str = "default") -> str:
    return str(connections[alias].ops.quote_name(model._meta.db_table))


def columns(model: type[models.Model], prefix: str = "", alias: str = "default") -> str:
    """Every column of ``model``, in field order (``prefix``: the table's alias in the query)."""
    qn = connections[alias].ops.quote_name
    dot = f"{prefix}." if prefix else ""
    return ", ".join(f"{dot}{qn(str(f.column))}" for f in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


@functools.cache
def _converters(
    model: type[models.Model], alias: str, vendor: str
) -> tuple[tuple[Any, tuple[Converter, ...]], ...]:
    del vendor  # part of the cache key: converters differ per database
    conn = connections[alias]
    found = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        found.append(
            (column, tuple(conn.ops.get_db_converters(column) + column.get_db_converters(conn)))
        )
    return tuple(found)


def load[M: models.Model](model: type[M], values: Sequence[Any], alias: str = "default") -> M:
    """A ``model`` instance from a row of ``columns(model)``, as the ORM would build it."""
    conn = connections[alias]
    converted = []
    for value, (column, converters) in zip(
        values, _converters(model, alias, conn.vendor), strict=True
    ):
        for convert in converters:
            value = convert(value, column, conn)
        converted.append(value)
    return model.from_db(alias, [], converted)


@dataclass(frozen=True)
class _Hop:
    """One related row of a :class:`Joined` read: where it hangs and how it is cached."""

    parent: int  # index of the instance it hangs from (0: the model itself)
    model: type[models.Model]
    prefix: str
    #: Caches the child on the parent (and the parent on the child, for a one-to-one).
    set_on_parent: Callable[[Any, Any], None]
    set_on_child: Callable[[Any, Any], None] | None


class Joined:
    """``SELECT`` a model with its related rows along ``select_related``-style paths, as one
    statement written once: forward foreign keys and one-to-one fields (``"post__workspace"``)
    and reverse one-to-one relations (``"publishing_trust"``). A nullable or reverse relation is
    a ``LEFT JOIN``; a missing related row is cached as ``None``, as ``select_related`` does.

    :meth:`sql` gives ``SELECT <columns> FROM <source> AS t0 <joins>``; add the ``WHERE``.
    :meth:`build` turns one result row into the model instance, related rows cached on it.
    """

    def __init__(
        self, model: type[models.Model], related: Sequence[str], alias: str = "default"
    ) -> None:
        self.model = model
        self.alias = alias
        qn = connections[alias].ops.quote_name
        self.hops: list[_Hop] = []
        joins: list[str] = []
        seen: dict[str, int] = {"": 0}
        models_at: list[type[models.Model]] = [model]
        for path in related:
            trail = ""
            for name in path.split("__"):
                at = seen[trail]
                trail = f"{trail}__{name}" if trail else name
                if trail in seen:
                    continue
                parent_model = models_at[at]
                field: Any = parent_model._meta.get_field(name)
                target: Any
                index = len(models_at)
                prefix = f"t{index}"
                reverse = isinstance(field, ForeignObjectRel)
                forward = isinstance(field, Field) and field.is_relation and field.concrete
                if reverse and field.one_to_one:
                    # Reverse one-to-one: the child's key points at the parent.
                    child_field: Any = field.field
                    target = child_field.model
                    joins.append(
                        f"LEFT JOIN {table(target, alias)} {prefix} ON {prefix}."
                        f"{qn(child_field.column)} = t{at}."
                        f"{qn(str(child_field.target_field.column))}"
                    )
                    hop = _Hop(at, target, prefix, field.set_cached_value,
                               child_field.set_cached_value)  # fmt: skip
                elif forward:
                    if not (field.many_to_one or field.one_to_one):
                        raise ValueError(f"{path}: only foreign keys and one-to-one fields")
                    target = field.related_model
                    assert isinstance(target, type) and issubclass(target, models.Model)
                    kind = "LEFT JOIN" if field.null else "JOIN"
                    remote = field.target_field
                    joins.append(
                        f"{kind} {table(target, alias)} {prefix} ON {prefix}."
                        f"{qn(str(remote.column))} = t{at}.{qn(str(field.column))}"
                    )
                    back = field.remote_field.set_cached_value if field.one_to_one else None
                    hop = _Hop(at, target, prefix, field.set_cached_value, back)
                else:
                    raise ValueError(f"{path}: {name} is not a relation to one row")
                self.hops.append(hop)
                models_at.append(target)
                seen[trail] = index
        self.widths = [width(m) for m in models_at]
        self.columns = ", ".join(
            [columns(model, "t0", alias), *(columns(h.model, h.prefix, alias) for h in self.hops)]
        )
        self.joins = " ".join(joins)

    def sql(self, source: str) -> str:
        """``SELECT`` every column of the model and its related rows from ``source`` (a
        table, or a ``WITH`` query's name) as ``t0``; the caller adds ``WHERE``."""
        return f"SELECT {self.columns} FROM {source} t0 {self.joins}"  # noqa: S608

    def build(self, row: Sequence[Any], start: int = 0) -> Any:
        """The model instance of one result row (from column ``start``), related rows cached."""
        end = start + self.widths[0]
        built: list[Any] = [load(self.model, row[start:end], self.alias)]
        for hop, size in zip(self.hops, self.widths[1:], strict=True):
            start, end = end, end + size
            parent = built[hop.parent]
            values = row[start:end]
            if parent is None or values[_pk_index(hop.model)] is None:
                child = None
            else:
                child = load(hop.model, values, self.alias)
            built.append(child)
            if parent is not None:
                hop.set_on_parent(parent, child)
                if child is not None and hop.set_on_child is not None:
                    hop.set_on_child(child, parent)
        return built[0]


@functools.cache
def _pk_index(model: type[models.Model]) -> int:
    pk = model._meta.pk
    return next(i for i, f in enumerate(model._meta.concrete_fields) if f is pk)


def in_list(count: int) -> str:
    """``%s, %s, ...`` for an ``IN (...)`` of ``count`` values."""
    return ", ".join(["%s"] * count)


class Prefetch:
    """``prefetch_related`` of one path from rows already loaded with their related rows,
    its first one-to-many step read by a statement written once.

    ``"post__media__asset__renditions"`` from publications whose ``post`` is loaded: the posts'
    ``media`` are read with ``SELECT <columns> FROM <media> WHERE post_id IN (...) ORDER BY
    <the model's ordering>`` and cached on each post as ``prefetch_related`` caches them
    (``post.media.all()`` answers without a query, an empty list included); the rest of the path
    (``asset__renditions``), only when some were found, by the ORM. A path that does not have
    this shape (or an ordering other than plain fields) is left to the ORM whole.
    """

    def __init__(
        self, model: type[models.Model], path: str, loaded: Sequence[str], alias: str = "default"
    ) -> None:
        self.path = path
        self.alias = alias
        self.through: list[str] = []
        self.accessor = ""
        self.rest = ""
        self.child: type[models.Model] | None = None
        self.key: Any = None
        self.sql = ""
        trails = {
            "__".join(p.split("__")[: n + 1]) for p in loaded for n in range(p.count("__") + 1)
        }
        current = model
        names = path.split("__")
        for index, name in enumerate(names):
            field = current._meta.get_field(name)
            trail = "__".join([*self.through, name])
            if isinstance(field, Field) and field.concrete and field.many_to_one:
                if trail not in trails:
                    return  # not loaded with the rows: the ORM's prefetch does it
                self.through.append(name)
                target = field.related_model
                assert isinstance(target, type)
                current = target
                continue
            if isinstance(field, ForeignObjectRel) and field.one_to_many:
                child = field.related_model
                assert isinstance(child, type)
                order = _order_by(child, alias)
                if order is None:
                    return
                self.child = child
                self.key = field.field
                self.accessor = field.get_accessor_name() or name
                self.rest = "__".join(names[index + 1 :])
                qn = connections[alias].ops.quote_name
                self.sql = (
                    f"SELECT {columns(child, alias=alias)} FROM {table(child, alias)} "  # noqa: S608
                    f"WHERE {qn(self.key.column)} IN ({{marks}}){order}"
                )
            return

    def run(self, rows: Sequence[models.Model]) -> None:
        alias = self.alias
        if self.child is None:
            models.prefetch_related_objects(list(rows), self.path)
            return
        parents: dict[Any, list[models.Model]] = {}
        for row in rows:
            parent: Any = row
            for name in self.through:
                parent = getattr(parent, name)
                if parent is None:
                    break
            if parent is not None:
                parents.setdefault(parent.pk, []).append(parent)
        if not parents:
            return
        keys = list(parents)
        with connections[alias].cursor() as cursor:
            cursor.execute(self.sql.format(marks=in_list(len(keys))), keys)
            found = [load(self.child, values, alias) for values in cursor.fetchall()]
        by_parent: dict[Any, list[models.Model]] = {key: [] for key in keys}
        attname = self.key.attname
        for child in found:
            by_parent[getattr(child, attname)].append(child)
        cache_name = self.key.remote_field.cache_name
        for key, instances in parents.items():
            children = by_parent[key]
            for parent in instances:
                # As prefetch_related leaves it: the manager's own queryset, evaluated.
                queryset = getattr(parent, self.accessor).get_queryset()
                queryset._result_cache = list(children)
                queryset._prefetch_done = True
                parent.__dict__.setdefault("_prefetched_objects_cache", {})[cache_name] = queryset
            for child in children:
                self.key.set_cached_value(child, instances[0])
        if found and self.rest:
            models.prefetch_related_objects(found, self.rest)


def _order_by(model: type[models.Model], alias: str) -> str | None:
    """`` ORDER BY`` of ``model``'s default ordering when it names plain fields, else None."""
    qn = connections[alias].ops.quote_name
    parts = []
    for item in model._meta.ordering or []:
        if not isinstance(item, str) or "__" in item or item.startswith("?"):
            return None
        name = item.removeprefix("-")
        try:
            field = model._meta.get_field("pk" if name == "pk" else name)
        except Exception:
            if name != "pk" or model._meta.pk is None:
                return None
            field = model._meta.pk
        if not isinstance(field, Field) or not field.concrete:
            return None
        parts.append(f"{qn(str(field.column))}{' DESC' if item.startswith('-') else ''}")
    return f" ORDER BY {', '.join(parts)}" if parts else ""
