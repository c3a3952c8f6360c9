"""Facilitators: profiles, the marketplace queue from the hybrid router, claims, SLA reminders, proposals opened by a
facilitator, outcomes, statistics, and the ranking learning from outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from turash.facilitation import service
from turash.matching.outcomes import Outcome
from turash.models.base import utcnow


def _heat(alice: Api, bob: Api) -> dict[str, Any]:
    """Alice's incinerator has 90 °C heat 4.4 km from Bob's district-heating network: a pipe of that length is a
    capital project, so the router sends the match to a facilitator."""
    plant = alice.organization("Nordic Energy Recovery", nace="38.21")
    unit = alice.site(plant["id"], "Incinerator", lat=55.0, lon=11.0, country="DK")
    heat = alice.flow(
        unit["id"], resource="surplus heat 90 °C", category="heat", quantity=50, unit="GWh/yr", temperature_c=90
    )
    town = bob.organization("Town Heating", nace="35.30")
    net = bob.site(town["id"], "Network", lat=55.04, lon=11.0, country="DK")
    need = bob.flow(
        net["id"],
        direction="demand",
        resource="heat for district heating network",
        category="heat",
        quantity=40,
        unit="GWh/yr",
        temperature_c=75,
    )
    listed = alice.get(f"/api/v1/organizations/{plant['id']}/matching/direct?radius_km=30").json()["matches"]
    [match] = [m for m in listed if m["demand"]["flow_id"] == need["id"]]
    assert match["route"] == "facilitated" and any("large capital project" in r for r in match["route_reasons"])
    return {"plant": plant, "town": town, "heat": heat, "need": need, "match": match}


def _facilitator(api: Api, name: str, **profile: Any) -> dict[str, Any]:
    org = api.organization(name, kind="facilitator")
    r = api.client.put(
        f"/api/v1/organizations/{org['id']}/facilitator-profile",
        headers=api.headers,
        json={"regions": ["DK"], "specialities": ["heat"], "sla_hours": 1, **profile},
    )
    assert r.status_code == 200, r.text
    return org


def test_marketplace_from_claim_to_outcome(alice: Api, bob: Api, client, runtime) -> None:  # type: ignore[no-untyped-def]
    ids = _heat(alice, bob)
    carol, dave, erin = Api(client, "carol@example.org"), Api(client, "dave@example.org"), Api(client, "erin@e.org")
    brokers = _facilitator(carol, "Heat Brokers", fee_model="success", fee_eur=5000)
    _facilitator(dave, "Swedish Links", regions=["SE"])
    _facilitator(erin, "Any Heat", regions=[])

    # The queue: the open case for the facilitators covering DK and heat, anonymised before a claim.
    queue = carol.get("/api/v1/facilitation/queue").json()
    [case] = [c for c in queue["items"] if c["match_id"] == ids["match"]["id"]]
    assert case["status"] == "open" and case["country"] == "DK" and case["category"] == "heat"
    assert "supply" not in case and "Nordic" not in str(case) and case["distance_band"] == "1-5 km"
    assert dave.get("/api/v1/facilitation/queue").json()["total"] == 0  # Sweden only
    assert dave.post(f"/api/v1/facilitation/cases/{case['id']}/claim").status_code == 403
    assert bob.get("/api/v1/facilitation/queue").status_code == 403  # not a facilitator
    listed = alice.get("/api/v1/facilitators?country=DK&speciality=heat").json()["items"]
    assert {f["organization"] for f in listed} == {"Heat Brokers", "Any Heat"}

    # Carol claims it: the SLA runs, she sees both parties, the parties are told; Erin is too late.
    claimed = carol.post(f"/api/v1/facilitation/cases/{case['id']}/claim")
    assert claimed.status_code == 200, claimed.text
    c = claimed.json()
    assert c["status"] == "claimed" and c["facilitator"] == "Heat Brokers" and c["due_at"]
    assert c["supply"]["organization"] == "Nordic Energy Recovery"
    r = erin.post(f"/api/v1/facilitation/cases/{case['id']}/claim")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_open"
    notes = alice.get("/api/v1/users/me/notifications").json()["items"]
    assert any(n["title"] == "A facilitator takes on your match" for n in notes)

    # The SLA passes without a first step: one reminder to the facilitator's members, not two.
    with runtime.uow() as uow:
        later = utcnow() + timedelta(hours=2)
        assert service.remind_overdue(uow.session, now=later) == 1
        assert service.remind_overdue(uow.session, now=later) == 0
        uow.commit()
    assert any(n["kind"] == "facilitation" for n in carol.get("/api/v1/users/me/notifications").json()["items"])
    assert carol.get(f"/api/v1/facilitation/cases/{case['id']}").json()["overdue"] is False  # due in an hour, truly

    # She opens the proposal between the parties and carries it; its failure closes the case.
    r = carol.post(f"/api/v1/facilitation/cases/{case['id']}/proposal")
    assert r.status_code == 201, r.text
    proposal = r.json()
    assert proposal["my_role"] == "facilitator" and proposal["disclosure"] == "full" and proposal["status"] == "draft"
    pid = proposal["id"]
    assert bob.get(f"/api/v1/proposals/{pid}").json()["my_role"] == "receiver"
    for who, state in ((carol, "sent"), (bob, "accepted"), (carol, "in_negotiation"), (carol, "failed")):
        r = who.post(f"/api/v1/proposals/{pid}/status", json={"status": state})
        assert r.status_code == 200, r.text
    history = carol.get(f"/api/v1/proposals/{pid}").json()["history"]
    assert any(h["kind"] == "assignment" and "Heat Brokers" in (h["note"] or "") for h in history)
    closed = carol.get(f"/api/v1/facilitation/cases/{case['id']}").json()
    assert closed["status"] == "failed" and closed["outcome_reason"] == "the proposal failed"

    # Statistics per facilitator and per rule.
    stats = carol.get("/api/v1/facilitation/stats").json()
    [mine] = [f for f in stats["facilitators"] if f["organization_id"] == brokers["id"]]
    assert mine["failed"] == 1 and mine["success_rate"] == 0.0 and mine["reminded"] == 1
    [rule] = [r for r in stats["rules"] if r["rule"] == "large capital project"]
    assert rule["failed"] == 1
    assert bob.get("/api/v1/facilitation/stats").status_code == 403

    # The ranking learns: this kind of exchange failed once, so its score falls (x 0.96) and says why.
    again = alice.get(f"/api/v1/flows/{ids['heat']['id']}/matches").json()["matches"]
    [m] = [x for x in again if x["demand"]["flow_id"] == ids["need"]["id"]]
    assert m["outcomes"] == {"agreed": 0, "failed": 1, "factor": 0.96}
    assert m["score"] == pytest.approx(ids["match"]["score"] * 0.96, abs=2e-4)
    assert "1 failed" in m["explanation"]


def test_outcome_rules(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    ids = _heat(alice, bob)
    carol = Api(client, "carol@example.org")
    _facilitator(carol, "Heat Brokers")
    [case] = [c for c in carol.get("/api/v1/facilitation/queue").json()["items"] if c["match_id"] == ids["match"]["id"]]
    url = f"/api/v1/facilitation/cases/{case['id']}"
    assert carol.post(f"{url}/outcome", json={"outcome": "agreed"}).status_code == 409  # not claimed yet
    carol.post(f"{url}/claim")
    r = carol.post(f"{url}/outcome", json={"outcome": "failed"})
    assert r.status_code == 422 and "reason" in r.json()["error"]["message"]
    assert alice.post(f"{url}/outcome", json={"outcome": "agreed"}).status_code == 403  # not the facilitator
    assert carol.post(f"{url}/release").json()["status"] == "open"
    carol.post(f"{url}/claim")
    done = carol.post(f"{url}/outcome", json={"outcome": "agreed", "reason": "signed heads of terms"})
    assert done.status_code == 200 and done.json()["status"] == "agreed"
    again = alice.get(f"/api/v1/flows/{ids['heat']['id']}/matches").json()["matches"]
    [m] = [x for x in again if x["demand"]["flow_id"] == ids["need"]["id"]]
    assert m["outcomes"]["agreed"] == 1 and m["score"] > ids["match"]["score"]


def test_profiles_are_validated_and_owned(alice: Api, bob: Api) -> None:
    org = alice.organization("Brokers", kind="facilitator")
    url = f"/api/v1/organizations/{org['id']}/facilitator-profile"
    r = alice.client.put(url, headers=alice.headers, json={"regions": ["Atlantis"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "regions[0]"
    r = alice.client.put(url, headers=alice.headers, json={"specialities": ["unobtainium"]})
    assert r.status_code == 422 and "unobtainium" in r.json()["error"]["message"]
    assert alice.client.put(url, headers=alice.headers, json={"sla_hours": 0}).status_code == 422
    assert bob.client.put(url, headers=bob.headers, json={}).status_code == 403
    plain = alice.organization("Cement Co")
    r = alice.client.put(f"/api/v1/organizations/{plain['id']}/facilitator-profile", headers=alice.headers, json={})
    assert r.status_code == 422 and "facilitator" in r.json()["error"]["message"]
    ok = alice.client.put(url, headers=alice.headers, json={"regions": ["denmark", "SE"], "specialities": ["heat"]})
    assert ok.status_code == 200 and ok.json()["regions"] == ["DK", "SE"]
    assert bob.get(url).json()["specialities"] == ["heat"]  # profiles are public


def test_a_party_assigns_a_facilitator_to_its_proposal(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    from tests.proposals.test_endpoints import _proposal

    proposal, _ = _proposal(alice, bob)
    carol = Api(client, "carol@example.org")
    brokers = _facilitator(carol, "Ash Brokers", specialities=[])
    url = f"/api/v1/proposals/{proposal['id']}"
    assert carol.get(url).status_code == 403
    plain = bob.organization("Not A Facilitator")
    assert alice.post(f"{url}/facilitator", json={"organization_id": plain["id"]}).status_code == 422
    r = alice.post(f"{url}/facilitator", json={"organization_id": brokers["id"]})
    assert r.status_code == 200, r.text
    seen = carol.get(url).json()
    assert seen["my_role"] == "facilitator" and seen["disclosure"] == "full"
    assert carol.post(f"{url}/facilitator", json={"organization_id": None}).status_code == 403
    assert any(h["kind"] == "assignment" for h in seen["history"])


def test_outcome_factor() -> None:
    assert Outcome(0, 0).factor == pytest.approx(1.0)
    assert Outcome(0, 1).factor == pytest.approx(0.8 + 0.4 * 2 / 5)
    assert Outcome(50, 0).factor == pytest.approx(0.8 + 0.4 * 52 / 54)
    assert 0.8 < Outcome(0, 100).factor < Outcome(1, 1).factor < Outcome(100, 0).factor < 1.2
