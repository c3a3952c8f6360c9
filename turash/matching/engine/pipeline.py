"""All-flows matching: every flow's K best counterparts (both directions), with diversity and fallback.

1. `candidates.bulk_scan`: one fused pass over all strict candidate pairs into per-flow bounded lists;
2. `ranking.finalize_lists`: top-K with diversity per flow; exact re-rank for the rare flows the bounded list
   could not serve (`fallback.rank_flows` with the strict rules);
3. `fallback.apply_fallback` for flows with no candidate at all (when `params.fallback`);
4. `ranking.union_lists`: the union of all lists, each pair once, re-scored with all details.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from turash.matching.engine._jit import n_threads
from turash.matching.engine.candidates import bulk_scan_parallel, partitions, search_geometry
from turash.matching.engine.fallback import apply_fallback, rank_flows
from turash.matching.engine.features import FLAG_INFERRED, IPACK, PACK_FLAGS_SHIFT
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.pairs import score_pairs
from turash.matching.engine.prefilter import param_tuple, param_vector
from turash.matching.engine.ranking import finalize_lists, union_lists
from turash.matching.engine.types import I32, U8, Bool, MatchParams, MatchResult


@dataclass
class MatchStats:
    """What a run did, for benchmarks and logs."""

    pairs_passed: int = 0  # strict candidate pairs (passed every rule)
    flows_rescanned: int = 0  # flows re-ranked exactly (diversity needed more than the bounded list)
    flows_fallback: int = 0  # flows without strict candidates
    flows_unmatched: int = 0  # ... and still without any after the fallback
    seconds: dict[str, float] = field(default_factory=dict)


def list_capacity(params: MatchParams) -> int:
    """Bounded list size M: K plus a margin for diversity and duplicates (rarely exceeded: exact re-rank)."""
    return params.top_k + 2


def side_ranks(is_supply: Bool) -> tuple[I32, int, int]:
    """Rank of every flow among the flows of its direction, and the two counts."""
    sup = is_supply.astype(np.int64)
    rs = np.cumsum(sup) - 1
    rd = np.cumsum(1 - sup) - 1
    return np.where(is_supply, rs, rd).astype(np.int32), int(sup.sum()), int((1 - sup).sum())


def match_all(
    index: MatchIndex, params: MatchParams | None = None, stats: MatchStats | None = None, threads: int | None = None
) -> MatchResult:
    """Top-K counterparts for every flow of `index`, both directions, as one `MatchResult` (unsorted:
    supplies' lists in row order, then pairs only a demand's list holds; `MatchResult.sorted()` ranks).

    `threads`: partitions of the bulk pass run in parallel (default: numba's thread count)."""
    p = params or MatchParams()
    st = stats if stats is not None else MatchStats()
    n = index.n
    if n == 0:
        return MatchResult.empty()
    t0 = time.perf_counter()
    pt = param_tuple(p, 0)
    geo = search_geometry(index, pt)
    n_parts = max(1, threads if threads is not None else n_threads())
    split = partitions(index, n_parts)
    n_parts = split.shape[0] - 1
    rank, n_sup, n_dem = side_ranks(index.flows.is_supply)
    n_lists = n_sup + n_parts * n_dem
    m = list_capacity(p)
    thr = np.full(n_lists, -np.inf, np.float32)
    lsd = np.empty((n_lists, m, 2), np.float32)
    lpk = np.empty((n_lists, m), np.int64)
    meta = np.zeros((n_lists, 2), np.int32)
    dropped = np.zeros(n_lists, np.uint8)
    c, s, d, ff, fi, keys = index.compat, index.supply, index.demand, index.table.ff, index.table.fi, index.table.key
    st.pairs_passed = bulk_scan_parallel(
        split,
        ff,
        fi,
        keys,
        rank,
        n_sup,
        n_dem,
        s.row,
        s.weight,
        s.morton,
        s.cls,
        s.class_start,
        d.row,
        d.weight,
        d.morton,
        d.class_start,
        c.indptr,
        c.indices,
        c.fit,
        c.min_temperature_c,
        c.max_temperature_c,
        c.min_purity_pct,
        c.min_pressure_bar,
        c.needs_treatment,
        param_vector(p, 0),
        geo.cat_level,
        geo.cat_rb,
        geo.cat_c2,
        thr,
        lsd,
        lpk,
        meta,
        dropped,
    )
    t1 = time.perf_counter()
    acc_p = np.zeros((n, p.top_k), np.int32)
    acc_k = np.zeros((n, p.top_k), np.int32)
    acc_n = np.zeros(n, np.int32)
    deficient = np.zeros(n, np.bool_)
    has_candidates = np.zeros(n, np.bool_)
    finalize_lists(
        index.flows.is_supply,
        rank,
        n_sup,
        n_dem,
        n_parts,
        lsd,
        lpk,
        meta,
        dropped,
        keys,
        fi,
        p.top_k,
        p.max_per_org,
        acc_p,
        acc_k,
        acc_n,
        deficient,
        has_candidates,
    )
    del thr, lsd, lpk, meta, dropped
    redo = np.flatnonzero(deficient)
    st.flows_rescanned = int(redo.size)
    rank_flows(index, redo, pt, geo, p, acc_p, acc_k, acc_n)
    t2 = time.perf_counter()
    relax_used = np.zeros(n, np.uint8)
    if p.fallback:
        flags = (fi[:, IPACK] >> PACK_FLAGS_SHIFT) & 0xFF
        eligible = ~has_candidates & (np.diff(index.flows.class_indptr) > 0)
        if not p.include_inferred:
            eligible &= (flags & FLAG_INFERRED) == 0
        todo = np.flatnonzero(eligible)
        st.flows_fallback = int(todo.size)
        st.flows_unmatched = int(apply_fallback(index, todo, p, acc_p, acc_k, acc_n, relax_used).size)
    t3 = time.perf_counter()
    out = assemble(index, p, acc_p, acc_k, acc_n, relax_used)
    t4 = time.perf_counter()
    st.seconds.update(scan=t1 - t0, rank=t2 - t1, fallback=t3 - t2, assemble=t4 - t3)
    return out


def assemble(index: MatchIndex, params: MatchParams, acc_p: I32, acc_k: I32, acc_n: I32, relax_used: U8) -> MatchResult:
    s_rows, d_rows, k, allowed, sel = union_lists(index.flows.is_supply, acc_p, acc_k, acc_n, relax_used)
    sc = score_pairs(index, s_rows, d_rows, k, params, allowed)
    keys = index.table.key
    return MatchResult(
        supply_row=s_rows,
        demand_row=d_rows,
        supply_key=keys[s_rows],
        demand_key=keys[d_rows],
        score=sc.score,
        sub_scores=sc.sub_scores,
        distance_km=sc.distance_km,
        relaxation=sc.relaxation,
        reasons=sc.reasons,
        class_pair=k,
        fit=sc.fit,
        coverage=np.power(np.float32(10.0), sc.log_coverage).astype(np.float32),
        temperature_margin_k=sc.temperature_margin_k,
        selected_by=sel,
    )
