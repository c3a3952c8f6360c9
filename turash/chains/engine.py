"""Chain finder core: supply → service → demand chains, and small exchange cycles between organisations.

Pure computation on the matching engine's arrays (numpy, scipy): no database, no HTTP, no settings. The service
layer (turash/chains/service.py) turns service offerings into `ServiceSpec`s and reads the register's
`MatchIndex`; this module does the rest:

1. **Eligibility** (`eligible`): which services can take which supply. A service takes a supply when the
   supply lies in its area (circle around its site and/or its countries), is of a class (or category, or EWC
   code) it declares as input, is hazardous only if the service is permitted for it, is warm enough for a heat
   pump to lift within its maximum lift, and — when the resource travels to the service's plant — the first leg
   is within the category's radius. Every rejection has a reason (`Rejection`), so a user sees why not.
2. **Transformation** (`transform`): the supply as it leaves the service, as a virtual supply flow: a treated
   class or purity, no longer hazardous, dried (less mass), lifted to the heat pump's output temperature (more
   heat: the compressor's electricity is added, Q_out = Q_source · COP / (COP − 1)), stored (available all year),
   or moved from the service's plant.
3. **Second leg** (`find_chains`): the virtual supply is matched against the register by the matching engine's
   own single-query pipeline (`match_one`: candidate index, every hard rule, every scorer, diversity), strictly
   (no fallback relaxation: the service is the remedy). A transport service extends the category's radius to
   its own reach. When the service does the treatment the catalogue asks for, the engine's treatment penalty
   on the quality score is taken back (the chain is the treated exchange).
4. **Direct check**: a chain whose demand the supply already serves directly — passing every strict rule
   without a treatment need — with at least the chain's score is dropped: the extra party adds nothing.
5. **Score**: leg-2 score × party factor (0.9: one more party to agree with) × (1 − 0.3 × leg 1 / radius).

`find_cycles` finds simple cycles A → B → … → A of at most `max_length` organisations in a directed graph of
exchanges (matches and chains), by bounded depth-first search from one organisation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from turash.economics.costs import heat_pump_cop
from turash.matching.engine import Category, FlowArrays, MatchIndex, MatchParams, Reason, prepare_queries
from turash.matching.engine.constants import QUALITY_NEEDS_TREATMENT
from turash.matching.engine.geo import EARTH_RADIUS_KM, chord_for_km, unit_xyz
from turash.matching.engine.pairs import score_pairs
from turash.matching.engine.query import match_one
from turash.matching.engine.types import ALL_YEAR, OPEN_END, SCORE_NAMES, QuantityKind

KINDS = ("transport", "treatment", "storage", "heat_pump")
PARTY_FACTOR = 0.9  # a third party to agree with: a chain scores 10 % below an equal direct match (engineering)
LEG1_PENALTY = 0.3  # the first leg's share of its radius costs up to 30 % of the score (engineering)
# Heat pump defaults: Lorenz efficiency 0.55 of turash.economics (reproduces Drammen's published COP within 15 %,
# ehpa_drammen), a source cooled by 5 K, a sink heated by 30 K (a district-heating network's supply - return).
HP_EFFICIENCY = 0.55
HP_SOURCE_COOLING_K = 5.0
HP_SINK_SPREAD_K = 30.0
HP_MAX_LIFT_K = 60.0
QUALITY = SCORE_NAMES.index("quality")
SECONDS_PER_YEAR = 365.25 * 86400
FAMILY_MASS, FAMILY_ENERGY, FAMILY_VOLUME = 0, 1, 2
# engine quantity kind → (family, factor to a yearly amount, SI units per market unit of price)
_KIND_FAMILY = np.full(8, -1, np.int8)
_KIND_YEARLY = np.full(8, np.nan)
_KIND_MARKET = np.full(8, np.nan)
for _kind, (_family, _yearly, _market) in {
    QuantityKind.MASS_RATE: (FAMILY_MASS, SECONDS_PER_YEAR, 1000.0),
    QuantityKind.MASS: (FAMILY_MASS, 1.0, 1000.0),
    QuantityKind.POWER: (FAMILY_ENERGY, SECONDS_PER_YEAR, 3.6e9),
    QuantityKind.ENERGY: (FAMILY_ENERGY, 1.0, 3.6e9),
    QuantityKind.VOLUME_RATE: (FAMILY_VOLUME, SECONDS_PER_YEAR, 1.0),
    QuantityKind.VOLUME: (FAMILY_VOLUME, 1.0, 1.0),
}.items():
    _KIND_FAMILY[int(_kind)], _KIND_YEARLY[int(_kind)], _KIND_MARKET[int(_kind)] = _family, _yearly, _market


def family_of(kind: int) -> int:
    return int(_KIND_FAMILY[kind]) if 0 <= kind < _KIND_FAMILY.size else -1


def yearly_factor(kind: int) -> float:
    return float(_KIND_YEARLY[kind]) if 0 <= kind < _KIND_YEARLY.size else math.nan


class Rejection(IntEnum):
    """Why a service cannot take a supply (0: it can)."""

    NONE = 0
    NOT_A_SUPPLY = 1
    OUT_OF_AREA = 2
    WRONG_CLASS = 3
    HAZARD_NOT_PERMITTED = 4
    TOO_COLD = 5
    TOO_HOT = 6
    LEG_TOO_LONG = 7
    NO_TRANSFORMATION = 8
    ADDS_NOTHING = 9


REJECTION_TEXT = {
    Rejection.NOT_A_SUPPLY: "only supplies go through a service",
    Rejection.OUT_OF_AREA: "the supply lies outside the area the service covers",
    Rejection.WRONG_CLASS: "the service does not declare this resource (class, category or EWC code) as its input",
    Rejection.HAZARD_NOT_PERMITTED: "the supply is hazardous and the service is not permitted to take it",
    Rejection.TOO_COLD: "the heat is colder than the heat pump takes, or needs a larger lift than it makes",
    Rejection.TOO_HOT: "the heat is already at or above the heat pump's output temperature",
    Rejection.LEG_TOO_LONG: "the way to the service's plant is longer than the resource's radius",
    Rejection.NO_TRANSFORMATION: "the service declares no transformation (maintenance and consulting do not)",
    Rejection.ADDS_NOTHING: "the service would add nothing: the supply already reaches that far, or is available "
    "all year",
}
MAX_PER_SIGNATURE = 2  # of equivalent services (same kind and transformation), keep the nearest two per supply


@dataclass(frozen=True)
class Transform:
    """What a service does to a resource (declared in the offering's `attributes["transform"]`, docs/chains.md).

    input_classes: catalogue class indices it takes (the caller includes their descendants); empty = any class
    of `input_categories` (itself empty = any category the kind implies: heat for a heat pump).
    output_class: the class that leaves (None: unchanged). output_hazardous False: the output is not hazardous.
    removes_treatment_need: it does the treatment (drying, hygienisation, heat-pump lift...) the catalogue asks
    for on a class pair. at_plant: the resource travels to the service's site (centre of its area) and leaves
    from there; otherwise the service works at the supplier's site (a heat pump, a haulier).
    """

    input_classes: frozenset[int] = frozenset()
    input_categories: frozenset[int] = frozenset()
    output_class: int | None = None
    output_hazardous: bool | None = None
    output_purity_pct: float | None = None
    output_temperature_c: float | None = None
    min_source_temperature_c: float | None = None
    max_lift_k: float = HP_MAX_LIFT_K
    efficiency: float = HP_EFFICIENCY
    sink_spread_k: float = HP_SINK_SPREAD_K
    mass_yield: float = 1.0
    removes_treatment_need: bool = False
    reach_km: float | None = None
    all_year: bool = False
    storage_days: int = 0
    at_plant: bool = False


@dataclass(frozen=True)
class ServiceSpec:
    """One service offering as the chain finder reads it. `org` is the engine's organisation code (-1: none in
        the index). Its capacity caps what goes through it (same quantity family only); its price is added to the
    supply's price for the second leg."""

    key: int
    org: int
    kind: str
    lat: float | None
    lon: float | None
    radius_km: float | None
    countries: frozenset[str] = frozenset()
    ewc_codes: frozenset[str] = frozenset()
    hazardous_permit: bool = False
    capacity_family: int = -1  # FAMILY_MASS / FAMILY_ENERGY / FAMILY_VOLUME of the capacity, -1 unknown
    capacity_per_year: float = math.nan  # SI amount per year (kg, J, m3)
    price_market: float = math.nan  # EUR per t, MWh or m3 (the flows' market units), NaN unknown
    transform: Transform = field(default_factory=Transform)

    @property
    def has_circle(self) -> bool:
        return self.lat is not None and self.lon is not None and self.radius_km is not None


