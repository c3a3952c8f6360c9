"""Ranking primitives: order, diversity, union."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from turash.matching.engine.features import IORG, N_REC
from turash.matching.engine.ranking import compare, pair_key, rank_order, select_diverse, tie_break, union_lists


def test_compare_and_tie_break():
    assert compare(0.9, 5.0, 0.8, 1.0) == 1
    assert compare(0.8, 1.0, 0.8, 2.0) == 1
    assert compare(0.8, 2.0, 0.8, 2.0) == 0
    assert tie_break(3, 0, 4, 0) == 1 and tie_break(4, 1, 4, 0) == -1


@given(
    scores=st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9]), min_size=1, max_size=30),
    k=st.integers(1, 6),
    d=st.integers(1, 3),
)
def test_select_diverse_is_greedy_walk(scores, k, d):
    n = len(scores)
    rng = np.random.default_rng(n)
    partner = np.arange(n, dtype=np.int64)
    orgs = rng.integers(0, 4, n)
    fi = np.zeros((n, N_REC), np.int32)
    fi[:, IORG] = orgs
    keys = rng.permutation(n).astype(np.int64) * 3
    score = np.asarray(scores, np.float32)
    dist = rng.random(n).astype(np.float32)
    pk = (partner << 32) | 7
    sbits, dbits = score.view(np.int32), dist.view(np.int32)
    lkey = np.array([pair_key(int(sbits[i]), int(dbits[i])) for i in range(n)], np.int64)
    acc_p = np.zeros((1, k), np.int32)
    acc_k = np.zeros((1, k), np.int32)
    acc_n = np.zeros(1, np.int32)
    select_diverse(
        0, lkey, pk, n, keys, fi, k, d, acc_p, acc_k, acc_n, np.empty(n, np.int64), np.empty(n, np.int64)
    )
    order = sorted(range(n), key=lambda i: (-score[i], dist[i], keys[i]))
    expected: list[int] = []
    for i in order:
        if len(expected) < k and sum(orgs[j] == orgs[i] for j in expected) < d:
            expected.append(i)
    assert acc_p[0, : acc_n[0]].tolist() == expected
    assert np.all(acc_k[0, : acc_n[0]] == 7)
    assert np.array_equal(rank_order(lkey, pk, n, keys, np.empty(n, np.int64), np.empty(n, np.int64)), order)


def test_union_marks_both_sides_once():
    is_supply = np.array([True, True, False, False])
    acc_p = np.array([[2, 3], [3, 0], [0, 1], [1, 0]], np.int32)
    acc_k = np.zeros((4, 2), np.int32)
    acc_n = np.array([2, 1, 1, 1], np.int32)
    s, d, _k, _r, sel = union_lists(is_supply, acc_p, acc_k, acc_n, np.zeros(4, np.uint8))
    got = {(int(a), int(b)): int(c) for a, b, c in zip(s, d, sel, strict=True)}
    assert got == {(0, 2): 3, (0, 3): 1, (1, 3): 3}
