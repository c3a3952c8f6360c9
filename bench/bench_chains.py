"""Benchmark of the chain finder (turash/chains/engine.py) on SYNTHETIC data: clustered flows over Europe from
turash.matching.engine.synthetic (fixed seed) and 1,000 synthetic service offerings (fixed seed) placed at supply
sites: heat pumps (80 °C out, 20 km), treatment plants (a few material classes in, at the plant, 60 km),
hauliers (150 km reach) and stores (all year, 30 km). Nothing here is real data.

Prints, per N: index build, eligible (supply, service) pairs, chains for every supply (time, chains found,
chains dropped because the direct exchange serves as well), single-supply query latency p50/p99, and memory
(growth of the process's peak RSS during the all-flows search, and the peak RSS).

    python bench/bench_chains.py [N ...]      # default: 10000 100000, 1000 services; bounded well under 3 min
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

import numpy as np

from turash.chains import engine
from turash.chains.engine import ServiceSpec, Transform
from turash.matching.engine import Category, MatchIndex, MatchParams
from turash.matching.engine.synthetic import synthetic_catalogue, synthetic_flows

SEED = 20261207
N_SERVICES = 1000
QUERIES = 200


def synthetic_services(
    index: MatchIndex, n_classes: int, class_category: np.ndarray, n: int, seed: int = SEED
) -> list[ServiceSpec]:
    """SYNTHETIC service offerings at random supply sites (so they sit in the clusters, as real ones would)."""
    rng = np.random.default_rng(seed)
    fl = index.flows
    supplies = np.flatnonzero(fl.is_supply)
    at = rng.choice(supplies, size=n)
    kinds = rng.choice(["heat_pump", "treatment", "transport", "storage"], size=n, p=[0.3, 0.3, 0.25, 0.15])
    materials = np.flatnonzero(class_category == int(Category.MATERIAL))
    out = []
    for i in range(n):
        lat, lon, kind = float(fl.lat[at[i]]), float(fl.lon[at[i]]), str(kinds[i])
        if kind == "heat_pump":
            tf, radius = Transform(output_temperature_c=80.0, removes_treatment_need=True), 20.0
        elif kind == "treatment":
            taken = frozenset(int(c) for c in rng.choice(materials, size=3, replace=False))
            tf = Transform(input_classes=taken, removes_treatment_need=True, at_plant=True, mass_yield=0.5,
                           output_hazardous=False)  # fmt: skip
            radius = 60.0
        elif kind == "transport":
            tf, radius = Transform(reach_km=150.0), 150.0
        else:
            tf, radius = Transform(all_year=True, at_plant=True), 30.0
        out.append(ServiceSpec(key=i, org=10_000_000 + i, kind=kind, lat=lat, lon=lon, radius_km=radius, transform=tf))
    return out


def _rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int) -> dict[str, float]:
    cat = synthetic_catalogue()
    flows = synthetic_flows(n, cat, seed=SEED)
    t0 = time.perf_counter()
    index = MatchIndex.build(flows, cat.compatibility)
    build = time.perf_counter() - t0
    specs = engine.ServiceIndex.build(
        synthetic_services(index, cat.compatibility.n_classes, cat.class_category, N_SERVICES)
    )
    params = MatchParams(top_k=10)
    # warm-up (numba compiles once per process, or loads its cache)
    engine.find_chains(index, specs, params, supply_rows=np.flatnonzero(index.flows.is_supply)[:50])

    rss_before = _rss_mb()
    t0 = time.perf_counter()
    pairs = engine.eligible(index, specs, params)
    t_pairs = time.perf_counter() - t0
    chains = engine.find_chains(index, specs, params, top_k=5, pairs=pairs)
    t_all = time.perf_counter() - t0
    grown = _rss_mb() - rss_before

    rng = np.random.default_rng(SEED)
    supplies = np.flatnonzero(index.flows.is_supply)
    sample = rng.choice(supplies, size=min(QUERIES, supplies.size), replace=False)
    lat = []
    for row in sample.tolist():
        t = time.perf_counter()
        engine.find_chains(index, specs, params, supply_rows=np.array([row]), top_k=5)
        lat.append(time.perf_counter() - t)
    lat.sort()
    return {
        "n": n,
        "supplies": int(supplies.size),
        "build_s": build,
        "pairs": pairs.n,
        "pairs_s": t_pairs,
        "all_s": t_all,
        "chains": chains.n,
        "dropped_direct": chains.dropped_direct,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "grown_mb": grown,
        "rss_mb": _rss_mb(),
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    print(f"chain finder on SYNTHETIC data (seed {SEED}), {N_SERVICES} synthetic services")
    head = ("N", "supplies", "build s", "pairs", "pairs s", "all-flows s", "chains", "dropped", "query p50 ms",
            "p99 ms", "+peak MB", "peak RSS MB")  # fmt: skip
    widths = (8, 8, 8, 8, 8, 11, 7, 7, 12, 7, 8, 11)
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    for n in sizes:
        r = run(n)
        print(f"{r['n']:>8} {r['supplies']:>8} {r['build_s']:>8.2f} {r['pairs']:>8} {r['pairs_s']:>8.2f} "
              f"{r['all_s']:>11.2f} {r['chains']:>7} {r['dropped_direct']:>7} {r['p50_ms']:>12.2f} "
              f"{r['p99_ms']:>7.2f} {r['grown_mb']:>8.0f} {r['rss_mb']:>11.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