@dataclass(frozen=True)
class SupplyContext:
    """Per index row facts the engine's arrays do not hold: country (ISO code or None) and EWC code."""

    country: Sequence[str | None]
    ewc: Sequence[str | None]


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray[Any, Any]:
    """Great-circle distance on the engine's spherical Earth (EARTH_RADIUS_KM), vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), np.float64)


def _any_class(flows: FlowArrays, rows: np.ndarray[Any, Any], accepted: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Does any class of each row fall in the boolean class mask `accepted`?"""
    starts, ends = flows.class_indptr[rows], flows.class_indptr[rows + 1]
    out = np.zeros(rows.size, np.bool_)
    width = int((ends - starts).max(initial=0))
    for j in range(width):
        has = starts + j < ends
        cls = flows.class_index[np.minimum(starts + j, flows.class_index.size - 1)]
        out |= has & accepted[cls]
    return out


def default_categories(kind: str) -> frozenset[int]:
    """What a kind takes when its offering declares nothing: a heat pump heat, a haulier or a store materials
    (bulk trucks and yards; pipes carry the rest and are not a service)."""
    if kind == "heat_pump":
        return frozenset({int(Category.HEAT)})
    if kind in ("transport", "storage"):
        return frozenset({int(Category.MATERIAL)})
    return frozenset()


