from __future__ import annotations

from dataclasses import replace

from turash.economics import ExchangeCase, evaluate
from turash.economics.model import RISK_LEVELS


def _rank(level: str) -> int:
    return RISK_LEVELS.index(level)  # type: ignore[arg-type]


def test_hazardous_raises_regulatory_risk(ash_case: ExchangeCase) -> None:
    plain = evaluate(ash_case, samples=0).risk["regulatory"]
    mirror = evaluate(replace(ash_case, hazardous="mirror"), samples=0).risk["regulatory"]
    hazardous = evaluate(replace(ash_case, hazardous=True), samples=0).risk["regulatory"]
    assert _rank(plain.level) <= _rank(mirror.level) < _rank(hazardous.level)
    assert hazardous.level == "high" and any("hazardous" in r for r in hazardous.reasons)
    assert any("end-of-waste" in r for r in plain.reasons)


def test_technical_risk_follows_distance_schedule_and_data(heat_case: ExchangeCase) -> None:
    assert evaluate(replace(heat_case, distance_km=15.0), samples=0).risk["technical"].level == "high"
    assert evaluate(replace(heat_case, operating_hours=1500.0), samples=0).risk["technical"].level == "high"
    measured = replace(heat_case, supply_precision="measured", distance_km=1.0)
    assert evaluate(measured, samples=0).risk["technical"].level == "low"
    assert evaluate(replace(measured, inferred=True), samples=0).risk["technical"].level == "medium"
    assert evaluate(replace(measured, supply_temperature_c=25.0), samples=0).risk["technical"].level == "medium"


def test_market_risk_from_dependence_on_one_supplier(ash_case: ExchangeCase) -> None:
    assert evaluate(ash_case, samples=0).risk["market"].level == "low"
    assert evaluate(replace(ash_case, demand_coverage=0.6), samples=0).risk["market"].level == "medium"
    assert evaluate(replace(ash_case, demand_coverage=0.9), samples=0).risk["market"].level == "high"


def test_every_dimension_has_a_level_and_reasons(heat_case: ExchangeCase) -> None:
    risk = evaluate(heat_case, samples=0).risk
    assert set(risk) == {"technical", "market", "regulatory"}
    for r in risk.values():
        assert r.level in RISK_LEVELS and r.reasons
