"""Search relevance, typo tolerance, synonyms, facets, distance, visibility and index freshness, through the API."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import CONTRACT, Api
from turash.models import Organization, ResourceFlow, SearchDocument, Site
from turash.search import service

AALBORG = (57.048, 9.919)
AARHUS = (56.157, 10.211)
COPENHAGEN = (55.676, 12.568)


def _titles(result: dict[str, Any]) -> list[str]:
    return [item["title"] for item in result["items"]]


def search(user: Api, **params: Any) -> dict[str, Any]:
    r = user.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
def park(alice: Api, bob: Api, session: Session) -> dict[str, Any]:
    """A small, realistic park: alice's cement works and brewery near Aalborg, her district heating in Aarhus;
    bob's power station in Copenhagen (private to bob); a public-register steelworks (visible to everyone)."""
    cement = alice.organization("Nordjysk Cement", country="DK", nace="23.51")
    kiln = alice.site(cement["id"], "Rørdal kiln line", lat=AALBORG[0], lon=AALBORG[1], city="Aalborg", country="DK")
    flows = {
        "fly ash": alice.flow(kiln["id"], resource="fly ash", ewc_code="10 01 02", description="dry ash, silo"),
        "bottom ash": alice.flow(kiln["id"], resource="bottom ash", description="wet ash from the grate"),
        "wood ash": alice.flow(kiln["id"], resource="wood ash", description="ash from biomass boiler"),
        "gypsum": alice.flow(
            kiln["id"], direction="demand", resource="FGD gypsum", description="set retarder for clinker grinding"
        ),
        "heat": alice.flow(kiln["id"], resource="waste heat 180 °C from clinker cooler", unit="GWh/yr", quantity=40),
    }
    brewery = alice.organization("Limfjord Bryghus", country="DK", nace="11.05")
    brew_site = alice.site(
        brewery["id"], "Brewhouse", lat=AALBORG[0] + 0.02, lon=AALBORG[1] + 0.03, country="DK", nace="11.05"
    )
    flows["grain"] = alice.flow(brew_site["id"], resource="brewers' spent grain", quantity=3000, unit="t/yr")
    flows["yeast"] = alice.flow(brew_site["id"], resource="spent yeast", quantity=200, unit="t/yr")
    flows["water"] = alice.flow(brew_site["id"], direction="demand", resource="process water", unit="m3/yr")
    heating = alice.organization("Aarhus Fjernvarme", country="DK", nace="35.30")
    plant = alice.site(heating["id"], "Studstrup network", lat=AARHUS[0], lon=AARHUS[1], country="DK")
    flows["district heat"] = alice.flow(
        plant["id"], direction="demand", resource="heat for district heating network", unit="GWh/yr", quantity=90
    )
    flows["aarhus ash"] = alice.flow(plant["id"], resource="fly ash from straw boiler")
    r = alice.post(
        f"/api/v1/organizations/{heating['id']}/services",
        json={
            "kind": "transport",
            "name": "Ash haulage Jutland",
            "description": "silo trucks for fly ash and cement",
            "resources": ["fly ash"],
            "center_lat": AARHUS[0],
            "center_lon": AARHUS[1],
            "radius_km": 150,
        },
    )
    assert r.status_code == 201, r.text
    service_id = r.json()["id"]

    power = bob.organization("Øresund Kraft", country="DK", nace="35.11")
    unit = bob.site(power["id"], "Unit 3", lat=COPENHAGEN[0], lon=COPENHAGEN[1], country="DK")
    bobs = bob.flow(unit["id"], resource="fly ash from coal", description="secret tonnage")

    steel = Organization(name="Register Steelworks", name_key="register steelworks", source="register", country="DE")
    session.add(steel)
    session.flush()
    mill = Site(organization_id=steel.id, name="Mill", name_key="mill", lat=53.55, lon=9.99, country="DE")
    session.add(mill)
    session.flush()
    slag = ResourceFlow(
        organization_id=steel.id,
        site_id=mill.id,
        direction="supply",
        resource="granulated blast furnace slag",
        category="material",
        precision="estimated",
        fingerprint="register-slag",
        source="register",
    )
    session.add(slag)
    session.commit()
    return {
        "flows": flows,
        "orgs": {"cement": cement, "brewery": brewery, "heating": heating, "power": power},
        "service": service_id,
        "bob_flow": bobs,
        "register_flow": slag.id,
    }


def _first_flow(result: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in result["items"] if item["kind"] == "flow")


