"""Alembic environment. The URL comes from the caller (turash.kit.migrations) or TURASH_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from turash.config import get_settings
from turash.kit.db import make_engine
from turash.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    # meter_readings' monthly partitions are made at run time (turash/ingestion/readings.py), not by migrations;
    # SQLite's FTS5 search index and its shadow tables, and the PostgreSQL search expression indexes, are made by
    # turash/search/index.py (migration 0008), not from models
    if not (reflected and compare_to is None):
        return True
    if type_ == "table":
        return not str(name).startswith(("meter_readings_", "search_fts", "search_vocab", "search_control"))
    if type_ == "index":
        return str(name) not in ("ix_search_documents_tsv", "ix_search_documents_trgm", "ix_search_documents_classes")
    return True


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        include_object=_include,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `turash db upgrade`")
run_migrations_online()
