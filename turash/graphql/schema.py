"""The GraphQL schema: organisations, sites, flows, matches with their business case, proposals.

Every field that checks access or its arguments may be null: a field the caller may not see (or asked for
wrongly) is null with its error in `errors`, and the rest of the query is still answered.

Every field resolves through the REST route's own function (`turash.graphql.rest`), so a field is visible in
GraphQL exactly when the matching REST route would show it: the same access dependency, the same staged disclosure
of other organisations, the same API-key scoping. Types are derived from the REST response models (their fields and
descriptions), camelCased as GraphQL expects.
"""

# mypy cannot see the fields strawberry copies from the pydantic models (`self.id` in a resolver), nor type
# strawberry's field decorators; both are checked at schema build and by the tests instead.
# mypy: disable-error-code="attr-defined,untyped-decorator"

from typing import Annotated, Any

import strawberry
from strawberry.experimental.pydantic import type as from_model
from strawberry.scalars import JSON
from strawberry.types import Info

from turash.auth import dependencies as deps
from turash.auth.endpoints import me as rest_me
from turash.auth.schemas import UserRead
from turash.economics import endpoints as economic_routes
from turash.economics import service as economics_service
from turash.flows import endpoints as flow_routes
from turash.flows.schemas import FlowRead
from turash.graphql.rest import GraphContext, build, call
from turash.kit.errors import ValidationFailed
from turash.kit.pagination import Page, page_params
from turash.matching import endpoints as match_routes
from turash.matching.schemas import Match as MatchModel
from turash.matching.schemas import MatchEconomics as MatchEconomicsModel
from turash.matching.schemas import MatchSide as MatchSideModel
from turash.organizations import endpoints as org_routes
from turash.organizations.schemas import OrganizationRead
from turash.organizations.service import get_organization, require_role
from turash.proposals import endpoints as proposal_routes
from turash.proposals import service as proposal_service
from turash.proposals.schemas import CommentCreate, ProposalCreate, StatusChange
from turash.sites import endpoints as site_routes
from turash.sites.schemas import SiteRead

Ctx = Info[GraphContext, None]
# Types derived from pydantic models resolve names in a module of their own: forward references must be lazy.
LazySite = Annotated["Site", strawberry.lazy("turash.graphql.schema")]
LazyOrganization = Annotated["Organization", strawberry.lazy("turash.graphql.schema")]


def _common(info: Ctx) -> dict[str, Any]:
    return {"uow": info.context.uow, "principal": info.context.principal}


def _page(limit: int, offset: int) -> Any:
    return call(page_params, limit=limit, offset=offset)


def _org_access(info: Ctx, organization_id: str) -> Any:
    session = info.context.uow.session
    return require_role(session, info.context.principal, get_organization(session, organization_id), "viewer")


def _site_access(info: Ctx, site_id: str) -> Any:
    return deps.site_access("viewer")(site_id, info.context.uow, info.context.principal)


def _flow_access(info: Ctx, flow_id: str) -> Any:
    return deps.flow_access("viewer")(flow_id, info.context.uow, info.context.principal)


def _match_args(
    top: int, radius_km: float, include_inferred: bool, category: str | None, min_score: float, weights: str | None
) -> dict[str, Any]:
    return {
        "top": top,
        "radius_km": radius_km,
        "include_inferred": include_inferred,
        "category": category,
        "min_score": min_score,
        "weights": weights,
    }


MATCH_ARGS_DOC = "Keep the K best counterparts (`top`), within `radiusKm`; `weights` as in REST, e.g. `distance=0.4`."


# --- types ------------------------------------------------------------------------------------------------------


@from_model(model=MatchSideModel, all_fields=True)
class MatchSide:
    pass


@from_model(model=MatchEconomicsModel, all_fields=True)
class MatchEconomics:
    price_band: JSON | None


