from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from turash.auth.dependencies import FlowEditor, FlowViewer, PrincipalDep, SiteEditor, SiteViewer, UowDep
from turash.flows import fields, service
from turash.flows.repository import FlowFilter
from turash.flows.schemas import FlowCreate, FlowRead, FlowUpdate
from turash.kit.errors import ValidationFailed
from turash.kit.geo import BBox
from turash.kit.pagination import Page, PageParams, page_params
from turash.models import Organization, ResourceFlow, Site

router = APIRouter(tags=["flows"])
PageDep = Annotated[PageParams, Depends(page_params)]


def flow_filter(
    direction: Literal["supply", "demand"] | None = None,
    category: Literal["heat", "steam", "water", "material", "gas", "energy", "service"] | None = None,
    resource_class: Annotated[str | None, Query(max_length=100)] = None,
    nace: Annotated[str | None, Query(description="NACE code or prefix of the site")] = None,
    inferred: bool | None = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=2000)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the resource text")] = None,
    organization_id: str | None = None,
) -> FlowFilter:
    try:
        box = BBox.parse(bbox) if bbox else None
        code = fields.nace(nace) if nace else None
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    if (radius_km is not None) != (lat is not None and lon is not None) or (lat is None) != (lon is None):
        raise ValidationFailed("a radius search needs lat, lon and radius_km together")
    return FlowFilter(
        organization_id=organization_id,
        direction=direction,
        category=category,
        resource_class=resource_class,
        nace=code,
        inferred=inferred,
        bbox=box,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        q=q,
    )


FlowFilterDep = Annotated[FlowFilter, Depends(flow_filter)]


_COLUMNS = [c.key for c in ResourceFlow.__table__.columns]


def read(flow: ResourceFlow, org: Organization | None = None, site: Site | None = None) -> FlowRead:
    values = {c: getattr(flow, c) for c in _COLUMNS}
    if org is not None:
        values["organization"] = org.name
    if site is not None:
        values.update(site=site.name, lat=site.lat, lon=site.lon)
    return FlowRead.model_validate(values)


@router.post(
    "/sites/{site_id}/flows", status_code=status.HTTP_201_CREATED, response_model=FlowRead, operation_id="create_flow"
)
def create_flow(access: SiteEditor, data: FlowCreate, uow: UowDep, principal: PrincipalDep) -> FlowRead:
    """Declare what a site has (supply) or needs (demand), with the columns of a `turash import flows` row."""
    site: Site = access.entity
    flow = service.create(
        uow.session, site, data, organization_name=access.access.organization.name, user_id=principal.user.id
    )
    return read(flow, access.access.organization, site)


@router.get("/sites/{site_id}/flows", response_model=Page[FlowRead], operation_id="list_site_flows")
def list_site_flows(access: SiteViewer, uow: UowDep, principal: PrincipalDep, page: PageDep) -> Page[FlowRead]:
    rows, total = service.search(uow.session, principal, FlowFilter(site_id=access.entity.id), page.limit, page.offset)
    return Page(items=[read(f, o, s) for f, o, s, _ in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/flows", response_model=Page[FlowRead], operation_id="list_flows")
def list_flows(uow: UowDep, principal: PrincipalDep, page: PageDep, flt: FlowFilterDep) -> Page[FlowRead]:
    """Flows the caller may read in full: its organisations' and those from public registers."""
    rows, total = service.search(uow.session, principal, flt, page.limit, page.offset)
    return Page(items=[read(f, o, s) for f, o, s, _ in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/flows/{flow_id}", response_model=FlowRead, operation_id="get_flow")
def get_flow(access: FlowViewer, uow: UowDep) -> FlowRead:
    flow: ResourceFlow = access.entity
    return read(flow, access.access.organization, uow.session.get(Site, flow.site_id))


@router.patch("/flows/{flow_id}", response_model=FlowRead, operation_id="update_flow")
def update_flow(access: FlowEditor, data: FlowUpdate, uow: UowDep) -> FlowRead:
    flow: ResourceFlow = access.entity
    site = uow.session.get(Site, flow.site_id)
    assert site is not None  # enforced by the foreign key
    service.update(uow.session, flow, site, data, organization_name=access.access.organization.name)
    return read(flow, access.access.organization, site)


@router.delete("/flows/{flow_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_flow")
def delete_flow(access: FlowEditor, uow: UowDep) -> None:
    service.delete(uow.session, access.entity)
