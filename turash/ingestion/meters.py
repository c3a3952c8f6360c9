"""Meters: register them, take their readings in, read their series back.

A meter belongs to an organisation and, optionally, measures one of its flows. Readings sent under the meter's
name (REST, inbound webhook, MQTT topic, NATS subject, SCADA poller) go through `take_readings`, which stores them
(`readings.store_readings`), refreshes the flows they measure (`readings.refresh_meters`) and announces a flow whose
measured quantity moved far from what was declared (`flow.remeasured`, which re-matches it: ingestion/tasks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.ingestion.readings import (
    QUANTITY_UNITS,
    FlowRefresh,
    Reading,
    ReadingBatchResult,
    conversion,
    refresh_meters,
    store_readings,
)
from turash.kit.bus import DomainEvent
from turash.kit.errors import Conflict, NotFound, ValidationFailed
from turash.models import Meter, MeterReading, ReadingRollup, ResourceFlow
from turash.models.base import new_id

PROTOCOLS = ("api", "mqtt", "nats", "opcua", "modbus", "webhook")


@dataclass
class TakeResult:
    batch: ReadingBatchResult
    refreshed: list[FlowRefresh] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.batch.as_dict(), "flows_refreshed": [r.as_dict() for r in self.refreshed]}


def create_meter(session: Session, organization_id: str, values: dict[str, Any]) -> Meter:
    """Register a meter; its unit must measure its quantity, its flow must be the organisation's."""
    quantity, unit = values["quantity"], values["unit"]
    try:
        conversion(unit, quantity)
    except ValueError as exc:
        raise ValidationFailed(str(exc), details=[{"field": "unit", "message": str(exc)}]) from None
    flow_id = values.get("flow_id")
    if flow_id is not None:
        flow = session.get(ResourceFlow, flow_id)
        if flow is None or flow.organization_id != organization_id:
            raise ValidationFailed(
                f"flow {flow_id} is not a flow of this organisation",
                details=[{"field": "flow_id", "message": "not found in this organisation"}],
            )
    if session.scalar(
        sa.select(Meter.id).where(Meter.organization_id == organization_id, Meter.name == values["name"])
    ):
        raise Conflict(f"a meter named {values['name']!r} already exists", code="duplicate_meter")
    meter = Meter(id=new_id(), organization_id=organization_id, **values)
    session.add(meter)
    session.flush()
    return meter


def get_meter(session: Session, organization_id: str, meter_id: str) -> Meter:
    meter = session.get(Meter, meter_id)
    if meter is None or meter.organization_id != organization_id:
        raise NotFound.of("meter", meter_id)
    return meter


def list_meters(session: Session, organization_id: str) -> list[Meter]:
    return list(session.scalars(sa.select(Meter).where(Meter.organization_id == organization_id).order_by(Meter.name)))


def delete_meter(session: Session, meter: Meter) -> None:
    # meter_readings has no foreign key (a partitioned table's inserts stay cheap without one)
    session.execute(sa.delete(MeterReading).where(MeterReading.meter_id == meter.id))
    session.delete(meter)
    session.flush()


def take_readings(
    session: Session,
    organization_id: str,
    readings: Sequence[Reading],
    *,
    source: str,
    collect: Callable[[DomainEvent], None] | None = None,
    refresh_interval_s: float = 0.0,
    quarantine: bool = True,
) -> TakeResult:
    """Store a batch, refresh the flows it measures, announce those to re-match. The caller commits."""
    batch = store_readings(session, organization_id, readings, source=source, quarantine=quarantine)
    refreshed = refresh_meters(session, batch.meters, min_interval_s=refresh_interval_s) if batch.meters else []
    if collect is not None:
        for refresh in refreshed:
            if refresh.rematch:
                collect(
                    DomainEvent(
                        "flow.remeasured",
                        {
                            "flow_id": refresh.flow_id,
                            "organization_id": organization_id,
                            "meter_id": refresh.meter_id,
                            "relative_change": refresh.relative_change,
                        },
                    )
                )
    return TakeResult(batch, refreshed)


def series(
    session: Session, meter: Meter, *, period: str, start: datetime | None, end: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The meter's readings (period "raw") or rollups ("hour", "day"), oldest first, in SI."""
    unit = QUANTITY_UNITS[meter.quantity]
    if period == "raw":
        query = sa.select(MeterReading.ts, MeterReading.value_si).where(MeterReading.meter_id == meter.id)
        if start is not None:
            query = query.where(MeterReading.ts >= start)
        if end is not None:
            query = query.where(MeterReading.ts < end)
        rows = session.execute(query.order_by(MeterReading.ts).limit(limit)).all()
        return [{"ts": ts.isoformat(), "value": value, "unit": unit} for ts, value in rows]
    agg = sa.select(ReadingRollup).where(ReadingRollup.meter_id == meter.id, ReadingRollup.period == period)
    if start is not None:
        agg = agg.where(ReadingRollup.start >= start)
    if end is not None:
        agg = agg.where(ReadingRollup.start < end)
    return [
        {
            "start": r.start.isoformat(),
            "count": r.count,
            "mean": r.mean,
            "min": r.minimum,
            "max": r.maximum,
            "unit": unit,
        }
        for r in session.scalars(agg.order_by(ReadingRollup.start).limit(limit))
    ]
