"""Screening figures for the matching engine's economic scorer, from the business case's own parameters and formulas.

The engine ranks millions of candidate pairs, so it cannot price each one in full; it needs, per category and
quantity family, a unit value and a link cost that it can apply per pair in a few operations. This module derives
them from `data/parameters.yaml` (the same numbers `evaluate` uses) with the business case's formulas:

- value the receiver avoids: heat and steam from a gas boiler (gas price / boiler efficiency; steam by its latent
  heat), electricity at the power price, cold at the power price / chiller COP, water at the water tariff, CO2 and
  other gases at the merchant price, materials at the default secondary-material price;
- cost the supplier avoids: landfill tax + gate fee for materials, the wastewater charge for water;
- truck: road EUR per t·km × detour, plus handling per tonne;
- pipe, per km of straight line and year: (capital recovery factor + O&M share) × detour × 1000 m ×
  cost factor × (C1 + C2 · d), with the bore d = √(4 V̇ / (π v)) of the pipe that carries the exchanged amount at
  its design velocity (costs.pipe_size, without rounding to the DN series). Since V̇ ∝ the yearly amount Q,
  the cost is A + B·√Q: `pipe_fixed` holds A per category, `pipe_sqrt` holds B per category and quantity family.

Heat losses, pumping, heat exchangers and heat pumps are left to the full business case: the scorer ranks, the
business case prices. Values are in EUR per SI unit (kg, J, m3) of the family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import costs, finance
from .assumptions import EU, Assumptions
from .model import J_PER_MWH, KG_PER_T

SECONDS_PER_YEAR = 365.25 * 86400.0
MASS, ENERGY, VOLUME = "mass", "energy", "volume"


@dataclass(frozen=True, slots=True)
class Screening:
    """Unit values and link costs by (category, family); families are "mass", "energy", "volume"."""

    purchase: dict[tuple[str, str], float] = field(default_factory=dict)  # EUR per unit the receiver avoids
    disposal: dict[tuple[str, str], float] = field(default_factory=dict)  # EUR per unit the supplier avoids
    truck_per_km: dict[str, float] = field(default_factory=dict)  # EUR per unit·km (straight line) by family
    truck_fixed: dict[str, float] = field(default_factory=dict)  # EUR per unit moved (handling) by family
    pipe_fixed: dict[str, float] = field(default_factory=dict)  # EUR per km·yr by category
    pipe_sqrt: dict[tuple[str, str], float] = field(default_factory=dict)  # EUR per km·yr per √(unit/yr)


def _bore_coefficient(velocity: float, unit_to_m3_s: float) -> float:
    """d = k · √Q for a yearly amount Q whose volume flow is Q · unit_to_m3_s / seconds per year."""
    return math.sqrt(4.0 * unit_to_m3_s / (SECONDS_PER_YEAR * math.pi * velocity))


def screening(assumptions: Assumptions | None = None) -> Screening:
    """The scorer's figures for one assumption set (the EU defaults and the operator's settings by default)."""
    a = assumptions or Assumptions.for_country(EU)
    gas_heat = a["gas_price_eur_per_mwh"] / a["boiler_efficiency"] / J_PER_MWH  # EUR per J of heat
    latent = a["steam_latent_heat_kj_per_kg"] * 1000.0  # J per kg of steam
    power = a["electricity_price_eur_per_mwh"] / J_PER_MWH
    purchase = {
        ("heat", ENERGY): gas_heat,
        ("steam", ENERGY): gas_heat,
        ("steam", MASS): gas_heat * latent,
        ("energy", ENERGY): power,
        ("water", VOLUME): a["water_price_eur_per_m3"],
        ("water", MASS): a["water_price_eur_per_m3"] / 1000.0,  # 1 t per m3
        ("gas", MASS): a["co2_price_eur_per_t"] / KG_PER_T,
        ("gas", VOLUME): a["industrial_gas_price_eur_per_nm3"],
        ("gas", ENERGY): a["gas_price_eur_per_mwh"] / J_PER_MWH,  # fuel gas replaces natural gas
        ("material", MASS): a["default_material_price_eur_per_t"] / KG_PER_T,
    }
    disposal = {
        ("material", MASS): (a["landfill_tax_eur_per_t"] + a["landfill_gate_fee_eur_per_t"]) / KG_PER_T,
        ("water", VOLUME): a["wastewater_charge_eur_per_m3"],
        ("water", MASS): a["wastewater_charge_eur_per_m3"] / 1000.0,
    }
    detour = a["detour_factor"]
    road = a["road_eur_per_tkm"] * detour
    # Liquids by tanker at 1 t/m3; energy does not travel by truck (a prohibitive 1 EUR per J·km).
    truck_per_km = {MASS: road / KG_PER_T, VOLUME: road, ENERGY: 1.0}
    truck_fixed = {MASS: a["handling_eur_per_t"] / KG_PER_T, VOLUME: a["handling_eur_per_t"], ENERGY: 0.0}

    annual = float(finance.capital_recovery_factor(a["discount_rate"], round(a["lifetime_years"]))) + a["om_pipe_share"]
    per_km = annual * detour * 1000.0  # EUR per km of straight line and year, per EUR of cost per metre of route
    c1, c2 = a["dh_c1_eur_per_m"], a["dh_c2_eur_per_m2"]
    heat_m3_per_j = 1.0 / (costs.WATER_DENSITY * costs.WATER_CP * a["dh_delta_t_k"])
    steam_m3_per_kg = 1.0 / float(costs.steam_density_kg_m3(np.asarray(a["steam_default_pressure_bar"])))
    gas_actual_per_nm3 = float(costs.gas_actual_flow_m3_s(np.ones(1), np.asarray(a["gas_default_pressure_bar"]))[0])
    factors = {
        "heat": 1.0,
        "steam": a["steam_pipe_cost_factor"],
        "water": a["water_pipe_cost_factor"],
        "gas": a["gas_pipe_cost_factor"],
    }
    # (category, family) → (design velocity, m3 of flowing volume per unit of the family)
    carriers = {
        ("heat", ENERGY): (a["dh_velocity_m_per_s"], heat_m3_per_j),
        ("steam", MASS): (a["steam_velocity_m_per_s"], steam_m3_per_kg),
        ("steam", ENERGY): (a["steam_velocity_m_per_s"], steam_m3_per_kg / latent),
        ("water", VOLUME): (a["water_velocity_m_per_s"], 1.0),
        ("water", MASS): (a["water_velocity_m_per_s"], 1.0 / 1000.0),
        ("gas", VOLUME): (a["gas_velocity_m_per_s"], gas_actual_per_nm3),
        ("gas", MASS): (a["gas_velocity_m_per_s"], gas_actual_per_nm3 / costs.GAS_DENSITY_KG_NM3["co2"]),
        ("gas", ENERGY): (
            a["gas_velocity_m_per_s"],
            gas_actual_per_nm3 / (a["fuel_gas_lhv_mj_per_nm3"] * 1e6),
        ),
    }
    pipe_fixed = {cat: per_km * f * c1 for cat, f in factors.items()}
    pipe_fixed["energy"] = per_km * a["cable_eur_per_m"]
    pipe_sqrt = {
        (cat, fam): per_km * factors[cat] * c2 * _bore_coefficient(v, m3) for (cat, fam), (v, m3) in carriers.items()
    }
    return Screening(purchase, disposal, truck_per_km, truck_fixed, pipe_fixed, pipe_sqrt)


def pipe_cost_per_km_year(s: Screening, category: str, family: str, amount: float) -> float:
    """A + B·√Q: what one km of straight line costs per year for a pipe that carries Q units a year."""
    return s.pipe_fixed[category] + s.pipe_sqrt.get((category, family), 0.0) * math.sqrt(max(amount, 0.0))
