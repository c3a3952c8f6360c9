"""Queries behind the KPIs: counts and monthly buckets computed by the database (GROUP BY), so a region of a
million flows never comes into memory; only agreed and implemented proposals (few) are read row by row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.kit import spatial
from turash.kit.geo import BBox
from turash.models import FacilitationCase, MatchRecord, Organization, Proposal, ProposalEvent, ResourceFlow, Site

ScopeKind = Literal["region", "organization", "facilitator"]
EXCHANGED_STATES = ("agreed", "implemented")


@dataclass(frozen=True)
class Scope:
    """What the KPIs are about: a region (country and/or bounding box of the sites), one organisation (its flows,
    the matches and proposals it is a party to) or one facilitator organisation (the cases and proposals it
    carries)."""

    kind: ScopeKind
    label: str
    country: str | None = None
    bbox: BBox | None = None
    organization_id: str | None = None


def _in_region(scope: Scope) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if scope.country:
        conditions.append(Site.country == scope.country)
    if scope.bbox:
        conditions.append(spatial.in_bbox(Site.__table__, scope.bbox))  # type: ignore[arg-type]
    return conditions


def _flow_in_region(scope: Scope, flow_id: Any) -> sa.Exists:
    """The flow `flow_id` is at a site of the region: a correlated EXISTS, i.e. two primary-key lookups per row
    (faster than IN over every flow of a large region, on SQLite and PostgreSQL alike)."""
    return sa.exists().where(ResourceFlow.id == flow_id, Site.id == ResourceFlow.site_id, *_in_region(scope))


def _facilitated_flow_ids(org_id: str) -> sa.Select[tuple[str | None]]:
    cases = sa.select(FacilitationCase.supply_flow_id).where(FacilitationCase.facilitator_org_id == org_id)
    cases_d = sa.select(FacilitationCase.demand_flow_id).where(FacilitationCase.facilitator_org_id == org_id)
    props = sa.select(Proposal.supply_flow_id).where(Proposal.facilitator_org_id == org_id)
    props_d = sa.select(Proposal.demand_flow_id).where(Proposal.facilitator_org_id == org_id)
    return sa.union(cases, cases_d, props, props_d)  # type: ignore[return-value]


def flow_condition(scope: Scope) -> sa.ColumnElement[bool]:
    if scope.kind == "region":
        return sa.exists().where(Site.id == ResourceFlow.site_id, *_in_region(scope))
    assert scope.organization_id is not None
    if scope.kind == "organization":
        return ResourceFlow.organization_id == scope.organization_id
    return ResourceFlow.id.in_(_facilitated_flow_ids(scope.organization_id))


def match_condition(scope: Scope) -> sa.ColumnElement[bool]:
    """A region's matches are those whose supply lies in it (as turash.potential counts them)."""
    if scope.kind == "region":
        return _flow_in_region(scope, MatchRecord.supply_flow_id)
    assert scope.organization_id is not None
    if scope.kind == "organization":
        own = sa.select(ResourceFlow.id).where(ResourceFlow.organization_id == scope.organization_id)
        return sa.or_(MatchRecord.supply_flow_id.in_(own), MatchRecord.demand_flow_id.in_(own))
    cases = sa.select(FacilitationCase.match_id).where(FacilitationCase.facilitator_org_id == scope.organization_id)
    return MatchRecord.id.in_(cases)


def proposal_condition(scope: Scope) -> sa.ColumnElement[bool]:
    """A region's proposals are those whose supply flow lies in it; an organisation's, those it proposed or
    received; a facilitator's, those it is assigned to."""
    if scope.kind == "region":
        return _flow_in_region(scope, Proposal.supply_flow_id)
    assert scope.organization_id is not None
    if scope.kind == "organization":
        return sa.or_(
            Proposal.proposer_org_id == scope.organization_id, Proposal.receiver_org_id == scope.organization_id
        )
    return Proposal.facilitator_org_id == scope.organization_id


def flow_counts(session: Session, scope: Scope) -> list[tuple[str, str | None, bool, int]]:
    """(direction, category, inferred, count) of the scope's flows."""
    rows = session.execute(
        sa.select(ResourceFlow.direction, ResourceFlow.category, ResourceFlow.inferred, sa.func.count())
        .where(flow_condition(scope))
        .group_by(ResourceFlow.direction, ResourceFlow.category, ResourceFlow.inferred)
    )
    return [(d, c, bool(i), int(n)) for d, c, i, n in rows]


def match_counts(session: Session, scope: Scope) -> dict[str, int]:
    """Stored matches (the audit trail of served matches) by route: automated | facilitated."""
    rows = session.execute(
        sa.select(MatchRecord.route, sa.func.count()).where(match_condition(scope)).group_by(MatchRecord.route)
    )
    return {route: int(n) for route, n in rows}


