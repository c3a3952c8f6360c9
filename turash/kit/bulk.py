"""Multi-row INSERT at driver speed, for imports.

SQLAlchemy's Core `insert()` with a list of dicts processes every value through its type system (about 25 µs a
row for a 34-column table), which is most of an import's time. Here each column gets one converter chosen once per
table and dialect, and rows go to the DB-API `executemany` as tuples. The values stored are those SQLAlchemy would
store (checked by tests/kit/test_bulk.py reading them back through the ORM).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


_JSON_MEMO: dict[str, str] = {}  # repr → JSON text; repr is one-to-one on JSON values and ten times cheaper


def _json_text(value: Any) -> Any:
    if value is None:
        return None
    if value == {}:
        return "{}"
    key = repr(value)
    text = _JSON_MEMO.get(key)
    if text is None:
        text = json.dumps(value)
        if len(_JSON_MEMO) < 4096:  # the few shapes that repeat (resource classes of a flow, empty lists)
            _JSON_MEMO[key] = text
    return text


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


@dataclass(frozen=True)
class RowEncoder:
    """Turns row dicts into the DB-API tuples of one table's INSERT, for one dialect. Needs no connection, so rows
    can be encoded before (or away from) the database work; `index` gives a column's position in the tuple."""

    table_name: str
    dialect: str
    keys: tuple[str, ...]
    index: dict[str, int]
    converters: tuple[tuple[int, Converter], ...]
    defaults: tuple[Callable[[], Any], ...]
    complete: Callable[[dict[str, Any]], tuple[Any, ...]]  # itemgetter of every key, in column order

    def encode(self, row: dict[str, Any]) -> list[Any]:
        try:
            values = list(self.complete(row))  # C-speed when a row has every column (importers build them so)
        except KeyError:  # missing columns take the model's default, as an ORM insert would
            values = [row[k] if k in row else default() for k, default in zip(self.keys, self.defaults, strict=True)]
        for index, convert in self.converters:
            values[index] = convert(values[index])
        return values


@lru_cache(maxsize=32)
def row_encoder(table: Any, dialect: str) -> RowEncoder:
    columns = list(table.columns)
    converters = tuple((i, f) for i, c in enumerate(columns) if (f := _converter(c, dialect)) is not _identity)
    keys = tuple(c.key for c in columns)
    defaults = tuple(_default(c) for c in columns)
    index = {k: i for i, k in enumerate(keys)}
    return RowEncoder(table.name, dialect, keys, index, converters, defaults, itemgetter(*keys))


# Code that keeps derived data (the search index) current from row triggers can take over for bulk inserts:
# `before(connection, table_name)` runs before the INSERT (e.g. to set its triggers aside for this transaction),
# `after(connection, table_name, ids)` after it with the new rows' ids (to derive their data in one statement).
BulkHook = tuple[Callable[[Any, str], None], Callable[[Any, str, list[Any]], None]]
BULK_HOOKS: list[BulkHook] = []


def insert_encoded(session: Session, table: Any, rows: Sequence[Sequence[Any]]) -> int:
    """INSERT rows already encoded by `row_encoder(table, dialect).encode`. Returns the number of rows sent."""
    if not rows:
        return 0
    connection = session.connection()
    keys = [c.key for c in table.columns]
    position = keys.index("id") if BULK_HOOKS and "id" in keys else None
    ids = [] if position is None else [row[position] for row in rows]
    for before, _after in BULK_HOOKS:
        before(connection, table.name)
    dialect = connection.dialect
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = list(table.columns)
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([placeholder] * len(columns))})"  # noqa: S608 - names come from the table definition  # nosec B608
    connection.exec_driver_sql(statement, rows if isinstance(rows, list) else list(rows))
    for _before, after in BULK_HOOKS:
        after(connection, table.name, ids)
    return len(rows)


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT rows into `table` (a `sa.Table`, e.g. `Model.__table__`); rows are dicts keyed by column name,
    missing keys are NULL. Returns the number of rows sent."""
    if not rows:
        return 0
    encode = row_encoder(table, session.connection().dialect.name).encode
    return insert_encoded(session, table, [tuple(encode(row)) for row in rows])
