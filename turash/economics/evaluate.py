"""Price exchanges: `evaluate` gives one full business case (with Monte Carlo, tornado, price band and risk);
`evaluate_many` gives the headline figures of many exchanges at once, vectorised.

    case = ExchangeCase(category="heat", annual_quantity=30e3 * 3.6e9, quantity_kind="energy", distance_km=2.4,
                        supply_class="heat_70_100c", demand_class="district_heating_heat", country="DK")
    result = evaluate(case, Assumptions.for_country("DK").with_overrides(discount_rate=0.06))
    result.as_contract()   # {"npv_eur": ..., "payback_years": ..., "irr": ..., "co2_avoided_t_per_year": ...}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import finance, risk
from .assumptions import EU, Assumptions
from .core import CAT, COOLING, KIND, MODE, Multipliers, Outputs, ParamTable, Rows, compute
from .model import (
    DISPLAY_UNIT,
    BusinessCase,
    Category,
    ExchangeCase,
    Precision,
    PriceBand,
    QuantityKind,
    TornadoBar,
    TransportMode,
)
from .resolve import Resolved, resolve

Array = np.ndarray[Any, np.dtype[Any]]
MC_SAMPLES = 1000
MC_SEED = 20240601  # fixed: the same case always gives the same P10/P50/P90
Z_P90 = 1.2815515655446004  # a ±h range read as P10..P90 of a normal distribution
TORNADO_INPUTS = ("quantity", "distance", "capex", "opex", "value", "disposal")
TORNADO_LABELS = {
    "quantity": "annual quantity",
    "distance": "route length",
    "capex": "investment",
    "opex": "operating cost",
    "value": "receiver's avoided price",
    "disposal": "supplier's avoided cost",
}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _set_code(country: str | None, assumptions: Assumptions | None) -> str:
    """Which assumption set a case uses: "given" ones, else its country's (the EU default when unknown)."""
    return "given" if assumptions is not None else (country or EU).upper()


def _assumptions_for(code: str, assumptions: Assumptions | None, overrides: Mapping[str, float] | None) -> Assumptions:
    base = assumptions if assumptions is not None else Assumptions.for_country(code)
    return base.with_overrides(**dict(overrides or {}))


def _assumption_set(
    case: ExchangeCase, assumptions: Assumptions | None, overrides: Mapping[str, float] | None
) -> tuple[str, Assumptions]:
    code = _set_code(case.country, assumptions)
    return code, _assumptions_for(code, assumptions, overrides)


@dataclass(frozen=True, slots=True)
class CaseColumns:
    """N exchanges as columns (the fields of `ExchangeCase` the headline figures read): lists for the texts,
    float arrays with NaN for unknown values, bool arrays for the flags."""

    category: Sequence[Category]
    quantity_kind: Sequence[QuantityKind]
    supply_class: Sequence[str | None]
    demand_class: Sequence[str | None]
    hazardous: Sequence[bool | str]
    country: Sequence[str | None]
    transport_mode: Sequence[TransportMode]
    annual_quantity: Array
    distance_km: Array
    operating_hours: Array
    peak_power_w: Array
    supply_temperature_c: Array
    demand_temperature_c: Array
    pressure_bar: Array
    purity_pct: Array
    required_purity_pct: Array
    needs_treatment: Array
    supply_price_eur_per_unit: Array
    demand_price_eur_per_unit: Array

    @classmethod
    def of(cls, cases: Sequence[ExchangeCase]) -> CaseColumns:
        def floats(name: str) -> Array:
            return np.array([math.nan if (v := getattr(c, name)) is None else v for c in cases], dtype=np.float64)

        return cls(
            category=[c.category for c in cases],
            quantity_kind=[c.quantity_kind for c in cases],
            supply_class=[c.supply_class for c in cases],
            demand_class=[c.demand_class for c in cases],
            hazardous=[c.hazardous for c in cases],
            country=[c.country for c in cases],
            transport_mode=[c.transport_mode for c in cases],
            needs_treatment=np.array([c.needs_treatment for c in cases], dtype=bool),
            **{
                name: floats(name)
                for name in (
                    "annual_quantity",
                    "distance_km",
                    "operating_hours",
                    "peak_power_w",
                    "supply_temperature_c",
                    "demand_temperature_c",
                    "pressure_bar",
                    "purity_pct",
                    "required_purity_pct",
                    "supply_price_eur_per_unit",
                    "demand_price_eur_per_unit",
                )
            },
        )


