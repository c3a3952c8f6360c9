"""Multi-party chains through the API: documented two-step exchanges, the negative cases, economics shares, and a
three-party proposal the service provider sees and accepts."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.conftest import Api

HEAT_PUMP = {
    "kind": "heat_pump",
    "name": "Large heat pumps",
    "resources": ["data centre waste heat"],
    "center_lat": 59.34,
    "center_lon": 18.03,
    "radius_km": 20,
    "attributes": {"transform": {"output_temperature_c": 80, "min_source_temperature_c": 15}},
}


def _log_mean(a: float, b: float) -> float:
    return (b - a) / math.log(b / a)


@pytest.fixture
def carol(client) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, "carol@example.org")


def _stockholm(alice: Api, bob: Api, carol: Api, service: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stockholm Data Parks / Open District Heating: data centres' server cooling water (about 25-30 °C) is lifted
    by large heat pumps to district-heating temperature and fed into Stockholm Exergi's (formerly Fortum Värme's)
    network; Bahnhof's Thule centre under such an agreement, up to 112 GWh/yr (Fortum Värme, Open District
    Heating, 2014, https://www.opendistrictheating.com/green-data-centres-make-stockholm-unique-in-the-world/;
    Invest Stockholm, "Stockholm sets new standards for sustainable data centers", 2017). Here the heat pump is run
    by a third party, the case the chain finder exists for; sites are illustrative points in Stockholm."""
    dc_org = alice.organization("Northern Data Centre", nace="63.11")
    dc = alice.site(dc_org["id"], "Hall A", lat=59.35, lon=18.02)
    heat = alice.flow(
        dc["id"], resource="server room waste heat", quantity=20000, unit="MWh/yr", temperature_c=30, category="heat"
    )
    dh_org = bob.organization("City District Heating", nace="35.30")
    plant = bob.site(dh_org["id"], "Heat plant", lat=59.33, lon=18.06)
    need = bob.flow(
        plant["id"],
        direction="demand",
        resource="heat for district heating network",
        quantity=60000,
        unit="MWh/yr",
        temperature_c=70,
        category="heat",
    )
    esco = carol.organization("Heat Pump Services", nace="35.30")
    r = carol.post(f"/api/v1/organizations/{esco['id']}/services", json=service or HEAT_PUMP)
    assert r.status_code == 201, r.text
    return {"dc": dc_org, "dh": dh_org, "esco": esco, "heat": heat, "need": need, "service": r.json()}


