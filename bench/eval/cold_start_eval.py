"""Cold start on documented exchanges (bench/eval/cases.yaml): the supplier declares only its flow, in its own words,
and its NACE code; every other site is known only by its NACE code. Does the real receiver's sector rank in the top 3?

For each case, a small register is built through the product's own paths: the supplier's flow with `import flows`
(its text and NACE code, no category, no quantity), and a panel of sites with `import sites` (organisation, site,
location and NACE code only; Turash infers their likely flows from the sector profiles, `inferred: true`). The panel
is every sector that appears in the cases, supplier or receiver, except the supplier's own, each once, all at the
same distance from the supplier (a ring of 3 km: inside every category's radius), so that nothing but the sector can
tell them apart. Then the matching runs with inferred flows included (`turash match --include-inferred`), and the
panel sites are ranked by their best match with the supplier's flow. Names are anonymised ("Supplier", "Site 07").

The receiver's sector is a hit at rank k when the site of that NACE code (or, for a case that gives a NACE group
such as `01.1`, of a code in that group) is among the first k sites. Sites with the same NACE code as the receiver
cannot occur twice: the panel holds each code once.

    python bench/eval/cold_start_eval.py [--verbose] [--ring-km 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval.resolve_eval import load_cases  # noqa: E402
from turash.ingestion.service import import_flows, import_sites  # noqa: E402
from turash.kit import migrations  # noqa: E402
from turash.kit.db import make_engine, session_factory  # noqa: E402
from turash.matching import service  # noqa: E402

FLOW_HEADER = ["organization", "site", "lat", "lon", "country", "nace", "direction", "resource", "ewc_code"]
SITE_HEADER = ["organization", "site", "lat", "lon", "country", "nace"]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue().encode()


def _same_sector(code: str | None, receiver: str) -> bool:
    return code is not None and (code == receiver or code.startswith(receiver + "."))


def panel_codes(cases: list[dict[str, Any]]) -> list[str]:
    codes = {c["receiver"]["nace"] for c in cases} | {c["supplier"]["nace"] for c in cases}
    return sorted(codes)


def evaluate_case(case: dict[str, Any], panel: list[str], tmp: Path, template: Path, ring_km: float) -> dict[str, Any]:
    supplier, receiver = case["supplier"], case["receiver"]
    lat, lon = supplier["location"]["lat"], supplier["location"]["lon"]
    country = supplier.get("country", "")
    sites = [code for code in panel if code != supplier["nace"]]
    if not any(_same_sector(code, receiver["nace"]) for code in sites):
        sites.append(receiver["nace"])  # the receiver shares the supplier's sector: it must still be there
    rows = []
    for i, code in enumerate(sites):
        angle = 2 * math.pi * i / len(sites)
        s_lat = lat + ring_km / 111.2 * math.cos(angle)
        s_lon = lon + ring_km / (111.2 * math.cos(math.radians(lat))) * math.sin(angle)
        rows.append([f"Site {i:02d}", "Plant", f"{s_lat:.5f}", f"{s_lon:.5f}", country, code])
    db = tmp / f"{case['id']}.db"
    shutil.copy(template, db)
    engine = make_engine(f"sqlite:///{db}")
    session = session_factory(engine)()
    ewc = case["supply"].get("ewc_code", "")
    flow = ["Supplier", "Plant", f"{lat}", f"{lon}", country, supplier["nace"], "supply", case["supply"]["text"], ewc]
    flows = import_flows(session, "supplier.csv", data=_csv(FLOW_HEADER, [flow]), name="supplier.csv")
    import_sites(session, "panel.csv", data=_csv(SITE_HEADER, rows), name="panel.csv")
    session.flush()
    matches, _ = service.find_matches(
        session, {}, service.MatchRequest(top_k=10, radius_km=50, include_inferred=True)
    )
    session.close()
    engine.dispose()
    code_of = {f"Site {i:02d}": code for i, code in enumerate(sites)}
    ranked: list[str] = []  # panel sites by their best match with the supplier's flow
    for m in sorted((m for m in matches if m["supply"]["organization"] == "Supplier"), key=lambda m: -m["score"]):
        org = m["demand"]["organization"]
        if org in code_of and org not in ranked:
            ranked.append(org)
    codes = [code_of[o] for o in ranked]
    rank = next((i for i, code in enumerate(codes, start=1) if _same_sector(code, receiver["nace"])), None)
    return {"rank": rank, "top": codes[:3], "imported": flows.imported, "panel": len(sites)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--ring-km", type=float, default=3.0)
    args = parser.parse_args()
    cases = load_cases()
    panel = panel_codes(cases)
    tmp = Path(tempfile.mkdtemp())
    template = tmp / "template.db"
    migrations.upgrade(f"sqlite:///{template}")
    hits = {1: 0, 3: 0}
    print(f"{'case':38} {'supplier':>8} {'receiver':>8} {'rank':>5}  top 3 sectors")
    for case in cases:
        result = evaluate_case(case, panel, tmp, template, args.ring_km)
        rank = result["rank"]
        for k in hits:
            hits[k] += rank is not None and rank <= k
        print(
            f"{case['id']:38} {case['supplier']['nace']:>8} {case['receiver']['nace']:>8} {rank or '-':>5}  "
            f"{', '.join(result['top'])}"
        )
    n = len(cases)
    print(f"\n{n} documented exchanges; panel of {len(panel)} sectors (less the supplier's), {args.ring_km:g} km away:")
    for k, value in hits.items():
        print(f"  receiver's sector recall@{k}: {value}/{n} = {value / n:.1%}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
