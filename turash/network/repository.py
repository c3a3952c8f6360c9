"""Reading the network from the register's tables: one SELECT of the needed columns per table (no ORM objects),
into the columns of `turash.network.graph.Tables`. Nothing is stored: the graph is the tables."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
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


def _columns(rows: Sequence[Any], n: int) -> list[list[Any]]:
    """Rows → columns (one transpose in C, instead of an attribute read per row and column)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


def load(session: Session) -> Tables:
    run = session.connection().execute  # Core: plain rows, no ORM result processing
    orgs = run(
        sa.select(Organization.id, Organization.name, Organization.nace, Organization.source).order_by(Organization.id)
    ).all()
    sites = run(
        sa.select(Site.id, Site.organization_id, Site.name, Site.lat, Site.lon, Site.nace).order_by(Site.id)
    ).all()
    flows = run(
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
    services = run(
        sa.select(
            ServiceOffering.id,
            ServiceOffering.organization_id,
            ServiceOffering.name,
            ServiceOffering.kind,
            ServiceOffering.center_lat,
            ServiceOffering.center_lon,
        ).order_by(ServiceOffering.id)
    ).all()
    matches = run(
        sa.select(
            MatchRecord.id,
            MatchRecord.supply_flow_id,
            MatchRecord.demand_flow_id,
            MatchRecord.score,
            MatchRecord.distance_km,
            # read in SQL (json_extract / ->>): decoding 100k JSON documents in Python takes seconds
            MatchRecord.economics["co2_avoided_t_per_year"].as_float(),
        ).order_by(MatchRecord.id)
    ).all()
    exchanges = run(
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
    o, si, f, sv, m = (
        _columns(rows, n) for rows, n in ((orgs, 4), (sites, 6), (flows, 9), (services, 6), (matches, 6))
    )
    amounts: list[float | None] = []
    kinds: list[str | None] = []
    for value, kind in zip(f[7], f[8], strict=True):
        yearly = _YEARLY.get(kind or "")
        if yearly is None or value is None:
            amounts.append(None)
            kinds.append(None)
        else:
            amounts.append(abs(value) * yearly[1])
            kinds.append(yearly[0])
    x_orgs = [(x.snapshot or {}).get("_orgs") or {} for x in exchanges]
    return Tables(
        org_id=o[0],
        org_name=o[1],
        org_nace=o[2],
        org_public=[source == "register" for source in o[3]],
        site_id=si[0],
        site_org=si[1],
        site_name=si[2],
        site_lat=si[3],
        site_lon=si[4],
        site_nace=si[5],
        flow_id=f[0],
        flow_org=f[1],
        flow_site=f[2],
        flow_direction=f[3],
        flow_resource=f[4],
        flow_class=f[5],
        flow_category=f[6],
        flow_amount=amounts,
        flow_amount_kind=kinds,
        service_id=sv[0],
        service_org=sv[1],
        service_name=sv[2],
        service_kind=sv[3],
        service_lat=sv[4],
        service_lon=sv[5],
        match_id=m[0],
        match_supply=m[1],
        match_demand=m[2],
        match_score=m[3],
        match_distance_km=m[4],
        match_co2=[None if v is None or not math.isfinite(v) else float(v) for v in m[5]],
        exchange_id=[x.id for x in exchanges],
        exchange_supply=[x.supply_flow_id for x in exchanges],
        exchange_demand=[x.demand_flow_id for x in exchanges],
        # the snapshot says which organisation supplies; without it, the proposer is taken as the supplier
        exchange_supply_org=[o.get("supply") or x.proposer_org_id for o, x in zip(x_orgs, exchanges, strict=True)],
        exchange_demand_org=[o.get("demand") or x.receiver_org_id for o, x in zip(x_orgs, exchanges, strict=True)],
        exchange_status=[x.status for x in exchanges],
        exchange_co2=[_co2((x.snapshot or {}).get("economics")) for x in exchanges],
    )
