from tests.conftest import Api


def test_service_offering_crud(alice: Api) -> None:
    org = alice.organization("Haulier A/S")
    r = alice.post(
        f"/api/v1/organizations/{org['id']}/services",
        json={
            "kind": "transport",
            "name": "Bulk tipper",
            "resources": ["fly ash"],
            "ewc_codes": ["10 01 02"],
            "center_lat": 55.6,
            "center_lon": 11.1,
            "radius_km": 150,
            "countries": ["dk", "Sweden"],
        },
    )
    assert r.status_code == 201, r.text
    svc = r.json()
    assert svc["ewc_codes"] == ["100102"] and svc["countries"] == ["DK", "SE"]
    assert alice.get("/api/v1/services?kind=transport&country=SE").json()["total"] == 1
    assert alice.get("/api/v1/services?kind=storage").json()["total"] == 0
    assert alice.patch(f"/api/v1/services/{svc['id']}", json={"capacity": 1000}).json()["capacity"] == 1000
    assert alice.delete(f"/api/v1/services/{svc['id']}").status_code == 204


def test_service_validation(alice: Api) -> None:
    org = alice.organization("Svc Bad")
    for body in (
        {"kind": "teleport", "name": "x"},
        {"kind": "transport", "name": "x", "center_lat": 5},
        {"kind": "transport", "name": "x", "countries": ["Atlantis"]},
    ):
        assert alice.post(f"/api/v1/organizations/{org['id']}/services", json=body).status_code == 422, body
