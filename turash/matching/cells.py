"""Geographic cells: the unit in which batch re-matching is split across workers (and across Dask tasks).

A cell is a 1°×1° square of latitude and longitude (about 111 × 65 km in central Europe), named by its south-west
corner, e.g. `55,11`. A match belongs to the cell of its supply's site, so every pair is computed in exactly one
cell. Matching a cell loads the flows of the cell and of a margin around it twice as wide as the search radius: the
cell's supplies see every counterpart within the radius, and so do those counterparts (whose own best lists decide,
too, which pairs are kept), so the cells together give exactly the matches of a whole-register run.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.kit.geo import EARTH_RADIUS_KM, BBox
from turash.matching import service
from turash.models import ResourceFlow, Site

CELL_DEGREES = 1.0


def cell_of(lat: float, lon: float) -> str:
    return f"{math.floor(lat / CELL_DEGREES) * CELL_DEGREES:g},{math.floor(lon / CELL_DEGREES) * CELL_DEGREES:g}"


def cell_box(cell: str) -> BBox:
    """The cell's own square. A malformed name is a ValueError saying so."""
    try:
        lat, lon = (float(part) for part in cell.split(","))
    except ValueError:
        raise ValueError(f"cell {cell!r} is not `lat,lon` of a south-west corner, e.g. `55,11`") from None
    if not (-90 <= lat < 90 and -180 <= lon < 180):
        raise ValueError(f"cell {cell!r} is outside lat -90..90, lon -180..180")
    return BBox(lon, lat, min(lon + CELL_DEGREES, 180.0), min(lat + CELL_DEGREES, 90.0))


def with_margin(box: BBox, km: float) -> BBox:
    """`box` grown by `km` on every side (longitude degrees measured at the box's edge nearer the pole)."""
    dlat = math.degrees(km / EARTH_RADIUS_KM)
    pole_lat = min(max(abs(box.min_lat), abs(box.max_lat)) + dlat, 89.9)
    dlon = min(dlat / max(math.cos(math.radians(pole_lat)), 1e-6), 180.0)
    return BBox(
        max(box.min_lon - dlon, -180.0),
        max(box.min_lat - dlat, -90.0),
        min(box.max_lon + dlon, 180.0),
        min(box.max_lat + dlat, 90.0),
    )


def populated_cells(session: Session) -> list[tuple[str, int]]:
    """Every cell holding at least one supply, with its number of supplies, most first."""
    lat_cell = sa.func.floor(Site.lat / CELL_DEGREES)
    lon_cell = sa.func.floor(Site.lon / CELL_DEGREES)
    rows = session.execute(
        sa.select(lat_cell, lon_cell, sa.func.count())
        .select_from(ResourceFlow)
        .join(Site, Site.id == ResourceFlow.site_id)
        .where(ResourceFlow.direction == "supply")
        .group_by(lat_cell, lon_cell)
    ).all()
    cells = [(f"{float(la) * CELL_DEGREES:g},{float(lo) * CELL_DEGREES:g}", int(n)) for la, lo, n in rows]
    return sorted(cells, key=lambda c: (-c[1], c[0]))


def match_cell(
    session: Session, cell: str, request: service.MatchRequest
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The matches whose supply lies in `cell`, as a whole-register run would find them, with run statistics."""
    started = time.perf_counter()
    box = cell_box(cell)
    st = service.build_state(session, within=[with_margin(box, 2 * request.radius_km)])
    ranked = service.run_engine(st, request)
    result = ranked.result
    arrays = st.flows.arrays
    lat = np.empty(len(st.flows))
    lon = np.empty(len(st.flows))
    lat[arrays.key], lon[arrays.key] = arrays.lat, arrays.lon
    s_lat, s_lon = lat[result.supply_key], lon[result.supply_key]
    inside = (s_lat >= box.min_lat) & (s_lat < box.max_lat) & (s_lon >= box.min_lon) & (s_lon < box.max_lon)
    keep = inside & (result.distance_km <= request.radius_km)
    if request.min_score > 0:
        keep &= ranked.score >= request.min_score
    rows = np.flatnonzero(keep)
    matches = service.shape(st, result, rows, request.params(), request.sector_weight, ranked.sector[rows])
    summary = {
        "cell": cell,
        "flows": len(st.flows),
        "flows_unclassified": st.flows.skipped_unclassified,
        "pairs_considered": ranked.stats.pairs_passed,
        "matches": len(matches),
        "facilitated": sum(m["route"] == "facilitated" for m in matches),
        "seconds": round(time.perf_counter() - started, 4),
        "catalog_version": st.catalog.version,
        "data_version": st.flows.version,
    }
    return matches, summary


def store_cell(
    session: Session, cell: str, request: service.MatchRequest, *, trigger: str, collect: Any = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Match a cell and store its run (a worker's job, a Dask task); `collect` takes the `match.found` events."""
    from turash.kit.db import ready_to_write

    matches, summary = match_cell(session, cell, request)
    ready_to_write(session)  # SQLite: other workers write too; wait for the writer's lock, never fail
    service.record_run(session, request, matches, summary, trigger=trigger, collect=collect)
    return matches, summary
