"""Matching on the register: the contract's example, filters, look-up by id, ad-hoc queries, rules and routing."""

import jsonschema
import pytest
import sqlalchemy as sa

from tests.matching.conftest import MATCH_SCHEMA
from turash.ingestion.service import import_flows
from turash.kit.errors import NotFound, ValidationFailed
from turash.matching import service
from turash.matching.service import MatchRequest
from turash.models import Organization


def _pairs(matches):  # type: ignore[no-untyped-def]
    return [(m["supply"]["resource"], m["demand"]["resource"]) for m in matches]


def test_contract_example_finds_the_three_documented_exchanges(example) -> None:  # type: ignore[no-untyped-def]
    matches, summary = service.find_matches(example, {}, MatchRequest())
    jsonschema.validate({"matches": matches}, MATCH_SCHEMA)
    assert set(_pairs(matches)) == {
        ("fly ash", "pozzolanic additive for blended cement"),
        ("surplus heat from flue gas condensation", "heat for district heating network"),
        ("spent grain", "cattle feed"),
    }
    assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)
    ash = next(m for m in matches if m["supply"]["resource"] == "fly ash")
    assert ash["supply"]["resource_class"] == "coal_fly_ash"
    assert ash["demand"]["organization"] == "Example Cement Works"
    assert 2.5 < ash["distance_km"] < 3.5
    assert set(ash["scores"]) >= {"quality", "temporal", "quantity", "economic", "trust", "distance"}
    assert "fly ash" in ash["explanation"] and "km" in ash["explanation"]
    assert any(c["rule"] == "waste_status" for c in ash["constraints"])  # EWC 10 01 02: legally a waste
    assert summary["flows"] == 6 and summary["flows_unclassified"] == 0


def test_filters(example) -> None:  # type: ignore[no-untyped-def]
    cement = example.scalar(sa.select(Organization).where(Organization.name == "Example Cement Works"))
    matches, _ = service.find_matches(example, {}, MatchRequest(organization_id=cement.id))
    assert _pairs(matches) == [("fly ash", "pozzolanic additive for blended cement")]
    heat, _ = service.find_matches(example, {}, MatchRequest(category="heat"))
    assert len(heat) == 1 and heat[0]["demand"]["resource"] == "heat for district heating network"
    near, _ = service.find_matches(example, {}, MatchRequest(radius_km=2.0))
    assert _pairs(near) == [("surplus heat from flue gas condensation", "heat for district heating network")]
    none, _ = service.find_matches(example, {}, MatchRequest(min_score=0.99))
    assert none == []


def test_weights_change_the_order_as_documented(example) -> None:  # type: ignore[no-untyped-def]
    by_distance, _ = service.find_matches(
        example,
        {},
        MatchRequest(
            weights=service.parse_weights("quality=0,temporal=0,quantity=0,economic=0,trust=0,distance=1,sector=0")
        ),
    )
    closeness = [m["scores"]["distance"] for m in by_distance]  # relative to each category's radius
    assert closeness == sorted(closeness, reverse=True) and [m["score"] for m in by_distance] == closeness
    with pytest.raises(ValidationFailed, match="unknown scorer weight"):
        service.parse_weights("beauty=1")
    with pytest.raises(ValidationFailed):
        service.parse_weights("quality=-1")


def test_match_by_id_is_stable_and_recomputable(example) -> None:  # type: ignore[no-untyped-def]
    matches, _ = service.find_matches(example, {}, MatchRequest())
    first = matches[0]
    again = service.match_for_pair(example, {}, first["id"])
    assert again["id"] == first["id"] and again["score"] == pytest.approx(first["score"], abs=1e-4)
    with pytest.raises(NotFound):
        service.match_for_pair(example, {}, "mnot-a-match")
    ash, dairy = (
        next(m for m in matches if m["supply"]["resource"] == "fly ash")["supply"]["flow_id"],
        next(m for m in matches if m["demand"]["resource"] == "cattle feed")["demand"]["flow_id"],
    )
    with pytest.raises(NotFound, match="do not fit"):
        service.match_for_pair(example, {}, f"m{ash}{dairy}")  # fly ash is no cattle feed