@from_model(model=MatchModel, all_fields=True)
class Match:
    route: str | None = strawberry.field(description="automated, or facilitated (see routeReasons).")
    scores: JSON
    constraints: JSON
    outcomes: JSON | None

    @strawberry.field(
        description="The full business case (NPV, IRR, payback, CO2, P10/P50/P90, tornado, price band, risk, every "
        "assumption with its source), as `GET /matches/{id}/economics`; `overrides` as its query parameters."
    )
    def business_case(self, info: Ctx, overrides: JSON | None = None) -> JSON | None:
        match_id = match_routes.match_reader(self.id, info.context.uow, info.context.principal)
        if overrides is not None and not isinstance(overrides, dict):
            raise ValidationFailed(
                "overrides must be an object, e.g. {discount_rate: 0.06}", details={"argument": "overrides"}
            )
        values = economic_routes.body_overrides(overrides or {})  # as `POST /matches/{id}/economics` reads its body
        runtime = info.context.runtime
        case = economics_service.business_case(
            info.context.uow.session, runtime.extras, runtime.cache, match_id, values
        )
        return JSON(case)


def match_of(data: Any) -> Match:
    return Match.from_pydantic(data if isinstance(data, MatchModel) else MatchModel.model_validate(data))


def _matches(result: Any) -> list[Match]:
    return [match_of(m) for m in result.matches]


@from_model(model=FlowRead, all_fields=True)
class Flow:
    resource_classes: JSON
    attributes: JSON

    @strawberry.field(description="The site the flow belongs to.")
    def site_details(self, info: Ctx) -> LazySite | None:
        return Site.from_pydantic(site_routes.get_site(_site_access(info, self.site_id)))

    @strawberry.field(description="The organisation that declared the flow.")
    def organization_details(self, info: Ctx) -> LazyOrganization | None:
        return Organization.from_pydantic(org_routes.get_organization(_org_access(info, self.organization_id)))

    @strawberry.field(description="The flow's best counterparts, as `GET /flows/{id}/matches`. " + MATCH_ARGS_DOC)
    def matches(
        self,
        info: Ctx,
        top: int = 5,
        radius_km: float = 50.0,
        include_inferred: bool = False,
        category: str | None = None,
        min_score: float = 0.0,
        weights: str | None = None,
    ) -> list[Match] | None:
        dependencies = {**_common(info), "access": _flow_access(info, self.id), "runtime": info.context.runtime}
        args = _match_args(top, radius_km, include_inferred, category, min_score, weights)
        return _matches(call(match_routes.flow_matches, deps=dependencies, **args))


@strawberry.type
class FlowPage:
    items: list[Flow]
    total: int
    limit: int
    offset: int


def _flow_page(page: Page[FlowRead]) -> FlowPage:
    return FlowPage(
        items=[Flow.from_pydantic(f) for f in page.items], total=page.total, limit=page.limit, offset=page.offset
    )


@from_model(model=SiteRead, all_fields=True)
class Site:
    permits: JSON

    @strawberry.field(description="The site's flows, as `GET /sites/{id}/flows`.")
    def flows(self, info: Ctx, limit: int = 50, offset: int = 0) -> FlowPage | None:
        dependencies = {**_common(info), "access": _site_access(info, self.id), "page": _page(limit, offset)}
        return _flow_page(call(flow_routes.list_site_flows, deps=dependencies))

    @strawberry.field(description="The organisation the site belongs to.")
    def organization(self, info: Ctx) -> LazyOrganization | None:
        return Organization.from_pydantic(org_routes.get_organization(_org_access(info, self.organization_id)))


@strawberry.type
class SitePage:
    items: list[Site]
    total: int
    limit: int
    offset: int


def _site_page(page: Page[SiteRead]) -> SitePage:
    return SitePage(
        items=[Site.from_pydantic(s) for s in page.items], total=page.total, limit=page.limit, offset=page.offset
    )


