"""What a worker does with each kind of job. Every handler is idempotent: a job delivered twice (a worker died
before acknowledging it) does no harm."""

from __future__ import annotations

from typing import Any

import structlog

from turash.kit.queue import Job

log = structlog.get_logger(__name__)

KINDS = ("match.cell", "ingest.job")


def match_cell(runtime: Any, job: Job) -> int:
    """Re-match one geographic cell and store the run (trigger `worker`); returns how many matches it found. Run
    twice, it stores a second run with the same matches; nobody is notified twice (`record_run` announces only
    matches never stored before)."""
    from turash.matching import cells
    from turash.matching import service as matching

    payload = job.payload
    request = matching.MatchRequest(
        top_k=int(payload.get("top", matching.DEFAULT_TOP_K)),
        radius_km=float(payload.get("radius_km", matching.DEFAULT_RADIUS_KM)),
    )
    with runtime.uow() as uow:
        matches, summary = cells.store_cell(
            uow.session, payload["cell"], request, trigger="worker", collect=uow.collect
        )
        uow.commit()
    log.info("cell_matched", cell=payload["cell"], matches=len(matches), seconds=summary["seconds"])
    return len(matches)


def ingest_job(runtime: Any, job: Job) -> None:
    """Run a bulk import job (a job already done is skipped)."""
    from turash.ingestion import jobs

    jobs.run(runtime, job.payload["job_id"])


def handle(runtime: Any, job: Job) -> None:
    if job.kind == "match.cell":
        match_cell(runtime, job)
    elif job.kind == "ingest.job":
        ingest_job(runtime, job)
    else:  # a newer release's job, or garbage: fail loudly so it is retried, then given up and logged
        raise ValueError(f"unknown job kind {job.kind!r}; this worker knows {', '.join(KINDS)}")
