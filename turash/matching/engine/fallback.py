"""Fallback: for flows that found no candidate, relax the rules step by step.

Steps (each keeps the previous ones): 1. radius × `relax_radius_factor` (default ×2, also past the global
maximum); 2. quality: a supply up to `heat_pump_max_lift_k` too cold (heat pump), purity below the minimum
(treatment), pressure below the minimum (compression); 3. any coverage (partial quantity). A flow takes the
first step that gives it candidates. Each match found this way carries the `Relaxation` bits of the strict
rules it actually breaks (a match that needed only the wider radius is marked RADIUS only).
Rules that are never relaxed: class compatibility, organisation, hazard permit, availability overlap.
"""

from __future__ import annotations

import numpy as np

from turash.matching.engine._jit import jit_parallel, prange
from turash.matching.engine.candidates import SearchGeometry, scan_flow, search_geometry
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.prefilter import FALLBACK_STEPS, ParamTuple, param_tuple, pt_from_array
from turash.matching.engine.ranking import select_diverse
from turash.matching.engine.types import F32, F64, I32, I64, U8, Bool, MatchParams


@jit_parallel
def _rank_flows(
    rows: I64,
    is_supply: Bool,
    cindptr: I32,
    cindex: I32,
    cweight: F32,
    ff: F32,
    fi: I32,
    keys: I64,
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
    ct_indptr: I64,
    ct_class: I32,
    ct_entry: I32,
    c_fit: F32,
    c_min_t: F32,
    c_max_t: F32,
    c_min_pu: F32,
    c_min_pr: F32,
    c_treat: Bool,
    pv: F64,
    cat_level: I64,
    cat_rb: F64,
    cat_c2: F64,
    class_level: I64,
    class_rb: F64,
    class_c2: F64,
    top_k: int,
    max_per_org: int,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    found: I32,
) -> None:
    for t in prange(rows.shape[0]):
        pt = pt_from_array(pv)
        f = rows[t]
        lo, hi = cindptr[f], cindptr[f + 1]
        pk, score, dist, n = scan_flow(
            ff,
            fi,
            f,
            is_supply[f],
            cindex[lo:hi],
            cweight[lo:hi],
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
        found[f] = n
        acc_n[f] = 0
        if n:
            select_diverse(
                f,
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


def rank_flows(
    index: MatchIndex,
    rows: I64,
    pt: ParamTuple,
    geo: SearchGeometry,
    params: MatchParams,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
) -> I32:
    """Exact top-K with diversity for `rows`, from all their candidates; returns candidates found per flow."""
    found = np.zeros(index.n, np.int32)
    if rows.size == 0:
        return found
    c, fl, s, d = index.compat, index.flows, index.supply, index.demand
    _rank_flows(
        np.ascontiguousarray(rows, np.int64),
        fl.is_supply,
        fl.class_indptr,
        fl.class_index,
        fl.class_weight,
        index.table.ff,
        index.table.fi,
        index.table.key,
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
        index.compat_t_indptr,
        index.compat_t_class,
        index.compat_t_entry,
        c.fit,
        c.min_temperature_c,
        c.max_temperature_c,
        c.min_purity_pct,
        c.min_pressure_bar,
        c.needs_treatment,
        np.asarray(pt, np.float64),
        geo.cat_level,
        geo.cat_rb,
        geo.cat_c2,
        geo.class_level,
        geo.class_rb,
        geo.class_c2,
        params.top_k,
        params.max_per_org,
        acc_p,
        acc_k,
        acc_n,
        found,
    )
    return found


def apply_fallback(
    index: MatchIndex, rows: I64, params: MatchParams, acc_p: I32, acc_k: I32, acc_n: I32, relax_used: U8
) -> I64:
    """Relax step by step for `rows` (flows without candidates). Fills their lists and `relax_used` (the
    relaxations allowed for the step that found them). Returns the rows still without any candidate."""
    todo = np.asarray(rows, np.int64)
    for bits in FALLBACK_STEPS:
        if todo.size == 0:
            break
        pt = param_tuple(params, bits)
        found = rank_flows(index, todo, pt, search_geometry(index, pt), params, acc_p, acc_k, acc_n)
        hit = found[todo] > 0
        relax_used[todo[hit]] = bits
        todo = todo[~hit]
    return todo
