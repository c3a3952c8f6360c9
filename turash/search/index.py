"""The search index's database objects: what text each record contributes, and the triggers that keep it current.

`search_documents` holds one row per organisation, site, flow and service offering. Triggers on the four source
tables write it, so every writer keeps it current without knowing about search: services through the ORM, the
bulk importer through the driver's `executemany` (turash/kit/bulk.py), merges, cascaded deletes, SQL by hand.

- SQLite: an FTS5 table over `search_documents` (external content, rowid = `search_documents.id`) with the
  `unicode61 remove_diacritics 2` tokenizer, kept in step by three more triggers, and an `fts5vocab` table that
  lists its terms (typo expansion, turash/search/service.py).
- PostgreSQL: a weighted `tsvector` expression index (title A, body B) and a `pg_trgm` expression index on the
  unaccented text, for `ts_rank` and `word_similarity`; a GIN index on the class ids.

Migration 0008 installs these objects with `install`. A change to the document text here needs a new migration
that calls `uninstall` and `install` again, then `rebuild`.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from turash.kit import bulk

# What each kind contributes: title (weighted high), body, and resource class ids. `{where}` picks the rows.
# Organisation names go into the body of their sites, flows and services, so "Aalborg fly ash" finds the flow.
_ORGANIZATION = """
SELECT 'organization', o.id, o.name,
       coalesce(o.description, '') || ' ' || coalesce(o.nace, '') || ' ' || o.kind || ' ' || coalesce(o.country, ''),
       ''
FROM organizations o WHERE {where}"""
_SITE = """
SELECT 'site', s.id, s.name,
       coalesce(s.city, '') || ' ' || coalesce(s.address, '') || ' ' || coalesce(s.description, '') || ' '
       || coalesce(s.nace, '') || ' ' || o.name,
       ''
FROM sites s JOIN organizations o ON o.id = s.organization_id WHERE {where}"""
_FLOW = """
SELECT 'flow', f.id, f.resource,
       coalesce(f.description, '') || ' ' || coalesce(replace(f.resource_class, '_', ' '), '') || ' '
       || coalesce(f.category, '') || ' ' || coalesce(f.ewc_code, '') || ' ' || s.name || ' ' || coalesce(s.city, '')
       || ' ' || o.name,
       coalesce(f.resource_class, '')
FROM resource_flows f JOIN sites s ON s.id = f.site_id JOIN organizations o ON o.id = f.organization_id
WHERE {where}"""
_SERVICE = """
SELECT 'service', v.id, v.name,
       coalesce(v.description, '') || ' ' || v.kind || ' ' || coalesce({resources}, '') || ' ' || o.name,
       ''
