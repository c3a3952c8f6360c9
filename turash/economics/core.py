"""The vectorised core: arrays of resolved exchanges in, arrays of costs, benefits, CO2 and finance out.

One function (`compute`) prices N exchanges at once; the Monte Carlo and the tornado call it on one exchange
broadcast against N multipliers. Every formula lives in `costs.py` or `finance.py` with its source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from . import costs, finance
from .assumptions import Assumptions
from .model import CATEGORIES, J_PER_MWH, KG_PER_T, QUANTITY_KINDS, TRANSPORT_MODES

Array = np.ndarray[Any, np.dtype[Any]]
CAT = {c: i for i, c in enumerate(CATEGORIES)}
KIND = {k: i for i, k in enumerate(QUANTITY_KINDS)}
MODE = {m: i for i, m in enumerate(TRANSPORT_MODES)}
SECONDS_PER_HOUR = 3600.0
# Cost-model codes beyond the categories: cold (an "energy" flow of the cooling classes) moves as chilled water.
COOLING = len(CATEGORIES)


class ParamTable:
    """Parameter values per row: one row of values per distinct `Assumptions`, and each case's row index."""

    def __init__(self, sets: list[Assumptions], row_set: Array | None = None) -> None:
        self.names = {name: j for j, name in enumerate(sets[0].names())}
        self.matrix = np.array([[a[name] for name in self.names] for a in sets], dtype=np.float64)
        self.row_set = row_set

    def __call__(self, name: str) -> Array | float:
        column = self.names[name]
        if self.matrix.shape[0] == 1 or self.row_set is None:
            return float(self.matrix[0, column])
        return np.asarray(self.matrix[self.row_set, column])

    def take(self, idx: Array) -> ParamTable:
        out = ParamTable.__new__(ParamTable)
        out.names, out.matrix = self.names, self.matrix
        out.row_set = None if self.row_set is None else self.row_set[idx]
        return out


@dataclass(slots=True)
class Rows:
    """Resolved exchanges as arrays (one entry per case). Prices in EUR per SI unit of the case's kind."""

    category: Array
    kind: Array
    quantity: Array
    distance_km: Array
    hours: Array
    peak_w: Array
    supply_t: Array
    demand_t: Array
    pressure_bar: Array
    treat: Array
    mode: Array
    receiver_value: Array
    receiver_co2: Array
    supplier_value: Array
    supplier_co2: Array
    gas_density: Array
    gas_lhv: Array
    computable: Array
    params: ParamTable

    def __len__(self) -> int:
        return int(self.category.shape[0])

    def take(self, idx: Array) -> Rows:
        values = {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name != "params"}
        return Rows(**values, params=self.params.take(idx))


@dataclass(slots=True)
class Multipliers:
    """Factors on the inputs the uncertainty analysis varies (1 = base case). Arrays broadcast against the rows."""

    quantity: Array | float = 1.0
    distance: Array | float = 1.0
    capex: Array | float = 1.0
    opex: Array | float = 1.0
    value: Array | float = 1.0
    disposal: Array | float = 1.0

    def take(self, idx: Array) -> Multipliers:
        def pick(x: Array | float) -> Array | float:
            return x if np.ndim(x) == 0 else np.asarray(x)[idx]

        return Multipliers(
            *(pick(getattr(self, f)) for f in ("quantity", "distance", "capex", "opex", "value", "disposal"))
        )

    @property
    def size(self) -> int:
        return max(
            int(np.size(getattr(self, f))) for f in ("quantity", "distance", "capex", "opex", "value", "disposal")
        )


@dataclass(slots=True)
class Outputs:
    """Results per case (arrays); NaN where not computable."""

    values: dict[str, Array] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Array:
        return self.values[name]


Block = Callable[[Rows, ParamTable, Multipliers], dict[str, Array]]


def _zeros_like(x: Array) -> Array:
    return np.zeros_like(np.asarray(x, dtype=np.float64))


def _route_m(r: Rows, p: ParamTable, m: Multipliers) -> Array:
    """Route length: straight line × detour factor (engineering)."""
    return np.asarray(r.distance_km * 1000.0 * p("detour_factor") * m.distance, dtype=np.float64)


