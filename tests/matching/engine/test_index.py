"""MatchIndex: build, key lookup, incremental update == full rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from turash.matching.engine import MatchIndex, MatchParams, match_all
from turash.matching.engine.synthetic import synthetic_catalogue, synthetic_flows


@pytest.fixture(scope="module")
def data():
    cat = synthetic_catalogue()
    return cat, synthetic_flows(4000, cat, seed=11, flows_per_cluster=800)


def _same(a, b) -> None:
    a, b = a.sorted(), b.sorted()
    assert np.array_equal(a.supply_key, b.supply_key)
    assert np.array_equal(a.demand_key, b.demand_key)
    assert np.array_equal(a.score, b.score)
    assert np.array_equal(a.sub_scores, b.sub_scores)
    assert np.array_equal(a.class_pair, b.class_pair)
    assert np.array_equal(a.relaxation, b.relaxation)


def test_rows_of_and_entries(data):
    cat, fl = data
    idx = MatchIndex.build(fl, cat.compatibility)
    rows = idx.rows_of(fl.key)
    assert np.array_equal(idx.flows.key[rows], fl.key)
    assert idx.rows_of([-5])[0] == -1
    # entries sorted by (class, morton), one per (flow, class)
    for side in (idx.supply, idx.demand):
        key = side.sort_key()
        assert np.all(np.diff(key) >= 0)
    assert idx.supply.n + idx.demand.n == fl.class_index.shape[0]
    with pytest.raises(ValueError, match="unique"):
        MatchIndex.build(fl.take(np.r_[0, 0]), cat.compatibility)


def test_update_equals_rebuild(data):
    cat, fl = data
    p = MatchParams(max_radius_km=20)
    base = fl.take(np.arange(0, 3000))
    idx = MatchIndex.build(base, cat.compatibility)
    # add 1000 flows, remove 300, change 200 (same key, moved 1 km north and hotter)
    added = fl.take(np.arange(3000, 4000))
    removed = base.key[100:400]
    changed = base.take(np.arange(1000, 1200))
    changed = changed.replace(lat=changed.lat + 0.009, temperature_c=changed.temperature_c + 5)
    upd = idx.update(added=added, removed=removed).update(added=changed)
    keep = np.ones(3000, bool)
    keep[100:400] = False
    keep[1000:1200] = False
    truth = type(fl).concat([base.take(keep), added, changed])
    rebuilt = MatchIndex.build(truth, cat.compatibility)
    assert upd.n == rebuilt.n
    _same(match_all(upd, p), match_all(rebuilt, p))


def test_update_removes_everything_and_adds_back(data):
    cat, fl = data
    small = fl.take(np.arange(200))
    idx = MatchIndex.build(small, cat.compatibility)
    empty = idx.update(removed=small.key)
    assert empty.n == 0 and len(match_all(empty)) == 0
    back = empty.update(added=small)
    _same(match_all(back), match_all(idx))