def check(
    flows: FlowArrays,
    rows: np.ndarray[Any, Any],
    spec: ServiceSpec,
    context: SupplyContext | None,
    n_classes: int,
    radius_km: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(rejection code, first-leg km) of each supply row for one service; code 0 = eligible.

    `radius_km`: the strict radius per category (the matching parameters'), which bounds the first leg when the
    resource travels to the service's plant."""
    rows = np.asarray(rows, np.int64)
    code = np.zeros(rows.size, np.uint8)
    tf = spec.transform

    def reject(mask: np.ndarray[Any, Any], why: Rejection) -> None:
        code[(code == 0) & mask] = int(why)

    if spec.kind not in KINDS:
        code[:] = int(Rejection.NO_TRANSFORMATION)
        return code, np.zeros(rows.size)
    reject(~flows.is_supply[rows], Rejection.NOT_A_SUPPLY)
    # area: the circle and/or the countries; an offering with neither serves anywhere
    dist = np.zeros(rows.size)
    inside = np.ones(rows.size, np.bool_)
    if spec.has_circle:
        dist = haversine_km(flows.lat[rows], flows.lon[rows], spec.lat, spec.lon)
        inside = dist <= float(spec.radius_km or 0.0)
    if spec.countries:
        in_country = np.array(
            [context is not None and context.country[r] in spec.countries for r in rows.tolist()], np.bool_
        )
        inside = (inside & in_country) if not spec.has_circle else (inside | in_country)
    reject(~inside, Rejection.OUT_OF_AREA)
    # input: a declared class (or a descendant), a declared EWC code, or else a declared category
    categories = tf.input_categories or default_categories(spec.kind)
    if tf.input_classes or spec.ewc_codes:
        accepted = np.zeros(n_classes, np.bool_)
        accepted[list(tf.input_classes)] = True
        ok = _any_class(flows, rows, accepted)
        if spec.ewc_codes and context is not None:
            ok |= np.array([context.ewc[r] in spec.ewc_codes for r in rows.tolist()], np.bool_)
        if categories:
            ok &= np.isin(flows.category[rows], list(categories))
    elif categories:
        ok = np.isin(flows.category[rows], list(categories))
    else:  # a treatment with no declared input would take anything: refuse to guess
        ok = np.zeros(rows.size, np.bool_) if spec.kind == "treatment" else np.ones(rows.size, np.bool_)
    reject(~ok, Rejection.WRONG_CLASS)
    permitted = spec.hazardous_permit
    if not permitted and context is not None and spec.ewc_codes:
        ewc_ok = np.array([context.ewc[r] in spec.ewc_codes for r in rows.tolist()], np.bool_)
    else:
        ewc_ok = np.zeros(rows.size, np.bool_)
    reject(flows.hazardous[rows] & ~(permitted | ewc_ok), Rejection.HAZARD_NOT_PERMITTED)
    if spec.kind == "heat_pump" and tf.output_temperature_c is not None:
        t = flows.temperature_c[rows]
        known = ~np.isnan(t)
        low = known & (t < (tf.min_source_temperature_c if tf.min_source_temperature_c is not None else -math.inf))
        low |= known & (tf.output_temperature_c - t > tf.max_lift_k)
        reject(low, Rejection.TOO_COLD)
        reject(known & (t >= tf.output_temperature_c), Rejection.TOO_HOT)
    if spec.kind == "transport":
        reach = tf.reach_km if tf.reach_km is not None else (spec.radius_km or 0.0)
        reject(reach <= radius_km[flows.category[rows].astype(np.intp)], Rejection.ADDS_NOTHING)
    if spec.kind == "storage" and not tf.storage_days:
        always = (flows.month_mask[rows] == ALL_YEAR) & (flows.weekly_hours[rows] >= 1.0)
        reject(always & (flows.available_to[rows] >= OPEN_END), Rejection.ADDS_NOTHING)
    leg1 = dist if (tf.at_plant and spec.has_circle) else np.zeros(rows.size)
    if tf.at_plant and spec.has_circle:
        reject(leg1 > radius_km[flows.category[rows].astype(np.intp)], Rejection.LEG_TOO_LONG)
    return code, leg1


@dataclass(frozen=True)
class Eligible:
    """(supply row, service position in the spec list, first-leg km) of every eligible pair."""

    supply_row: np.ndarray[Any, Any]
    service: np.ndarray[Any, Any]
    leg1_km: np.ndarray[Any, Any]

    @property
    def n(self) -> int:
        return int(self.supply_row.size)


def eligible(
    index: MatchIndex,
    services: ServiceIndex | Sequence[ServiceSpec],
    params: MatchParams,
    context: SupplyContext | None = None,
    supply_rows: np.ndarray[Any, Any] | None = None,
) -> Eligible:
    """Every (supply, service) pair that passes `check`, for the given supply rows (default: every supply).

    Services with a circle look up the supplies inside it in a KD-tree on unit-sphere coordinates, so the work
    grows with the pairs found, not with supplies × services."""
    fl = index.flows
    sx = _services(services)
    specs = sx.specs
    rows = np.flatnonzero(fl.is_supply) if supply_rows is None else np.asarray(supply_rows, np.int64)
    radius = params.effective_radius_km()
    few = bool(rows.size) and rows.size * 4 < len(specs)  # a few supplies: look up the services around them
    positions: Iterable[int] = sx.near(fl, rows) if few else range(len(specs))
    tree = cKDTree(unit_xyz(fl.lat[rows], fl.lon[rows])) if rows.size and not few else None
    out_s, out_v, out_l = [], [], []
    for pos in positions:
        spec = specs[pos]
        if spec.kind not in KINDS:
            continue
        if spec.has_circle and not spec.countries and tree is not None:
            centre = unit_xyz(np.array([float(spec.lat or 0.0)]), np.array([float(spec.lon or 0.0)]))[0]
            cand = rows[np.asarray(tree.query_ball_point(centre, chord_for_km(float(spec.radius_km or 0))), np.intp)]
        else:
            cand = rows
        if not cand.size:
            continue
        code, leg1 = check(fl, cand, spec, context, index.compat.n_classes, radius)
        ok = code == 0
        out_s.append(cand[ok])
        out_v.append(np.full(int(ok.sum()), pos, np.int32))
        out_l.append(leg1[ok])
    if not out_s:
        return Eligible(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0))
    return _nearest_equivalents(
        Eligible(np.concatenate(out_s), np.concatenate(out_v), np.concatenate(out_l)), sx, MAX_PER_SIGNATURE
    )


@dataclass(frozen=True, eq=False)
class ServiceIndex:
    """The services once prepared for many searches: a KD-tree of the circles' centres, and which services do
    the same thing (kind and transformation), so equivalent ones can be reduced to the nearest."""

    specs: Sequence[ServiceSpec]
    circle: np.ndarray[Any, Any]  # positions of services with a circle and no country list
    others: list[int]
    radius: np.ndarray[Any, Any]
    tree: Any
    signature: np.ndarray[Any, Any]
    price: np.ndarray[Any, Any]

    @classmethod
    def build(cls, specs: Sequence[ServiceSpec]) -> ServiceIndex:
        circle = [i for i, s in enumerate(specs) if s.has_circle and not s.countries]
        others = [i for i, s in enumerate(specs) if not (s.has_circle and not s.countries)]
        lat = np.array([float(specs[i].lat or 0.0) for i in circle])
        lon = np.array([float(specs[i].lon or 0.0) for i in circle])
        tree = cKDTree(unit_xyz(lat, lon)) if circle else None
        groups: dict[tuple[str, Transform], int] = {}
        signature = np.array([groups.setdefault((s.kind, s.transform), len(groups)) for s in specs], np.int64)
        price = np.array([s.price_market if not math.isnan(s.price_market) else math.inf for s in specs])
        radius = np.array([float(specs[i].radius_km or 0.0) for i in circle])
        return cls(specs, np.asarray(circle, np.int64), others, radius, tree, signature, price)

    def near(self, fl: FlowArrays, rows: np.ndarray[Any, Any]) -> list[int]:
        """Positions of the services whose circle holds one of the rows (plus those without a circle)."""
        if self.tree is None or not rows.size:
            return list(self.others)
        xyz = unit_xyz(fl.lat[rows], fl.lon[rows])
        found: set[int] = set()
        widest = float(self.radius.max())
        for point, hits in zip(xyz, self.tree.query_ball_point(xyz, chord_for_km(widest)), strict=True):
            if not hits:
                continue
            h = np.asarray(hits, np.int64)
            chord = np.linalg.norm(self.tree.data[h] - point, axis=1)
            km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / 2.0))
            found.update(self.circle[h[km <= self.radius[h] + 1e-6]].tolist())
        return sorted(found.union(self.others))