FROM service_offerings v JOIN organizations o ON o.id = v.organization_id WHERE {where}"""
# The resources list as words: JSON text would carry \\u escapes for non-ASCII letters.
_RESOURCES = {
    "sqlite": "(SELECT group_concat(value, ' ') FROM json_each(v.resources))",
    "postgresql": "(SELECT string_agg(value, ' ') FROM json_array_elements_text(v.resources) AS value)",
}

_UPSERT = """
INSERT INTO search_documents (kind, ref_id, title, body, classes) {select}
ON CONFLICT (kind, ref_id) DO UPDATE SET title = excluded.title, body = excluded.body, classes = excluded.classes"""


def _upsert(template: str, where: str, dialect: str) -> str:
    select = template.format(where=where, resources=_RESOURCES[dialect])
    return _UPSERT.format(select=select)


def _changed(column: str, dialect: str) -> str:
    return f"NEW.{column} IS NOT OLD.{column}" if dialect == "sqlite" else f"NEW.{column} IS DISTINCT FROM OLD.{column}"


# (table, kind, template, key, columns whose change rewrites the document, dependents to rewrite when some change)
# A dependent: (template, column of the dependent pointing at this row, columns of this row it shows).
_SOURCES: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[tuple[str, str, tuple[str, ...]], ...]], ...] = (
    (
        "organizations",
        "organization",
        _ORGANIZATION,
        "o.id",
        ("name", "description", "nace", "kind", "country"),
        (
            (_SITE, "s.organization_id", ("name",)),
            (_FLOW, "f.organization_id", ("name",)),
            (_SERVICE, "v.organization_id", ("name",)),
        ),
    ),
    (
        "sites",
        "site",
        _SITE,
        "s.id",
        ("name", "city", "address", "description", "nace", "organization_id"),
        ((_FLOW, "f.site_id", ("name", "city")),),
    ),
    (
        "resource_flows",
        "flow",
        _FLOW,
        "f.id",
        ("resource", "description", "resource_class", "category", "ewc_code", "site_id", "organization_id"),
        (),
    ),
    (
        "service_offerings",
        "service",
        _SERVICE,
        "v.id",
        ("name", "description", "kind", "resources", "organization_id"),
        (),
    ),
)

_FTS_SYNC = (
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts (rowid, title, body, classes) VALUES (NEW.id, NEW.title, NEW.body, NEW.classes); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts (search_fts, rowid, title, body, classes) "
    "VALUES ('delete', OLD.id, OLD.title, OLD.body, OLD.classes); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts (search_fts, rowid, title, body, classes) "
    "VALUES ('delete', OLD.id, OLD.title, OLD.body, OLD.classes); "
    "INSERT INTO search_fts (rowid, title, body, classes) VALUES (NEW.id, NEW.title, NEW.body, NEW.classes); END",
)
_FTS_SYNC_NAMES = ("search_documents_ai", "search_documents_ad", "search_documents_au")

# The same expressions are used by the queries (turash/search/repository.py) so the planner uses the indexes.
PG_TSVECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, turash_unaccent(title)), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, turash_unaccent(body)), 'B'))"
)
PG_TRGM_TEXT = "turash_unaccent(title || ' ' || body)"
PG_CLASSES = "string_to_array(classes, ' ')"
PG_DEFERRED = "turash.search_deferred"  # a transaction-local setting: this transaction's inserts index themselves


def _sqlite_triggers() -> list[str]:
    statements = []
    for table, kind, template, key, columns, dependents in _SOURCES:
        row = f"{key} = NEW.id"
        body = [_upsert(template, row, "sqlite")]
        statements.append(
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} "  # noqa: S608 - constants  # nosec B608
            f"WHEN (SELECT deferred FROM search_control) = 0 BEGIN {body[0]}; END"
        )
        for dep_template, dep_key, shown in dependents:
            changed = " OR ".join(_changed(c, "sqlite") for c in shown)
            body.append(_upsert(dep_template, f"{dep_key} = NEW.id AND ({changed})", "sqlite"))
        statements.append(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE OF {', '.join(columns)} ON {table} BEGIN "
            + "; ".join(body)
            + "; END"
        )
        statements.append(
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608 - constants  # nosec B608
            f"DELETE FROM search_documents WHERE kind = '{kind}' AND ref_id = OLD.id; END"
        )
    return statements


def _postgres_triggers() -> list[str]:
    statements = []
    for table, kind, template, key, columns, dependents in _SOURCES:
        dependent_updates = "".join(
            f"IF TG_OP = 'UPDATE' AND ({' OR '.join(_changed(c, 'postgresql') for c in shown)}) THEN "
            f"{_upsert(dep_template, f'{dep_key} = NEW.id', 'postgresql')}; END IF;\n"
            for dep_template, dep_key, shown in dependents
        )
        statements.append(
            # names and SQL come from the constants above, never from data
            f"CREATE OR REPLACE FUNCTION turash_search_{table}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"  # noqa: S608  # nosec B608
            "BEGIN\n"
            # a bulk insert indexes its rows itself, in one statement (`_index_bulk`)
            f"IF TG_OP = 'INSERT' AND current_setting('{PG_DEFERRED}', true) = 'on' THEN RETURN NULL; END IF;\n"
            f"IF TG_OP = 'DELETE' THEN DELETE FROM search_documents WHERE kind = '{kind}' AND ref_id = OLD.id; "
            "RETURN NULL; END IF;\n"
            f"{_upsert(template, f'{key} = NEW.id', 'postgresql')};\n"
            f"{dependent_updates}"
            "RETURN NULL;\nEND $fn$"
        )
        statements.append(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE OF {', '.join(columns)} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION turash_search_{table}()"
        )
    return statements


def _postgres_unaccent(conn: Connection) -> str:
    """An IMMUTABLE unaccent (index expressions need one); plain text when the extension is not available."""
    available = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")).first()
    if available is None:
        return (
            "CREATE OR REPLACE FUNCTION turash_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
            "AS $$ SELECT $1 $$"
        )
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
    schema = conn.execute(
        text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
    ).scalar_one()
    return (
        "CREATE OR REPLACE FUNCTION turash_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        f"AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$"
    )


def install(conn: Connection) -> None:
    """Create the index objects (the `search_documents` table exists already) and fill it from the data."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("CREATE TABLE search_control (deferred INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO search_control (deferred) VALUES (0)")
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, classes, content='search_documents', "
            "content_rowid='id', tokenize=\"unicode61 remove_diacritics 2 tokenchars '_'\")"
        )
        conn.exec_driver_sql("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_fts, 'row')")
        for statement in (*_FTS_SYNC, *_sqlite_triggers()):
            conn.exec_driver_sql(statement)
    elif dialect == "postgresql":
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.exec_driver_sql(_postgres_unaccent(conn))
        conn.exec_driver_sql(f"CREATE INDEX ix_search_documents_tsv ON search_documents USING gin ({PG_TSVECTOR})")
        conn.exec_driver_sql(
            f"CREATE INDEX ix_search_documents_trgm ON search_documents USING gin (({PG_TRGM_TEXT}) gin_trgm_ops)"
        )
        conn.exec_driver_sql(f"CREATE INDEX ix_search_documents_classes ON search_documents USING gin (({PG_CLASSES}))")
        for statement in _postgres_triggers():
            conn.exec_driver_sql(statement)
    else:  # pragma: no cover - Turash runs on SQLite and PostgreSQL only
        raise RuntimeError(f"search index not supported on {dialect}")
    rebuild(conn)