def _set_of_row(sets: dict[str, Assumptions], codes: list[str]) -> Array | None:
    if len(sets) <= 1:
        return None
    position = {code: j for j, code in enumerate(sets)}
    return np.array([position[code] for code in codes], dtype=np.intp)


_RESOLVED_FIELDS = (
    "receiver_value",
    "receiver_co2",
    "supplier_value",
    "supplier_co2",
    "supply_temperature_c",
    "demand_temperature_c",
    "gas_density_kg_nm3",
    "gas_lhv_j_nm3",
)


def _rows(
    cases: Sequence[ExchangeCase] | CaseColumns,
    assumptions: Assumptions | None,
    overrides: Mapping[str, float] | None,
    keep_resolved: bool = False,
) -> tuple[Rows, list[Resolved]]:
    """Resolve the cases and pack them into arrays: each distinct (category, kind, classes, hazard, country) is
    resolved once and its values spread by index, so the cost per case is a few array operations."""
    c = cases if isinstance(cases, CaseColumns) else CaseColumns.of(cases)
    n = len(c.category)
    codes = [_set_code(x, assumptions) for x in c.country]
    sets = {code: _assumptions_for(code, assumptions, overrides) for code in dict.fromkeys(codes)}
    if not sets:
        sets[EU] = _assumptions_for(EU, None, overrides)
    keys = list(zip(c.category, c.quantity_kind, c.supply_class, c.demand_class, c.hazardous, codes, strict=True))
    distinct: dict[tuple[Any, ...], int] = {}
    at = np.fromiter((distinct.setdefault(k, len(distinct)) for k in keys), dtype=np.intp, count=n)
    table = [resolve(k[0], k[1], k[2], k[3], k[4], sets[k[5]]) for k in distinct]

    def spread(values: list[Any], dtype: Any = np.float64) -> Array:
        return np.asarray(values, dtype=dtype)[at] if n else np.empty(0, dtype)

    resolved = {name: spread([getattr(r, name) for r in table]) for name in _RESOLVED_FIELDS}
    quantity, distance = c.annual_quantity, c.distance_km
    short = c.purity_pct < c.required_purity_pct  # False where either is unknown (NaN)
    rows = Rows(
        category=spread([COOLING if r.cooling else CAT[k[0]] for k, r in zip(distinct, table, strict=True)], np.int8),
        kind=spread([KIND[k[1]] for k in distinct], np.int8),
        treat=np.asarray(c.needs_treatment, dtype=bool) | short,
        mode=np.array([MODE[m] for m in c.transport_mode], dtype=np.int8),
        computable=spread([r.computable for r in table], bool) & ~np.isnan(quantity) & ~np.isnan(distance),
        quantity=quantity,
        distance_km=distance,
        hours=c.operating_hours,
        peak_w=c.peak_power_w,
        supply_t=np.where(np.isnan(c.supply_temperature_c), resolved["supply_temperature_c"], c.supply_temperature_c),
        demand_t=np.where(np.isnan(c.demand_temperature_c), resolved["demand_temperature_c"], c.demand_temperature_c),
        pressure_bar=c.pressure_bar,
        receiver_value=np.where(
            np.isnan(c.demand_price_eur_per_unit), resolved["receiver_value"], c.demand_price_eur_per_unit
        ),
        receiver_co2=resolved["receiver_co2"],
        # A stated supply price is the supplier's alternative: negative, the gate fee it pays today; positive, what
        # it earns for the resource elsewhere (its opportunity cost).
        supplier_value=np.where(
            np.isnan(c.supply_price_eur_per_unit), resolved["supplier_value"], -c.supply_price_eur_per_unit
        ),
        supplier_co2=resolved["supplier_co2"],
        gas_density=resolved["gas_density_kg_nm3"],
        gas_lhv=resolved["gas_lhv_j_nm3"],
        params=ParamTable(list(sets.values()), _set_of_row(sets, codes)),
    )
    return rows, ([table[j] for j in at.tolist()] if keep_resolved else [])


