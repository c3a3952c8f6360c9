"""`turash match --format json` end to end (start, load, match, explain, price, JSON out) against PostGIS's bare
spatial join on the same data.

Generates N flows with the import contract's columns (bench_import.write_file: clustered sites, plant-manager
resource words), imports them into a fresh SQLite database, then times:
- `turash match --format json --radius-km 20 > file` in a fresh process, twice (the first run may compile numba
  kernels);
- on the local PostgreSQL/PostGIS: the same sites as `geometry(Point, 3035)` with a GiST index and the bare join
  "every supply with every demand within 20 km" (`ST_DWithin`, no classes, no scores, no ranking), counted.

    python bench/bench_match_cli.py [--sizes 10000,100000] [--no-postgis]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import write_file  # noqa: E402

RADIUS_KM = 20.0  # the same radius for `turash match` and the PostGIS join
PG = os.environ.get("TURASH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgis_join(db: Path, radius_km: float = RADIUS_KM) -> tuple[float, int]:
    import psycopg
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT f.id, f.direction, s.lon, s.lat FROM resource_flows f JOIN sites s ON s.id = f.site_id")).all()
    engine.dispose()
    name = f"turash_bench_{os.getpid()}"
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(PG.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute("CREATE TABLE f (id text, supply boolean, lon float8, lat float8)")
            buffer = io.StringIO()
            for flow_id, direction, lon, lat in rows:
                buffer.write(f"{flow_id}\t{direction == 'supply'}\t{lon}\t{lat}\n")
            with conn.cursor().copy("COPY f FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            conn.execute("ALTER TABLE f ADD COLUMN g geometry(Point, 3035)")
            conn.execute("UPDATE f SET g = ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3035)")
            conn.execute("CREATE INDEX ON f USING gist (g)")
            conn.execute("ANALYZE f")
            conn.execute("SET statement_timeout = '600s'")
            start = time.perf_counter()
            count = conn.execute(
                "SELECT count(*) FROM f s JOIN f d ON ST_DWithin(s.g, d.g, %s) WHERE s.supply AND NOT d.supply",
                (radius_km * 1000,)).fetchone()[0]
            return time.perf_counter() - start, int(count)
    finally:
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    print(f"{'flows':>8} {'import s':>9} {'match 1st s':>12} {'match s':>8} {'matches':>9} {'JSON MB':>8} "
          f"{'PostGIS join s':>15} {'pairs ≤20 km':>13} {'× PostGIS':>10}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "flows.csv"
            write_file(csv, n)
            env = {**os.environ, "TURASH_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
            turash = [sys.executable, "-m", "turash.cli"]
            start = time.perf_counter()
            subprocess.run([*turash, "import", "flows", str(csv)], env=env, check=True, capture_output=True)
            imported = time.perf_counter() - start
            times = []
            out = Path(tmp) / "matches.json"
            for _ in range(2):
                start = time.perf_counter()
                with out.open("wb") as handle:
                    subprocess.run(
                        [*turash, "match", "--format", "json", "--radius-km", str(RADIUS_KM)],
                        env=env,
                        check=True,
                        stdout=handle,
                    )
                times.append(time.perf_counter() - start)
            size = out.stat().st_size
            count = out.read_bytes().count(b'"id":')
            pg_s, pairs = (float("nan"), 0) if args.no_postgis else postgis_join(Path(tmp) / "bench.db")
            print(f"{n:>8,} {imported:>9.2f} {times[0]:>12.2f} {times[1]:>8.2f} {count:>9,} {size / 1e6:>8.1f} "
                  f"{pg_s:>15.2f} {pairs:>13,} {pg_s / times[1]:>10.2f}")


if __name__ == "__main__":
    main()
