"""Scorers: ranges and monotonicity (hypothesis), and the documented values."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from turash.matching.engine import constants as C
from turash.matching.engine.scorers import (
    popcount12,
    score_distance,
    score_economic,
    score_quality,
    score_quantity,
    score_temporal,
    score_trust,
)
from turash.matching.engine.types import OPEN_END, OPEN_START, Reason

unit = st.floats(0, 1)


@given(d1=st.floats(0, 500), d2=st.floats(0, 500), r=st.floats(1, 300))
def test_distance_decreasing_in_unit_range(d1, d2, r):
    a, b = score_distance(min(d1, d2), r), score_distance(max(d1, d2), r)
    assert 0 <= b <= a <= 1
    assert score_distance(0.0, r) == 1.0
    assert math.isclose(score_distance(r, r), math.exp(-C.DISTANCE_DECAY))


@given(l1=st.floats(-6, 6), l2=st.floats(-6, 6))
def test_quantity(l1, l2):
    lo, hi = min(l1, l2), max(l1, l2)
    qlo, qhi = score_quantity(lo)[0], score_quantity(hi)[0]
    assert 0 < qlo <= 1 and 0 < qhi <= 1
    if hi <= 0:
        assert qlo <= qhi  # more coverage is better below the demand
    if lo >= 0:
        assert qhi <= qlo  # more surplus is slightly worse above it
    # far too small is worse than far too large
    assert score_quantity(-1.0)[0] < score_quantity(1.0)[0]
    assert score_quantity(math.nan) == (C.NEUTRAL_SCORE, int(Reason.QUANTITY_UNKNOWN))


@given(fit=unit, margin=st.floats(-40, 400))
def test_quality(fit, margin):
    q, _ = score_quality(fit, margin, 0, False, 40.0)
    assert 0 <= q <= fit + 1e-12
    if 0 <= margin <= C.QUALITY_TEMP_FREE_K:
        assert math.isclose(q, fit)
    assert score_quality(fit, margin, 0, True, 40.0)[0] <= q
    assert score_quality(1.0, 200.0 + C.QUALITY_TEMP_FREE_K, 0, False, 40.0)[0] == C.QUALITY_HOT_FLOOR


def test_temporal():
    full = score_temporal(OPEN_START, OPEN_END, OPEN_START, OPEN_END, 0xFFF, 0xFFF, 1 / 12, 1.0, 1.0)
    assert full == 1.0
    # supply only for one year of an open-ended demand: 365/3650
    one_year = score_temporal(0, 364, OPEN_START, OPEN_END, 0xFFF, 0xFFF, 1 / 12, 1.0, 1.0)
    assert math.isclose(one_year, 365 / C.HORIZON_DAYS)
    winter, half = 0b111000001111, 0b000000111111
    s = score_temporal(OPEN_START, OPEN_END, OPEN_START, OPEN_END, half, winter, 1 / 7, 1.0, 1.0)
    assert math.isclose(s, 4 / 7)  # Jan-Apr of Oct-Apr
    assert score_temporal(OPEN_START, OPEN_END, OPEN_START, OPEN_END, 0xFFF, 0xFFF, 1 / 12, 0.5, 1.0) == 0.5
    assert score_temporal(0, 10, 20, 30, 0xFFF, 0xFFF, 1 / 12, 1.0, 1.0) == 0.0


@given(d=st.floats(0, 300), v=st.floats(1e-3, 1.0))
def test_economic_truck_decreases_with_distance(d, v):
    handling = C.TRUCK_EUR_PER_UNIT[C.FAMILY_MASS]
    e1, _ = score_economic(v, 0.0, 1e-4, 0.0, math.nan, math.nan, False, d, handling)
    e2, _ = score_economic(v, 0.0, 1e-4, 0.0, math.nan, math.nan, False, d + 10, handling)
    assert 0 <= e2 <= e1 <= 1
    assert score_economic(v, 0.0, 1e-4, 0.0, math.nan, math.nan, False, d, 0.0)[0] >= e1  # handling costs


def test_economic_pipe_and_unknowns():
    pipe = C.PIPE_EUR_PER_KM_YEAR[0]
    sqrt_term = C.PIPE_SQRT_EUR_PER_KM_YEAR[(0, C.FAMILY_ENERGY)]
    value = 45 / C.J_PER_MWH
    q = 10e6 * C.SECONDS_PER_YEAR  # 10 MW all year
    e, r = score_economic(0.0, value, 0.0, pipe, q, q, True, 2.0, sqrt_term)
    assert math.isclose(e, 1 - (pipe + sqrt_term * math.sqrt(q)) * 2.0 / (value * q)) and r & Reason.PIPE
    assert score_economic(0.0, value, 0.0, pipe, math.nan, q, True, 2.0, sqrt_term)[0] == C.NEUTRAL_SCORE
    assert score_economic(math.nan, value, 0.0, pipe, q, q, True, 2.0, sqrt_term)[0] == C.NEUTRAL_SCORE
    e, r = score_economic(0.0, value, 0.0, pipe, 1.0, 1.0, True, 2.0, sqrt_term)
    assert e == 0.0 and r & Reason.NOT_VIABLE


def test_the_scorer_prices_a_pipe_as_the_business_case_does():
    """The engine's pipe cost per km·year is the business case's annualised pipe investment and upkeep (before
    rounding the bore up to a standard DN), from the same parameters."""
    from turash.economics import Assumptions, ExchangeCase, evaluate
    from turash.economics.finance import capital_recovery_factor

    a = Assumptions.for_country("EU")
    power_w = 10e6
    q = power_w * C.SECONDS_PER_YEAR  # 10 MW all year, J/yr
    engine = C.PIPE_EUR_PER_KM_YEAR[0] + C.PIPE_SQRT_EUR_PER_KM_YEAR[(0, C.FAMILY_ENERGY)] * math.sqrt(q)
    case = ExchangeCase(
        category="heat",
        annual_quantity=q,
        quantity_kind="energy",
        distance_km=1.0,
        operating_hours=C.SECONDS_PER_YEAR / 3600.0,
        supply_class="heat_70_100c",
        demand_class="district_heating_heat",
    )
    b = evaluate(case, samples=0).breakdown
    annual = float(capital_recovery_factor(a["discount_rate"], a["lifetime_years"])) + a["om_pipe_share"]
    business = b["capex_pipe"] * annual  # EUR per year for one km of straight line
    # The business case rounds the bore up to the next DN and uses the outer diameter: a somewhat dearer pipe.
    assert 0.8 * business < engine <= business
    # And the receiver's value per unit is the business case's gas-boiler heat price.
    assert math.isclose(C.CATEGORY_PURCHASE_VALUE[(0, C.FAMILY_ENERGY)], 50.0 / 0.9 / C.J_PER_MWH)


@given(a=unit, b=unit, n=st.integers(0, 3))
def test_trust(a, b, n):
    t = score_trust(a, b, n, 0.85)
    assert 0 <= t <= 1 and math.isclose(t, a * b * 0.85**n, abs_tol=1e-12)


@given(x=st.integers(0, 0xFFF))
def test_popcount(x):
    assert popcount12(x) == bin(x).count("1")
