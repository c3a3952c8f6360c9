from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.models import ServiceOffering
from turash.organizations.repository import visible_to


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
    query = sa.select(ServiceOffering).where(visible_to(principal, ServiceOffering.organization_id))
    if organization_id:
        query = query.where(ServiceOffering.organization_id == organization_id)
    if kind:
        query = query.where(ServiceOffering.kind == kind)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(ServiceOffering.name, ServiceOffering.id)))
    if country:  # the countries list is JSON; filter in Python (service lists are short)
        items = [s for s in items if country in (s.countries or [])]
        total = len(items)
    return items[offset : offset + limit], total
