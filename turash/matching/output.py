"""Turning engine results into the contract's match objects, column-wise.

`turash match` on a region returns hundreds of thousands of matches; building each one's explanation, checks and
route with a Python call per match and per rule took tens of seconds at 100k flows. Here every per-match fact is
computed over arrays first (numpy), texts that depend on one side only are built once per flow, and the objects
are assembled in one pass. The same code serves one match (REST detail) and a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from turash.matching import economics
from turash.matching.engine import SCORE_NAMES, MatchParams, MatchResult, Precision, Reason, Relaxation, months_text
from turash.matching.repository import FlowInfo, LoadedFlows, match_id
from turash.matching.routing import PairColumns, pair_columns, relaxation_names, rules
from turash.models.flow import CATEGORIES

_RELAXATION_TEXT = (
    (Relaxation.RADIUS, "found only by widening the search radius"),
    (Relaxation.HEAT_PUMP, "needs a heat pump to reach the required temperature"),
    (Relaxation.TREATMENT, "purity below the minimum: needs treatment"),
    (Relaxation.PRESSURE, "pressure below the minimum: needs compression"),
    (Relaxation.PARTIAL_QUANTITY, "covers only part of the demand"),
)


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.1f}"


@lru_cache(maxsize=4096)
def _reason_names(bits: int) -> tuple[str, ...]:
    return tuple(str(r.name).lower() for r in Reason if r and r & bits)


@lru_cache(maxsize=4096)
def _tail(relax: int, reasons: int, inferred: bool) -> str:
    """The explanation's closing clauses, which depend only on flag bits."""
    parts = []
    if inferred:
        parts.append("includes a flow inferred from the site's sector")
    if reasons & Reason.NEEDS_TREATMENT:
        parts.append("needs treatment before use")
    if reasons & Reason.NOT_VIABLE:
        parts.append("transport would cost more than the resource is worth")
    parts += [text for bit, text in _RELAXATION_TEXT if relax & bit]
    return "".join(f"; {p}" for p in parts)


def _what(f: FlowInfo) -> str:
    name = f.resource_class_name
    return f.resource if not name or name.casefold() == f.resource.casefold() else f"{f.resource} ({name})"


def explanations(
    index: Any,
    result: MatchResult,
    rows: np.ndarray[Any, Any],
    pc: PairColumns,
    info: Sequence[FlowInfo],
    params: MatchParams,
    sector: np.ndarray[Any, Any],
    final: np.ndarray[Any, Any],
) -> list[str]:
    """One paragraph per match: who serves whom, temperature, coverage, distance, timing, data quality, flags,
    and the score with its weakest part."""
    fl = index.flows
    radius = params.effective_radius_km()
    temp = fl.temperature_c
    ts, td = temp[pc.srow], temp[pc.drow]
    heatlike = (pc.category == CATEGORIES.index("heat")) | (pc.category == CATEGORIES.index("steam"))
    coverage = result.coverage[rows]
    fit = result.fit[rows]
    ms, md = fl.month_mask[pc.srow], fl.month_mask[pc.drow]
    ws, wd = fl.weekly_hours[pc.srow], fl.weekly_hours[pc.drow]
    ps, pd = fl.precision[pc.srow], fl.precision[pc.drow]
    inferred = fl.inferred[pc.srow] | fl.inferred[pc.drow]
    subs = np.column_stack([result.sub_scores[rows], sector])
    names = (*SCORE_NAMES, "sector")
    weakest = np.argmin(subs, axis=1)
    heads: dict[int, str] = {}
    out = []
    month_text = lru_cache(maxsize=4096)(months_text)
    precision = [p.name.lower() for p in sorted(Precision)]
    for i in range(rows.shape[0]):
        s, d = int(pc.s[i]), int(pc.d[i])
        head = heads.get(s)
        if head is None:
            head = heads[s] = f"{_what(info[s])} from {info[s].organization} can serve "
        category = CATEGORIES[pc.category[i]]
        t_s, t_d = float(ts[i]), float(td[i])
        if heatlike[i] and t_s == t_s and t_d == t_d:
            margin = t_s - t_d
            side = "above" if margin >= 0 else "below"
            text = f"supplies {_num(t_s)} °C {category}, {_num(abs(margin))} K {side} the {_num(t_d)} °C needed" + (
                f" (approach {_num(params.approach_dt_k)} K)" if margin >= 0 else ""
            )
        elif t_s == t_s:
            text = f"supplies {category} at {_num(t_s)} °C"
        else:
            text = f"supplies {category}"
        if fit[i] < 0.999:
            text += f"; resource fit {float(fit[i]):.0%}"
        cov = float(coverage[i])
        if cov != cov:
            text += "; quantities not comparable (unknown)"
        elif cov >= 1:
            text += "; covers 100 % of the demand" + (f", {cov:.1f}× what is needed" if cov >= 2 else "")
        else:
            text += f"; covers {cov:.0%} of the demand"
        text += f"; {float(pc.distance[i]):.1f} km apart (radius {_num(float(radius[pc.category[i]]))} km)"
        a, b = int(ms[i]), int(md[i])
        text += (
            ("; both run " + month_text(a))
            if a == b
            else (f"; available {month_text(a)}, needed {month_text(b)} (common: {month_text(a & b)})")
        )
        if ws[i] < wd[i] - 1e-6:
            text += f"; supply runs {float(ws[i]):.0%} of the week vs {float(wd[i]):.0%} needed"
        p1, p2 = precision[ps[i]], precision[pd[i]]
        text += f"; {p1} data on both sides" if p1 == p2 else f"; {p1} supply data, {p2} demand data"
        text += _tail(int(pc.relax[i]), int(pc.reasons[i]), bool(inferred[i]))
        if inferred[i]:
            text += "".join(
                f"; the {side} side is inferred from {f.inferred_from}"
                for side, f in (("supply", info[s]), ("demand", info[d]))
                if f.inferred and f.inferred_from
            )
        w = int(weakest[i])
        out.append(
            f"{head}{_what(info[d])} at {info[d].organization}: {text}; score {float(final[i]):.2f} "
            f"(weakest: {names[w]} {float(subs[i, w]):.2f})."
        )
    return out


