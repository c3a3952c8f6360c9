"""Network routes: the graph for the map, anchor tenants, candidate eco-industrial parks, resilience, totals.

Every route needs credentials; what a caller sees of other organisations follows turash.network.service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.kit.errors import ValidationFailed
from turash.network import service
from turash.network.schemas import AnchorList, ClusterList, NetworkStats, NetworkView, ResilienceReport

router = APIRouter(tags=["network"])

BBoxQuery = Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS84 degrees)")]
CategoryFilter = Literal["heat", "steam", "water", "material", "gas", "energy", "service"]


def _viewer(uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> service.Viewer:
    return service.viewer_for(uow.session, principal, runtime.settings.resolved_secret_key())


@router.get("/network", response_model=NetworkView, operation_id="network_graph")
def network_graph(
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    bbox: BBoxQuery = None,
    kinds: Annotated[
        str | None, Query(description="Edge kinds, comma-separated: owns,located_at,match,exchange,service")
    ] = None,
    min_score: Annotated[float, Query(ge=0, le=1, description="Leave out matches scoring less.")] = 0.0,
    category: CategoryFilter | None = None,
) -> NetworkView:
    """Nodes (organisations, sites, flows, services) inside the box and the edges between them, for the map.
    Organisations the caller may not see in full appear as "private organisation" at a position rounded to 0.1°.
    A box holding more than the configured number of nodes or edges is refused with 422 `result_too_large`."""
    box = service.parse_bbox(bbox, required=True)
    assert box is not None
    net = service.network(uow.session, runtime.extras)
    data = service.view(
        net,
        _viewer(uow, runtime, principal),
        box,
        kinds=service.parse_kinds(kinds),
        min_score=min_score,
        category=category,
        max_nodes=runtime.settings.network_max_nodes,
        max_edges=runtime.settings.network_max_edges,
    )
    return NetworkView.model_validate(data)


@router.get("/network/stats", response_model=NetworkStats, operation_id="network_stats")
def network_stats(uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> NetworkStats:
    """Counts of nodes and edges by kind, linked organisations, connected groups, totals matched and exchanged."""
    return NetworkStats.model_validate(service.stats(service.network(uow.session, runtime.extras)))


@router.get("/network/anchors", response_model=AnchorList, operation_id="network_anchors")
def network_anchors(
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    top: Annotated[int, Query(ge=1, le=500)] = 20,
    by: Literal["strength", "betweenness"] = "strength",
    bbox: BBoxQuery = None,
) -> AnchorList:
    """Anchor tenants: organisations ranked by weighted degree (sum of match scores, 1 per exchange) or by
    betweenness over match and exchange links."""
    net = service.network(uow.session, runtime.extras)
    box = service.parse_bbox(bbox, required=False)
    return AnchorList.model_validate(service.anchors(net, _viewer(uow, runtime, principal), top=top, by=by, box=box))


@router.get("/network/clusters", response_model=ClusterList, operation_id="network_clusters")
def network_clusters(
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    max_km: Annotated[float, Query(gt=0, le=500, description="Longest link inside a park, km.")] = 25.0,
    min_size: Annotated[int, Query(ge=2, le=1000)] = 3,
    max_members: Annotated[
        int, Query(ge=2, le=10000, description="A larger linked group is divided into Louvain communities.")
    ] = 40,
    bbox: BBoxQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ClusterList:
    """Candidate eco-industrial parks: organisations linked by matches and exchanges, close in space."""
    if min_size > max_members:
        raise ValidationFailed("min_size cannot exceed max_members", details=[{"field": "min_size"}])
    net = service.network(uow.session, runtime.extras)
    box = service.parse_bbox(bbox, required=False)
    data = service.clusters(
        net,
        _viewer(uow, runtime, principal),
        max_km=max_km,
        min_size=min_size,
        max_members=max_members,
        box=box,
        limit=limit,
    )
    return ClusterList.model_validate(data)


@router.get("/network/resilience/{node_id}", response_model=ResilienceReport, operation_id="network_resilience")
def network_resilience(
    node_id: str,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Dependents listed (the summary counts all).")] = 100,
    alternatives: Annotated[int, Query(ge=0, le=20)] = 3,
) -> ResilienceReport:
    """What breaks if an organisation (all its flows) or one flow stops: the demands that lose their only or best
    supply, the suppliers that lose an outlet, the exchanges and quantities and CO2 affected, and the
    alternatives left. Asked of the caller's organisations, public-register ones and partners named in a
    proposal."""
    net = service.network(uow.session, runtime.extras)
    data = service.resilience(net, _viewer(uow, runtime, principal), node_id, limit=limit, alternatives=alternatives)
    return ResilienceReport.model_validate(data)