@from_model(model=OrganizationRead, all_fields=True)
class Organization:
    role: str | None = strawberry.field(description="The caller's role in it (owner, admin, member, viewer), or null.")

    @strawberry.field(description="The organisation's sites, as `GET /organizations/{id}/sites`.")
    def sites(self, info: Ctx, limit: int = 50, offset: int = 0) -> SitePage | None:
        dependencies = {
            **_common(info),
            "access": _org_access(info, self.id),
            "page": _page(limit, offset),
            "flt": call(site_routes.site_filter),
        }
        return _site_page(call(site_routes.list_organization_sites, deps=dependencies))

    @strawberry.field(
        description="Direct matches the organisation takes part in, as `GET /organizations/{id}/matching/direct`. "
        + MATCH_ARGS_DOC
    )
    def matches(
        self,
        info: Ctx,
        top: int = 5,
        radius_km: float = 50.0,
        include_inferred: bool = False,
        category: str | None = None,
        min_score: float = 0.0,
        weights: str | None = None,
    ) -> list[Match] | None:
        dependencies = {**_common(info), "access": _org_access(info, self.id), "runtime": info.context.runtime}
        args = _match_args(top, radius_km, include_inferred, category, min_score, weights)
        return _matches(call(match_routes.organization_matches, deps=dependencies, **args))


@strawberry.type
class OrganizationPage:
    items: list[Organization]
    total: int
    limit: int
    offset: int


@from_model(model=UserRead, all_fields=True)
class User:
    @strawberry.field(description="The caller's organisations, each with the caller's role.")
    def organizations(self, info: Ctx) -> list[Organization]:
        return [Organization.from_pydantic(o) for o in org_routes.list_my_organizations(**_common(info))]


@strawberry.type(description="A proposal as `GET /proposals/{id}` shows it to the caller (staged disclosure).")
class Proposal:
    id: str
    match_id: str
    status: str
    my_role: str
    disclosure: str = strawberry.field(description="anonymous, named or full: what the caller sees of the other side.")
    supply: JSON
    demand: JSON
    score: float | None
    scores: JSON | None
    distance_km: float | None
    economics: JSON | None
    allowed: list[str]
    allowed_for_me: list[str]
    nda_recorded_at: str | None
    created_at: str
    updated_at: str
    parties: JSON | None = strawberry.field(
        default=None, description="A chain proposal's three parties (supplier, service provider, receiver)."
    )
    chain: str | None = strawberry.field(default=None, description="The chain a three-party proposal came from.")
    history: JSON | None = strawberry.field(default=None, description="The audit trail (detail views only).")
    documents: JSON | None = None
    comments: JSON | None = None


def proposal_of(view: dict[str, Any]) -> Proposal:
    names = Proposal.__annotations__
    return Proposal(**{k: v for k, v in view.items() if k in names})


@strawberry.type
class ProposalPage:
    items: list[Proposal]
    total: int
    limit: int
    offset: int


@strawberry.type
class Comment:
    at: str
    actor: str
    body: str