def _services(services: ServiceIndex | Sequence[ServiceSpec]) -> ServiceIndex:
    return services if isinstance(services, ServiceIndex) else ServiceIndex.build(services)


def _nearest_equivalents(pairs: Eligible, services: ServiceIndex, keep: int) -> Eligible:
    """Of services that do the same thing (same kind and transformation), keep the `keep` nearest (then
    cheapest) per supply: a supplier uses the nearest of equivalent plants, and the second leg of equivalent
    services at the supplier's site is the same search."""
    if pairs.n == 0:
        return pairs
    sig, price = services.signature, services.price
    g = sig[pairs.service]
    order = np.lexsort((pairs.service, price[pairs.service], pairs.leg1_km, g, pairs.supply_row))
    s_o, g_o = pairs.supply_row[order], g[order]
    new_group = np.ones(order.size, np.bool_)
    new_group[1:] = (s_o[1:] != s_o[:-1]) | (g_o[1:] != g_o[:-1])
    start = np.maximum.accumulate(np.where(new_group, np.arange(order.size), 0))
    chosen = np.sort(order[(np.arange(order.size) - start) < keep])
    return Eligible(pairs.supply_row[chosen], pairs.service[chosen], pairs.leg1_km[chosen])


def cop_of(source_c: np.ndarray[Any, Any], output_c: float, tf: Transform) -> np.ndarray[Any, Any]:
    """Heating COP of the lift (turash.economics.costs.heat_pump_cop: η · T_sink / (T_sink − T_source) on
    log-mean temperatures, a Lorenz-efficiency model; η 0.55 reproduces Drammen's published COP of 3.05)."""
    sink_out = np.full_like(np.asarray(source_c, np.float64), output_c)
    return heat_pump_cop(source_c, source_c - HP_SOURCE_COOLING_K, sink_out - tf.sink_spread_k, sink_out, tf.efficiency)


