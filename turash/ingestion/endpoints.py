"""HTTP routes of ingestion: meters and their readings, bulk jobs, uploads, inbound webhooks, quarantine, merges,
data quality. Every route is scoped to an organisation the caller belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Header, Query, Request, UploadFile, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from turash.auth.dependencies import OrgAdmin, OrgMember, OrgViewer, PlatformAdmin, PrincipalDep, UowDep
from turash.ingestion import dedupe, inbound, jobs, quality, quarantine
from turash.ingestion import mapping as header_map
from turash.ingestion import meters as meter_service
from turash.ingestion import service as import_service
from turash.ingestion.readings import QUANTITY_UNITS, Reading
from turash.kit.errors import ValidationFailed
from turash.models import InboundWebhook, IngestJob, MergeProposal, Meter
from turash.models.base import as_utc

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
        "last_reading_at": as_utc(meter.last_reading_at).isoformat() if meter.last_reading_at else None,
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
        "last_received_at": as_utc(source.last_received_at).isoformat() if source.last_received_at else None,
        "created_at": as_utc(source.created_at).isoformat(),
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


# --- quarantine ----------------------------------------------------------------------------------------------------


@router.get("/quarantine", operation_id="list_quarantine")
def list_quarantine(
    uow: UowDep,
    principal: PrincipalDep,
    kind: Literal["flows", "sites", "readings"] | None = None,
    include_resolved: bool = False,
    import_run_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Records that could not be taken, with where (file, row, column) and why; yours and your organisations'."""
    rows, total = quarantine.list_rows(
        uow.session,
        principal,
        kind=kind,
        include_resolved=include_resolved,
        import_run_id=import_run_id,
        limit=limit,
        offset=offset,
    )
    return {"items": [quarantine.view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/quarantine/{row_id}", operation_id="get_quarantined")
def get_quarantined(row_id: str, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    return quarantine.view(quarantine.get_row(uow.session, principal, row_id))


class QuarantineFix(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"raw": {"unit": "t/yr"}}]})
    raw: dict[str, str | float | int | bool | None] = Field(
        min_length=1, description="Columns to set (null removes one), as they would appear in the file."
    )


