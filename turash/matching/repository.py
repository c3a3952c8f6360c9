"""Loading the register's flows into the engine's columnar arrays, and storing what matching returns.

One SELECT of the needed columns (no ORM objects: 100k flows load in well under a second), converted column by
column: SI quantities and their kind, availability windows in days, schedules into month masks and weekly hours,
prices into EUR per SI unit, the receiving site's hazardous-waste permit, and each flow's weighted classes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import Any, overload

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.catalog import get_catalog
from turash.kit.bulk import insert_rows
from turash.kit.geo import BBox
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


@dataclass(slots=True)
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
    nace: str | None = None
    inferred_from: str | None = None


@dataclass
class LoadedFlows:
    arrays: FlowArrays
    info: Sequence[FlowInfo]  # info[key] for engine key `key`
    row_of_flow: dict[str, int]
    skipped_unclassified: int
    version: str

    def __len__(self) -> int:
        return len(self.info)

    @cached_property
    def facts(self) -> FlowFacts:
        """Per-flow facts the rules read, as arrays indexed by key (built once per loaded register)."""
        from turash.matching.routing import END_OF_WASTE

        countries: dict[str, int] = {}
        orgs: dict[str, int] = {}
        return FlowFacts(
            has_ewc=np.array([f.ewc_code is not None for f in self.info], dtype=bool),
            end_of_waste=np.array([f.resource_class in END_OF_WASTE for f in self.info], dtype=bool),
            country=np.array(
                [countries.setdefault(f.country, len(countries)) if f.country else -1 for f in self.info],
                dtype=np.int32,
            ),
            org=np.array([orgs.setdefault(f.organization_id, len(orgs)) for f in self.info], dtype=np.int32),
            org_ids=list(orgs),
            country_codes=countries,
            org_codes=orgs,
        )

    def plus(self, flow: FlowInfo) -> LoadedFlows:
        """These flows and one more (an ad-hoc query) under the next key; the facts are extended, not rebuilt."""
        out = replace(self, info=PlusOne(self.info, flow))
        out.__dict__["facts"] = self.facts.plus(flow)  # the cached_property's slot
        return out


class PlusOne(Sequence[FlowInfo]):
    """A sequence of flows and one more at the end, without copying it (an ad-hoc query against 1M flows)."""

    __slots__ = ("base", "extra")

    def __init__(self, base: Sequence[FlowInfo], extra: FlowInfo) -> None:
        self.base, self.extra = base, extra

    def __len__(self) -> int:
        return len(self.base) + 1

    @overload
    def __getitem__(self, i: int) -> FlowInfo: ...

    @overload
    def __getitem__(self, i: slice) -> list[FlowInfo]: ...

    def __getitem__(self, i: int | slice) -> FlowInfo | list[FlowInfo]:
        if isinstance(i, slice):
            return [*self.base, self.extra][i]
        n = len(self.base)
        j = i + n + 1 if i < 0 else i
        if j == n:
            return self.extra
        if not 0 <= j < n:
            raise IndexError(i)
        return self.base[j]


@dataclass
class FlowFacts:
    has_ewc: np.ndarray[Any, Any]
    end_of_waste: np.ndarray[Any, Any]
    country: np.ndarray[Any, Any]
    org: np.ndarray[Any, Any]
    org_ids: list[str]
    country_codes: dict[str, int] = field(default_factory=dict)
    org_codes: dict[str, int] = field(default_factory=dict)

    def plus(self, flow: FlowInfo) -> FlowFacts:
        """The facts with one more flow at the end (the codes of a new country or organisation are appended)."""
        from turash.matching.routing import END_OF_WASTE

        countries, orgs = dict(self.country_codes), dict(self.org_codes)
        country = countries.setdefault(flow.country, len(countries)) if flow.country else -1
        org = orgs.setdefault(flow.organization_id, len(orgs))
        return FlowFacts(
            has_ewc=np.append(self.has_ewc, flow.ewc_code is not None),
            end_of_waste=np.append(self.end_of_waste, flow.resource_class in END_OF_WASTE),
            country=np.append(self.country, np.int32(country)),
            org=np.append(self.org, np.int32(org)),
            org_ids=list(orgs),
            country_codes=countries,
            org_codes=orgs,
        )


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
        weighted = _weigh(candidates, best, class_index)
        if not weighted or category not in _CATEGORY:
            return False
        self.classes.append(weighted)
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


_COLUMNS = (
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
    sa.func.coalesce(Site.nace, Organization.nace),
    ResourceFlow.inferred_from,
)


def _json(value: Any, cache: dict[str, Any]) -> Any:
    """JSON columns come back as text from SQLite's driver and as objects from psycopg; texts repeat a lot."""
    if value is None or not isinstance(value, str):
        return value
    parsed = cache.get(value)
    if parsed is None:
        parsed = cache[value] = json.loads(value)
    return parsed


def _weigh(candidates: Any, best: str | None, class_index: dict[str, int]) -> list[tuple[int, float]]:
    """A flow's known classes with weights summing to 1 (its best class alone when no candidate is known)."""
    weighted = [(class_index[c], float(w)) for c, w in (candidates or []) if c in class_index]
    if not weighted and best in class_index:
        weighted = [(class_index[best], 1.0)]
    total = sum(w for _, w in weighted)
    return [(c, min(1.0, w / total)) for c, w in weighted]


