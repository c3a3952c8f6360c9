"""Migrations go up and down cleanly on every back-end (a separate, throw-away database each time)."""

import uuid

import sqlalchemy as sa

from tests.conftest import PG_URL
from turash.kit import migrations
from turash.kit.db import make_engine
from turash.models import Base


def _fresh_url(backend: str, tmp_path) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'mig.db'}", None
    name = f"turash_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")  # type: ignore[union-attr]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    return url, (admin, name)


def _drop(cleanup: object) -> None:
    if cleanup is None:
        return
    admin, name = cleanup  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_downgrade_upgrade(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, cleanup = _fresh_url(backend, tmp_path)
    try:
        migrations.upgrade(url)
        engine = make_engine(url)
        tables = set(sa.inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.head_revision()
            if backend == "postgresql":
                cols = {c["name"] for c in sa.inspect(conn).get_columns("sites")}
                assert "geog" in cols  # PostGIS present in CI
                km = conn.scalar(sa.text("SELECT turash_distance_km(55.6761, 12.5683, 56.1572, 10.2107)"))
                assert 155 < km < 158
        engine.dispose()
        migrations.downgrade(url, "base")
        engine = make_engine(url)
        assert not set(Base.metadata.tables) & set(sa.inspect(engine).get_table_names())
        engine.dispose()
        migrations.upgrade(url)
        engine = make_engine(url)
        assert set(Base.metadata.tables) <= set(sa.inspect(engine).get_table_names())
        engine.dispose()
    finally:
        _drop(cleanup)


def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    """Autogenerate finds nothing to do: the migrations build exactly the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    # The PostGIS geography column and its index exist only in the database, on purpose; so do the monthly
    # partitions of meter_readings (created as readings arrive); so do the search index's FTS5 tables (SQLite)
    # and expression indexes (PostgreSQL), made by turash/search/index.py.
    search_objects = ("search_fts", "search_vocab", "search_control", "ix_search_documents_tsv")
    search_objects += ("ix_search_documents_trgm", "ix_search_documents_classes")
    diff = [
        d
        for d in diff
        if "geog" not in repr(d)
        and "spatial_ref_sys" not in repr(d)
        and not (d[0] == "remove_table" and d[1].name.startswith("meter_readings_"))
        and not (d[0] in ("remove_table", "remove_index") and d[1].name.startswith(search_objects))
    ]
    assert diff == []
