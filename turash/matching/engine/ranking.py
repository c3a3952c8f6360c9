"""Ranking: per-flow bounded lists, top-K with diversity, deterministic order, and the union of both sides.

Order of two candidates of the same flow (best first): higher total score (float32), then shorter distance
(float32), then smaller counterpart key, then smaller compatibility entry. Keys are the caller's stable ids,
so the order does not depend on row order (an updated index ranks exactly like a rebuilt one). Score and
distance are packed in one int64 (`pair_key`: larger = better), so the common comparison is one integer
compare; the keys are read only on an exact tie.

Top-K with diversity: walk a flow's candidates in that order and accept one unless K are accepted already
or `max_per_org` accepted ones share its organisation. This equals "the first K of the candidates that are
among the first D of their organisation": an entry's fate depends only on the entries before it.

The bulk pass (`candidates.scan_part`) keeps, for every flow, the best M > K candidates in a fixed-size list
kept sorted (insertion: a candidate below the list's last entry is turned away after one compare), so memory
is n·M whatever the number of pairs. If diversity then leaves a flow with fewer than K accepted while it had
more than M candidates, that flow is re-ranked exactly from all its candidates (`candidates.scan_flow`):
rare, and exact either way.
"""

from __future__ import annotations

import numpy as np

from turash.matching.engine._jit import jit
from turash.matching.engine.features import IORG
from turash.matching.engine.types import I32, I64, U8, Bool

_LOW32 = 0xFFFFFFFF


@jit
def pair_key(score_bits: int, dist_bits: int) -> int:
    """Ranking key of a candidate from the bits of its float32 score (>= 0) and distance (>= 0): higher score
    first, then shorter distance (non-negative floats order like their bit patterns)."""
    sb = max(int(score_bits), 0)  # -0.0 as 0.0
    return (sb << 32) | (_LOW32 - int(dist_bits))


@jit
def ranks_before(key_a: int, pk_a: int, key_b: int, pk_b: int, keys: I64) -> bool:
    """Is candidate a (ranking key, counterpart row << 32 | class pair) ranked before candidate b?"""
    if key_a != key_b:
        return key_a > key_b
    xa = keys[pk_a >> 32]
    xb = keys[pk_b >> 32]
    if xa != xb:
        return bool(xa < xb)
    return (pk_a & _LOW32) < (pk_b & _LOW32)


@jit
def compare(sa: float, da: float, sb: float, db: float) -> int:
    """1 if (score a, distance a) ranks before b, -1 after, 0 tie (then keys decide: `tie_break`)."""
    if sa != sb:
        return 1 if sa > sb else -1
    if da != db:
        return 1 if da < db else -1
    return 0


@jit
def tie_break(key_a: int, k_a: int, key_b: int, k_b: int) -> int:
    """Equal score and distance: smaller counterpart key first, then smaller compatibility entry."""
    if key_a != key_b:
        return 1 if key_a < key_b else -1
    if k_a != k_b:
        return 1 if k_a < k_b else -1
    return 0


@jit
def offer(lk: I64, lp: I64, ls: I64, lid: int, key: int, pk: int, keys: I64) -> None:
    """Offer a candidate (ranking key, counterpart row << 32 | class pair) to the bounded list `lid`: rows of
    lk / lp hold its entries best first; ls[lid] = (key of its last entry once full, else -1; candidates
    offered so far). A candidate that does not beat the last entry of a full list is turned away after one
    compare; otherwise it is inserted (the last entry falls off). More than M offered = some dropped."""
    m = lk.shape[1]
    cnt = ls[lid, 1]
    ls[lid, 1] = cnt + 1
    wk = ls[lid, 0]
    if key < wk or (key == wk and not ranks_before(key, pk, wk, lp[lid, m - 1], keys)):
        return
    pos = cnt if cnt < m else m - 1
    while pos > 0:
        ek = lk[lid, pos - 1]
        if key > ek or (key == ek and ranks_before(key, pk, ek, lp[lid, pos - 1], keys)):
            lk[lid, pos] = ek
            lp[lid, pos] = lp[lid, pos - 1]
            pos -= 1
        else:
            break
    lk[lid, pos] = key
    lp[lid, pos] = pk
    if cnt + 1 >= m:
        ls[lid, 0] = lk[lid, m - 1]


@jit
def rank_order(lkey: I64, pk: I64, n: int, keys: I64, order: I64, tmp: I64) -> I64:
    """Indices 0..n-1 sorted best first (stable merge sort with `ranks_before`) into `order` (returned); `tmp`:
    scratch; both of at least n."""
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
                ky, kx = lkey[y], lkey[x]
                if ky != kx:
                    y_first = ky > kx
                else:  # `ranks_before`, written out
                    xy, xx = keys[pk[y] >> 32], keys[pk[x] >> 32]
                    y_first = xy < xx or (xy == xx and (pk[y] & _LOW32) < (pk[x] & _LOW32))
                if y_first:
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
        for i in range(n):
            order[i] = tmp[i]
        width *= 2
    return order


