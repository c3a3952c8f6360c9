from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from turash.analytics import report, service
from turash.analytics.repository import Scope
from turash.analytics.schemas import KpiFormat, Kpis, SeriesFormat, TimeSeries
from turash.auth.dependencies import PrincipalDep, UowDep
from turash.auth.service import Principal
from turash.kit.db import UnitOfWork
from turash.kit.errors import Forbidden, ValidationFailed
from turash.models import Organization
from turash.organizations.repository import membership_of
from turash.organizations.service import get_organization

router = APIRouter(tags=["analytics"])


def _member_of(uow: UnitOfWork, principal: Principal, organization_id: str) -> Organization:
    """A member (any role) of the organisation, or a platform administrator: an organisation's own figures are its
    members' business, even for an organisation from a public register (whose data everyone reads)."""
    org = get_organization(uow.session, organization_id)
    scoped = principal.api_key_organization_id
    if scoped is not None and scoped != org.id:
        raise Forbidden("this API key is limited to another organisation")
    if not principal.is_admin and membership_of(uow.session, org.id, principal.user.id) is None:
        raise Forbidden("only the organisation's members see its KPIs")
    return org


def own_organization(organization_id: str, uow: UowDep, principal: PrincipalDep) -> Organization:
    return _member_of(uow, principal, organization_id)


def own_facilitator(organization_id: str, uow: UowDep, principal: PrincipalDep) -> Organization:
    org = _member_of(uow, principal, organization_id)
    if org.kind != "facilitator":
        raise ValidationFailed(
            f"organisation '{org.name}' is of kind '{org.kind}', not a facilitator",
            details=[{"field": "organization_id", "message": "not a facilitator organisation"}],
        )
    return org


OwnOrganization = Annotated[Organization, Depends(own_organization)]
OwnFacilitator = Annotated[Organization, Depends(own_facilitator)]
Country = Annotated[str | None, Query(description="ISO code or name, e.g. DK")]
Box = Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")]
Since = Annotated[date | None, Query(alias="from", description="First month (a date in it); default 11 months ago.")]
Until = Annotated[date | None, Query(alias="to", description="Last month (a date in it); default this month.")]
Top = Annotated[int, Query(ge=0, le=100, description="How many top exchanges.")]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or a download: CSV (`format=csv`), XLSX (`format=xlsx`), PDF report (`format=pdf`).",
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            "application/pdf": {},
        },
    }
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _viewer(uow: UnitOfWork, principal: Principal) -> service.Viewer:
    own = service.own_organizations(uow.session, principal.user.id, principal.api_key_organization_id)
    return service.Viewer(own, is_admin=principal.is_admin and principal.api_key_organization_id is None)


def _download(body: bytes | str, media_type: str, name: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _render(
    uow: UnitOfWork,
    scope: Scope,
    viewer: service.Viewer,
    fmt: KpiFormat,
    since: date | None,
    until: date | None,
    top: int,
) -> object:
    kpis = service.kpis(uow.session, scope, viewer, top=top)
    if fmt == KpiFormat.json:
        return kpis
    if fmt == KpiFormat.csv:
        return _download(report.kpis_csv(kpis), "text/csv", f"kpis-{scope.kind}.csv")
    series = service.timeseries(uow.session, scope, viewer, since, until)
    if fmt == KpiFormat.xlsx:
        return _download(report.xlsx(kpis, series), XLSX, f"kpis-{scope.kind}.xlsx")
    return _download(report.pdf(kpis, series), "application/pdf", f"report-{scope.kind}.pdf")


@router.get("/analytics/region", response_model=Kpis, responses=FILE_RESPONSES, operation_id="region_kpis")
def region_kpis(
    uow: UowDep,
    principal: PrincipalDep,
    country: Country = None,
    bbox: Box = None,
    name: Annotated[str | None, Query(max_length=200, description="The region's name in the report.")] = None,
    format: KpiFormat = KpiFormat.json,
    since: Since = None,
    until: Until = None,
    top: Top = 10,
) -> object:
    """KPIs of a region (the sites in a country and/or a bounding box): flows listed, matches found, proposals by
    state and conversion, energy and materials exchanged, CO2e avoided and the exchanges' NPV. Aggregates only:
    totals that would disclose fewer than three organisations' figures are withheld, and other private parties
    of the top exchanges appear by sector with quantity bands. `format=pdf` is the printable municipality report."""
    scope = service.region_scope(country, bbox, name)
    return _render(uow, scope, _viewer(uow, principal), format, since, until, top)


@router.get(
    "/analytics/organizations/{organization_id}",
    response_model=Kpis,
    responses=FILE_RESPONSES,
    operation_id="organization_kpis",
)
def organization_kpis(
    org: OwnOrganization,
    uow: UowDep,
    principal: PrincipalDep,
    format: KpiFormat = KpiFormat.json,
    since: Since = None,
    until: Until = None,
    top: Top = 10,
) -> object:
    """The organisation's own KPIs (its members only): its flows, the matches and proposals it is a party to."""
    return _render(uow, service.organization_scope(org), _viewer(uow, principal), format, since, until, top)


@router.get(
    "/analytics/facilitators/{organization_id}",
    response_model=Kpis,
    responses=FILE_RESPONSES,
    operation_id="facilitator_kpis",
)
def facilitator_kpis(
    org: OwnFacilitator,
    uow: UowDep,
    principal: PrincipalDep,
    format: KpiFormat = KpiFormat.json,
    since: Since = None,
    until: Until = None,
    top: Top = 10,
) -> object:
    """A facilitator organisation's KPIs (its members only): cases it claimed and their outcomes, and the
    proposals it is assigned to, with what they exchange."""
    return _render(uow, service.facilitator_scope(org), _viewer(uow, principal), format, since, until, top)


@router.get("/analytics/timeseries", response_model=TimeSeries, responses=FILE_RESPONSES, operation_id="kpi_timeseries")
def kpi_timeseries(
    uow: UowDep,
    principal: PrincipalDep,
    country: Country = None,
    bbox: Box = None,
    organization_id: Annotated[str | None, Query(description="An organisation of yours instead of a region.")] = None,
    facilitator_id: Annotated[str | None, Query(description="A facilitator organisation of yours.")] = None,
    format: SeriesFormat = SeriesFormat.json,
    since: Since = None,
    until: Until = None,
) -> object:
    """Monthly buckets (UTC) of flows listed, matches found, proposals created and agreed, and the quantities agreed
    each month, for a region, one of your organisations or one of your facilitator organisations."""
    if organization_id and facilitator_id:
        raise ValidationFailed(
            "give `organization_id` or `facilitator_id`, not both",
            details=[{"field": "facilitator_id", "message": "conflicts with organization_id"}],
        )
    if organization_id:
        scope = service.organization_scope(_member_of(uow, principal, organization_id))
    elif facilitator_id:
        scope = service.facilitator_scope(own_facilitator(facilitator_id, uow, principal))
    else:
        scope = service.region_scope(country, bbox)
    series = service.timeseries(uow.session, scope, _viewer(uow, principal), since, until)
    if format == SeriesFormat.csv:
        return _download(report.series_csv(series), "text/csv", f"timeseries-{scope.kind}.csv")
    if format == SeriesFormat.xlsx:
        return _download(report.xlsx(None, series), XLSX, f"timeseries-{scope.kind}.xlsx")
    return series
