"""Hypothesis strategies: small random flow tables and catalogues."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from turash.matching.engine import ClassFit, Compatibility, QuantityKind
from turash.matching.engine.types import OPEN_END, OPEN_START

from .helpers import CLASS_CATEGORY, GAS, HEAT, MATERIAL, OTHER, flows

maybe_nan = st.one_of(st.just(math.nan), st.floats(20, 300, allow_nan=False))


@st.composite
def flow_row(draw: st.DrawFn, i: int) -> dict[str, Any]:
    multi = draw(st.booleans()) and draw(st.booleans())
    c1 = draw(st.sampled_from([HEAT, MATERIAL, GAS, OTHER]))
    cls: Any = c1
    if multi:
        c2 = draw(st.sampled_from([HEAT, MATERIAL, GAS, OTHER]).filter(lambda c: c != c1))
        cls = [(c1, 0.7), (c2, 0.3)]
    supply = draw(st.booleans())
    kind = draw(
        st.sampled_from(
            [int(QuantityKind.UNKNOWN), int(QuantityKind.POWER), int(QuantityKind.MASS), int(QuantityKind.MASS_RATE)]
        )
    )
    start = draw(st.sampled_from([OPEN_START, 19000, 19500]))
    end = draw(st.sampled_from([OPEN_END, 19800, 20500]))
    return {
        "supply": supply,
        "cls": cls,
        "category": int(CLASS_CATEGORY[c1]),
        "x": draw(st.floats(-12, 12)),
        "y": draw(st.floats(-12, 12)),
        "org": draw(st.integers(0, 6)),
        "key": 1000 + i * 7 + draw(st.integers(0, 6)) * 100_000,
        "quantity": draw(st.one_of(st.just(math.nan), st.floats(0.1, 1e6))),
        "quantity_kind": kind,
        "temperature_c": draw(maybe_nan),
        "purity_pct": draw(st.one_of(st.just(math.nan), st.floats(40, 100))),
        "pressure_bar": draw(st.one_of(st.just(math.nan), st.floats(1, 20))),
        "hazardous": supply and draw(st.booleans()) and draw(st.booleans()),
        "hazard_permit": (not supply) and draw(st.booleans()),
        "available_from": min(start, end),
        "available_to": max(start, end),
        "month_mask": draw(st.sampled_from([0xFFF, 0xFFF, 0b111000001111, 0b000111110000, 0b000000000110])),
        "weekly_hours": draw(st.sampled_from([1.0, 0.5, 0.25])),
        "precision": draw(st.integers(0, 2)),
        "inferred": draw(st.booleans()) and draw(st.booleans()),
        "price_eur": draw(st.one_of(st.just(math.nan), st.floats(-0.05, 0.05))),
    }


@st.composite
def flow_tables(draw: st.DrawFn, min_size: int = 2, max_size: int = 24) -> Any:
    n = draw(st.integers(min_size, max_size))
    rows = [draw(flow_row(i)) for i in range(n)]
    keys = [r["key"] for r in rows]
    if len(set(keys)) != len(keys):
        for i, r in enumerate(rows):
            r["key"] = 1000 + i
    return flows(rows)


@st.composite
def catalogues(draw: st.DrawFn) -> Compatibility:
    entries: dict[tuple[int, int], float | ClassFit] = {}
    for s in (HEAT, MATERIAL, GAS, OTHER):
        for d in (HEAT, MATERIAL, GAS, OTHER):
            if draw(st.integers(0, 3)) == 0 or (s == d and s != OTHER and draw(st.booleans())):
                entries[(s, d)] = ClassFit(
                    fit=draw(st.floats(0.2, 1.0)),
                    min_temperature_c=draw(st.one_of(st.just(math.nan), st.floats(30, 150))),
                    max_temperature_c=draw(st.one_of(st.just(math.nan), st.floats(150, 400))),
                    min_purity_pct=draw(st.one_of(st.just(math.nan), st.floats(50, 95))),
                    min_pressure_bar=draw(st.one_of(st.just(math.nan), st.floats(1, 10))),
                    needs_treatment=draw(st.booleans()),
                )
    if not entries:
        entries[(HEAT, HEAT)] = 1.0
    return Compatibility.from_dict(entries, n_classes=4)