def proposal_counts(session: Session, scope: Scope) -> dict[str, int]:
    rows = session.execute(
        sa.select(Proposal.status, sa.func.count()).where(proposal_condition(scope)).group_by(Proposal.status)
    )
    return {status: int(n) for status, n in rows}


def proposed_match_count(session: Session, scope: Scope) -> int:
    return int(
        session.scalar(sa.select(sa.func.count(sa.distinct(Proposal.match_id))).where(proposal_condition(scope))) or 0
    )


def case_counts(session: Session, org_id: str) -> dict[str, int]:
    rows = session.execute(
        sa.select(FacilitationCase.status, sa.func.count())
        .where(FacilitationCase.facilitator_org_id == org_id)
        .group_by(FacilitationCase.status)
    )
    return {status: int(n) for status, n in rows}


@dataclass(frozen=True)
class ExchangeRow:
    """An agreed or implemented proposal with what the KPIs read of it."""

    proposal: Proposal
    supply: ResourceFlow | None
    demand: ResourceFlow | None
    agreed_at: datetime | None


def exchanges(session: Session, scope: Scope) -> list[ExchangeRow]:
    """Agreed and implemented proposals of the scope, with both flows and the time of the agreement."""
    supply, demand = sa.orm.aliased(ResourceFlow), sa.orm.aliased(ResourceFlow)
    agreed_at = (
        sa.select(sa.func.max(ProposalEvent.at))
        .where(ProposalEvent.proposal_id == Proposal.id, ProposalEvent.to_status == "agreed")
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(Proposal, supply, demand, agreed_at)
        .outerjoin(supply, supply.id == Proposal.supply_flow_id)
        .outerjoin(demand, demand.id == Proposal.demand_flow_id)
        .where(proposal_condition(scope), Proposal.status.in_(EXCHANGED_STATES))
        .order_by(Proposal.created_at, Proposal.id)
    )
    return [ExchangeRow(p, s, d, a) for p, s, d, a in rows]


def organizations(session: Session, ids: Iterable[str]) -> dict[str, Organization]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(sa.select(Organization).where(Organization.id.in_(wanted)))}


def register_sources(session: Session, scope: Scope) -> list[str]:
    """The `source_ref` of one organisation per register dataset among the scope's flows' organisations: enough to
    name every dataset the figures draw on."""
    prefix = sa.func.substr(Organization.source_ref, 1, sa.func.instr(Organization.source_ref, ":"))
    if session.get_bind().dialect.name == "postgresql":
        prefix = sa.func.split_part(Organization.source_ref, ":", 1)
    orgs = sa.select(ResourceFlow.organization_id).where(flow_condition(scope))
    rows = session.execute(
        sa.select(sa.func.min(Organization.source_ref))
        .where(Organization.source == "register", Organization.id.in_(orgs), Organization.source_ref.is_not(None))
        .group_by(prefix)
    )
    return [ref for (ref,) in rows if ref]


# --- monthly buckets ------------------------------------------------------------------------------------------------
def month_of(session: Session, column: Any) -> sa.ColumnElement[str]:
    """'YYYY-MM' of a timestamp in UTC, by the database (SQLite keeps UTC wall-clock text; PostgreSQL timestamptz)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _monthly(
    session: Session, column: Any, condition: sa.ColumnElement[bool], start: datetime, end: datetime
) -> dict[str, int]:
    month = month_of(session, column).label("month")
    rows = session.execute(
        sa.select(month, sa.func.count()).where(condition, column >= start, column < end).group_by(month)
    )
    return {m: int(n) for m, n in rows}


def monthly_counts(session: Session, scope: Scope, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Per series, {'YYYY-MM': count} of: flows listed (created, not inferred), matches (last computed), proposals
    created, proposals agreed (the time of the move to `agreed`)."""
    agreed_events = sa.and_(
        ProposalEvent.to_status == "agreed",
        ProposalEvent.proposal_id.in_(sa.select(Proposal.id).where(proposal_condition(scope))),
    )
    return {
        "flows_listed": _monthly(
            session,
            ResourceFlow.created_at,
            sa.and_(flow_condition(scope), ResourceFlow.inferred.is_(False)),
            start,
            end,
        ),
        "matches_found": _monthly(session, MatchRecord.computed_at, match_condition(scope), start, end),
        "proposals_created": _monthly(session, Proposal.created_at, proposal_condition(scope), start, end),
        "proposals_agreed": _monthly(session, ProposalEvent.at, agreed_events, start, end),
    }
