"""The in-memory candidate index: flows as packed records, and per direction a (class, Morton cell) sorted list.

Type + direction + location index: every (flow, resource class) pair is an *entry*; supply entries and demand
entries are kept apart, each sorted by (class, Morton code of the flow's base grid cell). The entries of one
class are a contiguous slice (`class_start`), and inside it every grid cell at every level is a contiguous
sub-slice, so "demands of class c within these cells" is a binary search per cell. The temporal index is the
availability window and month mask in the records: checked per pair, in the same pass.

Rows are sorted by Morton code too (`build` reorders the flows), so flows near each other in space are near
each other in memory: the records a pass over one region reads stay in the CPU caches.

`MatchIndex.update` adds, replaces and removes flows without recomputing anything for the flows that stay:
their records are copied, their entries keep their order, and the new entries are merged in by binary
search (O(n) copying, no sort of the whole table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from turash.matching.engine._jit import jit
from turash.matching.engine.features import IPACK, PACK_CAT_SHIFT, FlowTable, compute_features
from turash.matching.engine.geo import GRID_BITS
from turash.matching.engine.types import F32, I32, I64, N_CATEGORIES, U8, Bool, Compatibility, FlowArrays

_MORTON_BITS = 3 * GRID_BITS


@dataclass(frozen=True, eq=False)
class SideEntries:
    """Entries of one direction sorted by (class, Morton code); entries of class c are
    `[class_start[c], class_start[c + 1])`."""

    row: I32
    weight: F32
    morton: I64
    cls: I32
    class_start: I64

    @property
    def n(self) -> int:
        return int(self.row.shape[0])

    def sort_key(self) -> I64:
        return (self.cls.astype(np.int64) << _MORTON_BITS) | self.morton


@jit
def _order_ties(values: I64, order: I64) -> None:
    """`order` sorts `values` (ascending); make it stable: runs of equal values by ascending position."""
    n = order.shape[0]
    i = 0
    while i < n:
        j = i + 1
        v = values[order[i]]
        while j < n and values[order[j]] == v:
            j += 1
        if j - i > 1:  # insertion sort of the run by position (runs are short)
            for a in range(i + 1, j):
                x = order[a]
                b = a - 1
                while b >= i and order[b] > x:
                    order[b + 1] = order[b]
                    b -= 1
                order[b + 1] = x
        i = j


def stable_argsort(values: I64) -> I64:
    """`np.argsort(values, kind="stable")`, faster: an unstable (vectorised) sort, then the runs of equal values
    put back in position order."""
    order = np.argsort(values).astype(np.int64)
    _order_ties(values, order)
    return order


def _side_entries(flows: FlowArrays, morton: I64, rows: I64, n_classes: int) -> SideEntries:
    """Entries of `rows` (ascending), sorted by (class, Morton code, row) when `morton[rows]` is sorted."""
    starts = flows.class_indptr[rows]
    lens = (flows.class_indptr[rows + 1] - starts).astype(np.int64)
    total = int(lens.sum())
    pos = np.repeat(starts.astype(np.int64) - np.cumsum(lens) + lens, lens) + np.arange(total)
    erow = np.repeat(rows, lens)
    cls = flows.class_index[pos]
    if total and int(cls.max()) >= n_classes:
        raise ValueError("a flow has a class outside the compatibility matrix")
    em = morton[erow]
    if total > 1 and np.all(em[1:] >= em[:-1]) and n_classes < 2**15:
        order = np.argsort(cls.astype(np.int16), kind="stable")  # radix sort; Morton order kept within a class
    else:
        order = np.argsort((cls.astype(np.int64) << _MORTON_BITS) | em, kind="stable")
    return _finish(
        erow[order].astype(np.int32), flows.class_weight[pos][order], em[order], cls[order].astype(np.int32), n_classes
    )


def _finish(row: I32, weight: F32, morton: I64, cls: I32, n_classes: int) -> SideEntries:
    class_start = np.searchsorted(cls, np.arange(n_classes + 1), side="left").astype(np.int64)
    return SideEntries(row=row, weight=weight, morton=morton, cls=cls, class_start=class_start)


def class_pair_table(compat: Compatibility) -> F32:
    """The compatibility entries as one (nnz, 8) float32 table the kernels read in one cache line:
    fit, min temperature, max temperature, min purity, min pressure, needs treatment (0/1)."""
    out = np.zeros((compat.nnz, 8), np.float32)
    out[:, 0] = compat.fit
    out[:, 1] = compat.min_temperature_c
    out[:, 2] = compat.max_temperature_c
    out[:, 3] = compat.min_purity_pct
    out[:, 4] = compat.min_pressure_bar
    out[:, 5] = compat.needs_treatment
    return out


def side_ranks(is_supply: Bool) -> tuple[I32, int, int]:
    """Rank of every flow among the flows of its direction, and the two counts."""
    sup = is_supply.astype(np.int64)
    rs = np.cumsum(sup) - 1
    rd = np.cumsum(1 - sup) - 1
    n_sup = int(sup.sum())
    return np.where(is_supply, rs, rd).astype(np.int32), n_sup, int(is_supply.shape[0]) - n_sup


@dataclass(frozen=True, eq=False)
class MatchIndex:
    """Flows, their packed records, the class compatibility (and its transpose), and the two entry lists."""

    flows: FlowArrays
    table: FlowTable
    compat: Compatibility
    compat_t_indptr: I64  # transpose: for demand class c, entries [t_indptr[c], t_indptr[c+1]) of
    compat_t_class: I32  # supply class
    compat_t_entry: I32  # index into the compatibility entries
    supply: SideEntries
    demand: SideEntries
    key_sorted: I64  # flow keys in ascending order
    key_row: I32  # row of each sorted key
    compat_row: I32  # supply class of each compatibility entry
    supply_class_categories: U8  # per class, bit c set when a supply entry of the class has category c
    class_pairs: F32  # `class_pair_table(compat)`
    side_rank: I32  # rank of each row among the rows of its direction
    n_supply: int
    n_demand: int
    cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n(self) -> int:
        return self.flows.n

    @classmethod
    def build(cls, flows: FlowArrays, compat: Compatibility, like: MatchIndex | None = None) -> MatchIndex:
        """Index `flows`. The index keeps them in its own row order (by grid cell, so that neighbours are
        near in memory): rows in results refer to `index.flows`; keys are the stable ids. `like`: an index over
        the same compatibility whose derived tables are reused."""
        table = compute_features(flows)
        perm = stable_argsort(table.morton)
        flows = flows.take(perm)
        table = FlowTable(table.rec[perm], flows.key, table.morton[perm])
        order = np.argsort(flows.key)
        ks = flows.key[order]
        if ks.shape[0] > 1 and np.any(ks[1:] == ks[:-1]):
            raise ValueError("flow keys must be unique")
        return cls._assemble(flows, table, compat, ks, order.astype(np.int32), like)

    def excerpt(self, keys: ArrayLike, added: FlowArrays | None = None) -> MatchIndex:
        """A small index of the flows with these keys (and `added`), for reading a few results in detail: its
        cost grows with the flows taken, where `update` copies the whole index."""
        rows = self.rows_of(np.unique(np.asarray(keys, np.int64)))
        flows = self.flows.take(rows[rows >= 0])
        if added is not None and added.n:
            flows = FlowArrays.concat([flows, added])
        return MatchIndex.build(flows, self.compat, like=self)

    @classmethod
    def _assemble(
        cls,
        flows: FlowArrays,
        table: FlowTable,
        compat: Compatibility,
        key_sorted: I64,
        key_row: I32,
        like: MatchIndex | None,
        supply: SideEntries | None = None,
        demand: SideEntries | None = None,
    ) -> MatchIndex:
        rows = np.arange(flows.n, dtype=np.int64)
        sup = flows.is_supply
        if supply is None:
            supply = _side_entries(flows, table.morton, rows[sup], compat.n_classes)
        if demand is None:
            demand = _side_entries(flows, table.morton, rows[~sup], compat.n_classes)
        if like is None:
            t_indptr, t_class, t_entry = _transpose(compat)
            compat_row, pairs = compat.row_of_entry, class_pair_table(compat)
        else:
            t_indptr, t_class, t_entry = like.compat_t_indptr, like.compat_t_class, like.compat_t_entry
            compat_row, pairs = like.compat_row, like.class_pairs
        rank, n_sup, n_dem = side_ranks(sup)
        return cls(
            flows=flows,
            table=table,
            compat=compat,
            compat_t_indptr=t_indptr,
            compat_t_class=t_class,
            compat_t_entry=t_entry,
            supply=supply,
            demand=demand,
            key_sorted=key_sorted,
            key_row=key_row,
            compat_row=compat_row,
            supply_class_categories=_class_categories(table.ri, supply, compat.n_classes),
            class_pairs=pairs,
            side_rank=rank,
            n_supply=n_sup,
            n_demand=n_dem,
        )

    def rows_of(self, keys: ArrayLike) -> I64:
        """Row of each key, -1 when absent."""
        k = np.asarray(keys, np.int64)
        if not self.key_sorted.size:
            return np.full(k.shape, -1, np.int64)
        pos = np.searchsorted(self.key_sorted, k)
        pos_c = np.minimum(pos, self.key_sorted.shape[0] - 1)
        found = (pos < self.key_sorted.shape[0]) & (self.key_sorted[pos_c] == k)
        return np.where(found, self.key_row[pos_c], -1).astype(np.int64)

    def update(self, added: FlowArrays | None = None, removed: ArrayLike | None = None) -> MatchIndex:
        """A new index with `removed` keys gone and `added` flows in (an added key that exists replaces it).

        Rows of the flows that stay keep their relative order; added flows get the last rows.
        """
        drop_keys = [np.asarray(removed if removed is not None else [], np.int64).ravel()]
        if added is not None:
            if np.unique(added.key).shape[0] != added.n:
                raise ValueError("added flow keys must be unique")
            drop_keys.append(added.key)
        drop_rows = self.rows_of(np.concatenate(drop_keys))
        drop_rows = drop_rows[drop_rows >= 0]
        keep = np.ones(self.n, np.bool_)
        keep[drop_rows] = False
        n_keep = int(keep.sum())
        new_pos = np.cumsum(keep, dtype=np.int64) - 1

        if drop_rows.size:
            flows = self.flows.take(keep)
            table = FlowTable(self.table.rec[keep], flows.key, self.table.morton[keep])
        else:
            flows, table = self.flows, self.table
        has_added = added is not None and added.n > 0
        if added is not None and has_added:
            flows = FlowArrays.concat([flows, added])
            new = compute_features(added)
            table = FlowTable(np.concatenate([table.rec, new.rec]), flows.key, np.concatenate([table.morton, new.morton]))  # noqa: E501

        def side(old: SideEntries, supply: bool) -> SideEntries:
            ek = keep[old.row]
            row = new_pos[old.row[ek]].astype(np.int32) if drop_rows.size else old.row
            weight, morton, cls = (old.weight[ek], old.morton[ek], old.cls[ek]) if drop_rows.size else (
                old.weight,
                old.morton,
                old.cls,
            )
            if added is None or not has_added:
                return _finish(row, weight, morton, cls, self.compat.n_classes)
            rows = np.flatnonzero(added.is_supply == supply).astype(np.int64)
            new = _side_entries(added, table.morton[n_keep:], rows, self.compat.n_classes)
            base_key = (cls.astype(np.int64) << _MORTON_BITS) | morton
            at = np.searchsorted(base_key, new.sort_key(), side="right")
            return _finish(
                np.insert(row, at, new.row + n_keep).astype(np.int32),
                np.insert(weight, at, new.weight).astype(np.float32),
                np.insert(morton, at, new.morton).astype(np.int64),
                np.insert(cls, at, new.cls).astype(np.int32),
                self.compat.n_classes,
            )

        # Sorted keys: drop, then merge the added ones.
        kk = keep[self.key_row]
        ks, kr = self.key_sorted[kk], new_pos[self.key_row[kk]]
        if added is not None and has_added:
            o = np.argsort(added.key)
            at = np.searchsorted(ks, added.key[o])
            ks = np.insert(ks, at, added.key[o])
            kr = np.insert(kr, at, o + n_keep)
        return MatchIndex._assemble(
            flows,
            table,
            self.compat,
            ks.astype(np.int64),
            kr.astype(np.int32),
            self,
            side(self.supply, True),
            side(self.demand, False),
        )


def _transpose(compat: Compatibility) -> tuple[I64, I32, I32]:
    rows = compat.row_of_entry
    order = np.lexsort((rows, compat.indices))
    indptr = np.zeros(compat.n_classes + 1, np.int64)
    np.cumsum(np.bincount(compat.indices, minlength=compat.n_classes), out=indptr[1:])
    return indptr, rows[order].astype(np.int32), order.astype(np.int32)


def _class_categories(ri: I32, supply: SideEntries, n_classes: int) -> U8:
    cat = (ri[supply.row, IPACK] >> PACK_CAT_SHIFT) & 15
    seen = np.bincount(supply.cls.astype(np.int64) * N_CATEGORIES + cat, minlength=n_classes * N_CATEGORIES) > 0
    bits = (seen.reshape(n_classes, N_CATEGORIES) * (1 << np.arange(N_CATEGORIES))).sum(axis=1)
    out: U8 = bits.astype(np.uint8)
    return out
