"""Explain a match: its sub-scores and reasons in structured form, and one paragraph of plain English.

`explain(index, result, i, params)` rebuilds the facts behind row i of a `MatchResult` from the index (the
flows' own values, the rules that applied, the relaxations used); `render(explanation)` writes e.g.
"Supplies 85 °C heat, 10 K above the 75 °C the demand needs plus a 10 K approach; covers 100 % of the demand;
2.3 km apart; both run Oct–Apr; measured data on both sides."
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from turash.matching.engine.features import POPCOUNT12
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.types import (
    ALL_YEAR,
    SCORE_NAMES,
    Category,
    MatchParams,
    MatchResult,
    Precision,
    Reason,
    Relaxation,
)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Explanation:
    supply_key: int
    demand_key: int
    score: float
    scores: dict[str, float]
    category: str
    distance_km: float
    radius_km: float
    class_fit: float
    supply_temperature_c: float | None
    demand_temperature_c: float | None
    approach_dt_k: float | None
    temperature_margin_k: float | None
    coverage: float | None  # supply / demand, yearly amounts
    supply_months: str
    demand_months: str
    common_months: str
    supply_weekly_hours: float
    demand_weekly_hours: float
    supply_precision: str
    demand_precision: str
    supply_inferred: bool
    demand_inferred: bool
    relaxations: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def months_text(mask: int) -> str:
    """'all year', 'Oct–Apr', 'Jan, Mar' or 'none' for a 12-bit month mask."""
    mask &= ALL_YEAR
    if mask == ALL_YEAR:
        return "all year"
    if mask == 0:
        return "none"
    on = [bool(mask >> m & 1) for m in range(12)]
    # one cyclic run? find its start: a set month whose predecessor is clear
    starts = [m for m in range(12) if on[m] and not on[(m - 1) % 12]]
    if len(starts) == 1:
        start = starts[0]
        length = int(POPCOUNT12[mask])
        end = (start + length - 1) % 12
        return MONTHS[start] if length == 1 else f"{MONTHS[start]}–{MONTHS[end]}"
    return ", ".join(MONTHS[m] for m in range(12) if on[m])


def _opt(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def explain(index: MatchIndex, result: MatchResult, i: int, params: MatchParams | None = None) -> Explanation:
    """The facts behind row i of `result` (computed by `match_all` or `match_one` on `index`).

    For `match_one` results the query side is not in the index: pass the index the query was added to, or use
    the structured fields of the result only."""
    p = params or MatchParams()
    fl = index.flows
    s = int(result.supply_row[i])
    d = int(result.demand_row[i])
    if s < 0 or d < 0:
        raise ValueError("explain needs both flows in the index (an ad-hoc query row is -1)")
    cat = int(fl.category[s])
    heat = cat in (Category.HEAT, Category.STEAM)
    relax = Relaxation(int(result.relaxation[i]))
    reasons = Reason(int(result.reasons[i]))
    ms, md = int(fl.month_mask[s]), int(fl.month_mask[d])
    return Explanation(
        supply_key=int(result.supply_key[i]),
        demand_key=int(result.demand_key[i]),
        score=float(result.score[i]),
        scores=result.scores_dict(i),
        category=Category(cat).name.lower(),
        distance_km=float(result.distance_km[i]),
        radius_km=float(p.effective_radius_km()[cat]),
        class_fit=float(result.fit[i]),
        supply_temperature_c=_opt(fl.temperature_c[s]),
        demand_temperature_c=_opt(fl.temperature_c[d]),
        approach_dt_k=p.approach_dt_k if heat else None,
        temperature_margin_k=_opt(float(result.temperature_margin_k[i])),
        coverage=_opt(float(result.coverage[i])),
        supply_months=months_text(ms),
        demand_months=months_text(md),
        common_months=months_text(ms & md),
        supply_weekly_hours=float(fl.weekly_hours[s]),
        demand_weekly_hours=float(fl.weekly_hours[d]),
        supply_precision=Precision(int(fl.precision[s])).name.lower(),
        demand_precision=Precision(int(fl.precision[d])).name.lower(),
        supply_inferred=bool(fl.inferred[s]),
        demand_inferred=bool(fl.inferred[d]),
        relaxations=[str(r.name).lower() for r in Relaxation if r and r in relax],
        reasons=[str(r.name).lower() for r in Reason if r and r in reasons],
    )


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.1f}"


def render(e: Explanation) -> str:
    """One paragraph of plain English."""
    parts: list[str] = []
    if e.supply_temperature_c is not None and e.demand_temperature_c is not None and e.approach_dt_k is not None:
        margin = e.supply_temperature_c - e.demand_temperature_c
        if margin >= 0:
            parts.append(
                f"Supplies {_num(e.supply_temperature_c)} °C {e.category}, {_num(margin)} K above the "
                f"{_num(e.demand_temperature_c)} °C the demand needs (approach {_num(e.approach_dt_k)} K)"
            )
        else:
            parts.append(
                f"Supplies {_num(e.supply_temperature_c)} °C {e.category}, {_num(-margin)} K below the "
                f"{_num(e.demand_temperature_c)} °C the demand needs"
            )
    elif e.supply_temperature_c is not None:
        parts.append(f"Supplies {e.category} at {_num(e.supply_temperature_c)} °C")
    else:
        parts.append(
            f"Supplies {e.category}" + (" (temperature unknown)" if "temperature_unknown" in e.reasons else "")
        )
    if e.class_fit < 0.999:
        parts.append(f"resource fit {e.class_fit:.0%}")
    if e.coverage is None:
        parts.append("quantities not comparable (unknown)")
    elif e.coverage >= 1:
        extra = f", {e.coverage:.1f}× what is needed" if e.coverage >= 2 else ""
        parts.append(f"covers 100 % of the demand{extra}")
    else:
        parts.append(f"covers {e.coverage:.0%} of the demand")
    parts.append(f"{e.distance_km:.1f} km apart (radius {_num(e.radius_km)} km)")
    if e.supply_months == e.demand_months:
        parts.append("both run " + e.supply_months)
    else:
        parts.append(f"available {e.supply_months}, needed {e.demand_months} (common: {e.common_months})")
    if e.supply_weekly_hours < e.demand_weekly_hours - 1e-6:
        parts.append(f"supply runs {e.supply_weekly_hours:.0%} of the week vs {e.demand_weekly_hours:.0%} needed")
    if e.supply_precision == e.demand_precision:
        parts.append(f"{e.supply_precision} data on both sides")
    else:
        parts.append(f"{e.supply_precision} supply data, {e.demand_precision} demand data")
    if e.supply_inferred or e.demand_inferred:
        parts.append("includes a flow inferred from the site's sector")
    if "needs_treatment" in e.reasons:
        parts.append("needs treatment before use")
    if "not_viable" in e.reasons:
        parts.append("transport would cost more than the resource is worth")
    for r, text in (
        ("radius", "found only by widening the search radius"),
        ("heat_pump", "needs a heat pump to reach the required temperature"),
        ("treatment", "purity below the minimum: needs treatment"),
        ("pressure", "pressure below the minimum: needs compression"),
        ("partial_quantity", "covers only part of the demand"),
    ):
        if r in e.relaxations:
            parts.append(text)
    weakest = min(SCORE_NAMES, key=lambda n: e.scores[n])
    parts.append(f"score {e.score:.2f} (weakest: {weakest} {e.scores[weakest]:.2f})")
    return "; ".join(parts) + "."
