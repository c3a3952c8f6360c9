import sqlalchemy as sa

from tests.conftest import SHARED_DATA
from turash.models import Organization, ResourceFlow, Site
from turash.registers.hotmaps import read_sites
from turash.registers.service import load_hotmaps


def test_parser_reads_every_row() -> None:
    sites = list(read_sites(SHARED_DATA / "hotmaps_industrial_database.csv"))
    assert len(sites) == 5029
    located = [s for s in sites if s.lat is not None]
    assert len(located) == 4505
    leoben = sites[0]
    assert (leoben.company, leoben.city, leoben.country) == ("voestalpine AG", "Leoben", "AT")
    assert (leoben.lat, leoben.lon) == (47.03378, 15.067806)  # geom is POINT(lon lat)
    assert leoben.nace == "24.10"
    assert leoben.excess_heat == [("100-200 °C", 192.34, 100.0), ("200-500 °C", 173.66, 200.0)]
    assert sum(1 for s in sites if s.excess_heat) == 1057
    assert all(s.country for s in sites)  # every spelling in the file maps to an ISO code ("Netherland" → NL)
    assert {s.nace for s in sites if s.subsector == "Refineries"} == {"19.20"}


def test_load_is_idempotent_and_public(session) -> None:  # type: ignore[no-untyped-def]
    first = load_hotmaps(session, limit=300)
    assert first.sites_created > 250 and first.flows_created > 0
    again = load_hotmaps(session, limit=300)
    assert again.sites_created == 0 and again.flows_created == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Site)) == first.sites_created
    assert set(session.scalars(sa.select(Organization.source).distinct())) == {"register"}
    heat = session.scalars(sa.select(ResourceFlow).where(ResourceFlow.source == "register",
                                                         ResourceFlow.category == "heat")).all()
    assert heat and all(f.precision == "estimated" and not f.inferred and f.si_unit == "W" for f in heat)
    assert {f.temperature_c for f in heat} >= {100.0}  # the band's lowest temperature
    guesses = session.scalars(sa.select(ResourceFlow).where(ResourceFlow.inferred.is_(True))).all()
    assert guesses and all(f.precision == "rough" and f.inferred_from for f in guesses)


def test_registers_resolve_one_plant_listed_twice(session) -> None:  # type: ignore[no-untyped-def]
    """Leoben's steelworks is in Hotmaps and in E-PRTR: one site, both references, E-PRTR's CO2 kept."""
    from turash.registers.service import load_registers

    report = load_registers(session, sources=("hotmaps", "eprtr_co2"), countries=("AT",))
    assert report.merged_records > 0 and report.sites_created == report.sites_seen
    leoben = session.scalar(sa.select(Site).where(Site.name == "voestalpine Stahl Donawitz GesmbH"))
    assert {"hotmaps:1", "eprtr_co2:1341982"} <= set(leoben.attributes["registers"])
    assert leoben.attributes["eprtr_co2_t"] == 2810000.0
    assert {s.country for s in session.scalars(sa.select(Site))} == {"AT"}
    again = load_registers(session, sources=("hotmaps", "eprtr_co2"), countries=("AT",))
    assert again.sites_created == 0
