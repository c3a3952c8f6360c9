"""A small, realistic symbiosis network in Denmark, built through the REST API as users would build it.

Alice's incinerator (Nordic Energy Recovery) has two heat surpluses: 50 GWh/yr at 90 °C and 12 GWh/yr at 80 °C.
Bob's district heating (Town Heating) needs 40 GWh/yr at 75 °C; his greenhouses 30 GWh/yr at 60 °C. Dave's power
station (Dave Power, DK) has 1,000 t/yr of fly ash that Carol's cement works (Carol Cement) needs 800 t/yr of.
Eve's Swedish dairy is outside Denmark.

Proposals: the 50 GWh heat to Bob's network is agreed (40 GWh/yr exchanged: the smaller side), the 12 GWh heat to
the greenhouses implemented (12 GWh/yr), the fly ash sent and rejected, and one more heat pair left as a draft.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def _match(api: Api, supply_id: str, demand_id: str, served: set[str]) -> dict[str, Any]:
    listed = api.get(f"/api/v1/flows/{supply_id}/matches?radius_km=50&top=10")
    assert listed.status_code == 200, listed.text
    matches = listed.json()["matches"]
    served.update(m["id"] for m in matches)
    [match] = [m for m in matches if m["demand"]["flow_id"] == demand_id]
    return match


def _walk(api_by_role: dict[str, Api], pid: str, steps: list[tuple[str, str]]) -> None:
    for role, state in steps:
        r = api_by_role[role].post(f"/api/v1/proposals/{pid}/status", json={"status": state})
        assert r.status_code == 200, r.text


def build(alice: Api, bob: Api, carol: Api, dave: Api, eve: Api) -> dict[str, Any]:
    plant = alice.organization("Nordic Energy Recovery", nace="38.21", country="DK")
    unit = alice.site(plant["id"], "Incinerator", lat=55.0, lon=11.0, country="DK")
    heat50 = alice.flow(
        unit["id"], resource="surplus heat 90 °C", category="heat", quantity=50, unit="GWh/yr", temperature_c=90
    )
    heat12 = alice.flow(
        unit["id"],
        resource="flue gas condensation heat",
        category="heat",
        quantity=12,
        unit="GWh/yr",
        temperature_c=80,
    )
    town = bob.organization("Town Heating", nace="35.30", country="DK")
    net = bob.site(town["id"], "Network", lat=55.04, lon=11.0, country="DK")
    need40 = bob.flow(
        net["id"],
        direction="demand",
        resource="heat for district heating network",
        category="heat",
        quantity=40,
        unit="GWh/yr",
        temperature_c=75,
    )
    glass = bob.site(town["id"], "Greenhouses", lat=55.02, lon=11.02, country="DK")
    need30 = bob.flow(
        glass["id"],
        direction="demand",
        resource="greenhouse heating",
        category="heat",
        quantity=30,
        unit="GWh/yr",
        temperature_c=60,
    )
    cement = carol.organization("Carol Cement", nace="23.51", country="DK")
    kiln = carol.site(cement["id"], "Kiln", lat=55.1, lon=11.1, country="DK")
    need_ash = carol.flow(
        kiln["id"], direction="demand", resource="pozzolanic additive for blended cement", quantity=800, unit="t/yr"
    )
    power = dave.organization("Dave Power", nace="35.11", country="DK")
    boiler = dave.site(power["id"], "Unit 1", lat=55.08, lon=11.08, country="DK")
    ash = dave.flow(boiler["id"], resource="fly ash", ewc_code="10 01 02", quantity=1000, unit="t/yr")
    dairy = eve.organization("Eve Dairy", nace="10.51", country="SE")
    plant_se = eve.site(dairy["id"], "Dairy", lat=57.7, lon=12.0, country="SE")
    whey = eve.flow(plant_se["id"], resource="acid whey", quantity=5000, unit="t/yr", category="material")

    served: set[str] = set()
    m1 = _match(alice, heat50["id"], need40["id"], served)
    m2 = _match(alice, heat12["id"], need30["id"], served)
    m3 = _match(dave, ash["id"], need_ash["id"], served)
    m4 = _match(alice, heat50["id"], need30["id"], served)
    eve.get(f"/api/v1/flows/{whey['id']}/matches")  # whatever Sweden has: not Denmark's

    ids = {}
    for key, api, match in (("p1", alice, m1), ("p2", alice, m2), ("p3", dave, m3), ("p4", alice, m4)):
        r = api.post("/api/v1/proposals", json={"match_id": match["id"]})
        assert r.status_code == 201, r.text
        ids[key] = r.json()["id"]
    heat = {"proposer": alice, "receiver": bob}
    _walk(
        heat,
        ids["p1"],
        [("proposer", "sent"), ("receiver", "accepted"), ("proposer", "in_negotiation"), ("receiver", "agreed")],
    )
    _walk(
        heat,
        ids["p2"],
        [
            ("proposer", "sent"),
            ("receiver", "accepted"),
            ("proposer", "in_negotiation"),
            ("receiver", "agreed"),
            ("proposer", "implemented"),
        ],
    )
    _walk({"proposer": dave, "receiver": carol}, ids["p3"], [("proposer", "sent"), ("receiver", "rejected")])
    return {
        "orgs": {"plant": plant, "town": town, "cement": cement, "power": power, "dairy": dairy},
        "flows": {
            "heat50": heat50,
            "heat12": heat12,
            "need40": need40,
            "need30": need30,
            "ash": ash,
            "need_ash": need_ash,
            "whey": whey,
        },
        "matches": {"m1": m1, "m2": m2, "m3": m3, "m4": m4},
        "served": served,
        "proposals": ids,
    }