def uninstall(conn: Connection) -> None:
    dialect = conn.dialect.name
    tables = [source[0] for source in _SOURCES]
    if dialect == "sqlite":
        for table in tables:
            for suffix in ("ai", "au", "ad"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
        for name in _FTS_SYNC_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_vocab")
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_fts")
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_control")
    else:
        for table in tables:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS turash_search_{table}()")
        for index in ("tsv", "trgm", "classes"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_search_documents_{index}")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS turash_unaccent(text)")


def rebuild(conn: Connection) -> int:
    """Write every document again from the source tables; returns how many there are.

    On SQLite the FTS5 index is rebuilt from the documents in one pass (its sync triggers are set aside meanwhile),
    which also repairs an index that went out of step with them."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for name in _FTS_SYNC_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    conn.exec_driver_sql("DELETE FROM search_documents")
    for _table, _kind, template, _key, _columns, _dependents in _SOURCES:
        conn.exec_driver_sql(
            "INSERT INTO search_documents (kind, ref_id, title, body, classes) "
            + template.format(where="1 = 1", resources=_RESOURCES[dialect])
        )
    if dialect == "sqlite":
        conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('rebuild')")
        for statement in _FTS_SYNC:
            conn.exec_driver_sql(statement)
    return int(conn.exec_driver_sql("SELECT count(*) FROM search_documents").scalar_one())


# --- bulk inserts ------------------------------------------------------------------------------------------------
# A row trigger per inserted row costs an import three quarters of its speed (17.8k → 5.1k rows/s at 100k rows on
# SQLite). So around a bulk INSERT (turash/kit/bulk.py) the insert triggers are set aside for the inserting
# transaction only, and the new rows' documents are written afterwards by one INSERT ... SELECT per batch. Other
# connections never see the triggers set aside: on PostgreSQL the switch is a transaction-local setting; on SQLite
# it is a row of `search_control` that the same transaction sets and resets (one writer at a time, and readers see
# only committed data).
_KEYS = {table: (template, key) for table, _kind, template, key, _columns, _dependents in _SOURCES}
_BATCH = 500


def _installed(conn: Connection) -> bool:
    if conn.info.get("turash_search_installed"):
        return True
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'search_control'").first()
    else:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'search_resource_flows' AND NOT tgisinternal"
        ).first()
    if found is not None:  # only a positive answer is kept: a migration may install the index later
        conn.info["turash_search_installed"] = True
    return found is not None


def _defer(conn: Connection, table: str) -> None:
    if table not in _KEYS or not _installed(conn):
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("UPDATE search_control SET deferred = 1")
    else:
        conn.exec_driver_sql(f"SELECT set_config('{PG_DEFERRED}', 'on', true)")


def _index_bulk(conn: Connection, table: str, ids: list[object]) -> None:
    if table not in _KEYS or not _installed(conn):
        return
    template, key = _KEYS[table]
    dialect = conn.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    try:
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            where = f"{key} IN ({', '.join([mark] * len(chunk))})"
            conn.exec_driver_sql(_upsert(template, where, dialect), tuple(chunk))
    finally:
        if dialect == "sqlite":
            conn.exec_driver_sql("UPDATE search_control SET deferred = 0")
        else:
            conn.exec_driver_sql(f"SELECT set_config('{PG_DEFERRED}', 'off', true)")


if (_defer, _index_bulk) not in bulk.BULK_HOOKS:
    bulk.BULK_HOOKS.append((_defer, _index_bulk))
