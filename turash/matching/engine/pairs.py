"""One pair, end to end: pre-filter rules, the six scorers, the weighted total.

`evaluate_pair` is the kernel every path shares (bulk matching, single query, fallback, explanation), so a
pair gets the same verdict and the same numbers whichever way it is reached. `score_pairs` runs it over pair
arrays, e.g. to re-score stored matches or to check the engine against a reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from turash.matching.engine._jit import jit_inline, jit_parallel, prange
from turash.matching.engine.features import PACK_CAT_SHIFT, R_PACK, FlowRow, load_row
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.prefilter import (
    PV_LIFT,
    PV_RADIUS,
    PV_UNKNOWN_TRUST,
    PV_WEIGHTS,
    ClassPairRow,
    ParamTuple,
    check_gates,
    chord2_rows,
    load_class_pair,
    param_vector,
    pt_from_array,
)
from turash.matching.engine.scorers import score_all, weighted_total
from turash.matching.engine.types import F32, F64, I32, N_SCORES, U8, U16, Bool, MatchParams

PairVerdict = tuple[bool, float, float, float, float, float, float, float, float, int, int, float, float, float]


@jit_inline
def evaluate_pair(
    a: FlowRow, b: FlowRow, cp: ClassPairRow, weight: float, chord2: float, pt: ParamTuple
) -> PairVerdict:
    """Supply row a, demand row b, through class pair cp whose classes the flows hold with weights product
    `weight`: (passes, total, quality, temporal, quantity, economic, trust, distance score, distance km,
    relaxations, reasons, temperature margin, log10 coverage, class fit w_s·w_d·fit)."""
    ok, relax, unknown, dist, margin, lcov = check_gates(a, b, cp, chord2, pt)
    if not ok:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dist, 0, 0, math.nan, math.nan, 0.0
    cat = (a[R_PACK] >> PACK_CAT_SHIFT) & 15
    fit_w = weight * cp[0]
    q, t, qty, e, tr, ds, reasons = score_all(
        a,
        b,
        fit_w,
        cp[5],
        relax,
        unknown,
        dist,
        margin,
        lcov,
        pt[PV_RADIUS + cat],
        pt[PV_LIFT],
        pt[PV_UNKNOWN_TRUST],
    )
    total = weighted_total(pt, PV_WEIGHTS, q, t, qty, e, tr, ds)
    return True, total, q, t, qty, e, tr, ds, dist, relax, reasons, margin, lcov, fit_w


@jit_inline
def class_weight_of(indptr: I32, index: I32, weight: F32, row: int, cls: int) -> float:
    """Weight of class `cls` among the classes of flow `row` (0 when it has not that class)."""
    for e in range(indptr[row], indptr[row + 1]):
        if index[e] == cls:
            return float(weight[e])
    return 0.0


@jit_parallel
def _score_loop(
    ff: F32,
    fi: I32,
    s: I32,
    d: I32,
    k: I32,
    relax_allowed: U8,
    c_row: I32,
    c_idx: I32,
    cindptr: I32,
    cindex: I32,
    cweight: F32,
    c_fit: F32,
    c_min_t: F32,
    c_max_t: F32,
    c_min_pu: F32,
    c_min_pr: F32,
    c_treat: Bool,
    pvs: F64,
) -> tuple[Bool, F32, F32, F32, U8, U16, F32, F32, F32]:
    n = s.shape[0]
    ok = np.zeros(n, np.bool_)
    total = np.zeros(n, np.float32)
    sub = np.zeros((n, 6), np.float32)
    dist = np.zeros(n, np.float32)
    relax = np.zeros(n, np.uint8)
    reasons = np.zeros(n, np.uint16)
    margin = np.full(n, np.nan, np.float32)
    lcov = np.full(n, np.nan, np.float32)
    fitw = np.zeros(n, np.float32)
    for i in prange(n):
        si, di, ki = s[i], d[i], k[i]
        w = class_weight_of(cindptr, cindex, cweight, si, c_row[ki]) * class_weight_of(
            cindptr, cindex, cweight, di, c_idx[ki]
        )
        a = load_row(ff, fi, si)
        b = load_row(ff, fi, di)
        cp = load_class_pair(c_fit, c_min_t, c_max_t, c_min_pu, c_min_pr, c_treat, ki)
        r = evaluate_pair(a, b, cp, w, chord2_rows(a, b), pt_from_array(pvs[relax_allowed[i] & 31]))
        ok[i] = r[0] and w > 0
        total[i] = r[1]
        sub[i, 0] = r[2]
        sub[i, 1] = r[3]
        sub[i, 2] = r[4]
        sub[i, 3] = r[5]
        sub[i, 4] = r[6]
        sub[i, 5] = r[7]
        dist[i] = r[8]
        relax[i] = r[9]
        reasons[i] = r[10]
        margin[i] = r[11]
        lcov[i] = r[12]
        fitw[i] = r[13]
    return ok, total, sub, dist, relax, reasons, margin, lcov, fitw


@dataclass(frozen=True, eq=False)
class PairScores:
    """Verdict and numbers for pair arrays (see `evaluate_pair`)."""

    passes: Bool
    score: F32
    sub_scores: F32  # (n, 6) in SCORE_NAMES order
    distance_km: F32
    relaxation: U8
    reasons: U16
    temperature_margin_k: F32
    log_coverage: F32
    fit: F32


@lru_cache(maxsize=64)
def param_table(params: MatchParams) -> F64:
    """Parameter vectors for every relaxation set (row = Relaxation bits), so pairs can mix them."""
    out = np.stack([param_vector(params, r) for r in range(32)])
    out.setflags(write=False)
    return out


def score_pairs(
    index: MatchIndex,
    supply_rows: I32,
    demand_rows: I32,
    class_pairs: I32,
    params: MatchParams,
    relax_allowed: U8 | int = 0,
) -> PairScores:
    """Pre-filter and score pairs (rows of `index`, compatibility entries) in one vectorised pass.

    `relax_allowed` (per pair or one value) are the fallback relaxations the rules may use.
    """
    s = np.ascontiguousarray(supply_rows, np.int32)
    ra = np.broadcast_to(np.asarray(relax_allowed, np.uint8), s.shape).astype(np.uint8)
    c = index.compat
    fl = index.flows
    out = _score_loop(
        index.table.ff,
        index.table.fi,
        s,
        np.ascontiguousarray(demand_rows, np.int32),
        np.ascontiguousarray(class_pairs, np.int32),
        ra,
        index.compat_row,
        c.indices,
        fl.class_indptr,
        fl.class_index,
        fl.class_weight,
        c.fit,
        c.min_temperature_c,
        c.max_temperature_c,
        c.min_purity_pct,
        c.min_pressure_bar,
        c.needs_treatment,
        param_table(params),
    )
    return PairScores(*out)


assert N_SCORES == 6
