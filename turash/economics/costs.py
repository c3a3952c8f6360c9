"""Engineering cost models, vectorised over arrays of cases. SI units inside: m, m3/s, W, J, °C, Pa, EUR.

Each function states its formula and source; the numbers it takes come from `data/parameters.yaml`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]

# Nominal diameters (m) and the outer diameters of the matching steel tubes (m), EN 10220 / ISO 4200 (en_10220).
# The nominal diameter stands for the inner diameter when a pipe is sized by velocity.
DN_M = (
    np.array(
        [25, 32, 40, 50, 65, 80, 100, 125, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 1200],
        dtype=np.float64,
    )
    / 1000.0
)
OD_M = (
    np.array(
        [
            33.7,
            42.4,
            48.3,
            60.3,
            76.1,
            88.9,
            114.3,
            139.7,
            168.3,
            219.1,
            273.0,
            323.9,
            355.6,
            406.4,
            457.0,
            508.0,
            610.0,
            711.0,
            813.0,
            914.0,
            1016.0,
            1219.0,
        ],
        dtype=np.float64,
    )
    / 1000.0
)

WATER_DENSITY = 975.0  # kg/m3 near 75 °C (steam tables)
WATER_CP = 4190.0  # J/(kg·K)
P_NORMAL_BAR = 1.01325
T_NORMAL_K, T_LINE_K = 273.15, 288.15  # normal conditions, gas in a buried line
KELVIN = 273.15


def pipe_size(flow_m3_s: Array, velocity_m_s: Array | float) -> tuple[Array, Array, Array]:
    """Smallest standard pipe whose bore carries the flow at the design velocity: d = √(4Q / (π v)).

    Flows beyond DN 1200 are split over parallel lines. Returns (nominal diameter m, outer diameter m, lines).
    """
    q = np.maximum(np.asarray(flow_m3_s, dtype=np.float64), 0.0)
    d_req = np.sqrt(4.0 * q / (np.pi * np.asarray(velocity_m_s, dtype=np.float64)))
    lines = np.maximum(1.0, np.ceil((d_req / DN_M[-1]) ** 2 - 1e-9))
    d_each = d_req / np.sqrt(lines)
    idx = np.minimum(np.searchsorted(DN_M, d_each, side="left"), len(DN_M) - 1)
    return DN_M[idx], OD_M[idx], lines


# The PN series of EN 1333 (pressure classes of piping components, bar at 20 °C).
PN_BAR = np.array([6, 10, 16, 25, 40, 63, 100, 160], dtype=np.float64)
PN_BASE = 2  # index of PN 16: the class a district-heating or water main is built to anyway


def pressure_class(pressure_bar: Array, step_share: Array | float) -> tuple[Array, Array]:
    """The smallest PN class (EN 1333) that holds the operating pressure, and the pipe cost factor it implies:
    1 up to PN 16, then 1 + step_share per class above it (a screening rule; `pressure_class_step_share`).
    An unknown pressure is taken as PN 16; beyond PN 160 the top class is used. Returns (PN bar, factor)."""
    p = np.asarray(pressure_bar, dtype=np.float64)
    idx = np.minimum(np.searchsorted(PN_BAR, np.where(np.isfinite(p), p, 0.0), side="left"), len(PN_BAR) - 1)
    idx = np.maximum(idx, PN_BASE)
    return PN_BAR[idx], np.asarray(1.0 + step_share * (idx - PN_BASE), dtype=np.float64)


def trench_cost_per_m(outer_diameter_m: Array, c1: Array | float, c2: Array | float) -> Array:
    """District-heating construction cost per trench metre, C = C1 + C2 · d_a (persson_werner_2011)."""
    return np.asarray(c1 + c2 * np.asarray(outer_diameter_m), dtype=np.float64)


def heat_loss_w_per_m(
    outer_diameter_m: Array,
    mean_temperature_c: Array | float,
    ground_c: Array | float,
    u0: Array | float,
    u1: Array | float,
) -> Array:
    """Heat lost by a buried pre-insulated pipe pair: q = (u0 + u1 · d_a) · (T_mean − T_ground) per trench metre."""
    dt = np.maximum(np.asarray(mean_temperature_c) - ground_c, 0.0)
    return np.asarray((u0 + u1 * np.asarray(outer_diameter_m)) * dt, dtype=np.float64)


def pumping_power_w(pressure_drop_pa: Array, flow_m3_s: Array, efficiency: Array | float) -> Array:
    """Electric power of a pump or fan: P = Δp · Q / η."""
    return np.asarray(np.asarray(pressure_drop_pa) * np.asarray(flow_m3_s) / efficiency, dtype=np.float64)


def hx_lmtd_k(supply_c: Array, demand_c: Array, min_approach_k: Array | float, max_lmtd_k: Array | float) -> Array:
    """Log-mean temperature difference of a counter-flow exchanger with balanced flows ≈ the approach, clipped."""
    return np.asarray(
        np.clip(np.asarray(supply_c) - np.asarray(demand_c), min_approach_k, max_lmtd_k), dtype=np.float64
    )


def hx_area_m2(power_w: Array, u_w_m2k: Array | float, lmtd_k: Array) -> Array:
    """A = Q̇ / (U · LMTD)."""
    return np.asarray(np.asarray(power_w) / (u_w_m2k * lmtd_k), dtype=np.float64)


def hx_installed_cost_eur(
    area_m2: Array,
    a: Array | float,
    b: Array | float,
    n: Array | float,
    install_factor: Array | float,
    usd_to_eur: Array | float,
) -> Array:
    """Installed plate heat exchanger: (a + b · A^n) (towler_sinnott_2012, USD 2010) × installation × currency."""
    area = np.maximum(np.asarray(area_m2, dtype=np.float64), 0.0)
    cost = (a + b * np.power(area, n)) * install_factor * usd_to_eur
    return np.asarray(np.where(area > 0, cost, 0.0), dtype=np.float64)


def log_mean_k(t_in_c: Array, t_out_c: Array) -> Array:
    """Logarithmic mean of two temperatures, in kelvin."""
    a = np.asarray(t_in_c, dtype=np.float64) + KELVIN
    b = np.asarray(t_out_c, dtype=np.float64) + KELVIN
    same = np.abs(a - b) < 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        lm = (b - a) / np.log(b / a)
    return np.asarray(np.where(same, a, lm), dtype=np.float64)


def heat_pump_cop(
    source_in_c: Array, source_out_c: Array, sink_in_c: Array, sink_out_c: Array, efficiency: Array | float
) -> Array:
    """Heating COP = η · T_sink / (T_sink − T_source) on log-mean temperatures (a Lorenz-efficiency model).

    η of 0.55 reproduces Drammen's published COP of 3.05 within 15 % (ehpa_drammen; tests/economics/test_costs.py).
    Bounded to [1, 15]: a heat pump never delivers less heat than the electricity it takes.
    """
    t_sink = log_mean_k(sink_in_c, sink_out_c)
    t_source = log_mean_k(source_in_c, source_out_c)
    lift = np.maximum(t_sink - t_source, 1.0)
    return np.asarray(np.clip(efficiency * t_sink / lift, 1.0, 15.0), dtype=np.float64)


def steam_saturation_c(pressure_bar: Array) -> Array:
    """Saturation temperature ≈ 100 · p^0.25 °C (p in bar absolute; fits the steam tables within ~2 % at 1-40 bar)."""
    return np.asarray(100.0 * np.power(np.maximum(np.asarray(pressure_bar), 0.1), 0.25), dtype=np.float64)


def steam_density_kg_m3(pressure_bar: Array) -> Array:
    """Saturated steam density ≈ 0.5 · p kg/m3 (p in bar absolute; steam tables give 5.1 kg/m3 at 10 bar)."""
    return np.asarray(0.5 * np.maximum(np.asarray(pressure_bar), 0.1), dtype=np.float64)


def gas_actual_flow_m3_s(normal_m3_s: Array, pressure_bar: Array) -> Array:
    """Ideal gas: Q = Q_n · (p_n / p) · (T_line / T_n)."""
    p = np.maximum(np.asarray(pressure_bar, dtype=np.float64), P_NORMAL_BAR)
    return np.asarray(np.asarray(normal_m3_s) * (P_NORMAL_BAR / p) * (T_LINE_K / T_NORMAL_K), dtype=np.float64)


# Gas densities at normal conditions (0 °C, 1.01325 bar), kg/Nm3: physical properties (e.g. CRC Handbook).
GAS_DENSITY_KG_NM3: dict[str, float] = {
    "co2": 1.977,
    "hydrogen": 0.0899,
    "nitrogen": 1.2506,
    "oxygen": 1.429,
    "compressed_air": 1.293,
    "fuel_gas": 0.80,  # natural-gas-like mixture
}
