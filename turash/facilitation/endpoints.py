from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.facilitation import service
from turash.facilitation.schemas import Claim, Outcome, ProfileWrite
from turash.kit.errors import Forbidden, NotFound
from turash.kit.pagination import PageParams, page_params
from turash.models import FacilitationCase, FacilitatorProfile

router = APIRouter(tags=["facilitation"])
PageDep = Annotated[PageParams, Depends(page_params)]


@router.get("/facilitators", operation_id="list_facilitators")
def list_facilitators(
    uow: UowDep,
    _principal: PrincipalDep,
    country: Annotated[str | None, Query(description="Only those covering this country.")] = None,
    speciality: Annotated[str | None, Query(description="A category or resource class.")] = None,
) -> dict[str, Any]:
    """The active facilitators: regions, specialities, fees and response time."""
    return {"items": service.facilitators(uow.session, country, speciality)}


@router.get("/organizations/{organization_id}/facilitator-profile", operation_id="get_facilitator_profile")
def get_profile(organization_id: str, uow: UowDep, _principal: PrincipalDep) -> dict[str, Any]:
    profile = uow.session.get(FacilitatorProfile, organization_id)
    if profile is None:
        raise NotFound.of("facilitator profile", organization_id)
    return service.profile_view(uow.session, profile)


@router.put("/organizations/{organization_id}/facilitator-profile", operation_id="set_facilitator_profile")
def set_profile(organization_id: str, data: ProfileWrite, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create or replace the profile of a facilitator organisation (its owners and admins)."""
    profile = service.set_profile(uow.session, principal, organization_id, data.model_dump())
    return service.profile_view(uow.session, profile)


@router.get("/facilitation/queue", operation_id="facilitation_queue")
def facilitation_queue(
    uow: UowDep,
    principal: PrincipalDep,
    page: PageDep,
    state: Annotated[str | None, Query(alias="status", pattern="^(open|claimed|agreed|failed)$")] = None,
) -> dict[str, Any]:
    """The marketplace: the open cases your facilitator organisations cover (anonymised) and the ones they hold."""
    items, total = service.queue(uow.session, principal, state, page.limit, page.offset)
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


def _visible_case(uow: UowDep, principal: PrincipalDep, case_id: str) -> dict[str, Any]:
    profiles = service.my_profiles(uow.session, principal, ("owner", "admin", "member", "viewer"))
    case = uow.session.get(FacilitationCase, case_id)
    if case is None:
        raise NotFound.of("facilitation case", case_id)
    mine = {p.organization_id for p in profiles}
    if not (
        principal.is_admin
        or case.facilitator_org_id in mine
        or (case.status == service.OPEN and any(service.covers(p, case) for p in profiles))
    ):
        raise Forbidden("this case is not in your marketplace")
    return service.case_view(uow.session, case, mine)


@router.get("/facilitation/cases/{case_id}", operation_id="get_facilitation_case")
def get_case(case_id: str, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    return _visible_case(uow, principal, case_id)


@router.post("/facilitation/cases/{case_id}/claim", operation_id="claim_facilitation_case")
def claim(case_id: str, uow: UowDep, principal: PrincipalDep, data: Claim | None = None) -> dict[str, Any]:
    """Claim an open case for one of your facilitator organisations: the SLA clock starts; `409` if it is taken."""
    service.claim(uow, principal, case_id, (data or Claim()).organization_id)
    return _visible_case(uow, principal, case_id)


@router.post("/facilitation/cases/{case_id}/release", operation_id="release_facilitation_case")
def release(case_id: str, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    service.release(uow, principal, case_id)
    return _visible_case(uow, principal, case_id)


@router.post(
    "/facilitation/cases/{case_id}/proposal",
    status_code=status.HTTP_201_CREATED,
    operation_id="propose_facilitation_case",
)
def propose(case_id: str, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Open the proposal between the two parties, with your organisation as its facilitator."""
    from turash.proposals import service as proposals

    proposal = service.propose(uow, runtime.extras, principal, case_id)
    return proposals.view(uow.session, proposals.access(uow.session, principal, proposal.id))


@router.post("/facilitation/cases/{case_id}/outcome", operation_id="facilitation_case_outcome")
def outcome(case_id: str, data: Outcome, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Close a case you hold: agreed, or failed with the reason."""
    service.record_outcome(uow, principal, case_id, data.outcome, data.reason)
    return _visible_case(uow, principal, case_id)


@router.get("/facilitation/stats", operation_id="facilitation_stats")
def stats(uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Cases, outcomes, success rates and response times per facilitator and per router rule (facilitators and
    administrators)."""
    if not principal.is_admin and not service.my_profiles(
        uow.session, principal, ("owner", "admin", "member", "viewer")
    ):
        raise Forbidden("the statistics are for facilitators and administrators")
    return service.stats(uow.session)
