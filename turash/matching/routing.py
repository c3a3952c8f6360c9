"""After scoring: the constraint checker (business rules and regulation, each named) and the hybrid router
(automated vs facilitated, with its reasons).

Regulation referenced: Waste Framework Directive 2008/98/EC (art. 5 by-products, art. 6 end-of-waste, art. 15
responsibility and art. 35 record keeping for waste handed over, art. 17-18 hazardous waste: no mixing, permit
and traceability); Waste Shipment Regulation (EU) 2024/1157 (cross-border shipments: prior notification for
hazardous and mixed waste, Annex VII information for green-listed waste); EU end-of-waste regulations 333/2011
(iron, steel and aluminium scrap), 1179/2012 (glass cullet), 715/2013 (copper scrap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Check:
    rule: str
    status: str  # pass | warn | fail
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class PairFacts:
    """What the rules look at for one match."""

    category: str
    supply_class: str | None
    demand_class: str | None
    supply_org: str
    demand_org: str
    supply_org_attributes: dict[str, Any]
    demand_org_attributes: dict[str, Any]
    supply_country: str | None
    demand_country: str | None
    supply_ewc: str | None
    hazardous: bool
    receiver_permitted: bool
    distance_km: float
    trust: float
    inferred: bool
    relaxations: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    supply_quantity: float | None = None  # SI
    demand_min_quantity: float | None = None  # SI, from the demand's attributes


@dataclass
class Verdict:
    allowed: bool
    checks: list[Check] = field(default_factory=list)
    route: str = "automated"
    route_reasons: list[str] = field(default_factory=list)


def _names(attributes: dict[str, Any], key: str) -> set[str]:
    value = attributes.get(key) or []
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",")]
    return {" ".join(str(v).casefold().split()) for v in value if str(v).strip()}


def check(f: PairFacts) -> Verdict:
    checks: list[Check] = []
    # Business rules: each side may exclude partners or name competitors (organisation attributes).
    for who, attrs, other in (
        ("supplier", f.supply_org_attributes, f.demand_org),
        ("receiver", f.demand_org_attributes, f.supply_org),
    ):
        other_key = " ".join(other.casefold().split())
        if other_key in _names(attrs, "excluded_partners"):
            checks.append(Check("excluded_partner", "fail", f"the {who} excludes {other}"))
        if other_key in _names(attrs, "competitors"):
            checks.append(Check("competitor", "fail", f"the {who} lists {other} as a competitor"))
    if (
        f.demand_min_quantity is not None
        and f.supply_quantity is not None
        and f.supply_quantity < f.demand_min_quantity
    ):
        checks.append(Check("minimum_quantity", "fail", "the supply is below the receiver's minimum quantity"))
    # Regulation.
    if f.hazardous:
        if f.receiver_permitted:
            checks.append(
                Check(
                    "hazardous_waste_permit",
                    "pass",
                    "hazardous waste to a permitted receiver (2008/98/EC art. 17-18: no mixing, consignment notes)",
                )
            )
        else:  # the engine never pairs these; kept as a guard for ad-hoc queries
            checks.append(Check("hazardous_waste_permit", "fail", "the receiver holds no hazardous-waste permit"))
    if f.supply_ewc and f.supply_class not in END_OF_WASTE:
        checks.append(
            Check(
                "waste_status",
                "warn",
                f"declared as waste (EWC {f.supply_ewc}): the receiver needs a permit or registration "
                "to accept it unless it qualifies as a by-product (2008/98/EC art. 5)",
            )
        )
    elif f.supply_class in END_OF_WASTE:
        checks.append(
            Check(
                "end_of_waste",
                "pass",
                f"end-of-waste criteria exist ({END_OF_WASTE[f.supply_class]}): a product once met",
            )
        )
    if f.supply_ewc and f.supply_country and f.demand_country and f.supply_country != f.demand_country:
        kind = "prior written notification and consent" if f.hazardous else "Annex VII information document"
        checks.append(
            Check(
                "waste_shipment",
                "warn",
                f"cross-border waste shipment {f.supply_country}→{f.demand_country}: {kind} "
                "(Regulation (EU) 2024/1157)",
            )
        )
    allowed = not any(c.status == "fail" for c in checks)
    verdict = Verdict(allowed=allowed, checks=checks)
    route(f, verdict)
    return verdict


def route(f: PairFacts, verdict: Verdict) -> None:
    """Hybrid router: simple exchanges are automated; complex ones go to a facilitator, with the reasons.
    Calibrated to send roughly one match in five to facilitators on mixed regional data."""
    reasons: list[str] = []
    if f.hazardous:
        reasons.append("hazardous waste")
    if f.category in PIPED and f.distance_km > LARGE_CAPEX_KM[f.category]:
        reasons.append(f"large capital project: {f.distance_km:.1f} km of {f.category} pipe")
    if any(r in f.relaxations for r in ("heat_pump", "treatment", "pressure")):
        reasons.append(
            "needs equipment or a third party ("
            + ", ".join(r.replace("_", " ") for r in f.relaxations if r in ("heat_pump", "treatment", "pressure"))
            + ")"
        )
    elif "needs_treatment" in f.reasons:
        reasons.append("needs treatment before use (a third party)")
    if f.trust < 0.35:
        reasons.append("low trust in the data (rough or inferred figures)")
    if any(c.rule == "waste_shipment" for c in verdict.checks):
        reasons.append("cross-border waste shipment")
    verdict.route = "facilitated" if reasons else "automated"
    verdict.route_reasons = reasons
