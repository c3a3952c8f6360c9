"""Proposals per the REST contract (contract/api.md): states, 409 with the allowed next states, the audit trail,
who may move which state, staged disclosure, comments, notifications."""

from tests.conftest import Api
from tests.matching.test_endpoints import _setup


def _proposal(alice: Api, bob: Api) -> tuple[dict, dict]:  # type: ignore[type-arg]
    ids = _setup(alice, bob)  # Alice's power station supplies fly ash; Bob's cement works needs it
    match = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"][0]
    r = alice.post("/api/v1/proposals", json={"match_id": match["id"]})
    assert r.status_code == 201, r.text
    return r.json(), ids


def test_contract_walkthrough_to_implemented(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    assert proposal["status"] == "draft" and proposal["my_role"] == "proposer"
    assert proposal["allowed"] == ["sent"] and proposal["allowed_for_me"] == ["sent"]
    steps = [(alice, "sent"), (bob, "accepted"), (alice, "in_negotiation"), (bob, "agreed"), (alice, "implemented")]
    for who, state in steps:
        r = who.post(f"/api/v1/proposals/{pid}/status", json={"status": state, "note": f"to {state}"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == state
    history = bob.get(f"/api/v1/proposals/{pid}").json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "draft"),
        ("draft", "sent"),
        ("sent", "accepted"),
        ("accepted", "in_negotiation"),
        ("in_negotiation", "agreed"),
        ("agreed", "implemented"),
    ]
    assert history[2]["actor"] == f"user:{bob.email}" and history[2]["note"] == "to accepted"


def test_illegal_transition_is_409_with_the_allowed_states(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    r = alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "agreed"})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "illegal_transition" and error["details"]["allowed"] == ["sent"]
    r = alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "teleported"})
    assert r.status_code == 422


def test_who_may_move_which_state(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    assert bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"}).status_code == 403
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    r = alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted"})
    assert r.status_code == 403 and r.json()["error"]["details"]["allowed_for_you"] == ["withdrawn"]
    assert bob.get(f"/api/v1/proposals/{pid}").json()["allowed_for_me"] == ["accepted", "rejected"]
    assert bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "rejected"}).status_code == 200
    r = alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    assert r.status_code == 409 and r.json()["error"]["details"]["allowed"] == []


def test_outsiders_see_nothing(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    proposal, _ = _proposal(alice, bob)
    eve = Api(client, "eve@example.org")
    assert eve.get(f"/api/v1/proposals/{proposal['id']}").status_code == 403
    assert eve.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "sent"}).status_code == 403
    assert eve.get("/api/v1/proposals").json()["total"] == 0
    assert eve.post("/api/v1/proposals", json={"match_id": proposal["match_id"]}).status_code == 403
    assert alice.get("/api/v1/proposals/nope").status_code == 404
    assert alice.post("/api/v1/proposals", json={"match_id": "not-a-match"}).status_code == 422
    assert alice.post("/api/v1/proposals", json={}).status_code == 422


def test_one_open_proposal_per_match(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    r = alice.post("/api/v1/proposals", json={"match_id": proposal["match_id"]})
    assert r.status_code == 409 and r.json()["error"]["details"]["proposal_id"] == proposal["id"]


def test_staged_disclosure(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    seen = bob.get(f"/api/v1/proposals/{pid}").json()
    assert seen["disclosure"] == "anonymous"
    assert seen["supply"]["organization"] is None and "Nordic Power" not in str(seen)
    assert seen["supply"]["sector"] is None or isinstance(seen["supply"]["sector"], str)
    assert seen["supply"]["quantity_band"] == "10000-100000 t/yr" and seen["distance_km"] is None
    assert "location" not in seen["supply"] and seen["demand"]["organization"] == "Baltic Cement"  # own side
    bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted"})
    assert bob.get(f"/api/v1/proposals/{pid}").json()["disclosure"] == "anonymous"  # no NDA yet
    assert alice.post(f"/api/v1/proposals/{pid}/nda", json={"note": "NDA signed 2026-11-20"}).status_code == 200
    named = bob.get(f"/api/v1/proposals/{pid}").json()
    assert named["disclosure"] == "named" and named["supply"]["organization"] == "Nordic Power"
    assert named["supply"]["contacts"] == [{"name": alice.email, "email": alice.email}]
    assert "flow" not in named["supply"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "in_negotiation"})
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "agreed"})
    full = bob.get(f"/api/v1/proposals/{pid}").json()
    assert full["disclosure"] == "full" and full["supply"]["flow"]["quantity"] == 40000
    assert full["supply"]["location"]["lat"] == 55.0


def test_nda_only_after_acceptance(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    r = alice.post(f"/api/v1/proposals/{proposal['id']}/nda", json={})
    assert r.status_code == 409


def test_comments_and_notifications(alice: Api, bob: Api) -> None:
    for who in (alice, bob):  # only the proposal's notifications here (no new-match notices)
        who.client.put("/api/v1/users/me/preferences", headers=who.headers, json={"muted_kinds": ["match"]})
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    assert alice.post(f"/api/v1/proposals/{pid}/comments", json={"body": "Can you take 20 kt?"}).status_code == 201
    assert bob.get(f"/api/v1/proposals/{pid}").json()["comments"][0]["body"] == "Can you take 20 kt?"
    inbox = bob.get("/api/v1/users/me/notifications?unread=true").json()
    assert inbox["total"] == 2 and {n["data"]["proposal_id"] for n in inbox["items"]} == {pid}
    assert alice.get("/api/v1/users/me/notifications").json()["total"] == 0  # not notified of her own actions
    first = inbox["items"][0]["id"]
    assert bob.post(f"/api/v1/users/me/notifications/{first}/read").status_code == 204
    assert bob.get("/api/v1/users/me/notifications?unread=true").json()["total"] == 1
    assert alice.post(f"/api/v1/users/me/notifications/{first}/read").status_code == 404
    listed = bob.get("/api/v1/proposals").json()
    assert listed["total"] == 1 and listed["items"][0]["my_role"] == "receiver"


def test_events_are_published_after_commit(alice: Api, bob: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    seen = []
    runtime.bus.subscribe("proposal.status_changed", seen.append)
    proposal, _ = _proposal(alice, bob)
    alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "sent"})
    assert [e.payload["to"] for e in seen] == ["sent"]


def test_match_listings_hide_private_counterparts_until_named(alice: Api, bob: Api) -> None:
    proposal, ids = _proposal(alice, bob)
    url = f"/api/v1/flows/{ids['need']['id']}/matches"
    [seen] = bob.get(url).json()["matches"]
    assert seen["supply"]["organization"] == "private organisation" and seen["supply"]["site"] == ""
    assert "Nordic Power" not in seen["explanation"]
    [own] = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"]
    assert own["supply"]["organization"] == "Nordic Power"  # her own side
    assert own["demand"]["organization"] == "private organisation"
    pid = proposal["id"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted"})
    bob.post(f"/api/v1/proposals/{pid}/nda", json={})
    [named] = bob.get(url).json()["matches"]
    assert named["supply"]["organization"] == "Nordic Power"
