"""Loading public registers into the register of organisations, sites and flows (`turash demo`,
`turash import registers`).

Hotmaps industrial sites, E-PRTR CO2 and CO emitters are read, resolved into physical sites across registers
(turash.registers.resolution: a plant listed in two registers becomes one site), placed in EU chemical parks
(a site attribute), and written as public-register organisations and sites. Each site's flows are the registers'
own figures (Hotmaps excess heat by temperature band, CO2 tonnes: precision `estimated`) and its sector profile's
likely flows (inferred, `rough`). Idempotent: a site any of whose register records is already loaded is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.models import Organization, Site
from turash.models.base import name_key, new_id
from turash.reference.datasets import DATASETS, locate
from turash.registers.chemical_parks import assign_sites, read_parks
from turash.registers.eprtr import latest_per_facility, read_co2_emitters, read_co_emitters
from turash.registers.hotmaps import read_sites
from turash.registers.resolution import SiteCluster, SiteRecord, from_eprtr, from_hotmaps, resolve
from turash.sectors import RegisterFigures, figures_from_hotmaps
from turash.sectors.register import SiteToInfer, infer_sites

SOURCES = ("hotmaps", "eprtr_co2", "eprtr_co", "chemical_parks")


@dataclass
class RegisterLoad:
    sources: tuple[str, ...]
    attribution: str
    records_read: int = 0
    skipped_no_location: int = 0
    sites_seen: int = 0
    merged_records: int = 0  # records that joined another register's record of the same site
    sites_created: int = 0
    organizations_created: int = 0
    flows_created: int = 0
    sites_in_parks: int = 0
    per_source: dict[str, int] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return ",".join(self.sources)


def _records(sources: Sequence[str], limit: int | None, countries: frozenset[str] | None,
             report: RegisterLoad) -> list[SiteRecord]:
    def wanted(country: str | None) -> bool:
        return countries is None or (country or "").upper() in countries

    records: list[SiteRecord] = []
    if "hotmaps" in sources:
        sites = [s for s in read_sites(locate("hotmaps")) if wanted(s.country)][:limit]
        records += [from_hotmaps(s) for s in sites]
    for key, reader in (("eprtr_co2", read_co2_emitters), ("eprtr_co", read_co_emitters)):
        if key in sources:
            facilities = [f for f in latest_per_facility(reader(locate(key)))
                          if not f.confidential and wanted(f.country)][:limit]
            records += [from_eprtr(f) for f in facilities]
    report.records_read = len(records)
    located = [r for r in records if r.lat is not None and r.lon is not None]
    report.skipped_no_location = len(records) - len(located)
    for r in located:
        report.per_source[r.source] = report.per_source.get(r.source, 0) + 1
    return located


def _figures(cluster: SiteCluster) -> RegisterFigures | None:
    """The registers' own figures for the site: Hotmaps' (excess heat, fuel, production, CO2), with E-PRTR's CO2
    tonnes when Hotmaps has none."""
    hotmaps = next((r.payload for r in cluster.records if r.source == "hotmaps"), None)
    eprtr = next((r.payload.figures() for r in cluster.records if r.source == "eprtr_co2" and r.payload.figures()),
                 None)
    if hotmaps is None:
        return eprtr
    figures = figures_from_hotmaps(hotmaps)
    if not figures.co2_t and eprtr is not None and eprtr.co2_t:
        figures = RegisterFigures(source=f"{figures.source}; {eprtr.source}",
                                  source_ids=(*figures.source_ids, *eprtr.source_ids),
                                  production_t=figures.production_t, fuel_gwh=figures.fuel_gwh, co2_t=eprtr.co2_t,
                                  excess_heat_gwh=figures.excess_heat_gwh)
    return figures


def _attributes(cluster: SiteCluster, park: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"registers": cluster.refs, "resolution_confidence": round(cluster.confidence, 3)}
    for record in cluster.records:
        payload = record.payload
        if record.source == "hotmaps":
            attrs.update(hotmaps_site_id=payload.site_id, subsector=payload.subsector,
                         **{k: v for k, v in payload.figures.items() if v is not None})
        elif record.source == "eprtr_co2" and payload.tonnes:
            attrs.update(eprtr_co2_t=payload.tonnes, eprtr_year=payload.year, eprtr_activity=payload.activity)
        elif record.source == "eprtr_co" and payload.tonnes:
            attrs.update(eprtr_co_t=payload.tonnes)
    if park:
        attrs["chemical_park"] = park
    return attrs


def load_registers(session: Session, *, sources: Sequence[str] = SOURCES, limit: int | None = None,
                   countries: Sequence[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> RegisterLoad:
    """Load the public registers (see the module docstring). `limit` caps the records read per register;
    `countries` (ISO 3166 alpha-2 codes) keeps only the records of those countries."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown register(s): {', '.join(sorted(unknown))}; use {', '.join(SOURCES)}")
    used = tuple(s for s in SOURCES if s in sources)
    attributions = dict.fromkeys(DATASETS[s].attribution for s in used)  # the E-PRTR files share one
    report = RegisterLoad(sources=used, attribution="; ".join(attributions))
    wanted = frozenset(c.strip().upper() for c in countries) if countries else None
    records = _records(used, limit, wanted, report)
    clusters = resolve(records)
    report.sites_seen = len(clusters)
    report.merged_records = len(records) - len(clusters)
    parks: dict[str, str] = {}
    if "chemical_parks" in used:
        for chemical_park in assign_sites(read_parks(locate("chemical_parks")), records):
            for member in chemical_park.members:
                parks[member.key] = chemical_park.name
    loaded: set[str] = set()
    for refs in session.scalars(sa.select(Site.attributes).where(Site.source == "register")):
        loaded.update((refs or {}).get("registers") or [])
    loaded.update(ref for ref in session.scalars(sa.select(Site.source_ref).where(Site.source == "register")) if ref)
    orgs = {o.name_key: o for o in session.scalars(sa.select(Organization).where(Organization.source == "register"))}
    names = {(o, k) for o, k in session.execute(sa.select(Site.organization_id, Site.name_key)
                                                 .join(Organization).where(Organization.source == "register"))}
    to_infer: list[SiteToInfer] = []
    for index, cluster in enumerate(clusters):
        if progress is not None and index % 250 == 0:
            progress(index, len(clusters))
        if any(ref in loaded for ref in cluster.refs):
            continue
        primary = cluster.pick()
        payload = primary.payload
        company = getattr(payload, "company", None) or primary.name
        org = orgs.get(name_key(company))
        if org is None:
            org = Organization(id=new_id(), name=company, name_key=name_key(company), kind="enterprise",
                               nace=primary.nace, country=primary.country, source="register",
                               source_ref=primary.key)
            session.add(org)
            orgs[org.name_key] = org
            report.organizations_created += 1
        name = primary.name
        for candidate in (primary.name, f"{primary.name} ({primary.city})", f"{primary.name} ({primary.key})"):
            if (org.id, name_key(candidate)) not in names:
                name = candidate
                break
        names.add((org.id, name_key(name)))
        park = next((parks[r.key] for r in cluster.records if r.key in parks), None)
        report.sites_in_parks += park is not None
        nace = next((r.nace for r in cluster.records if r.source == "hotmaps" and r.nace), None) or next(
            (r.nace for r in cluster.records if r.nace), None)
        site = Site(id=new_id(), organization_id=org.id, name=name, name_key=name_key(name), lat=cluster.lat,
                    lon=cluster.lon, country=primary.country, nace=nace, address=getattr(payload, "address", None),
                    city=primary.city, source="register", source_ref=primary.key,
                    attributes=_attributes(cluster, park))
        session.add(site)
        report.sites_created += 1
        to_infer.append(SiteToInfer(site.id, org.id, org.name, name, nace, figures=_figures(cluster)))
    session.flush()
    report.flows_created = infer_sites(session, to_infer)
    if progress is not None:
        progress(len(clusters), len(clusters))
    return report


def load_hotmaps(session: Session, *, limit: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> RegisterLoad:
    """The Hotmaps Industrial Database alone."""
    return load_registers(session, sources=("hotmaps",), limit=limit, progress=progress)