# The contract's `economics` block: (key, output, decimals).
_CONTRACT = (
    ("npv_eur", "npv", 0),
    ("payback_years", "payback", 2),
    ("irr", "irr", 4),
    ("co2_avoided_t_per_year", "co2", 1),
)

# --- many cases ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Headline figures of N exchanges as arrays (NaN = not computable). `contract(i)` gives the CLI block."""

    outputs: Outputs
    kind: Array

    def __len__(self) -> int:
        return int(self.outputs["npv"].shape[0])

    def __getitem__(self, name: str) -> Array:
        return self.outputs[name]

    def contract(self, i: int) -> dict[str, Any]:
        return self._contracts(np.asarray([i], dtype=np.intp))[0]

    def contracts(self) -> list[dict[str, Any]]:
        return self._contracts(slice(None))

    def _contracts(self, which: Any) -> list[dict[str, Any]]:
        """The CLI blocks of the rows `which`, column by column (rounded, None where not finite)."""
        columns = []
        for _, name, digits in _CONTRACT:
            v = np.asarray(self.outputs[name][which], dtype=np.float64)
            values: list[float | None] = np.round(v, digits).tolist()
            for j in np.flatnonzero(~np.isfinite(v)).tolist():
                values[j] = None
            columns.append(values)
        keys = [key for key, _, _ in _CONTRACT]
        blocks: list[dict[str, Any]] = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
        for block, band in zip(blocks, self._bands(which), strict=True):
            block["price_band"] = band
        return blocks

    def _bands(self, which: Any) -> list[dict[str, Any] | None]:
        """The win-win price band of the rows `which` in the unit a person reads (EUR/t, EUR/MWh, EUR/m3): the
        transfer prices at which both sides beat their alternative; None where there is none."""
        kind = np.asarray(self.kind[which], dtype=np.intp)
        per = _DISPLAY_PER[kind]
        low = np.asarray(self.outputs["price_floor"][which], dtype=np.float64) * per
        high = np.asarray(self.outputs["price_ceiling"][which], dtype=np.float64) * per
        exists = np.isfinite(low) & np.isfinite(high) & (high > low)
        lows, highs = np.round(low, 2).tolist(), np.round(high, 2).tolist()
        return [
            {"low": lows[j] + 0.0, "high": highs[j], "unit": _DISPLAY_NAME[kind[j]]} if ok else None
            for j, ok in enumerate(exists.tolist())
        ]


_DISPLAY_PER = np.array([DISPLAY_UNIT[k][1] for k in KIND], dtype=np.float64)  # SI unit → display unit, by kind
_DISPLAY_NAME = [f"EUR/{DISPLAY_UNIT[k][0]}" for k in KIND]


def evaluate_many(
    cases: Sequence[ExchangeCase] | CaseColumns | Rows,
    assumptions: Assumptions | None = None,
    overrides: Mapping[str, float] | None = None,
) -> BatchResult:
    """Price N exchanges at once (no Monte Carlo). Each case uses its country's defaults unless `assumptions`
    is given (then it applies to all); `overrides` apply on top. Pre-built `Rows` skip the resolution step;
    `CaseColumns` skip building a case object per exchange."""
    rows = cases if isinstance(cases, Rows) else _rows(cases, assumptions, overrides)[0]
    return BatchResult(compute(rows), rows.kind)