def test_requires_credentials(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/search", params={"q": "ash"}).status_code == 401


def test_the_right_record_ranks_first_among_look_alikes(alice: Api, park: dict[str, Any]) -> None:
    result = search(alice, q="fly ash", kind="flow")
    assert _titles(result)[0] == "fly ash"
    assert set(_titles(result)[:2]) == {"fly ash", "fly ash from straw boiler"}
    result = search(alice, q="bottom ash")
    assert _titles(result)[0] == "bottom ash"
    result = search(alice, q="wood ash")
    assert _titles(result)[0] == "wood ash"
    # an organisation found by its name, above the flows that mention it
    result = search(alice, q="Limfjord Bryghus")
    assert result["items"][0]["kind"] == "organization" and result["items"][0]["id"] == park["orgs"]["brewery"]["id"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("flyash", "fly ash"),
        ("fly-ash", "fly ash"),
        ("Fly Ash", "fly ash"),
        ("gypsun", "FGD gypsum"),
        ("brewery spent grian", "brewers' spent grain"),
        ("spent yeast", "spent yeast"),
        ("proces watr", "process water"),
    ],
)
def test_typos_still_find_the_flow(alice: Api, park: dict[str, Any], query: str, expected: str) -> None:
    result = search(alice, q=query, kind="flow")
    assert result["items"], f"nothing found for {query!r}"
    assert _first_flow(result)["title"] == expected, (query, _titles(result))


@pytest.mark.parametrize("query", ["Rordal kiln", "rørdahl kiln line", "Roerdal"])
def test_names_the_catalogue_does_not_know_tolerate_typos_and_diacritics(
    alice: Api, park: dict[str, Any], query: str
) -> None:
    result = search(alice, q=query, kind="site")
    assert _titles(result)[:1] == ["Rørdal kiln line"], (query, _titles(result))


@pytest.mark.parametrize("query", ["Flugasche", "cendres volantes"])
def test_catalogue_synonyms_in_other_languages(alice: Api, park: dict[str, Any], query: str) -> None:
    result = search(alice, q=query, kind="flow")
    assert "fly_ash" in result["classes"]
    titles = _titles(result)
    assert "fly ash" in titles and "bottom ash" not in titles[:1]
    assert titles[0] in {"fly ash", "fly ash from straw boiler"}


def test_highlights_point_at_the_matched_words(alice: Api, park: dict[str, Any]) -> None:
    item = search(alice, q="gypsum", kind="flow")["items"][0]
    start, end = item["highlights"]["title"][0]
    assert item["title"][start:end] == "gypsum"
    assert item["organization"] == "Nordjysk Cement" and item["organization_id"] == park["orgs"]["cement"]["id"]
    assert item["lat"] == pytest.approx(AALBORG[0])


def test_facet_counts_are_those_of_the_results(alice: Api, park: dict[str, Any]) -> None:
    result = search(alice, q="ash")
    by_kind: dict[str, int] = {}
    for item in result["items"]:
        by_kind[item["kind"]] = by_kind.get(item["kind"], 0) + 1
    assert result["facets"]["kind"] == by_kind
    assert result["total"] == len(result["items"])
    flows = [i for i in result["items"] if i["kind"] == "flow"]
    assert result["facets"]["direction"] == {"supply": len(flows)}  # every ash flow is a supply
    assert {"fly ash", "bottom ash", "wood ash", "fly ash from straw boiler"} <= set(_titles(result))
    assert by_kind.get("service") == 1  # the ash haulier
    demand = search(alice, q="heat", direction="demand")
    assert _titles(demand) == ["heat for district heating network"]
    assert demand["facets"]["kind"] == {"flow": 1} and demand["facets"]["direction"] == {"demand": 1}
    # facets of a filter-only query, and the NACE filter (site's code) on flows
    brewery = search(alice, kind="flow", nace="11")
    assert brewery["total"] == 3 and brewery["facets"]["direction"] == {"supply": 2, "demand": 1}


def test_distance_filter_and_ranking(alice: Api, park: dict[str, Any]) -> None:
    near = search(alice, q="fly ash", kind="flow", lat=AALBORG[0], lon=AALBORG[1], radius_km=30)
    assert _titles(near) == ["fly ash"]  # the Aarhus one is ~100 km away
    assert near["items"][0]["distance_km"] < 1
    wide = search(alice, q="fly ash", kind="flow", lat=AARHUS[0], lon=AARHUS[1], radius_km=200)
    assert _titles(wide)[0] == "fly ash from straw boiler"  # closer beats a slightly better text match
    assert all(item["distance_km"] <= 200 for item in wide["items"])
    # without text: everything within the radius, nearest first
    around = search(alice, lat=AARHUS[0], lon=AARHUS[1], radius_km=5)
    kinds = {item["kind"] for item in around["items"]}
    assert kinds == {"flow", "site", "service", "organization"}
    distances = [item["distance_km"] for item in around["items"]]
    assert distances == sorted(distances)
    assert all(item["organization"] == "Aarhus Fjernvarme" for item in around["items"])


