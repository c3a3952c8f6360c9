"""Regional symbiosis potential: what a region could exchange, from everything the register knows (declared,
register and inferred flows), with every opportunity priced.

Opportunities are the matches whose supplier lies in the region (country, or bounding box). Totals must not count
a supply twice when it has several candidate receivers, so they come from a greedy allocation: opportunities in
order of score, each takes what is left of its supply and of its demand (both per year; an unknown demand takes
all that is left of the supply). Opportunities whose supply quantity is unknown are listed but add nothing to the
totals. One that finds its supply or its demand already taken by
a better one is listed as an `alternative`, with the figures it would have if it were chosen instead.

Grid electricity is left out: every site draws power from the public grid, so a neighbour's surplus power meeting a
demand that was only inferred from a sector profile is a grid transaction, not an exchange anyone would arrange.
(Declared electricity demands stay: a company that declares one may mean a private wire.) Also left out: pairs of
one company's two register entries at one place (alike names within 1 km: an internal transfer, if anything), and
the mirror of a better-ranked pair of guesses (two sites of one sector profile each "supplying" the other the same
resource says only that the profile has both the surplus and the need). The report says how many of each were left
out (`left_out`).
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.catalog import get_catalog
from turash.kit.codes import normalise_country
from turash.kit.errors import ValidationFailed
from turash.kit.geo import BBox, grow_bbox
from turash.matching import economics as match_economics
from turash.matching import service
from turash.matching.engine import QuantityKind
from turash.models import Site
from turash.models.flow import CATEGORIES
from turash.registers.resolution import names_alike

J_PER_GWH = 3.6e12
SECONDS_PER_YEAR = match_economics.SECONDS_PER_YEAR
_PER_YEAR = {
    int(QuantityKind.MASS_RATE): SECONDS_PER_YEAR,
    int(QuantityKind.POWER): SECONDS_PER_YEAR,
    int(QuantityKind.VOLUME_RATE): SECONDS_PER_YEAR,
    int(QuantityKind.MASS): 1.0,
    int(QuantityKind.ENERGY): 1.0,
    int(QuantityKind.VOLUME): 1.0,
}
_FAMILY = {
    int(QuantityKind.MASS_RATE): "mass",
    int(QuantityKind.MASS): "mass",
    int(QuantityKind.POWER): "energy",
    int(QuantityKind.ENERGY): "energy",
    int(QuantityKind.VOLUME_RATE): "volume",
    int(QuantityKind.VOLUME): "volume",
}
# Levelised costs come per SI unit delivered; shown per MWh, per tonne, per m3.
_SI_PER_DISPLAY = {"energy": 3.6e9, "mass": 1000.0, "volume": 1.0}
CSV_COLUMNS = (
    "score",
    "category",
    "supplier",
    "supplier_site",
    "supply",
    "receiver",
    "receiver_site",
    "demand",
    "allocated",
    "unit",
    "distance_km",
    "route_km",
    "pipe_diameter_mm",
    "transport",
    "capex_eur",
    "levelised_cost",
    "levelised_cost_unit",
    "npv_eur",
    "co2_avoided_t_per_year",
    "supply_inferred",
    "demand_inferred",
    "route",
    "alternative",
)


@dataclass(frozen=True)
class Region:
    country: str | None = None
    bbox: BBox | None = None

    def label(self) -> str:
        return self.country or (
            f"bbox {self.bbox.min_lon},{self.bbox.min_lat},{self.bbox.max_lon},{self.bbox.max_lat}"
            if self.bbox
            else "everywhere"
        )


def parse_region(country: str | None, bbox: str | None) -> Region:
    """The region from a country code or name and/or a `min_lon,min_lat,max_lon,max_lat` text."""
    try:
        return Region(country=normalise_country(country) if country else None, bbox=BBox.parse(bbox) if bbox else None)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None


def _yearly(flows: Any, rows: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], list[str | None]]:
    kind = flows.quantity_kind[rows]
    factor = np.array([_PER_YEAR.get(int(k), math.nan) for k in kind])
    return flows.quantity[rows] * factor, [_FAMILY.get(int(k)) for k in kind]


def potential(
    session: Session,
    holder: dict[str, Any],
    region: Region,
    *,
    radius_km: float = 50.0,
    top_k: int = 5,
    include_inferred: bool = True,
    can_see: Callable[[str], bool] | None = None,
    local: bool = False,
) -> dict[str, Any]:
    """`can_see(organization_id)` says whether the caller may see an organisation's name; the others appear as
    "private organisation" with their sector (staged disclosure). None: everything is visible (the CLI).

    `local`: match only the flows within two radii of the region (enough for every list a supply of the region
    is on: its receivers lie within one radius, their other candidates within two) instead of the shared, cached
    state of the whole register: the same opportunities, faster for a one-off run (the CLI)."""
    if region.country is None and region.bbox is None:
        raise ValidationFailed("give a region: a country code or a bounding box")
    start = time.perf_counter()
    if local:
        st = service.build_state(session, within=_reach(session, region, 2.0 * radius_km))
    else:
        st = service.state(session, holder)
    request = service.MatchRequest(top_k=top_k, radius_km=radius_km, include_inferred=include_inferred)
    ranked = service.run_engine(st, request)
    result, info, fl = ranked.result, st.flows.info, st.index.flows
    keep = result.distance_km <= radius_km
    srow, drow = result.supply_row, result.demand_row
    if region.country is not None:
        code = region.country.upper()
        in_region = np.array([f.country == code for f in info], dtype=bool)
        keep &= in_region[result.supply_key]
    if region.bbox is not None:
        b = region.bbox
        keep &= (
            (fl.lat[srow] >= b.min_lat)
            & (fl.lat[srow] <= b.max_lat)
            & (fl.lon[srow] >= b.min_lon)
            & (fl.lon[srow] <= b.max_lon)
        )
    grid = _grid_electricity(info, result)
    dropped = {
        "grid electricity to an inferred demand": int(np.count_nonzero(keep & grid)),
        "one company's two register entries at one place": 0,
        "the mirror of a better-ranked pair of guesses": 0,
    }
    keep &= ~grid
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(-ranked.score[rows], kind="stable")]
    priced = match_economics.price(st.index, result, rows, st.flows, st.catalog.class_ids)
    s_amount, s_family = _yearly(fl, srow[rows])
    d_amount, d_family = _yearly(fl, drow[rows])
    left: dict[tuple[str, int], float] = {}
    opportunities = []
    totals = {
        "heat_gwh_per_year": 0.0,
        "materials_t_per_year": 0.0,
        "water_m3_per_year": 0.0,
        "co2_avoidable_t_per_year": 0.0,
        "capex_eur": 0.0,
    }
    out = priced.outputs
    seen: set[tuple[str, str, str | None, str | None]] = set()
    for j, i in enumerate(rows.tolist()):
        s_key, d_key = int(result.supply_key[i]), int(result.demand_key[i])
        s, d = info[s_key], info[d_key]
        if float(result.distance_km[i]) < SAME_PLACE_KM and names_alike(s.organization, d.organization) >= SAME_NAME:
            dropped["one company's two register entries at one place"] += 1
            continue
        if s.inferred and d.inferred:
            pair = (s.organization_id, d.organization_id, s.resource_class, d.resource_class)
            if (d.organization_id, s.organization_id, s.resource_class, d.resource_class) in seen:
                dropped["the mirror of a better-ranked pair of guesses"] += 1
                continue
            seen.add(pair)
        category = CATEGORIES[int(fl.category[srow[i]])]
        family = s_family[j] or d_family[j]
        allocated = math.nan
        if family and s_family[j] in (family, None) and d_family[j] in (family, None):
            supply_left = left.setdefault(("s", s_key), float(s_amount[j]))
            demand_left = left.setdefault(("d", d_key), float(d_amount[j]))
            # the supply bounds what can change hands: an unknown supply claims nothing (not the demand's size)
            if supply_left == supply_left:
                allocated = max(0.0, supply_left if demand_left != demand_left else min(supply_left, demand_left))
                for side, key in (("s", s_key), ("d", d_key)):
                    if left[(side, key)] == left[(side, key)]:
                        left[(side, key)] -= allocated
        exchanged = out["delivered"][j]
        share = allocated / exchanged if allocated == allocated and exchanged and exchanged == exchanged else math.nan
        co2 = float(out["co2"][j]) * share if share == share else math.nan
        unit, display = _UNITS.get(family or "", (None, 1.0))
        if allocated == allocated and allocated > 0:
            if family == "energy":
                totals["heat_gwh_per_year"] += allocated / J_PER_GWH
            elif family == "mass" and category == "material":
                totals["materials_t_per_year"] += allocated / 1000.0
            elif family == "volume":
                totals["water_m3_per_year"] += allocated
            if co2 == co2:
                totals["co2_avoidable_t_per_year"] += co2
            capex = float(out["capex"][j])
            if capex == capex:
                totals["capex_eur"] += capex * (share if share == share else 1.0)
        s_name, s_site = _shown(s, can_see)
        d_name, d_site = _shown(d, can_see)
        diameter = float(out["diameter_m"][j])
        lcoe = float(out["levelised_cost"][j])
        opportunities.append(
            {
                "score": round(float(ranked.score[i]), 4),
                "category": category,
                "supplier": s_name,
                "supplier_site": s_site,
                "supply": s.resource,
                "receiver": d_name,
                "receiver_site": d_site,
                "demand": d.resource,
                "allocated": None if allocated != allocated else round(float(allocated) / display, 3),
                "unit": unit,
                "alternative": allocated == 0.0,
                "distance_km": round(float(result.distance_km[i]), 2),
                "route_km": None
                if out["route_m"][j] != out["route_m"][j]
                else round(float(out["route_m"][j]) / 1000, 2),
                "pipe_diameter_mm": None if diameter != diameter or category == "material" else round(diameter * 1000),
                "transport": "truck" if category == "material" else "pipe",
                "capex_eur": None if out["capex"][j] != out["capex"][j] else round(float(out["capex"][j])),
                "levelised_cost": None if lcoe != lcoe else round(lcoe * _SI_PER_DISPLAY.get(family or "", 1.0), 2),
                "levelised_cost_unit": {"energy": "EUR/MWh", "mass": "EUR/t", "volume": "EUR/m3"}.get(family or "", ""),
                "npv_eur": None if out["npv"][j] != out["npv"][j] else round(float(out["npv"][j])),
                "co2_avoided_t_per_year": None if co2 != co2 else round(float(co2), 1),
                "supply_inferred": s.inferred,
                "demand_inferred": d.inferred,
            }
        )
    return {
        "region": region.label(),
        "radius_km": radius_km,
        "include_inferred": include_inferred,
        "totals": {k: round(float(v), 1) for k, v in totals.items()},
        "opportunities_count": len(opportunities),
        "flows_considered": len(st.flows),
        "left_out": dropped,
        "opportunities": opportunities,
        "seconds": round(time.perf_counter() - start, 3),
        "attribution": "Flows from public registers and sector profiles: Hotmaps Industrial Database (Fraunhofer "
        "ISI, CC BY 4.0), E-PRTR (EEA); inferred flows are estimates (precision rough).",
    }


_CELL_DEG = 5.0  # a country's sites are boxed per cell of this size, so overseas territories add small boxes


def _reach(session: Session, region: Region, km: float) -> list[BBox]:
    """Boxes holding every site within `km` of the region: the bounding box given, grown; or, for a country,
    the box of its sites in each 5° cell, grown (one box for France would span the globe). Empty: no site."""
    if region.bbox is not None:
        return [grow_bbox(region.bbox, km)]
    rows = session.execute(
        sa.select(Site.lat, Site.lon).where(Site.country == (region.country or "").upper(), Site.lat.is_not(None))
    ).all()
    if not rows:
        return []
    points = np.array(rows, dtype=np.float64)
    cells = np.floor(points / _CELL_DEG)
    boxes = []
    for cell in np.unique(cells, axis=0):
        inside = points[(cells == cell).all(axis=1)]
        lo, hi = inside.min(axis=0), inside.max(axis=0)
        boxes.append(grow_bbox(BBox(float(lo[1]), float(lo[0]), float(hi[1]), float(hi[0])), km))
    return boxes


SAME_PLACE_KM = 1.0  # two register entries this close whose names are alike: one company's one plant
SAME_NAME = 0.85
_UNITS = {"energy": ("GWh/yr", J_PER_GWH), "mass": ("t/yr", 1000.0), "volume": ("m3/yr", 1.0)}
_GRID_CLASSES = ("electricity",)  # and its descendants (surplus electricity)


def _grid_electricity(info: Sequence[Any], result: Any) -> np.ndarray[Any, Any]:
    """Per match: True when both flows are electricity and the demand was inferred, not declared."""
    catalog = get_catalog()
    grid = {c for root in _GRID_CLASSES for c in (root, *catalog.descendants(root))}
    electric = np.array([f.resource_class in grid for f in info], dtype=bool)
    inferred = np.array([f.inferred for f in info], dtype=bool)
    both = electric[result.supply_key] & electric[result.demand_key]
    return np.asarray(both & inferred[result.demand_key], dtype=bool)


def _shown(flow: Any, can_see: Callable[[str], bool] | None) -> tuple[str, str]:
    if can_see is None or can_see(flow.organization_id):
        return flow.organization, flow.site
    return f"private organisation (NACE {flow.nace or 'unknown'})", ""


def as_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for o in report["opportunities"]:
        row = [o.get(c) for c in CSV_COLUMNS]
        # Spreadsheet formula guard (OWASP CSV injection) on text cells.
        writer.writerow(
            ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else ("" if v is None else v) for v in row]
        )
    return buffer.getvalue()