def rows_from_cases(
    cases: Sequence[ExchangeCase], assumptions: Assumptions | None = None, overrides: Mapping[str, float] | None = None
) -> Rows:
    """Resolve cases once into arrays (e.g. to price the same set under several scenarios)."""
    return _rows(cases, assumptions, overrides)[0]


# --- one case ---------------------------------------------------------------------------------------------------


def _half_width(a: Assumptions, precision: Precision) -> float:
    return a[f"precision_{precision}"]


def _ranges(case: ExchangeCase, a: Assumptions) -> dict[str, float]:
    """P10-P90 half-widths of each varied input, as a share of its value."""
    supply = "rough" if case.inferred else case.supply_precision
    h_quantity = max(_half_width(a, supply), _half_width(a, case.demand_precision))
    value = (
        _half_width(a, case.demand_precision) if case.demand_price_eur_per_unit is not None else a["price_uncertainty"]
    )
    return {
        "quantity": h_quantity,
        "distance": a["detour_uncertainty"],
        "capex": a["capex_uncertainty"],
        "opex": a["capex_uncertainty"],
        "value": value,
        "disposal": a["price_uncertainty"],
    }


def _multipliers(ranges: Mapping[str, float], samples: int, seed: int) -> tuple[Multipliers, int]:
    """Row 0: base; then low/high of each input for the tornado; then the Monte Carlo samples."""
    k = len(TORNADO_INPUTS)
    columns: dict[str, Array] = {}
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((samples, k))
    for j, name in enumerate(TORNADO_INPUTS):
        h = ranges[name]
        tornado = np.ones(2 * k)
        tornado[2 * j], tornado[2 * j + 1] = 1.0 - h, 1.0 + h
        mc = np.maximum(1.0 + h / Z_P90 * z[:, j], 0.01)
        columns[name] = np.concatenate(([1.0], np.maximum(tornado, 0.0), mc))
    return Multipliers(**columns), 1 + 2 * k


