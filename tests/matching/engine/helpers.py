"""Small hand-made inputs for the engine tests."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from turash.matching.engine import Category, ClassFit, Compatibility, FlowArrays, MatchIndex

KM_LAT = 111.195  # km per degree of latitude on the engine's sphere
BASE_LAT, BASE_LON = 50.0, 8.0

HEAT, MATERIAL, GAS, OTHER = 0, 1, 2, 3
CLASS_CATEGORY = {HEAT: Category.HEAT, MATERIAL: Category.MATERIAL, GAS: Category.GAS, OTHER: Category.MATERIAL}


def compat(extra: dict[tuple[int, int], float | ClassFit] | None = None, n_classes: int = 4) -> Compatibility:
    """Heat→heat, material→material, gas→gas fit 1; OTHER fits nothing."""
    entries: dict[tuple[int, int], float | ClassFit] = {(HEAT, HEAT): 1.0, (MATERIAL, MATERIAL): 1.0, (GAS, GAS): 1.0}
    entries.update(extra or {})
    return Compatibility.from_dict(entries, n_classes=n_classes)


def at_km(east_km: float, north_km: float = 0.0) -> tuple[float, float]:
    lat = BASE_LAT + north_km / KM_LAT
    lon = BASE_LON + east_km / (KM_LAT * math.cos(math.radians(BASE_LAT)))
    return lat, lon


def flows(rows: list[dict[str, Any]]) -> FlowArrays:
    """One dict per flow: supply (bool), cls (int or [(cls, w)]), x/y km, org; other columns by name.
    Keys default to 100 + position."""
    prepared: list[dict[str, Any]] = []
    classes: list[Any] = []
    for i, r in enumerate(rows):
        r = dict(r)
        cls = r.pop("cls", HEAT)
        classes.append(cls)
        first = cls if isinstance(cls, int) else cls[0][0]
        lat, lon = at_km(r.pop("x", 0.0), r.pop("y", 0.0))
        r.setdefault("key", 100 + i)
        r.setdefault("category", int(CLASS_CATEGORY[first]))
        r.setdefault("org", 1000 + i)
        r["is_supply"] = r.pop("supply")
        r["lat"], r["lon"] = lat, lon
        prepared.append(r)
    names = {k for r in prepared for k in r}
    cols: dict[str, list[Any]] = {k: [r.get(k) for r in prepared] for k in names}
    # fill columns not given for every row with their defaults
    out: dict[str, Any] = {}
    for k, vals in cols.items():
        if any(v is None for v in vals):
            probe = FlowArrays.build(classes=[0], key=[0], lat=[0], lon=[0], is_supply=[True], category=[0], org=[0])
            default = getattr(probe, k)[0]
            vals = [default if v is None else v for v in vals]
        out[k] = np.asarray(vals)
    return FlowArrays.build(classes=classes, **out)


def index(rows: list[dict[str, Any]], extra: dict[tuple[int, int], float | ClassFit] | None = None) -> MatchIndex:
    return MatchIndex.build(flows(rows), compat(extra))


def pairs_by_key(result: Any) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in zip(result.supply_key, result.demand_key, strict=True)}
