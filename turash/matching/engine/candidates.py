"""Candidate generation: which supply→demand pairs are even looked at, and the fused loop over them.

Bulk (`bulk_scan`): supply entries (sorted by class, Morton code) are cut into groups that share a class, a
category and a grid cell at the level of that category's radius (cell side ≥ radius). For each group and
each demand class its class fits (a row of the sparse compatibility matrix), the demand entries that can
be within the radius are a handful of cell slices of that demand class — found by binary search on Morton
codes, from the group's bounding box grown by the radius. Every (supply, demand) pair in those slices is
then checked by squared chord, passed through the rules and scored (`pairs.evaluate_pair`), and offered to
both flows' bounded lists (see `ranking`) — one pass, no intermediate pair arrays. Supplies are split into
Morton-range partitions that run in parallel (`bulk_scan_parallel`), each with its own demand-side lists.

Single flow (`scan_flow`): the same lookups around one flow (indexed or ad hoc), in either direction (a
demand looks up supply classes through the transposed matrix), collecting all its candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from turash.matching.engine._jit import jit, jit_inline, jit_parallel, prange
from turash.matching.engine.features import (
    FLAG_MULTI_CLASS,
    FX,
    FY,
    FZ,
    IGX,
    IGY,
    IGZ,
    IPACK,
    PACK_CAT_SHIFT,
    load_row,
)
from turash.matching.engine.geo import GRID_BITS, GRID_SIZE, chord_for_km
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.pairs import evaluate_pair
from turash.matching.engine.prefilter import PV_SEARCH, ParamTuple, load_class_pair, pt_from_array
from turash.matching.engine.ranking import compare, pack_pk, tie_break
from turash.matching.engine.types import F32, F64, I32, I64, N_CATEGORIES, U8, Bool

_HALF_GRID = GRID_SIZE / 2.0
_MULTI = FLAG_MULTI_CLASS << 12
_MAX_CELLS = 125


@dataclass(frozen=True, eq=False)
class SearchGeometry:
    """Grid level, search half-width in base cells, and squared chord limit: per supply category (bulk and
    supply-side scans) and per supply class (demand-side scans: the widest radius of the categories the
    class's supplies have)."""

    cat_level: I64
    cat_rb: F64
    cat_c2: F64
    class_level: I64
    class_rb: F64
    class_c2: F64


def _geometry(search_km: F64) -> tuple[I64, F64, F64]:
    chord = np.asarray([chord_for_km(float(r)) for r in search_km], np.float64)
    rb = np.where(np.isfinite(chord), chord * _HALF_GRID + 1.0, float(GRID_SIZE))
    level = np.ceil(np.log2(np.maximum(rb, 1.0))).astype(np.int64)
    level = np.minimum(level, 16)
    c2 = np.where(np.isfinite(chord), chord * chord * (1.0 + 1e-6) + 1e-12, np.inf)
    return level, rb, c2


def search_geometry(index: MatchIndex, pt: ParamTuple) -> SearchGeometry:
    search = np.asarray(pt[PV_SEARCH : PV_SEARCH + N_CATEGORIES], np.float64)
    cl, crb, cc2 = _geometry(search)
    mask = index.supply_class_categories
    per_class = np.zeros(mask.shape[0], np.float64)
    for c in range(N_CATEGORIES):
        per_class = np.where(mask & (1 << c), np.maximum(per_class, search[c]), per_class)
    per_class = np.where(per_class > 0, per_class, search.max())
    kl, krb, kc2 = _geometry(per_class)
    return SearchGeometry(cl, crb, cc2, kl, krb, kc2)


@jit_inline
def _spread3(v: int) -> int:
    v = v & 0xFFFF
    v = int(v)
    v = (v | (v << 32)) & 0x1F00000000FFFF
    v = (v | (v << 16)) & 0x1F0000FF0000FF
    v = (v | (v << 8)) & 0x100F00F00F00F00F
    v = (v | (v << 4)) & 0x10C30C30C30C30C3
    v = (v | (v << 2)) & 0x1249249249249249
    return v


@jit_inline
def _morton3(x: int, y: int, z: int) -> int:
    return _spread3(x) | (_spread3(y) << 1) | (_spread3(z) << 2)


@jit
def cell_ranges(
    morton: I64,
    lo0: int,
    hi0: int,
    bx0: int,
    bx1: int,
    by0: int,
    by1: int,
    bz0: int,
    bz1: int,
    rb: float,
    level: int,
    out_lo: I64,
    out_hi: I64,
) -> int:
    """Slices of `morton[lo0:hi0]` (sorted) in the level-`level` cells that the box [b*0, b*1] grown by `rb`
    base cells touches. Writes them to out_lo/out_hi and returns how many."""
    top = GRID_SIZE - 1
    x0 = max(0, math.floor(bx0 - rb)) >> level
    x1 = min(top, math.floor(bx1 + rb)) >> level
    y0 = max(0, math.floor(by0 - rb)) >> level
    y1 = min(top, math.floor(by1 + rb)) >> level
    z0 = max(0, math.floor(bz0 - rb)) >> level
    z1 = min(top, math.floor(bz1 + rb)) >> level
    sub = morton[lo0:hi0]
    shift = 3 * level
    n = 0
    for cx in range(x0, x1 + 1):
        for cy in range(y0, y1 + 1):
            for cz in range(z0, z1 + 1):
                if n >= out_lo.shape[0]:
                    return n
                m = _morton3(cx, cy, cz)
                a = lo0 + np.searchsorted(sub, m << shift)
                b = lo0 + np.searchsorted(sub, (m + 1) << shift)
                if b > a:
                    out_lo[n] = a
                    out_hi[n] = b
                    n += 1
    return n


@jit
def bulk_scan(
    part: int,
    m_lo: int,
    m_hi: int,
    ff: F32,
    fi: I32,
    keys: I64,
    rank: I32,
    n_supply: int,
    n_demand: int,
    s_row: I32,
    s_weight: F32,
    s_morton: I64,
    s_cls: I32,
    s_class_start: I64,
    d_row: I32,
    d_weight: F32,
    d_morton: I64,
    d_class_start: I64,
    c_indptr: I32,
    c_indices: I32,
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
    thr: F32,
    lsd: F32,
    lpk: I64,
    meta: I32,
    dropped: U8,
) -> int:
    """Strict candidate pairs of the supplies whose Morton code is in [m_lo, m_hi) (partition `part`) into the
    bounded lists. Returns the number of pairs that passed.

    Lists (see `ranking`), indexed by list id: a supply's list is its rank among supplies; a demand has one
    list per partition, n_supply + part·n_demand + its rank among demands, so partitions run in parallel
    without sharing a list. `lsd[l, j]` = (score, distance), `lpk[l, j]` = counterpart << 32 | class pair,
    `meta[l]` = (size, index of the worst entry), `thr[l]` = score of the worst entry once the list is full
    (-inf before), `dropped[l]` = 1 once a candidate was turned away or evicted. A candidate scoring below
    `thr` is turned away after one 4-byte read; the same pair may enter twice through two class pairs (the
    selection skips the second).

    Hot loop: the cell lookup and the list update are written out here on purpose, since a numba call that
    takes arrays costs ~60 ns of reference counting, more than the work per pair.
    """
    m_cap = lsd.shape[1]
    top = GRID_SIZE - 1
    out_lo = np.empty(_MAX_CELLS, np.int64)
    out_hi = np.empty(_MAX_CELLS, np.int64)
    passed = 0
    d_base = n_supply + part * n_demand
    for cls_ in range(s_class_start.shape[0] - 1):
        # this partition's entries of the class: a contiguous run (entries sorted by class, then Morton)
        lo, hi = s_class_start[cls_], s_class_start[cls_ + 1]
        while lo < hi:
            mid = (lo + hi) >> 1
            if s_morton[mid] < m_lo:
                lo = mid + 1
            else:
                hi = mid
        i0 = lo
        hi = s_class_start[cls_ + 1]
        while lo < hi:
            mid = (lo + hi) >> 1
            if s_morton[mid] < m_hi:
                lo = mid + 1
            else:
                hi = mid
        n_e = lo
        while i0 < n_e:
            cls = s_cls[i0]
            r0 = s_row[i0]
            cat = (fi[r0, IPACK] >> PACK_CAT_SHIFT) & 15
            level = cat_level[cat]
            shift = 3 * level
            cell = s_morton[i0] >> shift
            bx0 = bx1 = fi[r0, IGX]
            by0 = by1 = fi[r0, IGY]
            bz0 = bz1 = fi[r0, IGZ]
            i1 = i0 + 1
            while i1 < n_e and (s_morton[i1] >> shift) == cell:
                r = s_row[i1]
                if ((fi[r, IPACK] >> PACK_CAT_SHIFT) & 15) != cat:
                    break
                bx0 = min(bx0, fi[r, IGX])
                bx1 = max(bx1, fi[r, IGX])
                by0 = min(by0, fi[r, IGY])
                by1 = max(by1, fi[r, IGY])
                bz0 = min(bz0, fi[r, IGZ])
                bz1 = max(bz1, fi[r, IGZ])
                i1 += 1
            c2max = cat_c2[cat]
            rb = cat_rb[cat]
            x0 = max(0, math.floor(bx0 - rb)) >> level
            x1 = min(top, math.floor(bx1 + rb)) >> level
            y0 = max(0, math.floor(by0 - rb)) >> level
            y1 = min(top, math.floor(by1 + rb)) >> level
            z0 = max(0, math.floor(bz0 - rb)) >> level
            z1 = min(top, math.floor(bz1 + rb)) >> level
            for k in range(c_indptr[cls], c_indptr[cls + 1]):
                cd = c_indices[k]
                lo0 = d_class_start[cd]
                hi0 = d_class_start[cd + 1]
                if lo0 == hi0:
                    continue
                # demand slices of class cd in the cells the group's box grown by the radius touches
                ncell = 0
                for cx in range(x0, x1 + 1):
                    for cy in range(y0, y1 + 1):
                        for cz in range(z0, z1 + 1):
                            mc = _morton3(cx, cy, cz)
                            v_lo = mc << shift
                            v_hi = (mc + 1) << shift
                            lo, hi = lo0, hi0  # first index with morton >= v_lo
                            while lo < hi:
                                mid = (lo + hi) >> 1
                                if d_morton[mid] < v_lo:
                                    lo = mid + 1
                                else:
                                    hi = mid
                            a_pos = lo
                            hi = hi0  # first index with morton >= v_hi
                            while lo < hi:
                                mid = (lo + hi) >> 1
                                if d_morton[mid] < v_hi:
                                    lo = mid + 1
                                else:
                                    hi = mid
                            if lo > a_pos and ncell < _MAX_CELLS:
                                out_lo[ncell] = a_pos
                                out_hi[ncell] = lo
                                ncell += 1
                if ncell == 0:
                    continue
                cp = load_class_pair(c_fit, c_min_t, c_max_t, c_min_pu, c_min_pr, c_treat, k)
                for i in range(i0, i1):
                    s = s_row[i]
                    ws = float(s_weight[i])
                    a = load_row(ff, fi, s)
                    xs = a[FX]
                    ys = a[FY]
                    zs = a[FZ]
                    for c in range(ncell):
                        for j in range(out_lo[c], out_hi[c]):
                            d = d_row[j]
                            dx = xs - float(ff[d, FX])
                            dy = ys - float(ff[d, FY])
                            dz = zs - float(ff[d, FZ])
                            c2 = dx * dx + dy * dy + dz * dz
                            if c2 > c2max:
                                continue
                            b = load_row(ff, fi, d)
                            r = evaluate_pair(a, b, cp, ws * float(d_weight[j]), c2, pt)
                            if not r[0]:
                                continue
                            passed += 1
                            score = float(np.float32(r[1]))
                            dist = float(np.float32(r[8]))
                            # ranking.offer, written out: first the supply's list, then the demand's
                            for side in range(2):
                                f = rank[s] if side == 0 else d_base + rank[d]
                                partner = d if side == 0 else s
                                t = thr[f]
                                if score < t:
                                    dropped[f] = 1
                                    continue
                                n = meta[f, 0]
                                if n < m_cap:
                                    lsd[f, n, 0] = score
                                    lsd[f, n, 1] = dist
                                    lpk[f, n] = (int(partner) << 32) | int(k)
                                    n += 1
                                    meta[f, 0] = n
                                    if n < m_cap:
                                        continue
                                else:
                                    w = meta[f, 1]
                                    if score == t:
                                        cmp = compare(score, dist, t, lsd[f, w, 1])
                                        if cmp == 0:
                                            pw = lpk[f, w]
                                            cmp = tie_break(keys[partner], k, keys[pw >> 32], pw & 0xFFFFFFFF)
                                        if cmp < 0:
                                            dropped[f] = 1
                                            continue
                                    dropped[f] = 1
                                    lsd[f, w, 0] = score
                                    lsd[f, w, 1] = dist
                                    lpk[f, w] = (int(partner) << 32) | int(k)
                                # the list is full: find its worst entry, which sets the threshold
                                w = 0
                                for jj in range(1, m_cap):
                                    cmp = compare(lsd[f, jj, 0], lsd[f, jj, 1], lsd[f, w, 0], lsd[f, w, 1])
                                    if cmp == 0:
                                        pj, pw = lpk[f, jj], lpk[f, w]
                                        cmp = tie_break(
                                            keys[pj >> 32], pj & 0xFFFFFFFF, keys[pw >> 32], pw & 0xFFFFFFFF
                                        )
                                    if cmp < 0:
                                        w = jj
                                meta[f, 1] = w
                                thr[f] = lsd[f, w, 0]
            i0 = i1
    return passed


@jit_parallel
def bulk_scan_parallel(
    split: I64,
    ff: F32,
    fi: I32,
    keys: I64,
    rank: I32,
    n_supply: int,
    n_demand: int,
    s_row: I32,
    s_weight: F32,
    s_morton: I64,
    s_cls: I32,
    s_class_start: I64,
    d_row: I32,
    d_weight: F32,
    d_morton: I64,
    d_class_start: I64,
    c_indptr: I32,
    c_indices: I32,
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
    thr: F32,
    lsd: F32,
    lpk: I64,
    meta: I32,
    dropped: U8,
) -> int:
    """`bulk_scan` over the Morton partitions [split[p], split[p+1]) in parallel, one thread each."""
    n_parts = split.shape[0] - 1
    passed = np.zeros(n_parts, np.int64)
    for part in prange(n_parts):
        pt = pt_from_array(pv)
        passed[part] = bulk_scan(
            part,
            split[part],
            split[part + 1],
            ff,
            fi,
            keys,
            rank,
            n_supply,
            n_demand,
            s_row,
            s_weight,
            s_morton,
            s_cls,
            s_class_start,
            d_row,
            d_weight,
            d_morton,
            d_class_start,
            c_indptr,
            c_indices,
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
            thr,
            lsd,
            lpk,
            meta,
            dropped,
        )
    return int(passed.sum())


def partitions(index: MatchIndex, n_parts: int) -> I64:
    """Morton split points giving each partition about the same work: supplies weighted by the demands in
    their ~25 km cell (the pairs a supply brings grow with its neighbours)."""
    big = np.int64(1) << np.int64(3 * GRID_BITS)
    if n_parts <= 1 or index.n == 0:
        return np.asarray([0, big], np.int64)
    sup = index.flows.is_supply
    ms = np.sort(index.table.morton[sup])
    md = np.sort(index.table.morton[~sup])
    if ms.size == 0:
        return np.asarray([0, big], np.int64)
    shift = 3 * 7
    cell = ms >> shift
    w = (np.searchsorted(md, (cell + 1) << shift) - np.searchsorted(md, cell << shift)).astype(np.float64) + 1.0
    cum = np.cumsum(w)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n_parts) / n_parts)
    inner = ms[np.minimum(cuts, ms.shape[0] - 1)]
    return np.concatenate([[0], np.maximum.accumulate(inner), [big]]).astype(np.int64)


