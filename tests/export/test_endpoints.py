"""Bulk export: NDJSON and CSV of what the caller may read, scoped as the list routes, disclosed as the listings."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.analytics import network
from tests.conftest import Api


@pytest.fixture
def net(alice: Api, bob: Api, client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    carol, dave, eve = Api(client, "carol@example.org"), Api(client, "dave@example.org"), Api(client, "eve@e.org")
    ids = network.build(alice, bob, carol, dave, eve)
    ids.update(carol=carol, dave=dave, eve=eve)
    return ids


def _ndjson(api: Api, entity: str, **params: Any) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/export/{entity}", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = r.text.splitlines()
    return [json.loads(line) for line in lines]


def test_register_entities_are_the_callers_own(net: dict[str, Any], alice: Api, bob: Api) -> None:
    flows = _ndjson(alice, "flows")
    assert {f["id"] for f in flows} == {net["flows"]["heat50"]["id"], net["flows"]["heat12"]["id"]}
    heat = next(f for f in flows if f["id"] == net["flows"]["heat50"]["id"])
    assert heat["quantity"] == 50 and heat["unit"] == "GWh/yr" and heat["created_at"].endswith("+00:00")
    orgs = _ndjson(alice, "organizations")
    assert [o["name"] for o in orgs] == ["Nordic Energy Recovery"]
    sites = _ndjson(bob, "sites")
    assert {s["name"] for s in sites} == {"Network", "Greenhouses"}
    assert "Incinerator" not in json.dumps(sites)
    r = alice.post(
        f"/api/v1/organizations/{net['orgs']['plant']['id']}/services",
        json={"kind": "transport", "name": "Ash tipper", "countries": ["DK"]},
    )
    assert r.status_code == 201
    assert [s["name"] for s in _ndjson(alice, "services")] == ["Ash tipper"]
    assert _ndjson(bob, "services") == []


def test_csv_parses_with_the_same_rows(net: dict[str, Any], bob: Api) -> None:
    r = bob.get("/api/v1/export/flows?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(_ndjson(bob, "flows")) == 2
    assert {float(x["quantity"]) for x in rows} == {40.0, 30.0}
    assert {x["resource"] for x in rows} == {"heat for district heating network", "greenhouse heating"}
    assert json.loads(rows[0]["attributes"]) == {}


def test_updated_since(net: dict[str, Any], alice: Api) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert _ndjson(alice, "flows", updated_since=later) == []
    assert len(_ndjson(alice, "flows", updated_since=earlier)) == 2
    assert len(_ndjson(alice, "proposals", updated_since=earlier)) == 3
    assert alice.get("/api/v1/export/flows?updated_since=soon").status_code == 422


def test_matches_and_proposals_are_disclosed_as_in_the_listings(net: dict[str, Any], alice: Api, bob: Api) -> None:
    matches = _ndjson(alice, "matches")
    assert net["matches"]["m1"]["id"] in {m["id"] for m in matches}
    assert net["matches"]["m3"]["id"] not in {m["id"] for m in matches}  # Dave's ash to Carol: not Alice's
    assert "Town Heating" not in json.dumps(matches)  # no NDA yet: by sector only
    m1 = next(m for m in matches if m["id"] == net["matches"]["m1"]["id"])
    assert m1["supply_organization"] == "Nordic Energy Recovery" and m1["demand_organization"] == "private organisation"
    assert m1["demand_sector"] == "35.30" and m1["distance_km"] == float(round(m1["distance_km"]))
    assert m1["co2_avoided_t_per_year"] == net["matches"]["m1"]["economics"]["co2_avoided_t_per_year"]

    proposals = {p["id"]: p for p in _ndjson(alice, "proposals")}
    ids = net["proposals"]
    assert set(proposals) == {ids["p1"], ids["p2"], ids["p4"]}  # not Dave's to Carol
    assert proposals[ids["p1"]]["counterpart"] == "Town Heating"  # agreed: full disclosure
    assert proposals[ids["p4"]]["counterpart"] is None and proposals[ids["p4"]]["disclosure"] == "anonymous"
    assert proposals[ids["p1"]]["my_role"] == "proposer"
    assert {p["my_role"] for p in _ndjson(bob, "proposals")} == {"receiver"}
    assert _ndjson(net["eve"], "proposals") == [] and _ndjson(net["eve"], "matches") == []
    r = alice.get("/api/v1/export/proposals?format=csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 and set(rows[0]) >= {"id", "status", "counterpart", "npv_eur"}


def test_bad_requests_and_credentials(alice: Api, client: Any) -> None:
    assert alice.get("/api/v1/export/users").status_code == 422
    assert alice.get("/api/v1/export/flows?format=xml").status_code == 422
    assert client.get("/api/v1/export/flows").status_code == 401
