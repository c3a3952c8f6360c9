"""Bands that stand for a number the other party may not see yet (staged disclosure): "5-10 km", "over 100 t/yr"."""

from __future__ import annotations

DISTANCE_EDGES_KM = (1, 5, 10, 25, 50, 100)


def band(value: float | None, edges: tuple[float, ...], unit: str) -> str | None:
    if value is None:
        return None
    low = 0.0
    for edge in edges:
        if value < edge:
            return f"{low:g}-{edge:g} {unit}"
        low = edge
    return f"over {low:g} {unit}"


def distance_band(km: float | None) -> str | None:
    return band(km, DISTANCE_EDGES_KM, "km")