def transform(
    index: MatchIndex, pairs: Eligible, specs: Sequence[ServiceSpec]
) -> tuple[FlowArrays, np.ndarray[Any, Any]]:
    """The virtual supply leaving the service, one row per eligible pair (key = pair position), and the COP of
    each pair's heat pump (NaN when none)."""
    fl = index.flows
    v = fl.take(pairs.supply_row)
    n = v.n
    lat, lon = v.lat.copy(), v.lon.copy()
    temp, purity, quantity = v.temperature_c.copy(), v.purity_pct.copy(), v.quantity.copy()
    hazardous, price = v.hazardous.copy(), v.price_eur.copy()
    month_mask, weekly, avail_to = v.month_mask.copy(), v.weekly_hours.copy(), v.available_to.copy()
    cop = np.full(n, np.nan)
    new_class = np.full(n, -1, np.int64)
    for pos in np.unique(pairs.service).tolist():
        spec, tf = specs[pos], specs[pos].transform
        m = pairs.service == pos
        if tf.at_plant and spec.has_circle:
            lat[m], lon[m] = spec.lat, spec.lon
        if tf.output_class is not None:
            new_class[m] = tf.output_class
        if tf.output_hazardous is not None:
            hazardous[m] = tf.output_hazardous
        if tf.output_purity_pct is not None:
            purity[m] = np.fmax(purity[m], tf.output_purity_pct)
        quantity[m] *= tf.mass_yield
        if spec.kind == "heat_pump" and tf.output_temperature_c is not None:
            source = temp[m]
            c = cop_of(np.where(np.isnan(source), tf.output_temperature_c - 40.0, source), tf.output_temperature_c, tf)
            cop[m] = c
            quantity[m] *= c / np.maximum(c - 1.0, 1e-9)  # heat out = source heat + electricity
            temp[m] = tf.output_temperature_c
        if tf.all_year:
            month_mask[m], weekly[m] = ALL_YEAR, 1.0
        if tf.storage_days:
            avail_to[m] = np.where(avail_to[m] >= OPEN_END - tf.storage_days, OPEN_END, avail_to[m] + tf.storage_days)
        kinds = v.quantity_kind[m].astype(np.intp)
        known = kinds >= 0
        if not math.isnan(spec.price_market):
            per_si = np.where(known, spec.price_market / _KIND_MARKET[np.maximum(kinds, 0)], np.nan)
            price[m] = np.where(np.isnan(price[m]), 0.0, price[m]) + np.nan_to_num(per_si)
        if not math.isnan(spec.capacity_per_year) and spec.capacity_family >= 0:
            same = known & (_KIND_FAMILY[np.maximum(kinds, 0)] == spec.capacity_family)
            cap = spec.capacity_per_year / _KIND_YEARLY[np.maximum(kinds, 0)]  # in the supply's own SI unit
            quantity[m] = np.where(same, np.fmin(quantity[m], cap), quantity[m])
    indptr, index_c, weight = v.class_indptr, v.class_index, v.class_weight
    if (new_class >= 0).any():
        counts = np.diff(indptr)
        counts = np.where(new_class >= 0, 1, counts)
        new_indptr = np.zeros(n + 1, np.int32)
        new_indptr[1:] = np.cumsum(counts)
        new_index = np.empty(int(new_indptr[-1]), np.int32)
        new_weight = np.empty_like(new_index, dtype=np.float32)
        for i in range(n):  # small: one entry per pair
            a, b = int(new_indptr[i]), int(new_indptr[i + 1])
            if new_class[i] >= 0:
                new_index[a], new_weight[a] = new_class[i], 1.0
            else:
                new_index[a:b] = index_c[indptr[i] : indptr[i + 1]]
                new_weight[a:b] = weight[indptr[i] : indptr[i + 1]]
        indptr, index_c, weight = new_indptr, new_index, new_weight
    out = replace(
        v,
        key=np.arange(n, dtype=np.int64),
        lat=lat,
        lon=lon,
        temperature_c=temp,
        purity_pct=purity,
        quantity=quantity,
        hazardous=hazardous,
        price_eur=price,
        month_mask=month_mask,
        weekly_hours=weekly,
        available_to=avail_to,
        class_indptr=indptr,
        class_index=index_c,
        class_weight=weight,
    )
    return out, cop


