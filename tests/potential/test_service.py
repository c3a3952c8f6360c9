import csv
import io

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from turash.kit.errors import ValidationFailed
from turash.kit.geo import BBox
from turash.models import Site
from turash.potential import service
from turash.registers.service import load_hotmaps


@pytest.fixture
def austria(session):  # type: ignore[no-untyped-def]
    """The first 120 Hotmaps sites (Austria), with their register figures and inferred flows."""
    load_hotmaps(session, limit=120)
    session.flush()
    return session


def test_country_potential(austria) -> None:  # type: ignore[no-untyped-def]
    report = service.potential(austria, {}, service.Region(country="AT"))
    assert report["region"] == "AT" and report["opportunities_count"] > 0
    totals = report["totals"]
    assert set(totals) == {
        "heat_gwh_per_year",
        "materials_t_per_year",
        "water_m3_per_year",
        "co2_avoidable_t_per_year",
        "capex_eur",
    }
    assert totals["materials_t_per_year"] > 0
    scores = [o["score"] for o in report["opportunities"]]
    assert scores == sorted(scores, reverse=True)
    first = report["opportunities"][0]
    assert {
        "supplier",
        "receiver",
        "supply",
        "demand",
        "distance_km",
        "capex_eur",
        "levelised_cost",
        "co2_avoided_t_per_year",
        "transport",
    } <= set(first)
    # a supply is never allocated more than it has: the greedy allocation splits it among its receivers
    assert all(o["allocated"] is None or o["allocated"] >= 0 for o in report["opportunities"])
    declared = service.potential(austria, {}, service.Region(country="AT"), include_inferred=False)
    assert declared["opportunities_count"] <= report["opportunities_count"]


def test_bbox_and_csv(austria) -> None:  # type: ignore[no-untyped-def]
    report = service.potential(austria, {}, service.Region(bbox=BBox(9.0, 46.0, 17.5, 49.5)))
    rows = list(csv.DictReader(io.StringIO(service.as_csv(report))))
    assert len(rows) == report["opportunities_count"] and rows[0]["supplier"]
    with pytest.raises(ValidationFailed):
        service.potential(austria, {}, service.Region())


