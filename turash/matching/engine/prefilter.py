"""Pre-filter: the hard rules a supply→demand pair must pass before it is scored.

Rules, in the order they are checked (cheapest first):
1. distance ≤ the radius of the supply's category (capped by the global maximum);
2. different organisations; inferred flows only when asked for; a hazardous supply only to a receiver with a
   hazardous-waste permit;
3. availability windows overlap by at least one day, and the month masks share at least one month;
4. quality: for heat and steam, supply temperature ≥ demand temperature + approach ΔT; the class pair's
   minimum / maximum supply temperature; supply purity ≥ max(demand's minimum, class pair's minimum);
   supply pressure ≥ max(demand's minimum, class pair's minimum);
5. quantity: the supply covers at least `min_coverage` of the demand (yearly amounts of the same family).
A value that is unknown never fails a rule: the rule passes and the pair's trust is reduced (unknown bits).
Class compatibility is not checked here: candidates only ever come from compatible class pairs.

Fallback relaxations (`Relaxation` bits allowed in the parameter vector) turn some failures into flags:
RADIUS (search up to `relax_radius_factor` × radius), HEAT_PUMP (a supply up to `heat_pump_max_lift_k` too
cold), TREATMENT (purity too low), PRESSURE (pressure too low), PARTIAL_QUANTITY (coverage too low).

Everything is a scalar kernel (`check_gates`, on two flow rows as tuples of scalars) so that the candidate
loop calls it per pair with no intermediate arrays; `prefilter_pairs` runs it over pair arrays.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from turash.matching.engine._jit import jit, jit_inline
from turash.matching.engine.features import (
    FLAG_HAZARDOUS,
    FLAG_INFERRED,
    FLAG_PERMIT,
    FLOGQ,
    FPRESS,
    FPURITY,
    FTEMP,
    FX,
    FY,
    FZ,
    PACK_CAT_SHIFT,
    PACK_FAMILY_SHIFT,
    PACK_FLAGS_SHIFT,
    R_FROM,
    R_ORG,
    R_PACK,
    R_TO,
    FlowRow,
    load_row,
)
from turash.matching.engine.geo import EARTH_RADIUS_KM
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.types import (
    F32,
    F64,
    I32,
    N_CATEGORIES,
    U8,
    U16,
    Bool,
    Category,
    MatchParams,
    Reason,
    Relaxation,
)

# Layout of the parameter vector the kernels read (float64).
PV_RADIUS = 0  # 7: strict radius km per category (after the global cap)
PV_SEARCH = PV_RADIUS + N_CATEGORIES  # 7: search radius km per category (× relax factor when RADIUS allowed)
PV_APPROACH = PV_SEARCH + N_CATEGORIES
PV_LOG_MIN_COVERAGE = PV_APPROACH + 1
PV_LIFT = PV_LOG_MIN_COVERAGE + 1
PV_UNKNOWN_TRUST = PV_LIFT + 1
PV_WEIGHTS = PV_UNKNOWN_TRUST + 1  # 6, normalised
PV_INCLUDE_INFERRED = PV_WEIGHTS + 6
PV_RELAX = PV_INCLUDE_INFERRED + 1
PV_LEN = PV_RELAX + 1

RELAX_QUALITY = int(Relaxation.HEAT_PUMP | Relaxation.TREATMENT | Relaxation.PRESSURE)
# The fallback's steps, each adding to the previous one.
FALLBACK_STEPS: tuple[int, ...] = (
    int(Relaxation.RADIUS),
    int(Relaxation.RADIUS) | RELAX_QUALITY,
    int(Relaxation.RADIUS) | RELAX_QUALITY | int(Relaxation.PARTIAL_QUANTITY),
)

_R_RADIUS = int(Relaxation.RADIUS)
_R_HEAT_PUMP = int(Relaxation.HEAT_PUMP)
_R_TREATMENT = int(Relaxation.TREATMENT)
_R_PRESSURE = int(Relaxation.PRESSURE)
_R_PARTIAL = int(Relaxation.PARTIAL_QUANTITY)
_U_TEMPERATURE = int(Reason.TEMPERATURE_UNKNOWN)
_U_PRESSURE = int(Reason.PRESSURE_UNKNOWN)
_U_PURITY = int(Reason.PURITY_UNKNOWN)
_HEAT = int(Category.HEAT)
_STEAM = int(Category.STEAM)
_TWO_R = 2.0 * EARTH_RADIUS_KM

ParamTuple = tuple[float, ...]
# A compatibility entry as scalars: (fit, min temperature, max temperature, min purity, min pressure,
# needs treatment).
ClassPairRow = tuple[float, float, float, float, float, bool]


@lru_cache(maxsize=256)
def _param_vector(params: MatchParams, relax: int) -> F64:
    pv = np.zeros(PV_LEN, np.float64)
    radius = params.effective_radius_km()
    pv[PV_RADIUS : PV_RADIUS + N_CATEGORIES] = radius
    factor = params.relax_radius_factor if relax & _R_RADIUS else 1.0
    pv[PV_SEARCH : PV_SEARCH + N_CATEGORIES] = radius * factor
    pv[PV_APPROACH] = params.approach_dt_k
    pv[PV_LOG_MIN_COVERAGE] = math.log10(params.min_coverage) if params.min_coverage > 0 else -math.inf
    pv[PV_LIFT] = params.heat_pump_max_lift_k
    pv[PV_UNKNOWN_TRUST] = params.unknown_trust_factor
    pv[PV_WEIGHTS : PV_WEIGHTS + 6] = params.weights.vector()
    pv[PV_INCLUDE_INFERRED] = 1.0 if params.include_inferred else 0.0
    pv[PV_RELAX] = float(relax)
    pv.setflags(write=False)
    return pv


def param_vector(params: MatchParams, relax: int = 0) -> F64:
    """`params` as the kernels read them, with the fallback relaxations `relax` allowed (cached)."""
    return _param_vector(params, int(relax))


@jit_inline
def pt_from_array(a: F64) -> ParamTuple:
    """The parameter vector as a tuple (numba's parallel loops cannot take tuples as arguments, and a tuple's
    length must be known when compiling: the PV_LEN items are spelled out)."""
    return (
        float(a[0]),
        float(a[1]),
        float(a[2]),
        float(a[3]),
        float(a[4]),
        float(a[5]),
        float(a[6]),
        float(a[7]),
        float(a[8]),
        float(a[9]),
        float(a[10]),
        float(a[11]),
        float(a[12]),
        float(a[13]),
        float(a[14]),
        float(a[15]),
        float(a[16]),
        float(a[17]),
        float(a[18]),
        float(a[19]),
        float(a[20]),
        float(a[21]),
        float(a[22]),
        float(a[23]),
        float(a[24]),
        float(a[25]),
    )


assert PV_LEN == 26, "update pt_from_array"


@lru_cache(maxsize=256)
def param_tuple(params: MatchParams, relax: int = 0) -> ParamTuple:
    """`param_vector` as a tuple of floats: kernels take it by value (no reference counting per call)."""
    return tuple(float(v) for v in _param_vector(params, int(relax)))


@jit_inline
def arc_km(chord2: float) -> float:
    """Great-circle km from a squared unit-sphere chord (series for asin below 0.2: error < 1e-9)."""
    h = 0.5 * math.sqrt(chord2)
    if h < 0.1:
        h2 = h * h
        return _TWO_R * h * (1.0 + h2 * (1.0 / 6.0 + h2 * (3.0 / 40.0 + h2 * (5.0 / 112.0))))
    return _TWO_R * math.asin(min(h, 1.0))


@jit_inline
def chord2_rows(a: FlowRow, b: FlowRow) -> float:
    dx = a[FX] - b[FX]
    dy = a[FY] - b[FY]
    dz = a[FZ] - b[FZ]
    return dx * dx + dy * dy + dz * dz


@jit_inline
def load_class_pair(
    c_fit: F32, c_min_t: F32, c_max_t: F32, c_min_pu: F32, c_min_pr: F32, c_treat: Bool, k: int
) -> ClassPairRow:
    return (
        float(c_fit[k]),
        float(c_min_t[k]),
        float(c_max_t[k]),
        float(c_min_pu[k]),
        float(c_min_pr[k]),
        bool(c_treat[k]),
    )


@jit_inline
def check_gates(
    a: FlowRow, b: FlowRow, cp: ClassPairRow, chord2: float, pt: ParamTuple
) -> tuple[bool, int, int, float, float, float]:
    """Pass/fail of the pair (supply row a, demand row b) through class pair `cp`.

    Returns (passes, relaxations used, unknown-value reason bits, distance km, temperature margin K (NaN when
    no temperature rule could be evaluated), log10 coverage (NaN unknown)).
    """
    nan = math.nan
    packs = a[R_PACK]
    packd = b[R_PACK]
    cat = (packs >> PACK_CAT_SHIFT) & 15
    allowed = int(pt[PV_RELAX])
    relax = 0
    unknown = 0
    dist = arc_km(chord2)
    if dist > pt[PV_RADIUS + cat]:
        if dist > pt[PV_SEARCH + cat] or not (allowed & _R_RADIUS):
            return False, 0, 0, dist, nan, nan
        relax |= _R_RADIUS
    if a[R_ORG] == b[R_ORG]:
        return False, 0, 0, dist, nan, nan
    flags_s = (packs >> PACK_FLAGS_SHIFT) & 255
    flags_d = (packd >> PACK_FLAGS_SHIFT) & 255
    if pt[PV_INCLUDE_INFERRED] == 0.0 and ((flags_s | flags_d) & FLAG_INFERRED):
        return False, 0, 0, dist, nan, nan
    if (flags_s & FLAG_HAZARDOUS) and not (flags_d & FLAG_PERMIT):
        return False, 0, 0, dist, nan, nan
    if min(a[R_TO], b[R_TO]) < max(a[R_FROM], b[R_FROM]):
        return False, 0, 0, dist, nan, nan
    if (packs & packd & 0xFFF) == 0:
        return False, 0, 0, dist, nan, nan

    ts = a[FTEMP]
    margin = nan
    if cat in (_HEAT, _STEAM):
        td = b[FTEMP]
        if math.isnan(ts) or math.isnan(td):
            unknown |= _U_TEMPERATURE
        else:
            margin = ts - (td + pt[PV_APPROACH])
    min_t = cp[1]
    if not math.isnan(min_t):
        if math.isnan(ts):
            unknown |= _U_TEMPERATURE
        else:
            m2 = ts - min_t
            margin = m2 if math.isnan(margin) else min(margin, m2)
    max_t = cp[2]
    if not math.isnan(max_t):
        if math.isnan(ts):
            unknown |= _U_TEMPERATURE
        elif ts > max_t:
            return False, 0, 0, dist, nan, nan
    if margin < 0.0:
        if not (allowed & _R_HEAT_PUMP) or margin < -pt[PV_LIFT]:
            return False, 0, 0, dist, nan, nan
        relax |= _R_HEAT_PUMP

    req = b[FPURITY]
    if math.isnan(req) or cp[3] > req:
        req = cp[3]
    if not math.isnan(req):
        ps = a[FPURITY]
        if math.isnan(ps):
            unknown |= _U_PURITY
        elif ps < req:
            if not (allowed & _R_TREATMENT):
                return False, 0, 0, dist, nan, nan
            relax |= _R_TREATMENT

    req = b[FPRESS]
    if math.isnan(req) or cp[4] > req:
        req = cp[4]
    if not math.isnan(req):
        prs = a[FPRESS]
        if math.isnan(prs):
            unknown |= _U_PRESSURE
        elif prs < req:
            if not (allowed & _R_PRESSURE):
                return False, 0, 0, dist, nan, nan
            relax |= _R_PRESSURE

    lcov = nan
    fam_s = (packs >> PACK_FAMILY_SHIFT) & 15
    if fam_s > 0 and fam_s == ((packd >> PACK_FAMILY_SHIFT) & 15):
        lcov = a[FLOGQ] - b[FLOGQ]
        if lcov < pt[PV_LOG_MIN_COVERAGE]:
            if not (allowed & _R_PARTIAL):
                return False, 0, 0, dist, nan, nan
            relax |= _R_PARTIAL
    return True, relax, unknown, dist, margin, lcov


@jit
def _prefilter_loop(
    ff: F32,
    fi: I32,
    s: I32,
    d: I32,
    k: I32,
    cfit: F32,
    cmt: F32,
    cxt: F32,
    cpu: F32,
    cpr: F32,
    ctr: Bool,
    pt: ParamTuple,
) -> tuple[Bool, U8, U16, F32]:
    n = s.shape[0]
    ok = np.zeros(n, np.bool_)
    relax = np.zeros(n, np.uint8)
    unknown = np.zeros(n, np.uint16)
    dist = np.zeros(n, np.float32)
    for i in range(n):
        a = load_row(ff, fi, s[i])
        b = load_row(ff, fi, d[i])
        cp = load_class_pair(cfit, cmt, cxt, cpu, cpr, ctr, k[i])
        o, r, u, dk, _m, _c = check_gates(a, b, cp, chord2_rows(a, b), pt)
        ok[i] = o
        relax[i] = r
        unknown[i] = u
        dist[i] = dk
    return ok, relax, unknown, dist


def prefilter_pairs(
    index: MatchIndex, supply_rows: I32, demand_rows: I32, class_pairs: I32, params: MatchParams, relax: int = 0
) -> tuple[Bool, U8, U16, F32]:
    """Run the rules over pair arrays (rows of `index`, compatibility entries).

    Returns (passes, relaxations used, unknown-value bits, distance km) per pair.
    """
    c = index.compat
    return _prefilter_loop(
        index.table.ff,
        index.table.fi,
        np.ascontiguousarray(supply_rows, np.int32),
        np.ascontiguousarray(demand_rows, np.int32),
        np.ascontiguousarray(class_pairs, np.int32),
        c.fit,
        c.min_temperature_c,
        c.max_temperature_c,
        c.min_purity_pct,
        c.min_pressure_bar,
        c.needs_treatment,
        param_tuple(params, relax),
    )
