from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.kit import spatial
from turash.kit.filters import nace_matches
from turash.kit.geo import BBox
from turash.models import Organization, ResourceFlow, Site
from turash.organizations.repository import visible_to


@dataclass(frozen=True)
class FlowFilter:
    organization_id: str | None = None
    site_id: str | None = None
    direction: str | None = None
    category: str | None = None
    resource_class: str | None = None
    nace: str | None = None
    inferred: bool | None = None
    bbox: BBox | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    q: str | None = None


FlowRow = tuple[ResourceFlow, Organization, Site, float | None]


def search(
    session: Session, principal: Principal | None, flt: FlowFilter, limit: int | None, offset: int = 0
) -> tuple[list[FlowRow], int]:
    """Flows with their organisation and site. `principal=None` means the system itself (CLI): no scoping."""
    sites = Site.__table__
    query = (
        sa.select(ResourceFlow, Organization, Site)
        .join(Site, Site.id == ResourceFlow.site_id)
        .join(Organization, Organization.id == ResourceFlow.organization_id)
    )
    if principal is not None:
        query = query.where(visible_to(principal, ResourceFlow.organization_id))
    for column, value in (
        (ResourceFlow.organization_id, flt.organization_id),
        (ResourceFlow.site_id, flt.site_id),
        (ResourceFlow.direction, flt.direction),
        (ResourceFlow.category, flt.category),
        (ResourceFlow.resource_class, flt.resource_class),
        (ResourceFlow.inferred, flt.inferred),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.nace:
        query = query.where(nace_matches(Site.nace, flt.nace))
    if flt.q:
        query = query.where(ResourceFlow.resource.icontains(flt.q, autoescape=True))
    if flt.bbox:
        query = query.where(spatial.in_bbox(sites, flt.bbox))  # type: ignore[arg-type]
    distance = None
    if flt.lat is not None and flt.lon is not None and flt.radius_km is not None:
        query = query.where(spatial.within_km(session, sites, flt.lat, flt.lon, flt.radius_km))  # type: ignore[arg-type]
        distance = spatial.distance_km(session, sites, flt.lat, flt.lon)  # type: ignore[arg-type]
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    order = (distance, ResourceFlow.id) if distance is not None else (ResourceFlow.id,)
    ordered = query.add_columns(distance if distance is not None else sa.null()).order_by(*order)
    if limit is not None:
        ordered = ordered.limit(limit).offset(offset)
    rows = [(f, o, s, None if d is None else float(d)) for f, o, s, d in session.execute(ordered)]
    return rows, total


def existing_fingerprints(session: Session, fingerprints: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(fingerprints), 900):  # stay under SQLite's bound-parameter limit
        chunk = fingerprints[start : start + 900]
        found.update(session.scalars(sa.select(ResourceFlow.fingerprint).where(ResourceFlow.fingerprint.in_(chunk))))
    return found


def by_fingerprint(session: Session, site_id: str, fingerprint: str) -> ResourceFlow | None:
    return session.scalar(
        sa.select(ResourceFlow).where(ResourceFlow.site_id == site_id, ResourceFlow.fingerprint == fingerprint)
    )
