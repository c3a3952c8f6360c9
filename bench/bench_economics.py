"""Benchmark of the economics module: business cases per second for 100k matches (vectorised path) and the
latency of one full case (with Monte Carlo, tornado, price band and risk).

    python bench/bench_economics.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from turash.economics import ExchangeCase, evaluate, evaluate_many, rows_from_cases

MWH = 3.6e9
TEMPLATES = [
    ExchangeCase(category="heat", annual_quantity=20e3 * MWH, quantity_kind="energy", distance_km=2.0,
                 supply_class="heat_70_100c", demand_class="district_heating_heat"),
    ExchangeCase(category="heat", annual_quantity=50e3 * MWH, quantity_kind="energy", distance_km=1.0,
                 supply_class="data_centre_heat", demand_class="district_heating_heat"),
    ExchangeCase(category="steam", annual_quantity=30e3 * MWH, quantity_kind="energy", distance_km=1.5,
                 supply_class="mp_steam", demand_class="steam"),
    ExchangeCase(category="water", annual_quantity=5e5, quantity_kind="volume", distance_km=4.0,
                 supply_class="treated_wastewater", demand_class="process_water"),
    ExchangeCase(category="gas", annual_quantity=50e6, quantity_kind="mass", distance_km=8.0,
                 supply_class="fermentation_co2", demand_class="greenhouse_co2"),
    ExchangeCase(category="energy", annual_quantity=10e3 * MWH, quantity_kind="energy", distance_km=2.0,
                 supply_class="lng_cold", demand_class="cooling_energy"),
    ExchangeCase(category="material", annual_quantity=30e6, quantity_kind="mass", distance_km=40.0,
                 supply_class="coal_fly_ash", demand_class="supplementary_cementitious_material"),
    ExchangeCase(category="material", annual_quantity=8e6, quantity_kind="mass", distance_km=25.0,
                 supply_class="brewers_spent_grain", demand_class="animal_feed"),
    ExchangeCase(category="material", annual_quantity=60e6, quantity_kind="mass", distance_km=60.0,
                 supply_class="fgd_gypsum", demand_class="plasterboard_raw_material"),
]
COUNTRIES = ["DK", "DE", "SE", "NL", "FR", "BE", None]


def make_cases(n: int, seed: int = 7) -> list[ExchangeCase]:
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, len(TEMPLATES), n)
    scale = rng.lognormal(0.0, 0.8, n)
    dist = rng.uniform(0.0, 1.0, n)
    country = rng.integers(0, len(COUNTRIES), n)
    out = []
    for i in range(n):
        t = TEMPLATES[int(kinds[i])]
        assert t.annual_quantity is not None and t.distance_km is not None
        out.append(ExchangeCase(
            category=t.category, annual_quantity=t.annual_quantity * float(scale[i]), quantity_kind=t.quantity_kind,
            distance_km=t.distance_km * 2.0 * float(dist[i]), supply_class=t.supply_class,
            demand_class=t.demand_class, country=COUNTRIES[int(country[i])]))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    cases = make_cases(n)
    evaluate_many(cases[:100])  # warm up: data files, catalogue

    t0 = time.perf_counter()
    rows = rows_from_cases(cases)
    t1 = time.perf_counter()
    result = evaluate_many(rows)
    t2 = time.perf_counter()
    full = evaluate_many(cases)
    t3 = time.perf_counter()
    finite = int(np.isfinite(result["npv"]).sum())
    assert np.array_equal(np.nan_to_num(result["npv"]), np.nan_to_num(full["npv"]))
    print(f"economics batch: {n:,} matches")
    print(f"  resolve (catalogue, country tables) {t1 - t0:8.3f} s  {n / (t1 - t0):12,.0f} cases/s")
    print(f"  vectorised compute                  {t2 - t1:8.3f} s  {n / (t2 - t1):12,.0f} cases/s")
    print(f"  evaluate_many end to end            {t3 - t2:8.3f} s  {n / (t3 - t2):12,.0f} cases/s")
    print(f"  computable: {finite:,}; median NPV {np.nanmedian(result['npv']):,.0f} EUR")

    single = []
    for case in TEMPLATES:
        evaluate(case)
        for _ in range(50):
            s = time.perf_counter()
            evaluate(case)
            single.append(time.perf_counter() - s)
    single.sort()
    p95 = single[int(0.95 * len(single))]
    print(f"single case with Monte Carlo (1000 samples) + tornado + risk: "
          f"median {statistics.median(single) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms (target < 5 ms)")


if __name__ == "__main__":
    main()
