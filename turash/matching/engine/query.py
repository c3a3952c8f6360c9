"""Single query: one ad-hoc flow (not in the index) against the index, e.g. "who near me can take my fly ash?".

`prepare_queries` computes the packed columns of one or many query flows (vectorised; do it once per batch
or reuse it); `match_one` then finds, ranks (top-K with diversity) and scores one of them in one compiled
call. The fallback applies as in `match_all` when the strict rules find nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from turash.matching.engine._jit import jit
from turash.matching.engine.candidates import SearchGeometry, scan_flow, search_geometry
from turash.matching.engine.features import FlowTable, compute_features, load_row
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.pairs import class_weight_of, evaluate_pair
from turash.matching.engine.prefilter import FALLBACK_STEPS, ParamTuple, chord2_rows, load_class_pair, param_tuple
from turash.matching.engine.ranking import select_diverse
from turash.matching.engine.types import (
    F32,
    F64,
    I32,
    I64,
    N_SCORES,
    U8,
    U16,
    Bool,
    FlowArrays,
    MatchParams,
    MatchResult,
)


@dataclass(frozen=True, eq=False)
class PreparedQueries:
    flows: FlowArrays
    table: FlowTable


def prepare_queries(flows: FlowArrays) -> PreparedQueries:
    return PreparedQueries(flows, compute_features(flows))


@jit
def _query_kernel(
    qff: F32,
    qfi: I32,
    q: int,
    q_supply: bool,
    q_cls: I32,
    q_w: F32,
    ff: F32,
    fi: I32,
    keys: I64,
    cindptr: I32,
    cindex: I32,
    cweight: F32,
    s_row: I32,
    s_weight: F32,
    s_morton: I64,
    s_class_start: I64,
    d_row: I32,
    d_weight: F32,
    d_morton: I64,
    d_class_start: I64,
    c_indptr: I32,
    c_indices: I32,
    c_row: I32,
    ct_indptr: I64,
    ct_class: I32,
    ct_entry: I32,
    c_fit: F32,
    c_min_t: F32,
    c_max_t: F32,
    c_min_pu: F32,
    c_min_pr: F32,
    c_treat: Bool,
    pt: ParamTuple,
    cat_level: I64,
    cat_rb: F64,
    cat_c2: F64,
    class_level: I64,
    class_rb: F64,
    class_c2: F64,
    top_k: int,
    max_per_org: int,
) -> tuple[I32, I32, F32, F32, F32, U8, U16, F32, F32, F32, int]:
    pk, score, dist, n = scan_flow(
        qff,
        qfi,
        q,
        q_supply,
        q_cls,
        q_w,
        ff,
        fi,
        s_row,
        s_weight,
        s_morton,
        s_class_start,
        d_row,
        d_weight,
        d_morton,
        d_class_start,
        c_indptr,
        c_indices,
        ct_indptr,
        ct_class,
        ct_entry,
        c_fit,
        c_min_t,
        c_max_t,
        c_min_pu,
        c_min_pr,
        c_treat,
        pt,
        cat_level,
        cat_rb,
        cat_c2,
        class_level,
        class_rb,
        class_c2,
    )
    acc_p = np.zeros((1, top_k), np.int32)
    acc_k = np.zeros((1, top_k), np.int32)
    acc_n = np.zeros(1, np.int32)
    if n:
        select_diverse(
            0,
            score,
            dist,
            pk,
            n,
            keys,
            fi,
            top_k,
            max_per_org,
            acc_p,
            acc_k,
            acc_n,
            np.empty(n, np.int64),
            np.empty(n, np.int64),
        )
    m = acc_n[0]
    total = np.zeros(m, np.float32)
    sub = np.zeros((m, 6), np.float32)
    dk = np.zeros(m, np.float32)
    relax = np.zeros(m, np.uint8)
    reasons = np.zeros(m, np.uint16)
    margin = np.zeros(m, np.float32)
    lcov = np.zeros(m, np.float32)
    fitw = np.zeros(m, np.float32)
    qrow = load_row(qff, qfi, q)
    for i in range(m):
        p = acc_p[0, i]
        k = acc_k[0, i]
        prow = load_row(ff, fi, p)
        cp = load_class_pair(c_fit, c_min_t, c_max_t, c_min_pu, c_min_pr, c_treat, k)
        wq = 0.0
        for e in range(q_cls.shape[0]):
            if q_cls[e] == (c_row[k] if q_supply else c_indices[k]):
                wq = float(q_w[e])
        wp = class_weight_of(cindptr, cindex, cweight, p, c_indices[k] if q_supply else c_row[k])
        if q_supply:
            r = evaluate_pair(qrow, prow, cp, wq * wp, chord2_rows(qrow, prow), pt)
        else:
            r = evaluate_pair(prow, qrow, cp, wq * wp, chord2_rows(qrow, prow), pt)
        total[i] = r[1]
        sub[i, 0] = r[2]
        sub[i, 1] = r[3]
        sub[i, 2] = r[4]
        sub[i, 3] = r[5]
        sub[i, 4] = r[6]
        sub[i, 5] = r[7]
        dk[i] = r[8]
        relax[i] = r[9]
        reasons[i] = r[10]
        margin[i] = r[11]
        lcov[i] = r[12]
        fitw[i] = r[13]
    return acc_p[0, :m].copy(), acc_k[0, :m].copy(), total, sub, dk, relax, reasons, margin, lcov, fitw, n


def _run(
    index: MatchIndex, queries: PreparedQueries, i: int, params: MatchParams, pt: ParamTuple, geo: SearchGeometry
) -> tuple[I32, I32, F32, F32, F32, U8, U16, F32, F32, F32, int]:
    fl, c, s, d = queries.flows, index.compat, index.supply, index.demand
    lo, hi = int(fl.class_indptr[i]), int(fl.class_indptr[i + 1])
    ifl = index.flows
    return _query_kernel(
        queries.table.ff,
        queries.table.fi,
        i,
        bool(fl.is_supply[i]),
        fl.class_index[lo:hi],
        fl.class_weight[lo:hi],
        index.table.ff,
        index.table.fi,
        index.table.key,
        ifl.class_indptr,
        ifl.class_index,
        ifl.class_weight,
        s.row,
        s.weight,
        s.morton,
        s.class_start,
        d.row,
        d.weight,
        d.morton,
        d.class_start,
        c.indptr,
        c.indices,
        index.compat_row,
        index.compat_t_indptr,
        index.compat_t_class,
        index.compat_t_entry,
        c.fit,
        c.min_temperature_c,
        c.max_temperature_c,
        c.min_purity_pct,
        c.min_pressure_bar,
        c.needs_treatment,
        pt,
        geo.cat_level,
        geo.cat_rb,
        geo.cat_c2,
        geo.class_level,
        geo.class_rb,
        geo.class_c2,
        params.top_k,
        params.max_per_org,
    )


_GEOMETRY: dict[tuple[int, ParamTuple], SearchGeometry] = {}


def _geometry(index: MatchIndex, pt: ParamTuple) -> SearchGeometry:
    key = (id(index), pt)
    geo = _GEOMETRY.get(key)
    if geo is None:
        if len(_GEOMETRY) > 64:
            _GEOMETRY.clear()
        geo = _GEOMETRY[key] = search_geometry(index, pt)
    return geo


def match_one(
    index: MatchIndex, queries: PreparedQueries | FlowArrays, i: int = 0, params: MatchParams | None = None
) -> MatchResult:
    """The top-K counterparts of query flow `i` (row of `queries`), best first. The query side's row in the
    result is -1 (it is not in the index); its key is the query's key."""
    q = queries if isinstance(queries, PreparedQueries) else prepare_queries(queries)
    p = params or MatchParams()
    pt = param_tuple(p, 0)
    out = _run(index, q, i, p, pt, _geometry(index, pt))
    if out[10] == 0 and p.fallback:
        for bits in FALLBACK_STEPS:
            pt = param_tuple(p, bits)
            out = _run(index, q, i, p, pt, _geometry(index, pt))
            if out[10]:
                break
    partner, k, total, sub, dist, relax, reasons, margin, lcov, fitw, _n = out
    m = partner.shape[0]
    qkey = np.full(m, q.flows.key[i], np.int64)
    pkey = index.table.key[partner]
    minus = np.full(m, -1, np.int32)
    supply = bool(q.flows.is_supply[i])
    return MatchResult(
        supply_row=minus if supply else partner,
        demand_row=partner if supply else minus,
        supply_key=qkey if supply else pkey,
        demand_key=pkey if supply else qkey,
        score=total,
        sub_scores=sub.reshape(m, N_SCORES),
        distance_km=dist,
        relaxation=relax,
        reasons=reasons,
        class_pair=k,
        fit=fitw,
        coverage=np.power(np.float32(10.0), lcov).astype(np.float32),
        temperature_margin_k=margin,
        selected_by=np.full(m, 1 if supply else 2, np.uint8),
    )
