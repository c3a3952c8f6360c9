"""Fallback: flows without candidates get relaxed matches, marked with the rules they break."""

from __future__ import annotations

import numpy as np

from turash.matching.engine import ClassFit, MatchParams, Relaxation, match_all

from .helpers import HEAT, MATERIAL, index


def test_radius_relaxation():
    idx = index([{"supply": True, "x": 0.0}, {"supply": False, "x": 30.0}])  # heat radius 20 km
    assert len(match_all(idx, MatchParams(fallback=False))) == 0
    r = match_all(idx)
    assert len(r) == 1 and Relaxation(int(r.relaxation[0])) == Relaxation.RADIUS
    assert r.distance_km[0] > 20
    # farther than twice the radius: nothing
    far = index([{"supply": True, "x": 0.0}, {"supply": False, "x": 45.0}])
    assert len(match_all(far)) == 0


def test_heat_pump_relaxation_and_only_needed_flags():
    rows = [
        {"supply": True, "x": 0.0, "temperature_c": 60.0},
        {"supply": False, "x": 1.0, "temperature_c": 70.0},  # needs 80 with the approach: 20 K short
    ]
    idx = index(rows)
    assert len(match_all(idx, MatchParams(fallback=False))) == 0
    r = match_all(idx)
    assert len(r) == 1
    assert Relaxation(int(r.relaxation[0])) == Relaxation.HEAT_PUMP  # within radius: no RADIUS flag
    assert r.temperature_margin_k[0] == -20
    assert r.sub_scores[0, 0] < 0.5  # quality reflects the lift
    # beyond the maximum lift: nothing
    idx2 = index([{"supply": True, "temperature_c": 20.0}, {"supply": False, "x": 1.0, "temperature_c": 70.0}])
    assert len(match_all(idx2)) == 0


def test_treatment_and_partial_quantity():
    rows = [
        {"supply": True, "cls": MATERIAL, "purity_pct": 70.0, "quantity": 1.0, "quantity_kind": 4},
        {"supply": False, "cls": MATERIAL, "x": 3.0, "purity_pct": 90.0, "quantity": 1000.0, "quantity_kind": 4},
    ]
    r = match_all(index(rows))
    assert len(r) == 1
    assert Relaxation(int(r.relaxation[0])) == Relaxation.TREATMENT | Relaxation.PARTIAL_QUANTITY
    p = MatchParams(min_coverage=0.0)
    r2 = match_all(index(rows), p)
    assert Relaxation(int(r2.relaxation[0])) == Relaxation.TREATMENT


def test_fallback_only_for_flows_without_candidates():
    rows = [
        {"supply": True, "x": 0.0, "temperature_c": 90.0},
        {"supply": False, "x": 1.0, "temperature_c": 60.0},  # strict match with the first
        {"supply": False, "x": 30.0, "temperature_c": 60.0},  # only reachable by widening
    ]
    r = match_all(index(rows))
    by_demand = dict(zip(r.demand_key.tolist(), r.relaxation.tolist(), strict=True))
    assert by_demand == {101: 0, 102: int(Relaxation.RADIUS)}
    # the relaxed pair is in the far demand's list only
    far = int(np.flatnonzero(r.demand_key == 102)[0])
    assert r.selected_by[far] == 2


def test_never_relaxed_rules():
    rows = [
        {"supply": True, "cls": MATERIAL, "hazardous": True},
        {"supply": False, "cls": MATERIAL, "x": 1.0},  # no permit
        {"supply": True, "cls": HEAT, "org": 7},
        {"supply": False, "cls": HEAT, "org": 7, "x": 1.0},  # same organisation
    ]
    assert len(match_all(index(rows))) == 0
    cond = {(HEAT, HEAT): ClassFit(1.0, max_temperature_c=100.0)}
    hot = [{"supply": True, "temperature_c": 300.0}, {"supply": False, "x": 1.0, "temperature_c": 50.0}]
    assert len(match_all(index(hot, cond))) == 0
