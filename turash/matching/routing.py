"""After scoring: the constraint checker (business rules and regulation, each named) and the hybrid router
(automated vs facilitated, with its reasons).

Regulation referenced: Waste Framework Directive 2008/98/EC (art. 5 by-products, art. 6 end-of-waste, art. 15
responsibility and art. 35 record keeping for waste handed over, art. 17-18 hazardous waste: no mixing, permit
and traceability); Waste Shipment Regulation (EU) 2024/1157 (cross-border shipments: prior notification for
hazardous and mixed waste, Annex VII information for green-listed waste); EU end-of-waste regulations 333/2011
(iron, steel and aluminium scrap), 1179/2012 (glass cullet), 715/2013 (copper scrap).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from turash.matching.engine import SCORE_NAMES, MatchResult, Reason, Relaxation
from turash.matching.repository import LoadedFlows
from turash.models.flow import CATEGORIES

# Classes with EU end-of-waste criteria: once the criteria are met they are products, not waste.
END_OF_WASTE = {
    "ferrous_scrap": "Regulation (EU) 333/2011",
    "stainless_scrap": "Regulation (EU) 333/2011",
    "aluminium_scrap": "Regulation (EU) 333/2011",
    "glass_cullet": "Regulation (EU) 1179/2012",
    "container_glass_cullet": "Regulation (EU) 1179/2012",
    "flat_glass_cullet": "Regulation (EU) 1179/2012",
    "copper_scrap": "Regulation (EU) 715/2013",
}
PIPED = {"heat", "steam", "water", "gas"}
# Beyond these distances a pipe is a capital project (DN100-200 district-heating pipe costs roughly
# 0.5-1.5 M EUR/km installed, Danish Energy Agency technology data for district heating): route to a facilitator.
LARGE_CAPEX_KM = {"heat": 3.0, "steam": 1.0, "water": 5.0, "gas": 3.0}
_EQUIPMENT = Relaxation.HEAT_PUMP | Relaxation.TREATMENT | Relaxation.PRESSURE


@lru_cache(maxsize=256)
def relaxation_names(bits: int) -> tuple[str, ...]:
    return tuple(str(r.name).lower() for r in Relaxation if r and r & bits)


@dataclass
class PairColumns:
    """Everything the rules and the texts read, one entry per match (numpy arrays or lists)."""

    s: np.ndarray[Any, Any]  # supply key (index into info)
    d: np.ndarray[Any, Any]
    srow: np.ndarray[Any, Any]  # engine rows
    drow: np.ndarray[Any, Any]
    category: np.ndarray[Any, Any]
    distance: np.ndarray[Any, Any]
    trust: np.ndarray[Any, Any]
    relax: np.ndarray[Any, Any]
    reasons: np.ndarray[Any, Any]
    hazardous: np.ndarray[Any, Any]
    permitted: np.ndarray[Any, Any]


def pair_columns(index: Any, result: MatchResult, rows: np.ndarray[Any, Any]) -> PairColumns:
    fl = index.flows
    srow, drow = result.supply_row[rows], result.demand_row[rows]
    return PairColumns(
        s=result.supply_key[rows],
        d=result.demand_key[rows],
        srow=srow,
        drow=drow,
        category=fl.category[srow],
        distance=result.distance_km[rows],
        trust=result.sub_scores[rows, SCORE_NAMES.index("trust")],
        relax=result.relaxation[rows],
        reasons=result.reasons[rows],
        hazardous=fl.hazardous[srow],
        permitted=fl.hazard_permit[drow],
    )


def rules(
    flows: LoadedFlows, pc: PairColumns, org_attributes: dict[str, dict[str, Any]]
) -> tuple[np.ndarray[Any, Any], dict[int, list[dict[str, str]]], list[str], dict[int, list[str]]]:
    """The constraint checker and the hybrid router over all matches, column-wise: (allowed, checks by match,
    route per match, route reasons by match). Matches with no check or no reason are absent from the dicts."""
    n = pc.s.shape[0]
    info, facts = flows.info, flows.facts
    ewc = facts.has_ewc[pc.s]
    eow = facts.end_of_waste[pc.s]
    cs, cd = facts.country[pc.s], facts.country[pc.d]
    cross = (cs >= 0) & (cd >= 0) & (cs != cd)
    allowed = ~(pc.hazardous & ~pc.permitted)
    checks: dict[int, list[dict[str, str]]] = {}
    for i, rule in _business_blocks(flows, pc, org_attributes):
        allowed[i] = False
        checks.setdefault(i, []).append(rule)
    for i in np.flatnonzero(pc.hazardous).tolist():
        checks.setdefault(i, []).append(_HAZARD_PASS if pc.permitted[i] else _HAZARD_FAIL)
    for i in np.flatnonzero(ewc & ~eow).tolist():
        checks.setdefault(i, []).append(_waste_status(info[int(pc.s[i])].ewc_code or ""))
    for i in np.flatnonzero(eow).tolist():
        checks.setdefault(i, []).append(_end_of_waste(info[int(pc.s[i])].resource_class or ""))
    shipment = ewc & cross
    for i in np.flatnonzero(shipment).tolist():
        kind = "prior written notification and consent" if pc.hazardous[i] else "Annex VII information document"
        a, b = info[int(pc.s[i])].country, info[int(pc.d[i])].country
        checks.setdefault(i, []).append(
            {
                "rule": "waste_shipment",
                "status": "warn",
                "detail": f"cross-border waste shipment {a}→{b}: {kind} (Regulation (EU) 2024/1157)",
            }
        )
    # Router: the reasons that make an exchange a facilitator's job.
    limit = np.array([LARGE_CAPEX_KM.get(c, math.inf) if c in PIPED else math.inf for c in CATEGORIES])
    capex = pc.distance > limit[pc.category]
    equipment = (pc.relax & int(_EQUIPMENT)) != 0
    treatment = ~equipment & ((pc.reasons & int(Reason.NEEDS_TREATMENT)) != 0)
    low_trust = pc.trust < 0.35
    flagged = np.flatnonzero(pc.hazardous | capex | equipment | treatment | low_trust | shipment).tolist()
    route = ["automated"] * n
    reasons: dict[int, list[str]] = {}
    for i in flagged:
        why = reasons[i] = []
        if pc.hazardous[i]:
            why.append("hazardous waste")
        if capex[i]:
            why.append(f"large capital project: {float(pc.distance[i]):.1f} km of {CATEGORIES[pc.category[i]]} pipe")
        if equipment[i]:
            names = [
                r.replace("_", " ")
                for r in relaxation_names(int(pc.relax[i]))
                if r != "radius" and r != "partial_quantity"
            ]
            why.append("needs equipment or a third party (" + ", ".join(names) + ")")
        if treatment[i]:
            why.append("needs treatment before use (a third party)")
        if low_trust[i]:
            why.append("low trust in the data (rough or inferred figures)")
        if shipment[i]:
            why.append("cross-border waste shipment")
        route[i] = "facilitated"
    return allowed, checks, route, reasons


_HAZARD_PASS = {
    "rule": "hazardous_waste_permit",
    "status": "pass",
    "detail": "hazardous waste to a permitted receiver (2008/98/EC art. 17-18: no mixing, consignment notes)",
}
_HAZARD_FAIL = {
    "rule": "hazardous_waste_permit",
    "status": "fail",
    "detail": "the receiver holds no hazardous-waste permit",
}


@lru_cache(maxsize=1024)
def _waste_status(code: str) -> dict[str, str]:
    return {
        "rule": "waste_status",
        "status": "warn",
        "detail": f"declared as waste (EWC {code}): the receiver needs a permit or registration to accept it "
        "unless it qualifies as a by-product (2008/98/EC art. 5)",
    }


@lru_cache(maxsize=64)
def _end_of_waste(resource_class: str) -> dict[str, str]:
    return {
        "rule": "end_of_waste",
        "status": "pass",
        "detail": f"end-of-waste criteria exist ({END_OF_WASTE[resource_class]}): a product once met",
    }


def _names(attributes: dict[str, Any], key: str) -> set[str]:
    value = attributes.get(key) or []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    return {" ".join(str(v).casefold().split()) for v in value if str(v).strip()}


def _business_blocks(
    flows: LoadedFlows, pc: PairColumns, org_attributes: dict[str, dict[str, Any]]
) -> list[tuple[int, dict[str, str]]]:
    """Pairs that a side's business rules exclude (organisation attributes `excluded_partners`, `competitors`)."""
    rules: dict[str, tuple[set[str], set[str]]] = {}
    info = flows.info
    # the organisations of a few pairs (a query), or every organisation (a whole run)
    parties: Iterable[str] = (
        {info[k].organization_id for k in {*pc.s.tolist(), *pc.d.tolist()}}
        if 2 * pc.s.shape[0] < len(org_attributes)
        else org_attributes
    )
    for org_id in parties:
        attrs = org_attributes.get(org_id)
        if attrs and ("excluded_partners" in attrs or "competitors" in attrs):
            rules[org_id] = (_names(attrs, "excluded_partners"), _names(attrs, "competitors"))
    if not rules:
        return []
    facts = flows.facts
    with_rules = np.zeros(len(facts.org_ids), dtype=bool)
    for org_id in rules:
        if org_id in facts.org_codes:
            with_rules[facts.org_codes[org_id]] = True
    candidates = np.flatnonzero(with_rules[facts.org[pc.s]] | with_rules[facts.org[pc.d]]).tolist()
    out = []
    for i in candidates:
        a, b = info[int(pc.s[i])], info[int(pc.d[i])]
        for who, me, other in (("supplier", a, b), ("receiver", b, a)):
            if me.organization_id not in rules:
                continue
            excluded, competitors = rules[me.organization_id]
            key = " ".join(other.organization.casefold().split())
            if key in excluded:
                out.append(
                    (
                        i,
                        {
                            "rule": "excluded_partner",
                            "status": "fail",
                            "detail": f"the {who} excludes {other.organization}",
                        },
                    )
                )
            if key in competitors:
                out.append(
                    (
                        i,
                        {
                            "rule": "competitor",
                            "status": "fail",
                            "detail": f"the {who} lists {other.organization} as a competitor",
                        },
                    )
                )
    return out