# --- root types -------------------------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The caller.")
    def me(self, info: Ctx) -> User:
        return User.from_pydantic(rest_me(info.context.principal))

    @strawberry.field(description="Organisations the caller may read: its own and public-register ones.")
    def organizations(
        self,
        info: Ctx,
        q: str | None = None,
        country: str | None = None,
        source: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> OrganizationPage | None:
        page = call(
            org_routes.list_organizations,
            deps={**_common(info), "page": _page(limit, offset)},
            q=q,
            country=country,
            source=source,
        )
        items = [Organization.from_pydantic(o) for o in page.items]
        return OrganizationPage(items=items, total=page.total, limit=page.limit, offset=page.offset)

    @strawberry.field
    def organization(self, info: Ctx, id: str) -> Organization | None:
        return Organization.from_pydantic(org_routes.get_organization(_org_access(info, id)))

    @strawberry.field(description="Sites the caller may read, filtered as `GET /sites`.")
    def sites(
        self,
        info: Ctx,
        country: str | None = None,
        nace: str | None = None,
        bbox: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        radius_km: float | None = None,
        q: str | None = None,
        organization_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> SitePage | None:
        flt = call(
            site_routes.site_filter,
            country=country,
            nace=nace,
            bbox=bbox,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            q=q,
            organization_id=organization_id,
        )
        dependencies = {**_common(info), "page": _page(limit, offset), "flt": flt}
        return _site_page(call(site_routes.list_sites, deps=dependencies))

    @strawberry.field
    def site(self, info: Ctx, id: str) -> Site | None:
        return Site.from_pydantic(site_routes.get_site(_site_access(info, id)))

    @strawberry.field(description="Flows the caller may read in full, filtered as `GET /flows`.")
    def flows(
        self,
        info: Ctx,
        direction: str | None = None,
        category: str | None = None,
        resource_class: str | None = None,
        nace: str | None = None,
        inferred: bool | None = None,
        bbox: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        radius_km: float | None = None,
        q: str | None = None,
        organization_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> FlowPage | None:
        flt = call(
            flow_routes.flow_filter,
            direction=direction,
            category=category,
            resource_class=resource_class,
            nace=nace,
            inferred=inferred,
            bbox=bbox,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            q=q,
            organization_id=organization_id,
        )
        dependencies = {**_common(info), "page": _page(limit, offset), "flt": flt}
        return _flow_page(call(flow_routes.list_flows, deps=dependencies))

    @strawberry.field
    def flow(self, info: Ctx, id: str) -> Flow | None:
        return Flow.from_pydantic(flow_routes.get_flow(_flow_access(info, id), info.context.uow))

    @strawberry.field(description="One match with its explanation, as `GET /matches/{id}`.")
    def match(self, info: Ctx, id: str) -> Match | None:
        match_id = match_routes.match_reader(id, info.context.uow, info.context.principal)
        return match_of(match_routes.get_match(match_id, runtime=info.context.runtime, **_common(info)))

    @strawberry.field(description="The caller's proposals, newest first, as `GET /proposals`.")
    def proposals(self, info: Ctx, status: str | None = None, limit: int = 50, offset: int = 0) -> ProposalPage | None:
        page = call(proposal_routes.list_proposals, deps={**_common(info), "page": _page(limit, offset)}, state=status)
        return ProposalPage(
            items=[proposal_of(p) for p in page["items"]],
            total=page["total"],
            limit=page["limit"],
            offset=page["offset"],
        )

    @strawberry.field(description="One proposal with its audit trail and comments, as `GET /proposals/{id}`.")
    def proposal(self, info: Ctx, id: str) -> Proposal | None:
        access = proposal_service.access(info.context.uow.session, info.context.principal, id)
        return proposal_of(proposal_routes.get_proposal(access, info.context.uow))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Propose a match to its other party, as `POST /proposals`.")
    def create_proposal(self, info: Ctx, match_id: str) -> Proposal:
        data = build(ProposalCreate, match_id=match_id)
        return proposal_of(proposal_routes.create_proposal(data, runtime=info.context.runtime, **_common(info)))

    @strawberry.mutation(description="Move a proposal to its next state, as `POST /proposals/{id}/status`.")
    def change_proposal_status(self, info: Ctx, id: str, status: str, note: str | None = None) -> Proposal:
        access = proposal_service.access(info.context.uow.session, info.context.principal, id)
        data = build(StatusChange, status=status, note=note)
        return proposal_of(proposal_routes.change_status(access, data, info.context.uow))

    @strawberry.mutation(description="Comment on a proposal, as `POST /proposals/{id}/comments`.")
    def comment_proposal(self, info: Ctx, id: str, body: str) -> Comment:
        access = proposal_service.access(info.context.uow.session, info.context.principal, id)
        return Comment(**proposal_routes.comment(access, build(CommentCreate, body=body), info.context.uow))
