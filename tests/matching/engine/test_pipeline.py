"""match_all: agreement with the brute-force reference, and the ranking properties."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from turash.matching.engine import (
    MatchIndex,
    MatchParams,
    MatchStats,
    ScoreWeights,
    match_all,
    score_pairs,
)
from turash.matching.engine.synthetic import synthetic_catalogue, synthetic_flows

from . import reference as ref
from .helpers import GAS, HEAT, MATERIAL, OTHER, compat, flows, index, pairs_by_key
from .strategies import catalogues, flow_tables

STRICT = MatchParams(fallback=False, include_inferred=True, max_radius_km=15.0, top_k=3, max_per_org=1)
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _engine_pairs(idx: MatchIndex, p: MatchParams) -> set[tuple[int, int]]:
    r = match_all(idx, p)
    return {(int(s), int(d)) for s, d in zip(r.supply_key, r.demand_key, strict=True)}


def _near_tie(fl, cands, lists_owner_cut: float = 2e-6) -> bool:
    scores = sorted(ref.f32(c.score) for c in cands.values())
    return any(0 < b - a < lists_owner_cut for a, b in itertools.pairwise(scores))


@PROPS
@given(fl=flow_tables(), cm=catalogues(), top_k=st.integers(1, 4), per_org=st.integers(1, 3), inferred=st.booleans())
def test_agrees_with_brute_force(fl, cm, top_k, per_org, inferred):
    p = replace(STRICT, top_k=top_k, max_per_org=per_org, include_inferred=inferred)
    cands = ref.candidates(fl, cm, p)
    assume(not _near_tie(fl, cands))
    idx = MatchIndex.build(fl, cm)
    expected = ref.union_pairs(fl, ref.top_lists(fl, cands, p))
    expected_keys = {(int(fl.key[s]), int(fl.key[d])) for s, d in expected}
    r = match_all(idx, p)
    got = {(int(s), int(d)) for s, d in zip(r.supply_key, r.demand_key, strict=True)}
    assert got == expected_keys
    # scores and sub-scores agree with the reference
    by_key = {(int(fl.key[s]), int(fl.key[d])): c for (s, d), c in cands.items()}
    for i in range(len(r)):
        c = by_key[(int(r.supply_key[i]), int(r.demand_key[i]))]
        assert math.isclose(float(r.score[i]), c.score, abs_tol=2e-5)
        np.testing.assert_allclose(r.sub_scores[i], c.sub, atol=2e-5)
        assert math.isclose(float(r.distance_km[i]), c.dist, rel_tol=1e-4, abs_tol=1e-3)
        assert 0.0 <= r.score[i] <= 1.0


@PROPS
@given(fl=flow_tables(), cm=catalogues())
def test_every_candidate_pair_scores_like_the_reference(fl, cm):
    p = replace(STRICT, include_inferred=True)
    idx = MatchIndex.build(fl, cm)
    rows = idx.rows_of(fl.key)
    s_list, d_list, k_list, w_list = [], [], [], []
    for s in np.flatnonzero(fl.is_supply):
        for d in np.flatnonzero(~fl.is_supply):
            for es in range(fl.class_indptr[s], fl.class_indptr[s + 1]):
                for ed in range(fl.class_indptr[d], fl.class_indptr[d + 1]):
                    k = cm.entry(int(fl.class_index[es]), int(fl.class_index[ed]))
                    if k >= 0:
                        s_list.append(s)
                        d_list.append(d)
                        k_list.append(k)
                        w_list.append(float(fl.class_weight[es] * fl.class_weight[ed]))
    assume(s_list)
    sc = score_pairs(idx, rows[s_list], rows[d_list], np.asarray(k_list), p)
    for i, (s, d, k, w) in enumerate(zip(s_list, d_list, k_list, w_list, strict=True)):
        c = ref.evaluate(fl, cm, s, d, k, w, p)
        assert bool(sc.passes[i]) == (c is not None)
        if c is not None:
            assert math.isclose(float(sc.score[i]), c.score, abs_tol=2e-5)
            np.testing.assert_allclose(sc.sub_scores[i], c.sub, atol=2e-5)


def test_farther_identical_supplier_never_outranks_nearer():
    rows = [{"supply": False, "x": 0.0, "temperature_c": 60.0, "quantity": 1e6, "quantity_kind": 1}]
    rows += [
        {"supply": True, "x": x, "temperature_c": 90.0, "quantity": 1e6, "quantity_kind": 1, "key": 900 - i}
        for i, x in enumerate([5.0, 1.0, 3.0, 2.0, 4.0])
    ]
    idx = index(rows)
    for w in (ScoreWeights(), ScoreWeights.only("quality"), ScoreWeights.only("distance")):
        r = match_all(idx, MatchParams(weights=w, top_k=3, fallback=False))
        demand_list = r.take(np.flatnonzero(r.selected_by & 2))
        # the demand keeps the three nearest, whatever the weights (ties go to the nearer one)
        assert sorted(np.round(demand_list.distance_km).tolist()) == [1.0, 2.0, 3.0]
        by_dist = np.argsort(r.distance_km)
        assert np.all(np.diff(r.score[by_dist].astype(np.float64)) <= 0)


@PROPS
@given(fl=flow_tables())
def test_incompatible_class_never_appears(fl):
    cm = compat()  # OTHER fits nothing; heat only heat, etc.
    idx = MatchIndex.build(fl, cm)
    r = match_all(idx, MatchParams(include_inferred=True))
    rows = idx.rows_of(r.supply_key), idx.rows_of(r.demand_key)
    ifl = idx.flows
    for s, d in zip(*rows, strict=True):
        cs = set(ifl.class_index[ifl.class_indptr[s] : ifl.class_indptr[s + 1]].tolist())
        cd = set(ifl.class_index[ifl.class_indptr[d] : ifl.class_indptr[d + 1]].tolist())
        assert any(c in cd for c in cs if c != OTHER)


@PROPS
@given(fl=flow_tables(), cm=catalogues())
def test_own_organisation_hazard_and_direction(fl, cm):
    idx = MatchIndex.build(fl, cm)
    r = match_all(idx, MatchParams(include_inferred=True, max_radius_km=30))
    f = idx.flows
    s, d = r.supply_row, r.demand_row
    assert np.all(f.is_supply[s]) and not np.any(f.is_supply[d])
    assert not np.any(f.org[s] == f.org[d])
    assert not np.any(f.hazardous[s] & ~f.hazard_permit[d])


@PROPS
@given(fl=flow_tables(max_size=30), cm=catalogues(), k=st.integers(1, 3), dmax=st.integers(1, 2))
def test_top_k_and_diversity_limits(fl, cm, k, dmax):
    idx = MatchIndex.build(fl, cm)
    r = match_all(idx, MatchParams(top_k=k, max_per_org=dmax, include_inferred=True))
    f = idx.flows
    for side, own, other in ((1, r.supply_row, r.demand_row), (2, r.demand_row, r.supply_row)):
        sel = (r.selected_by & side) > 0
        for flow in np.unique(own[sel]):
            mine = sel & (own == flow)
            assert mine.sum() <= k
            _, counts = np.unique(f.org[other[mine]], return_counts=True)
            assert counts.max() <= dmax


def test_weights_only_on_distance_gives_nearest_order():
    rows = [{"supply": True, "x": 0.0, "temperature_c": 150.0}]
    rows += [
        {"supply": False, "x": x, "temperature_c": t, "precision": pr, "quantity": q, "quantity_kind": 1}
        for x, t, pr, q in [(4.0, 60, 2, 1e6), (1.0, 120, 0, 1e3), (2.5, 80, 1, 1e9), (0.5, 130, 0, 5.0)]
    ]
    idx = index(rows)
    r = match_all(idx, MatchParams(weights=ScoreWeights.only("distance"), top_k=4, fallback=False))
    sup = r.take(np.flatnonzero(r.selected_by & 1)).sorted()
    assert np.all(np.diff(sup.distance_km) > 0)
    # weight only on trust: the measured demand (4 km away) comes first
    r2 = match_all(idx, MatchParams(weights=ScoreWeights.only("trust"), top_k=4, fallback=False)).sorted()
    assert math.isclose(float(r2.distance_km[0]), 4.0, rel_tol=1e-3)


def test_deterministic_and_independent_of_row_order():
    cat = synthetic_catalogue()
    fl = synthetic_flows(3000, cat, seed=3, flows_per_cluster=600)
    p = MatchParams(max_radius_km=20)
    a = match_all(MatchIndex.build(fl, cat.compatibility), p).sorted()
    b = match_all(MatchIndex.build(fl, cat.compatibility), p).sorted()
    perm = np.random.default_rng(0).permutation(fl.n)
    c = match_all(MatchIndex.build(fl.take(perm), cat.compatibility), p).sorted()
    for other in (b, c):
        assert np.array_equal(a.supply_key, other.supply_key)
        assert np.array_equal(a.demand_key, other.demand_key)
        assert np.array_equal(a.score, other.score)
        assert np.array_equal(a.selected_by, other.selected_by)


def test_bounded_lists_are_exact_on_dense_data():
    """Many candidates per flow (lists overflow): same union as the reference."""
    cat = synthetic_catalogue(n_classes=12, seed=1)
    fl = synthetic_flows(160, cat, seed=5, flows_per_cluster=160, cluster_sigma_km=(0.5, 1.0), background=0.0)
    p = MatchParams(max_radius_km=20, top_k=2, max_per_org=1, fallback=False, include_inferred=True)
    cands = ref.candidates(fl, cat.compatibility, p)
    assert len(cands) > 5 * fl.n  # dense enough to overflow the lists
    expected = {(int(fl.key[s]), int(fl.key[d])) for s, d in ref.union_pairs(fl, ref.top_lists(fl, cands, p))}
    stats = MatchStats()
    got = pairs_by_key(match_all(MatchIndex.build(fl, cat.compatibility), p, stats))
    assert got == expected
    assert stats.pairs_passed == sum(1 for _ in cands) or stats.pairs_passed >= len(cands)


def test_empty_and_one_sided_inputs():
    idx = index([{"supply": True}, {"supply": True, "x": 1.0}])
    assert len(match_all(idx)) == 0
    fl = flows([{"supply": True}]).take(np.zeros(0, np.int64))
    assert len(match_all(MatchIndex.build(fl, compat()))) == 0


def test_multi_class_pair_appears_once_with_best_class_pair():
    rows = [
        {"supply": True, "cls": [(MATERIAL, 0.6), (GAS, 0.4)], "category": 3},
        {"supply": False, "cls": [(MATERIAL, 0.5), (GAS, 1.0)], "x": 1.0, "category": 3},
    ]
    idx = index(rows)
    r = match_all(idx, MatchParams(fallback=False))
    assert len(r) == 1
    assert math.isclose(float(r.fit[0]), 0.4, rel_tol=1e-6)  # gas·gas 0.4·1.0 beats material 0.6·0.5
    assert r.selected_by[0] == 3
    assert HEAT == 0
