"""Candidate generation: which supply→demand pairs are even looked at, and the loops over them.

Bulk (`scan_part`): supply entries (sorted by class, Morton code) are cut into groups that share a class, a
category and a grid cell at the level of that category's radius (cell side ≥ radius). For each group, the
cells its bounding box grown by the radius touches are listed once (in Morton order); for each demand class
the group's class fits (a row of the sparse compatibility matrix), the demand entries in those cells are a
few slices of that class's entries, found by galloping binary search on Morton codes. Every (supply, demand)
pair in the cells near the supply is checked by squared chord; the ones within reach go to a small buffer,
which `pairs.evaluate` runs through the rules and the scorers, and the pairs that pass are offered to both
flows' bounded lists (`ranking.offer`). Supplies are split into Morton-range partitions that run in
parallel: each writes the lists of its own supplies and of the demands in its Morton range, and keeps
overflow lists for the few demands outside the range that its supplies reach (see `ranking`).

Single flow (`scan_flow`): the same lookups around one flow (indexed or ad hoc), in either direction (a
demand looks up supply classes through the transposed matrix), collecting all its candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from turash.matching.engine._jit import jit
from turash.matching.engine.features import (
    FLAG_HAZARDOUS,
    FLAG_INFERRED,
    FLAG_PERMIT,
    FX,
    FY,
    FZ,
    IFROM,
    IORG,
    IPACK,
    ITO,
    PACK_CAT_SHIFT,
    PACK_FLAGS_SHIFT,
    grid_of,
    spread3,
)
from turash.matching.engine.geo import GRID_BITS, GRID_SIZE, chord_for_km
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.pairs import evaluate
from turash.matching.engine.prefilter import PV_INCLUDE_INFERRED, PV_SEARCH
from turash.matching.engine.ranking import pair_key
from turash.matching.engine.types import F32, F64, I32, I64, N_CATEGORIES, U8, U16

_HALF_GRID = GRID_SIZE / 2.0
_TOP = GRID_SIZE - 1
MAX_CELLS = 64  # a group's box grown by the radius spans at most 3 cells per axis at its level (27)
BUFFER = 2048  # pairs evaluated per `evaluate` call


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
    level = np.minimum(level, GRID_BITS)
    c2 = np.where(np.isfinite(chord), chord * chord * (1.0 + 1e-6) + 1e-12, np.inf)
    return level, rb, c2


def search_geometry(index: MatchIndex, pv: F64) -> SearchGeometry:
    """Geometry for the parameter vector `pv` (cached on the index)."""
    search = np.asarray(pv[PV_SEARCH : PV_SEARCH + N_CATEGORIES], np.float64)
    key = ("geometry", search.tobytes())
    geo: SearchGeometry | None = index.cache.get(key)
    if geo is not None:
        return geo
    cl, crb, cc2 = _geometry(search)
    mask = index.supply_class_categories
    per_class = np.zeros(mask.shape[0], np.float64)
    for c in range(N_CATEGORIES):
        per_class = np.where(mask & (1 << c), np.maximum(per_class, search[c]), per_class)
    per_class = np.where(per_class > 0, per_class, search.max())
    kl, krb, kc2 = _geometry(per_class)
    geo = SearchGeometry(cl, crb, cc2, kl, krb, kc2)
    if len(index.cache) > 64:
        index.cache.clear()
    index.cache[key] = geo
    return geo


@jit
def lower_bound(a: I64, lo: int, hi: int, v: int) -> int:
    """First index in [lo, hi) with a[i] >= v (a sorted), galloping from lo (cheap when it is near lo)."""
    if lo >= hi or a[lo] >= v:
        return lo
    prev = lo  # a[prev] < v
    step = 1
    nxt = hi
    while prev + step < hi:
        if a[prev + step] >= v:
            nxt = prev + step
            break
        prev += step
        step <<= 1
    lo = prev + 1
    while lo < nxt:
        mid = (lo + nxt) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            nxt = mid
    return lo


# Rows of the cell workspace (int64, (WS_ROWS, MAX_CELLS)): the cells around a group, then the slices found.
WS_CODE, WS_CX, WS_CY, WS_CZ, WS_LO, WS_HI, WS_CELL = 0, 1, 2, 3, 4, 5, 6
WS_ROWS = 7


@jit
def box_cells(bx0: int, bx1: int, by0: int, by1: int, bz0: int, bz1: int, rb: float, level: int, ws: I64) -> int:
    """The level-`level` cells that the box [b*0, b*1] (base cells) grown by `rb` base cells touches, sorted by
    Morton code, into the workspace rows WS_CODE and WS_CX..WS_CZ. Returns how many (at most MAX_CELLS)."""
    x0 = max(0, math.floor(bx0 - rb)) >> level
    x1 = min(_TOP, math.floor(bx1 + rb)) >> level
    y0 = max(0, math.floor(by0 - rb)) >> level
    y1 = min(_TOP, math.floor(by1 + rb)) >> level
    z0 = max(0, math.floor(bz0 - rb)) >> level
    z1 = min(_TOP, math.floor(bz1 + rb)) >> level
    n = 0
    for cx in range(x0, x1 + 1):
        for cy in range(y0, y1 + 1):
            for cz in range(z0, z1 + 1):
                if n >= ws.shape[1]:
                    return n
                m = spread3(cx) | (spread3(cy) << 1) | (spread3(cz) << 2)
                j = n  # insertion sort by code
                while j > 0 and ws[WS_CODE, j - 1] > m:
                    for r in range(4):
                        ws[r, j] = ws[r, j - 1]
                    j -= 1
                ws[WS_CODE, j] = m
                ws[WS_CX, j] = cx
                ws[WS_CY, j] = cy
                ws[WS_CZ, j] = cz
                n += 1
    return n


@jit
def cell_slices(morton: I64, lo0: int, hi0: int, ws: I64, ncell: int, shift: int) -> int:
    """The non-empty slices of `morton[lo0:hi0]` (sorted) in the workspace's cells (sorted Morton codes at the
    level shift / 3), into rows WS_LO, WS_HI (slice) and WS_CELL (cell position). Returns how many.

    Each cell's start is a galloping search from the previous cell's end: the slices of one class near one
    place are close together, so most searches take a few steps."""
    if ncell == 0 or lo0 >= hi0:
        return 0
    n = 0
    pos = lo0
    for c in range(ncell):
        for bound in range(2):
            v = (ws[WS_CODE, c] + bound) << shift
            # first index >= pos with morton >= v (galloping, then binary search)
            if pos < hi0 and morton[pos] < v:
                prev = pos
                step = 1
                nxt = hi0
                while prev + step < hi0:
                    if morton[prev + step] >= v:
                        nxt = prev + step
                        break
                    prev += step
                    step <<= 1
                lo = prev + 1
                while lo < nxt:
                    mid = (lo + nxt) >> 1
                    if morton[mid] < v:
                        lo = mid + 1
                    else:
                        nxt = mid
                pos = lo
            if bound == 0:
                if pos >= hi0:
                    return n
                if morton[pos] >= v + (1 << shift):
                    break  # empty cell
                ws[WS_LO, n] = pos
            else:
                ws[WS_HI, n] = pos
                ws[WS_CELL, n] = c
                n += 1
    return n


@jit
def _flush(
    rec: F32,
    ri: I32,
    cpf: F32,
    pvt: F64,
    nb: int,
    bs: I32,
    bd: I32,
    bk: I32,
    bw: F64,
    allow: U8,
    o_score: F32,
    o_dist: F32,
    o_relax: U8,
    d_sub: F32,
    d_u16: U16,
    d_f32: F32,
    m_lo: int,
    m_hi: int,
    row_morton: I64,
    keys: I64,
    rank: I32,
    n_supply: int,
    lk: I64,
    lp: I64,
    ls: I64,
    omap: I32,
    o_rank: I32,
    o_lk: I64,
    o_lp: I64,
    o_ls: I64,
    n_o: int,
) -> tuple[int, int]:
    """Evaluate the buffered pairs and offer the ones that pass to both flows' lists (`lk`.. rows: supplies by
    rank, then demands by rank after `n_supply`) or to the demand's overflow list (`o_*`, `n_o` in use, a row
    per demand at most). Returns (passed, overflow lists in use)."""
    passed = evaluate(
        rec, ri, rec, ri, cpf, pvt, nb, bs, bd, bk, bw, allow, 0, o_score, o_dist, o_relax, False, d_sub, d_u16,
        d_f32, d_f32, d_f32,
    )  # fmt: skip
    sbits = o_score.view(np.int32)
    dbits = o_dist.view(np.int32)
    m_cap = lk.shape[1]
    # `ranking.offer`, written out three times: a call that takes arrays costs ~50 ns of reference counting
    for i in range(nb):
        if o_score[i] < 0.0:
            continue
        key = (max(int(sbits[i]), 0) << 32) | (0xFFFFFFFF - int(dbits[i]))
        s = bs[i]
        d = bd[i]
        k = bk[i]
        own = m_lo <= row_morton[d] < m_hi
        for side in range(2):
            if side == 0:
                lid = rank[s]
                pk = (int(d) << 32) | int(k)
            else:
                if not own:
                    break
                lid = n_supply + rank[d]
                pk = (int(s) << 32) | int(k)
            cnt = ls[lid, 1]
            ls[lid, 1] = cnt + 1
            wk = ls[lid, 0]
            if key < wk:
                continue
            if key == wk:
                wp = lp[lid, m_cap - 1]
                xa, xb = keys[pk >> 32], keys[wp >> 32]
                if xa > xb or (xa == xb and (pk & 0xFFFFFFFF) > (wp & 0xFFFFFFFF)):
                    continue
            pos = cnt if cnt < m_cap else m_cap - 1
            while pos > 0:
                ek = lk[lid, pos - 1]
                if key < ek:
                    break
                if key == ek:
                    ep = lp[lid, pos - 1]
                    xa, xb = keys[pk >> 32], keys[ep >> 32]
                    if xa > xb or (xa == xb and (pk & 0xFFFFFFFF) > (ep & 0xFFFFFFFF)):
                        break
                lk[lid, pos] = ek
                lp[lid, pos] = lp[lid, pos - 1]
                pos -= 1
            lk[lid, pos] = key
            lp[lid, pos] = pk
            if cnt + 1 >= m_cap:
                ls[lid, 0] = lk[lid, m_cap - 1]
        if own:
            continue
        # a demand outside the partition's Morton range: its overflow list in this partition
        r = rank[d]
        lid = omap[r]
        if lid < 0:
            lid = n_o
            omap[r] = lid
            o_rank[lid] = r
            o_ls[lid, 0] = -1
            o_ls[lid, 1] = 0
            n_o += 1
        pk = (int(s) << 32) | int(k)
        cnt = o_ls[lid, 1]
        o_ls[lid, 1] = cnt + 1
        wk = o_ls[lid, 0]
        if key < wk:
            continue
        if key == wk:
            wp = o_lp[lid, m_cap - 1]
            xa, xb = keys[pk >> 32], keys[wp >> 32]
            if xa > xb or (xa == xb and (pk & 0xFFFFFFFF) > (wp & 0xFFFFFFFF)):
                continue
        pos = cnt if cnt < m_cap else m_cap - 1
        while pos > 0:
            ek = o_lk[lid, pos - 1]
            if key < ek:
                break
            if key == ek:
                ep = o_lp[lid, pos - 1]
                xa, xb = keys[pk >> 32], keys[ep >> 32]
                if xa > xb or (xa == xb and (pk & 0xFFFFFFFF) > (ep & 0xFFFFFFFF)):
                    break
            o_lk[lid, pos] = ek
            o_lp[lid, pos] = o_lp[lid, pos - 1]
            pos -= 1
        o_lk[lid, pos] = key
        o_lp[lid, pos] = pk
        if cnt + 1 >= m_cap:
            o_ls[lid, 0] = o_lk[lid, m_cap - 1]
    return passed, n_o


@jit
def scan_part(
    tiles: I64,
    rec: F32,
    ri: I32,
    row_morton: I64,
    keys: I64,
    rank: I32,
    n_demand: int,
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
    cpf: F32,
    pvt: F64,
    cat_level: I64,
    cat_rb: F64,
    cat_c2: F64,
    n_supply: int,
    lk: I64,
    lp: I64,
    ls: I64,
) -> tuple[int, I32, I64, I64, I64, int]:
    """Strict candidate pairs of the supplies whose Morton code is in [m_lo, m_hi) = [tiles[0], tiles[-1]) (cut
    into tiles at the inner values), into the bounded lists
    (`ranking.offer`; rows: supply lists by supply rank, then demand lists by demand rank from row `n_supply`)
    for the demands in the same Morton range, and overflow lists (returned) for the other demands. Returns
    (pairs that passed, overflow demand ranks, keys, pairs, states, count)."""
    m_cap = lk.shape[1]
    ws = np.empty((WS_ROWS, MAX_CELLS), np.int64)
    bs = np.empty(BUFFER, np.int32)
    bd = np.empty(BUFFER, np.int32)
    bk = np.empty(BUFFER, np.int32)
    bw = np.empty(BUFFER, np.float64)
    allow = np.zeros(1, np.uint8)
    o_score = np.empty(BUFFER, np.float32)
    o_dist = np.empty(BUFFER, np.float32)
    o_relax = np.empty(BUFFER, np.uint8)
    d_sub = np.empty((1, 6), np.float32)
    d_u16 = np.empty(1, np.uint16)
    d_f32 = np.empty(1, np.float32)
    # overflow lists: room for every demand, but only the pages of the few in use are ever touched
    omap = np.full(n_demand, -1, np.int32)
    o_rank = np.empty(n_demand, np.int32)
    o_lk = np.empty((n_demand, m_cap), np.int64)
    o_lp = np.empty((n_demand, m_cap), np.int64)
    o_ls = np.empty((n_demand, 2), np.int64)
    n_o = 0
    m_lo, m_hi = tiles[0], tiles[tiles.shape[0] - 1]
    nb = 0
    passed = 0
    incl_inferred = pvt[0, PV_INCLUDE_INFERRED] != 0.0
    for t in range(tiles.shape[0] - 1):
        # tile by tile (a few thousand supplies of one region), then class by class within a tile: the
        # records and lists of a region stay in the CPU caches while all its classes are processed
        t_lo, t_hi = tiles[t], tiles[t + 1]
        for cls_ in range(s_class_start.shape[0] - 1):
            # the tile's entries of the class: a contiguous run (entries sorted by class, then Morton)
            i0 = lower_bound(s_morton, s_class_start[cls_], s_class_start[cls_ + 1], t_lo)
            n_e = lower_bound(s_morton, i0, s_class_start[cls_ + 1], t_hi)
            while i0 < n_e:
                r0 = s_row[i0]
                cat = (ri[r0, IPACK] >> PACK_CAT_SHIFT) & 15
                level = cat_level[cat]
                shift = 3 * level
                cell = s_morton[i0] >> shift
                gx = grid_of(float(rec[r0, FX]))
                gy = grid_of(float(rec[r0, FY]))
                gz = grid_of(float(rec[r0, FZ]))
                bx0 = bx1 = gx
                by0 = by1 = gy
                bz0 = bz1 = gz
                i1 = i0 + 1
                while i1 < n_e and (s_morton[i1] >> shift) == cell:
                    r = s_row[i1]
                    if ((ri[r, IPACK] >> PACK_CAT_SHIFT) & 15) != cat:
                        break
                    gx = grid_of(float(rec[r, FX]))
                    gy = grid_of(float(rec[r, FY]))
                    gz = grid_of(float(rec[r, FZ]))
                    bx0 = min(bx0, gx)
                    bx1 = max(bx1, gx)
                    by0 = min(by0, gy)
                    by1 = max(by1, gy)
                    bz0 = min(bz0, gz)
                    bz1 = max(bz1, gz)
                    i1 += 1
                c2max = cat_c2[cat]
                rb = cat_rb[cat]
                ncell = box_cells(bx0, bx1, by0, by1, bz0, bz1, rb, level, ws)
                for k in range(c_indptr[cls_], c_indptr[cls_ + 1]):
                    cd = c_indices[k]
                    nsl = cell_slices(d_morton, d_class_start[cd], d_class_start[cd + 1], ws, ncell, shift)
                    if nsl == 0:
                        continue
                    for i in range(i0, i1):
                        s = s_row[i]
                        org_s = ri[s, IORG]
                        pack_s = ri[s, IPACK]
                        from_s = ri[s, IFROM]
                        to_s = ri[s, ITO]
                        if not incl_inferred and ((pack_s >> PACK_FLAGS_SHIFT) & FLAG_INFERRED):
                            continue
                        need_permit = ((pack_s >> PACK_FLAGS_SHIFT) & FLAG_HAZARDOUS) != 0
                        w_s = float(s_weight[i])
                        xs = float(rec[s, FX])
                        ys = float(rec[s, FY])
                        zs = float(rec[s, FZ])
                        gx = grid_of(xs)
                        gy = grid_of(ys)
                        gz = grid_of(zs)
                        x0 = max(0, math.floor(gx - rb)) >> level
                        x1 = min(_TOP, math.floor(gx + rb)) >> level
                        y0 = max(0, math.floor(gy - rb)) >> level
                        y1 = min(_TOP, math.floor(gy + rb)) >> level
                        z0 = max(0, math.floor(gz - rb)) >> level
                        z1 = min(_TOP, math.floor(gz + rb)) >> level
                        for c in range(nsl):
                            ci = ws[WS_CELL, c]
                            cx = ws[WS_CX, ci]
                            cy = ws[WS_CY, ci]
                            cz = ws[WS_CZ, ci]
                            if cx < x0 or cx > x1 or cy < y0 or cy > y1 or cz < z0 or cz > z1:
                                continue
                            for j in range(ws[WS_LO, c], ws[WS_HI, c]):
                                d = d_row[j]
                                dx = xs - float(rec[d, FX])
                                dy = ys - float(rec[d, FY])
                                dz = zs - float(rec[d, FZ])
                                if dx * dx + dy * dy + dz * dz > c2max:
                                    continue
                                # the rules no relaxation lifts, on the same cache line: fail here, skip `evaluate`
                                pack_d = ri[d, IPACK]
                                flags_d = pack_d >> PACK_FLAGS_SHIFT
                                if (
                                    ri[d, IORG] == org_s
                                    or (pack_s & pack_d & 0xFFF) == 0
                                    or min(to_s, ri[d, ITO]) < max(from_s, ri[d, IFROM])
                                    or (not incl_inferred and (flags_d & FLAG_INFERRED))
                                    or (need_permit and not (flags_d & FLAG_PERMIT))
                                ):
                                    continue
                                bs[nb] = s
                                bd[nb] = d
                                bk[nb] = k
                                bw[nb] = w_s * float(d_weight[j])
                                nb += 1
                                if nb == BUFFER:
                                    p, n_o = _flush(
                                        rec, ri, cpf, pvt, nb, bs, bd, bk, bw, allow, o_score, o_dist, o_relax, d_sub,
                                        d_u16, d_f32, m_lo, m_hi, row_morton, keys, rank, n_supply, lk, lp, ls, omap,
                                        o_rank, o_lk, o_lp, o_ls, n_o,
                                    )  # fmt: skip
                                    passed += p
                                    nb = 0
                i0 = i1
    if nb:
        p, n_o = _flush(
            rec, ri, cpf, pvt, nb, bs, bd, bk, bw, allow, o_score, o_dist, o_relax, d_sub, d_u16, d_f32, m_lo, m_hi,
            row_morton, keys, rank, n_supply, lk, lp, ls, omap, o_rank, o_lk, o_lp, o_ls, n_o,
        )  # fmt: skip
        passed += p
    return passed, o_rank[:n_o].copy(), o_lk[:n_o].copy(), o_lp[:n_o].copy(), o_ls[:n_o].copy(), n_o


TILE = 4096  # supplies per tile


def partitions(index: MatchIndex, n_parts: int, tile: int = TILE) -> list[I64]:
    """Morton ranges giving each partition about the same work (supplies weighted by the demands in their
    ~25 km cell: the pairs a supply brings grow with its neighbours), each cut into tiles of about `tile`
    supplies. Returns one array of ascending Morton bounds per partition (first and last: its range)."""
    big = int(np.int64(1) << np.int64(3 * GRID_BITS))
    sup = index.flows.is_supply
    ms = index.table.morton[sup]  # rows are in Morton order
    if n_parts <= 1 or ms.size == 0:
        bounds = np.asarray([0, big], np.int64)
    else:
        md = index.table.morton[~sup]
        shift = 3 * 7
        cell = ms >> shift
        w = (np.searchsorted(md, (cell + 1) << shift) - np.searchsorted(md, cell << shift)).astype(np.float64) + 1.0
        cum = np.cumsum(w)
        cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n_parts) / n_parts)
        inner = ms[np.minimum(cuts, ms.shape[0] - 1)]
        bounds = np.unique(np.concatenate([[0], np.maximum.accumulate(inner), [big]]).astype(np.int64))
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):  # noqa: RUF007
        a, b = np.searchsorted(ms, [lo, hi])
        inner_t = ms[a + tile : b : tile] if b - a > tile else np.zeros(0, np.int64)
        out.append(np.unique(np.concatenate([[lo], inner_t, [hi]]).astype(np.int64)))
    return out


@jit
def scan_flow(
    qrec: F32,
    qri: I32,
    q: int,
    q_supply: bool,
    q_cls: I32,
    q_w: F32,
    rec: F32,
    ri: I32,
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
) -> tuple[I64, I64, U8, int]:
    """Every candidate of flow q (row q of qrec, classes q_cls with weights q_w) among the indexed flows of the
    other direction, under the rules with `allowed` relaxations. Returns (counterpart row << 32 | class pair,
    ranking keys (`ranking.pair_key`), relaxations used, count); a counterpart reached through two class
    pairs appears twice (ranking keeps the better)."""
    ws = np.empty((WS_ROWS, MAX_CELLS), np.int64)
    cap = 64
    bp = np.empty(cap, np.int32)
    bk = np.empty(cap, np.int32)
    bw = np.empty(cap, np.float64)
    n = 0
    xq = float(qrec[q, FX])
    yq = float(qrec[q, FY])
    zq = float(qrec[q, FZ])
    gx = grid_of(xq)
    gy = grid_of(yq)
    gz = grid_of(zq)
    cat = (qri[q, IPACK] >> PACK_CAT_SHIFT) & 15
    level, rb, c2max = cat_level[cat], cat_rb[cat], cat_c2[cat]
    ncell = box_cells(gx, gx, gy, gy, gz, gz, rb, level, ws)
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
                rows = d_row
                wts = d_weight
            else:
                k = ct_entry[t]
                other = ct_class[t]
                lo0, hi0 = s_class_start[other], s_class_start[other + 1]
                morton = s_morton
                rows = s_row
                wts = s_weight
                if class_level[other] != level or class_rb[other] != rb:
                    level, rb = class_level[other], class_rb[other]
                    ncell = box_cells(gx, gx, gy, gy, gz, gz, rb, level, ws)
                c2max = class_c2[other]
            if lo0 == hi0:
                continue
            nsl = cell_slices(morton, lo0, hi0, ws, ncell, 3 * level)
            for c in range(nsl):
                for j in range(ws[WS_LO, c], ws[WS_HI, c]):
                    p = rows[j]
                    dx = xq - float(rec[p, FX])
                    dy = yq - float(rec[p, FY])
                    dz = zq - float(rec[p, FZ])
                    if dx * dx + dy * dy + dz * dz > c2max:
                        continue
                    if n == cap:
                        cap *= 2
                        bp2 = np.empty(cap, np.int32)
                        bk2 = np.empty(cap, np.int32)
                        bw2 = np.empty(cap, np.float64)
                        bp2[:n] = bp[:n]
                        bk2[:n] = bk[:n]
                        bw2[:n] = bw[:n]
                        bp, bk, bw = bp2, bk2, bw2
                    bp[n] = p
                    bk[n] = k
                    bw[n] = wq * float(wts[j])
                    n += 1
    score = np.empty(n, np.float32)
    dist = np.empty(n, np.float32)
    relax = np.empty(n, np.uint8)
    allow = np.full(1, allowed, np.uint8)
    d_sub = np.empty((1, 6), np.float32)
    d_u16 = np.empty(1, np.uint16)
    d_f32 = np.empty(1, np.float32)
    qq = np.full(max(n, 1), q, np.int32)
    if q_supply:
        evaluate(
            qrec, qri, rec, ri, cpf, pvt, n, qq, bp, bk, bw, allow, 0, score, dist, relax, False, d_sub, d_u16,
            d_f32, d_f32, d_f32,
        )  # fmt: skip
    else:
        evaluate(
            rec, ri, qrec, qri, cpf, pvt, n, bp, qq, bk, bw, allow, 0, score, dist, relax, False, d_sub, d_u16,
            d_f32, d_f32, d_f32,
        )  # fmt: skip
    pk = np.empty(n, np.int64)
    lkey = np.empty(n, np.int64)
    m = 0
    sbits = score.view(np.int32)
    dbits = dist.view(np.int32)
    for i in range(n):
        if score[i] < 0.0:
            continue
        pk[m] = (int(bp[i]) << 32) | int(bk[i])
        lkey[m] = pair_key(sbits[i], dbits[i])
        relax[m] = relax[i]
        m += 1
    return pk, lkey, relax, m
