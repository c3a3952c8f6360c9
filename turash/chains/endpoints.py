"""HTTP routes of multi-party chains: a flow's chains, ad-hoc chain queries, one chain, an organisation's exchange
cycles, and chain proposals (the service provider as a party)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, status

from turash.auth.dependencies import FlowViewer, OrgViewer, PrincipalDep, RuntimeDep, UowDep
from turash.chains import service
from turash.chains.schemas import ChainList, ChainProposalCreate, ChainQuery, CycleList
from turash.kit.errors import Forbidden
from turash.models import Organization
from turash.organizations.service import effective_role

router = APIRouter(tags=["chains"])

Top = Annotated[int, Query(ge=1, le=50, description="Keep the K best chains.")]
Radius = Annotated[float, Query(gt=0, le=2000, description="Largest distance per leg, km (a transport extends it).")]


def chain_reader(chain_id: str, uow: UowDep, principal: PrincipalDep) -> str:
    """Members of any of the chain's three parties (and readers of public-register parties) may see a chain."""
    parts = service.parts_of(chain_id)
    if parts is not None:
        from turash.models import ResourceFlow, ServiceOffering

        org_ids = set(
            uow.session.scalars(
                sa.select(ResourceFlow.organization_id).where(ResourceFlow.id.in_((parts[0], parts[2])))
            )
        ) | set(uow.session.scalars(sa.select(ServiceOffering.organization_id).where(ServiceOffering.id == parts[1])))
        orgs = uow.session.scalars(sa.select(Organization).where(Organization.id.in_(org_ids))).all()
        if orgs and not any(effective_role(uow.session, principal, org) for org in orgs):
            raise Forbidden("you take part in none of this chain's parties")
    return chain_id


ChainReader = Annotated[str, Depends(chain_reader)]


def _disclosed(uow: Any, principal: Any, chains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from turash.chains.disclosure import disclose

    return disclose(uow.session, principal, chains)


@router.get("/flows/{flow_id}/chains", response_model=ChainList, operation_id="flow_chains")
def flow_chains(
    access: FlowViewer,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    top: Top = service.DEFAULT_TOP,
    radius_km: Radius = service.DEFAULT_RADIUS_KM,
) -> ChainList:
    """A supply's chains through a service (treatment, drying, heat pump, transport, storage) to a demand it
    fits only that way, best first, each leg explained, with the chain's economics and each party's share; the
    services that cannot take it are listed with the reason. For a demand: the chains that end in it."""
    out = service.for_flow(uow.session, runtime.extras, access.entity, top=top, radius_km=radius_km)
    out["chains"] = _disclosed(uow, principal, out["chains"])
    return ChainList.model_validate(out)


@router.post("/chains/query", response_model=ChainList, operation_id="chain_query")
def chain_query(body: ChainQuery, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> ChainList:
    """Ad-hoc: "I have this supply here: which service makes it fit whom?" Nothing is saved."""
    values = body.model_dump(exclude={"lat", "lon", "nace", "top", "radius_km", "include_inferred", "attributes"})
    values["attributes"] = body.attributes
    out = service.query(
        uow.session, runtime.extras, values, lat=body.lat, lon=body.lon, nace=body.nace, top=body.top,
        radius_km=body.radius_km,
    )  # fmt: skip
    out["chains"] = _disclosed(uow, principal, out["chains"])
    return ChainList.model_validate(out)


@router.get("/chains/{chain_id}", operation_id="get_chain")
def get_chain(chain_id: ChainReader, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """One chain with its legs, economics and shares, recomputed from its flows and service."""
    return _disclosed(uow, principal, [service.by_id(uow.session, runtime.extras, chain_id)])[0]


@router.get(
    "/organizations/{organization_id}/chains/cycles", response_model=CycleList, operation_id="organization_cycles"
)
def organization_cycles(
    access: OrgViewer,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    max_length: Annotated[int, Query(ge=2, le=4, description="Most organisations in a loop.")] = 4,
    radius_km: Radius = service.DEFAULT_RADIUS_KM,
    top: Top = service.DEFAULT_TOP,
) -> CycleList:
    """Closed loops of exchanges through the organisation (A → B → C → A), over direct matches and chains."""
    cycles = service.cycles_for(
        uow.session, runtime.extras, access.organization.id, max_length=max_length, radius_km=radius_km, top=top
    )
    from turash.chains.disclosure import disclose_cycles

    return CycleList(cycles=disclose_cycles(uow.session, principal, cycles))


@router.post("/chains/proposals", status_code=status.HTTP_201_CREATED, operation_id="create_chain_proposal")
def create_chain_proposal(
    data: ChainProposalCreate, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Propose a chain to its other parties: the supplier, the service provider and the receiver all take part
    (each sees it, is notified, and the receiver and service provider accept it). The caller must be a member of
    one of the three; the proposal starts as `draft` and follows the states of `POST /proposals`."""
    from turash.proposals import service as proposals

    proposal = service.propose(uow, runtime.extras, principal, data.chain_id)
    return proposals.view(uow.session, proposals.access(uow.session, principal, proposal.id))
