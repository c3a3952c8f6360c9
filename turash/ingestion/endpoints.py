"""HTTP routes of ingestion: meters and their readings, bulk jobs, uploads, inbound webhooks, quarantine, merges,
data quality. Every route is scoped to an organisation the caller belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from turash.auth.dependencies import OrgAdmin, OrgMember, OrgViewer, PrincipalDep, UowDep
from turash.ingestion import inbound, quality
from turash.ingestion import meters as meter_service
from turash.ingestion.readings import QUANTITY_UNITS, Reading
from turash.models import InboundWebhook, Meter

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


# --- inbound webhooks -----------------------------------------------------------------------------------------------


class InboundWebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "SCADA gateway", "kind": "readings"}]}
    )
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["readings", "flows"] = Field(description="What the source sends: meter readings or flow records.")


def inbound_view(source: InboundWebhook, *, with_secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "active": source.active,
        "url": f"/api/v1/ingest/webhooks/{source.id}",
        "last_received_at": source.last_received_at.isoformat() if source.last_received_at else None,
        "created_at": source.created_at.isoformat(),
    }
    if with_secret:
        view["secret"] = source.secret
    return view


@router.post(
    "/organizations/{organization_id}/inbound-webhooks",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_inbound_webhook",
)
def create_inbound_webhook(
    access: OrgAdmin, data: InboundWebhookCreate, uow: UowDep, principal: PrincipalDep
) -> dict[str, Any]:
    """A URL a source can push signed deliveries to. The secret is shown here and on rotation only."""
    source = inbound.create_source(uow.session, access.organization.id, data.name, data.kind, principal.user.id)
    return inbound_view(source, with_secret=True)


@router.get("/organizations/{organization_id}/inbound-webhooks", operation_id="list_inbound_webhooks")
def list_inbound_webhooks(access: OrgAdmin, uow: UowDep) -> dict[str, Any]:
    rows = uow.session.scalars(
        sa.select(InboundWebhook)
        .where(InboundWebhook.organization_id == access.organization.id)
        .order_by(InboundWebhook.created_at)
    ).all()
    return {"items": [inbound_view(s) for s in rows], "total": len(rows)}


@router.post(
    "/organizations/{organization_id}/inbound-webhooks/{webhook_id}/rotate", operation_id="rotate_inbound_webhook"
)
def rotate_inbound_webhook(access: OrgAdmin, webhook_id: str, uow: UowDep) -> dict[str, Any]:
    source = inbound.get_source(uow.session, access.organization.id, webhook_id)
    inbound.rotate_secret(source)
    return inbound_view(source, with_secret=True)


@router.delete(
    "/organizations/{organization_id}/inbound-webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_inbound_webhook",
)
def delete_inbound_webhook(access: OrgAdmin, webhook_id: str, uow: UowDep) -> None:
    uow.session.delete(inbound.get_source(uow.session, access.organization.id, webhook_id))


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/ingest/webhooks/{webhook_id}",
    operation_id="receive_inbound_webhook",
    responses={401: {"description": "unsigned, bad signature or stale"}, 409: {"description": "replayed delivery"}},
)
def receive_inbound_webhook(
    webhook_id: str, request: Request, body: Annotated[bytes, Depends(raw_body)], uow: UowDep
) -> dict[str, Any]:
    """A signed delivery from a source (no user token: the HMAC signature is the credential)."""
    return inbound.receive(uow.session, webhook_id, request.headers, body, collect=uow.collect)


@router.get("/organizations/{organization_id}/data-quality", operation_id="data_quality")
def data_quality(access: OrgViewer, uow: UowDep) -> dict[str, Any]:
    """The organisation's data-quality score (0..1), each flow's parts, and the actions that would raise it most."""
    return quality.organization_quality(uow.session, access.organization.id)
