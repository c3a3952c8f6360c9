"""Every number the scorers assume, in one place, with where it comes from.

The economic ones come from the economics module (its parameters and cost formulas, reduced to a few numbers per
category); the business case of a match then prices it in full (NPV, IRR, payback).
Units are SI per base unit of the quantity's family: EUR/kg (mass), EUR/J (energy), EUR/m3 (volume).
"""

from __future__ import annotations

import structlog

from turash.economics.assumptions import EU, Assumptions, EconomicsDataError, get_data
from turash.economics.screening import Screening, screening
from turash.matching.engine.types import Category, Precision, QuantityKind

log = structlog.get_logger(__name__)
SECONDS_PER_YEAR = 365.25 * 24 * 3600.0
J_PER_MWH = 3.6e9

# Quantity families: rates and yearly amounts of the same family are compared on a yearly basis.
FAMILY_MASS, FAMILY_ENERGY, FAMILY_VOLUME = 0, 1, 2
KIND_FAMILY = {
    QuantityKind.MASS_RATE: FAMILY_MASS,
    QuantityKind.POWER: FAMILY_ENERGY,
    QuantityKind.VOLUME_RATE: FAMILY_VOLUME,
    QuantityKind.MASS: FAMILY_MASS,
    QuantityKind.ENERGY: FAMILY_ENERGY,
    QuantityKind.VOLUME: FAMILY_VOLUME,
}
RATE_KINDS = (QuantityKind.MASS_RATE, QuantityKind.POWER, QuantityKind.VOLUME_RATE)

# --- trust -------------------------------------------------------------------------------------------------
# Share of trust by data precision; an inferred flow (estimated from the site's sector) is further discounted.
# Judgement calls, chosen so that two measured flows score 1 and two rough ones 0.5 (geometric mean).
PRECISION_TRUST = {Precision.ROUGH: 0.5, Precision.ESTIMATED: 0.75, Precision.MEASURED: 1.0}
INFERRED_TRUST = 0.6


# --- economic value per base unit, and transport --------------------------------------------------------------
# Derived from the economics module's parameters and cost formulas (turash/economics/screening.py: the same
# gas, power, water, CO2 and material prices, landfill charges, road haulage and the district-heating pipe cost
# curve C = C1 + C2·d of Persson & Werner 2011 that the business case uses), for the EU defaults and the operator's
# settings (TURASH_ECONOMICS_FILE) as they are when the process starts.
# Value the receiver avoids (when the demand states no price) and the supplier avoids (when the supply states no
# gate fee), EUR per base unit; truck EUR per unit·km plus handling per unit; pipe EUR per km·year = A + B·√Q for a
# yearly amount Q (the bore that carries Q grows with √Q).
def _screening() -> Screening:
    """The screening figures; with a broken operator settings file the built-in defaults (the business case of a
    match then reports the file's problem, with its keys, instead of every import of the engine failing)."""
    try:
        return screening()
    except EconomicsDataError as exc:
        log.warning("economics_settings_unusable", error=exc.message, fallback="built-in defaults")
        return screening(Assumptions(EU, dict(get_data().params)))


_SCREEN = _screening()
_FAMILY_NAME = {FAMILY_MASS: "mass", FAMILY_ENERGY: "energy", FAMILY_VOLUME: "volume"}
_CATEGORY_NAME = {c: c.name.lower() for c in Category}
# The purchase value of a family when the category has no entry of its own (e.g. a material given as volume).
DEFAULT_PURCHASE_VALUE = {
    FAMILY_MASS: _SCREEN.purchase[("material", "mass")],
    FAMILY_ENERGY: _SCREEN.purchase[("heat", "energy")],
    FAMILY_VOLUME: _SCREEN.purchase[("water", "volume")],
}
CATEGORY_PURCHASE_VALUE = {
    (c, f): _SCREEN.purchase[(_CATEGORY_NAME[c], name)]
    for c in Category
    for f, name in _FAMILY_NAME.items()
    if (_CATEGORY_NAME[c], name) in _SCREEN.purchase
}
DEFAULT_DISPOSAL_COST = {
    (c, f): _SCREEN.disposal[(_CATEGORY_NAME[c], name)]
    for c in Category
    for f, name in _FAMILY_NAME.items()
    if (_CATEGORY_NAME[c], name) in _SCREEN.disposal
}
TRUCK_EUR_PER_UNIT_KM = {f: _SCREEN.truck_per_km[name] for f, name in _FAMILY_NAME.items()}
TRUCK_EUR_PER_UNIT = {f: _SCREEN.truck_fixed[name] for f, name in _FAMILY_NAME.items()}
PIPE_EUR_PER_KM_YEAR = {
    c: _SCREEN.pipe_fixed[_CATEGORY_NAME[c]] for c in Category if _CATEGORY_NAME[c] in _SCREEN.pipe_fixed
}
PIPE_SQRT_EUR_PER_KM_YEAR = {
    (c, f): _SCREEN.pipe_sqrt[(_CATEGORY_NAME[c], name)]
    for c in Category
    for f, name in _FAMILY_NAME.items()
    if (_CATEGORY_NAME[c], name) in _SCREEN.pipe_sqrt
}
# Categories moved by pipe (or cable); the rest (material, service) by truck.
PIPE_CATEGORIES = frozenset(PIPE_EUR_PER_KM_YEAR)

# --- quality ---------------------------------------------------------------------------------------------------
# Heat supplied up to this many K above the need (after the approach ΔT) is a full fit; beyond, high-grade
# heat is spent on a low-grade use (exergy loss) and the fit falls linearly to QUALITY_HOT_FLOOR at +200 K.
QUALITY_TEMP_FREE_K = 30.0
QUALITY_TEMP_SPAN_K = 170.0
QUALITY_HOT_FLOOR = 0.7
QUALITY_NEEDS_TREATMENT = 0.8  # the catalogue says the pair needs treatment
QUALITY_RELAXED_TREATMENT = 0.6  # fallback: purity below the minimum
QUALITY_RELAXED_PRESSURE = 0.8  # fallback: pressure below the minimum
QUALITY_HEAT_PUMP_MAX = 0.5  # fallback: a heat pump lift scores 0.5 at 0 K lift down to 0.05 at the maximum lift

# --- quantity --------------------------------------------------------------------------------------------------
# Below the demand, the score is the share covered; above, it falls by this much per decade of surplus,
# never below the floor: an oversized supply still serves the demand, an undersized one does not.
QUANTITY_OVERSIZE_PER_DECADE = 0.1
QUANTITY_OVERSIZE_FLOOR = 0.6
NEUTRAL_SCORE = 0.5  # a scorer that cannot tell (unknown quantity, price, ...) neither helps nor hurts

# --- temporal --------------------------------------------------------------------------------------------------
HORIZON_DAYS = 3650  # an open-ended demand is judged over ten years

# --- distance --------------------------------------------------------------------------------------------------
# exp(-DISTANCE_DECAY · d / r): 1 on site, 0.37 at half the category radius, 0.14 at the radius.
DISTANCE_DECAY = 2.0
