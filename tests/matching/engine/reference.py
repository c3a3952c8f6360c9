"""Brute-force reference for the matching engine: plain Python over all supply × demand pairs, written from the
documented rules and formulas (not from the kernels), for small N.

Inputs are read as the engine stores them (float32 positions and attributes), so that scores agree to ~1e-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from turash.matching.engine import constants as C
from turash.matching.engine.types import (
    Category,
    Compatibility,
    FlowArrays,
    MatchParams,
    QuantityKind,
    Relaxation,
)

R = 6371.0088
HEATLIKE = (Category.HEAT, Category.STEAM)


def f32(x: float) -> float:
    return float(np.float32(x))


@dataclass
class Cand:
    s: int
    d: int
    k: int
    score: float
    sub: tuple[float, float, float, float, float, float]
    dist: float
    relax: int


def _xyz(lat: float, lon: float) -> tuple[float, float, float]:
    la, lo = math.radians(lat), math.radians(lon)
    return (f32(math.cos(la) * math.cos(lo)), f32(math.cos(la) * math.sin(lo)), f32(math.sin(la)))


def _months(mask: int) -> int:
    return bin(mask & 0xFFF).count("1")


def _family(kind: int) -> int:
    return {0: 0, 1: 1, 2: 2, 3: 1, 4: 0, 5: 2}.get(kind, -1)


def _yearly(fl: FlowArrays, i: int) -> tuple[int, float]:
    kind = int(fl.quantity_kind[i])
    fam = _family(kind)
    q = float(fl.quantity[i])
    if fam < 0 or not (q > 0):
        return -1, math.nan
    if kind in (QuantityKind.MASS_RATE, QuantityKind.POWER, QuantityKind.VOLUME_RATE):
        h = min(max(float(fl.weekly_hours[i]), 0.0), 1.0)
        q = q * C.SECONDS_PER_YEAR * h * _months(int(fl.month_mask[i])) / 12.0
    return fam, q


def _value_family(fl: FlowArrays, i: int) -> int:
    fam = _family(int(fl.quantity_kind[i]))
    if fam >= 0:
        return fam
    cat = int(fl.category[i])
    if cat in (Category.HEAT, Category.ENERGY):
        return C.FAMILY_ENERGY
    if cat == Category.WATER:
        return C.FAMILY_VOLUME
    return C.FAMILY_MASS


def _unit_value(fl: FlowArrays, i: int) -> tuple[float, bool]:
    """(EUR per base unit, from defaults?)"""
    cat = int(fl.category[i])
    if cat == Category.SERVICE:
        return math.nan, True
    vf = _value_family(fl, i)
    price = float(fl.price_eur[i])
    if bool(fl.is_supply[i]):
        if math.isfinite(price):
            return max(-price, 0.0), False
        return C.DEFAULT_DISPOSAL_COST.get((Category(cat), vf), 0.0), True
    if math.isfinite(price) and price > 0:
        return price, False
    v = C.CATEGORY_PURCHASE_VALUE.get((Category(cat), vf), C.DEFAULT_PURCHASE_VALUE[vf])
    return v, True


def _trust(fl: FlowArrays, i: int) -> float:
    t = {0: 0.5, 1: 0.75, 2: 1.0}[int(fl.precision[i])]
    if bool(fl.inferred[i]):
        t *= C.INFERRED_TRUST
    return f32(math.sqrt(t))


def evaluate(
    fl: FlowArrays, compat: Compatibility, s: int, d: int, k: int, weight: float, p: MatchParams, allowed: int = 0
) -> Cand | None:
    """The documented rules and scores for one (supply s, demand d, compatibility entry k)."""
    cat = int(fl.category[s])
    radius = min(p.radius_km[cat], p.max_radius_km)
    search = radius * (p.relax_radius_factor if allowed & Relaxation.RADIUS else 1.0)
    a, b = _xyz(fl.lat[s], fl.lon[s]), _xyz(fl.lat[d], fl.lon[d])
    chord = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))
    dist = 2 * R * math.asin(min(chord / 2, 1.0))
    relax = 0
    if dist > radius:
        if dist > search or not allowed & Relaxation.RADIUS:
            return None
        relax |= Relaxation.RADIUS
    if fl.org[s] == fl.org[d]:
        return None
    if not p.include_inferred and (fl.inferred[s] or fl.inferred[d]):
        return None
    if fl.hazardous[s] and not fl.hazard_permit[d]:
        return None
    if min(fl.available_to[s], fl.available_to[d]) < max(fl.available_from[s], fl.available_from[d]):
        return None
    if (int(fl.month_mask[s]) & int(fl.month_mask[d]) & 0xFFF) == 0:
        return None
    unknown = 0
    ts, td = f32(fl.temperature_c[s]), f32(fl.temperature_c[d])
    margins = []
    temp_unknown = False
    if cat in HEATLIKE:
        if math.isnan(ts) or math.isnan(td):
            temp_unknown = True
        else:
            margins.append(ts - (td + p.approach_dt_k))
    min_t, max_t = float(compat.min_temperature_c[k]), float(compat.max_temperature_c[k])
    if not math.isnan(min_t):
        if math.isnan(ts):
            temp_unknown = True
        else:
            margins.append(ts - min_t)
    if not math.isnan(max_t):
        if math.isnan(ts):
            temp_unknown = True
        elif ts > max_t:
            return None
    unknown += temp_unknown
    margin = min(margins) if margins else math.nan
    if margins and margin < 0:
        if not allowed & Relaxation.HEAT_PUMP or margin < -p.heat_pump_max_lift_k:
            return None
        relax |= Relaxation.HEAT_PUMP
    for attr, cond, bit in (
        ("purity_pct", compat.min_purity_pct, Relaxation.TREATMENT),
        ("pressure_bar", compat.min_pressure_bar, Relaxation.PRESSURE),
    ):
        need = [v for v in (f32(getattr(fl, attr)[d]), float(cond[k])) if not math.isnan(v)]
        if need:
            have = f32(getattr(fl, attr)[s])
            if math.isnan(have):
                unknown += 1
            elif have < max(need):
                if not allowed & bit:
                    return None
                relax |= bit
    fam_s, qs = _yearly(fl, s)
    fam_d, qd = _yearly(fl, d)
    lcov = math.nan
    if fam_s >= 0 and fam_s == fam_d:
        lcov = f32(math.log10(qs)) - f32(math.log10(qd))
        min_cov = math.log10(p.min_coverage) if p.min_coverage > 0 else -math.inf
        if lcov < min_cov:
            if not allowed & Relaxation.PARTIAL_QUANTITY:
                return None
            relax |= Relaxation.PARTIAL_QUANTITY

    # quality
    fit = weight * float(compat.fit[k])
    q = fit
    if not math.isnan(margin):
        if margin >= 0:
            q *= 1 - (1 - C.QUALITY_HOT_FLOOR) * min(
                max((margin - C.QUALITY_TEMP_FREE_K) / C.QUALITY_TEMP_SPAN_K, 0), 1
            )
        else:
            q *= max(0.05, C.QUALITY_HEAT_PUMP_MAX * (1 + margin / p.heat_pump_max_lift_k))
    if relax & Relaxation.TREATMENT:
        q *= C.QUALITY_RELAXED_TREATMENT
    if relax & Relaxation.PRESSURE:
        q *= C.QUALITY_RELAXED_PRESSURE
    if compat.needs_treatment[k]:
        q *= C.QUALITY_NEEDS_TREATMENT
    q = min(max(q, 0.0), 1.0)
    # temporal
    fs, ts_, fd, td_ = (
        int(fl.available_from[s]),
        int(fl.available_to[s]),
        int(fl.available_from[d]),
        int(fl.available_to[d]),
    )
    overlap = min(ts_, td_) - max(fs, fd) + 1
    window = min(1.0, overlap / min(td_ - fd + 1, C.HORIZON_DAYS))
    months = _months(int(fl.month_mask[s]) & int(fl.month_mask[d])) * f32(1 / max(_months(int(fl.month_mask[d])), 1))
    hs, hd = f32(fl.weekly_hours[s]), f32(fl.weekly_hours[d])
    hours = 1.0 if not hd > 0 else min(1.0, hs / hd)
    temporal = min(window * months * hours, 1.0)
    # quantity
    if math.isnan(lcov):
        quantity = C.NEUTRAL_SCORE
    elif lcov < 0:
        quantity = 10**lcov
    else:
        quantity = max(C.QUANTITY_OVERSIZE_FLOOR, 1 - C.QUANTITY_OVERSIZE_PER_DECADE * lcov)
    # economic
    vs, _ = _unit_value(fl, s)
    vd, _ = _unit_value(fl, d)
    uv = f32(vs) + f32(vd)
    pipe = C.PIPE_EUR_PER_KM_YEAR.get(Category(cat), 0.0)
    if math.isnan(uv) or not uv > 0:
        economic = C.NEUTRAL_SCORE
    elif pipe > 0:
        if fam_s >= 0 and fam_s == fam_d:
            qx = min(f32(qs), f32(qd))
            per_km_year = f32(pipe) + C.PIPE_SQRT_EUR_PER_KM_YEAR.get((Category(cat), fam_s), 0.0) * math.sqrt(qx)
            economic = min(max(1 - per_km_year * dist / (uv * qx), 0.0), 1.0)
        else:
            economic = C.NEUTRAL_SCORE
    else:
        truck = f32(C.TRUCK_EUR_PER_UNIT_KM[_value_family(fl, s)])
        handling = C.TRUCK_EUR_PER_UNIT[fam_s] if fam_s >= 0 else 0.0  # by the quantity's family, when known
        economic = min(max(1 - (truck * dist + handling) / uv, 0.0), 1.0)
    trust = _trust(fl, s) * _trust(fl, d) * p.unknown_trust_factor**unknown
    distance = math.exp(-C.DISTANCE_DECAY * dist / radius) if math.isfinite(radius) else 1.0
    sub = (q, temporal, quantity, economic, trust, distance)
    w = p.weights.vector().astype(np.float64)
    total = min(max(float(sum(x * y for x, y in zip(w, sub, strict=True))), 0.0), 1.0)
    return Cand(s, d, k, total, sub, dist, relax)


def candidates(fl: FlowArrays, compat: Compatibility, p: MatchParams, allowed: int = 0) -> dict[tuple[int, int], Cand]:
    """Best candidate per (supply row, demand row) over all class pairs."""
    out: dict[tuple[int, int], Cand] = {}
    rows = compat.row_of_entry
    for s in np.flatnonzero(fl.is_supply):
        for d in np.flatnonzero(~fl.is_supply):
            for es in range(fl.class_indptr[s], fl.class_indptr[s + 1]):
                for ed in range(fl.class_indptr[d], fl.class_indptr[d + 1]):
                    k = compat.entry(int(fl.class_index[es]), int(fl.class_index[ed]))
                    if k < 0:
                        continue
                    assert rows[k] == fl.class_index[es]
                    c = evaluate(
                        fl, compat, int(s), int(d), k, float(fl.class_weight[es] * fl.class_weight[ed]), p, allowed
                    )
                    if c is None:
                        continue
                    old = out.get((int(s), int(d)))
                    if old is None or (f32(c.score), -c.dist, -c.k) > (f32(old.score), -old.dist, -old.k):
                        out[(int(s), int(d))] = c
    return out


def top_lists(fl: FlowArrays, cands: dict[tuple[int, int], Cand], p: MatchParams) -> dict[int, list[int]]:
    """Each flow's list: counterpart rows, best first, at most top_k, at most max_per_org per organisation."""
    by_flow: dict[int, list[tuple[Cand, int]]] = {}
    for (s, d), c in cands.items():
        by_flow.setdefault(s, []).append((c, d))
        by_flow.setdefault(d, []).append((c, s))
    out: dict[int, list[int]] = {}
    for f, lst in by_flow.items():
        lst.sort(key=lambda cp: (-f32(cp[0].score), f32(cp[0].dist), int(fl.key[cp[1]])))
        chosen: list[int] = []
        per_org: dict[int, int] = {}
        for _c, other in lst:
            if len(chosen) >= p.top_k:
                break
            org = int(fl.org[other])
            if per_org.get(org, 0) >= p.max_per_org:
                continue
            per_org[org] = per_org.get(org, 0) + 1
            chosen.append(other)
        out[f] = chosen
    return out


def union_pairs(fl: FlowArrays, lists: dict[int, list[int]]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for f, lst in lists.items():
        for other in lst:
            pairs.add((f, other) if fl.is_supply[f] else (other, f))
    return pairs
