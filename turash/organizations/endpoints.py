from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from turash.audit.service import entries_for
from turash.auth.dependencies import OrgAdmin, OrgOwner, OrgViewer, PrincipalDep, UowDep
from turash.kit.pagination import Page, PageParams, page_params
from turash.models import Organization, User
from turash.organizations import repository, service
from turash.organizations.schemas import (
    AuditEntryRead,
    MemberAdd,
    MemberRead,
    MemberUpdate,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from turash.reference.datasets import attribution_for

router = APIRouter(tags=["organizations"])
PageDep = Annotated[PageParams, Depends(page_params)]


def _read(org: Organization, role: str | None) -> OrganizationRead:
    result = OrganizationRead.model_validate(org)
    result.role = role  # type: ignore[assignment]
    result.attribution = attribution_for(org.source_ref) if org.source == "register" else None
    return result


@router.post(
    "/organizations",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationRead,
    operation_id="create_organization",
)
def create_organization(data: OrganizationCreate, uow: UowDep, principal: PrincipalDep) -> OrganizationRead:
    """Create an organisation; the caller becomes its owner."""
    return _read(service.create(uow.session, principal, data), "owner")


@router.get("/users/me/organizations", response_model=list[OrganizationRead], operation_id="list_my_organizations")
def list_my_organizations(uow: UowDep, principal: PrincipalDep) -> list[OrganizationRead]:
    return [_read(org, role) for org, role in service.organizations_of(uow.session, principal)]


@router.get("/organizations", response_model=Page[OrganizationRead], operation_id="list_organizations")
def list_organizations(
    uow: UowDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    source: Annotated[str | None, Query(pattern="^(user|import|register)$")] = None,
) -> Page[OrganizationRead]:
    """Organisations the caller may read: its own and public-register ones."""
    rows, total = repository.search(
        uow.session, principal, q=q, country=country, source=source, limit=page.limit, offset=page.offset
    )
    roles = dict((org.id, role) for org, role in service.organizations_of(uow.session, principal))
    return Page(items=[_read(o, roles.get(o.id)) for o in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/organizations/{organization_id}", response_model=OrganizationRead, operation_id="get_organization")
def get_organization(access: OrgViewer) -> OrganizationRead:
    return _read(access.organization, access.role)


@router.patch("/organizations/{organization_id}", response_model=OrganizationRead, operation_id="update_organization")
def update_organization(access: OrgAdmin, data: OrganizationUpdate) -> OrganizationRead:
    return _read(service.update(access.organization, data), access.role)


@router.delete(
    "/organizations/{organization_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_organization"
)
def delete_organization(access: OrgOwner, uow: UowDep) -> None:
    service.delete(uow.session, access.organization)


@router.get("/organizations/{organization_id}/members", response_model=list[MemberRead], operation_id="list_members")
def list_members(access: OrgViewer, uow: UowDep) -> list[MemberRead]:
    return [
        MemberRead(user_id=u.id, email=u.email, name=u.name, role=m.role, since=m.created_at)
        for m, u in repository.members(uow.session, access.organization.id)
    ]


@router.post(
    "/organizations/{organization_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberRead,
    operation_id="add_member",
)
def add_member(access: OrgAdmin, data: MemberAdd, uow: UowDep) -> MemberRead:
    m, u = service.add_member(uow.session, access, data)
    return MemberRead(user_id=u.id, email=u.email, name=u.name, role=m.role, since=m.created_at)


@router.patch(
    "/organizations/{organization_id}/members/{user_id}", response_model=MemberRead, operation_id="update_member"
)
def update_member(access: OrgAdmin, user_id: str, data: MemberUpdate, uow: UowDep) -> MemberRead:
    m = service.change_role(uow.session, access, user_id, data.role)
    u = uow.session.get_one(User, user_id)
    return MemberRead(user_id=u.id, email=u.email, name=u.name, role=m.role, since=m.created_at)


@router.delete(
    "/organizations/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="remove_member",
)
def remove_member(access: OrgAdmin, user_id: str, uow: UowDep) -> None:
    service.remove_member(uow.session, access, user_id)


@router.get(
    "/organizations/{organization_id}/audit",
    response_model=list[AuditEntryRead],
    operation_id="list_organization_audit",
)
def list_organization_audit(access: OrgAdmin, uow: UowDep, page: PageDep) -> list[AuditEntryRead]:
    """The organisation's audit trail: every change to it, its members, sites, flows and services."""
    entries = entries_for(uow.session, organization_id=access.organization.id, limit=page.limit, offset=page.offset)
    return [AuditEntryRead.model_validate(e) for e in entries]
