from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query

from turash.auth.dependencies import FlowViewer, OrgViewer, PrincipalDep, RuntimeDep, UowDep
from turash.kit.db import ready_to_write
from turash.kit.errors import Forbidden
from turash.matching import repository, service
from turash.matching.schemas import Match, MatchList, MatchQuery
from turash.models import Organization, ResourceFlow, Site
from turash.organizations.service import effective_role

router = APIRouter(tags=["matching"])


def match_reader(match_id: str, uow: UowDep, principal: PrincipalDep) -> str:
    """Members of either party's organisation (and readers of public-register parties) may see a match."""
    pair = repository.flows_of_match(match_id)
    if pair is not None:
        orgs = uow.session.scalars(
            sa.select(Organization)
            .join(ResourceFlow, ResourceFlow.organization_id == Organization.id)
            .where(ResourceFlow.id.in_(pair))
        ).all()
        if orgs and not any(effective_role(uow.session, principal, org) for org in orgs):
            raise Forbidden("you take part in neither side of this match")
    return match_id


MatchReader = Annotated[str, Depends(match_reader)]

Top = Annotated[int, Query(ge=1, le=100, description="Keep each flow's K best counterparts.")]
Radius = Annotated[float, Query(gt=0, le=2000, description="Largest distance considered, km.")]
Weights = Annotated[str | None, Query(description="Scorer weights, e.g. `distance=0.4,quality=0.3`.")]
CategoryFilter = Literal["heat", "steam", "water", "material", "gas", "energy", "service"]
MinScore = Annotated[float, Query(ge=0, le=1)]
CACHE_SECONDS = 15 * 60


def _request(**kwargs: Any) -> service.MatchRequest:
    weights = service.parse_weights(kwargs.pop("weights", None))
    return service.MatchRequest(weights=weights, **kwargs)


def _cached(runtime: Any, uow: Any, scope: str, request: service.MatchRequest, user_id: str) -> list[dict[str, Any]]:
    """Matches for a scope, cached 15 minutes (Redis when configured) under the data version, so any change to a
    flow makes a new key; the served matches are stored with their run (the audit trail)."""
    import json

    version = repository.data_version(uow.session)
    key = f"matches:{scope}:{version}:{request.params_key()}:{request.category}:{request.min_score}"
    hit = runtime.cache.get(key)
    if hit is not None:
        return list(json.loads(hit))
    matches, summary = service.find_matches(uow.session, runtime.extras, request)
    ready_to_write(uow.session)  # a GET that stores its run: on SQLite, wait for the writer's lock, never fail
    service.record_run(uow.session, request, matches, summary, trigger="api", user_id=user_id, collect=uow.collect)
    runtime.cache.set(key, json.dumps(matches), CACHE_SECONDS)
    return matches


def _disclosed(uow: Any, runtime: Any, principal: Any, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Other private organisations appear by sector only until a proposal with them is accepted under NDA."""
    from turash.proposals.disclosure import disclose

    return disclose(uow.session, principal, service.state(uow.session, runtime.extras), matches)


@router.get(
    "/organizations/{organization_id}/matching/direct", response_model=MatchList, operation_id="organization_matches"
)
def organization_matches(
    access: OrgViewer,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    top: Top = 5,
    radius_km: Radius = 50.0,
    include_inferred: bool = False,
    category: CategoryFilter | None = None,
    min_score: MinScore = 0.0,
    weights: Weights = None,
) -> MatchList:
    """Direct matches in which the organisation takes part (each of its flows' K best counterparts)."""
    request = _request(
        top_k=top,
        radius_km=radius_km,
        organization_id=access.organization.id,
        include_inferred=include_inferred,
        category=category,
        min_score=min_score,
        weights=weights,
    )
    matches = _cached(runtime, uow, f"org:{access.organization.id}", request, principal.user.id)
    return MatchList.model_validate({"matches": _disclosed(uow, runtime, principal, matches)})


@router.get("/flows/{flow_id}/matches", response_model=MatchList, operation_id="flow_matches")
def flow_matches(
    access: FlowViewer,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    top: Top = 5,
    radius_km: Radius = 50.0,
    include_inferred: bool = False,
    category: CategoryFilter | None = None,
    min_score: MinScore = 0.0,
    weights: Weights = None,
) -> MatchList:
    """The flow's best counterparts (and flows that count it among theirs)."""
    flow: ResourceFlow = access.entity
    request = _request(
        top_k=top,
        radius_km=radius_km,
        flow_id=flow.id,
        include_inferred=include_inferred,
        category=category,
        min_score=min_score,
        weights=weights,
    )
    site = uow.session.get(Site, flow.site_id)
    cell = f"{round(site.lat * 2) / 2:g},{round(site.lon * 2) / 2:g}" if site else "-"  # half-degree cell
    scope = f"flow:{cell}:{flow.resource_class}:{flow.id}"
    matches = _cached(runtime, uow, scope, request, principal.user.id)
    return MatchList.model_validate({"matches": _disclosed(uow, runtime, principal, matches)})


@router.get("/matches/{match_id}", response_model=Match, operation_id="get_match")
def get_match(match_id: MatchReader, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> Match:
    """One match with its full explanation, constraints and routing. Visible to members of either party."""
    match = service.match_for_pair(uow.session, runtime.extras, match_id)
    return Match.model_validate(_disclosed(uow, runtime, principal, [match])[0])


@router.post("/matching/query", response_model=MatchList, operation_id="match_query")
def match_query(body: MatchQuery, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> MatchList:
    """Ad-hoc query: "I have 5,000 t/yr of spent grain at this point: who takes it?" Nothing is saved."""
    values = body.model_dump(exclude={"lat", "lon", "nace", "top", "radius_km", "include_inferred", "attributes"})
    values["attributes"] = body.attributes
    request = _request(top_k=body.top, radius_km=body.radius_km, include_inferred=body.include_inferred)
    matches = service.query(
        uow.session, runtime.extras, values, lat=body.lat, lon=body.lon, nace=body.nace, request=request
    )
    return MatchList.model_validate({"matches": _disclosed(uow, runtime, principal, matches)})
