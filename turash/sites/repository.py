from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.kit import spatial
from turash.kit.filters import nace_matches
from turash.kit.geo import BBox
from turash.models import Site
from turash.organizations.repository import visible_to


@dataclass(frozen=True)
class SiteFilter:
    organization_id: str | None = None
    country: str | None = None
    nace: str | None = None
    bbox: BBox | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    q: str | None = None


def search(
    session: Session, principal: Principal, flt: SiteFilter, limit: int, offset: int
) -> tuple[list[tuple[Site, float | None]], int]:
    table = Site.__table__
    distance: sa.ColumnElement[float] | None = None
    query = sa.select(Site).where(visible_to(principal, Site.organization_id))
    if flt.organization_id:
        query = query.where(Site.organization_id == flt.organization_id)
    if flt.country:
        query = query.where(Site.country == flt.country)
    if flt.nace:
        query = query.where(nace_matches(Site.nace, flt.nace))
    if flt.q:
        query = query.where(Site.name_key.contains(" ".join(flt.q.casefold().split())))
    if flt.bbox:
        query = query.where(spatial.in_bbox(table, flt.bbox))  # type: ignore[arg-type]
    if flt.lat is not None and flt.lon is not None and flt.radius_km is not None:
        query = query.where(spatial.within_km(session, table, flt.lat, flt.lon, flt.radius_km))  # type: ignore[arg-type]
        distance = spatial.distance_km(session, table, flt.lat, flt.lon)  # type: ignore[arg-type]
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    if distance is not None:
        rows = session.execute(query.add_columns(distance).order_by(distance, Site.id).limit(limit).offset(offset))
        return [(site, float(d)) for site, d in rows], total
    sites = session.scalars(query.order_by(Site.name, Site.id).limit(limit).offset(offset))
    return [(site, None) for site in sites], total


def by_name(session: Session, organization_id: str, key: str) -> Site | None:
    return session.scalar(sa.select(Site).where(Site.organization_id == organization_id, Site.name_key == key))
