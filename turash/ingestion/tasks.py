"""Event handlers of ingestion: a flow whose meters moved its measured quantity far from what was declared
(`flow.remeasured`, from ingestion/meters.py) is matched again, and the new matches are stored with their run
(trigger "meter") so the parties hear of new partners through the usual `match.found` notifications."""

from __future__ import annotations

from typing import Any

import structlog

from turash.kit.bus import DomainEvent

log = structlog.get_logger(__name__)


def rematch_flow(runtime: Any, event: DomainEvent) -> int:
    """Run matching for the event's flow and store the run; returns how many matches it found."""
    from turash.matching import service as matching
    from turash.notifications.handlers import apply_once

    flow_id = event.payload.get("flow_id")
    if not flow_id:
        return 0
    with runtime.uow() as uow:
        if not apply_once(uow.session, event.id, "ingestion.rematch"):  # NATS redelivers; match once per event
            return 0
        request = matching.MatchRequest(flow_id=flow_id)
        matches, summary = matching.find_matches(uow.session, runtime.extras, request)
        matching.record_run(uow.session, request, matches, summary, trigger="meter", collect=uow.collect)
        uow.commit()
    log.info("flow_rematched", flow_id=flow_id, matches=len(matches))
    return len(matches)


def install(runtime: Any) -> None:
    """Subscribe once per runtime (a durable consumer on NATS)."""
    if runtime.extras.get("ingestion_installed"):
        return
    runtime.extras["ingestion_installed"] = True

    def on_event(event: DomainEvent) -> None:
        rematch_flow(runtime, event)

    runtime.bus.subscribe("flow.remeasured", on_event, durable="ingest-rematch")