def test_rest_route_hides_private_names(client, alice: Api, bob: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.uow() as uow:
        load_hotmaps(uow.session, limit=120)
        uow.commit()
    org = alice.organization("Secret Cement", nace="23.51", country="AT")
    site = alice.site(org["id"], "Kiln", lat=47.03, lon=15.07, nace="23.51", country="AT")
    alice.flow(site["id"], direction="demand", resource="granulated blast furnace slag", quantity=50000, unit="t/yr")
    assert client.get("/api/v1/potential?country=AT").status_code == 401
    mine = alice.get("/api/v1/potential?country=AT").json()["opportunities"]
    theirs = bob.get("/api/v1/potential?country=AT").json()["opportunities"]
    assert any(o["receiver"] == "Secret Cement" for o in mine)
    assert not any(o["receiver"] == "Secret Cement" for o in theirs)
    assert any(o["receiver"].startswith("private organisation (NACE 23.51") for o in theirs)
    r = bob.get("/api/v1/potential?country=AT&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert bob.get("/api/v1/potential").status_code == 422
    assert bob.get("/api/v1/potential?country=Atlantis").status_code == 422


def test_grid_electricity_to_inferred_demands_is_left_out(client, alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    """Every site draws power from the grid: a neighbour's surplus power meeting a sector-profile guess is no
    exchange. A declared electricity demand (a private wire) stays; so does the rest of the region's potential."""
    with runtime.uow() as uow:
        load_hotmaps(uow.session, limit=120)
        uow.commit()
    power = alice.organization("Hill Wind Farm", nace="35.11", country="AT")
    site = alice.site(power["id"], "Turbines", lat=47.03, lon=15.07, nace="35.11", country="AT")
    alice.flow(site["id"], direction="supply", resource="surplus electricity", quantity=20, unit="GWh/yr")
    buyer = alice.organization("Wire Foundry", nace="24.51", country="AT")
    plant = alice.site(buyer["id"], "Foundry", lat=47.05, lon=15.10, nace="24.51", country="AT")
    alice.flow(plant["id"], direction="demand", resource="electricity", quantity=5, unit="GWh/yr")
    with runtime.uow() as uow:
        report = service.potential(uow.session, {}, service.Region(country="AT"))
    power_deals = [o for o in report["opportunities"] if o["supplier"] == "Hill Wind Farm"]
    assert [o["receiver"] for o in power_deals] == ["Wire Foundry"]
    assert power_deals[0]["unit"] == "GWh/yr" and power_deals[0]["allocated"] == 5.0
    assert report["left_out"]["grid electricity to an inferred demand"] > 0
    assert not any(o["demand_inferred"] and o["demand"] == "Electricity" for o in report["opportunities"])
    # an alternative is an opportunity whose supply or demand a better-ranked one already took
    assert all(o["alternative"] == (o["allocated"] == 0.0) for o in report["opportunities"])
    assert all(o["unit"] in {"GWh/yr", "t/yr", "m3/yr", None} for o in report["opportunities"])


def _comparable(report: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in report.items() if k not in ("seconds", "flows_considered")}


def test_local_state_gives_the_same_report(austria) -> None:  # type: ignore[no-untyped-def]
    """The CLI matches only the flows within two radii of the region: every list a supply of the region is on
    is complete there, so the report equals the one from the whole register's state."""
    top = service.potential(austria, {}, service.Region(country="AT"))["opportunities"][0]
    site = austria.execute(sa.select(Site.lat, Site.lon).where(Site.name == top["supplier_site"])).first()
    small = service.Region(bbox=BBox(site.lon, site.lat, site.lon, site.lat))  # the best supplier's site alone
    for region, radius in ((service.Region(country="AT"), 50.0), (small, 30.0)):
        whole = service.potential(austria, {}, region, radius_km=radius)
        local = service.potential(austria, {}, region, radius_km=radius, local=True)
        assert whole["opportunities_count"] > 0
        assert _comparable(local) == _comparable(whole)
    assert local["flows_considered"] < whole["flows_considered"]  # the small box left flows out
    nowhere = service.potential(austria, {}, service.Region(country="IS"), local=True)
    assert nowhere["opportunities_count"] == 0 and nowhere["totals"]["heat_gwh_per_year"] == 0


def test_mirrored_guesses_and_one_companys_two_entries_are_left_out(session) -> None:  # type: ignore[no-untyped-def]
    """Two steel sites known only by their code each 'supply' the other mill scale: one direction is kept. Two
    register entries of one glassworks at one address are one plant: no exchange between them."""
    from turash.ingestion.service import import_flows, import_sites

    sites = (
        "organization,site,lat,lon,country,nace,employees\n"
        "Ruhrtal Stahl AG,Werk Nord,51.450,7.010,DE,24.10,1500\n"
        "Emscher Walzwerk GmbH,Werk Sued,51.455,7.020,DE,24.10,1500\n"
    )
    import_sites(session, "s.csv", data=sites.encode(), name="s.csv")
    flows = (
        "organization,site,lat,lon,country,nace,direction,resource,quantity,unit\n"
        "Nordlicht Glas Produktion GmbH,Huette,51.300,7.300,DE,23.13,supply,glass cullet,6000,t/yr\n"
        "Nordlicht Glas GmbH & Co. KG,Huette,51.301,7.301,DE,23.13,demand,glass cullet,9000,t/yr\n"
        "Weser Flachglas GmbH,Ofen,51.303,7.303,DE,23.11,demand,glass cullet,5000,t/yr\n"
    )
    import_flows(session, "f.csv", data=flows.encode(), name="f.csv")
    session.flush()
    report = service.potential(session, {}, service.Region(country="DE"))
    pairs = [(o["supplier"], o["receiver"], o["supply"], o["demand"]) for o in report["opportunities"]]
    scale = [p for p in pairs if p[2] == "Mill scale" and p[3] == "Mill scale"]
    assert len(scale) == 1  # Werk Nord → Werk Sued or the other way, not both
    assert report["left_out"]["the mirror of a better-ranked pair of guesses"] >= 1
    cullet = [p[1] for p in pairs if p[0] == "Nordlicht Glas Produktion GmbH"]
    assert cullet == ["Weser Flachglas GmbH"]
    assert report["left_out"]["one company's two register entries at one place"] == 1


def test_a_supply_of_unknown_size_claims_nothing(session) -> None:  # type: ignore[no-untyped-def]
    """A waste plant's metal scrap (a profile guess without a quantity) meeting a steelworks' 1 Mt/yr charge is
    listed, but the totals do not credit the waste plant with the steelworks' megatonne."""
    from turash.ingestion.service import import_flows, import_sites

    import_sites(
        session,
        "s.csv",
        data=b"organization,site,lat,lon,country,nace\nSeeland Abfall GmbH,Ofen,53.10,8.80,DE,38.21\n",
        name="s.csv",
    )
    flows = (
        "organization,site,lat,lon,country,nace,direction,resource,quantity,unit\n"
        "Weser Stahl AG,Werk,53.12,8.82,DE,24.10,demand,iron and steel making charge,1000000,t/yr\n"
    )
    import_flows(session, "f.csv", data=flows.encode(), name="f.csv")
    session.flush()
    report = service.potential(session, {}, service.Region(country="DE"))
    scrap = [
        o
        for o in report["opportunities"]
        if o["supplier"] == "Seeland Abfall GmbH" and o["receiver"] == "Weser Stahl AG"
    ]
    assert scrap and all(o["allocated"] is None for o in scrap)
    assert report["totals"]["materials_t_per_year"] < 1_000_000
