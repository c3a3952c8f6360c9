"""The network routes over real stored matches and a real proposal carried to `agreed`, as each party and an
outsider see them; malformed or too large requests are clear 4xx errors."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.matching.test_endpoints import _setup
from tests.network import kalundborg

BOX = "10.9,54.9,11.1,55.1"


def _matched(alice: Api, bob: Api) -> dict:  # type: ignore[type-arg]
    ids = _setup(alice, bob)  # Alice's power station (fly ash), Bob's cement works (pozzolanic additive)
    matches = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"]  # stored with their run
    assert matches
    ids["match"] = matches[0]
    return ids


def _deal(alice: Api, bob: Api, match_id: str) -> str:
    pid = alice.post("/api/v1/proposals", json={"match_id": match_id}).json()["id"]
    for who, state in ((alice, "sent"), (bob, "accepted")):
        assert who.post(f"/api/v1/proposals/{pid}/status", json={"status": state}).status_code == 200
    assert alice.post(f"/api/v1/proposals/{pid}/nda", json={}).status_code == 200
    for who, state in ((alice, "in_negotiation"), (bob, "agreed")):
        assert who.post(f"/api/v1/proposals/{pid}/status", json={"status": state}).status_code == 200
    return str(pid)


def test_stored_matches_are_edges_and_the_other_party_is_undisclosed(alice: Api, bob: Api) -> None:
    ids = _matched(alice, bob)
    r = alice.get(f"/api/v1/network?bbox={BOX}")
    assert r.status_code == 200, r.text
    body = r.json()
    text = json.dumps(body)
    nodes = {n["id"]: n for n in body["nodes"]}
    assert ids["plant"]["id"] in nodes and ids["ash"]["id"] in nodes
    assert nodes[ids["plant"]["id"]]["label"] == "Nordic Power"
    # Bob's organisation: one node under an alias, by sector, at a rounded position; none of its ids or names
    for hidden in (ids["works"]["id"], ids["need"]["id"], ids["need"]["site_id"], "Baltic Cement", "Kiln"):
        assert hidden not in text
    [alias] = [n for n in body["nodes"] if n["id"].startswith("private-")]
    assert alias["label"] == "private organisation" and alias["kind"] == "organization"
    assert (alias["lat"], alias["lon"]) == (55.0, 11.0)  # the kiln is at 55.02, 11.03
    [match] = [e for e in body["edges"] if e["kind"] == "match"]
    assert match["source"] == ids["ash"]["id"] and match["target"] == alias["id"]
    assert match["id"] is None and match["weight"] == ids["match"]["score"]
    assert match["distance_km"] == round(ids["match"]["distance_km"])  # whole km, as matching shows it
    assert alice.get(f"/api/v1/network?bbox={BOX}").json()["nodes"][-1]["id"] == body["nodes"][-1]["id"]  # stable
    # a small box around the kiln's true position does not show it: boxes test the rounded position
    probe = alice.get("/api/v1/network?bbox=11.02,55.01,11.04,55.03").json()
    assert all(not n["id"].startswith("private-") for n in probe["nodes"])
    # Bob sees his side in full and Alice's as an alias
    bob_view = bob.get(f"/api/v1/network?bbox={BOX}").json()
    bob_ids = {n["id"] for n in bob_view["nodes"]}
    assert ids["need"]["id"] in bob_ids and ids["plant"]["id"] not in bob_ids


def test_an_agreed_deal_is_an_exchange_and_names_the_partner(alice: Api, bob: Api, client: TestClient) -> None:
    ids = _matched(alice, bob)
    pid = _deal(alice, bob, ids["match"]["id"])
    body = alice.get(f"/api/v1/network?bbox={BOX}&kinds=exchange,match").json()
    [exchange] = [e for e in body["edges"] if e["kind"] == "exchange"]
    assert exchange["id"] == pid and exchange["status"] == "agreed"
    assert (exchange["source"], exchange["target"]) == (ids["ash"]["id"], ids["need"]["id"])  # named under NDA
    assert {n["kind"] for n in body["nodes"]} == {"flow"}
    anchors = alice.get("/api/v1/network/anchors").json()["anchors"]
    assert {a["organization"]["name"] for a in anchors} == {"Nordic Power", "Baltic Cement"}
    assert anchors[0]["weighted_degree"] == round(ids["match"]["score"] + 1.0, 4)
    # an outsider sees two private organisations, under two different aliases
    eve = Api(client, "eve@example.org")
    seen = eve.get("/api/v1/network/anchors").json()["anchors"]
    assert [a["organization"]["name"] for a in seen] == ["private organisation"] * 2
    assert len({a["organization"]["id"] for a in seen}) == 2 and "Nordic" not in json.dumps(seen)
    parks = eve.get("/api/v1/network/clusters?min_size=2").json()
    assert parks["count"] == 1 and parks["clusters"][0]["exchanges"] == 1
    assert "Baltic" not in json.dumps(parks)
    # resilience: asked of one's own organisation, not of another's
    r = alice.get(f"/api/v1/network/resilience/{ids['plant']['id']}")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["summary"]["exchanges_lost"] == 1 and report["summary"]["no_alternative"] == 1
    [dep] = report["dependents"]
    assert dep["id"] == ids["need"]["id"] and dep["organization"]["name"] == "Baltic Cement"
    assert eve.get(f"/api/v1/network/resilience/{ids['plant']['id']}").status_code == 403
    assert alice.get("/api/v1/network/resilience/nope").status_code == 404
    stats = eve.get("/api/v1/network/stats").json()
    assert stats["edges"]["exchange"] == 1 and stats["organizations_linked"] == 2


def test_malformed_and_too_large_requests_are_clear_4xx(alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    plant = alice.organization("Nordic Power")
    for i in range(3):
        alice.site(plant["id"], f"Unit {i}", lat=55.0 + i / 100, lon=11.0)
    for query, field in (
        ("", "bbox"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=11,55,10,56", "bbox"),
        ("bbox=10,55,200,56", "bbox"),
        (f"bbox={BOX}&kinds=teleport", "kinds"),
    ):
        r = alice.get(f"/api/v1/network?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, query
    assert alice.get(f"/api/v1/network?bbox={BOX}&min_score=2").status_code == 422
    assert alice.get("/api/v1/network/anchors?bbox=1,2").status_code == 422
    assert alice.get("/api/v1/network/clusters?min_size=50&max_members=10").status_code == 422
    runtime.settings.network_max_nodes = 3
    r = alice.get(f"/api/v1/network?bbox={BOX}")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "result_too_large" and error["details"]["nodes"] == 4
    assert "smaller bbox" in error["message"]
    assert alice.get("/api/v1/network?bbox=10.9,54.9,11.1,55.005").status_code == 200  # narrower: fits


def test_public_register_organisations_are_shown_to_everyone(session, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    """Kalundborg's companies as public-register data: named to any signed-in user, in full, on the map too."""
    k = kalundborg.build(session, source="register")
    eve = Api(client, "eve@example.org")
    top = eve.get("/api/v1/network/anchors?top=1").json()["anchors"][0]
    assert top["organization"] == {
        "id": k.orgs["asnaes"],
        "name": "Asnæs Power Station",
        "sector": "35.11",
        "lat": 55.6606,
        "lon": 11.0843,
    }
    body = eve.get(f"/api/v1/network?bbox={kalundborg.KALUNDBORG_BBOX}&kinds=exchange").json()
    assert len(body["edges"]) == 10 and all(e["id"] in k.exchanges for e in body["edges"])
    report = eve.get(f"/api/v1/network/resilience/{k.orgs['asnaes']}").json()
    assert report["summary"]["exchanges_lost"] == 7


def test_private_organisations_are_aliases_to_an_outsider(session, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    k = kalundborg.build(session, source="user")
    eve = Api(client, "eve@example.org")
    top = eve.get("/api/v1/network/anchors?top=3").json()["anchors"]
    assert [a["organization"]["name"] for a in top] == ["private organisation"] * 3
    assert top[0]["organization"]["sector"] == "35.11" and top[0]["organization"]["lat"] == 55.7  # 55.6606 rounded
    body = eve.get(f"/api/v1/network?bbox={kalundborg.KALUNDBORG_BBOX}").json()
    text = json.dumps(body)
    assert not any(ident in text for ident in (*k.orgs.values(), *k.sites.values(), *k.exchanges))
    assert {n["kind"] for n in body["nodes"]} == {"organization"}  # sites and flows fold into their organisation
    assert eve.get(f"/api/v1/network/resilience/{k.orgs['asnaes']}").status_code == 403
