"""Multi-row INSERT at driver speed, for imports.

SQLAlchemy's Core `insert()` with a list of dicts processes every value through its type system (about 25 µs a
row for a 34-column table), which is most of an import's time. Here each column gets one converter chosen once per
table and dialect, and rows go to the DB-API `executemany` as tuples. The values stored are those SQLAlchemy would
store (checked by tests/kit/test_bulk.py reading them back through the ORM).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@lru_cache(maxsize=64)  # a batch stamps every row with the same moment
def _sqlite_datetime(value: Any) -> Any:
    # SQLAlchemy's SQLite DATETIME storage format
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _sqlite_bool(value: Any) -> Any:
    return None if value is None else int(value)


def _json_text(value: Any) -> Any:
    if value is None:
        return None
    return "{}" if value == {} else json.dumps(value)


def _converter(column: sa.Column[Any], dialect: str) -> Converter:
    kind = column.type
    if isinstance(kind, sa.JSON) or getattr(kind, "_type_affinity", None) is sa.JSON:
        if dialect == "postgresql":
            from psycopg.types.json import Jsonb

            return lambda v: None if v is None else Jsonb(v)
        return _json_text
    if dialect == "sqlite":
        if isinstance(kind, sa.DateTime):
            return _sqlite_datetime
        if isinstance(kind, sa.Date):
            return _sqlite_date
        if isinstance(kind, sa.Boolean):
            return _sqlite_bool
    return _identity


def _default(column: sa.Column[Any]) -> Callable[[], Any]:
    default = column.default
    if default is None:
        return lambda: None
    if getattr(default, "is_scalar", False):
        value = default.arg  # type: ignore[attr-defined]
        return lambda: value
    if getattr(default, "is_callable", False):
        function = default.arg  # type: ignore[attr-defined]
        return lambda: function(None)  # SQLAlchemy wraps zero-argument callables to take a context
    return lambda: None


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT rows into `table` (a `sa.Table`, e.g. `Model.__table__`); rows are dicts keyed by column name,
    missing keys are NULL. Returns the number of rows sent."""
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect.name
    columns = list(table.columns)
    keys = [c.key for c in columns]
    converters = [(i, convert) for i, c in enumerate(columns) if (convert := _converter(c, dialect)) is not _identity]
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([placeholder] * len(columns))})"  # noqa: S608 - names come from the table definition
    complete = itemgetter(*keys)  # C-speed when a row has every column (the importers build them so)
    defaults = [_default(c) for c in columns]
    tuples = []
    for row in rows:
        try:
            values = list(complete(row))
        except KeyError:  # missing columns take the model's default, as an ORM insert would
            values = [row[key] if key in row else default() for key, default in zip(keys, defaults, strict=True)]
        for index, convert in converters:
            values[index] = convert(values[index])
        tuples.append(tuple(values))
    connection.exec_driver_sql(statement, tuples)
    return len(tuples)
