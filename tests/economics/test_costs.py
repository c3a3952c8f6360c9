"""Cost models against published figures (worked examples) and physics."""

from __future__ import annotations

import math

import numpy as np

from turash.economics import Assumptions, costs


def test_district_heating_construction_cost_per_metre_follows_persson_werner() -> None:
    # Persson & Werner (2011), Applied Energy 88:568-576: C = C1 + C2 · d_a; outer-city areas C1 = 214 EUR/m,
    # C2 = 1725 EUR/m2. A DN 200 pair (d_a = 0.2191 m, EN 10220) costs 214 + 1725 × 0.2191 = 592 EUR per trench metre.
    a = Assumptions.for_country("EU")
    cost = float(costs.trench_cost_per_m(np.array([0.2191]), a["dh_c1_eur_per_m"], a["dh_c2_eur_per_m2"])[0])
    assert math.isclose(cost, 591.9, abs_tol=0.1)


def test_pipe_sizing_picks_the_smallest_standard_bore() -> None:
    # 3.4 MW at ΔT 30 K is 0.0279 m3/s of water; at 2 m/s that needs a 133 mm bore: DN 150.
    flow = np.array([3.42e6 / (costs.WATER_DENSITY * costs.WATER_CP * 30.0)])
    dn, od, lines = costs.pipe_size(flow, 2.0)
    assert dn[0] == 0.150 and od[0] == 0.1683 and lines[0] == 1
    huge = costs.pipe_size(np.array([20.0]), 2.0)
    assert huge[2][0] > 1  # beyond DN 1200: parallel lines


def test_heat_pump_cop_reproduces_drammen() -> None:
    # EHPA: Drammen's seawater heat pumps cool the fjord water from 8 to 4 °C and heat district water from 60 to
    # 90 °C with a system COP of 3.05. The Lorenz-efficiency model with η = 0.55 gives 2.8, within 15 %.
    a = Assumptions.for_country("NO")
    cop = float(
        costs.heat_pump_cop(
            np.array([8.0]), np.array([4.0]), np.array([60.0]), np.array([90.0]), a["hp_lorenz_efficiency"]
        )[0]
    )
    assert abs(cop - 3.05) / 3.05 < 0.15
    # A smaller lift gives a higher COP.
    warmer = float(costs.heat_pump_cop(np.array([27.0]), np.array([22.0]), np.array([60.0]), np.array([90.0]), 0.5)[0])
    assert warmer > cop


def test_heat_pump_capex_reproduces_odense() -> None:
    # DBDH (2020): Fjernvarme Fyn's 45 MW of heat pumps on Facebook's data-centre heat: total investment 30 MEUR.
    a = Assumptions.for_country("DK")
    assert math.isclose(a["hp_capex_eur_per_kw"] * 45_000, 30e6, rel_tol=0.01)


def test_heat_exchanger_area_and_cost() -> None:
    area = float(costs.hx_area_m2(np.array([1e6]), 3000.0, np.array([10.0]))[0])
    assert math.isclose(area, 33.33, rel_tol=1e-3)  # A = Q / (U · LMTD)
    cost = costs.hx_installed_cost_eur(np.array([0.0, 10.0, 100.0]), 1600.0, 210.0, 0.95, 3.5, 1.25)
    assert cost[0] == 0.0 and 0 < cost[1] < cost[2]
    assert math.isclose(float(cost[1]), (1600 + 210 * 10**0.95) * 3.5 * 1.25)


def test_steam_property_fits_are_close_to_the_steam_tables() -> None:
    # Saturation 179.9 °C and density 5.15 kg/m3 at 10 bar (IAPWS-IF97 steam tables).
    assert abs(float(costs.steam_saturation_c(np.array([10.0]))[0]) - 179.9) < 4.0
    assert abs(float(costs.steam_density_kg_m3(np.array([10.0]))[0]) - 5.15) < 0.3


def test_heat_loss_grows_with_diameter_and_temperature() -> None:
    small = costs.heat_loss_w_per_m(np.array([0.06]), 60.0, 8.0, 0.2, 2.2)
    big = costs.heat_loss_w_per_m(np.array([0.5]), 60.0, 8.0, 0.2, 2.2)
    hot = costs.heat_loss_w_per_m(np.array([0.06]), 90.0, 8.0, 0.2, 2.2)
    assert big[0] > small[0] and hot[0] > small[0]
    assert costs.heat_loss_w_per_m(np.array([0.06]), 5.0, 8.0, 0.2, 2.2)[0] == 0.0


def test_pressure_classes_follow_the_pn_series() -> None:
    from turash.economics.costs import pressure_class

    pn, factor = pressure_class(np.array([np.nan, 2.0, 10.0, 16.0, 16.5, 30.0, 63.0, 500.0]), 0.12)
    assert pn.tolist() == [16, 16, 16, 16, 25, 40, 63, 160]  # never below PN 16, the smallest step that holds
    assert np.allclose(factor, [1, 1, 1, 1, 1.12, 1.24, 1.36, 1.6])
