"""Flows inferred from sector profiles and register figures."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA
from turash.registers.hotmaps import read_sites
from turash.sectors import InferredFlow, RegisterFigures, figures_from_hotmaps, infer_flows, superseded


def _by_class(flows: list[InferredFlow]) -> dict[tuple[str, str], InferredFlow]:
    return {(f.direction, f.class_id): f for f in flows}


def test_brewery_per_employee() -> None:
    flows = _by_class(infer_flows("11.05", employees=100))
    grain = flows[("supply", "brewers_spent_grain")]
    assert (grain.quantity, grain.low, grain.high, grain.unit) == (9000.0, 4000.0, 20000.0, "t/yr")
    assert grain.precision == "rough" and grain.inferred and grain.driver == "per_employee"
    assert grain.resource == "Brewers' spent grain" and grain.category == "material"
    assert grain.basis.startswith("NACE 11.05 profile × 100 employees")
    assert "mussatto_2014" in grain.sources
    # Flows without a per-employee figure fall back to the typical site, and say so.
    co2 = flows[("supply", "fermentation_co2")]
    assert co2.driver == "typical_site" and "typical site" in co2.basis and "assumption" in co2.basis
    assert ("demand", "process_water") in flows


def test_production_is_preferred_to_employees() -> None:
    flows = _by_class(infer_flows("11.05", employees=100, production_t=50_000))
    grain = flows[("supply", "brewers_spent_grain")]
    assert grain.driver == "per_t_production"
    assert math.isclose(grain.quantity or 0, 0.18 * 50_000)
    assert math.isclose(grain.low or 0, 0.14 * 50_000) and math.isclose(grain.high or 0, 0.22 * 50_000)
    assert "50,000 t beer" in grain.basis


def test_cement_works_known_only_by_its_code() -> None:
    flows = _by_class(infer_flows("23.51"))
    retarder = flows[("demand", "cement_set_retarder")]
    assert retarder.quantity == pytest.approx(0.04 * 800_000)  # typical site: 800 kt cement
    assert retarder.driver == "typical_site"
    assert ("demand", "supplementary_cementitious_material") in flows
    assert ("demand", "kiln_alternative_fuel") in flows
    heat = flows[("supply", "kiln_exhaust_heat")]
    assert heat.unit == "GWh/yr" and heat.quantity == pytest.approx(0.14e-3 * 800_000)
    assert all(f.precision == "rough" and f.inferred for f in flows.values())


def test_small_energy_flows_are_given_in_mwh() -> None:
    flows = _by_class(infer_flows("10.7", employees=5))
    oven = flows[("supply", "heat_100_200c")]
    assert oven.unit == "MWh/yr" and oven.quantity == pytest.approx(50.0)


def test_hotmaps_figures_replace_the_profile_guesses() -> None:
    leoben = next(read_sites(SHARED_DATA / "hotmaps_industrial_database.csv"))
    figures = figures_from_hotmaps(leoben)
    assert figures.excess_heat_gwh == {"heat_100_200c": 192.34, "heat_200_500c": 173.66}
    flows = _by_class(infer_flows(leoben.nace or "", register_figures=figures))
    heat = flows[("supply", "heat_100_200c")]
    assert (heat.quantity, heat.unit, heat.precision, heat.inferred) == (192.34, "GWh/yr", "estimated", False)
    assert heat.temperature_c == 100 and heat.low is None
    assert ("supply", "metallurgical_heat") not in flows  # the register's banded figure replaces the guess
    co2 = flows[("supply", "flue_gas_co2")]
    assert co2.quantity == 2808536.0 and co2.precision == "estimated"
    slag = flows[("supply", "granulated_blast_furnace_slag")]
    assert slag.driver == "per_t_production" and slag.precision == "rough"
    assert slag.quantity == pytest.approx(0.22 * 2726675.56)
    assert "Hotmaps Industrial Database" in slag.basis


def test_eprtr_co2_sizes_a_power_station() -> None:
    figures = RegisterFigures(source="E-PRTR 2014", source_ids=("reg_166_2006",), co2_t=1_000_000)
    flows = _by_class(infer_flows("35.11", register_figures=figures))
    ash = flows[("supply", "coal_fly_ash")]
    assert ash.driver == "per_t_co2" and ash.quantity == pytest.approx(33_000)
    assert flows[("supply", "flue_gas_co2")].quantity == 1_000_000
    assert flows[("supply", "flue_gas_co2")].precision == "estimated"
    # An explicit size argument wins over the register's.
    direct = _by_class(infer_flows("35.11", co2_t=2_000_000, register_figures=figures))
    assert direct[("supply", "coal_fly_ash")].quantity == pytest.approx(66_000)


def test_steelworks_route_follows_its_co2_emissions() -> None:
    """NACE 24.10 holds blast furnace and electric arc furnace works: a register's CO2 tells them apart (about
    2 t CO2/t steel against 0.3-0.6), so an electric steelworks is not credited with blast furnace slag."""
    blast_furnace = {"granulated_blast_furnace_slag", "bof_slag", "blast_furnace_gas", "converter_gas"}
    electric = {"eaf_slag", "eaf_dust"}

    def supplies(co2_t: float | None) -> set[str]:
        figures = RegisterFigures(source="Hotmaps", source_ids=("hotmaps",), co2_t=co2_t, production_t=600_000)
        return {f.class_id for f in infer_flows("24.10", register_figures=figures) if f.direction == "supply"}

    integrated, arc, unknown = supplies(4_465_254), supplies(133_326), supplies(None)
    assert blast_furnace <= integrated and not electric & integrated
    assert electric <= arc and not blast_furnace & arc
    assert blast_furnace | electric <= unknown  # nothing tells: both routes stay possible
    assert "mill_scale" in arc  # what every route has stays
    slag = _by_class(infer_flows("24.10", co2_t=1_680_000))[("supply", "granulated_blast_furnace_slag")]
    assert "1,680,000 t CO2/yr fit this production route" in slag.basis


def test_rev21_codes_and_unknown_codes() -> None:
    recovery = _by_class(infer_flows("38.21", revision="2.1", employees=40))
    assert ("demand", "plastic_recycling_feedstock") in recovery  # Rev. 2.1 38.21 is materials recovery
    assert infer_flows("not a code") == []
    assert infer_flows("00.00") == []


def test_unlikely_flows_are_left_out() -> None:
    every = infer_flows("20.14", min_likelihood=0.0)
    likely = infer_flows("20.14", min_likelihood=0.5)
    assert len(likely) < len(every)
    assert all(f.likelihood >= 0.5 for f in likely)


def test_presence_only_flows_have_no_quantity() -> None:
    flows = _by_class(infer_flows("35.30", use_typical_site=False))
    need = flows[("demand", "district_heating_heat")]
    assert need.quantity is None and need.low is None and "quantity unknown" in need.basis


def test_flow_values_for_the_register() -> None:
    flow = infer_flows("11.05", employees=10)[0]
    values = flow.as_flow_values()
    assert values["inferred"] is True and values["precision"] == "rough"
    assert values["quantity_min"] == flow.low and values["quantity_max"] == flow.high
    assert values["attributes"]["resource_class"] == flow.class_id
    assert len(values["inferred_from"]) <= 300


@given(st.floats(min_value=1, max_value=100_000, allow_nan=False))
def test_quantities_scale_linearly_and_stay_in_range(employees: float) -> None:
    base = {f.class_id: f for f in infer_flows("10.51", employees=1) if f.driver == "per_employee"}
    for flow in infer_flows("10.51", employees=employees):
        if flow.driver != "per_employee" or flow.quantity is None:
            continue
        assert flow.low is not None and flow.high is not None
        assert flow.low <= flow.quantity <= flow.high
        one = base[flow.class_id]
        scale = 1e3 if flow.unit != one.unit and flow.unit == "MWh/yr" else 1.0
        scale = 1e-3 if flow.unit != one.unit and one.unit == "MWh/yr" else scale
        assert flow.quantity == pytest.approx((one.quantity or 0) * employees * scale, rel=1e-6)


def test_declared_flows_replace_the_inferred_ones() -> None:
    figures = RegisterFigures(source="Hotmaps", excess_heat_gwh={"heat_100_200c": 50.0}, co2_t=10_000)
    flows = infer_flows("24.10", register_figures=figures)
    assert superseded(flows, []) == []
    gone = superseded(flows, [("supply", "waste_heat")])
    assert all(f.inferred for f in gone if f.class_id != "heat_100_200c")
    assert any(f.class_id == "heat_100_200c" for f in gone)  # the declared waste heat covers the band
    assert not any(f.class_id == "flue_gas_co2" and not f.inferred for f in gone)  # CO2 figure stays
    assert len([f for f in gone if f.inferred]) == len([f for f in flows if f.inferred])


def test_a_site_without_code_keeps_its_register_flows() -> None:
    figures = RegisterFigures(source="E-PRTR 2014", co2_t=5_000)
    flows = infer_flows(None, register_figures=figures)
    assert [(f.class_id, f.quantity, f.precision) for f in flows] == [("flue_gas_co2", 5_000, "estimated")]
