from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from turash.auth.dependencies import RuntimeDep, UowDep
from turash.economics import report, service
from turash.kit.document import DOCUMENT_RESPONSES, FORMATS, http_response
from turash.kit.errors import ValidationFailed
from turash.matching.endpoints import MatchReader

router = APIRouter(tags=["economics"])

ReportFormat = Literal["json", "html", "pdf"]
FORMAT_PATTERN = FORMATS


class EconomicsRequest(BaseModel):
    """Assumption overrides and the output format, for `POST /matches/{id}/economics`."""

    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description='Assumption overrides, e.g. `{"discount_rate": 0.06}`; they win over query parameters.',
        examples=[{"discount_rate": 0.06, "lifetime_years": 15}],
    )
    format: ReportFormat | None = Field(default=None, description="json (default), html or pdf.")


def _overrides(request: Request) -> dict[str, float]:
    """Every query parameter but `format` is an assumption override, e.g. `?discount_rate=0.06&lifetime_years=15`."""
    return service.parse_overrides([f"{k}={v}" for k, v in request.query_params.items() if k != "format"])


def body_overrides(values: dict[str, Any]) -> dict[str, float]:
    """JSON overrides → {name: value}: numbers as they are, numeric strings as in the query; names are checked by
    the economics module (`UnknownAssumption`), as for the query."""
    out: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, str):
            out.update(service.parse_overrides([f"{name}={value}"]))
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[name.strip()] = float(value)
        else:
            raise ValidationFailed(f"override {name} must be a number, got {value!r}", details={"name": name})
    return out


def _respond(data: dict[str, Any], format: str, match_id: str) -> object:
    return http_response(data, format, report.document, f"business-case-{match_id}")


@router.get("/matches/{match_id}/economics", operation_id="match_economics", responses=DOCUMENT_RESPONSES)
def match_economics(
    match_id: MatchReader,
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    format: Annotated[str, Query(pattern=FORMAT_PATTERN)] = "json",
) -> object:
    """The business case of a match: NPV, IRR, payback, ROI, levelised cost, CO2 avoided, P10/P50/P90, tornado,
    win-win price band, risk, and every assumption with its source. Query parameters override assumptions;
    `format=pdf` downloads the one-page report as PDF."""
    data = service.business_case(uow.session, runtime.extras, runtime.cache, match_id, _overrides(request))
    return _respond(data, format, match_id)


@router.post(
    "/matches/{match_id}/economics", operation_id="match_economics_with_overrides", responses=DOCUMENT_RESPONSES
)
def match_economics_with_overrides(
    match_id: MatchReader,
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    body: EconomicsRequest | None = None,
    format: Annotated[str | None, Query(pattern=FORMAT_PATTERN)] = None,
) -> object:
    """As `GET`, with the overrides (and the format) in a JSON body: `{"overrides": {"discount_rate": 0.06},
    "format": "pdf"}`. Query parameters still apply; the body wins where both name an assumption."""
    body = body or EconomicsRequest()
    overrides = {**_overrides(request), **body_overrides(body.overrides)}
    data = service.business_case(uow.session, runtime.extras, runtime.cache, match_id, overrides)
    return _respond(data, body.format or format or "json", match_id)
