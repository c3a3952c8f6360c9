"""Inferred flows in the register: writing a site's likely flows, and dropping them when the company declares
its own.

Profile guesses are `inferred: true`, precision `rough`, with quantity ranges; figures from a public register
(Hotmaps excess heat, E-PRTR CO2) are `inferred: false`, precision `estimated`, source `register`. Once a company
declares a flow for a site, every profile guess of that site goes, and a register figure goes when a declared flow
of the same direction covers the same resource (turash.sectors.superseded).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.catalog import get_catalog
from turash.flows.service import fingerprint
from turash.kit.bulk import insert_rows
from turash.kit.units import unit_info
from turash.models import ResourceFlow
from turash.models.base import new_ids, utcnow
from turash.search import index as _search_index  # noqa: F401 - indexes our bulk inserts in one statement
from turash.sectors.inference import infer_flows
from turash.sectors.model import RegisterFigures

_ROW = dict.fromkeys(c.key for c in ResourceFlow.__table__.columns)


@dataclass(frozen=True)
class SiteToInfer:
    site_id: str
    organization_id: str
    organization: str
    site: str
    nace: str | None
    employees: float | None = None
    figures: RegisterFigures | None = None


def flow_rows(spec: SiteToInfer, *, min_likelihood: float = 0.25) -> list[dict[str, Any]]:
    """The likely flows of one site as resource_flows rows (nothing when its sector is unknown)."""
    now = utcnow()
    inferred = infer_flows(
        spec.nace, employees=spec.employees, register_figures=spec.figures, min_likelihood=min_likelihood
    )
    rows = []
    for flow, flow_id in zip(inferred, new_ids(len(inferred)), strict=True):
        values = flow.as_flow_values()
        attributes = values.pop("attributes")
        row = {**_ROW, **values}
        if flow.quantity is not None and flow.unit:
            info = unit_info(flow.unit)
            row.update(quantity_kind=info.kind.value, quantity_si=flow.quantity * info.factor, si_unit=info.si_unit)
        row.update(
            id=flow_id,
            organization_id=spec.organization_id,
            site_id=spec.site_id,
            resource_class=flow.class_id,
            resource_classes=[[flow.class_id, 1.0]],
            attributes={**attributes, "likelihood": flow.likelihood},
            source="inferred" if flow.inferred else "register",
            fingerprint=fingerprint(spec.organization, spec.site, values, attributes),
            created_at=now,
            updated_at=now,
        )
        rows.append(row)
    return rows


def infer_sites(session: Session, sites: Iterable[SiteToInfer]) -> int:
    """Write the likely flows of sites that have no flows yet. Returns the number of flows written."""
    specs = list(sites)
    if not specs:
        return 0
    busy: set[str] = set()
    ids = [s.site_id for s in specs]
    for start in range(0, len(ids), 900):
        busy.update(
            session.scalars(
                sa.select(ResourceFlow.site_id).where(ResourceFlow.site_id.in_(ids[start : start + 900])).distinct()
            )
        )
    rows = [row for spec in specs if spec.site_id not in busy for row in flow_rows(spec)]
    return insert_rows(session, ResourceFlow.__table__, rows)


def drop_superseded(session: Session, declared: dict[str, list[tuple[str, str | None]]]) -> int:
    """Remove inferred flows that declared flows replace. `declared` maps site id → [(direction, class id)]."""
    if not declared:
        return 0
    removed = 0
    site_ids = list(declared)
    for start in range(0, len(site_ids), 900):
        chunk = site_ids[start : start + 900]
        removed += _deleted(
            session.execute(
                sa.delete(ResourceFlow).where(ResourceFlow.site_id.in_(chunk), ResourceFlow.inferred.is_(True))
            )
        )
        registered = session.execute(
            sa.select(ResourceFlow.id, ResourceFlow.site_id, ResourceFlow.direction, ResourceFlow.resource_class).where(
                ResourceFlow.site_id.in_(chunk), ResourceFlow.source == "register"
            )
        ).all()
        doomed = []
        for flow_id, site_id, direction, class_id in registered:
            if class_id is None:
                continue
            catalog = get_catalog()  # only when there are register flows to compare: a plain import never loads it
            family = {class_id, *catalog.ancestors(class_id), *catalog.descendants(class_id)}
            if any(d == direction and c in family for d, c in declared[site_id]):
                doomed.append(flow_id)
        if doomed:
            removed += _deleted(session.execute(sa.delete(ResourceFlow).where(ResourceFlow.id.in_(doomed))))
    return removed


def _deleted(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
