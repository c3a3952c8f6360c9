"""Single query: one ad-hoc flow (not in the index) against the index, e.g. "who near me can take my fly ash?".

`prepare_queries` computes the records of one or many query flows (do it once per batch or reuse it);
`match_one` then finds, ranks (top-K with diversity) and scores one of them in one compiled call. The
fallback applies as in `match_all` when the strict rules find nothing. What does not depend on the query
(search geometry, parameter tables) is cached on the index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from turash.matching.engine._jit import jit
from turash.matching.engine.candidates import scan_flow, search_geometry
from turash.matching.engine.fallback import choose_step
from turash.matching.engine.features import FlowTable, compute_features
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.pairs import class_weight_of, evaluate
from turash.matching.engine.prefilter import FALLBACK_STEPS, param_table, param_vector
from turash.matching.engine.ranking import select_diverse
from turash.matching.engine.types import F32, F64, I32, I64, U8, U16, FlowArrays, MatchParams, MatchResult

_STEP1, _STEP2, _STEP3 = FALLBACK_STEPS


@dataclass(frozen=True, eq=False)
class PreparedQueries:
    flows: FlowArrays
    table: FlowTable


def prepare_queries(flows: FlowArrays) -> PreparedQueries:
    return PreparedQueries(flows, compute_features(flows))


@jit
def _query_kernel(
    qrec: F32,
    qri: I32,
    q: int,
    q_key: int,
    q_supply: bool,
    q_cls: I32,
    q_w: F32,
    rec: F32,
    ri: I32,
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
    cpf: F32,
    pvt: F64,
    geo0: tuple[I64, F64, F64, I64, F64, F64],
    geo1: tuple[I64, F64, F64, I64, F64, F64],
    fallback: bool,
    top_k: int,
    max_per_org: int,
) -> tuple[I32, I32, I64, I64, F32, F32, F32, U8, U16, I32, F32, F32, F32, U8]:
    """The query's result columns, in `MatchResult` order (best first; log10 coverage in place of coverage)."""
    allowed = 0
    pk, lkey, relax, n = scan_flow(
        qrec, qri, q, q_supply, q_cls, q_w, rec, ri, s_row, s_weight, s_morton, s_class_start, d_row, d_weight,
        d_morton, d_class_start, c_indptr, c_indices, ct_indptr, ct_class, ct_entry, cpf, pvt, 0, geo0[0], geo0[1],
        geo0[2], geo0[3], geo0[4], geo0[5],
    )  # fmt: skip
    if n == 0 and fallback:
        pk, lkey, relax, n = scan_flow(
            qrec, qri, q, q_supply, q_cls, q_w, rec, ri, s_row, s_weight, s_morton, s_class_start, d_row, d_weight,
            d_morton, d_class_start, c_indptr, c_indices, ct_indptr, ct_class, ct_entry, cpf, pvt, _STEP3, geo1[0],
            geo1[1], geo1[2], geo1[3], geo1[4], geo1[5],
        )  # fmt: skip
        if n:
            step, n = choose_step(pk, lkey, relax, n)
            allowed = _STEP1 if step == 0 else (_STEP2 if step == 1 else _STEP3)
    acc_p = np.zeros((1, top_k), np.int32)
    acc_k = np.zeros((1, top_k), np.int32)
    acc_n = np.zeros(1, np.int32)
    if n:
        select_diverse(
            0, lkey, pk, n, keys, ri, top_k, max_per_org, acc_p, acc_k, acc_n, np.empty(n, np.int64),
            np.empty(n, np.int64),
        )  # fmt: skip
    m = acc_n[0]
    partner = acc_p[0, :m].copy()
    k = acc_k[0, :m].copy()
    w = np.empty(m, np.float64)
    for i in range(m):
        c_q = c_row[k[i]] if q_supply else c_indices[k[i]]
        wq = 0.0
        for e in range(q_cls.shape[0]):
            if q_cls[e] == c_q:
                wq = float(q_w[e])
        w[i] = wq * class_weight_of(cindptr, cindex, cweight, partner[i], c_indices[k[i]] if q_supply else c_row[k[i]])
    total = np.empty(m, np.float32)
    sub = np.empty((m, 6), np.float32)
    dist = np.empty(m, np.float32)
    rel = np.empty(m, np.uint8)
    reasons = np.empty(m, np.uint16)
    margin = np.empty(m, np.float32)
    lcov = np.empty(m, np.float32)
    fitw = np.empty(m, np.float32)
    allow = np.full(1, allowed, np.uint8)
    qq = np.full(m, q, np.int32)
    if q_supply:
        evaluate(
            qrec, qri, rec, ri, cpf, pvt, m, qq, partner, k, w, allow, 0, total, dist, rel, True, sub, reasons,
            margin, lcov, fitw,
        )  # fmt: skip
    else:
        evaluate(
            rec, ri, qrec, qri, cpf, pvt, m, partner, qq, k, w, allow, 0, total, dist, rel, True, sub, reasons,
            margin, lcov, fitw,
        )  # fmt: skip
    pkey = np.empty(m, np.int64)
    for i in range(m):
        pkey[i] = keys[partner[i]]
        if total[i] < 0.0:
            total[i] = 0.0
    qkey = np.full(m, q_key, np.int64)
    minus = np.full(m, -1, np.int32)
    sel = np.full(m, 1 if q_supply else 2, np.uint8)
    if q_supply:
        return minus, partner, qkey, pkey, total, sub, dist, rel, reasons, k, fitw, lcov, margin, sel
    return partner, minus, pkey, qkey, total, sub, dist, rel, reasons, k, fitw, lcov, margin, sel