@dataclass(frozen=True)
class Chains:
    """Chains as parallel arrays, best first within each supply (see `find_chains`).

    supply_row / demand_row: rows of the index; service: position in the spec list; pair: eligible pair;
    score: the chain's score; leg2_score and sub_scores: the engine's (treatment penalty taken back when the
    service treats); direct_score: the supply → demand pair's own strict score when it passes (NaN otherwise);
    cop: the heat pump's COP (NaN: none)."""

    supply_row: np.ndarray[Any, Any]
    service: np.ndarray[Any, Any]
    demand_row: np.ndarray[Any, Any]
    leg1_km: np.ndarray[Any, Any]
    leg2_km: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]
    leg2_score: np.ndarray[Any, Any]
    sub_scores: np.ndarray[Any, Any]
    reasons: np.ndarray[Any, Any]
    class_pair: np.ndarray[Any, Any]
    direct_score: np.ndarray[Any, Any]
    cop: np.ndarray[Any, Any]
    coverage: np.ndarray[Any, Any]
    dropped_direct: int = 0

    @property
    def n(self) -> int:
        return int(self.supply_row.size)


def _params_for(params: MatchParams, spec: ServiceSpec, category: int) -> MatchParams:
    """Strict matching (no fallback) for the second leg; a transport service's reach replaces the radius."""
    p = replace(params, fallback=False)
    reach = spec.transform.reach_km if spec.transform.reach_km is not None else None
    if spec.kind == "transport" and reach is None:
        reach = spec.radius_km
    if reach is not None:
        radius = list(p.radius_km)
        radius[category] = max(radius[category], float(reach))
        p = replace(p, radius_km=tuple(radius), max_radius_km=max(p.max_radius_km, float(reach)))
    return p


