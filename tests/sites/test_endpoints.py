from tests.conftest import Api


def test_site_crud_and_radius_search(alice: Api) -> None:
    org = alice.organization("Sites Ltd")
    a = alice.site(
        org["id"], "Harbour", lat=55.66, lon=11.08, nace="C23.5.1", country="dk", permits={"hazardous_waste": True}
    )
    assert a["nace"] == "23.51" and a["country"] == "DK" and a["permits"] == {"hazardous_waste": True}
    alice.site(org["id"], "Inland", lat=55.40, lon=11.35)
    assert (
        alice.post(
            f"/api/v1/organizations/{org['id']}/sites", json={"name": " harbour ", "lat": 1, "lon": 1}
        ).status_code
        == 409
    )
    r = alice.get("/api/v1/sites?lat=55.66&lon=11.09&radius_km=10")
    assert [s["name"] for s in r.json()["items"]] == ["Harbour"]
    assert 0 < r.json()["items"][0]["distance_km"] < 1
    r = alice.get(f"/api/v1/organizations/{org['id']}/sites")
    assert r.json()["total"] == 2
    assert alice.patch(f"/api/v1/sites/{a['id']}", json={"lat": 56.0}).json()["lat"] == 56.0
    assert alice.patch(f"/api/v1/sites/{a['id']}", json={"lat": 91}).status_code == 422
    assert alice.delete(f"/api/v1/sites/{a['id']}").status_code == 204


def test_site_validation(alice: Api) -> None:
    org = alice.organization("Bad Sites")
    for body in (
        {"name": "x", "lat": 95, "lon": 0},
        {"name": "x", "lat": "north", "lon": 0},
        {"name": "x", "lon": 0},
        {"name": "", "lat": 1, "lon": 1},
        {"name": "x", "lat": 1, "lon": 1, "nace": "?"},
    ):
        r = alice.post(f"/api/v1/organizations/{org['id']}/sites", json=body)
        assert r.status_code == 422, body


def test_pagination(alice: Api) -> None:
    org = alice.organization("Many Sites")
    for i in range(5):
        alice.site(org["id"], f"S{i}", lat=50 + i, lon=10)
    page = alice.get("/api/v1/sites?limit=2&offset=2").json()
    assert page["total"] == 5 and page["limit"] == 2 and [s["name"] for s in page["items"]] == ["S2", "S3"]
