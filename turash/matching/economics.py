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
from turash.economics.evaluate import CaseColumns
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


_KIND_NAMES = ("mass", "energy", "volume")
# per engine quantity kind: economics kind (index in _KIND_NAMES, -1 unknown) and the factor to a yearly amount
_KIND_OF = np.full(256, -1, dtype=np.int8)
_PER_YEAR = np.full(256, np.nan)
for _code, (_kind, _factor) in _YEARLY.items():
    _KIND_OF[_code], _PER_YEAR[_code] = _KIND_NAMES.index(_kind), _factor


def columns(
    index: Any, result: MatchResult, rows: np.ndarray[Any, Any], flows: LoadedFlows, class_ids: tuple[str, ...]
) -> CaseColumns:
    """The exchange of every match row, as columns for `evaluate_many` (no object per match)."""
    fl = index.flows
    srow, drow = result.supply_row[rows], result.demand_row[rows]
    compat = index.compat
    pair = result.class_pair[rows]
    categories = np.asarray(CATEGORIES, dtype=object)[fl.category[srow].astype(np.intp)].tolist()
    months = _POPCOUNT[fl.month_mask[srow] & fl.month_mask[drow]] / 12.0
    hours = np.maximum(1.0, HOURS_PER_YEAR * months * np.minimum(fl.weekly_hours[srow], fl.weekly_hours[drow]))
    # the smaller of both sides' yearly amounts, in the kind of the supply's (or else the demand's) quantity
    qk_s = fl.quantity_kind[srow].astype(np.uint8)
    qk_d = fl.quantity_kind[drow].astype(np.uint8)
    k_s, k_d = _KIND_OF[qk_s], _KIND_OF[qk_d]
    amount_s = fl.quantity[srow] * _PER_YEAR[qk_s]
    amount_d = fl.quantity[drow] * _PER_YEAR[qk_d]
    has_s = (k_s >= 0) & ~np.isnan(amount_s)
    has_d = (k_d >= 0) & ~np.isnan(amount_d)
    kind = np.where(has_s, k_s, np.where(has_d, k_d, -1))
    amount = np.fmin(np.where(has_s, amount_s, np.nan), np.where(has_d & (k_d == kind), amount_d, np.nan))
    names: list[Any] = [
        _KIND_NAMES[k] if k >= 0 else _DEFAULT_KIND[c] for k, c in zip(kind.tolist(), categories, strict=True)
    ]
    info = flows.info
    ids = np.asarray(class_ids, dtype=object)
    return CaseColumns(
        category=categories,
        quantity_kind=names,
        supply_class=ids[compat.row_of_entry[pair]].tolist(),
        demand_class=ids[compat.indices[pair]].tolist(),
        hazardous=fl.hazardous[srow].tolist(),
        country=[info[k].country for k in result.demand_key[rows].tolist()],
        transport_mode=["road"] * rows.size,
        annual_quantity=amount,
        distance_km=result.distance_km[rows].astype(np.float64),
        operating_hours=hours,
        peak_power_w=np.full(rows.size, np.nan),
        supply_temperature_c=fl.temperature_c[srow].astype(np.float64),
        demand_temperature_c=fl.temperature_c[drow].astype(np.float64),
        pressure_bar=fl.pressure_bar[srow].astype(np.float64),
        purity_pct=fl.purity_pct[srow].astype(np.float64),
        required_purity_pct=fl.purity_pct[drow].astype(np.float64),
        needs_treatment=(result.reasons[rows].astype(np.int64) & int(Reason.NEEDS_TREATMENT)) != 0,
        supply_price_eur_per_unit=fl.price_eur[srow].astype(np.float64),
        demand_price_eur_per_unit=fl.price_eur[drow].astype(np.float64),
    )


def _opt(value: float) -> float | None:
    return None if value != value else float(value)


def cases(
    index: Any, result: MatchResult, rows: np.ndarray[Any, Any], flows: LoadedFlows, class_ids: tuple[str, ...]
) -> list[ExchangeCase]:
    """The exchange of every match row as a full case (with data precision, inference and coverage, which the
    single business case's uncertainty and risk read): `columns` plus those."""
    c = columns(index, result, rows, flows, class_ids)
    fl = index.flows
    srow, drow = result.supply_row[rows].tolist(), result.demand_row[rows].tolist()
    out = []
    for i, (s, d) in enumerate(zip(srow, drow, strict=True)):
        coverage = float(result.coverage[rows[i]])
        out.append(
            ExchangeCase(
                category=c.category[i],
                annual_quantity=_opt(c.annual_quantity[i]),
                quantity_kind=c.quantity_kind[i],
                distance_km=float(c.distance_km[i]),
                supply_class=c.supply_class[i],
                demand_class=c.demand_class[i],
                operating_hours=float(c.operating_hours[i]),
                supply_temperature_c=_opt(c.supply_temperature_c[i]),
                demand_temperature_c=_opt(c.demand_temperature_c[i]),
                pressure_bar=_opt(c.pressure_bar[i]),
                purity_pct=_opt(c.purity_pct[i]),
                required_purity_pct=_opt(c.required_purity_pct[i]),
                hazardous=bool(c.hazardous[i]),
                needs_treatment=bool(c.needs_treatment[i]),
                country=c.country[i],
                supply_price_eur_per_unit=_opt(c.supply_price_eur_per_unit[i]),
                demand_price_eur_per_unit=_opt(c.demand_price_eur_per_unit[i]),
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

    def contracts(self) -> list[dict[str, Any]]:
        return []


def price(
    index: Any, result: MatchResult, rows: np.ndarray[Any, Any], flows: LoadedFlows, class_ids: tuple[str, ...]
) -> BatchResult | _NoCases:
    """Headline economics (NPV, IRR, payback, CO2 avoided...) of every match row, vectorised."""
    if rows.size == 0:
        return _NoCases()
    return evaluate_many(columns(index, result, rows, flows, class_ids))
