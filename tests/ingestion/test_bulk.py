"""Bulk jobs, uploads and the quarantine round trip (list → correct → replay) through the REST API, scoped to
the organisation."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Api


def _record(**over: Any) -> dict[str, Any]:
    return {
        "site": "Kiln",
        "lat": 57.05,
        "lon": 9.92,
        "direction": "supply",
        "resource": "fly ash",
        "quantity": 12000,
        "unit": "t/yr",
        **over,
    }


def test_a_bulk_job_imports_the_good_records_and_quarantines_the_bad_with_per_record_results(alice: Api) -> None:
    org = alice.organization("Aalborg Portland")
    records = [_record(), _record(resource="gypsum", unit="parsecs"), _record(resource="slag", quantity=300)]
    r = alice.post(f"/api/v1/organizations/{org['id']}/bulk/flows", json={"records": records})
    assert r.status_code == 202, r.text
    job = alice.get(f"/api/v1/organizations/{org['id']}/jobs/{r.json()['id']}").json()
    assert job["status"] == "done"
    assert job["counts"] == {"records": 3, "imported": 2, "skipped": 0, "quarantined": 1}
    assert [x["status"] for x in job["results"]] == ["accepted", "quarantined", "accepted"]
    assert job["results"][1]["errors"][0]["column"] == "unit"
    flows = alice.get(f"/api/v1/flows?organization_id={org['id']}").json()
    assert sorted(f["resource"] for f in flows["items"]) == ["fly ash", "slag"]
    assert {f["organization"] for f in flows["items"]} == {"Aalborg Portland"}


def test_the_same_idempotency_key_returns_the_first_job_and_imports_once(alice: Api) -> None:
    org = alice.organization("Once Ltd")
    url = f"/api/v1/organizations/{org['id']}/bulk/flows"
    first = alice.client.post(url, json={"records": [_record()]}, headers={**alice.headers, "Idempotency-Key": "k1"})
    again = alice.client.post(url, json={"records": [_record()]}, headers={**alice.headers, "Idempotency-Key": "k1"})
    assert first.json()["id"] == again.json()["id"]
    other = alice.client.post(
        url, json={"records": [_record(resource="slag")]}, headers={**alice.headers, "Idempotency-Key": "k1"}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    # without a key, the same records again are recognised as already present
    r = alice.post(url, json={"records": [_record()]})
    job = alice.get(f"/api/v1/organizations/{org['id']}/jobs/{r.json()['id']}").json()
    assert job["counts"]["skipped"] == 1 and job["counts"]["imported"] == 0
    assert alice.get(f"/api/v1/flows?organization_id={org['id']}").json()["total"] == 1


def test_an_api_import_cannot_write_into_another_organisation(alice: Api, bob: Api) -> None:
    victim = bob.organization("Victim Steel")
    mine = alice.organization("Alice Works")
    r = alice.post(f"/api/v1/organizations/{victim['id']}/bulk/flows", json={"records": [_record()]})
    assert r.status_code in (403, 404)
    r = alice.post(
        f"/api/v1/organizations/{mine['id']}/bulk/flows", json={"records": [_record(organization="Victim Steel")]}
    )
    job = alice.get(f"/api/v1/organizations/{mine['id']}/jobs/{r.json()['id']}").json()
    assert job["counts"]["quarantined"] == 1 and "this import is for 'Alice Works'" in json.dumps(job["results"])
    assert bob.get(f"/api/v1/flows?organization_id={victim['id']}").json()["total"] == 0


def test_upload_with_foreign_headers_and_a_saved_mapping(alice: Api) -> None:
    org = alice.organization("Brauerei Nord")
    csv = (
        "Standort;Breitengrad;Längengrad;Richtung;Ressource;Menge;Einheit\nSudhaus;53,55;9,99;supply;Treber;4000;t/yr\n"
    )
    mapping = {
        "Standort": "site",
        "Breitengrad": "lat",
        "Längengrad": "lon",
        "Richtung": "direction",
        "Ressource": "resource",
        "Menge": "quantity",
        "Einheit": "unit",
    }
    url = f"/api/v1/organizations/{org['id']}/imports/flows"
    files = {"file": ("export.csv", csv.encode(), "text/csv")}
    r = alice.post(url, files=files, data={"source": "SAP", "mapping": json.dumps(mapping)})
    assert r.status_code == 200, r.text
    assert (r.json()["imported"], r.json()["quarantined"]) == (1, 0)
    # the next file from the same source maps itself
    csv2 = csv.replace("Treber", "Hefe").replace("4000", "300")
    r = alice.post(url, files={"file": ("export2.csv", csv2.encode(), "text/csv")}, data={"source": "SAP"})
    assert r.json()["imported"] == 1, r.json()
    suggested = alice.post(
        "/api/v1/imports/suggest-mapping", files={"file": ("x.csv", csv.encode(), "text/csv")}
    ).json()
    assert suggested["mapping"].get("Menge") == "quantity" and suggested["mapping"].get("Einheit") == "unit"


def test_a_quarantined_record_is_corrected_and_replayed_into_the_organisation(alice: Api, bob: Api) -> None:
    org = alice.organization("Fixit ApS")
    r = alice.post(f"/api/v1/organizations/{org['id']}/bulk/flows", json={"records": [_record(unit="parsecs")]})
    job = alice.get(f"/api/v1/organizations/{org['id']}/jobs/{r.json()['id']}").json()
    qid = job["results"][0]["quarantine_id"]
    listed = alice.get("/api/v1/quarantine?kind=flows").json()
    assert qid in {q["id"] for q in listed["items"]}
    assert qid not in {q["id"] for q in bob.get("/api/v1/quarantine").json()["items"]}
    assert bob.post(f"/api/v1/quarantine/{qid}/replay").status_code == 404
    still = alice.post(f"/api/v1/quarantine/{qid}/replay").json()
    assert still["resolved"] is False and still["row"]["replays"] == 1 and "parsecs" in still["row"]["reason"]
    assert alice.patch(f"/api/v1/quarantine/{qid}", json={"raw": {"unit": "t/yr"}}).status_code == 200
    done = alice.post(f"/api/v1/quarantine/{qid}/replay").json()
    assert done["resolved"] is True and done["row"]["resolution"] == "imported"
    assert alice.get(f"/api/v1/flows?organization_id={org['id']}").json()["total"] == 1
    assert alice.post(f"/api/v1/quarantine/{qid}/replay").status_code == 409
    assert qid not in {q["id"] for q in alice.get("/api/v1/quarantine").json()["items"]}
    assert qid in {q["id"] for q in alice.get("/api/v1/quarantine?include_resolved=true").json()["items"]}


def test_a_quarantined_reading_is_replayed_once_its_meter_exists(alice: Api) -> None:
    org = alice.organization("Late Meter Co")
    readings = [{"meter": "m9", "ts": "2026-11-02T10:00:00+00:00", "value": 5.0}]
    body = alice.post(f"/api/v1/organizations/{org['id']}/readings", json={"readings": readings}).json()
    assert body["quarantined"] == 1
    [row] = alice.get("/api/v1/quarantine?kind=readings").json()["items"]
    assert alice.post(f"/api/v1/quarantine/{row['id']}/replay").json()["resolved"] is False
    meter = {"name": "m9", "quantity": "power", "unit": "kW"}
    assert alice.post(f"/api/v1/organizations/{org['id']}/meters", json=meter).status_code == 201
    assert alice.post(f"/api/v1/quarantine/{row['id']}/replay").json()["resolved"] is True
    r = alice.post(f"/api/v1/quarantine/{row['id']}/dismiss", json={"reason": "done already"})
    assert r.status_code == 409
