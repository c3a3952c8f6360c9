"""Inferred flows in the register: `import sites` infers, a declaration replaces the guesses."""

import sqlalchemy as sa

from tests.conftest import Api
from turash.ingestion.service import import_flows, import_sites
from turash.models import ResourceFlow, Site

SITES = (
    "organization,site,lat,lon,country,nace,employees\nAalborg Cement,Rordal,57.05,9.99,DK,23.51,300\n"
    "Mystery Ltd,Shed,57.0,9.9,DK,,\n"
)


def _flows(session, site_name: str) -> list[ResourceFlow]:  # type: ignore[no-untyped-def]
    site = session.scalar(sa.select(Site).where(Site.name == site_name))
    return list(session.scalars(sa.select(ResourceFlow).where(ResourceFlow.site_id == site.id)))


def test_import_sites_infers_likely_flows(session) -> None:  # type: ignore[no-untyped-def]
    report = import_sites(session, "s.csv", data=SITES.encode(), name="s.csv")
    assert report.imported == 2
    flows = _flows(session, "Rordal")
    assert flows and all(f.inferred and f.precision == "rough" and f.source == "inferred" for f in flows)
    classes = {(f.direction, f.resource_class) for f in flows}
    assert ("demand", "supplementary_cementitious_material") in classes
    assert all(f.resource == f.resource.strip() and f.inferred_from for f in flows)
    scm = next(f for f in flows if f.resource_class == "supplementary_cementitious_material")
    assert scm.quantity_min <= scm.quantity <= scm.quantity_max and "23.51" in scm.inferred_from
    assert _flows(session, "Shed") == []  # no sector, no guess


def test_declaring_replaces_the_guesses(session) -> None:  # type: ignore[no-untyped-def]
    import_sites(session, "s.csv", data=SITES.encode(), name="s.csv")
    assert _flows(session, "Rordal")
    rows = (
        "organization,site,lat,lon,direction,resource,quantity,unit\n"
        "Aalborg Cement,Rordal,57.05,9.99,demand,fly ash for cement,50000,t/yr\n"
    )
    import_flows(session, "f.csv", data=rows.encode(), name="f.csv")
    flows = _flows(session, "Rordal")
    assert [(f.resource, f.inferred) for f in flows] == [("fly ash for cement", False)]


def test_a_flow_declared_through_the_api_replaces_the_guesses(alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    org = alice.organization("Kalundborg Brewery", nace="11.05")
    site = alice.site(org["id"], "Brewhouse", nace="11.05")
    from turash.sectors.register import SiteToInfer, infer_sites

    with runtime.uow() as uow:
        assert infer_sites(uow.session, [SiteToInfer(site["id"], org["id"], org["name"], site["name"], "11.05", 80)])
        uow.commit()
    assert alice.get(f"/api/v1/sites/{site['id']}/flows").json()["total"] > 1
    alice.flow(site["id"], resource="spent grain", quantity=8000, unit="t/yr")
    listed = alice.get(f"/api/v1/sites/{site['id']}/flows").json()["items"]
    assert [(f["resource"], f["inferred"]) for f in listed] == [("spent grain", False)]
