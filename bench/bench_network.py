"""The network analysis at 100k nodes, on SYNTHETIC data (fixed seed; no real organisations).

The synthetic register: organisations grouped around park centres spread over a 20° × 13° box of Europe (a
Gaussian of ~3 km around each centre, a tenth of them scattered), with one or two sites each, flows (supplies and
demands, some with yearly amounts), service offerings, stored matches between supplies and demands of the same
park (a few per demand, random scores), long-distance matches for 5 % of the demands, and exchanges
(agreed/implemented proposals) on 3 % of the matches. Node counts: organisations + sites + flows + services = `--nodes`.

Times, each printed:
- building the graph from the columns in memory (turash.network.graph.build);
- writing the same register into a fresh SQLite database (migrated schema; not timed as part of the network),
  then reading it back and building (turash.network.repository.load + build), at `--db-nodes` (default: the
  same size);
- centrality (weighted degree + rustworkx betweenness), candidate parks (components + Louvain), resilience of
  the top anchor and of random organisations, and the map view of one park's box;
- memory: the resident size the in-memory graph adds, and the process's peak resident size.

    python bench/bench_network.py [--nodes 100000] [--db-nodes 100000] [--seed 42]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from turash.kit.geo import BBox  # noqa: E402
from turash.network import graph, service  # noqa: E402
from turash.network.graph import Tables  # noqa: E402

CATEGORIES = ("heat", "steam", "water", "material", "gas")
KINDS = ("energy", "energy", "volume", "mass", "mass")


def synthetic(nodes: int, seed: int) -> tuple[Tables, dict[str, Any]]:
    """A SYNTHETIC register of about `nodes` nodes: 10 % organisations, 12 % sites, 70 % flows, 8 % services."""
    rng = np.random.default_rng(seed)
    n_org = nodes // 10
    n_site = nodes * 12 // 100
    n_svc = nodes * 8 // 100
    n_flow = nodes - n_org - n_site - n_svc
    n_park = max(1, n_org // 25)
    park_lat = rng.uniform(45, 58, n_park)
    park_lon = rng.uniform(0, 20, n_park)
    park = rng.integers(0, n_park, n_org)
    scattered = rng.random(n_org) < 0.1
    org_lat = np.where(scattered, rng.uniform(45, 58, n_org), park_lat[park] + rng.normal(0, 0.027, n_org))
    org_lon = np.where(scattered, rng.uniform(0, 20, n_org), park_lon[park] + rng.normal(0, 0.045, n_org))
    org_ids = [f"o{i:031d}" for i in range(n_org)]
    site_org = np.concatenate([np.arange(n_org), rng.integers(0, n_org, n_site - n_org)])
    site_lat = org_lat[site_org] + rng.normal(0, 0.005, n_site)
    site_lon = org_lon[site_org] + rng.normal(0, 0.008, n_site)
    flow_site = rng.integers(0, n_site, n_flow)
    flow_org = site_org[flow_site]
    supply = rng.random(n_flow) < 0.5
    category = rng.integers(0, len(CATEGORIES), n_flow)
    has_amount = rng.random(n_flow) < 0.6
    amount = rng.lognormal(8, 1.5, n_flow)
    # matches: each demand, up to 3 supplies of its category in the same park (scattered orgs: none)
    flow_park = np.where(scattered[flow_org], -1, park[flow_org])
    key = flow_park * len(CATEGORIES) + category
    supplies = np.flatnonzero(supply & (flow_park >= 0))
    order = supplies[np.argsort(key[supplies], kind="stable")]
    sorted_keys = key[order]
    m_s: list[int] = []
    m_d: list[int] = []
    for d in np.flatnonzero(~supply & (flow_park >= 0)).tolist():
        lo, hi = np.searchsorted(sorted_keys, key[d]), np.searchsorted(sorted_keys, key[d], side="right")
        if hi <= lo:
            continue
        for s in rng.choice(order[lo:hi], size=min(3, hi - lo), replace=False).tolist():
            if flow_org[s] != flow_org[d]:
                m_s.append(s)
                m_d.append(d)
    # and long-distance matches (a cement works taking fly ash from 200 km away): a supply of another park for 5 %
    # of the demands, joining the parks into one connected network (exact betweenness then spans all of it)
    far = np.flatnonzero(~supply & (flow_park >= 0) & (rng.random(n_flow) < 0.05))
    for d in far.tolist():
        s = int(rng.choice(supplies))
        if flow_park[s] != flow_park[d]:
            m_s.append(s)
            m_d.append(d)
    n_match = len(m_s)
    score = rng.uniform(0.2, 1.0, n_match)
    exchanged = np.flatnonzero(rng.random(n_match) < 0.03)
    flow_ids = [f"f{i:031d}" for i in range(n_flow)]
    site_ids = [f"s{i:031d}" for i in range(n_site)]
    svc_ids = [f"v{i:031d}" for i in range(n_svc)]
    svc_org = rng.integers(0, n_org, n_svc)
    km = graph.haversine_km(
        site_lat[flow_site[m_s]], site_lon[flow_site[m_s]], site_lat[flow_site[m_d]], site_lon[flow_site[m_d]]
    )
    co2 = rng.uniform(0, 500, n_match)
    tables = Tables(
        org_id=org_ids,
        org_name=[f"Synthetic organisation {i}" for i in range(n_org)],
        org_nace=["20.14"] * n_org,
        org_public=[False] * n_org,
        site_id=site_ids,
        site_org=[org_ids[o] for o in site_org.tolist()],
        site_name=[f"Synthetic site {i}" for i in range(n_site)],
        site_lat=site_lat.tolist(),
        site_lon=site_lon.tolist(),
        site_nace=[None] * n_site,
        flow_id=flow_ids,
        flow_org=[org_ids[o] for o in flow_org.tolist()],
        flow_site=[site_ids[s] for s in flow_site.tolist()],
        flow_direction=["supply" if s else "demand" for s in supply.tolist()],
        flow_resource=[f"synthetic {CATEGORIES[c]}" for c in category.tolist()],
        flow_class=[None] * n_flow,
        flow_category=[CATEGORIES[c] for c in category.tolist()],
        flow_amount=[float(a) if h else None for a, h in zip(amount.tolist(), has_amount.tolist(), strict=True)],
        flow_amount_kind=[KINDS[c] if h else None for c, h in zip(category.tolist(), has_amount.tolist(), strict=True)],
        service_id=svc_ids,
        service_org=[org_ids[o] for o in svc_org.tolist()],
        service_name=[f"Synthetic service {i}" for i in range(n_svc)],
        service_kind=["transport"] * n_svc,
        service_lat=[None] * n_svc,
        service_lon=[None] * n_svc,
        match_id=[f"m{flow_ids[s]}{flow_ids[d]}" for s, d in zip(m_s, m_d, strict=True)],
        match_supply=[flow_ids[s] for s in m_s],
        match_demand=[flow_ids[d] for d in m_d],
        match_score=score.tolist(),
        match_distance_km=km.tolist(),
        match_co2=co2.tolist(),
        exchange_id=[f"p{i:031d}" for i in range(exchanged.size)],
        exchange_supply=[flow_ids[m_s[i]] for i in exchanged.tolist()],
        exchange_demand=[flow_ids[m_d[i]] for i in exchanged.tolist()],
        exchange_supply_org=[org_ids[flow_org[m_s[i]]] for i in exchanged.tolist()],
        exchange_demand_org=[org_ids[flow_org[m_d[i]]] for i in exchanged.tolist()],
        exchange_status=["implemented"] * exchanged.size,
        exchange_co2=co2[exchanged].tolist(),
    )
    park_box = BBox(park_lon[0] - 0.15, park_lat[0] - 0.1, park_lon[0] + 0.15, park_lat[0] + 0.1)
    return tables, {"parks": n_park, "matches": n_match, "exchanges": int(exchanged.size), "box": park_box}


def write_sqlite(t: Tables, path: Path) -> tuple[str, float]:
    """The synthetic register into a migrated SQLite database (bulk inserts), for the read-back timing."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from turash.kit import migrations
    from turash.kit.bulk import insert_rows
    from turash.kit.db import make_engine
    from turash.models import MatchRecord, Organization, Proposal, ResourceFlow, ServiceOffering, Site

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(connection=conn)
    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now}
    start = time.perf_counter()
    si = {"mass": 1000.0 / (365.25 * 86400), "energy": 3.6e12 / (365.25 * 86400), "volume": 1 / (365.25 * 86400)}
    rate = {"mass": "mass_rate", "energy": "power", "volume": "volume_rate"}
    with Session(engine) as session:
        insert_rows(
            session,
            Organization.__table__,
            [
                {
                    "id": o,
                    "name": n,
                    "name_key": n.lower(),
                    "kind": "sme",
                    "nace": c,
                    "source": "user",
                    "attributes": {},
                    **stamp,
                }
                for o, n, c in zip(t.org_id, t.org_name, t.org_nace, strict=True)
            ],
        )
        insert_rows(
            session,
            Site.__table__,
            [
                {
                    "id": s,
                    "organization_id": o,
                    "name": n,
                    "name_key": n.lower(),
                    "lat": la,
                    "lon": lo,
                    "permits": {},
                    "source": "user",
                    "attributes": {},
                    **stamp,
                }
                for s, o, n, la, lo in zip(t.site_id, t.site_org, t.site_name, t.site_lat, t.site_lon, strict=True)
            ],
        )
        insert_rows(
            session,
            ResourceFlow.__table__,
            [
                {
                    "id": f,
                    "organization_id": o,
                    "site_id": s,
                    "direction": d,
                    "resource": r,
                    "category": c,
                    "resource_classes": [],
                    "precision": "estimated",
                    "attributes": {},
                    "inferred": False,
                    "source": "api",
                    "fingerprint": f,
                    "quantity_si": None if a is None or k is None else a * si[k],
                    "quantity_kind": None if k is None else rate[k],
                    **stamp,
                }
                for f, o, s, d, r, c, a, k in zip(
                    t.flow_id,
                    t.flow_org,
                    t.flow_site,
                    t.flow_direction,
                    t.flow_resource,
                    t.flow_category,
                    t.flow_amount,
                    t.flow_amount_kind,
                    strict=True,
                )
            ],
        )
        insert_rows(
            session,
            ServiceOffering.__table__,
            [
                {
                    "id": v,
                    "organization_id": o,
                    "kind": k,
                    "name": n,
                    "resources": [],
                    "ewc_codes": [],
                    "countries": [],
                    "attributes": {},
                    **stamp,
                }
                for v, o, k, n in zip(t.service_id, t.service_org, t.service_kind, t.service_name, strict=True)
            ],
        )
        insert_rows(
            session,
            MatchRecord.__table__,
            [
                {
                    "id": m,
                    "supply_flow_id": s,
                    "demand_flow_id": d,
                    "score": sc,
                    "scores": {},
                    "distance_km": km,
                    "economics": {"co2_avoided_t_per_year": c},
                    "explanation": "synthetic",
                    "route": "automated",
                    "details": {},
                    "inputs_version": "synthetic",
                    "computed_at": now,
                }
                for m, s, d, sc, km, c in zip(
                    t.match_id,
                    t.match_supply,
                    t.match_demand,
                    t.match_score,
                    t.match_distance_km,
                    t.match_co2,
                    strict=True,
                )
            ],
        )
        insert_rows(
            session,
            Proposal.__table__,
            [
                {
                    "id": p,
                    "match_id": f"m{s}{d}",
                    "supply_flow_id": s,
                    "demand_flow_id": d,
                    "proposer_org_id": so,
                    "receiver_org_id": do,
                    "status": st,
                    "snapshot": {"economics": {"co2_avoided_t_per_year": c}},
                    **stamp,
                }
                for p, s, d, so, do, st, c in zip(
                    t.exchange_id,
                    t.exchange_supply,
                    t.exchange_demand,
                    t.exchange_supply_org,
                    t.exchange_demand_org,
                    t.exchange_status,
                    t.exchange_co2,
                    strict=True,
                )
            ],
        )
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(MatchRecord)) == len(t.match_id)
    engine.dispose()
    return url, time.perf_counter() - start


