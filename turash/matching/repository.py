"""Loading the register's flows into the engine's columnar arrays, and storing what matching returns.

One SELECT of the needed columns (no ORM objects: 100k flows load in well under a second), converted column by
column: SI quantities and their kind, availability windows in days, schedules into month masks and weekly hours,
prices into EUR per SI unit, the receiving site's hazardous-waste permit, and each flow's weighted classes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.catalog import get_catalog
from turash.kit.bulk import insert_rows
from turash.matching.engine import OPEN_END, OPEN_START, FlowArrays, Precision, QuantityKind
from turash.matching.schedule import parse_schedule
from turash.models import MatchRecord, Organization, ResourceFlow, Site
from turash.models.flow import CATEGORIES

# Flow quantity kinds (turash.kit.units) → engine codes. Amounts without a time base are read as per year.
_KINDS = {
    "mass_rate": QuantityKind.MASS_RATE,
    "power": QuantityKind.POWER,
    "volume_rate": QuantityKind.VOLUME_RATE,
    "energy": QuantityKind.ENERGY,
    "mass": QuantityKind.MASS,
    "volume": QuantityKind.VOLUME,
}
# `price_eur_per_unit` is read in the market unit of each kind of quantity: EUR per tonne for materials, per MWh
# for energy (heat, steam, electricity), per m3 for volumes. Divided by these, it is EUR per SI unit.
PRICE_UNIT_SI = {
    "mass_rate": 1000.0,
    "mass": 1000.0,  # EUR/t → EUR/kg
    "power": 3.6e9,
    "energy": 3.6e9,  # EUR/MWh → EUR/J
    "volume_rate": 1.0,
    "volume": 1.0,  # EUR/m3
}
PRICE_UNIT_LABEL = {
    "mass_rate": "EUR/t",
    "mass": "EUR/t",
    "power": "EUR/MWh",
    "energy": "EUR/MWh",
    "volume_rate": "EUR/m3",
    "volume": "EUR/m3",
}
_PRECISION = {"rough": Precision.ROUGH, "estimated": Precision.ESTIMATED, "measured": Precision.MEASURED}
_CATEGORY = {name: i for i, name in enumerate(CATEGORIES)}
_EPOCH = date(1970, 1, 1)


@dataclass
class FlowInfo:
    """What the output needs to say about a flow, beside the arrays the engine reads."""

    flow_id: str
    organization_id: str
    organization: str
    site: str
    resource: str
    resource_class: str | None
    inferred: bool
    country: str | None
    direction: str
    category: str
    updated: str
    ewc_code: str | None
    resource_class_name: str | None


@dataclass
class LoadedFlows:
    arrays: FlowArrays
    info: list[FlowInfo]  # info[key] for engine key `key`
    row_of_flow: dict[str, int]
    skipped_unclassified: int
    version: str

    def __len__(self) -> int:
        return len(self.info)


def data_version(session: Session) -> str:
    """Changes whenever anything matching reads changes: a flow, a site (location, permits) or an organisation
    (business rules) added, changed or removed (counts and newest change times, in one query)."""
    parts = [sa.select(sa.func.count(m.id)).scalar_subquery() for m in (ResourceFlow, Site, Organization)]
    parts += [sa.select(sa.func.max(m.updated_at)).scalar_subquery() for m in (ResourceFlow, Site, Organization)]
    row = session.execute(sa.select(*parts)).one()
    return hashlib.sha256("|".join(map(str, row)).encode()).hexdigest()[:24]


def _days(value: date | None, default: int) -> int:
    return default if value is None else (value - _EPOCH).days


class FlowColumns:
    """Accumulates flows, one `add` per flow, into the engine's columns."""

    NAMES = (
        "lat",
        "lon",
        "is_supply",
        "category",
        "quantity",
        "quantity_kind",
        "temperature_c",
        "pressure_bar",
        "purity_pct",
        "hazardous",
        "hazard_permit",
        "available_from",
        "available_to",
        "month_mask",
        "weekly_hours",
        "precision",
        "inferred",
        "org",
        "price_eur",
    )

    def __init__(self) -> None:
        self.classes: list[list[tuple[int, float]]] = []
        self.cols: dict[str, list[Any]] = {name: [] for name in self.NAMES}

    def add(
        self,
        class_index: dict[str, int],
        *,
        best: str | None,
        candidates: list[Any] | None,
        lat: float,
        lon: float,
        direction: str,
        category: str | None,
        kind: str | None,
        quantity_si: float | None,
        temperature: float | None,
        pressure: float | None,
        purity: float | None,
        hazardous: bool | None,
        permits: dict[str, Any] | None,
        available_from: date | None,
        available_to: date | None,
        schedule: str | None,
        price: float | None,
        precision: str | None,
        inferred: bool | None,
        org: int,
    ) -> bool:
        """Add one flow; False (nothing added) when the catalogue knows none of its classes."""
        weighted = [(class_index[c], float(w)) for c, w in (candidates or []) if c in class_index]
        if not weighted and best in class_index:
            weighted = [(class_index[best], 1.0)]
        if not weighted or category not in _CATEGORY:
            return False
        total = sum(w for _, w in weighted)
        self.classes.append([(c, min(1.0, w / total)) for c, w in weighted])
        sched = parse_schedule(schedule)
        nan = math.nan
        c = self.cols
        c["lat"].append(lat)
        c["lon"].append(lon)
        c["is_supply"].append(direction == "supply")
        c["category"].append(_CATEGORY[category])
        c["quantity"].append(nan if quantity_si is None else quantity_si)
        c["quantity_kind"].append(int(_KINDS.get(kind or "", QuantityKind.UNKNOWN)))
        c["temperature_c"].append(nan if temperature is None else temperature)
        c["pressure_bar"].append(nan if pressure is None else pressure)
        c["purity_pct"].append(nan if purity is None else purity)
        c["hazardous"].append(bool(hazardous))
        c["hazard_permit"].append(bool((permits or {}).get("hazardous_waste")))
        c["available_from"].append(_days(available_from, OPEN_START))
        c["available_to"].append(_days(available_to, OPEN_END))
        c["month_mask"].append(sched.month_mask)
        c["weekly_hours"].append(sched.weekly_hours)
        c["precision"].append(int(_PRECISION.get(precision or "", Precision.ESTIMATED)))
        c["inferred"].append(bool(inferred))
        c["org"].append(org)
        c["price_eur"].append(nan if price is None or kind not in PRICE_UNIT_SI else price / PRICE_UNIT_SI[kind])
        return True

    def arrays(self, keys: np.ndarray[Any, Any]) -> FlowArrays:
        return FlowArrays.build(classes=self.classes, key=keys, **self.cols)