def evaluate(
    case: ExchangeCase,
    assumptions: Assumptions | None = None,
    *,
    overrides: Mapping[str, float] | None = None,
    samples: int = MC_SAMPLES,
    seed: int = MC_SEED,
) -> BusinessCase:
    """The full business case of one exchange; `assumptions` default to the case's country."""
    _, a = _assumption_set(case, assumptions, overrides)
    rows, resolved = _rows([case], a, None, keep_resolved=True)
    res = resolved[0]
    notes = list(res.notes)
    if case.annual_quantity is None or case.annual_quantity <= 0:
        notes.append("annual quantity unknown: nothing to price")
    if case.distance_km is None:
        notes.append("distance unknown: the link cannot be costed")
    if not bool(rows.computable[0]) or case.annual_quantity is None or case.annual_quantity <= 0:
        return BusinessCase(
            computable=False,
            notes=tuple(notes),
            risk=risk.assess(
                case, heat_pump=False, cop=None, loss_share=None, band_exists=False, npv_p10=None, npv_p50=None
            ),
        )
    ranges = _ranges(case, a)
    mult, first_mc = _multipliers(ranges, max(samples, 0), seed)
    out = compute(rows, mult)

    def base(name: str) -> float:
        return float(out[name][0])

    years = round(a["lifetime_years"])
    capex, annual, rate = base("capex"), base("annual"), a["discount_rate"]
    npv = finance.npv_npf(capex, annual, rate, years)  # numpy-financial on the cash-flow series
    irr = finance.irr_npf(capex, annual, years)
    npv_mc = out["npv"][first_mc:]
    co2_mc = out["co2"][first_mc:]
    p10, p50, p90 = np.percentile(npv_mc, [10, 50, 90]) if npv_mc.size else (math.nan,) * 3
    tornado = sorted(
        (
            TornadoBar(TORNADO_LABELS[name], float(out["npv"][1 + 2 * j]), float(out["npv"][2 + 2 * j]))
            for j, name in enumerate(TORNADO_INPUTS)
        ),
        key=lambda bar: -bar.swing,
    )
    unit, per_display = DISPLAY_UNIT[case.quantity_kind]
    band, band_reason = _price_band(case, base("price_floor") * per_display, base("price_ceiling") * per_display, unit)
    heat_pump = base("heat_pump") > 0.5
    delivered = base("delivered")
    loss = base("loss")
    loss_share = loss / (delivered + loss) if case.category in ("heat", "steam") and delivered + loss > 0 else None
    used = {u[0]: u for u in res.used}
    cooling = int(rows.category[0]) == COOLING
    for name in _PARAMS_BY_CATEGORY["cooling" if cooling else case.category] + _COMMON_PARAMS:
        used.setdefault(name, a.param(name).as_tuple())
    if math.isfinite(base("pressure_class")):
        used["pressure_class"] = ("pressure_class", base("pressure_class"), "PN (bar)", "EN 1333 series")
    # Stated temperatures replace the class defaults the resolution listed (it runs once per kind of exchange).
    for name, stated, who in (
        ("supply_temperature_c", case.supply_temperature_c, "supplier"),
        ("demand_temperature_c", case.demand_temperature_c, "receiver"),
    ):
        if stated is not None and name in used:
            used[name] = (name, stated, "°C", f"stated by the {who}")
    if case.demand_price_eur_per_unit is not None:
        used["receiver_value"] = (
            "receiver_value",
            case.demand_price_eur_per_unit * per_display,
            f"EUR/{unit}",
            "stated by the receiver",
        )
    for name, h in ranges.items():
        used[f"range[{name}]"] = (f"range[{name}]", h, "± share (P10-P90)", "engineering")
    breakdown = {
        k: base(k)
        for k in (
            "capex_pipe",
            "capex_hx",
            "capex_heat_pump",
            "capex_equipment",
            "opex_om",
            "opex_energy",
            "opex_transport",
            "opex_handling",
            "opex_treatment",
            "benefit_receiver",
            "benefit_supplier",
            "benefit_carbon",
            "electricity",
            "loss",
            "route_m",
            "diameter_m",
            "pressure_class",
            "cop",
        )
        if math.isfinite(base(k))
    }
    p10f, p50f = _finite(float(p10)), _finite(float(p50))
    return BusinessCase(
        computable=True,
        npv_eur=_finite(npv),
        irr=irr,
        payback_years=_finite(base("payback")),
        discounted_payback_years=_finite(base("discounted_payback")),
        roi=_finite(base("roi")),
        levelised_cost_eur_per_unit=_finite(base("levelised_cost") * per_display),
        levelised_cost_unit=f"EUR/{unit}",
        capex_eur=capex,
        opex_eur_per_year=base("opex"),
        benefit_eur_per_year=base("benefit"),
        co2_avoided_t_per_year=_finite(base("co2")),
        delivered_quantity=_finite(delivered),
        npv_p10=p10f,
        npv_p50=p50f,
        npv_p90=_finite(float(p90)),
        co2_p10=_finite(float(np.percentile(co2_mc, 10))) if co2_mc.size else None,
        co2_p90=_finite(float(np.percentile(co2_mc, 90))) if co2_mc.size else None,
        tornado=tuple(tornado),
        price_band=band,
        price_band_reason=band_reason,
        risk=risk.assess(
            case,
            heat_pump=heat_pump,
            cop=_finite(base("cop")),
            loss_share=loss_share,
            band_exists=band is not None,
            npv_p10=p10f,
            npv_p50=p50f,
        ),
        breakdown=breakdown,
        heat_pump=heat_pump,
        assumptions=tuple(used.values()),
        notes=tuple(notes),
    )