def test_data_centre_heat_reaches_district_heating_through_a_heat_pump(alice: Api, bob: Api, carol: Api) -> None:
    ids = _stockholm(alice, bob, carol)
    # no direct match can feed 30 °C heat into a 70 °C network (the engine's fallback lifts at most 40 K)
    direct = alice.get(f"/api/v1/flows/{ids['heat']['id']}/matches").json()["matches"]
    assert all(m["demand"]["flow_id"] != ids["need"]["id"] for m in direct)
    r = alice.get(f"/api/v1/flows/{ids['heat']['id']}/chains")
    assert r.status_code == 200, r.text
    body = r.json()
    [chain] = body["chains"]
    assert chain["supply"]["flow_id"] == ids["heat"]["id"] and chain["demand"]["flow_id"] == ids["need"]["id"]
    assert chain["service"]["service_id"] == ids["service"]["id"] and chain["service"]["kind"] == "heat_pump"
    assert chain["direct_score"] is None and 0 < chain["score"] <= 1
    # COP = 0.55 · T_sink / (T_sink − T_source) on log-mean temperatures: source 30 → 25 °C, sink 50 → 80 °C
    source, sink = _log_mean(303.15, 298.15), _log_mean(323.15, 353.15)
    assert chain["cop"] == pytest.approx(0.55 * sink / (sink - source), abs=0.01)
    assert [leg["leg"] for leg in chain["legs"]] == [1, 2]
    assert "lifts the heat from 30 °C to 80 °C" in chain["legs"][0]["explanation"]
    assert chain["demand"]["organization"] == "private organisation"  # staged disclosure, as for matches
    econ = chain["economics"]
    assert econ["service_step"]["heat_pump"] is True and econ["service_step"]["capex_eur"] > 0
    shares = econ["shares"]
    assert [s["role"] for s in shares] == ["supplier", "service", "receiver"]
    assert sum(s["npv_eur"] for s in shares) == pytest.approx(econ["npv_eur"], abs=2)
    # the receiver sees it from its side, and the chain by id
    r = bob.get(f"/api/v1/flows/{ids['need']['id']}/chains")
    assert r.status_code == 200 and [c["id"] for c in r.json()["chains"]] == [chain["id"]]
    detail = carol.get(f"/api/v1/chains/{chain['id']}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["score"] == pytest.approx(chain["score"], abs=1e-4)


def test_no_chain_when_the_service_is_out_of_area(alice: Api, bob: Api, carol: Api) -> None:
    far = {**HEAT_PUMP, "center_lat": 57.70, "center_lon": 11.97}  # Gothenburg: 400 km away
    ids = _stockholm(alice, bob, carol, far)
    body = alice.get(f"/api/v1/flows/{ids['heat']['id']}/chains").json()
    assert body["chains"] == []
    [why] = body["rejected_services"]
    assert why["service_id"] == ids["service"]["id"] and why["reason"] == "out_of_area"


def test_no_chain_when_the_heat_is_too_cold_for_the_heat_pump(alice: Api, bob: Api, carol: Api) -> None:
    cold = {**HEAT_PUMP, "attributes": {"transform": {"output_temperature_c": 80, "max_lift_k": 30}}}
    ids = _stockholm(alice, bob, carol, cold)
    body = alice.get(f"/api/v1/flows/{ids['heat']['id']}/chains").json()
    assert body["chains"] == [] and body["rejected_services"][0]["reason"] == "too_cold"


def _sludge(alice: Api, bob: Api, carol: Api, transform: dict[str, Any]) -> dict[str, Any]:
    """Dried sewage sludge as a kiln fuel: the cement BREF lists sewage sludge among the wastes co-incinerated in
    cement kilns after drying (European Commission JRC, BAT Reference Document for the Production of Cement,
    Lime and Magnesium Oxide, EUR 26129 EN, 2013, section 1.2.4.3); the catalogue's sludge → kiln fuel use is
    marked `needs_treatment: dried sludge`. Places are illustrative (Kalundborg area)."""
    works = alice.organization("Town Wastewater", nace="37")
    wwtp = alice.site(works["id"], "Treatment plant", lat=55.68, lon=11.10)
    sludge = alice.flow(
        wwtp["id"], resource="dewatered sewage sludge", ewc_code="19 08 05", quantity=12000, unit="t/yr"
    )
    cement = bob.organization("Coastal Cement", nace="23.51")
    kiln = bob.site(cement["id"], "Kiln 1", lat=55.55, lon=11.40)
    fuel = bob.flow(
        kiln["id"], direction="demand", resource="alternative fuel for cement kiln", quantity=30000, unit="t/yr"
    )
    dryer = carol.organization("Sludge Drying Co", nace="38.21")
    service = {
        "kind": "treatment",
        "name": "Belt dryer",
        "center_lat": 55.62,
        "center_lon": 11.25,
        "radius_km": 60,
        "capacity": 20000,
        "capacity_unit": "t/yr",
        "attributes": {"transform": transform},
    }
    r = carol.post(f"/api/v1/organizations/{dryer['id']}/services", json=service)
    assert r.status_code == 201, r.text
    return {"sludge": sludge, "fuel": fuel, "service": r.json()}


def test_sewage_sludge_dried_for_a_cement_kiln(alice: Api, bob: Api, carol: Api) -> None:
    ids = _sludge(
        alice,
        bob,
        carol,
        {"input_classes": ["sewage_sludge"], "input_moisture_pct": 75, "output_moisture_pct": 10},
    )
    body = alice.get(f"/api/v1/flows/{ids['sludge']['id']}/chains").json()
    [chain] = body["chains"]
    assert chain["demand"]["flow_id"] == ids["fuel"]["id"]
    assert chain["legs"][0]["distance_km"] > 5  # the sludge goes to the dryer's plant, then on to the kiln
    assert "leaves 28% of the mass" in chain["legs"][0]["explanation"]  # (100 − 75) / (100 − 10)
    # a direct sludge → kiln match exists only with the catalogue's treatment flag; the chain is the remedy
    assert chain["direct_score"] is None
    assert sum(s["npv_eur"] for s in chain["economics"]["shares"]) == pytest.approx(
        chain["economics"]["npv_eur"], abs=2
    )


def test_no_chain_when_the_service_cannot_treat_the_class(alice: Api, bob: Api, carol: Api) -> None:
    ids = _sludge(alice, bob, carol, {"input_classes": ["fly_ash"]})
    body = alice.get(f"/api/v1/flows/{ids['sludge']['id']}/chains").json()
    assert body["chains"] == []
    assert [r["reason"] for r in body["rejected_services"]] == ["wrong_class"]


def test_no_chain_when_a_direct_match_serves_better(alice: Api, bob: Api, carol: Api) -> None:
    """Fly ash 4 km from a cement works passes every strict rule directly; a haulier in the area adds a party and
    nothing else, so the chain through it is dropped (and counted)."""
    from tests.matching.test_endpoints import _setup

    ids = _setup(alice, bob)
    haulier = carol.organization("Tipper Haulage")
    service = {
        "kind": "transport",
        "name": "Bulk tipper haulage",
        "resources": ["fly ash"],
        "center_lat": 55.0,
        "center_lon": 11.0,
        "radius_km": 150,
    }
    assert carol.post(f"/api/v1/organizations/{haulier['id']}/services", json=service).status_code == 201
    body = alice.get(f"/api/v1/flows/{ids['ash']['id']}/chains").json()
    assert body["chains"] == [] and body["dropped_for_direct"] >= 1 and body["rejected_services"] == []


def test_transform_declarations_are_checked(alice: Api) -> None:
    org = alice.organization("Bad Declarations")
    bad = {**HEAT_PUMP, "attributes": {"transform": {"output_class": "unobtainium"}}}
    r = alice.post(f"/api/v1/organizations/{org['id']}/services", json=bad)
    assert r.status_code == 422 and "unobtainium" in r.text
    bad = {**HEAT_PUMP, "attributes": {"transform": {"input_moisture_pct": 10, "output_moisture_pct": 40}}}
    assert alice.post(f"/api/v1/organizations/{org['id']}/services", json=bad).status_code == 422
    fine = {**HEAT_PUMP, "attributes": {"note": "free-form attributes stay free"}}
    assert alice.post(f"/api/v1/organizations/{org['id']}/services", json=fine).status_code == 201


def test_ad_hoc_chain_query(alice: Api, bob: Api, carol: Api) -> None:
    ids = _stockholm(alice, bob, carol)
    query = {
        "resource": "server room waste heat",
        "direction": "supply",
        "quantity": 5000,
        "unit": "MWh/yr",
        "temperature_c": 28,
        "category": "heat",
        "lat": 59.345,
        "lon": 18.03,
    }
    r = carol.post("/api/v1/chains/query", json=query)
    assert r.status_code == 200, r.text
    [chain] = r.json()["chains"]
    assert chain["demand"]["flow_id"] == ids["need"]["id"]
    assert carol.post("/api/v1/chains/query", json={**query, "direction": "demand"}).status_code == 422


def test_three_party_proposal_seen_and_accepted_by_the_service_provider(
    alice: Api, bob: Api, carol: Api, client
) -> None:  # type: ignore[no-untyped-def]
    ids = _stockholm(alice, bob, carol)
    chain = alice.get(f"/api/v1/flows/{ids['heat']['id']}/chains").json()["chains"][0]
    r = alice.post("/api/v1/chains/proposals", json={"chain_id": chain["id"]})
    assert r.status_code == 201, r.text
    proposal = r.json()
    pid = proposal["id"]
    assert proposal["status"] == "draft" and proposal["my_role"] == "proposer"
    assert [p["role"] for p in proposal["parties"]] == ["supplier", "service", "receiver"]
    # the service provider sees it, in its list, and was notified
    seen = carol.get(f"/api/v1/proposals/{pid}")
    assert seen.status_code == 200 and seen.json()["my_role"] == "service"
    assert pid in [p["id"] for p in carol.get("/api/v1/proposals").json()["items"]]
    assert any(n["data"].get("proposal_id") == pid for n in carol.get("/api/v1/users/me/notifications").json()["items"])
    assert alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"}).status_code == 200
    assert carol.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"}).status_code == 409
    # the service accepts first: still waiting for the receiver
    r = carol.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted", "note": "capacity reserved"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "sent"
    assert [p["accepted"] for p in r.json()["parties"]] == [False, True, False]
    before = len(bob.get("/api/v1/users/me/notifications").json()["items"])
    assert before >= 1
    r = bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    history = alice.get(f"/api/v1/proposals/{pid}").json()["history"]
    assert [h["kind"] for h in history][-2:] == ["acceptance", "status"]
    assert carol.post(f"/api/v1/proposals/{pid}/status", json={"status": "in_negotiation"}).status_code == 200
    assert carol.get(f"/api/v1/proposals/{pid}/packet").status_code == 200  # the packet works for a chain too
    # outsiders see nothing, a second open proposal of the chain is refused
    eve = Api(client, "eve@example.org")
    assert eve.get(f"/api/v1/proposals/{pid}").status_code == 403
    assert eve.get(f"/api/v1/chains/{chain['id']}").status_code == 403
    assert eve.post("/api/v1/chains/proposals", json={"chain_id": chain["id"]}).status_code == 403
    assert alice.post("/api/v1/chains/proposals", json={"chain_id": chain["id"]}).status_code == 409
    assert alice.post("/api/v1/chains/proposals", json={"chain_id": "nope"}).status_code == 422


def test_cycles_through_an_organisation(alice: Api, bob: Api) -> None:
    """A → B → A: Alice's power station sends fly ash to Bob's cement works, which sends kiln heat back."""
    from tests.matching.test_endpoints import _setup

    ids = _setup(alice, bob)
    kiln = bob.site(ids["works"]["id"], "Kiln stack", lat=55.02, lon=11.031)
    bob.flow(kiln["id"], resource="kiln exhaust heat", quantity=5000, unit="MWh/yr", temperature_c=250, category="heat")
    unit = alice.site(ids["plant"]["id"], "Boiler house", lat=55.001, lon=11.0)
    alice.flow(unit["id"], direction="demand", resource="process heat", quantity=8000, unit="MWh/yr", temperature_c=120)
    r = alice.get(f"/api/v1/organizations/{ids['plant']['id']}/chains/cycles?max_length=3")
    assert r.status_code == 200, r.text
    cycles = r.json()["cycles"]
    assert cycles and cycles[0]["length"] == 2
    assert {s["via"] for s in cycles[0]["steps"]} == {"match"}
    assert alice.get(f"/api/v1/organizations/{ids['plant']['id']}/chains/cycles?max_length=9").status_code == 422
