"""Units: one pint registry for the whole process, and the normalisation of flow quantities to SI.

A flow's quantity is kept as the user wrote it (`quantity`, `unit`) and normalised to SI base units
(`quantity_si`, `si_unit`) so that flows compare: t/yr → kg/s, GWh/yr and MW → W, m3/h → m3/s, t → kg, GJ → J.
Conversion factors are cached per unit text, so an import pays the pint parse once per distinct unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import pint

ureg: pint.UnitRegistry[float] = pint.UnitRegistry(cache_folder=None)
# Plant-manager spellings pint does not know. Sources: BIPM SI brochure (9th ed.) for the SI units; "normal cubic
# metre" (Nm3) is a gas volume at 0 °C and 1 atm (DIN 1343), kept as a volume here and flagged by the caller.
ureg.define("cubic_metre_alias = meter ** 3 = m3 = m³ = cbm")
ureg.define("normal_cubic_metre = meter ** 3 = Nm3 = Nm³ = nm3")
ureg.define("standard_cubic_metre = meter ** 3 = Sm3 = Sm³")
ureg.define("tonnes_per_annum = tonne / year = tpa = tpy")
ureg.define("tonnes_per_hour = tonne / hour = tph")
ureg.define("litre_alias = liter = L = ltr")


class QuantityKind(StrEnum):
    MASS = "mass"
    MASS_RATE = "mass_rate"
    VOLUME = "volume"
    VOLUME_RATE = "volume_rate"
    ENERGY = "energy"
    POWER = "power"


# dimensionality → (kind, SI base unit shown to users)
_KINDS: dict[str, tuple[QuantityKind, str]] = {
    str(ureg.kilogram.dimensionality): (QuantityKind.MASS, "kg"),
    str((ureg.kilogram / ureg.second).dimensionality): (QuantityKind.MASS_RATE, "kg/s"),
    str((ureg.meter**3).dimensionality): (QuantityKind.VOLUME, "m3"),
    str((ureg.meter**3 / ureg.second).dimensionality): (QuantityKind.VOLUME_RATE, "m3/s"),
    str(ureg.joule.dimensionality): (QuantityKind.ENERGY, "J"),
    str(ureg.watt.dimensionality): (QuantityKind.POWER, "W"),
}

# Lower-case spellings that would otherwise parse as milli-units ("mw" = milliwatt) or fail. In industry "mw" means
# megawatt; nobody lists a milliwatt of waste heat.
_CASE_FIXES = {
    "kw": "kW",
    "mw": "MW",
    "gw": "GW",
    "kwh": "kWh",
    "mwh": "MWh",
    "gwh": "GWh",
    "twh": "TWh",
    "mj": "MJ",
    "gj": "GJ",
    "tj": "TJ",
    "pj": "PJ",
    "kj": "kJ",
    "mwth": "MW",
    "mwt": "MW",
    "kwth": "kW",
    "gwth": "GW",
    "mwe": "MW",
    "kwe": "kW",
    "mwhth": "MWh",
    "gwhth": "GWh",
    "ton": "t",
    "tons": "t",
    "tonne": "t",
    "tonnes": "t",
    "tonnen": "t",
    "tonnes/yr": "t/yr",
    "y": "yr",
    "yr": "yr",
    "yrs": "yr",
    "year": "yr",
    "years": "yr",
    "annum": "yr",
    "p.a.": "yr",
    "d": "day",
    "day": "day",
    "days": "day",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hour": "hour",
    "wk": "week",
    "week": "week",
    "month": "month",
    "mo": "month",
}
_TOKEN = re.compile(r"[A-Za-z.³μµ°]+")


class UnitError(ValueError):
    """The unit text cannot be understood or does not describe an amount of a resource."""


@dataclass(frozen=True, slots=True)
class UnitInfo:
    kind: QuantityKind
    si_unit: str
    factor: float  # multiply a value in the given unit by this to get SI


@dataclass(frozen=True, slots=True)
class NormalisedQuantity:
    value: float
    unit: str
    kind: QuantityKind
    si_value: float
    si_unit: str


def _prepare(text: str) -> str:
    s = text.strip().replace("·", "*").replace("×", "*").replace("²", "**2").replace("³", "**3")
    s = re.sub(r"\s+per\s+", "/", s, flags=re.IGNORECASE)
    s = re.sub(r"\s*/\s*", "/", s)

    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        return _CASE_FIXES.get(token.lower(), token)

    s = _TOKEN.sub(fix, s)
    # "m**3" written by the replacements above must stay an exponent, and "Nm**3" the normal cubic metre.
    s = s.replace("Nm**3", "Nm3")
    return s


def prepare_unit_text(text: str) -> str:
    """The unit text as pint reads it: plant-manager spellings ("m3 per h", "mw", "m³") made explicit."""
    return _prepare(text)


@lru_cache(maxsize=4096)
def unit_info(text: str) -> UnitInfo:
    """Parse a unit; raise UnitError naming the unit when it is unknown or not an amount/rate of a resource."""
    if not text or not text.strip():
        raise UnitError("unit is empty")
    prepared = _prepare(text)
    try:
        quantity = ureg.Quantity(1.0, prepared)
    except (
        pint.errors.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        AttributeError,
        TypeError,
        ValueError,
        AssertionError,
        KeyError,
    ) as exc:
        raise UnitError(f"unknown unit {text!r}") from exc
    except Exception as exc:  # pint raises a few ad-hoc exception types on malformed expressions
        raise UnitError(f"unknown unit {text!r}") from exc
    dim = str(quantity.dimensionality)
    if dim not in _KINDS:
        raise UnitError(
            f"unit {text!r} measures {dim or 'nothing'}, not an amount of a resource; "
            "use a mass, volume or energy, or a rate of one (t/yr, m3/h, MW, GWh/yr)"
        )
    kind, si_unit = _KINDS[dim]
    factor = float(quantity.to_base_units().magnitude)
    if not math.isfinite(factor) or factor <= 0:
        raise UnitError(f"unit {text!r} has no usable conversion factor")
    return UnitInfo(kind=kind, si_unit=si_unit, factor=factor)


def normalise(value: float, unit: str) -> NormalisedQuantity:
    info = unit_info(unit)
    return NormalisedQuantity(
        value=value, unit=unit.strip(), kind=info.kind, si_value=value * info.factor, si_unit=info.si_unit
    )


def to_si(value: float, unit: str) -> float:
    return value * unit_info(unit).factor


def from_si(si_value: float, unit: str) -> float:
    return si_value / unit_info(unit).factor
