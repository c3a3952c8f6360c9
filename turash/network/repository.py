"""Reading the network from the register's tables: one SELECT of the needed columns per table (no ORM objects),
into the columns of `turash.network.graph.Tables`. Nothing is stored: the graph is the tables."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.models import MatchRecord, Organization, Proposal, ResourceFlow, ServiceOffering, Site
from turash.network.graph import Tables

# Proposals in these states are exchanges: agreed between the parties, or running.
EXCHANGE_STATES = ("agreed", "implemented")
SECONDS_PER_YEAR = 365.25 * 86400  # the Julian year, as pint's `year` (turash.kit.units)
# quantity kind → (amount kind, factor from the SI value to a yearly amount in t, GWh or m3). Amounts without a
# time base are read as per year, as matching does (turash.matching.repository).
_YEARLY = {
    "mass_rate": ("mass", SECONDS_PER_YEAR / 1000.0),
    "mass": ("mass", 1 / 1000.0),
    "power": ("energy", SECONDS_PER_YEAR / 3.6e12),
    "energy": ("energy", 1 / 3.6e12),
    "volume_rate": ("volume", SECONDS_PER_YEAR),
    "volume": ("volume", 1.0),
}


def version(session: Session) -> str:
    """Changes whenever anything the graph reads changes (counts and newest change times, one query)."""
    models: tuple[Any, ...] = (Organization, Site, ResourceFlow, ServiceOffering, Proposal)
    parts = [sa.select(sa.func.count(m.id)).scalar_subquery() for m in (*models, MatchRecord)]
    parts += [sa.select(sa.func.max(m.updated_at)).scalar_subquery() for m in models]
    parts.append(sa.select(sa.func.max(MatchRecord.computed_at)).scalar_subquery())
    row = session.execute(sa.select(*parts)).one()
    return hashlib.sha256("|".join(map(str, row)).encode()).hexdigest()[:24]


def _co2(economics: Any) -> float | None:
    if not isinstance(economics, dict):
        return None
    value = economics.get("co2_avoided_t_per_year")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def load(session: Session) -> Tables:
    orgs = session.execute(
        sa.select(Organization.id, Organization.name, Organization.nace, Organization.source).order_by(Organization.id)
    ).all()
    sites = session.execute(
        sa.select(Site.id, Site.organization_id, Site.name, Site.lat, Site.lon, Site.nace).order_by(Site.id)
    ).all()
    flows = session.execute(
        sa.select(
            ResourceFlow.id,
            ResourceFlow.organization_id,
            ResourceFlow.site_id,
            ResourceFlow.direction,
            ResourceFlow.resource,
            ResourceFlow.resource_class,
            ResourceFlow.category,
            ResourceFlow.quantity_si,
            ResourceFlow.quantity_kind,
        ).order_by(ResourceFlow.id)
    ).all()
    services = session.execute(
        sa.select(
            ServiceOffering.id,
            ServiceOffering.organization_id,
            ServiceOffering.name,
            ServiceOffering.kind,
            ServiceOffering.center_lat,
            ServiceOffering.center_lon,
        ).order_by(ServiceOffering.id)
    ).all()
    matches = session.execute(
        sa.select(
            MatchRecord.id,
            MatchRecord.supply_flow_id,
            MatchRecord.demand_flow_id,
            MatchRecord.score,
            MatchRecord.distance_km,
            MatchRecord.economics,
        ).order_by(MatchRecord.id)
    ).all()
    exchanges = session.execute(
        sa.select(
            Proposal.id,
            Proposal.supply_flow_id,
            Proposal.demand_flow_id,
            Proposal.proposer_org_id,
            Proposal.receiver_org_id,
            Proposal.status,
            Proposal.snapshot,
        )
        .where(Proposal.status.in_(EXCHANGE_STATES))
        .order_by(Proposal.id)
    ).all()
    amounts: list[float | None] = []
    kinds: list[str | None] = []
    for f in flows:
        yearly = _YEARLY.get(f.quantity_kind or "")
        if yearly is None or f.quantity_si is None:
            amounts.append(None)
            kinds.append(None)
        else:
            amounts.append(abs(f.quantity_si) * yearly[1])
            kinds.append(yearly[0])
    x_orgs = [(x.snapshot or {}).get("_orgs") or {} for x in exchanges]
    return Tables(
        org_id=[o.id for o in orgs],
        org_name=[o.name for o in orgs],
        org_nace=[o.nace for o in orgs],
        org_public=[o.source == "register" for o in orgs],
        site_id=[s.id for s in sites],
        site_org=[s.organization_id for s in sites],
        site_name=[s.name for s in sites],
        site_lat=[s.lat for s in sites],
        site_lon=[s.lon for s in sites],
        site_nace=[s.nace for s in sites],
        flow_id=[f.id for f in flows],
        flow_org=[f.organization_id for f in flows],
        flow_site=[f.site_id for f in flows],
        flow_direction=[f.direction for f in flows],
        flow_resource=[f.resource for f in flows],
        flow_class=[f.resource_class for f in flows],
        flow_category=[f.category for f in flows],
        flow_amount=amounts,
        flow_amount_kind=kinds,
        service_id=[s.id for s in services],
        service_org=[s.organization_id for s in services],
        service_name=[s.name for s in services],
        service_kind=[s.kind for s in services],
        service_lat=[s.center_lat for s in services],
        service_lon=[s.center_lon for s in services],
        match_id=[m.id for m in matches],
        match_supply=[m.supply_flow_id for m in matches],
        match_demand=[m.demand_flow_id for m in matches],
        match_score=[float(m.score) for m in matches],
        match_distance_km=[float(m.distance_km) for m in matches],
        match_co2=[_co2(m.economics) for m in matches],
        exchange_id=[x.id for x in exchanges],
        exchange_supply=[x.supply_flow_id for x in exchanges],
        exchange_demand=[x.demand_flow_id for x in exchanges],
        # the snapshot says which organisation supplies; without it, the proposer is taken as the supplier
        exchange_supply_org=[o.get("supply") or x.proposer_org_id for o, x in zip(x_orgs, exchanges, strict=True)],
        exchange_demand_org=[o.get("demand") or x.receiver_org_id for o, x in zip(x_orgs, exchanges, strict=True)],
        exchange_status=[x.status for x in exchanges],
        exchange_co2=[_co2((x.snapshot or {}).get("economics")) for x in exchanges],
    )