def test_other_organisations_stay_invisible(alice: Api, bob: Api, park: dict[str, Any]) -> None:
    alice_ash = search(alice, q="fly ash coal")
    ids = {item["id"] for item in alice_ash["items"]}
    assert park["bob_flow"]["id"] not in ids and park["orgs"]["power"]["id"] not in ids
    assert "secret" not in str(alice_ash)
    assert search(alice, q="Øresund Kraft")["total"] == 0
    assert search(alice, q="secret tonnage")["total"] == 0
    bob_ash = search(bob, q="fly ash coal", kind="flow")
    assert _titles(bob_ash) == ["fly ash from coal"]  # and none of alice's
    # public-register data is visible to both, as in GET /flows
    for user in (alice, bob):
        slag = search(user, q="blast furnace slag")
        assert [i["id"] for i in slag["items"] if i["kind"] == "flow"] == [park["register_flow"]]
    # the same set as the flows list route shows
    listed = {f["id"] for f in alice.get("/api/v1/flows", params={"limit": 1000}).json()["items"]}
    everything = search(alice, kind="flow", limit=1000)
    assert {i["id"] for i in everything["items"]} == listed


def test_index_follows_create_update_delete(alice: Api, park: dict[str, Any]) -> None:
    kiln_flow = park["flows"]["fly ash"]
    new = alice.flow(kiln_flow["site_id"], resource="spent foundry sand")
    assert _titles(search(alice, q="foundry sand")) == ["spent foundry sand"]
    r = alice.patch(f"/api/v1/flows/{new['id']}", json={"resource": "used refractory bricks"})
    assert r.status_code == 200, r.text
    assert search(alice, q="foundry sand")["total"] == 0
    assert _titles(search(alice, q="refractory brick"))[0] == "used refractory bricks"
    assert alice.delete(f"/api/v1/flows/{new['id']}").status_code == 204
    assert search(alice, q="refractory")["total"] == 0
    # renaming the organisation rewrites its flows' documents too
    org_id = park["orgs"]["brewery"]["id"]
    assert alice.patch(f"/api/v1/organizations/{org_id}", json={"name": "Aalborg Ølværk"}).status_code == 200
    renamed = search(alice, q="olvaerk spent yeast", kind="flow")
    assert "spent yeast" in _titles(renamed)


def test_index_follows_a_bulk_import_and_a_reindex(session: Session) -> None:
    from turash.ingestion.service import import_flows

    report = import_flows(session, CONTRACT / "examples" / "flows_example.csv")
    assert report.imported == 6
    session.flush()
    result = service.search(session, None, service.SearchQuery(q="pozzolanic additive"))
    assert result.items[0].title == "pozzolanic additive for blended cement"
    assert service.search(session, None, service.SearchQuery(q="flue gas condensaton")).items[0].title == (
        "surplus heat from flue gas condensation"
    )
    # an index emptied behind its back comes back with a rebuild
    session.execute(sa.delete(SearchDocument))
    assert service.search(session, None, service.SearchQuery(q="pozzolanic")).total == 0
    count = service.reindex(session)
    assert count >= 6 + 4  # flows, organisations, sites
    assert service.search(session, None, service.SearchQuery(q="pozzolanic")).total == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "ash", "radius_km": 10}, "radius_km"),
        ({"q": "ash", "lat": 55.0}, "lon"),
        ({"q": "ash", "kind": "factory"}, "kind"),
        ({"q": "ash", "direction": "sideways"}, "direction"),
        ({"q": "ash", "resource_class": "no_such_class"}, "resource_class"),
        ({"q": "ash", "lat": 95, "lon": 10}, "lat"),
        ({"q": "!!!"}, "q"),
    ],
)
def test_bad_input_is_a_422_naming_the_parameter(alice: Api, params: dict[str, Any], field: str) -> None:
    r = alice.get("/api/v1/search", params=params)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"][0]["field"] == field, error


def test_pagination_is_stable(alice: Api, park: dict[str, Any]) -> None:
    whole = search(alice, q="ash", limit=100)
    pages = [search(alice, q="ash", limit=2, offset=o) for o in range(0, whole["total"], 2)]
    assert [i["id"] for p in pages for i in p["items"]] == [i["id"] for i in whole["items"]]
    assert all(p["total"] == whole["total"] and p["limit"] == 2 for p in pages)


def test_resource_class_filter_includes_descendants(alice: Api, park: dict[str, Any]) -> None:
    ash_classes = search(alice, kind="flow", resource_class="fly_ash")
    assert "fly ash" in _titles(ash_classes)
    assert all(i["facets"].get("resource_class", "").endswith("fly_ash") for i in ash_classes["items"])
