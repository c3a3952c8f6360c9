"""Database plumbing: engine per URL, sessions, the unit of work, and dialect capabilities.

SQLite (embedded default) and PostgreSQL (+PostGIS when installed) are both first-class. Spatial radius
queries use PostGIS `ST_DWithin` on a geography column when it exists, and otherwise a bounding-box prefilter on
indexed lat/lon columns plus the SQL function `turash_distance_km` (registered in Python on SQLite connections,
created by the migrations on PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import UserDefinedType

from turash.kit.geo import haversine_km


class Geography(UserDefinedType[Any]):
    """PostGIS `geography`, known to SQLAlchemy so reflection (Alembic, inspection) recognises the column."""

    cache_ok = True

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:  # reflection passes (Point, 4326)
        super().__init__()

    def get_col_spec(self, **_kw: Any) -> str:
        return "geography"


ischema_names["geography"] = Geography

# Statements that change data, counted process-wide on every engine: a cached view of the data (the matching state)
# may skip asking the database whether anything changed while this count has not moved (see `write_count`).
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLAC", "CREATE", "DROP", "ALTER")
_writes = 0


@event.listens_for(Engine, "before_cursor_execute")
def _count_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    global _writes
    if statement.lstrip()[:6].upper().startswith(_WRITE_VERBS):
        _writes += 1


def write_count() -> int:
    """How many data-changing statements this process has sent so far (any engine, committed or not)."""
    return _writes


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _sqlite_distance_km(lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None) -> float | None:
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    return haversine_km(lat1, lon1, lat2, lon2)


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # WAL lets the API read while an import writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()
    dbapi_connection.create_function("turash_distance_km", 4, _sqlite_distance_km, deterministic=True)


POOL_SIZE, POOL_OVERFLOW = 10, 10  # 20 connections per process; the app lets fewer requests in at once


def make_engine(url: str, **kwargs: Any) -> Engine:
    if not url.startswith("sqlite:///:memory:") and url != "sqlite://":
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so SAVEPOINTs work in tests.
        event.listen(engine, "connect", _disable_pysqlite_autobegin)
        event.listen(
            engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE" if _IMMEDIATE.get() else "BEGIN")
        )
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


_IMMEDIATE: ContextVar[bool] = ContextVar("turash_sqlite_immediate", default=False)


def ready_to_write(session: Session) -> None:
    """Call before a request that has only read starts writing. On SQLite a transaction that read and then writes
    fails at once with "database is locked" when another connection committed in between (its snapshot is stale;
    the busy timeout does not help), so the reads are ended here and the writes run in a `BEGIN IMMEDIATE`
    transaction, which waits (busy_timeout) for the one writer's lock instead. Nothing to do on PostgreSQL."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.commit()
    token = _IMMEDIATE.set(True)
    try:
        session.connection()  # begins the next transaction now, as BEGIN IMMEDIATE
    finally:
        _IMMEDIATE.reset(token)


def claim(session: Session, statement: sa.Update) -> bool:
    """Take one row for this process: run a conditional UPDATE (`... WHERE id = :id AND <still free>`) and commit
    at once, so other processes see the claim. True when this process won the row. When two processes race for it,
    exactly one UPDATE matches: PostgreSQL re-checks the WHERE clause once the other's commit is in (READ
    COMMITTED), SQLite lets one writer in at a time (`ready_to_write`)."""
    ready_to_write(session)
    won = session.execute(statement.execution_options(synchronize_session=False)).rowcount == 1  # type: ignore[attr-defined]
    session.commit()
    return bool(won)


def _disable_pysqlite_autobegin(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None


def get_engine(url: str) -> Engine:
    """One engine (and connection pool) per URL for the life of the process."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def has_postgis(session: Session) -> bool:
    """True when the database is PostgreSQL with the PostGIS extension installed (cached per engine)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    cache: dict[str, bool] = bind.__dict__.setdefault("_turash_caps", {})
    if "postgis" not in cache:
        found = session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
        cache["postgis"] = found is not None
    return cache["postgis"]


@dataclass
class UnitOfWork:
    """A session plus the domain events to publish once its transaction has committed.

    Services add rows and call `collect(event)`; the caller (a request or a CLI command) calls `commit()` once.
    Events are published after the commit, never before, so no listener sees data that could still roll back.
    """

    session: Session
    publish: Callable[[list[Any]], None] = lambda events: None
    events: list[Any] = field(default_factory=list)

    def collect(self, event: Any) -> None:
        self.events.append(event)

    def commit(self) -> None:
        self.session.commit()
        pending, self.events = self.events, []
        if pending:
            self.publish(pending)

    def rollback(self) -> None:
        self.session.rollback()
        self.events.clear()


@contextmanager
def unit_of_work(engine: Engine, publish: Callable[[list[Any]], None] | None = None) -> Iterator[UnitOfWork]:
    """Open a session; roll back on error; the body commits explicitly with `uow.commit()`."""
    session = session_factory(engine)()
    uow = UnitOfWork(session=session, publish=publish or (lambda events: None))
    try:
        yield uow
    except BaseException:
        uow.rollback()
        raise
    finally:
        session.close()
