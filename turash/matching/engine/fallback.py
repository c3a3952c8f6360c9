"""Fallback: for flows that found no candidate, relax the rules step by step.

Steps (each keeps the previous ones): 1. radius × `relax_radius_factor` (default ×2, also past the global
maximum); 2. quality: a supply up to `heat_pump_max_lift_k` too cold (heat pump), purity below the minimum
(treatment), pressure below the minimum (compression); 3. any coverage (partial quantity). A flow takes the
first step that gives it candidates. Each match found this way carries the `Relaxation` bits of the strict
rules it actually breaks (a match that needed only the wider radius is marked RADIUS only).
Rules that are never relaxed: class compatibility, organisation, hazard permit, availability overlap.

All steps search the same (widened) radius, and a pair's verdict under a later step only adds relaxations,
so one scan under the last step gives every step's candidates: a candidate belongs to the first step whose
relaxations cover the ones it uses (`step_of`).
"""

from __future__ import annotations

import numpy as np

from turash.matching.engine._jit import jit, parallel_map
from turash.matching.engine.candidates import SearchGeometry, scan_flow, search_geometry
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.prefilter import FALLBACK_STEPS, RELAX_QUALITY, param_table, param_vector
from turash.matching.engine.ranking import select_diverse
from turash.matching.engine.types import F32, F64, I32, I64, U8, Bool, MatchParams, Relaxation

_PARTIAL = int(Relaxation.PARTIAL_QUANTITY)
_STEP1, _STEP2, _STEP3 = FALLBACK_STEPS
assert len(FALLBACK_STEPS) == 3


@jit
def step_of(relax: int) -> int:
    """The first fallback step (0, 1, 2) whose relaxations cover `relax`."""
    if relax & _PARTIAL:
        return 2
    if relax & RELAX_QUALITY:
        return 1
    return 0


@jit
def choose_step(pk: I64, lkey: I64, relax: U8, n: int) -> tuple[int, int]:
    """Keep the candidates of the first step that has any (compacted to the front). Returns (step, count)."""
    step = 3
    for i in range(n):
        step = min(step, step_of(relax[i]))
    if step == 3:
        return step, 0
    m = 0
    for i in range(n):
        if step_of(relax[i]) <= step:
            pk[m] = pk[i]
            lkey[m] = lkey[i]
            relax[m] = relax[i]
            m += 1
    return step, m


@jit
def rank_rows(
    rows: I64,
    lo: int,
    hi: int,
    fallback: bool,
    is_supply: Bool,
    cindptr: I32,
    cindex: I32,
    cweight: F32,
    rec: F32,
    ri: I32,
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
    cpf: F32,
    pvt: F64,
    allowed: int,
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
    relax_used: U8,
    found: I32,
) -> None:
    """Exact top-K with diversity for flows rows[lo:hi], from all their candidates under the rules with
    `allowed` relaxations; with `fallback`, only the candidates of the first step that has any (and
    `relax_used` set to that step's relaxations)."""
    for t in range(lo, hi):
        f = rows[t]
        a, b = cindptr[f], cindptr[f + 1]
        pk, lkey, relax, n = scan_flow(
            rec, ri, f, is_supply[f], cindex[a:b], cweight[a:b], rec, ri, s_row, s_weight, s_morton, s_class_start,
            d_row, d_weight, d_morton, d_class_start, c_indptr, c_indices, ct_indptr, ct_class, ct_entry, cpf, pvt,
            allowed, cat_level, cat_rb, cat_c2, class_level, class_rb, class_c2,
        )  # fmt: skip
        if fallback and n:
            step, n = choose_step(pk, lkey, relax, n)
            if n:
                relax_used[f] = _STEP1 if step == 0 else (_STEP2 if step == 1 else _STEP3)
        found[f] = n
        acc_n[f] = 0
        if n:
            select_diverse(
                f, lkey, pk, n, keys, ri, top_k, max_per_org, acc_p, acc_k, acc_n, np.empty(n, np.int64),
                np.empty(n, np.int64),
            )  # fmt: skip


def rank_flows(
    index: MatchIndex,
    rows: I64,
    allowed: int,
    params: MatchParams,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    relax_used: U8,
    fallback: bool = False,
    threads: int | None = None,
) -> I32:
    """Exact top-K with diversity for `rows` (see `rank_rows`); returns candidates found per flow."""
    found = np.zeros(index.n, np.int32)
    if rows.size == 0:
        return found
    geo: SearchGeometry = search_geometry(index, param_vector(params, allowed))
    c, fl, s, d = index.compat, index.flows, index.supply, index.demand
    r = np.ascontiguousarray(rows, np.int64)
    pvt = param_table(params)

    def run(lo: int, hi: int) -> None:
        rank_rows(
            r, lo, hi, fallback, fl.is_supply, fl.class_indptr, fl.class_index, fl.class_weight, index.table.rec,
            index.table.ri, index.table.key, s.row, s.weight, s.morton, s.class_start, d.row, d.weight, d.morton,
            d.class_start, c.indptr, c.indices, index.compat_t_indptr, index.compat_t_class, index.compat_t_entry,
            index.class_pairs, pvt, allowed, geo.cat_level, geo.cat_rb, geo.cat_c2, geo.class_level, geo.class_rb,
            geo.class_c2, params.top_k, params.max_per_org, acc_p, acc_k, acc_n, relax_used, found,
        )  # fmt: skip

    chunk = max(64, min(4096, r.size // 16 + 1))
    parallel_map(run, [(lo, min(lo + chunk, r.size)) for lo in range(0, r.size, chunk)], threads)
    return found


def apply_fallback(
    index: MatchIndex,
    rows: I64,
    params: MatchParams,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    relax_used: U8,
    threads: int | None = None,
) -> I64:
    """Relax step by step for `rows` (flows without candidates). Fills their lists and `relax_used` (the
    relaxations allowed for the step that found them). Returns the rows still without any candidate."""
    todo = np.asarray(rows, np.int64)
    if todo.size == 0:
        return todo
    found = rank_flows(index, todo, _STEP3, params, acc_p, acc_k, acc_n, relax_used, fallback=True, threads=threads)
    out: I64 = todo[found[todo] == 0]
    return out
