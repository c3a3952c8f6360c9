"""Data-quality score and the actions that raise it: each action's stated gain is what following it yields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from turash.ingestion.quality import WEIGHTS
from turash.models import ResourceFlow
from turash.models.base import utcnow


def _quality(api: Api, org_id: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/organizations/{org_id}/data-quality")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_following_an_action_raises_the_score_by_its_stated_gain(alice: Api) -> None:
    org = alice.organization("Thisted Dairy")
    site = alice.site(org["id"], "Dairy", 56.95, 8.69)
    flow = alice.flow(site["id"], resource="waste heat from pasteurisers", quantity=3, unit="GWh/yr", schedule="24/7")
    before = _quality(alice, org["id"])
    kinds = {a["action"] for a in before["actions"]}
    assert {"add_temperature", "connect_meter"} <= kinds, before["actions"]
    assert before["per_flow"][0]["missing"] == ["temperature_c"]
    gain = next(a["gain"] for a in before["actions"] if a["action"] == "add_temperature")
    assert gain == pytest.approx(WEIGHTS["completeness"] / 3, abs=1e-3)  # quantity, schedule, temperature
    r = alice.patch(f"/api/v1/flows/{flow['id']}", json={"temperature_c": 75})
    assert r.status_code == 200, r.text
    after = _quality(alice, org["id"])
    assert after["score"] == pytest.approx(before["score"] + gain, abs=2e-3)
    assert "add_temperature" not in {a["action"] for a in after["actions"]}


def test_a_metered_flow_loses_the_meter_action_and_scores_higher(alice: Api) -> None:
    org = alice.organization("Metered Co")
    site = alice.site(org["id"], "Plant", 55.0, 11.0)
    flow = alice.flow(site["id"], resource="waste heat", quantity=1, unit="MW", temperature_c=80, schedule="24/7")
    before = _quality(alice, org["id"])
    meter = {"name": "hx", "quantity": "power", "unit": "kW", "flow_id": flow["id"]}
    assert alice.post(f"/api/v1/organizations/{org['id']}/meters", json=meter).status_code == 201
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    readings = [{"meter": "hx", "ts": (start + timedelta(hours=i)).isoformat(), "value": 900.0} for i in range(30)]
    assert alice.post(f"/api/v1/organizations/{org['id']}/readings", json={"readings": readings}).status_code == 200
    after = _quality(alice, org["id"])
    assert after["measured_share"] == 1.0 and after["score"] > before["score"]
    assert "connect_meter" not in {a["action"] for a in after["actions"]}
    assert after["per_flow"][0]["parts"]["precision"] == 1.0


def test_stale_and_empty_organisations_are_told_what_to_do(alice: Api, bob: Api, runtime: Any) -> None:
    empty = alice.organization("Empty Ltd")
    q = _quality(alice, empty["id"])
    assert q["score"] == 0.0 and q["actions"][0]["action"] == "add_flows"
    org = alice.organization("Old Data Ltd")
    site = alice.site(org["id"], "Yard", 55.0, 11.0)
    flow = alice.flow(site["id"], resource="fly ash", quantity=500, unit="t/yr")
    with runtime.uow() as uow:
        stored = uow.session.get(ResourceFlow, flow["id"])
        assert stored is not None
        stored.updated_at = utcnow() - timedelta(days=3 * 365)
        uow.session.flush()
        uow.commit()
    q = _quality(alice, org["id"])
    assert q["per_flow"][0]["parts"]["freshness"] == pytest.approx(0.3, abs=0.01)
    assert "confirm" in {a["action"] for a in q["actions"]}
    assert {"add_ewc", "add_price", "add_schedule"} <= set(q["per_flow"][0]["missing"]) | {
        a["action"] for a in q["actions"]
    }
    assert bob.get(f"/api/v1/organizations/{org['id']}/data-quality").status_code in (403, 404)
