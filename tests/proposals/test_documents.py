"""Documents attached to a proposal; the other party's people are not named before the named stage; match listings
give the distance to an anonymous party in whole kilometres."""

from __future__ import annotations

import hashlib

from tests.conftest import Api
from tests.matching.test_endpoints import _setup
from tests.proposals.test_endpoints import _proposal


def test_documents_are_attached_listed_and_downloaded_by_the_parties(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    proposal, _ = _proposal(alice, bob)
    url = f"/api/v1/proposals/{proposal['id']}/documents"
    content = b"%PDF-1.4 ash analysis: LOI 3.1 %, SiO2 52 %"
    r = alice.post(url, files={"file": ("ash análisis.pdf", content, "application/pdf")}, data={"description": "XRF"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["file_name"] == "ash análisis.pdf" and doc["size"] == len(content)
    assert doc["sha256"] == hashlib.sha256(content).hexdigest() and doc["description"] == "XRF"
    seen = bob.get(f"/api/v1/proposals/{proposal['id']}").json()
    [listed] = seen["documents"]
    assert listed["id"] == doc["id"] and listed["actor"] == "the other party"  # Alice is not named to Bob yet
    assert any(h["kind"] == "document" for h in seen["history"])
    got = bob.get(f"{url}/{doc['id']}")
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert any(
        n["title"] == "New document on a proposal" for n in bob.get("/api/v1/users/me/notifications").json()["items"]
    )
    outsider = Api(client, "eve@example.org")
    assert outsider.get(f"{url}/{doc['id']}").status_code == 403
    assert alice.get(f"{url}/nope").status_code == 404
    empty = alice.post(url, files={"file": ("empty.txt", b"", "text/plain")})
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    assert alice.post(url, data={"description": "no file"}).status_code == 422


def test_the_other_partys_people_are_not_named_before_the_nda(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    alice.post(f"/api/v1/proposals/{pid}/comments", json={"body": "Samples next week?"})
    early = bob.get(f"/api/v1/proposals/{pid}").json()
    assert {h["actor"] for h in early["history"]} == {"the other party"}
    assert early["comments"][0]["actor"] == "the other party" and alice.email not in str(early)
    assert alice.get(f"/api/v1/proposals/{pid}").json()["comments"][0]["actor"] == f"user:{alice.email}"
    bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted"})
    bob.post(f"/api/v1/proposals/{pid}/nda", json={})
    named = bob.get(f"/api/v1/proposals/{pid}").json()
    assert named["comments"][0]["actor"] == f"user:{alice.email}"


def test_listings_round_the_distance_to_an_anonymous_party(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    [m] = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"]
    assert m["demand"]["organization"] == "private organisation"
    assert m["distance_km"] == float(round(m["distance_km"])) == 3.0
    assert "about 3 km apart" in m["explanation"] and "2.9 km" not in m["explanation"]
