"""Synthetic flows and catalogue for benchmarks and tests (fixed seed, no external data).

Industrial sites sit in clusters (industrial parks, ports) scattered over Europe, each cluster a Gaussian a few
km wide, plus a thin background of isolated sites. A cluster holds about `flows_per_cluster` flows, so the
number of clusters grows with N (a few hundred at 1M) and the density around a site stays constant: the work
per flow does not depend on N, which is what lets the engine's cost grow linearly.
Each site is one organisation with a handful of flows. Classes follow a Zipf-like frequency (a few common
classes such as waste heat or wastewater, a long tail of specific materials); compatibility is sparse: a
class fits itself and one to three related classes of the same category, with conditions on some pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from turash.matching.engine.types import (
    ALL_YEAR,
    OPEN_END,
    OPEN_START,
    Category,
    Compatibility,
    FlowArrays,
    QuantityKind,
)

# How many of 150 classes belong to each category (heat, steam, water, material, gas, energy, service).
_CATEGORY_SHARE = (16, 6, 16, 80, 14, 6, 12)
WINTER = 0b111000001111  # Oct-Apr
SUMMER = 0b000111110000  # May-Sep
EUROPE_LAT = (36.0, 60.0)
EUROPE_LON = (-9.0, 28.0)


@dataclass(frozen=True)
class SyntheticCatalogue:
    compatibility: Compatibility
    class_category: np.ndarray  # int8 per class
    class_frequency: np.ndarray  # float64 per class, sums to 1


def synthetic_catalogue(n_classes: int = 150, seed: int = 7) -> SyntheticCatalogue:
    rng = np.random.default_rng(seed)
    share = np.asarray(_CATEGORY_SHARE, np.float64)
    counts = np.maximum(1, np.floor(share / share.sum() * n_classes)).astype(int)
    counts[3] += n_classes - counts.sum()
    class_category = np.repeat(np.arange(len(counts), dtype=np.int8), counts)
    freq = 1.0 / np.arange(1, n_classes + 1) ** 0.8
    freq = freq[rng.permutation(n_classes)]
    freq /= freq.sum()

    rows: list[int] = []
    cols: list[int] = []
    fits: list[float] = []
    min_t: list[float] = []
    min_p: list[float] = []
    min_pr: list[float] = []
    treat: list[bool] = []
    for c in range(n_classes):
        cat = int(class_category[c])
        same = np.flatnonzero(class_category == cat)
        targets: dict[int, float] = {}
        if rng.random() < 0.85:
            targets[c] = 1.0
        others = same[same != c]
        k = min(len(others), 1 + int(rng.integers(0, 3)))
        for t in rng.choice(others, size=k, replace=False) if k else []:
            targets[int(t)] = float(rng.uniform(0.3, 0.9))
        if not targets:
            targets[c] = 1.0
        for t, f in sorted(targets.items()):
            rows.append(c)
            cols.append(t)
            fits.append(f)
            min_t.append(float(rng.uniform(60, 120)) if cat == Category.HEAT and rng.random() < 0.2 else math.nan)
            min_p.append(float(rng.uniform(70, 95)) if cat == Category.MATERIAL and rng.random() < 0.2 else math.nan)
            min_pr.append(float(rng.uniform(3, 10)) if cat == Category.STEAM and rng.random() < 0.5 else math.nan)
            treat.append(bool(cat in (Category.MATERIAL, Category.WATER) and t != c and rng.random() < 0.2))
    import scipy.sparse as sp

    m = sp.coo_matrix((np.asarray(fits, np.float32), (rows, cols)), shape=(n_classes, n_classes))
    compat = Compatibility.from_csr(
        m, min_temperature_c=min_t, min_purity_pct=min_p, min_pressure_bar=min_pr, needs_treatment=treat
    )
    return SyntheticCatalogue(compat, class_category, freq)


def synthetic_flows(
    n: int,
    catalogue: SyntheticCatalogue,
    seed: int = 42,
    *,
    flows_per_cluster: int = 2500,
    cluster_sigma_km: tuple[float, float] = (1.5, 4.0),
    background: float = 0.05,
    multi_class_share: float = 0.1,
    inferred_share: float = 0.1,
) -> FlowArrays:
    """n flows, about half supply and half demand, in clustered sites over Europe."""
    rng = np.random.default_rng(seed)
    n_classes = catalogue.class_frequency.shape[0]
    # Sites: ~4 flows each; a site is one organisation.
    n_sites = max(1, n // 4)
    n_clusters = max(1, round(n / flows_per_cluster))
    weight = rng.lognormal(0.0, 0.6, n_clusters)
    weight /= weight.sum()
    cluster = rng.choice(n_clusters, size=n_sites, p=weight)
    c_lat = rng.uniform(*EUROPE_LAT, n_clusters)
    c_lon = rng.uniform(*EUROPE_LON, n_clusters)
    sigma = rng.uniform(*cluster_sigma_km, n_clusters)
    km_lat = 111.2
    s_lat = c_lat[cluster] + rng.normal(0, 1, n_sites) * sigma[cluster] / km_lat
    s_lon = c_lon[cluster] + rng.normal(0, 1, n_sites) * sigma[cluster] / (km_lat * np.cos(np.radians(s_lat)))
    lone = rng.random(n_sites) < background
    s_lat[lone] = rng.uniform(*EUROPE_LAT, int(lone.sum()))
    s_lon[lone] = rng.uniform(*EUROPE_LON, int(lone.sum()))

    site = np.sort(rng.integers(0, n_sites, n))
    site[: min(n, n_sites)] = np.arange(min(n, n_sites))  # every site has a flow
    site.sort()
    lat = np.clip(s_lat[site], -90, 90)
    lon = np.clip(s_lon[site], -180, 180)
    is_supply = rng.random(n) < 0.5
    cls = rng.choice(n_classes, size=n, p=catalogue.class_frequency).astype(np.int32)
    category = catalogue.class_category[cls].astype(np.int8)

    # A few flows resolve to two classes of the same category (0.7 / 0.3).
    multi = rng.random(n) < multi_class_share
    indptr = np.zeros(n + 1, np.int32)
    np.cumsum(1 + multi.astype(np.int32), out=indptr[1:])
    class_index = np.empty(int(indptr[-1]), np.int32)
    class_weight = np.ones(int(indptr[-1]), np.float32)
    class_index[indptr[:-1]] = cls
    second = indptr[:-1][multi] + 1
    by_cat = [np.flatnonzero(catalogue.class_category == c) for c in range(len(Category))]
    alt = np.array([rng.choice(by_cat[int(c)]) for c in category[multi]], dtype=np.int32)
    class_index[second] = alt
    class_weight[second - 1] = 0.7
    class_weight[second] = 0.3
    dup = class_index[second] == class_index[second - 1]
    class_weight[second[dup] - 1] = 1.0
    if dup.any():  # the same class twice is one class
        keep = np.ones(class_index.shape[0], np.bool_)
        keep[second[dup]] = False
        counts = np.diff(indptr) - np.isin(np.arange(n), np.flatnonzero(multi)[dup])
        class_index, class_weight = class_index[keep], class_weight[keep]
        indptr = np.zeros(n + 1, np.int32)
        np.cumsum(counts, out=indptr[1:])

    # Quantities (SI) by category; 15 % unknown.
    quantity = np.full(n, np.nan)
    kind = np.full(n, QuantityKind.UNKNOWN, np.int8)
    spec = {
        Category.HEAT: (QuantityKind.POWER, 2e6, 1.2),
        Category.STEAM: (QuantityKind.MASS_RATE, 2.0, 1.0),
        Category.WATER: (QuantityKind.VOLUME_RATE, 0.01, 1.2),
        Category.MATERIAL: (QuantityKind.MASS, 5e6, 1.5),
        Category.GAS: (QuantityKind.MASS_RATE, 0.3, 1.2),
        Category.ENERGY: (QuantityKind.POWER, 1e6, 1.2),
    }
    for c, (k, median, s) in spec.items():
        m = category == c
        quantity[m] = median * rng.lognormal(0.0, s, int(m.sum()))
        kind[m] = k
    unknown_q = rng.random(n) < 0.15
    quantity[unknown_q] = np.nan
    kind[unknown_q] = QuantityKind.UNKNOWN

    temperature = np.full(n, np.nan)
    heat = category == Category.HEAT
    steam = category == Category.STEAM
    temperature[heat & is_supply] = rng.uniform(40, 250, int((heat & is_supply).sum()))
    temperature[heat & ~is_supply] = rng.uniform(40, 120, int((heat & ~is_supply).sum()))
    temperature[steam & is_supply] = rng.uniform(150, 300, int((steam & is_supply).sum()))
    temperature[steam & ~is_supply] = rng.uniform(120, 200, int((steam & ~is_supply).sum()))
    temperature[rng.random(n) < 0.2] = np.nan
    pressure = np.full(n, np.nan)
    pressure[steam & is_supply] = rng.uniform(3, 40, int((steam & is_supply).sum()))
    pressure[steam & ~is_supply] = rng.uniform(2, 20, int((steam & ~is_supply).sum()))
    purity = np.full(n, np.nan)
    mat = category == Category.MATERIAL
    ms, md = mat & is_supply & (rng.random(n) < 0.5), mat & ~is_supply & (rng.random(n) < 0.5)
    purity[ms] = rng.uniform(60, 99.9, int(ms.sum()))
    purity[md] = rng.uniform(50, 95, int(md.sum()))

    hazardous = mat & is_supply & (rng.random(n) < 0.08)
    permit = mat & ~is_supply & (rng.random(n) < 0.10)

    available_from = np.full(n, OPEN_START, np.int32)
    available_to = np.full(n, OPEN_END, np.int32)
    win = rng.random(n) < 0.25
    start = 19000 + rng.integers(0, 2000, int(win.sum()))
    available_from[win] = start
    available_to[win] = start + rng.integers(180, 3650, int(win.sum()))

    u = rng.random(n)
    month_mask = np.full(n, ALL_YEAR, np.uint16)
    month_mask[(u > 0.75) & (u <= 0.87)] = WINTER
    month_mask[(u > 0.87) & (u <= 0.95)] = SUMMER
    rnd = u > 0.95
    month_mask[rnd] = rng.integers(1, 1 << 12, int(rnd.sum())).astype(np.uint16)
    weekly_hours = rng.choice(np.array([1.0, 120 / 168, 60 / 168], np.float32), size=n, p=[0.6, 0.25, 0.15])
    precision = rng.choice(np.array([0, 1, 2], np.int8), size=n, p=[0.3, 0.5, 0.2])
    inferred = rng.random(n) < inferred_share
    precision[inferred] = 0
    price = np.full(n, np.nan)
    priced = rng.random(n) < 0.4
    gate_fee = priced & is_supply & mat & (rng.random(n) < 0.6)
    price[gate_fee] = -rng.uniform(0.01, 0.08, int(gate_fee.sum()))
    ask = priced & ~gate_fee
    price[ask & mat] = rng.uniform(0.005, 0.04, int((ask & mat).sum()))
    key = (rng.permutation(n) + 1_000_000).astype(np.int64)
    return FlowArrays(
        key=key,
        lat=lat,
        lon=lon,
        is_supply=is_supply,
        category=category,
        class_indptr=indptr,
        class_index=class_index,
        class_weight=class_weight,
        quantity=quantity,
        quantity_kind=kind,
        temperature_c=temperature,
        pressure_bar=pressure,
        purity_pct=purity,
        hazardous=hazardous,
        hazard_permit=permit,
        available_from=available_from,
        available_to=available_to,
        month_mask=month_mask,
        weekly_hours=weekly_hours,
        precision=precision,
        inferred=inferred,
        org=site.astype(np.int32),
        price_eur=price,
    )
