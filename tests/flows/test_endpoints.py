import pytest

from tests.conftest import Api


@pytest.fixture
def site(alice: Api) -> dict:  # type: ignore[type-arg]
    org = alice.organization("Asnæs Power", nace="35.11", country="DK")
    return alice.site(org["id"], "Unit 2", lat=55.6603, lon=11.0868, nace="35.11")


def test_create_flow_normalises_and_derives(alice: Api, site: dict) -> None:  # type: ignore[type-arg]
    flow = alice.flow(
        site["id"],
        resource="fly ash",
        ewc_code="10 01 02",
        quantity=40000,
        unit="t/yr",
        price_eur_per_unit=-5,
        schedule="24/7",
        colour="grey",
    )
    assert flow["ewc_code"] == "100102"
    assert flow["hazardous"] is False  # derived from the EWC entry
    assert flow["quantity_kind"] == "mass_rate" and flow["si_unit"] == "kg/s"
    assert flow["quantity_si"] == pytest.approx(1.2675, rel=1e-3)
    assert flow["precision"] == "estimated"
    assert flow["attributes"] == {"colour": "grey"}  # unknown fields are kept as free attributes
    assert flow["organization"] == "Asnæs Power" and flow["lat"] == 55.6603


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"direction": "sell", "resource": "x"}, "direction"),
        ({"direction": "supply"}, "resource"),
        ({"direction": "supply", "resource": "x", "quantity": 5, "unit": "bananas"}, "unit"),
        ({"direction": "supply", "resource": "x", "quantity": -5, "unit": "t"}, "quantity"),
        ({"direction": "supply", "resource": "x", "temperature_c": -300}, "temperature_c"),
        ({"direction": "supply", "resource": "x", "purity_pct": 120}, "purity_pct"),
        ({"direction": "supply", "resource": "x", "ewc_code": "12"}, "ewc_code"),
        ({"direction": "supply", "resource": "x", "available_from": "tomorrow"}, "available_from"),
        ({"direction": "supply", "resource": "x", "precision": "exact"}, "precision"),
        ({"direction": "supply", "resource": "x", "category": "vibes"}, "category"),
    ],
)
def test_bad_fields_name_the_field(alice: Api, site: dict, body: dict, field: str) -> None:  # type: ignore[type-arg]
    r = alice.post(f"/api/v1/sites/{site['id']}/flows", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert field in str(error["details"]), error


def test_cross_field_errors_are_422(alice: Api, site: dict) -> None:  # type: ignore[type-arg]
    r = alice.post(f"/api/v1/sites/{site['id']}/flows", json={"direction": "supply", "resource": "x", "quantity": 5})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "unit"


def test_identical_flow_is_409(alice: Api, site: dict) -> None:  # type: ignore[type-arg]
    first = alice.flow(site["id"])
    r = alice.post(
        f"/api/v1/sites/{site['id']}/flows",
        json={"direction": "supply", "resource": "fly ash", "quantity": 1000, "unit": "t/yr"},
    )
    assert r.status_code == 409 and r.json()["error"]["details"]["flow_id"] == first["id"]


def test_update_rederives(alice: Api, site: dict) -> None:  # type: ignore[type-arg]
    flow = alice.flow(site["id"], ewc_code="100104")
    assert flow["hazardous"] is True
    r = alice.patch(f"/api/v1/flows/{flow['id']}", json={"ewc_code": "100102", "quantity": 2, "unit": "MW"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hazardous"] is False and body["quantity_si"] == 2e6 and body["si_unit"] == "W"
    assert alice.patch(f"/api/v1/flows/{flow['id']}", json={"resource": ""}).status_code == 422
    assert alice.patch(f"/api/v1/flows/{flow['id']}", json={"nonsense": 1}).status_code == 422


def test_list_filters(alice: Api) -> None:
    org = alice.organization("Filters Ltd", nace="23.51")
    near = alice.site(org["id"], "Near", lat=55.0, lon=11.0, nace="23.51")
    far = alice.site(org["id"], "Far", lat=48.0, lon=2.0, nace="19.20")
    alice.flow(near["id"], direction="demand", resource="pozzolana", category="material")
    alice.flow(far["id"], direction="supply", resource="waste heat", category="heat", quantity=5, unit="MW")

    def total(query: str) -> int:
        r = alice.get(f"/api/v1/flows?{query}")
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    assert total("") == 2
    assert total("direction=demand") == 1
    assert total("category=heat") == 1
    assert total("nace=23") == 1 and total("nace=19.20") == 1
    assert total("bbox=10,54,12,56") == 1
    assert total("lat=55.01&lon=11.01&radius_km=5") == 1
    assert total("q=HEAT") == 1 and total("q=%25") == 0
    r = alice.get("/api/v1/flows?lat=55&lon=11&radius_km=2000")
    assert [f["site"] for f in r.json()["items"]] == ["Near", "Far"]  # ordered by distance
    for bad in ("bbox=1,2,3", "lat=55", "radius_km=5", "nace=zz", "limit=0", "direction=up"):
        assert alice.get(f"/api/v1/flows?{bad}").status_code == 422, bad


def test_delete_flow(alice: Api, site: dict) -> None:  # type: ignore[type-arg]
    flow = alice.flow(site["id"])
    assert alice.delete(f"/api/v1/flows/{flow['id']}").status_code == 204
    assert alice.get(f"/api/v1/flows/{flow['id']}").status_code == 404
