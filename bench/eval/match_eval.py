"""End-to-end recall of the matching on documented exchanges (bench/eval/cases.yaml), among look-alike decoys.

For each case a small register is built through the real import path (`turash import flows`): the supplier's flow
and the receiver's flow in their own words (with their NACE codes), plus decoys: demands (and supplies) taken from
the other cases, of the same category as the true partner first, so they look alike, all placed at the same distance
as the true partner (a ring around the other side), with no quantities, so distance and size cannot give the answer
away. A decoy needing (or offering) the very same class as the true partner is left out: it would be an equal
alternative, not a look-alike. Then `turash match` runs and we read the rank of the true partner in the supplier's
list (and in the receiver's list). Knowledge lives in resource classes and sectors only: names are anonymised
("Company S", "Company R", "Company D0"...).

    python bench/eval/match_eval.py [--decoys 8] [--verbose]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval.resolve_eval import load_cases  # noqa: E402
from turash.catalog import get_catalog  # noqa: E402
from turash.ingestion.service import import_flows  # noqa: E402
from turash.kit import migrations  # noqa: E402
from turash.kit.db import make_engine, session_factory  # noqa: E402
from turash.kit.geo import haversine_km  # noqa: E402
from turash.matching import service  # noqa: E402

HEADER = ["organization", "site", "lat", "lon", "country", "nace", "direction", "resource"]


def _best(text: str, nace: str | None, direction: str) -> str | None:
    return get_catalog().resolve(text, nace=nace, direction=direction).best


def _category(text: str, nace: str | None, direction: str) -> str | None:
    best = _best(text, nace, direction)
    return get_catalog().get(best).category if best else None


def _ring(lat: float, lon: float, km: float, angle: float) -> tuple[float, float]:
    dlat = km / 111.2 * math.cos(angle)
    dlon = km / (111.2 * math.cos(math.radians(lat))) * math.sin(angle)
    return lat + dlat, lon + dlon


def build_rows(
    case: dict[str, Any], others: list[dict[str, Any]], decoys: int, rng: random.Random
) -> tuple[list[list[str]], str, str]:
    sup, rec = case["supplier"], case["receiver"]
    s_lat, s_lon = sup["location"]["lat"], sup["location"]["lon"]
    r_lat, r_lon = rec["location"]["lat"], rec["location"]["lon"]
    distance = max(1.0, haversine_km(s_lat, s_lon, r_lat, r_lon))
    rows = [
        [
            "Company S",
            "Site",
            f"{s_lat}",
            f"{s_lon}",
            sup.get("country", ""),
            sup.get("nace", ""),
            "supply",
            case["supply"]["text"],
        ]
    ]
    truth_r = _ring(s_lat, s_lon, distance, rng.uniform(0, 2 * math.pi))
    rows.append(
        [
            "Company R",
            "Site",
            f"{truth_r[0]:.5f}",
            f"{truth_r[1]:.5f}",
            rec.get("country", ""),
            rec.get("nace", ""),
            "demand",
            case["demand"]["text"],
        ]
    )
    # Look-alike decoys: same category as the true side first, then any other case's flow.
    d_cat = _category(case["demand"]["text"], rec.get("nace"), "demand")
    s_cat = _category(case["supply"]["text"], sup.get("nace"), "supply")
    # A decoy that needs the very same thing as the true receiver is not a look-alike but an equal alternative (no
    # method could tell them apart from the flows alone): those are left out.
    d_class = _best(case["demand"]["text"], rec.get("nace"), "demand")
    s_class = _best(case["supply"]["text"], sup.get("nace"), "supply")
    demand_pool = sorted(
        (o for o in others if _best(o["demand"]["text"], o["receiver"].get("nace"), "demand") != d_class),
        key=lambda o: (_category(o["demand"]["text"], o["receiver"].get("nace"), "demand") != d_cat, rng.random()),
    )
    supply_pool = sorted(
        (o for o in others if _best(o["supply"]["text"], o["supplier"].get("nace"), "supply") != s_class),
        key=lambda o: (_category(o["supply"]["text"], o["supplier"].get("nace"), "supply") != s_cat, rng.random()),
    )
    for i, other in enumerate(demand_pool[:decoys]):
        lat, lon = _ring(s_lat, s_lon, distance, 2 * math.pi * (i + 1) / (decoys + 1))
        rows.append(
            [
                f"Company D{i}",
                "Site",
                f"{lat:.5f}",
                f"{lon:.5f}",
                other["receiver"].get("country", ""),
                other["receiver"].get("nace", ""),
                "demand",
                other["demand"]["text"],
            ]
        )
    for i, other in enumerate(supply_pool[:decoys]):
        lat, lon = _ring(truth_r[0], truth_r[1], distance, 2 * math.pi * (i + 1) / (decoys + 1))
        rows.append(
            [
                f"Company E{i}",
                "Site",
                f"{lat:.5f}",
                f"{lon:.5f}",
                other["supplier"].get("country", ""),
                other["supplier"].get("nace", ""),
                "supply",
                other["supply"]["text"],
            ]
        )
    return rows, "Company S", "Company R"


def rank_of(matches: list[dict[str, Any]], me: str, side: str, partner: str) -> int | None:
    """1-based rank of `partner` in `me`'s list (matches where `me` is on `side`), None when absent."""
    other = "demand" if side == "supply" else "supply"
    mine = [m for m in matches if m[side]["organization"] == me]
    mine.sort(key=lambda m: -m["score"])
    for position, m in enumerate(mine, start=1):
        if m[other]["organization"] == partner:
            return position
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decoys", type=int, default=8)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    cases = load_cases()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp())
    template = tmp / "template.db"
    migrations.upgrade(f"sqlite:///{template}")
    hits = {"supply@1": 0, "supply@3": 0, "demand@1": 0, "demand@3": 0}
    print(f"{'case':38} {'S→R rank':>9} {'R←S rank':>9}")
    for case in cases:
        rows, me, partner = build_rows(case, [c for c in cases if c["id"] != case["id"]], args.decoys, rng)
        buffer = io.StringIO()
        csv.writer(buffer).writerows([HEADER, *rows])
        db = tmp / f"{case['id']}.db"
        shutil.copy(template, db)
        engine = make_engine(f"sqlite:///{db}")
        session = session_factory(engine)()
        import_flows(session, "case.csv", data=buffer.getvalue().encode(), name="case.csv")
        session.flush()
        matches, _ = service.find_matches(session, {}, service.MatchRequest(top_k=10, radius_km=200))
        session.close()
        engine.dispose()
        s_rank = rank_of(matches, me, "supply", partner)
        d_rank = rank_of(matches, partner, "demand", me)
        hits["supply@1"] += s_rank == 1
        hits["supply@3"] += s_rank is not None and s_rank <= 3
        hits["demand@1"] += d_rank == 1
        hits["demand@3"] += d_rank is not None and d_rank <= 3
        print(f"{case['id']:38} {s_rank or '-':>9} {d_rank or '-':>9}")
        if args.verbose and s_rank != 1:
            for m in sorted((m for m in matches if m["supply"]["organization"] == me), key=lambda m: -m["score"])[:3]:
                print(f"    {m['score']:.3f} {m['demand']['organization']}: {m['demand']['resource']}")
    n = len(cases)
    print(f"\n{n} documented exchanges, {args.decoys} look-alike decoys per side, equidistant:")
    for key, value in hits.items():
        print(f"  recall {key}: {value}/{n} = {value / n:.1%}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
