"""All-flows matching: every flow's K best counterparts (both directions), with diversity and fallback.

1. `candidates.scan_part`: one pass over all strict candidate pairs into per-flow bounded lists (Morton-range
   partitions in parallel);
2. `ranking.finalize_lists`: top-K with diversity per flow; exact re-rank for the rare flows the bounded list
   could not serve (`fallback.rank_flows` with the strict rules);
3. `fallback.apply_fallback` for flows with no candidate at all (when `params.fallback`);
4. `assemble`: the union of all lists, each pair once, re-scored with all details straight into the result
   columns (flow ranges in parallel).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from turash.matching.engine._jit import empty, jit, n_threads, parallel_map
from turash.matching.engine.candidates import partitions, scan_part, search_geometry
from turash.matching.engine.fallback import apply_fallback, rank_flows
from turash.matching.engine.features import FLAG_INFERRED, IPACK, PACK_FLAGS_SHIFT
from turash.matching.engine.index import MatchIndex, side_ranks
from turash.matching.engine.pairs import evaluate
from turash.matching.engine.prefilter import param_table, param_vector
from turash.matching.engine.ranking import finalize_lists, union_counts, union_fill, union_positions
from turash.matching.engine.types import F32, F64, I32, I64, U8, U16, Bool, MatchParams, MatchResult

_CHUNK = 1 << 14  # flows per task in the per-flow phases

__all__ = ["MatchStats", "list_capacity", "match_all", "side_ranks"]


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


def _chunks(n: int, size: int = _CHUNK) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def match_all(
    index: MatchIndex, params: MatchParams | None = None, stats: MatchStats | None = None, threads: int | None = None
) -> MatchResult:
    """Top-K counterparts for every flow of `index`, both directions, as one `MatchResult` (unsorted:
    supplies' lists in row order, then pairs only a demand's list holds; `MatchResult.sorted()` ranks).

    `threads`: threads for the parallel phases (default: numba's thread count, NUMBA_NUM_THREADS)."""
    p = params or MatchParams()
    st = stats if stats is not None else MatchStats()
    n = index.n
    if n == 0:
        return MatchResult.empty()
    nt = n_threads() if threads is None else max(1, threads)
    t0 = time.perf_counter()
    pvt = param_table(p)
    geo = search_geometry(index, param_vector(p, 0))
    parts_tiles = partitions(index, 2 * nt if nt > 1 else 1)
    rank, n_sup, n_dem = index.side_rank, index.n_supply, index.n_demand
    m = list_capacity(p)
    # bounded lists: supplies by rank, then demands by rank
    lk = empty((n_sup + n_dem, m), np.int64)
    lp = empty((n_sup + n_dem, m), np.int64)
    ls = empty((n_sup + n_dem, 2), np.int64)  # (threshold key, -1 until full; candidates offered)
    ls[:, 0] = -1
    ls[:, 1] = 0
    c, s, d, tb = index.compat, index.supply, index.demand, index.table
    rec, ri, keys = tb.rec, tb.ri, tb.key

    def scan(tiles: I64) -> tuple[int, I32, I64, I64, I64, int]:
        return scan_part(
            tiles, rec, ri, tb.morton, keys, rank, n_dem, s.row, s.weight, s.morton, s.class_start, d.row,
            d.weight, d.morton, d.class_start, c.indptr, c.indices, index.class_pairs, pvt, geo.cat_level,
            geo.cat_rb, geo.cat_c2, n_sup, lk, lp, ls,  # noqa: F821
        )  # fmt: skip

    parts = parallel_map(scan, [(t,) for t in parts_tiles], nt)
    st.pairs_passed = int(sum(r[0] for r in parts))
    # overflow lists of all partitions, grouped by demand rank
    o_rank = np.concatenate([r[1] for r in parts])
    order = np.argsort(o_rank, kind="stable")
    o_lk = np.concatenate([r[2] for r in parts])[order]
    o_lp = np.concatenate([r[3] for r in parts])[order]
    o_ls = np.concatenate([r[4] for r in parts])[order]
    o_ptr = np.zeros(n_dem + 1, np.int64)
    per_demand = np.bincount(o_rank, minlength=n_dem)
    np.cumsum(per_demand, out=o_ptr[1:])
    cap = m * (1 + int(per_demand.max(initial=0)))
    del parts
    t1 = time.perf_counter()

    acc_p = empty((n, p.top_k), np.int32)
    acc_k = empty((n, p.top_k), np.int32)
    acc_n = np.zeros(n, np.int32)
    deficient = np.zeros(n, np.bool_)
    has_candidates = np.zeros(n, np.bool_)
    fl = index.flows

    def fin(f0: int, f1: int) -> None:
        finalize_lists(
            f0, f1, fl.is_supply, rank, n_sup, lk, lp, ls, o_ptr, o_lk, o_lp, o_ls, keys, ri, p.top_k,  # noqa: F821
            p.max_per_org, acc_p, acc_k, acc_n, deficient, has_candidates, cap,
        )  # fmt: skip

    parallel_map(fin, _chunks(n), nt)
    del lk, lp, ls, o_lk, o_lp, o_ls
    redo = np.flatnonzero(deficient)
    st.flows_rescanned = int(redo.size)
    relax_used = np.zeros(n, np.uint8)
    rank_flows(index, redo, 0, p, acc_p, acc_k, acc_n, relax_used, threads=nt)
    t2 = time.perf_counter()
    if p.fallback:
        flags = (ri[:, IPACK] >> PACK_FLAGS_SHIFT) & 0xFF
        eligible = ~has_candidates & (np.diff(fl.class_indptr) > 0)
        if not p.include_inferred:
            eligible &= (flags & FLAG_INFERRED) == 0
        todo = np.flatnonzero(eligible)
        st.flows_fallback = int(todo.size)
        st.flows_unmatched = int(apply_fallback(index, todo, p, acc_p, acc_k, acc_n, relax_used, threads=nt).size)
    t3 = time.perf_counter()
    out = assemble(index, p, acc_p, acc_k, acc_n, relax_used, nt)
    t4 = time.perf_counter()
    st.seconds.update(scan=t1 - t0, rank=t2 - t1, fallback=t3 - t2, assemble=t4 - t3)
    return out


@jit
def _assemble_chunk(
    f0: int,
    f1: int,
    is_supply: Bool,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    relax_used: U8,
    sup_pos: I64,
    dem_pos: I64,
    cindptr: I32,
    cindex: I32,
    cweight: F32,
    c_row: I32,
    c_idx: I32,
    rec: F32,
    ri: I32,
    keys: I64,
    cpf: F32,
    pvt: F64,
    s_out: I32,
    d_out: I32,
    sk_out: I64,
    dk_out: I64,
    k_out: I32,
    sel: U8,
    score: F32,
    sub: F32,
    dist: F32,
    relax: U8,
    reasons: U16,
    margin: F32,
    lcov: F32,
    fitw: F32,
) -> None:
    """Union rows of flows f0..f1-1 (`ranking.union_fill`), re-scored with every detail (`pairs.evaluate`);
    `relax` first holds the relaxations allowed per pair, then the ones used. `lcov` gets log10 coverage."""
    union_fill(f0, f1, is_supply, acc_p, acc_k, acc_n, relax_used, sup_pos, dem_pos, s_out, d_out, k_out, relax, sel)
    for part in range(2):
        a = sup_pos[f0] if part == 0 else dem_pos[f0]
        b = sup_pos[f1] if part == 0 else dem_pos[f1]
        n = b - a
        if n <= 0:
            continue
        w = np.empty(n, np.float64)
        allow = np.empty(n, np.uint8)
        for i in range(n):
            si = s_out[a + i]
            di = d_out[a + i]
            ki = k_out[a + i]
            # `pairs.class_weight_of` for both flows, written out (no array-taking call per pair)
            cs = c_row[ki]
            ws = 0.0
            for e in range(cindptr[si], cindptr[si + 1]):
                if cindex[e] == cs:
                    ws = float(cweight[e])
                    break
            cd = c_idx[ki]
            wd = 0.0
            for e in range(cindptr[di], cindptr[di + 1]):
                if cindex[e] == cd:
                    wd = float(cweight[e])
                    break
            w[i] = ws * wd
            allow[i] = relax[a + i] & 31
            sk_out[a + i] = keys[si]
            dk_out[a + i] = keys[di]
        evaluate(
            rec, ri, rec, ri, cpf, pvt, n, s_out[a:b], d_out[a:b], k_out[a:b], w, allow, 1, score[a:b], dist[a:b],
            relax[a:b], True, sub[a:b], reasons[a:b], margin[a:b], lcov[a:b], fitw[a:b],
        )  # fmt: skip
        for i in range(a, b):
            if score[i] < 0.0:
                score[i] = 0.0


def assemble(
    index: MatchIndex, params: MatchParams, acc_p: I32, acc_k: I32, acc_n: I32, relax_used: U8, threads: int = 1
) -> MatchResult:
    """The union of the flows' lists as a `MatchResult`, each pair scored in full."""
    fl = index.flows
    n = index.n
    cnt = np.zeros(n, np.int64)
    chunks = _chunks(n)
    parallel_map(lambda f0, f1: union_counts(f0, f1, fl.is_supply, acc_p, acc_n, cnt), chunks, threads)  # noqa: F821
    sup_pos, dem_pos, total = union_positions(fl.is_supply, cnt)
    del cnt
    out = MatchResult(
        supply_row=empty(total, np.int32),
        demand_row=empty(total, np.int32),
        supply_key=empty(total, np.int64),
        demand_key=empty(total, np.int64),
        score=empty(total, np.float32),
        sub_scores=empty((total, 6), np.float32),
        distance_km=empty(total, np.float32),
        relaxation=empty(total, np.uint8),
        reasons=empty(total, np.uint16),
        class_pair=empty(total, np.int32),
        fit=empty(total, np.float32),
        coverage=empty(total, np.float32),
        temperature_margin_k=empty(total, np.float32),
        selected_by=empty(total, np.uint8),
    )
    tb, c = index.table, index.compat
    pvt = param_table(params)

    def run(f0: int, f1: int) -> None:
        _assemble_chunk(
            f0, f1, fl.is_supply, acc_p, acc_k, acc_n, relax_used, sup_pos, dem_pos, fl.class_indptr, fl.class_index,
            fl.class_weight, index.compat_row, c.indices, tb.rec, tb.ri, tb.key, index.class_pairs, pvt,
            out.supply_row, out.demand_row, out.supply_key, out.demand_key, out.class_pair, out.selected_by,
            out.score, out.sub_scores, out.distance_km, out.relaxation, out.reasons, out.temperature_margin_k,
            out.coverage, out.fit,
        )  # fmt: skip
        for lo, hi in ((sup_pos[f0], sup_pos[f1]), (dem_pos[f0], dem_pos[f1])):
            cov = out.coverage[lo:hi]
            np.power(np.float32(10.0), cov, out=cov)

    parallel_map(run, chunks, threads)
    return out