def _heat(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    q = r.quantity * m.quantity  # J/yr of heat taken from the supplier
    seconds = r.hours * SECONDS_PER_HOUR
    power = np.where(np.isfinite(r.peak_w), r.peak_w * m.quantity, q / seconds)  # design thermal power, W
    t_s, t_d = r.supply_t, r.demand_t
    dt = p("dh_delta_t_k")
    t_r = t_d - dt  # return temperature of the carrier
    # Heat pump when the supply is colder than the need + the exchanger's approach.
    hp = t_s < t_d + p("hx_min_approach_k")
    cop = costs.heat_pump_cop(t_s, t_s - p("hp_source_cooling_k"), t_r, t_d, p("hp_lorenz_efficiency"))
    lift = np.where(hp, cop / np.maximum(cop - 1.0, 1e-9), 1.0)  # heat out per unit of source heat
    heat_out = q * lift
    power_out = power * lift
    hp_electricity = np.where(hp, heat_out / cop, 0.0)
    capex_hp = np.where(hp, p("hp_capex_eur_per_kw") * power_out / 1000.0, 0.0)
    lmtd = costs.hx_lmtd_k(t_s, t_d, p("hx_min_approach_k"), p("hx_max_lmtd_k"))
    area = np.where(hp, 0.0, costs.hx_area_m2(power_out, p("hx_u_w_per_m2k"), lmtd))
    capex_hx = costs.hx_installed_cost_eur(
        area, p("hx_cost_a_usd"), p("hx_cost_b_usd"), p("hx_cost_n"), p("hx_install_factor"), p("usd2010_to_eur_now")
    )
    route = _route_m(r, p, m)
    flow = power_out / (costs.WATER_DENSITY * costs.WATER_CP * dt)  # m3/s of carrier
    _, od, lines = costs.pipe_size(flow, p("dh_velocity_m_per_s"))
    pn, pn_factor = costs.pressure_class(r.pressure_bar, p("pressure_class_step_share"))  # PN 16 unless stated
    capex_pipe = pn_factor * lines * costs.trench_cost_per_m(od, p("dh_c1_eur_per_m"), p("dh_c2_eur_per_m2")) * route
    loss_w = (
        lines
        * costs.heat_loss_w_per_m(
            od, (t_d + t_r) / 2.0, p("ground_temperature_c"), p("heat_loss_u0_w_per_mk"), p("heat_loss_u1_w_per_m2k")
        )
        * route
    )
    loss = np.minimum(loss_w * seconds, heat_out)
    pump_w = costs.pumping_power_w(2.0 * p("pressure_gradient_pa_per_m") * route, flow, p("pump_efficiency"))
    electricity = hp_electricity + pump_w * seconds
    return {
        "capex_pipe": capex_pipe,
        "capex_equipment": capex_hx + capex_hp,
        "capex_heat_pump": capex_hp,
        "capex_hx": capex_hx,
        "delivered": heat_out - loss,
        "loss": loss,
        "electricity": electricity,
        "heat_pump": hp.astype(np.float64) * np.ones_like(q),
        "cop": np.where(hp, cop, np.nan),
        "diameter_m": od * np.ones_like(q),
        "route_m": route * np.ones_like(q),
        "pressure_class": pn * np.ones_like(q),
    }


def _cooling(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    """Cold delivered as chilled water through a pipe pair (district cooling): the same cost curve, sizing and
    pumping as a heat line, but the small supply-return difference (6/14 °C) makes the pipe far larger for the same
    power, and the ground warms the water (a gain, not a loss). A plate exchanger separates the two circuits."""
    q = r.quantity * m.quantity  # J/yr of cold
    seconds = r.hours * SECONDS_PER_HOUR
    power = np.where(np.isfinite(r.peak_w), r.peak_w * m.quantity, q / seconds)
    t_supply, t_return = p("dc_supply_temperature_c"), p("dc_return_temperature_c")
    dt = np.maximum(np.asarray(t_return - t_supply, dtype=np.float64), 1.0)
    flow = power / (costs.WATER_DENSITY * costs.WATER_CP * dt)
    _, od, lines = costs.pipe_size(flow, p("dc_velocity_m_per_s"))
    route = _route_m(r, p, m)
    pn, pn_factor = costs.pressure_class(r.pressure_bar, p("pressure_class_step_share"))
    capex_pipe = (
        p("dc_pipe_cost_factor")
        * pn_factor
        * lines
        * route
        * costs.trench_cost_per_m(od, p("dh_c1_eur_per_m"), p("dh_c2_eur_per_m2"))
    )
    # Heat the ground gives to the colder pipes: the loss formula with the temperatures the other way round.
    gain_w = (
        lines
        * costs.heat_loss_w_per_m(
            od,
            p("ground_temperature_c"),
            (t_supply + t_return) / 2.0,
            p("heat_loss_u0_w_per_mk"),
            p("heat_loss_u1_w_per_m2k"),
        )
        * route
    )
    gain = np.minimum(gain_w * seconds, q)
    area = costs.hx_area_m2(power, p("hx_u_w_per_m2k"), np.asarray(p("hx_min_approach_k"), dtype=np.float64))
    capex_hx = costs.hx_installed_cost_eur(
        area, p("hx_cost_a_usd"), p("hx_cost_b_usd"), p("hx_cost_n"), p("hx_install_factor"), p("usd2010_to_eur_now")
    )
    pump_w = costs.pumping_power_w(2.0 * p("pressure_gradient_pa_per_m") * route, flow, p("pump_efficiency"))
    return {
        "capex_pipe": capex_pipe,
        "capex_equipment": capex_hx,
        "capex_hx": capex_hx,
        "delivered": q - gain,
        "loss": gain,
        "electricity": pump_w * seconds,
        "diameter_m": od * np.ones_like(q),
        "route_m": route * np.ones_like(q),
        "pressure_class": pn * np.ones_like(q),
    }


def _steam(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    h_fg = p("steam_latent_heat_kj_per_kg") * 1000.0
    q = r.quantity * m.quantity
    is_mass = r.kind == KIND["mass"]
    mass = np.where(is_mass, q, q / h_fg)  # kg/yr
    seconds = r.hours * SECONDS_PER_HOUR
    pressure = np.where(np.isfinite(r.pressure_bar), r.pressure_bar, p("steam_default_pressure_bar"))
    peak_kg_s = np.where(np.isfinite(r.peak_w), r.peak_w * m.quantity / h_fg, mass / seconds)
    flow = peak_kg_s / costs.steam_density_kg_m3(pressure)
    _, od, lines = costs.pipe_size(flow, p("steam_velocity_m_per_s"))
    route = _route_m(r, p, m)
    pn, pn_factor = costs.pressure_class(pressure, p("pressure_class_step_share"))
    capex_pipe = (
        p("steam_pipe_cost_factor")
        * pn_factor
        * lines
        * route
        * costs.trench_cost_per_m(od, p("dh_c1_eur_per_m"), p("dh_c2_eur_per_m2"))
    )
    loss_w = (
        lines
        * costs.heat_loss_w_per_m(
            od,
            costs.steam_saturation_c(pressure),
            p("ground_temperature_c"),
            p("heat_loss_u0_w_per_mk"),
            p("heat_loss_u1_w_per_m2k"),
        )
        * route
    )
    energy = mass * h_fg
    loss_j = np.minimum(loss_w * seconds, energy)
    delivered = np.where(is_mass, (energy - loss_j) / h_fg, energy - loss_j)
    return {
        "capex_pipe": capex_pipe,
        "delivered": delivered,
        "loss": np.where(is_mass, loss_j / h_fg, loss_j),
        "diameter_m": od * np.ones_like(q),
        "route_m": route * np.ones_like(q),
        "pressure_class": pn * np.ones_like(q),
    }


def _water(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    q = r.quantity * m.quantity
    volume = np.where(r.kind == KIND["mass"], q / 1000.0, q)  # m3/yr
    seconds = r.hours * SECONDS_PER_HOUR
    flow = volume / seconds
    _, od, lines = costs.pipe_size(flow, p("water_velocity_m_per_s"))
    route = _route_m(r, p, m)
    pressure = np.where(np.isfinite(r.pressure_bar), r.pressure_bar, p("water_default_pressure_bar"))
    pn, pn_factor = costs.pressure_class(pressure, p("pressure_class_step_share"))
    capex_pipe = (
        p("water_pipe_cost_factor")
        * pn_factor
        * lines
        * route
        * costs.trench_cost_per_m(od, p("dh_c1_eur_per_m"), p("dh_c2_eur_per_m2"))
    )
    pump_w = costs.pumping_power_w(p("pressure_gradient_pa_per_m") * route, flow, p("pump_efficiency"))
    treat = r.treat.astype(np.float64)
    return {
        "capex_pipe": capex_pipe,
        "capex_equipment": treat * p("water_treatment_capex_eur_per_m3_yr") * volume,
        "opex_treatment": treat * p("water_treatment_eur_per_m3") * volume,
        "delivered": q,
        "electricity": pump_w * seconds,
        "diameter_m": od * np.ones_like(q),
        "route_m": route * np.ones_like(q),
        "pressure_class": pn * np.ones_like(q),
    }


def _gas(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    q = r.quantity * m.quantity
    kind = r.kind
    nm3 = np.where(kind == KIND["volume"], q, np.where(kind == KIND["mass"], q / r.gas_density, q / r.gas_lhv))
    seconds = r.hours * SECONDS_PER_HOUR
    pressure = np.where(np.isfinite(r.pressure_bar), r.pressure_bar, p("gas_default_pressure_bar"))
    flow = costs.gas_actual_flow_m3_s(nm3 / seconds, pressure)
    _, od, lines = costs.pipe_size(flow, p("gas_velocity_m_per_s"))
    route = _route_m(r, p, m)
    pn, pn_factor = costs.pressure_class(pressure, p("pressure_class_step_share"))
    capex_pipe = (
        p("gas_pipe_cost_factor")
        * pn_factor
        * lines
        * route
        * costs.trench_cost_per_m(od, p("dh_c1_eur_per_m"), p("dh_c2_eur_per_m2"))
    )
    pump_w = costs.pumping_power_w(p("pressure_gradient_pa_per_m") * route, flow, p("pump_efficiency"))
    tonnes = nm3 * r.gas_density / KG_PER_T
    treat = r.treat.astype(np.float64)
    return {
        "capex_pipe": capex_pipe,
        "capex_equipment": treat * p("gas_treatment_capex_eur_per_t_yr") * tonnes,
        "opex_treatment": treat * p("gas_treatment_eur_per_t") * tonnes,
        "delivered": q,
        "electricity": pump_w * seconds,
        "diameter_m": od * np.ones_like(q),
        "route_m": route * np.ones_like(q),
        "pressure_class": pn * np.ones_like(q),
    }


def _energy(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    q = r.quantity * m.quantity
    route = _route_m(r, p, m)
    return {
        "capex_pipe": p("cable_eur_per_m") * route * np.ones_like(q),
        "delivered": q,
        "route_m": route * np.ones_like(q),
    }


def _material(r: Rows, p: ParamTable, m: Multipliers) -> dict[str, Array]:
    q = r.quantity * m.quantity
    tonnes = q / KG_PER_T
    route_km = _route_m(r, p, m) / 1000.0
    mode = r.mode
    eur_tkm = np.select(
        [mode == MODE["rail"], mode == MODE["ship"]],
        [p("rail_eur_per_tkm"), p("ship_eur_per_tkm")],
        p("road_eur_per_tkm"),
    )
    co2_tkm = np.select(
        [mode == MODE["rail"], mode == MODE["ship"]],
        [p("rail_co2_kg_per_tkm"), p("ship_co2_kg_per_tkm")],
        p("road_co2_kg_per_tkm"),
    )
    treat = r.treat.astype(np.float64)
    capex = tonnes * (p("handling_capex_eur_per_t_yr") + treat * p("pretreatment_capex_eur_per_t_yr"))
    return {
        "capex_equipment": capex,
        "opex_transport": tonnes * route_km * eur_tkm,
        "opex_handling": tonnes * p("handling_eur_per_t"),
        "opex_treatment": treat * tonnes * p("pretreatment_eur_per_t"),
        "delivered": q,
        "transport_co2": tonnes * route_km * co2_tkm / KG_PER_T,
        "route_m": route_km * 1000.0 * np.ones_like(q),
    }


BLOCKS: dict[int, Block] = {
    CAT["heat"]: _heat,
    CAT["steam"]: _steam,
    CAT["water"]: _water,
    CAT["gas"]: _gas,
    CAT["energy"]: _energy,
    CAT["material"]: _material,
    COOLING: _cooling,
}
KEYS = (
    "capex_pipe",
    "capex_equipment",
    "capex_heat_pump",
    "capex_hx",
    "opex_treatment",
    "opex_transport",
    "opex_handling",
    "delivered",
    "loss",
    "electricity",
    "transport_co2",
    "heat_pump",
    "cop",
    "diameter_m",
    "route_m",
    "pressure_class",
)


def _blocks(rows: Rows, mult: Multipliers) -> tuple[dict[str, Array], int]:
    """Run each category's model on its rows; a single row is broadcast against the multipliers."""
    n = max(len(rows), mult.size)
    out = {k: np.full(n, np.nan if k in ("cop", "diameter_m", "pressure_class") else 0.0) for k in KEYS}
    if len(rows) == 1:
        block = BLOCKS.get(int(rows.category[0]))
        if block is not None and bool(rows.computable[0]):
            for k, v in block(rows, rows.params, mult).items():
                out[k] = np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()
        return out, n
    for code, block in BLOCKS.items():
        idx = np.nonzero((rows.category == code) & rows.computable)[0]
        if idx.size == 0:
            continue
        sub = rows.take(idx)
        for k, v in block(sub, sub.params, mult.take(idx)).items():
            out[k][idx] = v
    return out, n


def compute(rows: Rows, mult: Multipliers | None = None) -> Outputs:
    """Costs, benefits, CO2, finance and the price band of every row (NaN where not computable)."""
    mult = mult or Multipliers()
    b, n = _blocks(rows, mult)
    p = rows.params
    q = np.broadcast_to(rows.quantity * mult.quantity, (n,))
    ok = np.broadcast_to(rows.computable & (rows.quantity > 0) & np.isfinite(rows.distance_km) & (rows.hours > 0), (n,))
    electricity_price = p("electricity_price_eur_per_mwh") / J_PER_MWH
    grid = p("grid_co2_t_per_mwh") / J_PER_MWH
    capex_pipe = b["capex_pipe"] * mult.capex
    capex_equipment = b["capex_equipment"] * mult.capex
    capex = capex_pipe + capex_equipment
    opex_om = p("om_pipe_share") * capex_pipe + p("om_equipment_share") * capex_equipment
    opex_energy = b["electricity"] * electricity_price
    opex = (opex_om + opex_energy + b["opex_treatment"] + b["opex_transport"] + b["opex_handling"]) * mult.opex
    delivered = b["delivered"]
    benefit_receiver = delivered * rows.receiver_value * mult.value
    benefit_supplier = q * rows.supplier_value * mult.disposal
    co2 = delivered * rows.receiver_co2 + q * rows.supplier_co2 - b["electricity"] * grid - b["transport_co2"]
    carbon = co2 * p("carbon_price_eur_per_t")
    benefit = benefit_receiver + benefit_supplier + carbon
    annual = benefit - opex
    rate, years = p("discount_rate"), np.round(p("lifetime_years"))
    crf = finance.capital_recovery_factor(rate, years)
    ceiling = (benefit_receiver + carbon - capex * crf - opex) / np.where(q > 0, q, np.nan)
    floor = -rows.supplier_value * mult.disposal * np.ones(n)
    values = {
        "capex": capex,
        "capex_pipe": capex_pipe,
        "capex_equipment": capex_equipment,
        "capex_heat_pump": b["capex_heat_pump"] * mult.capex,
        "capex_hx": b["capex_hx"] * mult.capex,
        "opex": opex,
        "opex_om": opex_om * mult.opex,
        "opex_energy": opex_energy * mult.opex,
        "opex_transport": b["opex_transport"] * mult.opex,
        "opex_handling": b["opex_handling"] * mult.opex,
        "opex_treatment": b["opex_treatment"] * mult.opex,
        "benefit": benefit,
        "benefit_receiver": benefit_receiver,
        "benefit_supplier": benefit_supplier,
        "benefit_carbon": carbon,
        "annual": annual,
        "co2": co2,
        "delivered": delivered,
        "loss": b["loss"],
        "electricity": b["electricity"],
        "heat_pump": b["heat_pump"],
        "cop": b["cop"],
        "diameter_m": b["diameter_m"],
        "route_m": b["route_m"],
        "pressure_class": b["pressure_class"],
        "npv": finance.npv(capex, annual, rate, years),
        "irr": finance.irr(capex, annual, years),
        "payback": finance.simple_payback(capex, annual, years),
        "discounted_payback": finance.discounted_payback(capex, annual, rate, years),
        "roi": finance.roi(capex, annual, years),
        "levelised_cost": finance.levelised_cost(capex, opex, rate, years, delivered),
        "price_floor": floor,
        "price_ceiling": ceiling,
    }
    for k, v in values.items():
        values[k] = np.where(ok, np.broadcast_to(v, (n,)), np.nan)
    return Outputs(values)


def param_rows(sets: Mapping[str, Assumptions], keys: list[str]) -> ParamTable:
    """A parameter table for rows whose assumption set is named by `keys`."""
    names = list(sets)
    index = {name: i for i, name in enumerate(names)}
    return ParamTable([sets[k] for k in names], np.array([index[k] for k in keys], dtype=np.intp))
