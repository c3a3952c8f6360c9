"""The rules, one by one (prefilter_pairs over pair arrays)."""

from __future__ import annotations

import numpy as np

from turash.matching.engine import ClassFit, MatchParams, Reason, Relaxation, prefilter_pairs
from turash.matching.engine.types import OPEN_END

from .helpers import GAS, HEAT, MATERIAL, index

P = MatchParams()


def _check(rows, extra=None, params=P, relax=0):
    idx = index(rows, extra)
    rows_ = idx.rows_of(idx.flows.key)  # identity after build order; use keys to find the two flows
    s = idx.rows_of([100])
    d = idx.rows_of([101])
    cls_s, cls_d = rows[0].get("cls", HEAT), rows[1].get("cls", HEAT)
    k = idx.compat.entry(cls_s, cls_d)
    assert rows_.size == 2 and k >= 0
    ok, rel, unk, dist = prefilter_pairs(idx, s, d, np.asarray([k]), params, relax)
    return bool(ok[0]), Relaxation(int(rel[0])), Reason(int(unk[0])), float(dist[0])


def test_radius_by_category_and_global_cap():
    assert _check([{"supply": True}, {"supply": False, "x": 19.0}])[0]
    assert not _check([{"supply": True}, {"supply": False, "x": 21.0}])[0]
    assert _check([{"supply": True, "cls": MATERIAL}, {"supply": False, "cls": MATERIAL, "x": 150.0}])[0]
    assert not _check(
        [{"supply": True, "cls": MATERIAL}, {"supply": False, "cls": MATERIAL, "x": 150.0}],
        params=MatchParams(max_radius_km=100),
    )[0]
    ok, rel, _, dist = _check([{"supply": True}, {"supply": False, "x": 30.0}], relax=Relaxation.RADIUS)
    assert ok and rel == Relaxation.RADIUS and abs(dist - 30.0) < 0.01


def test_organisation_hazard_inferred():
    assert not _check([{"supply": True, "org": 1}, {"supply": False, "org": 1, "x": 1}])[0]
    haz = [{"supply": True, "cls": MATERIAL, "hazardous": True}, {"supply": False, "cls": MATERIAL, "x": 1}]
    assert not _check(haz)[0]
    haz[1]["hazard_permit"] = True
    assert _check(haz)[0]
    inf = [{"supply": True, "inferred": True}, {"supply": False, "x": 1}]
    assert not _check(inf)[0]
    assert _check(inf, params=MatchParams(include_inferred=True))[0]


def test_availability_window_and_months():
    w = [
        {"supply": True, "available_from": 100, "available_to": 200},
        {"supply": False, "x": 1, "available_from": 201, "available_to": OPEN_END},
    ]
    assert not _check(w)[0]
    w[1]["available_from"] = 200
    assert _check(w)[0]
    m = [{"supply": True, "month_mask": 0b000111110000}, {"supply": False, "x": 1, "month_mask": 0b111000001111}]
    assert not _check(m)[0]
    m[1]["month_mask"] = 0b000000010000
    assert _check(m)[0]


def test_temperature_with_approach_and_conditions():
    rows = [{"supply": True, "temperature_c": 85.0}, {"supply": False, "x": 1, "temperature_c": 75.0}]
    assert _check(rows)[0]  # 85 >= 75 + 10
    rows[0]["temperature_c"] = 84.9
    assert not _check(rows)[0]
    ok, rel, _, _ = _check(rows, relax=Relaxation.HEAT_PUMP)
    assert ok and rel == Relaxation.HEAT_PUMP
    cond = {(HEAT, HEAT): ClassFit(1.0, min_temperature_c=120.0)}
    hot = [{"supply": True, "temperature_c": 110.0}, {"supply": False, "x": 1, "temperature_c": 40.0}]
    assert not _check(hot, cond)[0]
    cond = {(HEAT, HEAT): ClassFit(1.0, max_temperature_c=100.0)}
    assert not _check(hot, cond)[0]


def test_unknown_values_pass_with_reasons():
    rows = [{"supply": True}, {"supply": False, "x": 1, "temperature_c": 60.0}]
    ok, _, unk, _ = _check(rows)
    assert ok and unk == Reason.TEMPERATURE_UNKNOWN
    rows = [{"supply": True, "cls": MATERIAL}, {"supply": False, "cls": MATERIAL, "x": 1, "purity_pct": 90.0}]
    ok, _, unk, _ = _check(rows)
    assert ok and unk == Reason.PURITY_UNKNOWN
    rows = [{"supply": True, "cls": GAS}, {"supply": False, "cls": GAS, "x": 1, "pressure_bar": 5.0}]
    ok, _, unk, _ = _check(rows)
    assert ok and unk == Reason.PRESSURE_UNKNOWN


def test_purity_pressure_coverage():
    rows = [
        {"supply": True, "cls": MATERIAL, "purity_pct": 80.0},
        {"supply": False, "cls": MATERIAL, "x": 1, "purity_pct": 90.0},
    ]
    assert not _check(rows)[0]
    assert _check(rows, relax=Relaxation.TREATMENT)[1] == Relaxation.TREATMENT
    cond = {(MATERIAL, MATERIAL): ClassFit(1.0, min_purity_pct=85.0)}
    rows[1]["purity_pct"] = float("nan")
    assert not _check(rows, cond)[0]
    press = [
        {"supply": True, "cls": GAS, "pressure_bar": 3.0},
        {"supply": False, "cls": GAS, "x": 1, "pressure_bar": 5.0},
    ]
    assert not _check(press)[0]
    assert _check(press, relax=Relaxation.PRESSURE)[1] == Relaxation.PRESSURE
    qty = [
        {"supply": True, "cls": MATERIAL, "quantity": 1.0, "quantity_kind": 4},
        {"supply": False, "cls": MATERIAL, "x": 1, "quantity": 100.0, "quantity_kind": 4},
    ]
    assert not _check(qty)[0]  # covers 1 % < 5 %
    assert _check(qty, relax=Relaxation.PARTIAL_QUANTITY)[1] == Relaxation.PARTIAL_QUANTITY
    qty[0]["quantity"] = 5.0
    assert _check(qty)[0]
