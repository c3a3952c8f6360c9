"""HTTP routes of ingestion: meters and their readings, bulk jobs, uploads, inbound webhooks, quarantine, merges,
data quality. Every route is scoped to an organisation the caller belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from turash.auth.dependencies import OrgMember, OrgViewer, UowDep
from turash.ingestion import meters as meter_service
from turash.ingestion.readings import QUANTITY_UNITS, Reading
from turash.models import Meter

router = APIRouter(tags=["ingestion"])

MAX_READINGS = 10_000  # per request; a stream goes through MQTT or NATS


class MeterCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "boiler-3-flow", "quantity": "flow_rate", "unit": "m3/h", "flow_id": "..."}]
        },
    )
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$", description="As sent by the meter.")
    quantity: Literal["flow_rate", "mass_rate", "power", "energy", "temperature", "pressure", "quantity"]
    unit: str = Field(min_length=1, max_length=50, description="The unit readings arrive in: m3/h, kW, degC, t...")
    flow_id: str | None = Field(None, description="The flow this meter measures.")
    protocol: Literal["api", "mqtt", "nats", "opcua", "modbus", "webhook"] = "api"
    address: str | None = Field(None, max_length=500, description="opc.tcp://host:4840 or host:502 for pollers.")
    config: dict[str, Any] = Field(default_factory=dict, description='{"node_id": "ns=2;i=2"} or {"register": 0}')


def meter_view(meter: Meter) -> dict[str, Any]:
    return {
        "id": meter.id,
        "organization_id": meter.organization_id,
        "name": meter.name,
        "quantity": meter.quantity,
        "unit": meter.unit,
        "si_unit": QUANTITY_UNITS[meter.quantity],
        "flow_id": meter.flow_id,
        "protocol": meter.protocol,
        "address": meter.address,
        "config": meter.config,
        "last_reading_at": meter.last_reading_at.isoformat() if meter.last_reading_at else None,
        "last_value_si": meter.last_value_si,
    }


@router.post(
    "/organizations/{organization_id}/meters", status_code=status.HTTP_201_CREATED, operation_id="create_meter"
)
def create_meter(access: OrgMember, data: MeterCreate, uow: UowDep) -> dict[str, Any]:
    """Register a meter whose readings update a flow (measured quantity, availability profile, precision)."""
    return meter_view(meter_service.create_meter(uow.session, access.organization.id, data.model_dump()))


@router.get("/organizations/{organization_id}/meters", operation_id="list_meters")
def list_meters(access: OrgViewer, uow: UowDep) -> dict[str, Any]:
    items = meter_service.list_meters(uow.session, access.organization.id)
    return {"items": [meter_view(m) for m in items], "total": len(items)}


@router.delete(
    "/organizations/{organization_id}/meters/{meter_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_meter",
)
def delete_meter(access: OrgMember, meter_id: str, uow: UowDep) -> None:
    meter_service.delete_meter(uow.session, meter_service.get_meter(uow.session, access.organization.id, meter_id))


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meter: str = Field(min_length=1, max_length=200)
    ts: AwareDatetime = Field(description="ISO 8601 with a time zone.")
    value: float = Field(allow_inf_nan=False)
    unit: str | None = Field(None, max_length=50, description="Omit for the meter's unit.")


class ReadingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_READINGS)


@router.post("/organizations/{organization_id}/readings", operation_id="post_readings")
def post_readings(access: OrgMember, data: ReadingsIn, uow: UowDep) -> dict[str, Any]:
    """Readings of this organisation's meters. A reading sent twice (same meter and time) is stored once; one that
    cannot be stored (unknown meter, wrong unit, in the future) is quarantined and reported, the others go in."""
    readings = [Reading(r.meter, r.ts, r.value, r.unit) for r in data.readings]
    result = meter_service.take_readings(
        uow.session, access.organization.id, readings, source="api", collect=uow.collect
    )
    return result.as_dict()


@router.get("/organizations/{organization_id}/meters/{meter_id}/readings", operation_id="meter_readings")
def meter_readings(
    access: OrgViewer,
    meter_id: str,
    uow: UowDep,
    period: Literal["raw", "hour", "day"] = "hour",
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """The meter's series in SI: raw readings, or hourly/daily count, mean, min and max."""
    meter = meter_service.get_meter(uow.session, access.organization.id, meter_id)
    items = meter_service.series(uow.session, meter, period=period, start=start, end=end, limit=limit)
    return {"meter": meter_view(meter), "period": period, "items": items}
