"""From catalogue classes and a country's assumptions to the per-unit numbers the cost models need.

For every exchange: what the receiver avoids paying and emitting per unit delivered, what the supplier avoids
paying and emitting per unit supplied, and the temperatures when the flows state none. The numbers and their
sources come from `data/`; `used` lists them for the business case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from turash.catalog import get_catalog

from .assumptions import Assumptions, EconomicsData, get_data
from .costs import GAS_DENSITY_KG_NM3
from .model import J_PER_MWH, KG_PER_T, Category, QuantityKind

Used = tuple[str, float, str, str]
CO2_DEMANDS = frozenset({"greenhouse_co2", "food_grade_co2", "co2_mineralisation"})
INDUSTRIAL_GASES = ("hydrogen", "nitrogen", "oxygen", "compressed_air")


@dataclass(frozen=True, slots=True)
class Resolved:
    """Per-unit values in SI units of the case's quantity kind (EUR/kg, EUR/J, EUR/m3; t CO2e per kg, J, m3)."""

    computable: bool
    receiver_value: float = 0.0  # EUR per unit delivered: the purchase the receiver avoids
    receiver_co2: float = 0.0  # t CO2e per unit delivered the receiver no longer emits (or its supplier)
    supplier_value: float = 0.0  # EUR per unit supplied: the disposal the supplier avoids
    supplier_co2: float = 0.0  # t CO2e per unit supplied no longer emitted by disposal
    supply_temperature_c: float = math.nan
    demand_temperature_c: float = math.nan
    gas_density_kg_nm3: float = math.nan
    gas_lhv_j_nm3: float = math.nan
    cooling: bool = False  # cold, priced and piped as chilled water (district cooling)
    notes: tuple[str, ...] = ()
    used: tuple[Used, ...] = ()


def _chain(class_id: str | None) -> tuple[str, ...]:
    """The class and its ancestors, nearest first; empty when unknown."""
    if class_id is None:
        return ()
    cat = get_catalog()
    if class_id not in cat:
        return ()
    return (class_id, *cat.ancestors(class_id))


def _band_middle(class_id: str | None) -> float | None:
    cat = get_catalog()
    for cid in _chain(class_id):
        band = cat.get(cid).band
        if band is not None and band.temperature_c is not None:
            low, high = band.temperature_c
            if low is not None and high is not None:
                return (low + high) / 2.0
            if high is not None:
                return high - 10.0
            if low is not None:
                return low + 10.0
    return None


def _first(chain: tuple[str, ...], table: Mapping[str, Any]) -> str | None:
    """The nearest class of the chain that has an entry in the table."""
    for cid in chain:
        if cid in table:
            return cid
    return None


def temperatures(
    supply_class: str | None,
    demand_class: str | None,
    supply_c: float | None,
    demand_c: float | None,
    data: EconomicsData,
    used: list[Used],
    notes: list[str],
) -> tuple[float, float]:
    """Supply and demand temperatures: stated, else band middle or table, else the default (each use listed)."""
    if supply_c is None:
        middle = _band_middle(supply_class)
        hit = _first(_chain(supply_class), data.supply_temperature_c)
        entry = None if hit is None else data.supply_temperature_c[hit]
        if middle is not None:
            supply_c = middle
            used.append(("supply_temperature_c", middle, "°C", "catalogue band middle"))
        elif entry is not None and entry.value is not None:
            supply_c = entry.value
            used.append(("supply_temperature_c", supply_c, "°C", entry.source))
        else:
            supply_c = float(data.default_supply_temperature.value or 80.0)
            used.append(("supply_temperature_c", supply_c, "°C", data.default_supply_temperature.source))
            notes.append("supply temperature unknown: assumed")
    if demand_c is None:
        hit = _first(_chain(demand_class), data.demand_temperature_c)
        d_entry = None if hit is None else data.demand_temperature_c[hit]
        if d_entry is not None and d_entry.value is not None:
            demand_c = d_entry.value
            used.append(("demand_temperature_c", demand_c, "°C", d_entry.source))
        else:
            demand_c = float(data.default_demand_temperature.value or 70.0)
            used.append(("demand_temperature_c", demand_c, "°C", data.default_demand_temperature.source))
            notes.append("demand temperature unknown: assumed")
    return float(supply_c), float(demand_c)