def test_ad_hoc_query(example) -> None:  # type: ignore[no-untyped-def]
    body = {"direction": "supply", "resource": "brewers grains", "quantity": 5000.0, "unit": "t/yr", "attributes": {}}
    matches = service.query(example, {}, body, lat=55.04, lon=11.04, nace="11.05", request=MatchRequest())
    assert matches and matches[0]["demand"]["resource"] == "cattle feed"
    assert matches[0]["supply"]["flow_id"] == "query"
    with pytest.raises(ValidationFailed, match="cannot tell"):
        service.query(
            example,
            {},
            {"direction": "supply", "resource": "qwerty zzz", "attributes": {}},
            lat=55.0,
            lon=11.0,
            nace=None,
            request=MatchRequest(),
        )


def test_state_asks_the_database_only_after_a_write_or_a_second(example, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    asked = []
    real = service.repository.data_version
    monkeypatch.setattr(service.repository, "data_version", lambda s: asked.append(1) or real(s))
    monkeypatch.setattr(service, "RECHECK_SECONDS", 3600.0)  # no other process writes during this test
    holder: dict = {}  # type: ignore[type-arg]
    example.flush()  # the fixture's rows are written (a pending flush would count as a write)
    first = service.state(example, holder)
    built = len(asked)  # building asks too (the version it was built from)
    assert service.state(example, holder) is first and len(asked) == built  # nothing written: trusted
    body = {"direction": "supply", "resource": "brewers grains", "quantity": 5000.0, "unit": "t/yr", "attributes": {}}
    service.query(example, holder, body, lat=55.04, lon=11.04, nace="11.05", request=MatchRequest())
    assert len(asked) == built and holder["matching_state"] is first  # a query reads only
    rows = (
        "organization,site,lat,lon,direction,resource,quantity,unit\n"
        "New Dairy,Farm,55.06,11.06,demand,cattle feed,900,t/yr\n"
    )
    import_flows(example, "f.csv", data=rows.encode(), name="f.csv")
    example.flush()
    fresh = service.state(example, holder)
    assert len(asked) > built and fresh is not first and len(fresh.flows) == len(first.flows) + 1
    asked.clear()
    assert service.state(example, holder) is fresh and not asked
    monkeypatch.setattr(service, "RECHECK_SECONDS", 0.0)  # another process may have written: ask again
    assert service.state(example, holder) is fresh and len(asked) == 1


def test_excluded_partner_is_never_proposed(example) -> None:  # type: ignore[no-untyped-def]
    cement = example.scalar(sa.select(Organization).where(Organization.name == "Example Cement Works"))
    cement.attributes = {"excluded_partners": ["Example Power Station"]}
    example.flush()
    matches, _ = service.find_matches(example, {}, MatchRequest())
    assert ("fly ash", "pozzolanic additive for blended cement") not in _pairs(matches)


HAZARD = """organization,site,lat,lon,direction,resource,ewc_code,quantity,unit
Oil Plant,Boilers,55.0,11.0,supply,oil fly ash,10 01 04,500,t/yr
Cement A,Kiln,55.01,11.01,demand,fly ash for cement,,1000,t/yr
"""


def test_hazardous_waste_needs_a_permit_and_a_facilitator(session) -> None:  # type: ignore[no-untyped-def]
    import_flows(session, "h.csv", data=HAZARD.encode(), name="h.csv")
    session.flush()
    none, _ = service.find_matches(session, {}, MatchRequest())
    assert none == []  # the cement works holds no hazardous-waste permit
    from turash.models import Site

    kiln = session.scalar(sa.select(Site).where(Site.name == "Kiln"))
    kiln.permits = {"hazardous_waste": True}
    kiln.updated_at = kiln.updated_at  # the permit is on the site; the flow's data version is unchanged
    session.flush()
    matches, _ = service.find_matches(session, {}, MatchRequest())
    assert len(matches) == 1
    assert matches[0]["route"] == "facilitated" and "hazardous waste" in matches[0]["route_reasons"]
    assert any(c["rule"] == "hazardous_waste_permit" and c["status"] == "pass" for c in matches[0]["constraints"])