def _day_number(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, str):  # SQLite's driver: ISO text
        value = date.fromisoformat(value[:10])
    return int((value - _EPOCH).days)


def _floats(column: tuple[Any, ...]) -> np.ndarray[Any, Any]:
    return np.array([math.nan if v is None else v for v in column], dtype=np.float64)


def load_flows(
    session: Session,
    class_index: dict[str, int],
    *,
    include_inferred: bool = True,
    within: Sequence[BBox] | None = None,
) -> LoadedFlows:
    """Every flow the catalogue understood (at least one known class), as engine arrays; only the flows of the
    sites inside one of the boxes `within` when given (none: no flow).

    Column-wise: one raw SELECT through the driver, then one pass per column (lists and numpy), because a Python
    call per flow and field is what makes loading slow at 100k+ flows."""
    version = data_version(session)
    class_names = {c.id: c.name for c in get_catalog().classes}
    query = (
        sa.select(*_COLUMNS)
        .join(Site, Site.id == ResourceFlow.site_id)
        .join(Organization, Organization.id == ResourceFlow.organization_id)
        .order_by(ResourceFlow.id)
    )
    if not include_inferred:
        query = query.where(ResourceFlow.inferred.is_(False))
    if within is not None:
        query = query.where(
            sa.or_(
                sa.false(),
                *(
                    sa.and_(Site.lat.between(b.min_lat, b.max_lat), Site.lon.between(b.min_lon, b.max_lon))
                    for b in within
                ),
            )
        )
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    # the driver's own cursor: plain tuples (SQLAlchemy's Row wrappers cost a quarter of the load at 70k flows)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    texts: dict[str, Any] = {}
    # Classes: a flow without any class the catalogue knows, or without a category, cannot be matched. The
    # candidate lists repeat (sector profiles): each distinct (candidates, best class) is weighed once.
    classes: list[list[tuple[int, float]]] = []
    keep: list[int] = []
    weighed: dict[tuple[Any, Any], list[tuple[int, float]]] = {}
    for i, row in enumerate(rows):
        if row[12] not in _CATEGORY:
            continue
        raw = row[11]
        memo = (raw, row[10]) if raw is None or isinstance(raw, str) else None
        weighted = weighed.get(memo) if memo is not None else None
        if weighted is None:
            weighted = _weigh(_json(raw, texts), row[10], class_index)
            if memo is not None:
                weighed[memo] = weighted
        if weighted:
            classes.append(weighted)
            keep.append(i)
    kept = [rows[i] for i in keep]
    n = len(kept)
    col = list(zip(*kept, strict=True)) if kept else [() for _ in _COLUMNS]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum([len(c) for c in classes], out=indptr[1:])
    schedules = [parse_schedule(v) for v in col[21]]
    org_index: dict[str, int] = {}
    kinds = col[13]
    price = _floats(col[22]) / np.array([PRICE_UNIT_SI.get(k or "", math.nan) for k in kinds], dtype=np.float64)
    arrays = FlowArrays(
        key=np.arange(n, dtype=np.int64),
        lat=np.array(col[4], dtype=np.float64),
        lon=np.array(col[5], dtype=np.float64),
        is_supply=np.array([d == "supply" for d in col[8]], dtype=np.bool_),
        category=np.array([_CATEGORY[c] for c in col[12]], dtype=np.int8),
        class_indptr=indptr,
        class_index=np.array([c for cl in classes for c, _ in cl], dtype=np.int32),
        class_weight=np.array([w for cl in classes for _, w in cl], dtype=np.float32),
        quantity=_floats(col[14]),
        quantity_kind=np.array([int(_KINDS.get(k or "", QuantityKind.UNKNOWN)) for k in kinds], dtype=np.int8),
        temperature_c=_floats(col[15]),
        pressure_bar=_floats(col[16]),
        purity_pct=_floats(col[17]),
        hazardous=np.array([bool(v) for v in col[18]], dtype=np.bool_),
        hazard_permit=np.array([bool((_json(v, texts) or {}).get("hazardous_waste")) for v in col[7]], np.bool_),
        available_from=np.array([_day_number(v, OPEN_START) for v in col[19]], dtype=np.int32),
        available_to=np.array([_day_number(v, OPEN_END) for v in col[20]], dtype=np.int32),
        month_mask=np.array([sc.month_mask for sc in schedules], dtype=np.uint16),
        weekly_hours=np.array([sc.weekly_hours for sc in schedules], dtype=np.float32),
        precision=np.array([int(_PRECISION.get(v or "", Precision.ESTIMATED)) for v in col[23]], dtype=np.int8),
        inferred=np.array([bool(v) for v in col[24]], dtype=np.bool_),
        org=np.array([org_index.setdefault(v, len(org_index)) for v in col[1]], dtype=np.int32),
        price_eur=price,
    )
    info = [
        FlowInfo(
            r[0],
            r[1],
            r[2],
            r[3],
            r[9],
            r[10],
            bool(r[24]),
            r[6],
            r[8],
            r[12],
            str(r[25]),
            r[26],
            class_names.get(r[10] or ""),
            r[27],
            r[28],
        )
        for r in kept
    ]
    return LoadedFlows(
        arrays=arrays,
        info=info,
        row_of_flow={f.flow_id: i for i, f in enumerate(info)},
        skipped_unclassified=len(rows) - n,
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
