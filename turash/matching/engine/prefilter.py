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

The rules are checked per pair by `pairs.evaluate`, the one kernel every path shares (bulk matching, single
query, fallback, re-scoring); `prefilter_pairs` runs it over pair arrays and reports the rules' verdict.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from turash.matching.engine import constants as C
from turash.matching.engine._jit import jit
from turash.matching.engine.geo import EARTH_RADIUS_KM
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
    Relaxation,
)

if TYPE_CHECKING:
    from turash.matching.engine.index import MatchIndex

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
# 7 × 4: the economic scorer's link term by (supply category, quantity family + 1; 0 = unknown family): for pipes
# B of the pipe cost A + B·√Q per km·year, for trucks the handling cost per unit (constants, from the economics).
PV_LINK = PV_RELAX + 1
PV_LEN = PV_LINK + N_CATEGORIES * 4


def _link_terms() -> F64:
    out = np.zeros((N_CATEGORIES, 4), np.float64)
    for c in Category:
        for f in (C.FAMILY_MASS, C.FAMILY_ENERGY, C.FAMILY_VOLUME):
            if c in C.PIPE_CATEGORIES:
                out[c, f + 1] = C.PIPE_SQRT_EUR_PER_KM_YEAR.get((c, f), 0.0)
            else:
                out[c, f + 1] = C.TRUCK_EUR_PER_UNIT[f]
    return out.ravel()


_LINK_TERMS = _link_terms()

RELAX_QUALITY = int(Relaxation.HEAT_PUMP | Relaxation.TREATMENT | Relaxation.PRESSURE)
# The fallback's steps, each adding to the previous one.
FALLBACK_STEPS: tuple[int, ...] = (
    int(Relaxation.RADIUS),
    int(Relaxation.RADIUS) | RELAX_QUALITY,
    int(Relaxation.RADIUS) | RELAX_QUALITY | int(Relaxation.PARTIAL_QUANTITY),
)
_TWO_R = 2.0 * EARTH_RADIUS_KM

ParamTuple = tuple[float, ...]


@lru_cache(maxsize=256)
def _param_vector(params: MatchParams, relax: int) -> F64:
    pv = np.zeros(PV_LEN, np.float64)
    radius = params.effective_radius_km()
    pv[PV_RADIUS : PV_RADIUS + N_CATEGORIES] = radius
    factor = params.relax_radius_factor if relax & int(Relaxation.RADIUS) else 1.0
    pv[PV_SEARCH : PV_SEARCH + N_CATEGORIES] = radius * factor
    pv[PV_APPROACH] = params.approach_dt_k
    pv[PV_LOG_MIN_COVERAGE] = math.log10(params.min_coverage) if params.min_coverage > 0 else -math.inf
    pv[PV_LIFT] = params.heat_pump_max_lift_k
    pv[PV_UNKNOWN_TRUST] = params.unknown_trust_factor
    pv[PV_WEIGHTS : PV_WEIGHTS + 6] = params.weights.vector()
    pv[PV_INCLUDE_INFERRED] = 1.0 if params.include_inferred else 0.0
    pv[PV_RELAX] = float(relax)
    pv[PV_LINK:] = _LINK_TERMS
    pv.setflags(write=False)
    return pv


def param_vector(params: MatchParams, relax: int = 0) -> F64:
    """`params` as the kernels read them, with the fallback relaxations `relax` allowed (cached)."""
    return _param_vector(params, int(relax))


@lru_cache(maxsize=64)
def param_table(params: MatchParams) -> F64:
    """Parameter vectors for every relaxation set (row = allowed `Relaxation` bits), so pairs can mix them."""
    out = np.stack([param_vector(params, r) for r in range(32)])
    out.setflags(write=False)
    return out


def param_tuple(params: MatchParams, relax: int = 0) -> ParamTuple:
    """`param_vector` as a tuple of floats (hashable: a cache key for what depends on the parameters)."""
    return tuple(float(v) for v in _param_vector(params, int(relax)))


@jit
def arc_km(chord2: float) -> float:
    """Great-circle km from a squared unit-sphere chord (series for asin below 0.2: error < 1e-9)."""
    h = 0.5 * math.sqrt(chord2)
    if h < 0.1:
        h2 = h * h
        return _TWO_R * h * (1.0 + h2 * (1.0 / 6.0 + h2 * (3.0 / 40.0 + h2 * (5.0 / 112.0))))
    return _TWO_R * math.asin(min(h, 1.0))


def prefilter_pairs(
    index: MatchIndex, supply_rows: I32, demand_rows: I32, class_pairs: I32, params: MatchParams, relax: int = 0
) -> tuple[Bool, U8, U16, F32]:
    """Run the rules over pair arrays (rows of `index`, compatibility entries).

    Returns (passes, relaxations used, unknown-value bits, distance km) per pair.
    """
    from turash.matching.engine.pairs import UNKNOWN_BITS, evaluate_pairs

    s = np.ascontiguousarray(supply_rows, np.int32)
    out = evaluate_pairs(index, s, demand_rows, class_pairs, np.ones(s.shape[0]), params, relax)
    ok = out.score >= 0
    return ok, out.relax, (out.reasons & UNKNOWN_BITS).astype(np.uint16), out.dist
