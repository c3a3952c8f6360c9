"""The export queries: one SELECT per entity, scoped to what the caller may read exactly as its list route scopes
it, ordered by primary key, read by the caller in batches (`yield_per`: a server-side cursor on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from turash.auth.service import Principal
from turash.models import MatchRecord, Organization, Proposal, ResourceFlow, ServiceOffering, Site
from turash.organizations.repository import member_org_ids, visible_to

# Register entities: (model, column holding the owning organisation's id).
OWNED: dict[str, tuple[Any, Any]] = {
    "organizations": (Organization, Organization.id),
    "sites": (Site, Site.organization_id),
    "flows": (ResourceFlow, ResourceFlow.organization_id),
    "services": (ServiceOffering, ServiceOffering.organization_id),
}


def table_columns(entity: str) -> list[str]:
    model, _ = OWNED[entity]
    return [c.name for c in model.__table__.columns]


def owned(entity: str, principal: Principal, since: datetime | None) -> sa.Select[Any]:
    """Organisations, sites, flows or services the caller reads in full: its own and public-register ones
    (organizations.repository.visible_to, as GET /organizations, /sites, /flows, /services)."""
    model, org_column = OWNED[entity]
    query = sa.select(*model.__table__.columns).where(visible_to(principal, org_column))
    if since is not None:
        query = query.where(model.updated_at >= since)
    return query.order_by(model.id)


def mine(session: Session, principal: Principal) -> set[str] | None:
    """The organisations the caller acts for (None: a platform administrator, every organisation)."""
    if principal.api_key_organization_id is not None:
        return {principal.api_key_organization_id}
    if principal.is_admin:
        return None
    return set(session.scalars(member_org_ids(principal.user.id)))


def member_orgs(session: Session, principal: Principal) -> set[str]:
    if principal.api_key_organization_id is not None:
        return {principal.api_key_organization_id}
    return set(session.scalars(member_org_ids(principal.user.id)))


def matches(session: Session, principal: Principal, since: datetime | None) -> sa.Select[Any]:
    """Stored matches one of whose two flows belongs to one of the caller's organisations (as
    /organizations/{id}/matching/direct lists them), with both organisations and resources for disclosure."""
    sf, df = aliased(ResourceFlow), aliased(ResourceFlow)
    so, do = aliased(Organization), aliased(Organization)
    query = (
        sa.select(
            MatchRecord.id,
            MatchRecord.run_id,
            MatchRecord.supply_flow_id,
            MatchRecord.demand_flow_id,
            MatchRecord.score,
            MatchRecord.distance_km,
            MatchRecord.route,
            MatchRecord.economics,
            MatchRecord.computed_at,
            sf.category.label("category"),
            sf.resource.label("supply_resource"),
            df.resource.label("demand_resource"),
            so.id.label("supply_org_id"),
            so.name.label("supply_org_name"),
            so.source.label("supply_org_source"),
            so.nace.label("supply_org_nace"),
            do.id.label("demand_org_id"),
            do.name.label("demand_org_name"),
            do.source.label("demand_org_source"),
            do.nace.label("demand_org_nace"),
        )
        .join(sf, sf.id == MatchRecord.supply_flow_id)
        .join(df, df.id == MatchRecord.demand_flow_id)
        .join(so, so.id == sf.organization_id)
        .join(do, do.id == df.organization_id)
    )
    own = mine(session, principal)
    if own is not None:
        query = query.where(sa.or_(so.id.in_(own), do.id.in_(own)))
    if since is not None:
        query = query.where(MatchRecord.computed_at >= since)
    return query.order_by(MatchRecord.id)


def proposals(session: Session, principal: Principal, since: datetime | None) -> sa.Select[Any]:
    """Proposals the caller is a party or the facilitator of (as GET /proposals lists them)."""
    query = sa.select(
        Proposal.id,
        Proposal.match_id,
        Proposal.status,
        Proposal.proposer_org_id,
        Proposal.receiver_org_id,
        Proposal.facilitator_org_id,
        Proposal.supply_flow_id,
        Proposal.demand_flow_id,
        Proposal.snapshot,
        Proposal.nda_at,
        Proposal.created_at,
        Proposal.updated_at,
    )
    member = member_org_ids(principal.user.id)
    query = query.where(
        sa.or_(
            Proposal.proposer_org_id.in_(member),
            Proposal.receiver_org_id.in_(member),
            Proposal.facilitator_org_id.in_(member),
        )
    )
    if principal.api_key_organization_id is not None:
        key_org = principal.api_key_organization_id
        query = query.where(sa.or_(Proposal.proposer_org_id == key_org, Proposal.receiver_org_id == key_org))
    if since is not None:
        query = query.where(Proposal.updated_at >= since)
    return query.order_by(Proposal.id)


def organization_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(sorted(ids))))
    return {org_id: name for org_id, name in rows}