def _p(a: Assumptions, name: str, used: list[Used]) -> float:
    param = a.param(name)
    used.append(param.as_tuple())
    return param.value


def resolve(
    category: Category,
    kind: QuantityKind,
    supply_class: str | None,
    demand_class: str | None,
    hazardous: bool | str,
    a: Assumptions,
    supply_c: float | None = None,
    demand_c: float | None = None,
) -> Resolved:
    """Per-unit values of one exchange (stated prices are applied later by the caller)."""
    data = get_data()
    used: list[Used] = []
    notes: list[str] = []
    s_chain, d_chain = _chain(supply_class), _chain(demand_class)
    for cid, role in ((supply_class, "supply"), (demand_class, "demand")):
        if cid is not None and not _chain(cid):
            notes.append(f"{role} class '{cid}' is not in the catalogue: category defaults used")

    gas_eur_per_j = a["gas_price_eur_per_mwh"] / J_PER_MWH
    gas_co2_t_per_j = a["gas_co2_t_per_tj"] / 1e12
    t_s = t_d = math.nan
    rho = lhv = math.nan
    recv_v = recv_c = supp_v = supp_c = 0.0
    cooling = False

    if category == "service":
        return Resolved(False, notes=("services are not priced by the economics module",))

    if category in ("heat", "steam"):
        eff = _p(a, "boiler_efficiency", used)
        _p(a, "gas_price_eur_per_mwh", used)
        _p(a, "gas_co2_t_per_tj", used)
        per_j_value, per_j_co2 = gas_eur_per_j / eff, gas_co2_t_per_j / eff
        if category == "heat":
            if kind != "energy":
                return Resolved(False, notes=("heat must be given as energy (J/yr)",))
            t_s, t_d = temperatures(supply_class, demand_class, supply_c, demand_c, data, used, notes)
            recv_v, recv_c = per_j_value, per_j_co2
        else:
            if kind == "volume":
                return Resolved(False, notes=("steam must be given as energy or mass",))
            h_fg = _p(a, "steam_latent_heat_kj_per_kg", used) * 1000.0
            factor = h_fg if kind == "mass" else 1.0
            recv_v, recv_c = per_j_value * factor, per_j_co2 * factor

    elif category == "water":
        if kind == "energy":
            return Resolved(False, notes=("water must be given as volume or mass",))
        per_m3 = 1.0 if kind == "volume" else 1.0 / 1000.0  # 1 m3 of water ≈ 1000 kg
        recv_v = _p(a, "water_price_eur_per_m3", used) * per_m3
        supp_v = _p(a, "wastewater_charge_eur_per_m3", used) * per_m3

    elif category == "gas":
        family = _gas_family(s_chain, d_chain)
        rho = GAS_DENSITY_KG_NM3[family if family in GAS_DENSITY_KG_NM3 else "fuel_gas"]
        lhv = _p(a, "fuel_gas_lhv_mj_per_nm3", used) * 1e6
        # per unit of the case's kind: to_nm3 converts 1 unit into normal cubic metres
        to_nm3 = {"volume": 1.0, "mass": 1.0 / rho, "energy": 1.0 / lhv}[kind]
        if family == "co2":
            if demand_class == "greenhouse_co2":
                gj = _p(a, "greenhouse_co2_gas_gj_per_t", used)
                _p(a, "gas_price_eur_per_mwh", used)
                _p(a, "gas_co2_t_per_tj", used)
                j_per_kg = gj * 1e9 / KG_PER_T  # natural gas the greenhouse no longer burns for CO2
                per_kg_value, per_kg_co2 = j_per_kg * gas_eur_per_j, j_per_kg * gas_co2_t_per_j
            else:
                per_kg_value = _p(a, "co2_price_eur_per_t", used) / KG_PER_T
                # Mineralisation stores the CO2 for good; other uses release it again, replacing other CO2.
                per_kg_co2 = 1.0 / KG_PER_T if demand_class == "co2_mineralisation" else 0.0
                if demand_class != "co2_mineralisation":
                    notes.append("CO2 reused and released again: no CO2 counted as avoided")
            if kind == "energy":
                return Resolved(False, notes=("CO2 must be given as mass or volume",))
            per_unit_kg = {"mass": 1.0, "volume": rho}[kind]
            recv_v, recv_c = per_kg_value * per_unit_kg, per_kg_co2 * per_unit_kg
        elif family == "fuel_gas":
            _p(a, "gas_price_eur_per_mwh", used)
            _p(a, "gas_co2_t_per_tj", used)
            per_unit_j = {"energy": 1.0, "volume": lhv, "mass": lhv / rho}[kind]
            recv_v, recv_c = gas_eur_per_j * per_unit_j, gas_co2_t_per_j * per_unit_j
            notes.append("fuel gas replaces natural gas at the receiver (CO2 at the natural-gas factor)")
        else:
            recv_v = _p(a, "industrial_gas_price_eur_per_nm3", used) * to_nm3
            notes.append("no checked footprint for the industrial gas it replaces: no CO2 counted")

    elif category == "energy":
        if kind != "energy":
            return Resolved(False, notes=("energy must be given as energy (J/yr)",))
        price = _p(a, "electricity_price_eur_per_mwh", used) / J_PER_MWH
        if "cooling_energy" in s_chain or "cooling_energy" in d_chain:
            # Cold replaces the electricity of the receiver's own chillers, and travels as chilled water.
            cop = _p(a, "chiller_cop", used)
            grid = _p(a, "grid_co2_t_per_mwh", used) / J_PER_MWH
            recv_v, recv_c = price / cop, grid / cop
            cooling = True
        else:
            recv_v = price
            notes.append(
                "surplus electricity would otherwise reach the grid: no CO2 counted as avoided; its export "
                "revenue is deducted only when the supplier states a price"
            )

    elif category == "material":
        if kind != "mass":
            return Resolved(False, notes=("materials must be given as mass (kg/yr)",))
        key = _first(d_chain, data.materials)
        if key is not None:
            entry = data.materials[key]
            ratio = entry.ratio_for(supply_class)
            price_t = float(entry.price_eur_per_t.value or 0.0)
            used.append((f"virgin_price[{key}]", price_t, "EUR/t", entry.price_eur_per_t.source))
            used.append((f"substitution[{key}]", float(ratio.value or 1.0), "t/t", ratio.source))
            recv_v = price_t * float(ratio.value or 1.0) / KG_PER_T
            if entry.co2_t_per_t is not None and entry.co2_t_per_t.value is not None:
                co2_t = entry.co2_t_per_t.value
                used.append((f"virgin_footprint[{key}]", co2_t, "t CO2e/t", entry.co2_t_per_t.source))
                recv_c = co2_t * float(ratio.value or 1.0) / KG_PER_T
            else:
                notes.append(f"no checked footprint for the virgin material of '{key}': none counted")
        else:
            recv_v = _p(a, "default_material_price_eur_per_t", used) / KG_PER_T
            notes.append("demand class without a virgin-material entry: default price, no footprint counted")
        if hazardous is True:
            supp_v = _p(a, "hazardous_disposal_eur_per_t", used) / KG_PER_T
        else:
            supp_v = (_p(a, "landfill_tax_eur_per_t", used) + _p(a, "landfill_gate_fee_eur_per_t", used)) / KG_PER_T
        organic = _is_organic(supply_class)
        name = "landfill_co2e_organic_t_per_t" if organic else "landfill_co2e_inert_t_per_t"
        supp_c = _p(a, name, used) / KG_PER_T
    return Resolved(True, recv_v, recv_c, supp_v, supp_c, t_s, t_d, rho, lhv, cooling, tuple(notes), tuple(used))


def _gas_family(s_chain: tuple[str, ...], d_chain: tuple[str, ...]) -> str:
    chain = s_chain + d_chain
    if "co2" in chain or any(d in CO2_DEMANDS for d in d_chain):
        return "co2"
    if "fuel_gas" in chain:
        return "fuel_gas"
    for gas in INDUSTRIAL_GASES:
        if gas in chain:
            return gas
    return "fuel_gas" if not chain else "nitrogen"


def _is_organic(supply_class: str | None) -> bool:
    """Biodegradable (emits methane in a landfill): the catalogue's organic materials file."""
    cat = get_catalog()
    if supply_class is None or supply_class not in cat:
        return False
    return cat.get(supply_class).file == "materials_organic.yaml"
