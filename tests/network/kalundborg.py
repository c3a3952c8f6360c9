"""A Kalundborg-shaped network in the register: the documented exchanges of the Kalundborg Symbiosis as
implemented proposals over stored matches.

Sources for the links (who gives what to whom, and the year it began):
- N. B. Jacobsen (2006), "Industrial Symbiosis in Kalundborg, Denmark: A Quantitative Assessment of Economic and
  Environmental Aspects", Journal of Industrial Ecology 10(1-2), 239-255, figure 1 and table 1;
- Kalundborg Symbiosis, https://www.symbiosis.dk (the partners and their exchanges);
- the figure "Kalundborg industrial symbiosis in 2000" (Saikku 2006) reproduced in Sustainable Industrial Design
  and Waste Management (2007), p. 103;
- VisitDenmark, "Kalundborg Symbiosis": Gyproc receives 200,000 t/yr of gypsum from Asnæs; Statoil pipes
  700,000 m3/yr of cooling water to Asnæs (both quantities used below).

The links: Asnæs power station → Statoil/Equinor refinery (steam, 1982), → Novo Nordisk (steam, 1982),
→ Kalundborg district heating (1981), → fish farm (warm cooling water, 1989), → Gyproc (FGD gypsum, 1993),
→ cement industry (fly ash, 1979); refinery → Gyproc (refinery gas, 1972), → Asnæs (cooling water, 1987);
Novo Nordisk → farms (NovoGro biomass fertiliser, 1976; yeast slurry as pig feed, 1989); the municipality's
waste-water sludge → Soilrem (soil remediation).

Not documented, and marked so: the positions are approximate (a few hundred metres), quantities other than the
two above are left unknown, match scores are illustrative, and one ALTERNATIVE supply is added for the resilience
test (FGD gypsum from Avedøre power station near Copenhagen, matched but not exchanged), as is an unrelated
bakery with no links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from turash.flows import service as flows
from turash.flows.schemas import FlowCreate
from turash.kit.geo import haversine_km
from turash.matching.repository import match_id, store_matches
from turash.models import Organization, Proposal, ResourceFlow, Site
from turash.models.base import name_key, new_id, utcnow

# name, NACE, lat, lon (approximate)
ORGANISATIONS = {
    "asnaes": ("Asnæs Power Station", "35.11", 55.6606, 11.0843),
    "refinery": ("Equinor Refinery Kalundborg", "19.20", 55.6846, 11.0904),
    "novo": ("Novo Nordisk Kalundborg", "21.20", 55.6536, 11.1190),
    "gyproc": ("Gyproc Kalundborg", "23.62", 55.6681, 11.0981),
    "heating": ("Kalundborg Forsyning district heating", "35.30", 55.6800, 11.0950),
    "fish": ("Fish farm at Asnæs", "03.22", 55.6580, 11.0760),
    "farm_a": ("Farm receiving NovoGro", "01.50", 55.6200, 11.1800),
    "farm_b": ("Pig farm receiving yeast slurry", "01.46", 55.7000, 11.2200),
    "soilrem": ("Soilrem", "39.00", 55.6640, 11.1050),
    "cement": ("Aalborg Portland", "23.51", 57.0400, 9.9600),
    "avedore": ("Avedøre Power Station", "35.11", 55.6030, 12.4600),  # the illustrative alternative
    "bakery": ("Isolated Bakery", "10.71", 55.4000, 11.3500),  # no links at all
}
# supplier, its resource, category, quantity, unit → receiver, the resource as it needs it, exchanged (else
# matched only)
LINKS: list[tuple[str, str, str, float | None, str | None, str, str, bool]] = [
    ("asnaes", "steam", "steam", None, None, "refinery", "process steam", True),
    ("asnaes", "steam", "steam", None, None, "novo", "process steam", True),
    ("asnaes", "district heat", "heat", None, None, "heating", "district heating supply", True),
    ("asnaes", "warm cooling water", "heat", None, None, "fish", "warm water for fish ponds", True),
    ("asnaes", "FGD gypsum", "material", 200000, "t/yr", "gyproc", "gypsum", True),
    ("asnaes", "fly ash", "material", None, None, "cement", "fly ash", True),
    ("refinery", "refinery gas", "gas", None, None, "gyproc", "fuel gas", True),
    ("refinery", "cooling water", "water", 700000, "m3/yr", "asnaes", "cooling water", True),
    ("novo", "NovoGro biomass fertiliser", "material", None, None, "farm_a", "fertiliser", True),
    ("novo", "yeast slurry", "material", None, None, "farm_b", "pig feed", True),
    ("heating", "sewage sludge", "material", None, None, "soilrem", "sewage sludge", True),
    ("avedore", "FGD gypsum", "material", 150000, "t/yr", "gyproc", "gypsum", False),
]


@dataclass
class Kalundborg:
    orgs: dict[str, str] = field(default_factory=dict)  # key → organisation id
    sites: dict[str, str] = field(default_factory=dict)
    supplies: dict[tuple[str, str], str] = field(default_factory=dict)  # (org key, resource) → flow id
    demands: dict[tuple[str, str], str] = field(default_factory=dict)
    exchanges: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)
    bakery_flow: str = ""


def _flow(session: Session, site: Site, org: Organization, **body: Any) -> ResourceFlow:
    return flows.create(session, site, FlowCreate(**body), organization_name=org.name, user_id=None)


def build(session: Session, source: str = "register") -> Kalundborg:
    k = Kalundborg()
    objects: dict[str, tuple[Organization, Site]] = {}
    for key, (name, nace, lat, lon) in ORGANISATIONS.items():
        org = Organization(id=new_id(), name=name, name_key=name_key(name), nace=nace, country="DK", source=source)
        site = Site(
            id=new_id(),
            organization_id=org.id,
            name=name,
            name_key=name_key(name),
            lat=lat,
            lon=lon,
            nace=nace,
            country="DK",
        )
        session.add_all([org, site])
        session.flush()
        objects[key] = (org, site)
        k.orgs[key], k.sites[key] = org.id, site.id
    score = 0.9
    match_rows: list[dict[str, Any]] = []
    for supplier, resource, category, quantity, unit, receiver, wanted, exchanged in LINKS:
        s_org, s_site = objects[supplier]
        d_org, d_site = objects[receiver]
        supply = k.supplies.get((supplier, resource))
        if supply is None:
            supply = _flow(
                session,
                s_site,
                s_org,
                direction="supply",
                resource=resource,
                category=category,
                quantity=quantity,
                unit=unit,
            ).id
            k.supplies[(supplier, resource)] = supply
        demand = k.demands.get((receiver, wanted))
        if demand is None:
            demand = _flow(
                session,
                d_site,
                d_org,
                direction="demand",
                resource=wanted,
                category=category,
                quantity=quantity,
                unit=unit,
            ).id
            k.demands[(receiver, wanted)] = demand
        mid = match_id(supply, demand)
        km = haversine_km(s_site.lat, s_site.lon, d_site.lat, d_site.lon)
        match_rows.append(
            {
                "id": mid,
                "run_id": None,
                "supply_flow_id": supply,
                "demand_flow_id": demand,
                "score": score if exchanged else 0.55,
                "scores": {},
                "distance_km": km,
                "economics": {},
                "explanation": "Kalundborg test network",
                "route": "automated",
                "details": {},
                "inputs_version": "test",
                "computed_at": utcnow(),
            }
        )
        k.matches.append(mid)
        score = round(score - 0.01, 2)
        if exchanged:
            proposal = Proposal(
                id=new_id(),
                match_id=mid,
                supply_flow_id=supply,
                demand_flow_id=demand,
                proposer_org_id=s_org.id,
                receiver_org_id=d_org.id,
                status="implemented",
                snapshot={"_orgs": {"supply": s_org.id, "demand": d_org.id}, "economics": {}},
            )
            session.add(proposal)
            k.exchanges.append(proposal.id)
    store_matches(session, match_rows)  # as matching stores them (one bulk insert)
    bakery_org, bakery_site = objects["bakery"]
    k.bakery_flow = _flow(
        session, bakery_site, bakery_org, direction="supply", resource="spent bread", category="material"
    ).id
    session.flush()
    return k


# A box around Kalundborg (the town, the industrial area and the farms), leaving out Aalborg and Copenhagen.
KALUNDBORG_BBOX = "10.95,55.55,11.35,55.75"