@router.patch("/quarantine/{row_id}", operation_id="fix_quarantined")
def fix_quarantined(row_id: str, data: QuarantineFix, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Correct a quarantined record in place; replay it to take it in."""
    row = quarantine.get_row(uow.session, principal, row_id, edit=True)
    return quarantine.view(quarantine.correct(row, data.raw))


@router.post("/quarantine/{row_id}/replay", operation_id="replay_quarantined")
def replay_quarantined(row_id: str, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Run the record through its pipeline again: resolved when it goes in, else kept with the new reasons."""
    row = quarantine.get_row(uow.session, principal, row_id, edit=True)
    outcome = quarantine.replay(uow.session, row, user_id=principal.user.id, collect=uow.collect)
    return {"resolved": outcome.resolved, "row": quarantine.view(outcome.row), "result": outcome.detail}


class QuarantineDismiss(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=150)


@router.post("/quarantine/{row_id}/dismiss", operation_id="dismiss_quarantined")
def dismiss_quarantined(row_id: str, data: QuarantineDismiss, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Resolve a record without taking it in (a test row, a duplicate), with the reason; it stays listed."""
    row = quarantine.get_row(uow.session, principal, row_id, edit=True)
    return quarantine.view(quarantine.dismiss(row, data.reason, principal.user.email))


# --- merges (entity resolution) --------------------------------------------------------------------------------------


def merge_view(p: MergeProposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind,
        "keep_id": p.keep_id,
        "merge_id": p.merge_id,
        "score": round(p.score, 4),
        "reasons": p.reasons,
        "status": p.status,
        "moved": (p.undo or {}).get("moved"),
        "decided_at": as_utc(p.decided_at).isoformat() if p.decided_at else None,
        "created_at": as_utc(p.created_at).isoformat(),
    }


@router.post("/merges/scan", operation_id="scan_merges")
def scan_merges(
    uow: UowDep, admin: PlatformAdmin, kind: Literal["organization", "site"] = "organization"
) -> dict[str, Any]:
    """Look for organisations (or sites) that are one and the same and propose merging them. Platform admins only:
    a merge moves everything, members and keys included, across organisations."""
    proposals = dedupe.propose_merges(uow.session, kind)
    return {"proposed": len(proposals), "items": [merge_view(p) for p in proposals]}


@router.get("/merges", operation_id="list_merges")
def list_merges(
    uow: UowDep,
    admin: PlatformAdmin,
    status_: Annotated[Literal["proposed", "merged", "rejected", "reverted"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    query = sa.select(MergeProposal).order_by(MergeProposal.score.desc(), MergeProposal.created_at)
    if status_ is not None:
        query = query.where(MergeProposal.status == status_)
    rows = uow.session.scalars(query.limit(limit)).all()
    return {"items": [merge_view(p) for p in rows], "total": len(rows)}


@router.post("/merges/{proposal_id}/{decision}", operation_id="decide_merge")
def decide_merge(
    proposal_id: str, decision: Literal["apply", "revert", "reject"], uow: UowDep, admin: PlatformAdmin
) -> dict[str, Any]:
    """Apply a proposed merge, revert an applied one (every moved row goes back), or reject it."""
    act = {"apply": dedupe.apply_merge, "revert": dedupe.revert_merge, "reject": dedupe.reject_merge}[decision]
    return merge_view(act(uow.session, proposal_id, admin.user.id))


# --- bulk jobs and uploads -----------------------------------------------------------------------------------------


class BulkRecords(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "site": "Kiln",
                            "lat": 57.05,
                            "lon": 9.92,
                            "direction": "supply",
                            "resource": "fly ash",
                            "quantity": 12000,
                            "unit": "t/yr",
                        }
                    ]
                }
            ]
        },
    )
    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=jobs.MAX_RECORDS,
        description="Rows with the columns of `turash import flows` (the organisation column may be left out).",
    )


def _submit(
    uow: Any,
    organization_id: str,
    kind: str,
    data: BulkRecords,
    principal: Any,
    request: Request,
    background: BackgroundTasks,
    idempotency_key: str | None,
) -> dict[str, Any]:
    job, created = jobs.submit(
        uow.session, organization_id, kind, data.records, idempotency_key=idempotency_key, user_id=principal.user.id
    )
    if created:
        uow.commit()  # the job must exist before the background task looks for it
        runtime = request.app.state.runtime
        if runtime.settings.job_queue == "nats":  # a `turash worker` runs it
            from turash.jobs.service import queue_bulk_import

            queue_bulk_import(runtime, job.id, organization_id)
        else:
            background.add_task(jobs.run, runtime, job.id)
    return jobs.view(job, results=False)


@router.post(
    "/organizations/{organization_id}/bulk/{kind}",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="bulk_import",
)
def bulk_import(
    access: OrgMember,
    kind: Literal["flows", "sites"],
    data: BulkRecords,
    uow: UowDep,
    principal: PrincipalDep,
    request: Request,
    background: BackgroundTasks,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Queue an import of up to 10,000 records; poll the job for its counts and per-record results. The same
    `Idempotency-Key` returns the first job instead of importing twice."""
    return _submit(uow, access.organization.id, kind, data, principal, request, background, idempotency_key)


@router.post("/bulk/flows", status_code=status.HTTP_202_ACCEPTED, operation_id="bulk_flows")
def bulk_flows(
    data: BulkRecords,
    uow: UowDep,
    principal: PrincipalDep,
    request: Request,
    background: BackgroundTasks,
    organization_id: Annotated[str, Query(description="The organisation the flows belong to.")],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """The bulk API of the issue: `POST /api/v1/bulk/flows?organization_id=...`, same as the organisation route."""
    from turash.organizations.service import get_organization, require_role

    access = require_role(uow.session, principal, get_organization(uow.session, organization_id), "member")
    return _submit(uow, access.organization.id, "flows", data, principal, request, background, idempotency_key)


@router.get("/organizations/{organization_id}/jobs/{job_id}", operation_id="get_job")
def get_job(access: OrgViewer, job_id: str, uow: UowDep) -> dict[str, Any]:
    """A bulk job: queued, running, done or failed, its counts, and one result per record."""
    return jobs.view(jobs.get(uow.session, access.organization.id, job_id))


@router.get("/organizations/{organization_id}/jobs", operation_id="list_jobs")
def list_jobs(access: OrgViewer, uow: UowDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    rows = uow.session.scalars(
        sa.select(IngestJob)
        .where(IngestJob.organization_id == access.organization.id)
        .order_by(IngestJob.created_at.desc())
        .limit(limit)
    ).all()
    return {"items": [jobs.view(j, results=False) for j in rows], "total": len(rows)}


@router.post("/organizations/{organization_id}/imports/{kind}", operation_id="upload_import")
def upload_import(
    access: OrgMember,
    kind: Literal["flows", "sites"],
    file: Annotated[UploadFile, File(description="CSV (any delimiter and encoding), JSON, JSON Lines, XML or XLSX.")],
    uow: UowDep,
    principal: PrincipalDep,
    source: Annotated[
        str | None, Form(max_length=200, description="Name of the source; its saved mapping applies.")
    ] = None,
    mapping: Annotated[str | None, Form(description='JSON {"foreign header": "column"}; saved for `source`.')] = None,
) -> dict[str, Any]:
    """Import a file into this organisation: the report says what went in, what was skipped and what was
    quarantined (row, column, reason); the counts add up."""
    import json

    columns: dict[str, str] | None = None
    if mapping:
        try:
            parsed = json.loads(mapping)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"mapping is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ValidationFailed('mapping must be a JSON object {"foreign header": "column"}')
        columns = {str(k): str(v) for k, v in parsed.items()}
        if source:
            header_map.save_mapping(uow.session, access.organization.id, source, kind, columns, principal.user.id)
    elif source:
        columns = header_map.load_mapping(uow.session, access.organization.id, source, kind)
    data = file.file.read()
    importer = import_service.import_flows if kind == "flows" else import_service.import_sites
    report = importer(
        uow.session,
        file.filename or "upload",
        data=data,
        name=file.filename or "upload",
        user_id=principal.user.id,
        organization_id=access.organization.id,
        mapping=columns,
    )
    return report.as_dict()


@router.post("/imports/suggest-mapping", operation_id="suggest_mapping")
def suggest_mapping(
    file: Annotated[UploadFile, File(description="The file whose headers to map.")],
    principal: PrincipalDep,
    kind: Literal["flows", "sites"] = "flows",
) -> dict[str, Any]:
    """What each foreign header most likely means (fuzzy matching with the words exports use, in several
    languages), with the confidence and alternatives; headers with no good match stay unmapped."""
    from turash.ingestion.formats import read_file

    parsed = read_file(None, file.file.read(), file.filename or "upload", kind=kind)
    suggestions = header_map.suggest_mapping(parsed.raw_header, kind)
    return {
        "file": parsed.name,
        "suggestions": [
            {
                "header": s.header,
                "column": s.column,
                "score": s.score,
                "alternatives": [list(a) for a in s.alternatives],
            }
            for s in suggestions
        ],
        "mapping": header_map.mapping_of(suggestions),
    }
