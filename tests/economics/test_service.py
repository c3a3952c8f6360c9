"""The business case of a match, through the service, the REST route (JSON and HTML) and the CLI."""

import json

import pytest

from tests.conftest import Api
from tests.matching.test_endpoints import _setup
from turash.economics import service
from turash.kit.cache import MemoryCache
from turash.kit.errors import ValidationFailed
from turash.matching import service as matching
from turash.matching.service import MatchRequest


def test_business_case_of_the_fly_ash_example(example) -> None:  # type: ignore[no-untyped-def]
    matches, _ = matching.find_matches(example, {}, MatchRequest())
    ash = next(m for m in matches if m["supply"]["resource"] == "fly ash")
    data = service.business_case(example, {}, MemoryCache(), ash["id"])
    case, e = data["case"], data["economics"]
    # 40,000 t/yr of ash for a 25,000 t/yr need: the smaller amount is exchanged, in kg per year.
    assert case["annual_quantity"] == pytest.approx(25_000_000, rel=1e-3)
    assert case["quantity_kind"] == "mass" and case["supply_class"] == "coal_fly_ash"
    assert e["npv_range"]["p10"] <= e["npv_range"]["p50"] <= e["npv_range"]["p90"]
    assert e["co2_avoided_t_per_year"] > 0 and e["assumptions"] and e["risk"]["regulatory"]["level"]
    assert ash["economics"]["co2_avoided_t_per_year"] == pytest.approx(e["co2_avoided_t_per_year"], rel=0.01)
    # Every match shows its win-win price band, the same as its full business case's.
    band, full = ash["economics"]["price_band"], e["price_band"]
    assert band["unit"] == full["unit"] == "EUR/t" and band["low"] < band["high"]
    assert (band["low"], band["high"]) == (pytest.approx(full["low"], abs=0.01), pytest.approx(full["high"], abs=0.01))
    dearer = service.business_case(example, {}, MemoryCache(), ash["id"], {"discount_rate": 0.12})
    assert dearer["economics"]["npv_eur"] < e["npv_eur"]  # NPV falls with the discount rate
    with pytest.raises(ValidationFailed):
        service.business_case(example, {}, MemoryCache(), ash["id"], {"no_such_assumption": 1.0})


def test_parse_overrides() -> None:
    assert service.parse_overrides(["discount_rate=0.05", " lifetime_years = 15"]) == {
        "discount_rate": 0.05,
        "lifetime_years": 15.0,
    }
    for bad in (["discount_rate"], ["discount_rate=high"]):
        with pytest.raises(ValidationFailed):
            service.parse_overrides(bad)


def test_rest_route_json_and_html(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    ids = _setup(alice, bob)
    match = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"][0]
    r = bob.get(f"/api/v1/matches/{match['id']}/economics?discount_rate=0.06")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["overrides"] == {"discount_rate": 0.06} and "npv_eur" in body["economics"]
    page = alice.get(f"/api/v1/matches/{match['id']}/economics?format=html")
    assert page.status_code == 200 and "Win-win price band" in page.text and "<script" not in page.text
    assert bob.get(f"/api/v1/matches/{match['id']}/economics?discount_rate=abc").status_code == 422
    assert bob.get(f"/api/v1/matches/{match['id']}/economics?bogus=1").status_code == 422
    assert Api(client, "mallory@example.org").get(f"/api/v1/matches/{match['id']}/economics").status_code == 403


def test_cli(cli_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.matching.conftest import EXAMPLE
    from tests.test_cli import run

    assert run("import", "flows", str(EXAMPLE))[0] == 0
    matches = json.loads(run("match", "--format", "json")[1])["matches"]
    heat = next(m for m in matches if m["supply"]["resource"].startswith("surplus heat"))
    code, out, _ = run("economics", heat["id"], "--format", "json", "--set", "discount_rate=0.05")
    assert code == 0 and json.loads(out)["economics"]["npv_eur"] is not None
    target = tmp_path / "case.html"
    assert run("economics", heat["id"], "--format", "html", "--output", str(target))[0] == 0
    assert "Business case" in target.read_text()
    code, _, err = run("economics", "mnot-a-match")
    assert code == 2 and "not found" in err
