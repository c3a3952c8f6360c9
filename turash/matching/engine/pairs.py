"""Pairs, end to end: pre-filter rules, the six scorers, the weighted total.

`evaluate` is the kernel every path shares (bulk matching, single query, fallback, re-scoring, explanation),
so a pair gets the same verdict and the same numbers whichever way it is reached. It runs over a batch of
pairs (the callers collect candidates in small buffers), so the call costs nothing per pair. `score_pairs`
runs it over pair arrays, e.g. to re-score stored matches or to check the engine against a reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from turash.matching.engine._jit import jit, parallel_map, prefetch
from turash.matching.engine.features import (
    FHOURS,
    FLAG_HAZARDOUS,
    FLAG_INFERRED,
    FLAG_PERMIT,
    FLAG_PRICE_DEFAULT,
    FLOGQ,
    FPRESS,
    FPURITY,
    FQUANTITY,
    FTEMP,
    FTRANSPORT,
    FTRUST,
    FVALUE,
    FX,
    FY,
    FZ,
    IFROM,
    IORG,
    IPACK,
    ITO,
    MONTH_INV,
    PACK_CAT_SHIFT,
    PACK_FAMILY_SHIFT,
    PACK_FLAGS_SHIFT,
    PIPE_CATEGORY_BITS,
)
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.prefilter import (
    PV_APPROACH,
    PV_INCLUDE_INFERRED,
    PV_LIFT,
    PV_LINK,
    PV_LOG_MIN_COVERAGE,
    PV_RADIUS,
    PV_RELAX,
    PV_SEARCH,
    PV_UNKNOWN_TRUST,
    PV_WEIGHTS,
    arc_km,
    param_table,
)
from turash.matching.engine.scorers import (
    popcount12,
    score_distance,
    score_economic,
    score_quality,
    score_quantity,
    score_temporal,
    score_trust,
)
from turash.matching.engine.types import (
    F32,
    F64,
    I32,
    N_SCORES,
    U8,
    U16,
    Bool,
    Category,
    MatchParams,
    Reason,
    Relaxation,
)

_R_RADIUS = int(Relaxation.RADIUS)
_R_HEAT_PUMP = int(Relaxation.HEAT_PUMP)
_R_TREATMENT = int(Relaxation.TREATMENT)
_R_PRESSURE = int(Relaxation.PRESSURE)
_R_PARTIAL = int(Relaxation.PARTIAL_QUANTITY)
_U_TEMPERATURE = int(Reason.TEMPERATURE_UNKNOWN)
_U_PRESSURE = int(Reason.PRESSURE_UNKNOWN)
_U_PURITY = int(Reason.PURITY_UNKNOWN)
UNKNOWN_BITS = _U_TEMPERATURE | _U_PRESSURE | _U_PURITY
_REASON_PRICE_DEFAULT = int(Reason.PRICE_DEFAULT)
_REASON_INFERRED = int(Reason.INFERRED)
_HEAT = int(Category.HEAT)
_STEAM = int(Category.STEAM)
_AHEAD = 16


@jit
def evaluate(
    srec: F32,
    sri: I32,
    drec: F32,
    dri: I32,
    cpf: F32,
    pvt: F64,
    n: int,
    bs: I32,
    bd: I32,
    bk: I32,
    bw: F64,
    allow: U8,
    allow_step: int,
    o_score: F32,
    o_dist: F32,
    o_relax: U8,
    full: bool,
    o_sub: F32,
    o_reasons: U16,
    o_margin: F32,
    o_lcov: F32,
    o_fitw: F32,
) -> int:
    """Pairs i < n: supply row bs[i] of `srec`, demand row bd[i] of `drec` (records, with their int32 views),
    compatibility entry bk[i] (row of `cpf`, see `index.class_pair_table`), the product of the weights the two
    flows give the entry's classes bw[i], fallback relaxations allowed allow[i·allow_step] (row of the parameter
    table `pvt`). Returns how many pass the rules.

    Always written: total score (-1 when the pair fails a rule), distance km, relaxations used. With `full`,
    also the six sub-scores, reason bits, temperature margin (NaN none), log10 coverage (NaN unknown) and
    class fit w·fit; a failing pair gets zeros and NaNs there, as its distance.

    Rules, in order (cheapest first; an unknown value passes and counts against trust): distance within the
    category radius (or the relaxed search radius), different organisations, inferred flows only when
    included, hazardous supplies only to permit holders, windows overlap, months overlap, temperatures
    (approach ΔT for heat and steam, the class pair's min / max), purity, pressure, coverage.
    """
    nan = math.nan
    passed = 0
    cur = -1
    approach = 0.0
    log_min_cov = 0.0
    lift = 0.0
    unknown_factor = 0.0
    w0 = w1 = w2 = w3 = w4 = w5 = 0.0
    incl_inferred = False
    allowed = 0
    for i in range(n):
        a_ = int(allow[i * allow_step])
        if a_ != cur:
            cur = a_
            approach = pvt[cur, PV_APPROACH]
            log_min_cov = pvt[cur, PV_LOG_MIN_COVERAGE]
            lift = pvt[cur, PV_LIFT]
            unknown_factor = pvt[cur, PV_UNKNOWN_TRUST]
            w0 = pvt[cur, PV_WEIGHTS]
            w1 = pvt[cur, PV_WEIGHTS + 1]
            w2 = pvt[cur, PV_WEIGHTS + 2]
            w3 = pvt[cur, PV_WEIGHTS + 3]
            w4 = pvt[cur, PV_WEIGHTS + 4]
            w5 = pvt[cur, PV_WEIGHTS + 5]
            incl_inferred = pvt[cur, PV_INCLUDE_INFERRED] != 0.0
            allowed = int(pvt[cur, PV_RELAX])
        if i + _AHEAD < n:  # the records a few pairs ahead: their loads overlap this pair's work
            prefetch(srec, bs[i + _AHEAD])
            prefetch(drec, bd[i + _AHEAD])
        s = bs[i]
        d = bd[i]
        k = bk[i]
        dx = float(srec[s, FX]) - float(drec[d, FX])
        dy = float(srec[s, FY]) - float(drec[d, FY])
        dz = float(srec[s, FZ]) - float(drec[d, FZ])
        dist = arc_km(dx * dx + dy * dy + dz * dz)
        packs = sri[s, IPACK]
        packd = dri[d, IPACK]
        cat = (packs >> PACK_CAT_SHIFT) & 15
        radius = pvt[cur, PV_RADIUS + cat]
        relax = 0
        unknown = 0
        ok = True
        margin = nan
        lcov = nan
        if dist > radius:
            if dist > pvt[cur, PV_SEARCH + cat] or not (allowed & _R_RADIUS):
                ok = False
            relax |= _R_RADIUS
        flags_s = (packs >> PACK_FLAGS_SHIFT) & 255
        flags_d = (packd >> PACK_FLAGS_SHIFT) & 255
        if ok:  # noqa: SIM102
            if (
                sri[s, IORG] == dri[d, IORG]
                or (not incl_inferred and ((flags_s | flags_d) & FLAG_INFERRED))
                or ((flags_s & FLAG_HAZARDOUS) and not (flags_d & FLAG_PERMIT))
                or min(sri[s, ITO], dri[d, ITO]) < max(sri[s, IFROM], dri[d, IFROM])
                or (packs & packd & 0xFFF) == 0
            ):
                ok = False
        ts = float(srec[s, FTEMP])
        if ok:
            if cat == _HEAT or cat == _STEAM:  # noqa: SIM109
                td = float(drec[d, FTEMP])
                if math.isnan(ts) or math.isnan(td):
                    unknown |= _U_TEMPERATURE
                else:
                    margin = ts - (td + approach)
            min_t = float(cpf[k, 1])
            if not math.isnan(min_t):
                if math.isnan(ts):
                    unknown |= _U_TEMPERATURE
                else:
                    m2 = ts - min_t
                    margin = m2 if math.isnan(margin) else min(margin, m2)
            max_t = float(cpf[k, 2])
            if not math.isnan(max_t):
                if math.isnan(ts):
                    unknown |= _U_TEMPERATURE
                elif ts > max_t:
                    ok = False
        if ok and margin < 0.0:
            if not (allowed & _R_HEAT_PUMP) or margin < -lift:
                ok = False
            relax |= _R_HEAT_PUMP
        if ok:
            req = float(drec[d, FPURITY])
            cpu = float(cpf[k, 3])
            if math.isnan(req) or cpu > req:
                req = cpu
            if not math.isnan(req):
                ps = float(srec[s, FPURITY])
                if math.isnan(ps):
                    unknown |= _U_PURITY
                elif ps < req:
                    if not (allowed & _R_TREATMENT):
                        ok = False
                    relax |= _R_TREATMENT
        if ok:
            req = float(drec[d, FPRESS])
            cpr = float(cpf[k, 4])
            if math.isnan(req) or cpr > req:
                req = cpr
            if not math.isnan(req):
                prs = float(srec[s, FPRESS])
                if math.isnan(prs):
                    unknown |= _U_PRESSURE
                elif prs < req:
                    if not (allowed & _R_PRESSURE):
                        ok = False
                    relax |= _R_PRESSURE
        fam_s = (packs >> PACK_FAMILY_SHIFT) & 15
        same = fam_s > 0 and fam_s == ((packd >> PACK_FAMILY_SHIFT) & 15)
        if ok and same:
            lcov = float(srec[s, FLOGQ]) - float(drec[d, FLOGQ])
            if lcov < log_min_cov:
                if not (allowed & _R_PARTIAL):
                    ok = False
                relax |= _R_PARTIAL
        o_dist[i] = dist
        if not ok:
            o_score[i] = -1.0
            o_relax[i] = 0
            if full:
                for j in range(6):
                    o_sub[i, j] = 0.0
                o_reasons[i] = 0
                o_margin[i] = nan
                o_lcov[i] = nan
                o_fitw[i] = 0.0
            continue
        passed += 1
        needs_treatment = cpf[k, 5] != 0.0
        fit_w = bw[i] * float(cpf[k, 0])
        quality, reasons = score_quality(fit_w, margin, relax, needs_treatment, lift)
        temporal = score_temporal(
            sri[s, IFROM],
            sri[s, ITO],
            dri[d, IFROM],
            dri[d, ITO],
            packs & 0xFFF,
            packd & 0xFFF,
            float(MONTH_INV[popcount12(packd)]),
            float(srec[s, FHOURS]),
            float(drec[d, FHOURS]),
        )
        quantity, r2 = score_quantity(lcov)
        transport = float(srec[s, FTRANSPORT])
        pipe = (PIPE_CATEGORY_BITS >> cat) & 1
        economic, r3 = score_economic(
            float(srec[s, FVALUE]),
            float(drec[d, FVALUE]),
            0.0 if pipe else transport,
            transport if pipe else 0.0,
            float(srec[s, FQUANTITY]),
            float(drec[d, FQUANTITY]),
            same,
            dist,
            pvt[cur, PV_LINK + cat * 4 + fam_s],
        )
        trust = score_trust(float(srec[s, FTRUST]), float(drec[d, FTRUST]), popcount12(unknown), unknown_factor)
        distance = score_distance(dist, radius)
        t = w0 * quality + w1 * temporal + w2 * quantity + w3 * economic + w4 * trust + w5 * distance
        o_score[i] = min(max(t, 0.0), 1.0)
        o_relax[i] = relax
        if full:
            flags = flags_s | flags_d
            if flags & FLAG_PRICE_DEFAULT:
                reasons |= _REASON_PRICE_DEFAULT
            if flags & FLAG_INFERRED:
                reasons |= _REASON_INFERRED
            o_sub[i, 0] = quality
            o_sub[i, 1] = temporal
            o_sub[i, 2] = quantity
            o_sub[i, 3] = economic
            o_sub[i, 4] = trust
            o_sub[i, 5] = distance
            o_reasons[i] = reasons | r2 | r3 | unknown
            o_margin[i] = margin
            o_lcov[i] = lcov
            o_fitw[i] = fit_w
    return passed


@jit
def class_weight_of(indptr: I32, index: I32, weight: F32, row: int, cls: int) -> float:
    """Weight of class `cls` among the classes of flow `row` (0 when it has not that class)."""
    for e in range(indptr[row], indptr[row + 1]):
        if index[e] == cls:
            return float(weight[e])
    return 0.0


@dataclass(frozen=True, eq=False)
class Evaluated:
    score: F32  # -1 when the pair fails a rule
    dist: F32
    relax: U8
    sub: F32
    reasons: U16
    margin: F32
    lcov: F32
    fitw: F32


def evaluate_pairs(
    index: MatchIndex,
    supply_rows: ArrayLike,
    demand_rows: ArrayLike,
    class_pairs: ArrayLike,
    weights: F64,
    params: MatchParams,
    relax_allowed: ArrayLike = 0,
) -> Evaluated:
    """`evaluate` over pair arrays (rows of `index`), in parallel chunks."""
    s = np.ascontiguousarray(supply_rows, np.int32)
    d = np.ascontiguousarray(demand_rows, np.int32)
    k = np.ascontiguousarray(class_pairs, np.int32)
    w = np.ascontiguousarray(weights, np.float64)
    n = s.shape[0]
    if d.shape[0] != n or k.shape[0] != n or w.shape[0] != n:
        raise ValueError("pair arrays must have the same length")
    ra = np.asarray(relax_allowed, np.uint8) & np.uint8(31)
    allow = np.ascontiguousarray(ra.reshape(-1) if ra.ndim else ra.reshape(1))
    step = 1 if ra.ndim else 0
    if step and allow.shape[0] != n:
        raise ValueError("relax_allowed must be one value or one per pair")
    if n and (s.min() < 0 or d.min() < 0 or max(int(s.max()), int(d.max())) >= index.n):
        raise IndexError("pair rows outside the index")
    if n and (k.min() < 0 or int(k.max()) >= index.compat.nnz):
        raise IndexError("class pair outside the compatibility entries")
    out = Evaluated(
        score=np.empty(n, np.float32),
        dist=np.empty(n, np.float32),
        relax=np.empty(n, np.uint8),
        sub=np.empty((n, N_SCORES), np.float32),
        reasons=np.empty(n, np.uint16),
        margin=np.empty(n, np.float32),
        lcov=np.empty(n, np.float32),
        fitw=np.empty(n, np.float32),
    )
    rec, ri, cpf, pvt = index.table.rec, index.table.ri, index.class_pairs, param_table(params)

    def run(lo: int, hi: int) -> int:
        a = allow[lo:hi] if step else allow
        return int(
            evaluate(
                rec, ri, rec, ri, cpf, pvt, hi - lo, s[lo:hi], d[lo:hi], k[lo:hi], w[lo:hi], a, step,
                out.score[lo:hi], out.dist[lo:hi], out.relax[lo:hi], True, out.sub[lo:hi], out.reasons[lo:hi],
                out.margin[lo:hi], out.lcov[lo:hi], out.fitw[lo:hi],
            )
        )  # fmt: skip

    chunk = 1 << 16
    parallel_map(run, [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)])
    return out


@jit
def _pair_weights(cindptr: I32, cindex: I32, cweight: F32, c_row: I32, c_idx: I32, s: I32, d: I32, k: I32) -> F64:
    n = s.shape[0]
    out = np.empty(n, np.float64)
    for i in range(n):
        out[i] = class_weight_of(cindptr, cindex, cweight, s[i], c_row[k[i]]) * class_weight_of(
            cindptr, cindex, cweight, d[i], c_idx[k[i]]
        )
    return out


@dataclass(frozen=True, eq=False)
class PairScores:
    """Verdict and numbers for pair arrays (see `evaluate`)."""

    passes: Bool
    score: F32
    sub_scores: F32  # (n, 6) in SCORE_NAMES order
    distance_km: F32
    relaxation: U8
    reasons: U16
    temperature_margin_k: F32
    log_coverage: F32
    fit: F32


def score_pairs(
    index: MatchIndex,
    supply_rows: I32,
    demand_rows: I32,
    class_pairs: I32,
    params: MatchParams,
    relax_allowed: U8 | int = 0,
) -> PairScores:
    """Pre-filter and score pairs (rows of `index`, compatibility entries) in one vectorised pass.

    `relax_allowed` (per pair or one value) are the fallback relaxations the rules may use. A pair whose flows
    do not hold the entry's classes does not pass."""
    s = np.ascontiguousarray(supply_rows, np.int32)
    d = np.ascontiguousarray(demand_rows, np.int32)
    k = np.ascontiguousarray(class_pairs, np.int32)
    fl = index.flows
    if k.size and (k.min() < 0 or int(k.max()) >= index.compat.nnz):
        raise IndexError("class pair outside the compatibility entries")
    w = _pair_weights(fl.class_indptr, fl.class_index, fl.class_weight, index.compat_row, index.compat.indices, s, d, k)
    e = evaluate_pairs(index, s, d, k, w, params, relax_allowed)
    ok = (e.score >= 0) & (w > 0)
    return PairScores(
        passes=ok,
        score=np.maximum(e.score, np.float32(0)),
        sub_scores=e.sub,
        distance_km=e.dist,
        relaxation=e.relax,
        reasons=e.reasons,
        temperature_margin_k=e.margin,
        log_coverage=e.lcov,
        fit=e.fitw,
    )


assert N_SCORES == 6