def load_flows(session: Session, class_index: dict[str, int], *, include_inferred: bool = True) -> LoadedFlows:
    """Every flow the catalogue understood (at least one known class), as engine arrays."""
    version = data_version(session)
    class_names = {c.id: c.name for c in get_catalog().classes}
    query = (
        sa.select(
            ResourceFlow.id,
            ResourceFlow.organization_id,
            Organization.name,
            Site.name,
            Site.lat,
            Site.lon,
            Site.country,
            Site.permits,
            ResourceFlow.direction,
            ResourceFlow.resource,
            ResourceFlow.resource_class,
            ResourceFlow.resource_classes,
            ResourceFlow.category,
            ResourceFlow.quantity_kind,
            ResourceFlow.quantity_si,
            ResourceFlow.temperature_c,
            ResourceFlow.pressure_bar,
            ResourceFlow.purity_pct,
            ResourceFlow.hazardous,
            ResourceFlow.available_from,
            ResourceFlow.available_to,
            ResourceFlow.schedule,
            ResourceFlow.price_eur_per_unit,
            ResourceFlow.precision,
            ResourceFlow.inferred,
            ResourceFlow.updated_at,
            ResourceFlow.ewc_code,
        )
        .join(Site, Site.id == ResourceFlow.site_id)
        .join(Organization, Organization.id == ResourceFlow.organization_id)
        .order_by(ResourceFlow.id)
    )
    if not include_inferred:
        query = query.where(ResourceFlow.inferred.is_(False))
    info: list[FlowInfo] = []
    rows = FlowColumns()
    org_index: dict[str, int] = {}
    skipped = 0
    for (
        flow_id,
        org_id,
        org_name,
        site_name,
        lat,
        lon,
        country,
        permits,
        direction,
        resource,
        best,
        candidates,
        category,
        kind,
        quantity_si,
        temperature,
        pressure,
        purity,
        hazardous,
        available_from,
        available_to,
        schedule,
        price,
        precision,
        inferred,
        updated,
        ewc_code,
    ) in session.execute(query):
        added = rows.add(
            class_index,
            best=best,
            candidates=candidates,
            lat=lat,
            lon=lon,
            direction=direction,
            category=category,
            kind=kind,
            quantity_si=quantity_si,
            temperature=temperature,
            pressure=pressure,
            purity=purity,
            hazardous=hazardous,
            permits=permits,
            available_from=available_from,
            available_to=available_to,
            schedule=schedule,
            price=price,
            precision=precision,
            inferred=inferred,
            org=org_index.setdefault(org_id, len(org_index)),
        )
        if not added:
            skipped += 1
            continue
        info.append(
            FlowInfo(
                flow_id,
                org_id,
                org_name,
                site_name,
                resource,
                best,
                bool(inferred),
                country,
                direction,
                category,
                str(updated),
                ewc_code,
                class_names.get(best or ""),
            )
        )
    arrays = rows.arrays(np.arange(len(info), dtype=np.int64))
    return LoadedFlows(
        arrays=arrays,
        info=info,
        row_of_flow={f.flow_id: i for i, f in enumerate(info)},
        skipped_unclassified=skipped,
        version=version,
    )


def match_id(supply_flow_id: str, demand_flow_id: str) -> str:
    """Stable and reversible: the two flow ids, so a match can be found again (and recomputed) from its id."""
    return f"m{supply_flow_id}{demand_flow_id}"


def flows_of_match(identifier: str) -> tuple[str, str] | None:
    if len(identifier) != 65 or not identifier.startswith("m"):
        return None
    return identifier[1:33], identifier[33:]


def inputs_version(supply: FlowInfo, demand: FlowInfo) -> str:
    return hashlib.sha256(f"{supply.flow_id}:{supply.updated}:{demand.flow_id}:{demand.updated}".encode()).hexdigest()


def store_matches(session: Session, rows: list[dict[str, Any]]) -> int:
    """Upsert matches by id (the latest computation of a pair replaces the previous one)."""
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 900):
        session.execute(sa.delete(MatchRecord).where(MatchRecord.id.in_(ids[start : start + 900])))
    return insert_rows(session, MatchRecord.__table__, rows)


def get_match(session: Session, identifier: str) -> MatchRecord | None:
    return session.get(MatchRecord, identifier)
