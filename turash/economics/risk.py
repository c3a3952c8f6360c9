"""Risk of an exchange in three dimensions (technical, market, regulatory): a level and the reasons for it.

Rules of thumb a facilitator would apply at screening; each reason says what to check. Thresholds are
engineering judgement (see the constants below); regulatory references are to EU law.
"""

from __future__ import annotations

from .model import RISK_LEVELS, ExchangeCase, Risk, RiskLevel

# Distances beyond which a link becomes a concern (km, straight line): (medium, high), engineering judgement.
DISTANCE_KM: dict[str, tuple[float, float]] = {
    "heat": (3.0, 10.0),
    "steam": (2.0, 5.0),
    "water": (5.0, 20.0),
    "gas": (5.0, 30.0),
    "energy": (5.0, 20.0),
    "material": (100.0, 300.0),
}
HOURS_MEDIUM, HOURS_HIGH = 4000.0, 2000.0  # hours a year both sides overlap
LOSS_MEDIUM = 0.2  # share of heat lost on the way
COVERAGE_MEDIUM, COVERAGE_HIGH = 0.5, 0.8  # share of the receiver's need from this one supplier
ENERGY_PRICED = frozenset({"heat", "steam", "gas", "energy"})


def _level(found: list[tuple[RiskLevel, str]], none_reason: str) -> Risk:
    if not found:
        return Risk("low", (none_reason,))
    level = max((lv for lv, _ in found), key=RISK_LEVELS.index)
    return Risk(level, tuple(reason for _, reason in found))


def technical(case: ExchangeCase, *, heat_pump: bool, cop: float | None, loss_share: float | None) -> Risk:
    found: list[tuple[RiskLevel, str]] = []
    if case.supply_precision == "rough" or case.inferred:
        found.append(
            ("medium", "supply data rough or inferred: quantity and quality may differ by ±50 %; measure first")
        )
    if case.operating_hours < HOURS_HIGH:
        found.append(("high", f"the two sides overlap only {case.operating_hours:.0f} h/yr: availability mismatch"))
    elif case.operating_hours < HOURS_MEDIUM:
        found.append(("medium", f"the two sides overlap {case.operating_hours:.0f} h/yr: availability mismatch"))
    medium_km, high_km = DISTANCE_KM.get(case.category, (50.0, 200.0))
    if case.distance_km is not None:
        if case.distance_km > high_km:
            found.append(("high", f"{case.distance_km:.1f} km apart: long link for {case.category}"))
        elif case.distance_km > medium_km:
            found.append(("medium", f"{case.distance_km:.1f} km apart: sizeable link for {case.category}"))
    if heat_pump:
        cop_text = f" (COP {cop:.1f})" if cop is not None else ""
        found.append(("medium", f"the supply is too cold: needs a heat pump{cop_text}, more equipment and electricity"))
    if case.needs_treatment or _purity_short(case):
        found.append(("medium", "quality short of the receiver's need: treatment step required"))
    if loss_share is not None and loss_share > LOSS_MEDIUM:
        found.append(("medium", f"{loss_share:.0%} of the heat is lost on the way"))
    return _level(found, "proven route, compatible quality and schedules")


def market(case: ExchangeCase, *, band_exists: bool, npv_p10: float | None, npv_p50: float | None) -> Risk:
    found: list[tuple[RiskLevel, str]] = []
    if case.category in ENERGY_PRICED:
        found.append(("medium", "value tied to natural-gas and electricity prices, volatile since 2021"))
    if case.demand_coverage is not None:
        text = f"the receiver would rely on one supplier for {case.demand_coverage:.0%} of its need"
        if case.demand_coverage >= COVERAGE_HIGH:
            found.append(("high", text))
        elif case.demand_coverage >= COVERAGE_MEDIUM:
            found.append(("medium", text))
    if not band_exists:
        found.append(("high", "no transfer price leaves both sides better off than their alternatives"))
    elif npv_p10 is not None and npv_p50 is not None and npv_p10 < 0 <= npv_p50:
        found.append(("medium", "NPV turns negative in the pessimistic (P10) case"))
    return _level(found, "stable prices and a diversified receiver")


def regulatory(case: ExchangeCase) -> Risk:
    found: list[tuple[RiskLevel, str]] = []
    if case.hazardous is True:
        found.append(
            (
                "high",
                "hazardous waste: permits, dangerous-goods transport (ADR) and shipment records; "
                "end-of-waste status is hard to obtain",
            )
        )
    elif case.hazardous == "mirror":
        found.append(
            (
                "medium",
                "mirror entry of the List of Waste: hazardous or not depending on composition; needs an analysis",
            )
        )
    if case.category == "material":
        found.append(
            (
                "medium",
                "a waste until it has by-product or end-of-waste status (Waste Framework Directive "
                "2008/98/EC, Art. 5 and 6)",
            )
        )
    if case.demand_class == "animal_feed":
        found.append(("medium", "feed use: feed business registration and hygiene rules (Regulation (EC) 183/2005)"))
    if case.needs_treatment or _purity_short(case):
        found.append(("medium", "a treatment step may need its own environmental permit"))
    if case.category in ("heat", "steam", "water", "gas", "energy") and (case.distance_km or 0.0) > 0:
        found.append(("low", "the line needs rights of way and a construction permit"))
    return _level(found, "no permit beyond ordinary contracts")


def _purity_short(case: ExchangeCase) -> bool:
    return (
        case.purity_pct is not None
        and case.required_purity_pct is not None
        and case.purity_pct < case.required_purity_pct
    )


def assess(
    case: ExchangeCase,
    *,
    heat_pump: bool,
    cop: float | None,
    loss_share: float | None,
    band_exists: bool,
    npv_p10: float | None,
    npv_p50: float | None,
) -> dict[str, Risk]:
    return {
        "technical": technical(case, heat_pump=heat_pump, cop=cop, loss_share=loss_share),
        "market": market(case, band_exists=band_exists, npv_p10=npv_p10, npv_p50=npv_p50),
        "regulatory": regulatory(case),
    }
