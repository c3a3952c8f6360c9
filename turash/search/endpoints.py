from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from turash.auth.dependencies import PrincipalDep, UowDep
from turash.kit.pagination import PageParams, page_params
from turash.search import service
from turash.search.schemas import SearchHitRead, SearchPage

router = APIRouter(tags=["search"])
PageDep = Annotated[PageParams, Depends(page_params)]


@router.get("/search", response_model=SearchPage, operation_id="search")
def search(
    uow: UowDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Search text; typos and synonyms are tolerated.")
    ] = None,
    kind: Annotated[
        list[str] | None, Query(description="organization, site, flow or service; repeat or comma-separate")
    ] = None,
    lat: Annotated[float | None, Query(description="Point to search near (with lon).")] = None,
    lon: float | None = None,
    radius_km: Annotated[float | None, Query(description="Only results this close to lat/lon.")] = None,
    direction: Annotated[str | None, Query(description="supply or demand (flows only)")] = None,
    category: Annotated[str | None, Query(description="heat, steam, water, material, gas, energy, service")] = None,
    resource_class: Annotated[str | None, Query(description="Catalogue class id; its descendants match too.")] = None,
    country: Annotated[str | None, Query(description="ISO country code")] = None,
    nace: Annotated[str | None, Query(description="NACE code or prefix")] = None,
    precision: Annotated[str | None, Query(description="rough, estimated or measured (flows only)")] = None,
    hazardous: bool | None = None,
) -> SearchPage:
    """Full-text, typo-tolerant, faceted search over the organisations, sites, flows and services the caller may
    read (its organisations' and public-register data, as the list routes), optionally near a point."""
    kinds = tuple(k.strip() for value in kind or () for k in value.split(",") if k.strip())
    result = service.search(
        uow.session,
        principal,
        service.SearchQuery(
            q=q,
            kinds=kinds,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            direction=direction,
            category=category,
            resource_class=resource_class,
            country=country,
            nace=nace,
            precision=precision,
            hazardous=hazardous,
            limit=page.limit,
            offset=page.offset,
        ),
    )
    return SearchPage(
        items=[SearchHitRead.model_validate(asdict(h)) for h in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
        facets=result.facets,
        classes=result.classes,
    )
