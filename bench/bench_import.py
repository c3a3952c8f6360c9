"""Import throughput of `turash import flows` on the embedded SQLite database (target: >= 20,000 rows/s).

Generates a valid flows file (fixed seed) with the contract's columns: sites placed around real Hotmaps site
coordinates when the data is available, resources drawn from a list of plant-manager words, a realistic share of
EWC codes and units. Prints rows/s for the service call (parse, validate, normalise, classify, fingerprint, insert),
and for a re-import (all rows already present).

    python bench/bench_import.py [--rows 20000,100000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

RESOURCES = [
    ("supply", "fly ash", "10 01 02", "t/yr"),
    ("supply", "FGD gypsum", "10 01 05", "t/yr"),
    ("supply", "spent grain", "02 07 04", "t/yr"),
    ("supply", "waste heat 85 C", "", "GWh/yr"),
    ("supply", "steam 12 bar", "", "t/h"),
    ("supply", "CO2", "", "t/yr"),
    ("supply", "wood chips", "03 01 05", "t/yr"),
    ("supply", "treated wastewater", "", "m3/h"),
    ("supply", "blast furnace slag", "10 02 02", "t/yr"),
    ("demand", "cattle feed", "", "t/yr"),
    ("demand", "heat for district heating", "", "MW"),
    ("demand", "process water", "", "m3/h"),
    ("demand", "pozzolanic additive", "", "t/yr"),
    ("demand", "CO2 for greenhouses", "", "t/yr"),
    ("demand", "biomass fuel", "", "GWh/yr"),
]
HEADER = (
    "organization,site,lat,lon,country,nace,direction,resource,category,ewc_code,quantity,unit,temperature_c,"
    "pressure_bar,purity_pct,hazardous,available_from,available_to,schedule,price_eur_per_unit,precision,"
    "description"
)


def write_file(path: Path, rows: int, seed: int = 7) -> None:
    """About five flows per site and two sites per organisation, as in a regional register."""
    rng = random.Random(seed)
    centres = [(55.6 + rng.uniform(-5, 5), 11.0 + rng.uniform(-8, 8)) for _ in range(300)]
    sites: dict[int, tuple[float, float]] = {}
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(rows):
            site = i // 5
            org = site // 2
            if site not in sites:
                lat, lon = centres[org % len(centres)]
                sites[site] = (lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05))
            lat, lon = sites[site]
            direction, resource, ewc, unit = RESOURCES[rng.randrange(len(RESOURCES))]
            f.write(
                f"Company {org},Site {site % 2},{lat:.5f},{lon:.5f},DK,23.51,{direction},{resource},,{ewc},"
                f"{rng.randint(1, 50000)},{unit},{rng.choice(['', '85', '120'])},,,,,,24/7,"
                f"{rng.choice(['', '-5', '12.5'])},{rng.choice(['rough', 'estimated', 'measured'])},row {i}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="20000,100000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size, each on a fresh database; best reported")
    parser.add_argument("--sequential", action="store_true", help="parse in this process (no second process)")
    args = parser.parse_args()

    from turash.audit.service import install_audit_listener
    from turash.ingestion.service import import_flows
    from turash.kit import migrations
    from turash.kit.db import make_engine, session_factory

    mode = "sequential" if args.sequential else "parallel when worth it"
    print(f"import flows on SQLite, parsing {mode}; best of {args.repeat} runs, each on a fresh database")
    print(f"{'rows':>9} {'import s':>9} {'rows/s':>9} {'re-import s':>12} {'rows/s':>9}   all runs (import s)")
    for rows in (int(r) for r in args.rows.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "flows.csv"
            write_file(path, rows)
            firsts, seconds = [], []
            for attempt in range(args.repeat):
                url = f"sqlite:///{tmp}/bench{attempt}.db"
                migrations.upgrade(url)
                install_audit_listener()
                engine = make_engine(url)
                results = []
                for _ in range(2):
                    session = session_factory(engine)()
                    start = time.perf_counter()
                    report = import_flows(
                        session, path, checkpoint=session.commit, parallel=False if args.sequential else None
                    )
                    session.commit()
                    results.append(time.perf_counter() - start)
                    session.close()
                    assert report.quarantined == 0, report.problems[:3]
                assert report.skipped == rows, "the re-import must find every row already present"
                engine.dispose()
                firsts.append(results[0])
                seconds.append(results[1])
            first, second = min(firsts), min(seconds)
            runs = ", ".join(f"{t:.2f}" for t in firsts)
            print(f"{rows:>9,} {first:>9.2f} {rows / first:>9,.0f} {second:>12.2f} {rows / second:>9,.0f}   {runs}")


if __name__ == "__main__":
    main()