def _price_band(case: ExchangeCase, floor: float, ceiling: float, unit: str) -> tuple[PriceBand | None, str | None]:
    """The win-win band: above the supplier's floor (minus its avoided disposal cost) and below the receiver's
    ceiling (its avoided purchase and carbon, less the link's annualised investment and running costs)."""
    if not (math.isfinite(floor) and math.isfinite(ceiling)):
        return None, "not computable"
    if ceiling <= floor:
        return None, (
            f"no win-win price: the receiver can pay at most {ceiling:.2f} EUR/{unit} while the supplier "
            f"needs at least {floor:.2f} EUR/{unit} (the link costs more than both sides save)"
        )
    note = (
        "floor = the supplier's stated price"
        if case.supply_price_eur_per_unit is not None
        else "floor = minus the disposal cost the supplier avoids"
    )
    if case.demand_price_eur_per_unit is not None:
        note += "; ceiling from the receiver's stated price"
    return PriceBand(floor + 0.0, ceiling, f"EUR/{unit}", note), None


_COMMON_PARAMS = [
    "discount_rate",
    "lifetime_years",
    "carbon_price_eur_per_t",
    "electricity_price_eur_per_mwh",
    "grid_co2_t_per_mwh",
    "detour_factor",
    "om_pipe_share",
    "om_equipment_share",
]
_PIPE = [
    "dh_c1_eur_per_m",
    "dh_c2_eur_per_m2",
    "pressure_gradient_pa_per_m",
    "pump_efficiency",
    "pressure_class_step_share",
]
_PARAMS_BY_CATEGORY: dict[str, list[str]] = {
    "heat": [
        *_PIPE,
        "dh_velocity_m_per_s",
        "dh_delta_t_k",
        "ground_temperature_c",
        "heat_loss_u0_w_per_mk",
        "heat_loss_u1_w_per_m2k",
        "hx_u_w_per_m2k",
        "hx_min_approach_k",
        "hx_max_lmtd_k",
        "hx_cost_a_usd",
        "hx_cost_b_usd",
        "hx_cost_n",
        "hx_install_factor",
        "usd2010_to_eur_now",
        "hp_lorenz_efficiency",
        "hp_source_cooling_k",
        "hp_capex_eur_per_kw",
    ],
    "steam": [
        *_PIPE,
        "steam_latent_heat_kj_per_kg",
        "steam_velocity_m_per_s",
        "steam_pipe_cost_factor",
        "steam_default_pressure_bar",
        "ground_temperature_c",
        "heat_loss_u0_w_per_mk",
        "heat_loss_u1_w_per_m2k",
    ],
    "water": [
        *_PIPE,
        "water_velocity_m_per_s",
        "water_pipe_cost_factor",
        "water_default_pressure_bar",
        "water_treatment_eur_per_m3",
        "water_treatment_capex_eur_per_m3_yr",
    ],
    "gas": [
        *_PIPE,
        "gas_velocity_m_per_s",
        "gas_pipe_cost_factor",
        "gas_default_pressure_bar",
        "gas_treatment_eur_per_t",
        "gas_treatment_capex_eur_per_t_yr",
    ],
    "energy": ["cable_eur_per_m"],
    "cooling": [
        *_PIPE,
        "dc_supply_temperature_c",
        "dc_return_temperature_c",
        "dc_velocity_m_per_s",
        "dc_pipe_cost_factor",
        "chiller_cop",
        "ground_temperature_c",
        "heat_loss_u0_w_per_mk",
        "heat_loss_u1_w_per_m2k",
        "hx_u_w_per_m2k",
        "hx_min_approach_k",
        "hx_cost_a_usd",
        "hx_cost_b_usd",
        "hx_cost_n",
        "hx_install_factor",
        "usd2010_to_eur_now",
    ],
    "material": [
        "road_eur_per_tkm",
        "rail_eur_per_tkm",
        "ship_eur_per_tkm",
        "road_co2_kg_per_tkm",
        "rail_co2_kg_per_tkm",
        "ship_co2_kg_per_tkm",
        "handling_eur_per_t",
        "handling_capex_eur_per_t_yr",
        "pretreatment_eur_per_t",
        "pretreatment_capex_eur_per_t_yr",
    ],
    "service": [],
}
