import jsonschema

from tests.conftest import Api
from tests.matching.conftest import MATCH_SCHEMA


def _setup(alice: Api, bob: Api) -> dict:  # type: ignore[type-arg]
    """Alice runs a power station with fly ash; Bob a cement works that needs a pozzolanic additive."""
    plant = alice.organization("Nordic Power")
    unit = alice.site(plant["id"], "Unit 2", lat=55.0, lon=11.0)
    ash = alice.flow(unit["id"], resource="fly ash", ewc_code="10 01 02", quantity=40000, unit="t/yr")
    works = bob.organization("Baltic Cement")
    kiln = bob.site(works["id"], "Kiln", lat=55.02, lon=11.03)
    need = bob.flow(
        kiln["id"], direction="demand", resource="pozzolanic additive for blended cement", quantity=25000, unit="t/yr"
    )
    return {"plant": plant, "works": works, "ash": ash, "need": need}


def test_organization_matches_and_the_match_detail(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    ids = _setup(alice, bob)
    r = alice.get(f"/api/v1/organizations/{ids['plant']['id']}/matching/direct?top=3&radius_km=30")
    assert r.status_code == 200, r.text
    body = r.json()
    jsonschema.validate({"matches": body["matches"]}, MATCH_SCHEMA)
    [match] = body["matches"]
    assert match["supply"]["flow_id"] == ids["ash"]["id"] and match["demand"]["flow_id"] == ids["need"]["id"]
    assert match["demand"]["organization"] == "private organisation"  # staged disclosure
    detail = bob.get(f"/api/v1/matches/{match['id']}")
    assert detail.status_code == 200 and detail.json()["score"] == match["score"]
    outsider = Api(client, "eve@example.org")
    assert outsider.get(f"/api/v1/matches/{match['id']}").status_code == 403
    assert outsider.get(f"/api/v1/organizations/{ids['plant']['id']}/matching/direct").status_code == 403
    assert alice.get("/api/v1/matches/nonsense").status_code == 404


def test_flow_matches_and_filters(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    r = bob.get(f"/api/v1/flows/{ids['need']['id']}/matches")
    assert r.status_code == 200 and len(r.json()["matches"]) == 1
    assert bob.get(f"/api/v1/flows/{ids['need']['id']}/matches?category=heat").json()["matches"] == []
    assert bob.get(f"/api/v1/flows/{ids['need']['id']}/matches?radius_km=1").json()["matches"] == []
    assert bob.get(f"/api/v1/flows/{ids['need']['id']}/matches?weights=beauty=1").status_code == 422
    assert bob.get(f"/api/v1/flows/{ids['need']['id']}/matches?top=0").status_code == 422
    assert alice.get(f"/api/v1/flows/{ids['need']['id']}/matches").status_code == 403


def test_matches_follow_changes(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    url = f"/api/v1/flows/{ids['need']['id']}/matches"
    assert len(bob.get(url).json()["matches"]) == 1
    assert alice.delete(f"/api/v1/flows/{ids['ash']['id']}").status_code == 204
    assert bob.get(url).json()["matches"] == []  # the cache key carries the data version


def test_ad_hoc_query(alice: Api, bob: Api) -> None:
    _setup(alice, bob)
    r = alice.post(
        "/api/v1/matching/query",
        json={"direction": "supply", "resource": "PFA", "quantity": 5000, "unit": "t/yr", "lat": 55.01, "lon": 11.02},
    )
    assert r.status_code == 200, r.text
    assert r.json()["matches"][0]["demand"]["organization"] == "private organisation"
    bad = alice.post("/api/v1/matching/query", json={"direction": "supply", "lat": 55, "lon": 11})
    assert bad.status_code == 422
    nonsense = alice.post(
        "/api/v1/matching/query", json={"direction": "supply", "resource": "zzqx", "lat": 1, "lon": 1}
    )
    assert nonsense.status_code == 422 and nonsense.json()["error"]["code"] == "resource_not_understood"
