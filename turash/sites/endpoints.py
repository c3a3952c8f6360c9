from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from turash.auth.dependencies import OrgMember, OrgViewer, PrincipalDep, SiteEditor, SiteViewer, UowDep
from turash.flows import fields
from turash.kit.errors import ValidationFailed
from turash.kit.geo import BBox
from turash.kit.pagination import Page, PageParams, page_params
from turash.sites import service
from turash.sites.repository import SiteFilter
from turash.sites.schemas import SiteCreate, SiteRead, SiteUpdate

router = APIRouter(tags=["sites"])
PageDep = Annotated[PageParams, Depends(page_params)]


def site_filter(
    country: Annotated[str | None, Query(description="ISO 3166-1 alpha-2")] = None,
    nace: Annotated[str | None, Query(description="NACE code or prefix, e.g. `23` or `23.51`")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=2000)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the site name")] = None,
    organization_id: str | None = None,
) -> SiteFilter:
    try:
        box = BBox.parse(bbox) if bbox else None
        code = fields.nace(nace) if nace else None
        country_code = fields.country(country) if country else None
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={"query": True}) from None
    if (radius_km is not None) != (lat is not None and lon is not None) or (lat is None) != (lon is None):
        raise ValidationFailed("a radius search needs lat, lon and radius_km together")
    return SiteFilter(
        organization_id=organization_id,
        country=country_code,
        nace=code,
        bbox=box,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        q=q,
    )


SiteFilterDep = Annotated[SiteFilter, Depends(site_filter)]


def _read(site: object, distance: float | None = None) -> SiteRead:
    result = SiteRead.model_validate(site)
    result.distance_km = None if distance is None else round(distance, 3)
    return result


@router.post(
    "/organizations/{organization_id}/sites",
    status_code=status.HTTP_201_CREATED,
    response_model=SiteRead,
    operation_id="create_site",
)
def create_site(access: OrgMember, data: SiteCreate, uow: UowDep) -> SiteRead:
    return _read(service.create(uow.session, access, data))


@router.get(
    "/organizations/{organization_id}/sites", response_model=Page[SiteRead], operation_id="list_organization_sites"
)
def list_organization_sites(
    access: OrgViewer, uow: UowDep, principal: PrincipalDep, page: PageDep, flt: SiteFilterDep
) -> Page[SiteRead]:
    flt = SiteFilter(**{**flt.__dict__, "organization_id": access.organization.id})
    rows, total = service.search(uow.session, principal, flt, page.limit, page.offset)
    return Page(items=[_read(s, d) for s, d in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/sites", response_model=Page[SiteRead], operation_id="list_sites")
def list_sites(uow: UowDep, principal: PrincipalDep, page: PageDep, flt: SiteFilterDep) -> Page[SiteRead]:
    """Sites the caller may read (its organisations' and public-register sites), filtered; radius searches are
    ordered by distance."""
    rows, total = service.search(uow.session, principal, flt, page.limit, page.offset)
    return Page(items=[_read(s, d) for s, d in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/sites/{site_id}", response_model=SiteRead, operation_id="get_site")
def get_site(access: SiteViewer) -> SiteRead:
    return _read(access.entity)


@router.patch("/sites/{site_id}", response_model=SiteRead, operation_id="update_site")
def update_site(access: SiteEditor, data: SiteUpdate, uow: UowDep) -> SiteRead:
    return _read(service.update(uow.session, access.entity, data))


@router.delete("/sites/{site_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_site")
def delete_site(access: SiteEditor, uow: UowDep) -> None:
    service.delete(uow.session, access.entity)
