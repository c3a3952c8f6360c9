"""Ranking: per-flow bounded lists, top-K with diversity, deterministic order, and the union of both sides.

Order of two candidates of the same flow (best first): higher total score (float32), then shorter distance,
then smaller counterpart key, then smaller compatibility entry. Keys are the caller's stable ids, so the
order does not depend on row order (an updated index ranks exactly like a rebuilt one).

Top-K with diversity: walk a flow's candidates in that order and accept one unless K are accepted already
or `max_per_org` accepted ones share its organisation. This equals "the first K of the candidates that are
among the first D of their organisation": an entry's fate depends only on the entries before it.

The bulk pass (`candidates.bulk_scan`) keeps, for every flow, the best M > K candidates in a fixed-size list,
so memory is n·M whatever the number of pairs. If diversity then leaves a flow with fewer than K accepted
while it had more than M candidates, that flow is re-ranked exactly from all its candidates
(`candidates.scan_flow`): rare, and exact either way.
"""

from __future__ import annotations

import numpy as np

from turash.matching.engine._jit import jit, jit_inline, jit_parallel, prange
from turash.matching.engine.features import IORG
from turash.matching.engine.types import F32, I32, I64, U8, Bool


@jit_inline
def compare(sa: float, da: float, sb: float, db: float) -> int:
    """1 if (score a, distance a) ranks before b, -1 after, 0 tie (then keys decide: `tie_break`)."""
    if sa != sb:
        return 1 if sa > sb else -1
    if da != db:
        return 1 if da < db else -1
    return 0


@jit_inline
def tie_break(key_a: int, k_a: int, key_b: int, k_b: int) -> int:
    """Equal score and distance: smaller counterpart key first, then smaller compatibility entry."""
    if key_a != key_b:
        return 1 if key_a < key_b else -1
    if k_a != k_b:
        return 1 if k_a < k_b else -1
    return 0


@jit_inline
def better(sa: float, da: float, pa: int, ka: int, sb: float, db: float, pb: int, kb: int, keys: I64) -> bool:
    """Is candidate a (score, distance, counterpart row, class pair) ranked before candidate b?"""
    if sa != sb:
        return sa > sb
    if da != db:
        return da < db
    if pa != pb:
        return bool(keys[pa] < keys[pb])
    return ka < kb


@jit_inline
def pack_pk(partner: int, k: int) -> int:
    """Counterpart row and compatibility entry in one int64 (one array, one cache line per list)."""
    return (int(partner) << 32) | int(k)


@jit
def rank_order(score: F32, dist: F32, pk: I64, n: int, keys: I64, order: I64, tmp: I64) -> I64:
    """Indices 0..n-1 sorted best first (stable merge sort with `better`); `order`, `tmp`: scratch >= n."""
    for i in range(n):
        order[i] = i
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            a, b, o = lo, mid, lo
            while a < mid and b < hi:
                x, y = order[a], order[b]
                px, py = pk[x], pk[y]
                if better(
                    score[y], dist[y], py >> 32, py & 0xFFFFFFFF, score[x], dist[x], px >> 32, px & 0xFFFFFFFF, keys
                ):
                    tmp[o] = y
                    b += 1
                else:
                    tmp[o] = x
                    a += 1
                o += 1
            while a < mid:
                tmp[o] = order[a]
                a += 1
                o += 1
            while b < hi:
                tmp[o] = order[b]
                b += 1
                o += 1
        order, tmp = tmp, order
        width *= 2
    return order


@jit
def select_diverse(
    f: int,
    score: F32,
    dist: F32,
    pk: I64,
    n: int,
    keys: I64,
    fi: I32,
    top_k: int,
    max_per_org: int,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    order: I64,
    tmp: I64,
) -> int:
    """Accept into flow f's list, best first, at most `max_per_org` per counterpart organisation, at most
    `top_k` in all; a counterpart already accepted (through another class pair) is skipped.
    `order`, `tmp`: scratch of at least n. Returns the candidate index of the last accepted one (-1: none)."""
    order = rank_order(score, dist, pk, n, keys, order, tmp)
    m = 0
    last = -1
    for t in range(n):
        if m >= top_k:
            break
        e = order[t]
        p = pk[e] >> 32
        org = fi[p, IORG]
        same = 0
        dup = False
        for a in range(m):
            q = acc_p[f, a]
            if q == p:
                dup = True
                break
            if fi[q, IORG] == org:
                same += 1
        if dup or same >= max_per_org:
            continue
        acc_p[f, m] = p
        acc_k[f, m] = pk[e] & 0xFFFFFFFF
        m += 1
        last = e
    acc_n[f] = m
    return last


