"""Sector fit: does the receiving (and the supplying) site's activity match the sectors that typically take (and
give) the resource? A knowledge prior on top of the engine's physical scores.

The catalogue lists, per resource class, the NACE codes of its typical suppliers and receivers (with sources in the
catalogue files: BREFs, symbiosis case studies). A pair gets 1.0 on a side when that side's NACE code falls under a
listed code (or the listed code under it), 0.6 when only the NACE division (two digits) agrees, 0.0 when a list
exists and nothing agrees; a side with no NACE code or no list is left out, and with no evidence at all the fit is
neutral (0.5). The match score becomes (1 - w) × engine score + w × sector fit, w = 0.25 by default (tuned on
bench/eval/match_eval.py: recall@1 among look-alike decoys 56 % at w = 0.15, 60 % at 0.25).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from turash.catalog import get_catalog

DEFAULT_WEIGHT = 0.25
NEUTRAL = 0.5


def _fit(code: str, listed: tuple[str, ...]) -> float:
    best = 0.0
    for entry in listed:
        if code.startswith(entry) or entry.startswith(code):
            return 1.0
        if code[:2] == entry[:2]:
            best = 0.6
    return best


@lru_cache(maxsize=65536)
def sector_fit(supply_class: str, demand_class: str, supplier_nace: str | None, receiver_nace: str | None) -> float:
    catalog = get_catalog()
    s, d = catalog.get(supply_class), catalog.get(demand_class)
    parts = []
    receivers = tuple(s.nace_receivers) + tuple(d.nace_receivers)
    suppliers = tuple(s.nace_suppliers) + tuple(d.nace_suppliers)
    if receiver_nace and receivers:
        parts.append(_fit(receiver_nace, receivers))
    if supplier_nace and suppliers:
        parts.append(_fit(supplier_nace, suppliers))
    return sum(parts) / len(parts) if parts else NEUTRAL


def top_k_union(supply_key: np.ndarray, demand_key: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Rows kept when every flow keeps its k best counterparts by `score` (on both sides), as a boolean mask."""
    keep = np.zeros(score.shape[0], dtype=bool)
    for key in (supply_key, demand_key):
        order = np.lexsort((-score, key))
        grouped = key[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
        keep[order[rank < k]] = True
    return keep
