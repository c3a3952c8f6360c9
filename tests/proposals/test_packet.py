"""Partner packets: staged disclosure in the packet as in the proposal, economics, next steps, templates; JSON,
HTML and PDF; access as for the proposal or the match."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.conftest import Api
from tests.proposals.test_endpoints import _proposal


def _pdf_text(content: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages)


def test_packet_follows_the_disclosure_stages(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    early = bob.get(f"/api/v1/proposals/{pid}/packet")
    assert early.status_code == 200, early.text
    p = early.json()
    assert p["disclosure"] == "anonymous" and p["my_role"] == "receiver"
    supply = p["supply"]  # Alice's side, seen by Bob
    assert supply["organization"] is None and "site" not in supply and "contacts" not in supply
    assert "sector" in supply and supply["quantity_band"] and supply["distance_band"]
    assert p["distance_km"] is None and all("reasons" not in v for v in p["economics"]["risk"].values())
    assert p["demand"]["organization"] == "Baltic Cement"  # his own side, in full
    assert "Nordic Power" not in early.text and "Unit 2" not in early.text  # nowhere, not even in the templates
    assert p["templates"]["nda"][0]["text"].startswith("[Supplier] and Baltic Cement")
    assert any("Accept the proposal" in s for s in p["next_steps"])
    html = bob.get(f"/api/v1/proposals/{pid}/packet?format=html").text
    assert "Nordic Power" not in html and "TEMPLATE" in html and "<script" not in html

    bob.post(f"/api/v1/proposals/{pid}/status", json={"status": "accepted"})
    bob.post(f"/api/v1/proposals/{pid}/nda", json={"note": "signed 2026-12-01"})
    named = bob.get(f"/api/v1/proposals/{pid}/packet").json()
    assert named["disclosure"] == "named" and named["supply"]["organization"] == "Nordic Power"
    assert named["supply"]["contacts"] == [{"name": alice.email, "email": alice.email}]
    assert "flow" not in named["supply"]  # full flow data only after agreement
    assert named["templates"]["nda"][0]["text"].startswith("Nordic Power and Baltic Cement")
    assert all("reasons" in v for v in named["economics"]["risk"].values())

    for state in ("in_negotiation", "agreed"):
        bob.post(f"/api/v1/proposals/{pid}/status", json={"status": state})
    full = bob.get(f"/api/v1/proposals/{pid}/packet").json()
    assert full["disclosure"] == "full" and full["supply"]["flow"]["ewc_code"] == "100102"
    clauses = {c["clause"]: c["text"] for c in full["templates"]["supply_agreement"]}
    band = full["economics"]["price_band"]
    assert f"{band['low']:,.2f} and {band['high']:,.2f} {band['unit']}" in clauses["Price"]
    assert "EWC 100102" in clauses["Waste status and permits"]
    assert "About 40000 t/yr available, 25000 t/yr needed" in clauses["Quantity"]


def test_packet_as_pdf(alice: Api, bob: Api) -> None:
    proposal, _ = _proposal(alice, bob)
    r = alice.get(f"/api/v1/proposals/{proposal['id']}/packet?format=pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert f'filename="partner-packet-{proposal["id"]}.pdf"' in r.headers["content-disposition"]
    text = _pdf_text(r.content)
    for expected in ("Partner packet", "Template: mutual non-disclosure agreement", "TEMPLATE", "Nordic Power"):
        assert expected in text, expected
    assert "Baltic Cement" not in text  # Alice has not been told who the receiver is
    assert alice.get(f"/api/v1/proposals/{proposal['id']}/packet?format=doc").status_code == 422


def test_match_packet_before_any_proposal(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    from tests.matching.test_endpoints import _setup

    ids = _setup(alice, bob)
    match = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"][0]
    r = alice.get(f"/api/v1/matches/{match['id']}/packet")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["kind"] == "match" and p["supply"]["organization"] == "Nordic Power" and "flow" in p["supply"]
    assert p["disclosure"] == "anonymous"  # the other side is
    assert p["demand"]["organization"] is None and "Baltic Cement" not in r.text
    assert p["economics"]["computable"] and p["economics"]["price_band"]
    assert any("Propose the match" in s for s in p["next_steps"])
    assert Api(client, "eve@example.org").get(f"/api/v1/matches/{match['id']}/packet").status_code == 403


def test_packet_access_is_the_proposals(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    proposal, _ = _proposal(alice, bob)
    assert Api(client, "mallory@example.org").get(f"/api/v1/proposals/{proposal['id']}/packet").status_code == 403
    assert alice.get("/api/v1/proposals/nope/packet").status_code == 404
