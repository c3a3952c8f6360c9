"""Explanations: structured facts and the English paragraph."""

from __future__ import annotations

from turash.matching.engine import MatchParams, explain, match_all, months_text, render

from .helpers import MATERIAL, index


def test_months_text():
    assert months_text(0xFFF) == "all year"
    assert months_text(0b111000001111) == "Oct–Apr"
    assert months_text(0b000000000100) == "Mar"
    assert months_text(0b000000000101) == "Jan, Mar"
    assert months_text(0) == "none"


def test_heat_explanation():
    rows = [
        {
            "supply": True,
            "temperature_c": 85.0,
            "quantity": 2e6,
            "quantity_kind": 1,
            "precision": 2,
            "month_mask": 0b111000001111,
        },
        {
            "supply": False,
            "x": 2.3,
            "temperature_c": 75.0,
            "quantity": 2e6,
            "quantity_kind": 1,
            "precision": 2,
            "month_mask": 0b111000001111,
        },
    ]
    idx = index(rows)
    p = MatchParams()
    r = match_all(idx, p)
    e = explain(idx, r, 0, p)
    assert e.temperature_margin_k == 0.0 and e.coverage == 1.0 and e.category == "heat"
    assert set(e.scores) == {"quality", "temporal", "quantity", "economic", "trust", "distance"}
    text = render(e)
    assert text.startswith("Supplies 85 °C heat, 10 K above the 75 °C the demand needs")
    assert "covers 100 % of the demand" in text and "2.3 km apart" in text
    assert "both run Oct–Apr" in text and "measured data on both sides" in text


def test_relaxed_and_partial_explanation():
    rows = [
        {"supply": True, "cls": MATERIAL, "quantity": 1.0, "quantity_kind": 4, "purity_pct": 70.0},
        {"supply": False, "cls": MATERIAL, "x": 250.0, "quantity": 4.0, "quantity_kind": 4, "purity_pct": 80.0},
    ]
    idx = index(rows)
    r = match_all(idx)
    e = explain(idx, r, 0)
    assert e.relaxations == ["radius", "treatment"] and abs(e.coverage - 0.25) < 1e-6
    text = render(e)
    assert "covers 25% of the demand" in text and "widening the search radius" in text