@jit
def _grow_i64(a: I64, n: int) -> I64:
    b = np.empty(max(2 * a.shape[0], n), np.int64)
    b[: a.shape[0]] = a
    return b


@jit
def _grow_f32(a: F32, n: int) -> F32:
    b = np.empty(max(2 * a.shape[0], n), np.float32)
    b[: a.shape[0]] = a
    return b


@jit
def scan_flow(
    qff: F32,
    qfi: I32,
    q: int,
    q_supply: bool,
    q_cls: I32,
    q_w: F32,
    ff: F32,
    fi: I32,
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
    pt: ParamTuple,
    cat_level: I64,
    cat_rb: F64,
    cat_c2: F64,
    class_level: I64,
    class_rb: F64,
    class_c2: F64,
) -> tuple[I64, F32, F32, int]:
    """Every candidate of flow q (row q of qff/qfi, classes q_cls with weights q_w) among the indexed flows
    of the other direction. Returns (counterpart row << 32 | class pair, scores, distances km, count); a counterpart
    reached through two class pairs appears twice (ranking keeps the better)."""
    cap = 64
    pk = np.empty(cap, np.int64)
    score = np.empty(cap, np.float32)
    dist = np.empty(cap, np.float32)
    n = 0
    out_lo = np.empty(_MAX_CELLS, np.int64)
    out_hi = np.empty(_MAX_CELLS, np.int64)
    gx = qfi[q, IGX]
    gy = qfi[q, IGY]
    gz = qfi[q, IGZ]
    qrow = load_row(qff, qfi, q)
    xq = qrow[FX]
    yq = qrow[FY]
    zq = qrow[FZ]
    cat = (qfi[q, IPACK] >> PACK_CAT_SHIFT) & 15
    level, rb, c2max = cat_level[cat], cat_rb[cat], cat_c2[cat]
    for e in range(q_cls.shape[0]):
        cls = q_cls[e]
        wq = float(q_w[e])
        if q_supply:
            lo_t, hi_t = c_indptr[cls], c_indptr[cls + 1]
        else:
            lo_t, hi_t = ct_indptr[cls], ct_indptr[cls + 1]
        for t in range(lo_t, hi_t):
            if q_supply:
                k = t
                other = c_indices[t]
                lo0, hi0 = d_class_start[other], d_class_start[other + 1]
                morton = d_morton
            else:
                k = ct_entry[t]
                other = ct_class[t]
                lo0, hi0 = s_class_start[other], s_class_start[other + 1]
                morton = s_morton
                level, rb, c2max = class_level[other], class_rb[other], class_c2[other]
            if lo0 == hi0:
                continue
            ncell = cell_ranges(morton, lo0, hi0, gx, gx, gy, gy, gz, gz, rb, level, out_lo, out_hi)
            cp = load_class_pair(c_fit, c_min_t, c_max_t, c_min_pu, c_min_pr, c_treat, k)
            for c in range(ncell):
                for j in range(out_lo[c], out_hi[c]):
                    p = d_row[j] if q_supply else s_row[j]
                    dx = xq - float(ff[p, FX])
                    dy = yq - float(ff[p, FY])
                    dz = zq - float(ff[p, FZ])
                    c2 = dx * dx + dy * dy + dz * dz
                    if c2 > c2max:
                        continue
                    prow = load_row(ff, fi, p)
                    if q_supply:
                        r = evaluate_pair(qrow, prow, cp, wq * float(d_weight[j]), c2, pt)
                    else:
                        r = evaluate_pair(prow, qrow, cp, wq * float(s_weight[j]), c2, pt)
                    if not r[0]:
                        continue
                    if n == pk.shape[0]:
                        pk = _grow_i64(pk, n + 1)
                        score = _grow_f32(score, n + 1)
                        dist = _grow_f32(dist, n + 1)
                    pk[n] = pack_pk(p, k)
                    score[n] = r[1]
                    dist[n] = r[8]
                    n += 1
    return pk, score, dist, n
