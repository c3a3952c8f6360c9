"""Loading public registers into the register of organisations, sites and flows (`turash demo`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.models import Organization, Site
from turash.models.base import name_key, new_id
from turash.reference.datasets import DATASETS, locate
from turash.registers.hotmaps import read_sites
from turash.sectors import figures_from_hotmaps
from turash.sectors.register import SiteToInfer, infer_sites


@dataclass
class RegisterLoad:
    dataset: str
    attribution: str
    sites_seen: int = 0
    skipped_no_location: int = 0
    sites_created: int = 0
    organizations_created: int = 0
    flows_created: int = 0


def load_hotmaps(
    session: Session, *, limit: int | None = None, progress: Callable[[int, int], None] | None = None
) -> RegisterLoad:
    """Hotmaps sites with coordinates become public-register sites. Their flows: the register's figures (excess heat
    per temperature band, CO2; precision `estimated`: Hotmaps derives them from fuel use and process models) and the
    likely flows of their sector (inferred, `rough`). Idempotent: sites already loaded (by SiteID) are left alone."""
    dataset = DATASETS["hotmaps"]
    report = RegisterLoad(dataset="hotmaps", attribution=dataset.attribution)
    sites = list(read_sites(locate("hotmaps")))
    loaded = set(session.scalars(sa.select(Site.source_ref).where(Site.source_ref.startswith("hotmaps:"))))
    orgs = {o.name_key: o for o in session.scalars(sa.select(Organization).where(Organization.source == "register"))}
    names = {
        (s.organization_id, s.name_key)
        for s in session.execute(
            sa.select(Site.organization_id, Site.name_key).join(Organization).where(Organization.source == "register")
        )
    }
    total = len(sites) if limit is None else min(limit, len(sites))
    to_infer: list[SiteToInfer] = []
    for index, item in enumerate(sites[:total]):
        if progress is not None and index % 250 == 0:
            progress(index, total)
        if item.lat is None or item.lon is None:
            report.skipped_no_location += 1
            continue
        report.sites_seen += 1
        ref = f"hotmaps:{item.site_id}"
        if ref in loaded:
            continue
        org = orgs.get(name_key(item.company))
        if org is None:
            org = Organization(
                id=new_id(),
                name=item.company,
                name_key=name_key(item.company),
                kind="enterprise",
                nace=item.nace,
                country=item.country,
                source="register",
                source_ref=ref,
            )
            session.add(org)
            orgs[org.name_key] = org
            report.organizations_created += 1
        name = item.name
        for candidate in (item.name, f"{item.name} ({item.city})", f"{item.name} (Hotmaps {item.site_id})"):
            if (org.id, name_key(candidate)) not in names:
                name = candidate
                break
        names.add((org.id, name_key(name)))
        attributes = {
            "dataset": "hotmaps",
            "hotmaps_site_id": item.site_id,
            "subsector": item.subsector,
            **{k: v for k, v in item.figures.items() if v is not None},
        }
        site = Site(
            id=new_id(),
            organization_id=org.id,
            name=name,
            name_key=name_key(name),
            lat=item.lat,
            lon=item.lon,
            country=item.country,
            nace=item.nace,
            address=item.address,
            city=item.city,
            source="register",
            source_ref=ref,
            attributes=attributes,
        )
        session.add(site)
        report.sites_created += 1
        to_infer.append(SiteToInfer(site.id, org.id, org.name, name, item.nace, figures=figures_from_hotmaps(item)))
    session.flush()
    # Each site's flows: Hotmaps' own figures (excess heat by temperature band, CO2) as `estimated` register flows,
    # and its sector profile's likely flows as `rough`, inferred ones (turash.sectors).
    report.flows_created = infer_sites(session, to_infer)
    if progress is not None:
        progress(total, total)
    return report
