"""Search benchmark on SYNTHETIC data: 100k records (organisations, sites, flows, services), fixed seed.

    python bench/bench_search.py [--records 100000] [--repeat 10] [--no-postgres] [--pg-url postgresql+psycopg://...]

The data is synthetic, not real: organisation names from syllables, resource texts from the catalogue's own
English and German synonyms with random modifiers, points scattered around 40 European industrial towns. For
SQLite (a fresh file) and, when reachable, PostgreSQL (a throw-away database) it prints:
- bulk load: every row through turash.kit.bulk with no search objects yet, then the index build on its own
  (`turash.search.index.install`: FTS5 table or GIN indexes, triggers, every document written);
- 5 % more rows loaded afterwards, through the triggers, as an import into a live database goes;
- rebuild: `turash search --reindex` (every document rewritten; on SQLite one FTS5 rebuild pass);
- query latency p50/p99 over `--repeat` runs of each query type through turash.search.service.search (as the
  system, no per-user scoping; the first run warms the vocabulary cache and is not counted), and on SQLite the
  time to read the vocabulary the typo expansion uses (once after each change of the indexed tables).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from turash.catalog import get_catalog  # noqa: E402
from turash.kit import migrations  # noqa: E402
from turash.kit.bulk import insert_rows  # noqa: E402
from turash.kit.db import make_engine, session_factory  # noqa: E402
from turash.models import Organization, ResourceFlow, SearchDocument, ServiceOffering, Site  # noqa: E402
from turash.models.base import new_ids  # noqa: E402
from turash.search import index, repository, service  # noqa: E402

SEED = 20261207
TOWNS = [(50.0 + (i % 8) * 1.3, 2.0 + (i // 8) * 3.1) for i in range(40)]
SYLLABLES = ["nor", "ka", "tal", "vik", "berg", "lin", "sta", "ro", "mar", "hol", "dal", "sen", "ver", "gren"]
MODIFIERS = ["dry", "wet", "from kiln", "from boiler", "filtered", "surplus", "residual", "low grade", "bulk", ""]
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("exact 'fly ash'", {"q": "fly ash"}),
    ("typo 'gypsun'", {"q": "gypsun"}),
    ("typo 'brewery spent grian'", {"q": "brewery spent grian"}),
    ("synonym 'Flugasche'", {"q": "Flugasche"}),
    ("text + 50 km radius", {"q": "waste heat", "lat": 52.6, "lon": 5.1, "radius_km": 50.0}),
    ("facets only: supply flows in DE", {"kinds": ("flow",), "direction": "supply", "country": "DE"}),
    ("no text, 20 km radius", {"lat": 52.6, "lon": 5.1, "radius_km": 20.0}),
]


def _first(n: int) -> int:
    """The part of a table loaded before the index is built (the rest goes in through the triggers)."""
    return n * 20 // 21


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def synthetic_rows(records: int) -> dict[str, list[dict[str, Any]]]:
    """About 5 % organisations, 10 % sites, 80 % flows, 5 % services (SYNTHETIC)."""
    rng = random.Random(SEED)
    catalog = get_catalog()
    texts: list[tuple[str, str]] = []  # (text, class id)
    for cid in catalog.class_ids:
        rc = catalog.get(cid)
        texts.append((rc.name, cid))
        texts.extend((t, cid) for t in rc.synonyms.get("de", ())[:2])
    n_orgs, n_sites, n_services = records // 20, records // 10, records // 20
    n_flows = records - n_orgs - n_sites - n_services
    org_ids, site_ids = new_ids(n_orgs), new_ids(n_sites)
    orgs = [
        {
            "id": oid,
            "name": f"{_name(rng)} {rng.choice(['Industries', 'Werke', 'Energie', 'Cement', 'Foods', 'Chemie'])}",
            "name_key": oid,
            "kind": "enterprise",
            "country": rng.choice(["DE", "NL", "FR", "DK", "BE"]),
            "nace": rng.choice(["23.51", "35.11", "11.05", "20.14", "24.10"]),
            "source": "user",
            "attributes": {},
        }
        for oid in org_ids
    ]
    sites = []
    for i, sid in enumerate(site_ids):
        lat, lon = rng.choice(TOWNS)
        org = orgs[i % _first(n_orgs)]  # rows of the first part point only at rows of the first part
        sites.append(
            {
                "id": sid,
                "organization_id": org["id"],
                "name": f"{_name(rng)} plant",
                "name_key": sid,
                "lat": lat + rng.uniform(-0.3, 0.3),
                "lon": lon + rng.uniform(-0.3, 0.3),
                "country": org["country"],
                "nace": org["nace"],
                "city": _name(rng),
                "permits": {},
                "source": "user",
                "attributes": {},
            }
        )
    flows = []
    for fid in new_ids(n_flows):
        site = sites[rng.randrange(_first(n_sites))]
        text, cid = rng.choice(texts)
        flows.append(
            {
                "id": fid,
                "organization_id": site["organization_id"],
                "site_id": site["id"],
                "direction": rng.choice(["supply", "demand"]),
                "resource": f"{text} {rng.choice(MODIFIERS)}".strip(),
                "resource_class": cid,
                "resource_classes": [[cid, 1.0]],
                "category": catalog.get(cid).category,
                "precision": rng.choice(["rough", "estimated", "measured"]),
                "hazardous": rng.random() < 0.1,
                "fingerprint": fid,
                "source": "import",
                "attributes": {},
                "inferred": False,
            }
        )
    services = [
        {
            "id": vid,
            "organization_id": orgs[rng.randrange(_first(n_orgs))]["id"],
            "kind": rng.choice(["transport", "treatment", "storage"]),
            "name": f"{_name(rng)} {rng.choice(['Logistik', 'Recycling', 'Tank storage'])}",
            "resources": [rng.choice(texts)[0]],
            "ewc_codes": [],
            "countries": [rng.choice(["DE", "NL"])],
            "center_lat": rng.choice(TOWNS)[0],
            "center_lon": rng.choice(TOWNS)[1],
            "radius_km": 100.0,
            "attributes": {},
        }
        for vid in new_ids(n_services)
    ]
    return {"organizations": orgs, "sites": sites, "flows": flows, "services": services}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _load(session: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    for table, rows in (
        (Organization.__table__, data["organizations"]),
        (Site.__table__, data["sites"]),
        (ResourceFlow.__table__, data["flows"]),
        (ServiceOffering.__table__, data["services"]),
    ):
        for i in range(0, len(rows), 5000):
            insert_rows(session, table, rows[i : i + 5000])


def run(
    url: str, data: dict[str, list[dict[str, Any]]], extra: dict[str, list[dict[str, Any]]], repeat: int, label: str
) -> None:
    migrations.upgrade(url)
    engine = make_engine(url)
    make_session = session_factory(engine)
    with make_session() as session:
        index.uninstall(session.connection())  # load first, index after: the build time on its own
        session.commit()
        start = time.perf_counter()
        _load(session, data)
        session.commit()
        load = time.perf_counter() - start
        start = time.perf_counter()
        index.install(session.connection())  # FTS5 table or GIN indexes, triggers, and every document written
        session.commit()
        build = time.perf_counter() - start
        documents = int(session.scalar(sa.select(sa.func.count()).select_from(SearchDocument)) or 0)
        start = time.perf_counter()
        _load(session, extra)  # now through the triggers, as an import into a live database goes
        session.commit()
        live = time.perf_counter() - start
        start = time.perf_counter()
        service.reindex(session)
        session.commit()
        rebuild = time.perf_counter() - start
        if engine.dialect.name == "postgresql":
            session.execute(sa.text("ANALYZE"))
            session.commit()
    total, more = sum(len(v) for v in data.values()), sum(len(v) for v in extra.values())
    print(f"\n{label}: {total:,} SYNTHETIC records, {documents:,} documents")
    print(f"  bulk load, no index:            {load:7.2f} s ({total / load:,.0f} rows/s)")
    print(f"  index build (install):          {build:7.2f} s")
    print(f"  {more:,} more rows via triggers:  {live:7.2f} s ({more / live:,.0f} rows/s)")
    print(f"  rebuild (turash search --reindex): {rebuild:7.2f} s")
    if engine.dialect.name == "sqlite":
        with make_session() as session:
            t0 = time.perf_counter()
            terms = repository.vocabulary(session)
            print(
                f"  vocabulary read (fts5vocab):    {(time.perf_counter() - t0) * 1000:7.1f} ms ({len(terms):,} terms)"
            )
    print(f"  {'query':36} {'results':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, params in QUERIES:
        timings = []
        found = 0
        for attempt in range(repeat + 1):
            with make_session() as session:
                t0 = time.perf_counter()
                result = service.search(session, None, service.SearchQuery(limit=20, **params))
                elapsed = (time.perf_counter() - t0) * 1000
            found = result.total
            if attempt:
                timings.append(elapsed)
        print(f"  {name:36} {found:8,} {statistics.median(timings):8.1f} {_percentile(timings, 0.99):8.1f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TURASH_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="A PostgreSQL server to create a throw-away database on.",
    )
    args = parser.parse_args()
    everything = synthetic_rows(args.records + args.records // 20)
    # the last 5 % of each table go in through the triggers after the index is built
    data = {k: v[: _first(len(v))] for k, v in everything.items()}
    extra = {k: v[_first(len(v)) :] for k, v in everything.items()}
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench_search.db", data, extra, args.repeat, "SQLite (FTS5)")
    if args.no_postgres:
        return
    admin = make_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"turash_bench_search_{uuid.uuid4().hex[:8]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: SQLite figures only
        print(f"\nPostgreSQL not reachable ({type(exc).__name__}); skipped")
        return
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        pg = make_engine(url, isolation_level="AUTOCOMMIT")
        with pg.connect() as conn, contextlib.suppress(sa.exc.DBAPIError):  # PostGIS is optional
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        pg.dispose()
        run(url, data, extra, args.repeat, "PostgreSQL (tsvector + pg_trgm)")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
