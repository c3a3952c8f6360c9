"""Inbound webhooks: signed deliveries go in once; unsigned, forged, stale and replayed ones are refused."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Api
from turash.notifications.webhooks import sign


def _source(api: Api, kind: str = "readings") -> tuple[str, dict[str, Any]]:
    org = api.organization("Gateway Co")
    r = api.post(f"/api/v1/organizations/{org['id']}/inbound-webhooks", json={"name": "SCADA gateway", "kind": kind})
    assert r.status_code == 201, r.text
    return org["id"], r.json()


def _deliver(
    client: TestClient,
    source: dict[str, Any],
    body: Any,
    *,
    delivery: str = "d-1",
    stamp: int | None = None,
    secret: str | None = None,
) -> Any:
    raw = json.dumps(body).encode()
    ts = str(int(time.time()) if stamp is None else stamp)
    headers = {
        "Content-Type": "application/json",
        "X-Turash-Timestamp": ts,
        "X-Turash-Signature": sign(secret or source["secret"], ts, raw),
        "X-Turash-Delivery": delivery,
    }
    return client.post(source["url"], content=raw, headers=headers)


READINGS = {"readings": [{"meter": "m1", "ts": "2026-11-02T10:00:00+00:00", "value": 36.0}]}


def test_a_signed_delivery_goes_in_once_and_a_replay_is_refused(alice: Api, client: TestClient) -> None:
    org_id, source = _source(alice)
    alice.post(f"/api/v1/organizations/{org_id}/meters", json={"name": "m1", "quantity": "flow_rate", "unit": "m3/h"})
    r = _deliver(client, source, READINGS)
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["delivery"]) == (1, "d-1")
    again = _deliver(client, source, READINGS)
    assert again.status_code == 409 and again.json()["error"]["code"] == "webhook_replayed"
    # the same readings under a new delivery id are recognised as duplicates, not stored twice
    other = _deliver(client, source, READINGS, delivery="d-2")
    assert (other.json()["stored"], other.json()["duplicates"]) == (0, 1)
    listed = alice.get(f"/api/v1/organizations/{org_id}/inbound-webhooks").json()["items"]
    assert listed[0]["last_received_at"] is not None and "secret" not in listed[0]


def test_forged_unsigned_and_stale_deliveries_are_refused(alice: Api, client: TestClient) -> None:
    _, source = _source(alice)
    forged = _deliver(client, source, READINGS, secret="not-the-secret")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "webhook_bad_signature"
    stale = _deliver(client, source, READINGS, stamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "webhook_stale"
    bare = client.post(source["url"], json=READINGS)
    assert bare.status_code == 401 and "X-Turash-Signature" in bare.json()["error"]["message"]
    # a body changed after signing no longer verifies
    ts = str(int(time.time()))
    headers = {
        "X-Turash-Timestamp": ts,
        "X-Turash-Signature": sign(source["secret"], ts, b'{"readings": []}'),
        "X-Turash-Delivery": "x",
    }
    tampered = client.post(source["url"], content=json.dumps(READINGS).encode(), headers=headers)
    assert tampered.status_code == 401
    unknown = client.post("/api/v1/ingest/webhooks/nope", json={})
    assert unknown.status_code == 401 and "unknown webhook source" in unknown.json()["error"]["message"]


def test_a_bad_body_is_refused_with_where_and_can_be_resent(alice: Api, client: TestClient) -> None:
    org_id, source = _source(alice)
    r = _deliver(client, source, {"readings": [{"meter": "m1", "value": "x"}]})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"readings.0.ts", "readings.0.value"} <= fields, fields
    raw = b'{"readings": ['
    ts = str(int(time.time()))
    headers = {
        "X-Turash-Timestamp": ts,
        "X-Turash-Signature": sign(source["secret"], ts, raw),
        "X-Turash-Delivery": "j",
    }
    broken = client.post(source["url"], content=raw, headers=headers)
    assert broken.status_code == 422 and "line 1" in broken.json()["error"]["message"]
    # a refused delivery left no receipt: fixed, it is accepted under the same id
    alice.post(f"/api/v1/organizations/{org_id}/meters", json={"name": "m1", "quantity": "flow_rate", "unit": "m3/h"})
    assert _deliver(client, source, READINGS).status_code == 200


def test_rotating_the_secret_invalidates_the_old_one_and_only_admins_manage_sources(
    alice: Api, bob: Api, client: TestClient
) -> None:
    org_id, source = _source(alice)
    rotated = alice.post(f"/api/v1/organizations/{org_id}/inbound-webhooks/{source['id']}/rotate").json()
    assert rotated["secret"] != source["secret"]
    assert _deliver(client, source, READINGS).status_code == 401
    assert bob.get(f"/api/v1/organizations/{org_id}/inbound-webhooks").status_code in (403, 404)
    r = bob.post(f"/api/v1/organizations/{org_id}/inbound-webhooks", json={"name": "x", "kind": "readings"})
    assert r.status_code in (403, 404)
