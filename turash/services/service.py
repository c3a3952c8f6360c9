from __future__ import annotations

from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.models import ServiceOffering
from turash.models.base import new_id
from turash.organizations.service import OrgAccess
from turash.services import repository
from turash.services.schemas import ServiceCreate, ServiceUpdate


def create(session: Session, access: OrgAccess, data: ServiceCreate) -> ServiceOffering:
    offering = ServiceOffering(id=new_id(), organization_id=access.organization.id, **data.model_dump())
    session.add(offering)
    session.flush()
    return offering


def update(offering: ServiceOffering, data: ServiceUpdate) -> ServiceOffering:
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in {"kind", "name", "resources", "ewc_codes", "countries", "attributes"}:
            continue
        setattr(offering, field, value)
    return offering


def delete(session: Session, offering: ServiceOffering) -> None:
    session.delete(offering)


def search(
    session: Session,
    principal: Principal,
    *,
    organization_id: str | None,
    kind: str | None,
    country: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ServiceOffering], int]:
    return repository.search(
        session, principal, organization_id=organization_id, kind=kind, country=country, limit=limit, offset=offset
    )