def _entries(compat: Any, cs: np.ndarray[Any, Any], cd: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Compatibility entry of each (supply class, demand class), -1 when none (vectorised `Compatibility.entry`)."""
    n = np.int64(compat.n_classes)
    keys = compat.row_of_entry.astype(np.int64) * n + compat.indices.astype(np.int64)  # sorted: CSR rows, sorted
    want = cs.astype(np.int64) * n + cd.astype(np.int64)
    pos = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
    return np.where((keys.size > 0) & (keys[pos] == want), pos, -1)


def _class_pairs(
    fl: FlowArrays, s: np.ndarray[Any, Any], d: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Every (pair position, supply class, demand class) combination of the pairs' class lists."""
    owner, cls_s, cls_d = [], [], []
    ws = int(np.diff(fl.class_indptr).max(initial=0))
    for a in range(ws):
        for b in range(ws):
            ia, ib = fl.class_indptr[s] + a, fl.class_indptr[d] + b
            ok = (ia < fl.class_indptr[s + 1]) & (ib < fl.class_indptr[d + 1])
            idx = np.flatnonzero(ok)
            owner.append(idx)
            cls_s.append(fl.class_index[ia[idx]])
            cls_d.append(fl.class_index[ib[idx]])
    return np.concatenate(owner), np.concatenate(cls_s), np.concatenate(cls_d)


def direct_scores(
    index: MatchIndex, supply_rows: np.ndarray[Any, Any], demand_rows: np.ndarray[Any, Any], params: MatchParams
) -> np.ndarray[Any, Any]:
    """The best strict score of each (supply, demand) pair as a direct exchange that needs no treatment; NaN
    when it does not pass the strict rules (or only with a treatment the catalogue asks for)."""
    s = np.asarray(supply_rows, np.int64)
    d = np.asarray(demand_rows, np.int64)
    out = np.full(s.size, np.nan)
    if not s.size:
        return out
    owner, cs, cd = _class_pairs(index.flows, s, d)
    k = _entries(index.compat, cs, cd)
    has = k >= 0
    owner, k = owner[has], k[has]
    if not k.size:
        return out
    sc = score_pairs(index, s[owner].astype(np.int32), d[owner].astype(np.int32), k.astype(np.int32), params, 0)
    good = sc.passes & ((sc.reasons.astype(np.int64) & int(Reason.NEEDS_TREATMENT)) == 0)
    np.fmax.at(out, owner[good], sc.score[good].astype(np.float64))
    return out


def find_chains(
    index: MatchIndex,
    services: ServiceIndex | Sequence[ServiceSpec],
    params: MatchParams,
    context: SupplyContext | None = None,
    supply_rows: np.ndarray[Any, Any] | None = None,
    *,
    top_k: int = 5,
    pairs: Eligible | None = None,
) -> Chains:
    """The best chains supply → service → demand for the given supplies (default: every supply), at most
    `top_k` per supply, best first within each supply."""
    sx = _services(services)
    specs = sx.specs
    pairs = pairs if pairs is not None else eligible(index, sx, params, context, supply_rows)
    virtual, cop = transform(index, pairs, specs)
    prepared = prepare_queries(virtual)
    weights = params.weights.vector()
    radius = params.effective_radius_km()
    cache: dict[tuple[int, int], MatchParams] = {}
    cols: dict[str, list[Any]] = {k: [] for k in ("s", "v", "d", "l1", "l2", "sc", "sub", "rs", "k", "pair", "cov")}
    step_params = replace(params, top_k=max(top_k, 1) * 2)
    for i in range(pairs.n):
        pos = int(pairs.service[i])
        spec = specs[pos]
        cat = int(virtual.category[i])
        p = cache.get((pos, cat))
        if p is None:
            p = cache[(pos, cat)] = _params_for(step_params, spec, cat)
        r = match_one(index, prepared, i, p)
        if r.demand_row.size == 0:
            continue
        # The service provider may be the receiver itself (a district-heating utility running the heat pump, as
        # Stockholm Exergi does): still a chain, the service step is what makes the exchange work.
        keep = r.demand_row >= 0
        if not keep.any():
            continue
        sub = r.sub_scores[keep].astype(np.float64)
        total = r.score[keep].astype(np.float64)
        treated = (r.reasons[keep].astype(np.int64) & int(Reason.NEEDS_TREATMENT)) != 0
        if spec.transform.removes_treatment_need and treated.any():
            q_new = np.minimum(1.0, sub[:, QUALITY] / QUALITY_NEEDS_TREATMENT)
            total = np.where(treated, total + weights[QUALITY] * (q_new - sub[:, QUALITY]), total)
            sub[:, QUALITY] = np.where(treated, q_new, sub[:, QUALITY])
        m = int(keep.sum())
        leg1 = float(pairs.leg1_km[i])
        bound = float(radius[int(index.flows.category[pairs.supply_row[i]])])
        factor = PARTY_FACTOR * (1.0 - LEG1_PENALTY * min(1.0, leg1 / bound if bound > 0 else 0.0))
        cols["s"].append(np.full(m, pairs.supply_row[i], np.int64))
        cols["v"].append(np.full(m, pos, np.int32))
        cols["d"].append(r.demand_row[keep].astype(np.int64))
        cols["l1"].append(np.full(m, leg1))
        cols["l2"].append(r.distance_km[keep].astype(np.float64))
        cols["sc"].append(np.clip(total, 0.0, 1.0) * factor)
        cols["sub"].append(sub)
        cols["rs"].append(r.reasons[keep])
        cols["k"].append(r.class_pair[keep])
        cols["pair"].append(np.full(m, i, np.int64))
        cols["cov"].append(r.coverage[keep].astype(np.float64))
    if not cols["s"]:
        empty = np.zeros(0)
        return Chains(
            empty.astype(np.int64), empty.astype(np.int32), empty.astype(np.int64), empty, empty, empty, empty,
            np.zeros((0, len(SCORE_NAMES))), empty.astype(np.uint16), empty.astype(np.int32), empty, empty, empty,
        )  # fmt: skip
    s = np.concatenate(cols["s"])
    d = np.concatenate(cols["d"])
    score = np.concatenate(cols["sc"])
    direct = direct_scores(index, s, d, replace(params, fallback=False))
    keep = np.isnan(direct) | (direct < score)
    dropped = int((~keep).sum())
    pair_idx = np.concatenate(cols["pair"])
    # best first within each supply, then at most top_k per supply and one chain per (supply, demand)
    order = np.lexsort((-score, s))
    order = order[keep[order]]
    seen: set[tuple[int, int]] = set()
    per_supply: dict[int, int] = {}
    chosen = []
    for j in order.tolist():
        key = (int(s[j]), int(d[j]))
        if key in seen or per_supply.get(key[0], 0) >= top_k:
            continue
        seen.add(key)
        per_supply[key[0]] = per_supply.get(key[0], 0) + 1
        chosen.append(j)
    sel = np.asarray(chosen, np.int64)
    sub_all = np.concatenate(cols["sub"])
    return Chains(
        supply_row=s[sel],
        service=np.concatenate(cols["v"])[sel],
        demand_row=d[sel],
        leg1_km=np.concatenate(cols["l1"])[sel],
        leg2_km=np.concatenate(cols["l2"])[sel],
        score=score[sel],
        leg2_score=np.clip(sub_all[sel] @ weights.astype(np.float64), 0.0, 1.0),
        sub_scores=sub_all[sel],
        reasons=np.concatenate(cols["rs"])[sel],
        class_pair=np.concatenate(cols["k"])[sel],
        direct_score=direct[sel],
        cop=cop[pair_idx[sel]],
        coverage=np.concatenate(cols["cov"])[sel],
        dropped_direct=dropped,
    )


# --- the split rule -----------------------------------------------------------------------------------------


def split_shares(total: float, roles: Sequence[str], weights: Mapping[str, float] | None = None) -> list[float]:
    """Each party's share of the chain's total (NPV): proportional to its bargaining weight, equal by default.

    With transferable money and no exchange if any party walks away, the Nash bargaining solution gives every
    party its fallback plus an equal share of the surplus (Nash 1950, "The bargaining problem", Econometrica
    18(2): 155-162); weights make it the generalised (asymmetric) solution. Each party's own costs are paid from
    the chain's flows first (the service fee covers the service's costs), so only the surplus is split. The last
    share is the remainder, so the shares sum to the total exactly."""
    if not roles:
        return []
    w = np.array([max(0.0, float((weights or {}).get(r, 1.0))) for r in roles], np.float64)
    if w.sum() <= 0:
        w[:] = 1.0
    shares = [total * float(x) / float(w.sum()) for x in w[:-1]]
    shares.append(total - sum(shares))
    return shares


# --- cycles -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """An exchange from one organisation to another: a match or a chain (`ref` is its id), with its score."""

    source: str
    target: str
    ref: str
    score: float
    via: str = "match"  # match | chain


def find_cycles(edges: Iterable[Edge], start: str, max_length: int = 4, limit: int = 20) -> list[list[Edge]]:
    """Simple cycles start → … → start of 2..max_length organisations, best (mean score) first.

    Bounded depth-first search from `start` over the best edge per (source, target): at most max_length steps,
    no organisation twice, at most `limit` cycles kept (stops exploring after 50 × limit found)."""
    best: dict[tuple[str, str], Edge] = {}
    for e in edges:
        if e.source == e.target:
            continue
        old = best.get((e.source, e.target))
        if old is None or e.score > old.score:
            best[(e.source, e.target)] = e
    out_edges: dict[str, list[Edge]] = {}
    for e in best.values():
        out_edges.setdefault(e.source, []).append(e)
    found: list[list[Edge]] = []
    path: list[Edge] = []
    on_path = {start}
    cap = 50 * max(limit, 1)

    def visit(node: str) -> None:
        if len(found) >= cap:
            return
        for e in sorted(out_edges.get(node, []), key=lambda x: -x.score):
            if e.target == start and len(path) + 1 >= 2:
                found.append([*path, e])
            elif e.target not in on_path and len(path) + 1 < max_length:
                on_path.add(e.target)
                path.append(e)
                visit(e.target)
                path.pop()
                on_path.discard(e.target)

    visit(start)
    found.sort(key=lambda c: (-sum(e.score for e in c) / len(c), len(c)))
    return found[:limit]


__all__ = [
    "KINDS",
    "PARTY_FACTOR",
    "REJECTION_TEXT",
    "Chains",
    "Edge",
    "Eligible",
    "Rejection",
    "ServiceIndex",
    "ServiceSpec",
    "SupplyContext",
    "Transform",
    "check",
    "cop_of",
    "direct_scores",
    "eligible",
    "family_of",
    "find_chains",
    "find_cycles",
    "split_shares",
    "transform",
    "yearly_factor",
]