@jit
def accept(
    f: int, pk: I64, order: I64, n: int, ri: I32, top_k: int, max_per_org: int, acc_p: I32, acc_k: I32, acc_n: I32
) -> int:
    """Walk candidates pk[order[0]], pk[order[1]], ... (best first) into flow f's list: at most `max_per_org`
    per counterpart organisation (`ri[:, IORG]`), at most `top_k` in all; a counterpart already accepted
    (through another class pair) is skipped. Returns the candidate index of the last accepted one (-1: none)."""
    m = 0
    last = -1
    for t in range(n):
        if m >= top_k:
            break
        e = order[t]
        p = pk[e] >> 32
        org = ri[p, IORG]
        same = 0
        dup = False
        for a in range(m):
            q = acc_p[f, a]
            if q == p:
                dup = True
                break
            if ri[q, IORG] == org:
                same += 1
        if dup or same >= max_per_org:
            continue
        acc_p[f, m] = p
        acc_k[f, m] = pk[e] & _LOW32
        m += 1
        last = e
    acc_n[f] = m
    return last


@jit
def select_diverse(
    f: int,
    lkey: I64,
    pk: I64,
    n: int,
    keys: I64,
    ri: I32,
    top_k: int,
    max_per_org: int,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    order: I64,
    tmp: I64,
) -> int:
    """Sort n candidates (`rank_order`), then `accept` them into flow f's list. Returns the candidate index of
    the last accepted one (-1: none)."""
    order = rank_order(lkey, pk, n, keys, order, tmp)
    return accept(f, pk, order, n, ri, top_k, max_per_org, acc_p, acc_k, acc_n)


@jit
def finalize_lists(
    f0: int,
    f1: int,
    is_supply: Bool,
    rank: I32,
    n_supply: int,
    lk: I64,
    lp: I64,
    ls: I64,
    o_ptr: I64,
    o_lk: I64,
    o_lp: I64,
    o_ls: I64,
    keys: I64,
    ri: I32,
    top_k: int,
    max_per_org: int,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    deficient: Bool,
    has_candidates: Bool,
    cap: int,
) -> None:
    """Top-K with diversity for flows f0..f1-1 from their bounded lists (`offer`; rows of lk/lp/ls: a supply's at
    its rank, a demand's at n_supply + its rank) and a demand's overflow lists (`o_ptr[rank]..o_ptr[rank+1]`,
    from partitions outside the demand's Morton range).

    Exact unless a list turned candidates away that could rank before the last accepted one: a list's unseen
    candidates all rank after its worst (last) entry, so the result is exact when no such worst entry of a
    list that dropped something ranks before the last accepted candidate (and K were accepted). Otherwise the
    flow is flagged `deficient` for an exact re-rank. `cap`: the most entries a flow's lists hold."""
    lkey = np.empty(cap, np.int64)
    pk = np.empty(cap, np.int64)
    order = np.empty(cap, np.int64)
    tmp = np.empty(cap, np.int64)
    for f in range(f0, f1):
        r = rank[f]
        if is_supply[f]:
            lid = r
            o0 = o1 = 0
        else:
            lid = n_supply + r
            o0, o1 = o_ptr[r], o_ptr[r + 1]
        m_cap = lk.shape[1]
        size = min(ls[lid, 1], m_cap)
        total = size
        for o in range(o0, o1):
            total += min(o_ls[o, 1], m_cap)
        if total == 0:
            continue
        has_candidates[f] = True
        m = 0
        for j in range(size):
            lkey[m] = lk[lid, j]
            pk[m] = lp[lid, j]
            m += 1
        any_drop = ls[lid, 1] > m_cap
        wk = lk[lid, size - 1] if any_drop else 0
        wp = lp[lid, size - 1] if any_drop else 0
        for o in range(o0, o1):
            o_size = min(o_ls[o, 1], m_cap)
            for j in range(o_size):
                lkey[m] = o_lk[o, j]
                pk[m] = o_lp[o, j]
                m += 1
            if o_ls[o, 1] > m_cap:
                ok_, op_ = o_lk[o, o_size - 1], o_lp[o, o_size - 1]
                if not any_drop or ok_ > wk:
                    wk, wp = ok_, op_
                elif ok_ == wk:
                    xa, xb = keys[op_ >> 32], keys[wp >> 32]
                    if xa < xb or (xa == xb and (op_ & _LOW32) < (wp & _LOW32)):
                        wk, wp = ok_, op_
                any_drop = True
        if o1 > o0:
            rank_order(lkey, pk, m, keys, order, tmp)
        else:
            for j in range(m):  # one list: already best first
                order[j] = j
        # `accept`, written out (a call that takes arrays costs reference counting per flow)
        na = 0
        last = -1
        for t in range(m):
            if na >= top_k:
                break
            e = order[t]
            p = pk[e] >> 32
            org = ri[p, IORG]
            same = 0
            dup = False
            for a in range(na):
                q = acc_p[f, a]
                if q == p:
                    dup = True
                    break
                if ri[q, IORG] == org:
                    same += 1
            if dup or same >= max_per_org:
                continue
            acc_p[f, na] = p
            acc_k[f, na] = pk[e] & _LOW32
            na += 1
            last = e
        acc_n[f] = na
        if any_drop:
            if na < top_k:
                deficient[f] = True
            else:
                kl, pl = lkey[last], pk[last]
                if wk != kl:
                    worse = wk > kl
                else:
                    xa, xb = keys[wp >> 32], keys[pl >> 32]
                    worse = xa < xb or (xa == xb and (wp & _LOW32) < (pl & _LOW32))
                if worse:
                    deficient[f] = True


