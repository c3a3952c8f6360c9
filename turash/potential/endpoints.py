from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import Response

from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.models import Organization
from turash.organizations.repository import visible_to
from turash.potential import service

router = APIRouter(tags=["potential"])


@router.get("/potential", operation_id="regional_potential")
def regional_potential(
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    country: Annotated[str | None, Query(description="ISO code, e.g. DK")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 50.0,
    include_inferred: bool = True,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> object:
    """Symbiosis potential of a region from everything known (declared, register and inferred flows): totals of
    matchable heat (GWh/yr), materials (t/yr), water and CO2 avoidable, and every opportunity with its route,
    pipe size or transport, capex, levelised cost and CO2. Opportunity names are public-register data or the
    caller's own; CSV with `format=csv`."""
    visible = {
        org_id
        for (org_id,) in uow.session.execute(sa.select(Organization.id).where(visible_to(principal, Organization.id)))
    }
    report = service.potential(
        uow.session,
        runtime.extras,
        service.parse_region(country, bbox),
        radius_km=radius_km,
        include_inferred=include_inferred,
        can_see=visible.__contains__,
    )
    if format == "csv":
        return Response(
            service.as_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="potential.csv"'},
        )
    return report
