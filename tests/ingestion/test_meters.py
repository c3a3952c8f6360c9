"""Meters and readings through the REST API: SI conversion, idempotency, quarantine, rollups, the flow they measure
(quantity, profile, precision) and the re-match announcement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from turash.kit.bus import DomainEvent
from turash.models import MeterReading, QuarantinedRow, ReadingRollup

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def _setup(api: Api) -> tuple[str, dict[str, Any]]:
    org = api.organization("Aalborg Heat Works")
    site = api.site(org["id"], "Boiler house", 57.05, 9.92)
    flow = api.flow(site["id"], resource="waste heat, hot water", quantity=2, unit="MW", temperature_c=80)
    return org["id"], flow


def _meter(api: Api, org_id: str, **body: Any) -> dict[str, Any]:
    r = api.post(f"/api/v1/organizations/{org_id}/meters", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _hours(meter: str, values: list[float], start: datetime = START, unit: str | None = None) -> list[dict[str, Any]]:
    return [
        {"meter": meter, "ts": (start + timedelta(hours=i)).isoformat(), "value": v, **({"unit": unit} if unit else {})}
        for i, v in enumerate(values)
    ]


def test_a_day_of_power_readings_makes_the_flow_measured_and_announces_a_rematch(alice: Api, runtime: Any) -> None:
    seen: list[DomainEvent] = []
    runtime.bus.subscribe("flow.remeasured", seen.append)
    org_id, flow = _setup(alice)
    meter = _meter(alice, org_id, name="hx-1", quantity="power", unit="kW", flow_id=flow["id"])
    assert meter["si_unit"] == "W"
    # 1.5 MW by day (06-18 h), 1.0 MW at night: mean 1.25 MW, 37.5 % below the declared 2 MW
    values = [1500.0 if 6 <= i % 24 < 18 else 1000.0 for i in range(48)]
    r = alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": _hours("hx-1", values)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["stored"], body["duplicates"], body["quarantined"]) == (48, 48, 0, 0)
    [refresh] = body["flows_refreshed"]
    assert refresh["rematch"] is True and refresh["relative_change"] == pytest.approx(0.375)
    got = alice.get(f"/api/v1/flows/{flow['id']}").json()
    assert got["precision"] == "measured"
    assert got["quantity"] == pytest.approx(1.25) and got["unit"] == "MW"
    assert got["quantity_si"] == pytest.approx(1.25e6)
    # the new columns are not in FlowRead yet: read the profile from the database
    with runtime.uow() as uow:
        from turash.models import ResourceFlow

        stored = uow.session.get(ResourceFlow, flow["id"])
        assert stored is not None
        profile = stored.availability_profile
    assert profile["hours"] == 48 and profile["uptime"] == 1.0
    assert profile["hourly"][12] == pytest.approx(1.2) and profile["hourly"][2] == pytest.approx(0.8)
    assert profile["monthly"][10] == pytest.approx(1.0) and profile["monthly"][0] is None
    assert [e.payload["flow_id"] for e in seen] == [flow["id"]]
    with runtime.uow() as uow:
        from turash.models import MatchRun

        runs = uow.session.scalars(sa.select(MatchRun).where(MatchRun.trigger == "meter")).all()
        assert len(runs) == 1 and runs[0].params["flow_id"] == flow["id"], [r.params for r in runs]


def test_a_reading_sent_twice_is_stored_once(alice: Api, runtime: Any) -> None:
    org_id, _ = _setup(alice)
    meter = _meter(alice, org_id, name="m", quantity="flow_rate", unit="m3/h")
    batch = {"readings": _hours("m", [36.0, 72.0, 36.0])}
    first = alice.post(f"/api/v1/organizations/{org_id}/readings", json=batch).json()
    again = alice.post(f"/api/v1/organizations/{org_id}/readings", json=batch).json()
    assert (first["stored"], first["duplicates"]) == (3, 0)
    assert (again["stored"], again["duplicates"]) == (0, 3)
    with runtime.uow() as uow:
        values = uow.session.scalars(
            sa.select(MeterReading.value_si).where(MeterReading.meter_id == meter["id"]).order_by(MeterReading.ts)
        ).all()
    assert values == pytest.approx([0.01, 0.02, 0.01])  # 36 m3/h = 0.01 m3/s


def test_bad_readings_are_quarantined_with_the_reason_and_the_good_ones_go_in(alice: Api, runtime: Any) -> None:
    org_id, _ = _setup(alice)
    _meter(alice, org_id, name="t", quantity="temperature", unit="degF")
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    readings = [
        {"meter": "t", "ts": START.isoformat(), "value": 212.0},  # 100 °C
        {"meter": "nope", "ts": START.isoformat(), "value": 1.0},
        {"meter": "t", "ts": START.isoformat(), "value": 1.0, "unit": "kg"},
        {"meter": "t", "ts": future, "value": 50.0},
    ]
    body = alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": readings}).json()
    assert (body["stored"], body["quarantined"]) == (1, 3)
    reasons = {p["column"]: p["reason"] for p in body["problems"]}
    assert "no meter named 'nope'" in reasons["meter"]
    assert "'kg' is not a temperature unit" in reasons["unit"]
    assert "in the future" in reasons["ts"]
    with runtime.uow() as uow:
        kept = uow.session.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.kind == "readings")).all()
        value = uow.session.scalar(sa.select(MeterReading.value_si))
    assert len(kept) == 3 and {q.raw["meter"] for q in kept} == {"nope", "t"}
    assert value == pytest.approx(100.0)


def test_malformed_requests_get_clear_errors(alice: Api) -> None:
    org_id, _ = _setup(alice)
    r = alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": [{"meter": "m", "ts": "2026-01-01"}]})
    assert r.status_code == 422
    error = r.json()["error"]
    # where: the reading's index and field; what: a missing value and a time without a time zone
    assert error["code"] == "validation_error"
    where = {d["field"] for d in error["details"]}
    assert {"readings.0.value", "readings.0.ts"} <= where, where
    r = alice.post(f"/api/v1/organizations/{org_id}/meters", json={"name": "x", "quantity": "power", "unit": "m3/h"})
    assert r.status_code == 422 and "'m3/h' is not a power unit" in r.json()["error"]["message"]


def test_an_energy_counter_gives_the_mean_power(alice: Api) -> None:
    org_id, flow = _setup(alice)
    _meter(alice, org_id, name="kwh", quantity="energy", unit="kWh", flow_id=flow["id"])
    counter = [1000.0 * i for i in range(25)]  # +1,000 kWh every hour = 1 MW
    body = alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": _hours("kwh", counter)}).json()
    assert body["flows_refreshed"][0]["measured_si"] == pytest.approx(1e6, rel=0.05)


def test_a_temperature_meter_sets_the_temperature_but_not_the_precision(alice: Api) -> None:
    org_id, flow = _setup(alice)
    _meter(alice, org_id, name="tt", quantity="temperature", unit="degC", flow_id=flow["id"])
    body = alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": _hours("tt", [72.0] * 30)}).json()
    assert body["flows_refreshed"][0]["updated"] == ["temperature_c"]
    got = alice.get(f"/api/v1/flows/{flow['id']}").json()
    assert got["temperature_c"] == 72.0 and got["precision"] != "measured" and got["quantity"] == 2


def test_too_few_hours_leave_the_flow_as_declared(alice: Api) -> None:
    org_id, flow = _setup(alice)
    _meter(alice, org_id, name="hx", quantity="power", unit="MW", flow_id=flow["id"])
    body = alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": _hours("hx", [1.0] * 5)}).json()
    assert "5 hours of readings" in body["flows_refreshed"][0]["note"]
    got = alice.get(f"/api/v1/flows/{flow['id']}").json()
    assert got["precision"] != "measured" and got["quantity"] == 2


def test_rollups_follow_late_readings(alice: Api, runtime: Any) -> None:
    org_id, _ = _setup(alice)
    meter = _meter(alice, org_id, name="p", quantity="pressure", unit="bar")
    minutes = [{"meter": "p", "ts": (START + timedelta(minutes=m)).isoformat(), "value": 2.0} for m in (0, 20)]
    alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": minutes})
    late = [{"meter": "p", "ts": (START + timedelta(minutes=40)).isoformat(), "value": 5.0}]
    alice.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": late})
    hours = alice.get(f"/api/v1/organizations/{org_id}/meters/{meter['id']}/readings?period=hour").json()["items"]
    assert [(h["count"], h["mean"], h["min"], h["max"]) for h in hours] == [(3, 3.0, 2.0, 5.0)]
    raw = alice.get(f"/api/v1/organizations/{org_id}/meters/{meter['id']}/readings?period=raw").json()["items"]
    assert [r["value"] for r in raw] == [2.0, 2.0, 5.0]
    with runtime.uow() as uow:
        days = uow.session.scalars(sa.select(ReadingRollup).where(ReadingRollup.period == "day")).all()
    assert [(d.count, d.maximum) for d in days] == [(3, 5.0)]


def test_meters_and_readings_are_scoped_to_the_organisation(alice: Api, bob: Api) -> None:
    org_id, flow = _setup(alice)
    meter = _meter(alice, org_id, name="m", quantity="power", unit="kW")
    assert bob.get(f"/api/v1/organizations/{org_id}/meters").status_code in (403, 404)
    r = bob.post(f"/api/v1/organizations/{org_id}/readings", json={"readings": _hours("m", [1.0])})
    assert r.status_code in (403, 404)
    assert bob.get(f"/api/v1/organizations/{org_id}/meters/{meter['id']}/readings").status_code in (403, 404)
    bob_org = bob.organization("Bob Ltd")
    # bob cannot attach a meter to alice's flow from his own organisation
    r = bob.post(
        f"/api/v1/organizations/{bob_org['id']}/meters",
        json={"name": "spy", "quantity": "power", "unit": "kW", "flow_id": flow["id"]},
    )
    assert r.status_code == 422
    # nor read alice's meter through his organisation
    assert bob.get(f"/api/v1/organizations/{bob_org['id']}/meters/{meter['id']}/readings").status_code == 404