@jit
def union_counts(f0: int, f1: int, is_supply: Bool, acc_p: I32, acc_n: I32, cnt: I64) -> None:
    """Rows each flow adds to the union: a supply its whole list; a demand the pairs its supply's list lacks."""
    for f in range(f0, f1):
        if is_supply[f]:
            cnt[f] = acc_n[f]
            continue
        c = 0
        for a in range(acc_n[f]):
            s = acc_p[f, a]
            found = False
            for b in range(acc_n[s]):
                if acc_p[s, b] == f:
                    found = True
                    break
            if not found:
                c += 1
        cnt[f] = c


@jit
def union_fill(
    f0: int,
    f1: int,
    is_supply: Bool,
    acc_p: I32,
    acc_k: I32,
    acc_n: I32,
    relax_used: U8,
    sup_pos: I64,
    dem_pos: I64,
    s_out: I32,
    d_out: I32,
    k_out: I32,
    r_out: U8,
    sel: U8,
) -> None:
    """Write flows f0..f1-1's rows of the union: supply lists at `sup_pos[f]`, demand-only pairs at `dem_pos[f]`
    (selected_by 1 = supply's list, 2 = demand's list, 3 = both)."""
    for f in range(f0, f1):
        if is_supply[f]:
            m = sup_pos[f]
            for a in range(acc_n[f]):
                d = acc_p[f, a]
                both = False
                for b in range(acc_n[d]):
                    if acc_p[d, b] == f:
                        both = True
                        break
                s_out[m] = f
                d_out[m] = d
                k_out[m] = acc_k[f, a]
                r_out[m] = relax_used[f]
                sel[m] = 3 if both else 1
                m += 1
        else:
            m = dem_pos[f]
            for a in range(acc_n[f]):
                s = acc_p[f, a]
                found = False
                for b in range(acc_n[s]):
                    if acc_p[s, b] == f:
                        found = True
                        break
                if found:
                    continue
                s_out[m] = s
                d_out[m] = f
                k_out[m] = acc_k[f, a]
                r_out[m] = relax_used[f]
                sel[m] = 2
                m += 1


def union_lists(is_supply: Bool, acc_p: I32, acc_k: I32, acc_n: I32, relax_used: U8) -> tuple[I32, I32, I32, U8, U8]:
    """Pairs in a supply's list or a demand's list, once each: (supply row, demand row, class pair,
    relaxations allowed when it was found, selected_by bits 1 = supply's list, 2 = demand's list). Supplies'
    lists first (in row order), then the pairs only a demand's list holds."""
    n = is_supply.shape[0]
    cnt = np.zeros(n, np.int64)
    union_counts(0, n, is_supply, acc_p, acc_n, cnt)
    sup_pos, dem_pos, total = union_positions(is_supply, cnt)
    out = (
        np.empty(total, np.int32),
        np.empty(total, np.int32),
        np.empty(total, np.int32),
        np.empty(total, np.uint8),
        np.empty(total, np.uint8),
    )
    union_fill(0, n, is_supply, acc_p, acc_k, acc_n, relax_used, sup_pos, dem_pos, *out)
    return out


def union_positions(is_supply: Bool, cnt: I64) -> tuple[I64, I64, int]:
    """Where each flow's union rows start: supplies' lists first, then demand-only pairs (both in row order)."""
    cs = np.where(is_supply, cnt, 0)
    cd = np.where(is_supply, 0, cnt)
    sup_pos = np.zeros(cnt.shape[0] + 1, np.int64)
    dem_pos = np.zeros(cnt.shape[0] + 1, np.int64)
    np.cumsum(cs, out=sup_pos[1:])
    np.cumsum(cd, out=dem_pos[1:])
    n_sup_rows = int(sup_pos[-1])
    dem_pos += n_sup_rows
    return sup_pos, dem_pos, int(dem_pos[-1])


__all__ = [
    "accept",
    "compare",
    "finalize_lists",
    "offer",
    "pair_key",
    "rank_order",
    "ranks_before",
    "select_diverse",
    "tie_break",
    "union_lists",
]