def _geo_tuple(index: MatchIndex, params: MatchParams, allowed: int) -> tuple[np.ndarray, ...]:
    g = search_geometry(index, param_vector(params, allowed))
    return (g.cat_level, g.cat_rb, g.cat_c2, g.class_level, g.class_rb, g.class_c2)


def match_one(
    index: MatchIndex, queries: PreparedQueries | FlowArrays, i: int = 0, params: MatchParams | None = None
) -> MatchResult:
    """The top-K counterparts of query flow `i` (row of `queries`), best first. The query side's row in the
    result is -1 (it is not in the index); its key is the query's key."""
    q = queries if isinstance(queries, PreparedQueries) else prepare_queries(queries)
    p = params or MatchParams()
    fl, c, s, d = q.flows, index.compat, index.supply, index.demand
    if not 0 <= i < fl.n:
        raise IndexError(f"query row {i} outside 0..{fl.n - 1}")
    key = ("query", p)
    prep = index.cache.get(key)
    if prep is None:
        prep = (param_table(p), _geo_tuple(index, p, 0), _geo_tuple(index, p, _STEP3))
        if len(index.cache) > 64:
            index.cache.clear()
        index.cache[key] = prep
    pvt, geo0, geo1 = prep
    lo, hi = int(fl.class_indptr[i]), int(fl.class_indptr[i + 1])
    ifl = index.flows
    cols = _query_kernel(
        q.table.rec, q.table.ri, i, int(fl.key[i]), bool(fl.is_supply[i]), fl.class_index[lo:hi],
        fl.class_weight[lo:hi], index.table.rec, index.table.ri, index.table.key, ifl.class_indptr, ifl.class_index,
        ifl.class_weight, s.row, s.weight, s.morton, s.class_start, d.row, d.weight, d.morton, d.class_start,
        c.indptr, c.indices, index.compat_row, index.compat_t_indptr, index.compat_t_class, index.compat_t_entry,
        index.class_pairs, pvt, geo0, geo1, p.fallback, p.top_k, p.max_per_org,  # type: ignore[arg-type]
    )  # fmt: skip
    out = list(cols)
    out[11] = np.power(np.float32(10.0), cols[11]).astype(np.float32)
    return MatchResult(*out)  # type: ignore[arg-type]


__all__ = ["PreparedQueries", "match_one", "prepare_queries"]
