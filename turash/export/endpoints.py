from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.export import service

router = APIRouter(tags=["export"])
Entity = Literal["organizations", "sites", "flows", "services", "matches", "proposals"]
MEDIA = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "NDJSON (one JSON object per line) or CSV with a header row, streamed in batches.",
        "content": {"application/x-ndjson": {}, "text/csv": {}},
    }
}


@router.get(
    "/export/{entity}", response_class=StreamingResponse, responses=STREAM_RESPONSES, operation_id="bulk_export"
)
def bulk_export(
    entity: Entity,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    format: Literal["ndjson", "csv"] = "ndjson",
    updated_since: Annotated[
        datetime | None, Query(description="Only rows changed at or after this time (ISO 8601; UTC if no offset).")
    ] = None,
) -> StreamingResponse:
    """Everything of one kind the caller may read, scoped as its list route: organisations, sites, flows and
    services of the caller's organisations and public registers; the matches and proposals its organisations take
    part in, disclosed as in their listings. Streamed with bounded memory, ordered by id; `updated_since` for
    incremental copies (matches: computed since)."""
    export = service.prepare(uow.session, principal, entity, updated_since)
    return StreamingResponse(
        service.stream(runtime.uow, export, format),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{entity}.{format}"'},
    )