def rss_mib() -> float:
    """The process's current resident size (Linux /proc), MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def timed(label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    print(f"  {label:<46} {time.perf_counter() - start:8.3f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--db-nodes", type=int, default=None, help="size read back from SQLite (default: --nodes)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    t0 = time.perf_counter()
    tables, info = synthetic(args.nodes, args.seed)
    print(
        f"SYNTHETIC network (seed {args.seed}): {args.nodes:,} nodes ({len(tables.org_id):,} organisations, "
        f"{len(tables.site_id):,} sites, {len(tables.flow_id):,} flows, {len(tables.service_id):,} services), "
        f"{info['matches']:,} matches, {info['exchanges']:,} exchanges, {info['parks']:,} park centres "
        f"(generated in {time.perf_counter() - t0:.1f} s)"
    )
    before = rss_mib()
    net = timed("build from arrays", graph.build, tables)
    print(f"  {'edges':<46} {net.edge_count:>10,}")
    print(f"  {'resident memory added by the graph':<46} {rss_mib() - before:8.0f} MiB")
    timed("organisation links (merge per pair)", lambda: net.links)
    c = timed("centrality (strength + rustworkx betweenness)", service.centrality, net)
    ranked = graph.rank(c)
    found = timed("clusters (components + Louvain)", graph.clusters, net)
    sizes = [k.members.size for k in found]
    print(f"  {'candidate parks':<46} {len(found):>10,} (median {int(np.median(sizes)) if sizes else 0} members)")
    split = timed("clusters, groups over 10 divided by Louvain", graph.clusters, net, max_members=10)
    print(f"  {'  candidate parks':<46} {len(split):>10,}")
    top = int(c.org[ranked[0]])
    r = timed("resilience of the top anchor", graph.resilience, net, top)
    print(f"  {'  its dependents':<46} {len(r.dependents):>10,}")
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(net.organizations, size=50, replace=False)
    start = time.perf_counter()
    for org in picks.tolist():
        graph.resilience(net, int(org))
    print(f"  {'resilience, mean of 50 random organisations':<46} {(time.perf_counter() - start) / 50:8.4f} s")
    view = timed("map view of one park's box (no scoping)", service.view, net, service.EVERYTHING, info["box"])
    print(f"  {'  nodes, edges':<46} {view['counts']['nodes']:>10,} {view['counts']['edges']:,}")
    hidden = service.Viewer(frozenset(), b"bench")
    timed("map view of the box, every party undisclosed", service.view, net, hidden, info["box"])
    timed("stats", graph.stats, net)

    db_nodes = args.db_nodes or args.nodes
    db_tables = tables if db_nodes == args.nodes else synthetic(db_nodes, args.seed)[0]
    with tempfile.TemporaryDirectory() as tmp:
        url, seconds = write_sqlite(db_tables, Path(tmp) / "network.db")
        print(f"SQLite at {db_nodes:,} nodes: written in {seconds:.1f} s (bulk inserts, not part of the network)")
        import sqlalchemy as sa  # noqa: F401
        from sqlalchemy.orm import Session

        from turash.kit.db import make_engine
        from turash.network import repository

        engine = make_engine(url)
        with Session(engine) as session:
            loaded = timed("read the tables (repository.load)", repository.load, session)
            built = timed("build from what was read", graph.build, loaded)
            holder: dict[str, Any] = {}
            timed("service.network: version + load + build", service.network, session, holder)
            timed("service.network again (unchanged: cached)", service.network, session, holder)
        engine.dispose()
        assert built.edge_count == graph.build(db_tables).edge_count
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_rss:,.0f} MiB; total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
