"""Inputs and outputs of the economics module: one exchange in, one business case out.

Quantities are SI per year: kg/yr (mass), J/yr (energy), m3/yr (volume); prices are EUR per SI unit
(EUR/kg, EUR/J, EUR/m3). Results show the units a person reads (EUR/t, EUR/MWh, EUR/m3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Category = Literal["heat", "steam", "water", "material", "gas", "energy", "service"]
CATEGORIES: tuple[Category, ...] = ("heat", "steam", "water", "material", "gas", "energy", "service")
QuantityKind = Literal["mass", "energy", "volume"]
QUANTITY_KINDS: tuple[QuantityKind, ...] = ("mass", "energy", "volume")
Precision = Literal["rough", "estimated", "measured"]
PRECISIONS: tuple[Precision, ...] = ("rough", "estimated", "measured")
TransportMode = Literal["road", "rail", "ship"]
TRANSPORT_MODES: tuple[TransportMode, ...] = ("road", "rail", "ship")
RiskLevel = Literal["low", "medium", "high"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high")

J_PER_MWH = 3.6e9
KG_PER_T = 1000.0
# Display unit and SI units per display unit, by quantity kind.
DISPLAY_UNIT: dict[str, tuple[str, float]] = {
    "mass": ("t", KG_PER_T),
    "energy": ("MWh", J_PER_MWH),
    "volume": ("m3", 1.0),
}


@dataclass(frozen=True, slots=True)
class ExchangeCase:
    """One supply → demand exchange to price. `None` means unknown; defaults come from the catalogue and data files.

    annual_quantity: what is exchanged per year at the supplier's gate (the smaller of supply and demand), in SI.
    distance_km: straight line between the sites. operating_hours: hours per year both sides overlap.
    supply_price_eur_per_unit: the supplier's asking price (negative: it pays a gate fee to be rid of it).
    demand_price_eur_per_unit: what the receiver pays today for the input it would replace.
    demand_coverage: share (0..1) of the receiver's need this supplier would cover (dependence on one supplier).
    """

    category: Category
    annual_quantity: float | None
    quantity_kind: QuantityKind
    distance_km: float | None
    supply_class: str | None = None
    demand_class: str | None = None
    peak_power_w: float | None = None
    operating_hours: float = 8760.0
    supply_temperature_c: float | None = None
    demand_temperature_c: float | None = None
    pressure_bar: float | None = None
    purity_pct: float | None = None
    required_purity_pct: float | None = None
    hazardous: bool | Literal["mirror"] = False
    needs_treatment: bool = False
    country: str | None = None
    supply_price_eur_per_unit: float | None = None
    demand_price_eur_per_unit: float | None = None
    supply_precision: Precision = "estimated"
    demand_precision: Precision = "estimated"
    inferred: bool = False
    transport_mode: TransportMode = "road"
    demand_coverage: float | None = None


@dataclass(frozen=True, slots=True)
class PriceBand:
    """Transfer prices (EUR per display unit, at the supplier's gate) at which both sides beat their alternative.

    low: the supplier's floor (negative: it can pay up to that much, its avoided disposal cost);
    high: the receiver's ceiling (its avoided purchase and carbon, less the link's annualised costs).
    """

    low: float
    high: float
    unit: str
    note: str | None = None

    def as_tuple(self) -> tuple[float, float, str]:
        return (self.low, self.high, self.unit)


@dataclass(frozen=True, slots=True)
class Risk:
    level: RiskLevel
    reasons: tuple[str, ...]

    def as_tuple(self) -> tuple[RiskLevel, list[str]]:
        return (self.level, list(self.reasons))


@dataclass(frozen=True, slots=True)
class TornadoBar:
    """NPV with one input at its low and at its high value, the others at their base values."""

    name: str
    npv_low: float
    npv_high: float

    @property
    def swing(self) -> float:
        return abs(self.npv_high - self.npv_low)

    def as_tuple(self) -> tuple[str, float, float]:
        return (self.name, self.npv_low, self.npv_high)


def _clean(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True, slots=True)
class BusinessCase:
    """A first-order business case of one exchange (both partners together, before the transfer price).

    Money in EUR (real terms), quantities per year. Anything that cannot be computed is None, never made up;
    `notes` say why, `assumptions` list every number used as (name, value, unit, source id).
    """

    computable: bool
    npv_eur: float | None = None
    irr: float | None = None
    payback_years: float | None = None
    discounted_payback_years: float | None = None
    roi: float | None = None
    levelised_cost_eur_per_unit: float | None = None  # per display unit delivered
    levelised_cost_unit: str | None = None
    capex_eur: float | None = None
    opex_eur_per_year: float | None = None
    benefit_eur_per_year: float | None = None
    co2_avoided_t_per_year: float | None = None
    delivered_quantity: float | None = None  # SI per year, after losses (and heat pump lift)
    npv_p10: float | None = None
    npv_p50: float | None = None
    npv_p90: float | None = None
    co2_p10: float | None = None
    co2_p90: float | None = None
    tornado: tuple[TornadoBar, ...] = ()
    price_band: PriceBand | None = None
    price_band_reason: str | None = None
    risk: dict[str, Risk] = field(default_factory=dict)
    breakdown: dict[str, float] = field(default_factory=dict)
    heat_pump: bool = False
    assumptions: tuple[tuple[str, float, str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def as_contract(self) -> dict[str, float | None]:
        """The `economics` block of `turash match` (shared/contract/cli.md): null where not computable."""
        return {
            "npv_eur": _round(self.npv_eur, 0),
            "payback_years": _round(self.payback_years, 2),
            "irr": _round(self.irr, 4),
            "co2_avoided_t_per_year": _round(self.co2_avoided_t_per_year, 1),
        }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the whole case, for the REST route and the export."""
        return {
            "computable": self.computable,
            "npv_eur": _clean(self.npv_eur),
            "irr": _clean(self.irr),
            "payback_years": _clean(self.payback_years),
            "discounted_payback_years": _clean(self.discounted_payback_years),
            "roi": _clean(self.roi),
            "levelised_cost": {"value": _clean(self.levelised_cost_eur_per_unit), "unit": self.levelised_cost_unit},
            "capex_eur": _clean(self.capex_eur),
            "opex_eur_per_year": _clean(self.opex_eur_per_year),
            "benefit_eur_per_year": _clean(self.benefit_eur_per_year),
            "co2_avoided_t_per_year": _clean(self.co2_avoided_t_per_year),
            "npv_range": {"p10": _clean(self.npv_p10), "p50": _clean(self.npv_p50), "p90": _clean(self.npv_p90)},
            "co2_range": {"p10": _clean(self.co2_p10), "p90": _clean(self.co2_p90)},
            "tornado": [{"input": t.name, "npv_low": t.npv_low, "npv_high": t.npv_high} for t in self.tornado],
            "price_band": None
            if self.price_band is None
            else {
                "low": self.price_band.low,
                "high": self.price_band.high,
                "unit": self.price_band.unit,
                "note": self.price_band.note,
            },
            "price_band_reason": self.price_band_reason,
            "risk": {k: {"level": r.level, "reasons": list(r.reasons)} for k, r in self.risk.items()},
            "breakdown": {k: _clean(v) for k, v in self.breakdown.items()},
            "heat_pump": self.heat_pump,
            "assumptions": [{"name": n, "value": v, "unit": u, "source": s} for n, v, u, s in self.assumptions],
            "notes": list(self.notes),
        }


def _round(value: float | None, digits: int) -> float | None:
    v = _clean(value)
    return None if v is None else round(v, digits)
