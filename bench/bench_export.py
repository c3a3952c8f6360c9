"""Bulk export and KPI queries on SYNTHETIC data (fixed seed; no real organisation, site or flow).

Builds a fresh database (SQLite in a temporary folder, or `--database-url` for an empty PostgreSQL database) with
`--flows` synthetic flows (default 100,000) at 1,000 synthetic sites of 100 synthetic organisations spread over
Denmark, `--flows // 5` stored matches and `--flows // 50` proposals in every state with synthetic economics, then
prints, as JSON:
- export: rows/s of `GET /api/v1/export/flows` as the route streams it (turash.export.service.stream), NDJSON and
  CSV, for a member of every organisation, each in a fresh process, with that process's resident memory before the
  export, after its first batch and at its highest later (flat: memory does not grow with the rows sent);
- kpi: seconds of the region KPIs of Denmark (turash.analytics.service.kpis) and of a 12-month time series.

    python bench/bench_export.py [--flows 100000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from turash.analytics import service as analytics  # noqa: E402
from turash.auth.service import Principal  # noqa: E402
from turash.export import service as export  # noqa: E402
from turash.kit import migrations  # noqa: E402
from turash.kit.db import make_engine, session_factory, unit_of_work  # noqa: E402
from turash.kit.units import normalise  # noqa: E402
from turash.matching.repository import match_id  # noqa: E402
from turash.models import (  # noqa: E402
    MatchRecord,
    Membership,
    Organization,
    Proposal,
    ProposalEvent,
    ResourceFlow,
    Site,
    User,
)
from turash.models.base import new_ids  # noqa: E402
from turash.models.proposal import PROPOSAL_STATES  # noqa: E402

SEED = 20261207
# (category, resource, unit, typical quantity): synthetic flows, shaped like the register's
KINDS = (
    ("heat", "synthetic surplus heat", "GWh/yr", 20.0),
    ("material", "synthetic mineral residue", "t/yr", 5000.0),
    ("water", "synthetic process water", "m3/yr", 100000.0),
    ("steam", "synthetic low-pressure steam", "MW", 2.0),
)


def populate(engine: sa.Engine, flows: int) -> Principal:
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    with session_factory(engine)() as s:
        user = User(id=new_ids(1)[0], email="bench@example.org", name="Bench (synthetic)", password_hash="x")  # noqa: S106
        s.add(user)
        org_ids, site_ids = new_ids(100), new_ids(1000)
        s.execute(
            sa.insert(Organization),
            [
                {
                    "id": o,
                    "name": f"Synthetic org {i}",
                    "name_key": f"synthetic org {i}",
                    "country": "DK",
                    "nace": "35.30",
                }
                for i, o in enumerate(org_ids)
            ],
        )
        s.flush()
        s.execute(
            sa.insert(Membership),
            [
                {"id": m, "organization_id": o, "user_id": user.id, "role": "owner"}
                for m, o in zip(new_ids(100), org_ids, strict=True)
            ],
        )
        s.execute(
            sa.insert(Site),
            [
                {
                    "id": site,
                    "organization_id": org_ids[i % 100],
                    "name": f"Synthetic site {i}",
                    "name_key": f"synthetic site {i}",
                    "lat": rng.uniform(54.6, 57.7),
                    "lon": rng.uniform(8.1, 12.6),
                    "country": "DK",
                }
                for i, site in enumerate(site_ids)
            ],
        )
        flow_ids = new_ids(flows)
        for start in range(0, flows, 10_000):
            rows = []
            for i in range(start, min(flows, start + 10_000)):
                category, resource, unit, typical = KINDS[i % len(KINDS)]
                quantity = round(typical * rng.uniform(0.2, 3.0), 2)
                q = normalise(quantity, unit)
                site = rng.randrange(1000)
                rows.append(
                    {
                        "id": flow_ids[i],
                        "organization_id": org_ids[site % 100],
                        "site_id": site_ids[site],
                        "direction": "supply" if i % 2 == 0 else "demand",
                        "resource": f"{resource} {i}",
                        "category": category,
                        "quantity": quantity,
                        "unit": unit,
                        "quantity_kind": q.kind.value,
                        "quantity_si": q.si_value,
                        "si_unit": q.si_unit,
                        "fingerprint": f"synthetic-{i}",
                        "created_at": now - timedelta(days=rng.randrange(365)),
                    }
                )
            s.execute(sa.insert(ResourceFlow), rows)
        matches = []
        for _ in range(flows // 5):
            sup = rng.randrange(0, flows - 1, 2)
            dem = rng.randrange(1, flows, 2)
            matches.append((flow_ids[sup], flow_ids[dem]))
        matches = list(dict.fromkeys(matches))
        s.execute(
            sa.insert(MatchRecord),
            [
                {
                    "id": match_id(a, b),
                    "supply_flow_id": a,
                    "demand_flow_id": b,
                    "score": rng.random(),
                    "distance_km": rng.uniform(0.5, 40),
                    "explanation": "synthetic",
                    "route": rng.choice(("automated", "facilitated")),
                    "inputs_version": "synthetic",
                    "economics": {"npv_eur": rng.uniform(-1e5, 2e6), "co2_avoided_t_per_year": rng.uniform(0, 5000)},
                    "computed_at": now - timedelta(days=rng.randrange(365)),
                }
                for a, b in matches
            ],
        )
        proposals, events = [], []
        for pid, (a, b) in zip(new_ids(flows // 50), matches[: flows // 50], strict=False):
            status = rng.choice(PROPOSAL_STATES)
            created = now - timedelta(days=rng.randrange(365))
            proposals.append(
                {
                    "id": pid,
                    "match_id": match_id(a, b),
                    "supply_flow_id": a,
                    "demand_flow_id": b,
                    "proposer_org_id": org_ids[rng.randrange(100)],
                    "receiver_org_id": org_ids[rng.randrange(100)],
                    "status": status,
                    "created_at": created,
                    "updated_at": created,
                    "snapshot": {
                        "economics": {"npv_eur": rng.uniform(0, 2e6), "co2_avoided_t_per_year": rng.uniform(0, 5e3)},
                        "_orgs": {},
                    },
                }
            )
            if status in ("agreed", "implemented"):
                events.append(
                    {
                        "id": new_ids(1)[0],
                        "proposal_id": pid,
                        "at": created + timedelta(days=30),
                        "actor": "bench",
                        "kind": "status",
                        "to_status": "agreed",
                    }
                )
        s.execute(sa.insert(Proposal), proposals)
        if events:
            s.execute(sa.insert(ProposalEvent), events)
        s.commit()
        s.refresh(user)
        s.expunge(user)
    return Principal(user=user, via="jwt")


def _rss_mb() -> float:
    """Resident set size now (Linux /proc), MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _export_in_child(url: str, user_id: str, fmt: str, results: Any) -> None:
    """One export, in a fresh process: its time, and its resident memory before, after the first batch and at its
    highest later (sampled every 10 batches; ru_maxrss would report the parent's, inherited across exec)."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        user = s.get(User, user_id)
        assert user is not None
        prepared = export.prepare(s, Principal(user=user, via="jwt"), "flows", None)
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    chunks = size = 0
    first = last_max = 0.0
    for chunk in export.stream(lambda: unit_of_work(engine), prepared, fmt):
        chunks += 1
        size += len(chunk)
        if chunks == 2:  # the header (CSV) or first batch is out: the database has its cursor open
            first = _rss_mb()
        elif chunks % 10 == 0:
            last_max = max(last_max, _rss_mb())
    seconds = time.perf_counter() - started
    engine.dispose()
    results.put(
        {
            "seconds": seconds,
            "chunks": chunks,
            "bytes": size,
            "rss_before_mb": before,
            "rss_at_start_mb": first,
            "rss_later_max_mb": last_max,
        }
    )


def measure_export(url: str, principal: Principal, flows: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = {}
    for fmt in ("ndjson", "csv"):
        results = ctx.Queue()
        child = ctx.Process(target=_export_in_child, args=(url, principal.user.id, fmt, results))
        child.start()
        r = results.get(timeout=300)
        child.join()
        out[fmt] = {
            "rows": flows,
            "seconds": round(r["seconds"], 2),
            "rows_per_s": round(flows / r["seconds"]),
            "mb_written": round(r["bytes"] / 1e6, 1),
            "chunks": r["chunks"],
            "rss_before_mb": round(r["rss_before_mb"], 1),
            # flat after the first batch: memory does not grow with the rows sent
            "rss_after_first_batch_mb": round(r["rss_at_start_mb"], 1),
            "rss_max_later_mb": round(r["rss_later_max_mb"], 1),
        }
    return out


def measure_kpis(engine: sa.Engine) -> dict[str, Any]:
    scope = analytics.region_scope("DK", None)
    with session_factory(engine)() as s:
        started = time.perf_counter()
        kpis = analytics.kpis(s, scope, analytics.SYSTEM)
        kpi_s = time.perf_counter() - started
        started = time.perf_counter()
        analytics.timeseries(s, scope, analytics.SYSTEM, None, date.today())
        series_s = time.perf_counter() - started
    return {
        "region_kpis_s": round(kpi_s, 3),
        "timeseries_12_months_s": round(series_s, 3),
        "flows_listed": kpis["flows"]["listed"],
        "matches_found": kpis["matches"]["found"],
        "proposals": kpis["proposals"]["total"],
        "exchanges": kpis["exchanged"]["exchanges"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="an EMPTY database; default: SQLite in a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        with engine.begin() as conn:
            migrations.upgrade(connection=conn)
        started = time.perf_counter()
        principal = populate(engine, args.flows)
        setup = time.perf_counter() - started
        result = {
            "data": "synthetic (fixed seed), not real organisations",
            "backend": engine.dialect.name,
            "flows": args.flows,
            "setup_s": round(setup, 1),
            "export": measure_export(url, principal, args.flows),
            "kpi": measure_kpis(engine),
        }
        engine.dispose()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
