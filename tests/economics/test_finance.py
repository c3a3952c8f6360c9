from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
from hypothesis import given
from hypothesis import strategies as st

from turash.economics import finance

capex_st = st.floats(min_value=1e3, max_value=1e8)
annual_st = st.floats(min_value=1e2, max_value=1e7)
rate_st = st.floats(min_value=0.0, max_value=0.3)
years_st = st.integers(min_value=1, max_value=40)


@given(capex_st, annual_st, rate_st, years_st)
def test_closed_form_npv_equals_numpy_financial(capex: float, annual: float, rate: float, years: int) -> None:
    closed = float(finance.npv(capex, annual, rate, years))
    series = float(npf.npv(rate, finance.cash_flows(capex, annual, years)))
    assert math.isclose(closed, series, rel_tol=1e-9, abs_tol=1e-6 * capex)


@given(capex_st, annual_st, years_st)
def test_irr_makes_npv_zero(capex: float, annual: float, years: int) -> None:
    irr = float(finance.irr(capex, annual, years)[0])
    if not math.isfinite(irr):  # only outside the search bracket (above 10,000 % or below -99 %)
        assert annual * years > capex * 100 or annual * float(finance.annuity_factor(finance.IRR_LOW, years)) <= capex
        return
    assert abs(float(finance.npv(capex, annual, irr, years))) <= 1e-6 * capex
    npf_irr = finance.irr_npf(capex, annual, years)
    if npf_irr is not None and npf_irr > -0.9:
        assert math.isclose(irr, npf_irr, rel_tol=1e-6, abs_tol=1e-8)


@given(capex_st, st.floats(max_value=0.0, min_value=-1e6), years_st)
def test_no_irr_when_cash_flows_never_turn_positive(capex: float, annual: float, years: int) -> None:
    assert math.isnan(float(finance.irr(capex, annual, years)[0]))
    assert finance.irr_npf(capex, annual, years) is None
    assert math.isnan(float(finance.simple_payback(capex, annual, years)[0]))
    assert math.isnan(float(finance.discounted_payback(capex, annual, 0.05, years)[0]))


@given(capex_st, annual_st, rate_st, years_st)
def test_discounted_payback_is_where_npv_crosses_zero(capex: float, annual: float, rate: float, years: int) -> None:
    t = float(finance.discounted_payback(capex, annual, rate, years)[0])
    simple = float(finance.simple_payback(capex, annual, years)[0])
    if math.isfinite(t):
        assert abs(float(finance.npv(capex, annual, rate, t))) <= 1e-6 * capex
        assert simple <= t + 1e-9
    else:
        assert float(finance.npv(capex, annual, rate, years)) < 1e-6 * capex


def test_payback_roi_and_levelised_cost_by_hand() -> None:
    assert float(finance.simple_payback(1000.0, 250.0, 10)[0]) == 4.0
    assert math.isnan(float(finance.simple_payback(1000.0, 50.0, 10)[0]))  # not reached within the life
    assert float(finance.roi(1000.0, 250.0, 10)[0]) == 1.5
    crf = float(finance.capital_recovery_factor(0.05, 20))
    assert math.isclose(crf, finance.crf_npf(0.05, 20), rel_tol=1e-12)
    assert math.isclose(crf, 0.080243, rel_tol=1e-4)  # annuity tables: 5 %, 20 years
    lc = float(finance.levelised_cost(1000.0, 10.0, 0.05, 20, 100.0))
    assert math.isclose(lc, (1000.0 * crf + 10.0) / 100.0)
    assert math.isnan(float(finance.levelised_cost(1000.0, 10.0, 0.05, 20, 0.0)))


def test_vectorised_over_many_cases() -> None:
    capex = np.array([1e6, 2e6, 0.0])
    annual = np.array([2e5, -1e4, 5e4])
    irr = finance.irr(capex, annual, 20)
    assert math.isfinite(irr[0]) and math.isnan(irr[1]) and math.isnan(irr[2])
    assert finance.simple_payback(capex, annual, 20)[2] == 0.0
