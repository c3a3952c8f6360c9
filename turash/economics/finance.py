"""Discounted cash flow of an exchange: investment at year 0, then the same net annual cash flow every year.

Real terms (constant prices) and a real discount rate, as in the EU CBA guide (ec_cba_2014). Vectorised closed
forms for many cases at once; numpy-financial on the explicit cash-flow series for one case (the two agree, see
tests/economics/test_finance.py). A result that does not exist is NaN here and None in the business case.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy_financial as npf

Array = np.ndarray[Any, np.dtype[np.float64]]
IRR_LOW, IRR_HIGH = -0.99, 100.0  # IRR searched in this bracket; above 10,000 %/yr it is reported as not computable
_IRR_STEPS = 64


def annuity_factor(rate: Array | float, years: Array | float) -> Array:
    """Present value of 1 EUR a year for `years` years: (1 − (1 + r)^−n) / r, and n when r = 0."""
    r = np.asarray(rate, dtype=np.float64)
    n = np.asarray(years, dtype=np.float64)
    small = np.abs(r) < 1e-12
    safe = np.where(small, 1.0, r)
    with np.errstate(over="ignore", invalid="ignore"):
        af = -np.expm1(-n * np.log1p(safe)) / safe  # expm1/log1p keep precision at small rates
    return np.asarray(np.where(small, n, af), dtype=np.float64)


def capital_recovery_factor(rate: Array | float, years: Array | float) -> Array:
    """Annuity that repays 1 EUR over `years` years at `rate` (1 / annuity factor)."""
    return np.asarray(1.0 / annuity_factor(rate, years), dtype=np.float64)


def npv(capex: Array | float, annual: Array | float, rate: Array | float, years: Array | float) -> Array:
    """−capex + annual × annuity factor."""
    return np.asarray(-np.asarray(capex) + np.asarray(annual) * annuity_factor(rate, years), dtype=np.float64)


def irr(capex: Array | float, annual: Array | float, years: Array | float) -> Array:
    """The rate at which NPV = 0, by bisection (NPV falls monotonically with the rate when capex > 0 < annual).

    NaN when it does not exist: no investment (capex ≤ 0), cash flows never turn positive (annual ≤ 0), or above
    the bracket.
    """
    c = np.atleast_1d(np.asarray(capex, dtype=np.float64))
    a = np.atleast_1d(np.asarray(annual, dtype=np.float64))
    n = np.atleast_1d(np.asarray(years, dtype=np.float64))
    c, a, n = np.broadcast_arrays(c, a, n)
    ok = (c > 0) & (a > 0) & np.isfinite(c) & np.isfinite(a)
    lo = np.full(c.shape, IRR_LOW)
    hi = np.full(c.shape, IRR_HIGH)
    ok &= (a * annuity_factor(hi, n) < c) & (a * annuity_factor(lo, n) > c)  # outside the bracket: not reported
    for _ in range(_IRR_STEPS):
        mid = 0.5 * (lo + hi)
        positive = a * annuity_factor(mid, n) - c > 0
        lo = np.where(positive, mid, lo)
        hi = np.where(positive, hi, mid)
    return np.where(ok, 0.5 * (lo + hi), np.nan)


def simple_payback(capex: Array | float, annual: Array | float, years: Array | float) -> Array:
    """Years until the undiscounted net cash flows repay the investment; NaN if never within the lifetime."""
    c, a, n = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (capex, annual, years)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.where(c <= 0, 0.0, c / a)
    return np.where((a > 0) & (t <= n * (1 + 1e-9)), t, np.nan)


def discounted_payback(capex: Array | float, annual: Array | float, rate: Array | float, years: Array | float) -> Array:
    """Years until the discounted net cash flows repay the investment (continuous in t); NaN if never."""
    c, a, r, n = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (capex, annual, rate, years))
    )
    small = np.abs(r) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = c * r / a
        t = np.where(small, c / a, -np.log1p(-x) / np.log1p(np.where(small, 1.0, r)))
    t = np.where(c <= 0, 0.0, t)
    return np.where((a > 0) & np.isfinite(t) & (t >= 0) & (t <= n * (1 + 1e-9)), t, np.nan)


def roi(capex: Array | float, annual: Array | float, years: Array | float) -> Array:
    """Return on investment over the life: (Σ net cash flows − capex) / capex; NaN without investment."""
    c, a, n = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (capex, annual, years)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = (a * n - c) / c
    return np.where(c > 0, out, np.nan)


def levelised_cost(
    capex: Array | float, opex: Array | float, rate: Array | float, years: Array | float, quantity: Array | float
) -> Array:
    """(capex × CRF + opex) / quantity per year: the cost of the link per unit delivered; NaN if nothing is."""
    q = np.asarray(quantity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = (np.asarray(capex) * capital_recovery_factor(rate, years) + np.asarray(opex)) / q
    return np.asarray(np.where(q > 0, out, np.nan), dtype=np.float64)


# --- one case, on the explicit cash-flow series (numpy-financial) ----------------------------------------------------


def cash_flows(capex: float, annual: float, years: int) -> Array:
    """[−capex, annual, annual, ...] over `years` years."""
    flows = np.full(int(years) + 1, float(annual))
    flows[0] = -float(capex)
    return flows


def npv_npf(capex: float, annual: float, rate: float, years: int) -> float:
    return float(npf.npv(rate, cash_flows(capex, annual, years)))


def irr_npf(capex: float, annual: float, years: int) -> float | None:
    """IRR of the series with numpy-financial; None when the cash flows never turn positive or no root exists."""
    if not (capex > 0 and annual > 0):
        return None
    value = float(npf.irr(cash_flows(capex, annual, years)))
    return value if np.isfinite(value) else None


def crf_npf(rate: float, years: int) -> float:
    """Capital recovery factor as numpy-financial's payment on 1 EUR borrowed."""
    return float(-npf.pmt(rate, years, 1.0))
