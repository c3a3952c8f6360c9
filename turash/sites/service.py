from __future__ import annotations

from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.kit.errors import Conflict
from turash.models import Site
from turash.models.base import name_key, new_id
from turash.organizations.service import OrgAccess
from turash.sites import repository
from turash.sites.repository import SiteFilter
from turash.sites.schemas import SiteCreate, SiteUpdate


def create(session: Session, access: OrgAccess, data: SiteCreate, *, source: str = "user") -> Site:
    key = name_key(data.name)
    if repository.by_name(session, access.organization.id, key) is not None:
        raise Conflict(f"this organisation already has a site named {data.name!r}", code="site_exists")
    site = Site(
        id=new_id(),
        organization_id=access.organization.id,
        name=data.name.strip(),
        name_key=key,
        source=source,
        **data.model_dump(exclude={"name"}),
    )
    session.add(site)
    session.flush()
    return site


def update(session: Session, site: Site, data: SiteUpdate) -> Site:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name"):
        key = name_key(changes["name"])
        other = repository.by_name(session, site.organization_id, key)
        if other is not None and other.id != site.id:
            raise Conflict(f"this organisation already has a site named {changes['name']!r}", code="site_exists")
        site.name_key = key
        changes["name"] = changes["name"].strip()
    for field, value in changes.items():
        if value is None and field in {"name", "lat", "lon", "permits"}:
            continue  # required columns are not cleared by a null
        setattr(site, field, value)
    return site


def delete(session: Session, site: Site) -> None:
    session.delete(site)


def search(
    session: Session, principal: Principal, flt: SiteFilter, limit: int, offset: int
) -> tuple[list[tuple[Site, float | None]], int]:
    return repository.search(session, principal, flt, limit, offset)
