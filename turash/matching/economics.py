"""From matches to business cases: the exchange each match implies, priced by turash.economics.

The exchanged quantity is the smaller of what the supplier has and what the receiver needs, per year; the
operating hours are the overlap of both schedules (months in common × the shorter week); prices, temperatures,
pressure, purity, hazard and data precision come from the flows; the receiver's country picks the price and
emission tables.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

import numpy as np

from turash.economics import BatchResult, ExchangeCase, evaluate_many
from turash.matching.engine import MatchResult, Precision, QuantityKind, Reason
from turash.matching.repository import LoadedFlows
from turash.models.flow import CATEGORIES

SECONDS_PER_YEAR = 365.25 * 86400  # the Julian year, as pint's `year` (turash.kit.units)
HOURS_PER_YEAR = 8760.0
# Engine quantity kinds → (economics kind, factor to a yearly amount).
_YEARLY = {
    int(QuantityKind.MASS_RATE): ("mass", SECONDS_PER_YEAR),
    int(QuantityKind.MASS): ("mass", 1.0),
    int(QuantityKind.POWER): ("energy", SECONDS_PER_YEAR),
    int(QuantityKind.ENERGY): ("energy", 1.0),
    int(QuantityKind.VOLUME_RATE): ("volume", SECONDS_PER_YEAR),
    int(QuantityKind.VOLUME): ("volume", 1.0),
}
_DEFAULT_KIND = {
    "heat": "energy",
    "steam": "energy",
    "energy": "energy",
    "water": "volume",
    "gas": "mass",
    "material": "mass",
    "service": "mass",
}
_PRECISION = {int(p): p.name.lower() for p in Precision}
_POPCOUNT = np.array([bin(m).count("1") for m in range(4096)], dtype=np.int16)


def _opt(value: float) -> float | None:
    return None if value != value else float(value)


def cases(
    index: Any, result: MatchResult, rows: np.ndarray[Any, Any], flows: LoadedFlows, class_ids: tuple[str, ...]
) -> list[ExchangeCase]:
    fl = index.flows
    srow, drow = result.supply_row[rows], result.demand_row[rows]
    compat = index.compat
    supply_class = compat.row_of_entry[result.class_pair[rows]].tolist()
    demand_class = compat.indices[result.class_pair[rows]].tolist()
    months = _POPCOUNT[fl.month_mask[srow] & fl.month_mask[drow]] / 12.0
    hours = (HOURS_PER_YEAR * months * np.minimum(fl.weekly_hours[srow], fl.weekly_hours[drow])).tolist()
    info = flows.info
    out = []
    for i, (s, d) in enumerate(zip(srow.tolist(), drow.tolist(), strict=True)):
        category = CATEGORIES[int(fl.category[s])]
        kind_s, kind_d = _YEARLY.get(int(fl.quantity_kind[s])), _YEARLY.get(int(fl.quantity_kind[d]))
        amounts = []
        kind = None
        for k, value in ((kind_s, fl.quantity[s]), (kind_d, fl.quantity[d])):
            if k is not None and value == value:
                if kind is None:
                    kind = k[0]
                if k[0] == kind:
                    amounts.append(float(value) * k[1])
        key_d = int(result.demand_key[rows[i]])
        coverage = float(result.coverage[rows[i]])
        out.append(
            ExchangeCase(
                category=category,  # type: ignore[arg-type]
                annual_quantity=min(amounts) if amounts else None,
                quantity_kind=kind or _DEFAULT_KIND[category],  # type: ignore[arg-type]
                distance_km=float(result.distance_km[rows[i]]),
                supply_class=class_ids[supply_class[i]],
                demand_class=class_ids[demand_class[i]],
                operating_hours=max(1.0, hours[i]),
                supply_temperature_c=_opt(fl.temperature_c[s]),
                demand_temperature_c=_opt(fl.temperature_c[d]),
                pressure_bar=_opt(fl.pressure_bar[s]),
                purity_pct=_opt(fl.purity_pct[s]),
                required_purity_pct=_opt(fl.purity_pct[d]),
                hazardous=bool(fl.hazardous[s]),
                needs_treatment=bool(int(result.reasons[rows[i]]) & int(Reason.NEEDS_TREATMENT)),
                country=info[key_d].country,
                supply_price_eur_per_unit=_opt(fl.price_eur[s]),
                demand_price_eur_per_unit=_opt(fl.price_eur[d]),
                supply_precision=_PRECISION[int(fl.precision[s])],  # type: ignore[arg-type]
                demand_precision=_PRECISION[int(fl.precision[d])],  # type: ignore[arg-type]
                inferred=bool(fl.inferred[s] or fl.inferred[d]),
                demand_coverage=None if coverage != coverage else min(1.0, coverage),
            )
        )
    return out


class _NoCases:
    """What `price` returns for no rows: no contracts, and empty columns under any name."""

    outputs: ClassVar[Any] = defaultdict(lambda: np.zeros(0))

    def contracts(self) -> list[dict[str, float | None]]:
        return []


def price(
    index: Any, result: MatchResult, rows: np.ndarray[Any, Any], flows: LoadedFlows, class_ids: tuple[str, ...]
) -> BatchResult | _NoCases:
    """Headline economics (NPV, IRR, payback, CO2 avoided...) of every match row, vectorised."""
    if rows.size == 0:
        return _NoCases()
    return evaluate_many(cases(index, result, rows, flows, class_ids))
