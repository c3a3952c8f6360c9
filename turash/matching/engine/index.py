"""The in-memory candidate index: flows as packed columns, and per direction a (class, Morton cell) sorted list.

Type + direction + location index: every (flow, resource class) pair is an *entry*; supply entries and demand
entries are kept apart, each sorted by (class, Morton code of the flow's base grid cell). The entries of one
class are a contiguous slice (`class_start`), and inside it every grid cell at every level is a contiguous
sub-slice, so "demands of class c within these cells" is two binary searches. The temporal index is the
availability window and month mask in the packed columns: checked per pair, in the same pass.

`MatchIndex.update` adds, replaces and removes flows without recomputing anything for the flows that stay:
their packed columns are copied, their entries keep their order, and the new entries are merged in by binary
search (O(n) copying, no sort of the whole table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from turash.matching.engine.features import IPACK, PACK_CAT_SHIFT, FlowTable, compute_features
from turash.matching.engine.geo import GRID_BITS
from turash.matching.engine.types import F32, I32, I64, N_CATEGORIES, U8, Compatibility, FlowArrays

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


def _side_entries(flows: FlowArrays, morton: I64, rows: I64, n_classes: int) -> SideEntries:
    """Unsorted entries of `rows`, then sorted."""
    starts = flows.class_indptr[rows]
    lens = (flows.class_indptr[rows + 1] - starts).astype(np.int64)
    total = int(lens.sum())
    pos = np.repeat(starts.astype(np.int64) - np.cumsum(lens) + lens, lens) + np.arange(total)
    erow = np.repeat(rows, lens)
    cls = flows.class_index[pos]
    if total and int(cls.max()) >= n_classes:
        raise ValueError("a flow has a class outside the compatibility matrix")
    key = (cls.astype(np.int64) << _MORTON_BITS) | morton[erow]
    order = np.argsort(key, kind="stable")
    return _finish(
        erow[order].astype(np.int32),
        flows.class_weight[pos][order],
        morton[erow][order],
        cls[order].astype(np.int32),
        n_classes,
    )


def _finish(row: I32, weight: F32, morton: I64, cls: I32, n_classes: int) -> SideEntries:
    class_start = np.searchsorted(cls, np.arange(n_classes + 1), side="left").astype(np.int64)
    return SideEntries(row=row, weight=weight, morton=morton, cls=cls, class_start=class_start)


@dataclass(frozen=True, eq=False)
class MatchIndex:
    """Flows, their packed columns, the class compatibility (and its transpose), and the two entry lists."""

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

    @property
    def n(self) -> int:
        return self.flows.n

    @classmethod
    def build(cls, flows: FlowArrays, compat: Compatibility) -> MatchIndex:
        """Index `flows`. The index keeps them in its own row order (by grid cell, so that neighbours are
        near in memory): rows in results refer to `index.flows`; keys are the stable ids."""
        table = compute_features(flows)
        perm = np.argsort(table.morton, kind="stable")
        flows, table = flows.take(perm), table.take(perm)
        order = np.argsort(flows.key, kind="stable")
        ks = flows.key[order]
        if ks.shape[0] > 1 and np.any(ks[1:] == ks[:-1]):
            raise ValueError("flow keys must be unique")
        rows = np.arange(flows.n, dtype=np.int64)
        sup = flows.is_supply
        t_indptr, t_class, t_entry = _transpose(compat)
        supply = _side_entries(flows, table.morton, rows[sup], compat.n_classes)
        return cls(
            flows=flows,
            table=table,
            compat=compat,
            compat_t_indptr=t_indptr,
            compat_t_class=t_class,
            compat_t_entry=t_entry,
            supply=supply,
            demand=_side_entries(flows, table.morton, rows[~sup], compat.n_classes),
            key_sorted=ks,
            key_row=order.astype(np.int32),
            compat_row=compat.row_of_entry,
            supply_class_categories=_class_categories(table.fi, supply, compat.n_classes),
        )

    def rows_of(self, keys: ArrayLike) -> I64:
        """Row of each key, -1 when absent."""
        k = np.asarray(keys, np.int64)
        pos = np.searchsorted(self.key_sorted, k)
        pos_c = np.minimum(pos, max(self.key_sorted.shape[0] - 1, 0))
        found = (
            (pos < self.key_sorted.shape[0]) & (self.key_sorted[pos_c] == k)
            if self.key_sorted.size
            else (np.zeros(k.shape, np.bool_))
        )
        return np.where(found, self.key_row[pos_c] if self.key_sorted.size else -1, -1).astype(np.int64)

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
            table = FlowTable(self.table.ff[keep], self.table.fi[keep], self.table.key[keep], self.table.morton[keep])
        else:
            flows, table = self.flows, self.table
        if added is not None and added.n:
            flows = FlowArrays.concat([flows, added])
            table = FlowTable.concat(table, compute_features(added))

        def side(old: SideEntries, supply: bool) -> SideEntries:
            ek = keep[old.row]
            row = new_pos[old.row[ek]].astype(np.int32)
            weight, morton, cls = old.weight[ek], old.morton[ek], old.cls[ek]
            if added is None or not added.n:
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
        if added is not None and added.n:
            o = np.argsort(added.key)
            at = np.searchsorted(ks, added.key[o])
            ks = np.insert(ks, at, added.key[o])
            kr = np.insert(kr, at, o + n_keep)
        supply = side(self.supply, True)
        return MatchIndex(
            flows=flows,
            table=table,
            compat=self.compat,
            compat_t_indptr=self.compat_t_indptr,
            compat_t_class=self.compat_t_class,
            compat_t_entry=self.compat_t_entry,
            supply=supply,
            demand=side(self.demand, False),
            key_sorted=ks.astype(np.int64),
            key_row=kr.astype(np.int32),
            compat_row=self.compat_row,
            supply_class_categories=_class_categories(table.fi, supply, self.compat.n_classes),
        )


def _transpose(compat: Compatibility) -> tuple[I64, I32, I32]:
    rows = compat.row_of_entry
    order = np.lexsort((rows, compat.indices))
    indptr = np.zeros(compat.n_classes + 1, np.int64)
    np.cumsum(np.bincount(compat.indices, minlength=compat.n_classes), out=indptr[1:])
    return indptr, rows[order].astype(np.int32), order.astype(np.int32)


def _class_categories(fi: I32, supply: SideEntries, n_classes: int) -> U8:
    cat = (fi[supply.row, IPACK] >> PACK_CAT_SHIFT) & 15
    seen = np.bincount(supply.cls.astype(np.int64) * N_CATEGORIES + cat, minlength=n_classes * N_CATEGORIES) > 0
    bits = (seen.reshape(n_classes, N_CATEGORIES) * (1 << np.arange(N_CATEGORIES))).sum(axis=1)
    out: U8 = bits.astype(np.uint8)
    return out
