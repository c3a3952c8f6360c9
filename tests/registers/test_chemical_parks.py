"""European chemical parks: parsing and parks as clusters of sites."""

from __future__ import annotations

from tests.conftest import SHARED_DATA
from turash.registers.chemical_parks import assign_sites, deduplicate, read_parks
from turash.registers.hotmaps import read_sites
from turash.registers.resolution import SiteRecord, from_hotmaps

PARKS = SHARED_DATA / "eu_chemical_parks_carbonnext.csv"


def test_parks_file() -> None:
    parks = read_parks(PARKS)
    assert len(parks) == 78
    assert parks[0].name == "Chemiepark Linz" and parks[0].country == "AT"
    assert parks[1].name == "Schwechat"  # trailing space dropped
    assert sum(1 for p in parks if p.country == "DE") == 42
    assert {p.country for p in parks if "Chemelot" in p.name} == {"NL"}  # "The Netherlands"
    henkel = next(p for p in parks if p.name.startswith("Henkel"))
    assert henkel.location_suspect and henkel.lat == 42.048053  # in Massachusetts: kept, flagged
    assert any("lost upstream" in p for p in parks[43].problems)  # "?roda ?l?ska"
    assert all(p.lat is not None for p in parks)


def test_parks_gather_the_sites_around_them() -> None:
    parks = read_parks(PARKS)
    sites = [from_hotmaps(s) for s in read_sites(SHARED_DATA / "hotmaps_industrial_database.csv")]
    assign_sites(parks, sites, radius_km=3.0)
    by_name = {p.name: p for p in parks}
    leverkusen = by_name["Chempark Leverkusen Currenta"]
    assert leverkusen.members and all(m.country == "DE" for m in leverkusen.members)
    ludwigshafen = by_name["BASF SE. Ludwigshafen"]
    assert any("BASF" in m.name or "BASF" in " ".join(m.aliases) for m in ludwigshafen.members)
    assert not by_name["Henkel AG & Co. KGaA"].members  # a misplaced park takes no members
    members = [m.key for p in parks for m in p.members]
    assert len(members) == len(set(members))  # a site belongs to one park at most


def test_duplicate_parks_resolve_to_one_cluster() -> None:
    parks = read_parks(PARKS)
    clusters = deduplicate(parks)
    names = [sorted(r.name for r in c.records) for c in clusters if len(c.records) > 1]
    assert ["Chemical Park Knapsack", "Chemiepark Knapsack"] in names
    assert ["BIZZPARK Oberbruch - Der Standort 3.0", "NUON Industriepark Oberbruch"] in names
    assert ["Industrial Park Dorsten-Marl", "Marl Chemical Park"] in names
    assert len(clusters) < len(parks)
    assert all(len(names_) == 2 for names_ in names), names


def test_assign_ignores_unplaced_sites() -> None:
    parks = read_parks(PARKS)
    lost = SiteRecord(source="x", ref="1", name="nowhere", lat=None, lon=None)
    assign_sites(parks, [lost])
    assert not any(p.members for p in parks)
