"""Every number the scorers assume, in one place, with where it comes from.

These are first-order European averages for ranking candidates, not prices for a deal: the economics module
will replace the economic ones with site-specific figures (NPV, IRR, payback) for the matches it prices.
Units are SI per base unit of the quantity's family: EUR/kg (mass), EUR/J (energy), EUR/m3 (volume).
"""

from __future__ import annotations

from turash.matching.engine.types import Category, Precision, QuantityKind

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

# --- economic value per base unit ---------------------------------------------------------------------------
# What the receiver would otherwise pay for the resource, when the demand states no price.
# Energy: 45 EUR/MWh, heat from a natural-gas boiler at ~35 EUR/MWh gas (Eurostat nrg_pc_203, non-household
#   band I3, 2019-2024 range 25-80 EUR/MWh) over ~0.9 boiler efficiency.
# Mass: 30 EUR/t, secondary raw materials (fly ash, gypsum, slag, aggregates: 10-50 EUR/t; EU Raw Materials
#   Information System market notes). Steam: 25 EUR/t (~0.7 MWh per tonne at the energy price above).
#   CO2 and other gases by mass: 50 EUR/t (merchant food-grade CO2 is 50-150 EUR/t).
# Volume: 1.5 EUR/m3, industrial water supply tariffs (EEA, "Water pricing in Europe", 2-3 EUR/m3 incl.
#   wastewater; supply alone ~1-2 EUR/m3).
DEFAULT_PURCHASE_VALUE = {FAMILY_MASS: 0.030, FAMILY_ENERGY: 45.0 / J_PER_MWH, FAMILY_VOLUME: 1.5}
CATEGORY_PURCHASE_VALUE = {
    (Category.STEAM, FAMILY_MASS): 0.025,
    (Category.GAS, FAMILY_MASS): 0.050,
}
# What the supplier would otherwise pay to get rid of it, when the supply states no gate fee.
# Mass (material): 80 EUR/t, landfill gate fee plus landfill tax (EEA, "Economic instruments and separate
#   collection systems", 2023: typical total 50-150 EUR/t). Volume (water): 1.0 EUR/m3 wastewater charge.
# Heat, steam, energy and gases are released at no charge (cooling costs ignored).
DEFAULT_DISPOSAL_COST = {
    (Category.MATERIAL, FAMILY_MASS): 0.080,
    (Category.WATER, FAMILY_VOLUME): 1.0,
}

# --- transport ------------------------------------------------------------------------------------------------
# Truck: 0.10 EUR per tonne-km for bulk road freight (EU average 0.08-0.15 EUR/t·km incl. loading, e.g.
#   European Commission, "Handbook on the external costs of transport" 2019 and operator tariffs);
#   liquids by tanker at 0.10 EUR per m3-km (water ~1 t/m3). Energy does not travel by truck: its cost is
#   set so high that the economic score is 0 unless the two sites are the same.
TRUCK_EUR_PER_UNIT_KM = {FAMILY_MASS: 0.10 / 1000.0, FAMILY_VOLUME: 0.10, FAMILY_ENERGY: 1.0}
# Pipe: investment per km annualised with a capital recovery factor (6 %, 30 years -> 0.0726) plus 1 %/yr O&M.
#   Heat (district heating transmission, DN 200-400): 1.0 MEUR/km (Persson & Werner 2011, "Heat distribution
#   and the future competitiveness of district heating", Appl. Energy 88; Heat Roadmap Europe 2017);
#   steam 1.5 MEUR/km; water 0.5 MEUR/km; gas (small CO2/H2 line) 0.8 MEUR/km; electricity (MV cable) 0.3 MEUR/km.
ANNUITY_PLUS_OM = 0.0726 + 0.01
PIPE_EUR_PER_KM_YEAR = {
    Category.HEAT: 1.0e6 * ANNUITY_PLUS_OM,
    Category.STEAM: 1.5e6 * ANNUITY_PLUS_OM,
    Category.WATER: 0.5e6 * ANNUITY_PLUS_OM,
    Category.GAS: 0.8e6 * ANNUITY_PLUS_OM,
    Category.ENERGY: 0.3e6 * ANNUITY_PLUS_OM,
}
# Categories moved by pipe; the rest (material, service) by truck.
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