@jit_parallel
def finalize_lists(
    is_supply: Bool,
    rank: I32,
    n_supply: int,
    n_demand: int,
    n_parts: int,
    lsd: F32,
    lpk: I64,
    meta: I32,
    dropped: U8,
    keys: I64,
    fi: I32,
    top_k: int,
    max_per_org: int,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    deficient: Bool,
    has_candidates: Bool,
) -> None:
    """Top-K with diversity per flow from its bounded list(s) (a demand has one per partition).

    Exact unless a list turned candidates away that could rank before the last accepted one: a list's unseen
    candidates all rank after its worst kept entry, so the result is exact when no such worst entry of a list
    that dropped something ranks before the last accepted candidate (and K were accepted). Otherwise the flow
    is flagged `deficient` for an exact re-rank."""
    m_cap = lsd.shape[1]
    n = is_supply.shape[0]
    n_chunks = 64
    for c in prange(n_chunks):
        cap = m_cap * n_parts
        score = np.empty(cap, np.float32)
        dist = np.empty(cap, np.float32)
        pk = np.empty(cap, np.int64)
        order = np.empty(cap, np.int64)
        tmp = np.empty(cap, np.int64)
        for f in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            n_lists = 1 if is_supply[f] else n_parts
            m = 0
            any_drop = False
            ws = 0.0
            wd = 0.0
            wp = 0
            for t in range(n_lists):
                lid = rank[f] if is_supply[f] else n_supply + t * n_demand + rank[f]
                size = meta[lid, 0]
                for j in range(size):
                    score[m] = lsd[lid, j, 0]
                    dist[m] = lsd[lid, j, 1]
                    pk[m] = lpk[lid, j]
                    m += 1
                if dropped[lid]:
                    w = meta[lid, 1]
                    s_w, d_w, p_w = lsd[lid, w, 0], lsd[lid, w, 1], lpk[lid, w]
                    if not any_drop or better(
                        s_w, d_w, p_w >> 32, p_w & 0xFFFFFFFF, ws, wd, wp >> 32, wp & 0xFFFFFFFF, keys
                    ):
                        ws, wd, wp = s_w, d_w, p_w
                    any_drop = True
            if m == 0:
                continue
            has_candidates[f] = True
            last = select_diverse(f, score, dist, pk, m, keys, fi, top_k, max_per_org, acc_p, acc_k, acc_n, order, tmp)
            if any_drop:
                if acc_n[f] < top_k:
                    deficient[f] = True
                else:
                    pl = pk[last]
                    if better(
                        ws, wd, wp >> 32, wp & 0xFFFFFFFF, score[last], dist[last], pl >> 32, pl & 0xFFFFFFFF, keys
                    ):
                        deficient[f] = True


@jit
def union_lists(is_supply: Bool, acc_p: I32, acc_k: I32, acc_n: I32, relax_used: U8) -> tuple[I32, I32, I32, U8, U8]:
    """Pairs in a supply's list or a demand's list, once each: (supply row, demand row, class pair,
    relaxations allowed when it was found, selected_by bits 1 = supply's list, 2 = demand's list)."""
    n = is_supply.shape[0]
    total = 0
    for f in range(n):
        total += acc_n[f]
    s_out = np.empty(total, np.int32)
    d_out = np.empty(total, np.int32)
    k_out = np.empty(total, np.int32)
    r_out = np.empty(total, np.uint8)
    sel = np.empty(total, np.uint8)
    pos = np.zeros(n + 1, np.int64)
    m = 0
    # supply lists first, remembering where each supply's list starts
    for f in range(n):
        pos[f] = m
        if is_supply[f]:
            for a in range(acc_n[f]):
                s_out[m] = f
                d_out[m] = acc_p[f, a]
                k_out[m] = acc_k[f, a]
                r_out[m] = relax_used[f]
                sel[m] = 1
                m += 1
    for f in range(n):
        if is_supply[f]:
            continue
        for a in range(acc_n[f]):
            s = acc_p[f, a]
            found = -1
            if is_supply[s]:
                base = pos[s]
                for b in range(acc_n[s]):
                    if acc_p[s, b] == f:
                        found = base + b
                        break
            if found >= 0:
                sel[found] |= 2
            else:
                s_out[m] = s
                d_out[m] = f
                k_out[m] = acc_k[f, a]
                r_out[m] = relax_used[f]
                sel[m] = 2
                m += 1
    return s_out[:m], d_out[:m], k_out[:m], r_out[:m], sel[:m]
