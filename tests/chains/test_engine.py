"""The chain finder's core on hand-made arrays: eligibility and its reasons, transformations, the second leg
through the matching engine, the direct check, the split rule and the cycle search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.matching.engine.helpers import HEAT, MATERIAL, OTHER, at_km, flows
from turash.chains import engine
from turash.chains.engine import Edge, Rejection, ServiceSpec, Transform
from turash.matching.engine import ClassFit, Compatibility, MatchIndex, MatchParams, QuantityKind

SLUDGE, KILN_FUEL = MATERIAL, OTHER  # sewage sludge → kiln fuel, only after drying (needs_treatment)


def _index(rows: list[dict]) -> MatchIndex:  # type: ignore[type-arg]
    entries = {
        (HEAT, HEAT): 1.0,
        (MATERIAL, MATERIAL): 1.0,
        (SLUDGE, KILN_FUEL): ClassFit(0.6, needs_treatment=True),
    }
    return MatchIndex.build(flows(rows), Compatibility.from_dict(entries, n_classes=4))


def _heat_pump(x_km: float = 0.0, radius: float = 20.0, **tf: float) -> ServiceSpec:
    lat, lon = at_km(x_km)
    transform = Transform(output_temperature_c=80.0, removes_treatment_need=True, **tf)  # type: ignore[arg-type]
    return ServiceSpec(key=0, org=9000, kind="heat_pump", lat=lat, lon=lon, radius_km=radius, transform=transform)


def _reasons(index: MatchIndex, spec: ServiceSpec, row: int = 0) -> Rejection:
    code, _ = engine.check(
        index.flows, np.array([row]), spec, None, index.compat.n_classes, MatchParams().effective_radius_km()
    )
    return Rejection(int(code[0]))


POWER = int(QuantityKind.POWER)
HEAT_ROWS = [
    {"supply": True, "cls": HEAT, "x": 0, "temperature_c": 30.0, "quantity": 2e6, "quantity_kind": POWER},
    {"supply": False, "cls": HEAT, "x": 3, "temperature_c": 70.0, "quantity": 5e6, "quantity_kind": POWER},
]


def test_a_heat_pump_makes_cold_heat_fit_a_hot_need() -> None:
    index = _index(HEAT_ROWS)
    params = MatchParams(fallback=False)
    # no strict direct pair: 30 °C cannot serve a 70 °C need
    assert np.isnan(engine.direct_scores(index, np.array([0]), np.array([1]), params)[0])
    chains = engine.find_chains(index, [_heat_pump()], params)
    assert chains.n == 1 and int(chains.demand_row[0]) == 1
    assert chains.score[0] == pytest.approx(engine.PARTY_FACTOR * chains.leg2_score[0], rel=1e-5)
    assert math.isfinite(chains.cop[0]) and chains.cop[0] > 1


def test_heat_out_is_source_heat_plus_electricity() -> None:
    index = _index(HEAT_ROWS)
    pairs = engine.eligible(index, [_heat_pump()], MatchParams())
    virtual, cop = engine.transform(index, pairs, [_heat_pump()])
    assert virtual.temperature_c[0] == 80.0
    assert virtual.quantity[0] == pytest.approx(2e6 * cop[0] / (cop[0] - 1.0))


@pytest.mark.parametrize(
    ("spec", "rows", "expected"),
    [
        (_heat_pump(x_km=100.0), HEAT_ROWS, Rejection.OUT_OF_AREA),
        (_heat_pump(max_lift_k=30.0), HEAT_ROWS, Rejection.TOO_COLD),
        (_heat_pump(min_source_temperature_c=35.0), HEAT_ROWS, Rejection.TOO_COLD),
        (_heat_pump(), [{**HEAT_ROWS[0], "temperature_c": 85.0}], Rejection.TOO_HOT),
        (_heat_pump(), [{**HEAT_ROWS[0], "cls": MATERIAL, "category": 3}], Rejection.WRONG_CLASS),
        (_heat_pump(), [HEAT_ROWS[1]], Rejection.NOT_A_SUPPLY),
        (ServiceSpec(key=0, org=1, kind="consulting", lat=None, lon=None, radius_km=None), HEAT_ROWS,
         Rejection.NO_TRANSFORMATION),
    ],
)  # fmt: skip
def test_rejections_say_why(spec: ServiceSpec, rows: list[dict], expected: Rejection) -> None:  # type: ignore[type-arg]
    index = _index(rows)
    assert _reasons(index, spec) == expected
    assert engine.find_chains(index, [spec], MatchParams()).n == 0


SLUDGE_ROWS = [
    {"supply": True, "cls": SLUDGE, "category": 3, "x": 0, "quantity": 12e6, "quantity_kind": 4, "hazardous": True},
    {"supply": False, "cls": KILN_FUEL, "category": 3, "x": 40, "quantity": 30e6, "quantity_kind": 4},
]


def _dryer(**kw: object) -> ServiceSpec:
    lat, lon = at_km(20.0)
    tf = {"input_classes": frozenset({SLUDGE}), "mass_yield": 0.25 / 0.9, "removes_treatment_need": True,
          "at_plant": True, "output_hazardous": False}  # fmt: skip
    tf.update(kw.pop("tf", {}))  # type: ignore[arg-type]
    return ServiceSpec(key=0, org=9000, kind="treatment", lat=lat, lon=lon, radius_km=60.0,
                       transform=Transform(**tf), **kw)  # type: ignore[arg-type]  # fmt: skip


def test_hazardous_input_needs_a_permit() -> None:
    index = _index(SLUDGE_ROWS)
    assert _reasons(index, _dryer()) == Rejection.HAZARD_NOT_PERMITTED
    assert _reasons(index, _dryer(hazardous_permit=True)) == Rejection.NONE


def test_treatment_at_the_plant_drying_and_the_treatment_penalty_taken_back() -> None:
    index = _index(SLUDGE_ROWS)
    spec = _dryer(hazardous_permit=True)
    pairs = engine.eligible(index, [spec], MatchParams())
    assert pairs.n == 1 and pairs.leg1_km[0] == pytest.approx(20.0, rel=0.01)
    virtual, _ = engine.transform(index, pairs, [spec])
    assert virtual.quantity[0] == pytest.approx(12e6 * 0.25 / 0.9)
    assert not virtual.hazardous[0]
    assert virtual.lat[0] == pytest.approx(spec.lat) and virtual.lon[0] == pytest.approx(spec.lon)
    treated = engine.find_chains(index, [spec], MatchParams())
    untreated = engine.find_chains(
        index, [_dryer(hazardous_permit=True, tf={"removes_treatment_need": False})], MatchParams()
    )
    assert treated.n == untreated.n == 1
    assert treated.leg2_km[0] == pytest.approx(20.0, rel=0.01)  # from the plant, not from the supplier
    assert treated.sub_scores[0, 0] > untreated.sub_scores[0, 0]  # quality without the treatment penalty
    assert treated.score[0] > untreated.score[0]


def test_a_farther_plant_costs_score() -> None:
    index = _index(SLUDGE_ROWS)
    near = engine.find_chains(index, [_dryer(hazardous_permit=True)], MatchParams())
    lat, lon = at_km(20.0, 15.0)
    far_spec = ServiceSpec(**{**_dryer(hazardous_permit=True).__dict__, "lat": lat, "lon": lon})
    far = engine.find_chains(index, [far_spec], MatchParams())
    assert far.n == 1 and far.score[0] < near.score[0]


def test_capacity_caps_what_goes_through() -> None:
    index = _index(SLUDGE_ROWS)
    spec = ServiceSpec(**{**_dryer(hazardous_permit=True).__dict__, "capacity_family": engine.FAMILY_MASS,
                          "capacity_per_year": 1e6})  # fmt: skip
    pairs = engine.eligible(index, [spec], MatchParams())
    virtual, _ = engine.transform(index, pairs, [spec])
    assert virtual.quantity[0] == pytest.approx(1e6)


def test_transport_extends_the_reach_and_storage_fills_the_year() -> None:
    rows = [
        {"supply": True, "cls": MATERIAL, "x": 0, "month_mask": 0b000000000111},
        {"supply": False, "cls": MATERIAL, "x": 400},
    ]
    index = _index(rows)
    params = MatchParams(max_radius_km=200.0)
    assert engine.find_chains(index, [], params).n == 0
    lat, lon = at_km(0.0)
    truck = ServiceSpec(key=0, org=9000, kind="transport", lat=lat, lon=lon, radius_km=500.0)
    chains = engine.find_chains(index, [truck], params)
    assert chains.n == 1 and chains.leg2_km[0] == pytest.approx(400.0, rel=0.01)
    store = ServiceSpec(key=0, org=9000, kind="storage", lat=lat, lon=lon, radius_km=10.0,
                        transform=Transform(all_year=True))  # fmt: skip
    virtual, _ = engine.transform(index, engine.eligible(index, [store], params), [store])
    assert int(virtual.month_mask[0]) == 0xFFF


def test_a_chain_is_dropped_when_the_direct_exchange_serves_as_well() -> None:
    rows = [{"supply": True, "cls": MATERIAL, "x": 0}, {"supply": False, "cls": MATERIAL, "x": 5}]
    index = _index(rows)
    lat, lon = at_km(0.0)
    truck = ServiceSpec(key=0, org=9000, kind="transport", lat=lat, lon=lon, radius_km=100.0)
    chains = engine.find_chains(index, [truck], MatchParams(max_radius_km=50.0))
    assert chains.n == 0 and chains.dropped_direct == 1


def test_a_service_that_adds_nothing_is_not_tried() -> None:
    rows = [{"supply": True, "cls": MATERIAL, "x": 0}, {"supply": False, "cls": MATERIAL, "x": 5}]
    index = _index(rows)
    lat, lon = at_km(0.0)
    truck = ServiceSpec(key=0, org=9000, kind="transport", lat=lat, lon=lon, radius_km=100.0)
    assert _reasons(index, truck) == Rejection.ADDS_NOTHING  # the material radius (200 km) already reaches 100
    store = ServiceSpec(key=0, org=9000, kind="storage", lat=lat, lon=lon, radius_km=10.0,
                        transform=Transform(all_year=True))  # fmt: skip
    assert _reasons(index, store) == Rejection.ADDS_NOTHING  # available every month already


def test_of_equivalent_services_the_nearest_are_kept() -> None:
    index = _index(SLUDGE_ROWS)
    base = _dryer(hazardous_permit=True)
    plants = [ServiceSpec(**{**base.__dict__, "key": i, "lat": at_km(x)[0], "lon": at_km(x)[1]})
              for i, x in enumerate((30.0, 10.0, 20.0))]  # fmt: skip
    pairs = engine.eligible(index, plants, MatchParams())
    assert sorted(pairs.service.tolist()) == [1, 2]


def test_no_service_no_class_no_chain() -> None:
    index = _index([{"supply": True, "cls": OTHER, "x": 0}, {"supply": False, "cls": OTHER, "x": 1}])  # no entry
    lat, lon = at_km(0.0)
    truck = ServiceSpec(key=0, org=9000, kind="transport", lat=lat, lon=lon, radius_km=100.0)
    assert engine.find_chains(index, [truck], MatchParams()).n == 0


@given(
    total=st.floats(-1e9, 1e9, allow_nan=False),
    weights=st.lists(st.floats(0, 10, allow_nan=False), min_size=3, max_size=3),
)
def test_shares_sum_to_the_total(total: float, weights: list[float]) -> None:
    roles = ("supplier", "service", "receiver")
    shares = engine.split_shares(total, roles, dict(zip(roles, weights, strict=True)))
    assert len(shares) == 3 and sum(shares) == pytest.approx(total, abs=1e-6 * max(1.0, abs(total)))


def test_split_rule_is_equal_by_default_and_proportional_to_weights() -> None:
    assert engine.split_shares(300.0, ("a", "b", "c")) == [100.0, 100.0, 100.0]
    assert engine.split_shares(400.0, ("a", "b", "c"), {"a": 2, "b": 1, "c": 1}) == [200.0, 100.0, 100.0]
    assert engine.split_shares(90.0, ("a", "b", "c"), {"a": 0, "b": 0, "c": 0}) == [30.0, 30.0, 30.0]
    assert engine.split_shares(1.0, ()) == []


def test_cycles_are_bounded_and_simple() -> None:
    edges = [
        Edge("A", "B", "ab", 0.9),
        Edge("B", "C", "bc", 0.8),
        Edge("C", "A", "ca", 0.7, "chain"),
        Edge("B", "A", "ba", 0.5),
        Edge("B", "A", "ba-worse", 0.1),  # only the best edge of a pair counts
        Edge("C", "D", "cd", 0.9),
        Edge("D", "E", "de", 0.9),
        Edge("E", "A", "ea", 0.9),
        Edge("A", "A", "self", 1.0),
    ]
    cycles = engine.find_cycles(edges, "A", max_length=4)
    refs = [[e.ref for e in c] for c in cycles]
    assert ["ab", "bc", "ca"] in refs and ["ab", "ba"] in refs
    assert all(len(c) <= 4 for c in cycles) and ["ab", "bc", "cd", "de", "ea"] not in refs
    assert ["ab", "bc", "cd", "de", "ea"] in [[e.ref for e in c] for c in engine.find_cycles(edges, "A", 5)]
    for c in cycles:
        nodes = [e.source for e in c]
        assert len(set(nodes)) == len(nodes) and c[-1].target == "A"
    assert engine.find_cycles(edges, "Z") == []
