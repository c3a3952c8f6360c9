"""The six scorers. Each maps a pair that passed the pre-filter to 0..1 (1 = best) plus reason bits.

- quality: class fit (w_s·w_d·fit of the class pair) × temperature margin factor × treatment factors.
  Heat up to 30 K above the need (after the approach ΔT) is a full fit; far hotter heat serves a low-grade use
  (exergy loss) and falls to 0.7 at +200 K; a heat-pump lift (fallback) scores 0.5 → 0.05 over the lift range.
- temporal: (share of the demand's window, over a 10-year horizon when open-ended, that the supply covers)
  × (share of the demand's months the supply is there) × min(1, supply weekly hours / demand weekly hours).
- quantity: supply / demand on yearly amounts of the same family: the share covered when below 1; above,
  1 − 0.1 per decade of surplus, floored at 0.6 (an oversized supply still serves the demand). Unknown: 0.5.
- economic: the share of the exchange's value left after transport, clip(1 − cost / value, 0, 1). Value per
  unit = avoided disposal (supply) + avoided purchase (demand), from stated prices or category defaults;
  truck cost per unit·km plus handling per unit; pipe cost per km·year A + B·√Q (the pipe that carries the
  yearly amount Q), spread over Q. Prices and costs come from the economics module. Unknown: 0.5.
- trust: sqrt(t_s)·sqrt(t_d) by precision (rough/estimated/measured) and inference, × `unknown_trust_factor`
  per rule that passed on an unknown value.
- distance: exp(−2·d / radius of the supply's category).
All constants are in `constants.py`. These scalar kernels are called per pair by `pairs.evaluate` (LLVM
inlines them).
"""

from __future__ import annotations

import math

from turash.matching.engine import constants as C
from turash.matching.engine._jit import jit
from turash.matching.engine.types import Reason, Relaxation

_FREE = C.QUALITY_TEMP_FREE_K
_SPAN = C.QUALITY_TEMP_SPAN_K
_HOT_FLOOR = C.QUALITY_HOT_FLOOR
_HP_MAX = C.QUALITY_HEAT_PUMP_MAX
_TREAT = C.QUALITY_NEEDS_TREATMENT
_RELAX_TREAT = C.QUALITY_RELAXED_TREATMENT
_RELAX_PRESSURE = C.QUALITY_RELAXED_PRESSURE
_OVER = C.QUANTITY_OVERSIZE_PER_DECADE
_OVER_FLOOR = C.QUANTITY_OVERSIZE_FLOOR
_NEUTRAL = C.NEUTRAL_SCORE
_HORIZON = float(C.HORIZON_DAYS)
_DECAY = C.DISTANCE_DECAY
_R_TREATMENT = int(Relaxation.TREATMENT)
_R_PRESSURE = int(Relaxation.PRESSURE)
_NEEDS_TREATMENT = int(Reason.NEEDS_TREATMENT)
_OVERSIZED = int(Reason.OVERSIZED)
_PARTIAL = int(Reason.PARTIAL)
_QTY_UNKNOWN = int(Reason.QUANTITY_UNKNOWN)
_PRICE_DEFAULT = int(Reason.PRICE_DEFAULT)
_INFERRED = int(Reason.INFERRED)
_PIPE = int(Reason.PIPE)
_NOT_VIABLE = int(Reason.NOT_VIABLE)
_LOG10_2 = math.log10(2.0)
_LN10 = math.log(10.0)


@jit
def popcount12(x: int) -> int:
    x = x & 0xFFF
    x = x - ((x >> 1) & 0x555)
    x = (x & 0x333) + ((x >> 2) & 0x333)
    x = (x + (x >> 4)) & 0x0F0F
    return (x & 0xFF) + (x >> 8)


@jit
def score_quality(fit_w: float, margin: float, relax: int, needs_treatment: bool, lift: float) -> tuple[float, int]:
    q = fit_w
    reasons = 0
    if not math.isnan(margin):
        if margin >= 0.0:
            excess = min(max((margin - _FREE) / _SPAN, 0.0), 1.0)
            q *= 1.0 - (1.0 - _HOT_FLOOR) * excess
        else:
            q *= max(0.05, _HP_MAX * (1.0 + margin / lift)) if lift > 0 else 0.05
    if relax & _R_TREATMENT:
        q *= _RELAX_TREAT
    if relax & _R_PRESSURE:
        q *= _RELAX_PRESSURE
    if needs_treatment:
        q *= _TREAT
        reasons |= _NEEDS_TREATMENT
    return min(max(q, 0.0), 1.0), reasons


@jit
def score_temporal(
    from_s: int,
    to_s: int,
    from_d: int,
    to_d: int,
    months_s: int,
    months_d: int,
    month_inv_d: float,
    hours_s: float,
    hours_d: float,
) -> float:
    overlap = float(min(to_s, to_d)) - float(max(from_s, from_d)) + 1.0
    if overlap <= 0.0:
        return 0.0
    need = min(float(to_d) - float(from_d) + 1.0, _HORIZON)
    window = min(1.0, overlap / need)
    months = popcount12(months_s & months_d) * month_inv_d
    hours = 1.0 if not (hours_d > 0.0) else min(1.0, hours_s / hours_d)
    return min(window * months * hours, 1.0)


@jit
def score_quantity(log_coverage: float) -> tuple[float, int]:
    if math.isnan(log_coverage):
        return _NEUTRAL, _QTY_UNKNOWN
    if log_coverage < 0.0:
        return math.exp(log_coverage * _LN10), _PARTIAL
    reasons = _OVERSIZED if log_coverage > _LOG10_2 else 0
    return max(_OVER_FLOOR, 1.0 - _OVER * log_coverage), reasons


@jit
def score_economic(
    value_s: float,
    value_d: float,
    truck_s: float,
    pipe_s: float,
    q_s: float,
    q_d: float,
    same_family: bool,
    dist_km: float,
    link: float,
) -> tuple[float, int]:
    """value_*: EUR per base unit; truck_s: EUR per unit·km; pipe_s: A of the pipe cost A + B·√Q per km·year;
    q_*: yearly amounts; link: B for a pipe, the handling cost per unit for a truck."""
    uv = value_s + value_d
    reasons = 0
    if pipe_s > 0.0:
        reasons |= _PIPE
    if math.isnan(uv) or not (uv > 0.0):
        return _NEUTRAL, reasons
    if pipe_s > 0.0:
        if not same_family or math.isnan(q_s) or math.isnan(q_d):
            return _NEUTRAL, reasons
        q = min(q_s, q_d)
        cost = (pipe_s + link * math.sqrt(q)) * dist_km / (uv * q)
    else:
        cost = (truck_s * dist_km + link) / uv
    ratio = 1.0 - cost
    if ratio <= 0.0:
        return 0.0, reasons | _NOT_VIABLE
    return min(ratio, 1.0), reasons


@jit
def score_trust(root_s: float, root_d: float, n_unknown: int, factor: float) -> float:
    t = root_s * root_d
    for _ in range(n_unknown):
        t *= factor
    return t


@jit
def score_distance(dist_km: float, radius_km: float) -> float:
    if not (radius_km < math.inf):
        return 1.0
    return math.exp(-_DECAY * dist_km / radius_km)


__all__ = [
    "popcount12",
    "score_distance",
    "score_economic",
    "score_quality",
    "score_quantity",
    "score_temporal",
    "score_trust",
]
