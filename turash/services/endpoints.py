from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from turash.auth.dependencies import OrgMember, OrgViewer, PrincipalDep, ServiceEditor, ServiceViewer, UowDep
from turash.kit.codes import normalise_country
from turash.kit.errors import ValidationFailed
from turash.kit.pagination import Page, PageParams, page_params
from turash.services import service
from turash.services.schemas import ServiceCreate, ServiceKind, ServiceRead, ServiceUpdate

router = APIRouter(tags=["services"])
PageDep = Annotated[PageParams, Depends(page_params)]


@router.post(
    "/organizations/{organization_id}/services",
    status_code=status.HTTP_201_CREATED,
    response_model=ServiceRead,
    operation_id="create_service",
)
def create_service(access: OrgMember, data: ServiceCreate, uow: UowDep) -> ServiceRead:
    return ServiceRead.model_validate(service.create(uow.session, access, data))


@router.get(
    "/organizations/{organization_id}/services",
    response_model=Page[ServiceRead],
    operation_id="list_organization_services",
)
def list_organization_services(
    access: OrgViewer, uow: UowDep, principal: PrincipalDep, page: PageDep
) -> Page[ServiceRead]:
    items, total = service.search(
        uow.session,
        principal,
        organization_id=access.organization.id,
        kind=None,
        country=None,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=[ServiceRead.model_validate(s) for s in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/services", response_model=Page[ServiceRead], operation_id="list_services")
def list_services(
    uow: UowDep,
    principal: PrincipalDep,
    page: PageDep,
    kind: ServiceKind | None = None,
    country: Annotated[str | None, Query(description="ISO code of a country served")] = None,
    organization_id: str | None = None,
) -> Page[ServiceRead]:
    try:
        code = normalise_country(country) if country else None
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    items, total = service.search(
        uow.session,
        principal,
        organization_id=organization_id,
        kind=kind,
        country=code,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=[ServiceRead.model_validate(s) for s in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/services/{service_id}", response_model=ServiceRead, operation_id="get_service")
def get_service(access: ServiceViewer) -> ServiceRead:
    return ServiceRead.model_validate(access.entity)


@router.patch("/services/{service_id}", response_model=ServiceRead, operation_id="update_service")
def update_service(access: ServiceEditor, data: ServiceUpdate) -> ServiceRead:
    return ServiceRead.model_validate(service.update(access.entity, data))


@router.delete("/services/{service_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_service")
def delete_service(access: ServiceEditor, uow: UowDep) -> None:
    service.delete(uow.session, access.entity)