def build(
    index: Any,
    result: MatchResult,
    rows: np.ndarray[Any, Any],
    flows: LoadedFlows,
    org_attributes: dict[str, dict[str, Any]],
    params: MatchParams,
    sector: np.ndarray[Any, Any],
    final: np.ndarray[Any, Any],
    class_ids: tuple[str, ...],
    *,
    detail: bool = True,
) -> list[dict[str, Any]]:
    """Contract-shaped matches for result rows (in the given order); pairs a rule forbids are left out.
    `sector` and `final` are aligned with `rows`. With `detail`, routing, constraints and flags are included."""
    if rows.size == 0:
        return []
    info = flows.info
    pc = pair_columns(index, result, rows)
    allowed, checks, route, route_reasons = rules(flows, pc, org_attributes)
    texts = explanations(index, result, rows, pc, info, params, sector, final)
    priced = economics.price(index, result, rows[allowed], flows, class_ids)
    money = iter(priced.contracts())
    subs = np.round(result.sub_scores[rows].astype(np.float64), 4).tolist()
    sector_l = np.round(sector.astype(np.float64), 4).tolist()
    final_l = np.round(final.astype(np.float64), 4).tolist()
    dist_l = np.round(pc.distance.astype(np.float64), 3).tolist()
    sides: dict[int, dict[str, Any]] = {}

    def side(key: int) -> dict[str, Any]:
        value = sides.get(key)
        if value is None:
            f = info[key]
            value = sides[key] = {
                "organization": f.organization,
                "site": f.site,
                "flow_id": f.flow_id,
                "resource": f.resource if not f.inferred else (f.resource_class_name or f.resource),
                "resource_class": f.resource_class,
                "inferred": f.inferred,
            }
        return value

    out = []
    for i, (s, d) in enumerate(zip(pc.s.tolist(), pc.d.tolist(), strict=True)):
        if not allowed[i]:
            continue
        scores = dict(zip(SCORE_NAMES, subs[i], strict=True))
        scores["sector"] = sector_l[i]
        match = {
            "id": match_id(info[s].flow_id, info[d].flow_id),
            "supply": side(s),
            "demand": side(d),
            "score": final_l[i],
            "scores": scores,
            "distance_km": dist_l[i],
            "economics": next(money),
            "explanation": texts[i],
            "category": CATEGORIES[pc.category[i]],
            "route": route[i],
        }
        if detail:
            match.update(
                route_reasons=route_reasons.get(i, []),
                constraints=checks.get(i, []),
                relaxations=list(relaxation_names(int(pc.relax[i]))),
                reasons=list(_reason_names(int(pc.reasons[i]))),
            )
        out.append(match)
    return out
