from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from turash.auth.dependencies import RuntimeDep, UowDep
from turash.economics import report, service
from turash.matching.endpoints import MatchReader

router = APIRouter(tags=["economics"])


def _overrides(request: Request) -> dict[str, float]:
    """Every query parameter but `format` is an assumption override, e.g. `?discount_rate=0.06&lifetime_years=15`."""
    return service.parse_overrides([f"{k}={v}" for k, v in request.query_params.items() if k != "format"])


@router.get("/matches/{match_id}/economics", operation_id="match_economics")
def match_economics(
    match_id: MatchReader,
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",
) -> object:
    """The business case of a match: NPV, IRR, payback, ROI, levelised cost, CO2 avoided, P10/P50/P90, tornado,
    win-win price band, risk, and every assumption with its source. Query parameters override assumptions."""
    data = service.business_case(uow.session, runtime.extras, runtime.cache, match_id, _overrides(request))
    if format == "html":
        return HTMLResponse(report.render_html(data))
    return data
