"""Bulk jobs: `POST /api/v1/bulk/flows` takes up to 10,000 records and answers at once with a job; the import runs
after the response, through the same pipeline as a file (`formats.records_file` → `service.import_flows`), scoped
to the organisation. The job's status route gives the counts and one result per record.

Idempotency: a request with an `Idempotency-Key` already used by the organisation returns the first job (and is
refused if its records differ). A job interrupted by a crash or restart is run again at start-up
(`resume_pending`); flows already written are recognised by their fingerprint and counted as skipped, so nothing
is imported twice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from turash.kit.errors import Conflict, NotFound
from turash.models import IngestJob, Organization, QuarantinedRow
from turash.models.base import as_utc, new_id, utcnow

log = structlog.get_logger(__name__)
MAX_RECORDS = 10_000


def submit(
    session: Session,
    organization_id: str,
    kind: str,
    records: list[dict[str, Any]],
    *,
    idempotency_key: str | None,
    user_id: str | None,
    source: str = "bulk",
) -> tuple[IngestJob, bool]:
    """The queued job, and whether it is new (False: the key was used before, this is the first job)."""
    if idempotency_key is not None:
        existing = session.scalar(
            sa.select(IngestJob).where(
                IngestJob.organization_id == organization_id, IngestJob.idempotency_key == idempotency_key
            )
        )
        if existing is not None:
            if existing.payload != records or existing.kind != kind:
                raise Conflict(
                    f"Idempotency-Key {idempotency_key!r} was used for other records; use a new key",
                    code="idempotency_key_reused",
                )
            return existing, False
    job = IngestJob(
        id=new_id(),
        organization_id=organization_id,
        kind=kind,
        status="queued",
        idempotency_key=idempotency_key,
        source=source,
        records_total=len(records),
        payload=records,
        created_by=user_id,
    )
    session.add(job)
    session.flush()
    return job, True


def get(session: Session, organization_id: str, job_id: str) -> IngestJob:
    job = session.get(IngestJob, job_id)
    if job is None or job.organization_id != organization_id:
        raise NotFound.of("job", job_id)
    return job


def view(job: IngestJob, *, results: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id,
        "organization_id": job.organization_id,
        "kind": job.kind,
        "status": job.status,
        "source": job.source,
        "records_total": job.records_total,
        "counts": job.counts,
        "import_run_id": job.import_run_id,
        "error": job.error,
        "created_at": as_utc(job.created_at).isoformat(),
        "finished_at": as_utc(job.finished_at).isoformat() if job.finished_at else None,
    }
    if results:
        out["results"] = job.results
    return out


def execute(session: Session, job: IngestJob) -> IngestJob:
    """Import the job's records (the caller commits). Per record: "accepted" (imported, or already present) or
    "quarantined" with the quarantine entry and its errors."""
    from turash.ingestion.formats import records_file
    from turash.ingestion.service import import_flows, import_sites

    org = session.get(Organization, job.organization_id)
    if org is None:
        raise NotFound.of("organization", job.organization_id)
    job.status = "running"
    session.flush()
    file = records_file(job.payload, f"bulk job {job.id}")
    importer = import_flows if job.kind == "flows" else import_sites
    report = importer(session, file, user_id=job.created_by, name=file.name, organization_id=org.id)
    job.import_run_id = report.run_id
    job.counts = {
        "records": report.rows_total,
        "imported": report.imported,
        "skipped": report.skipped,
        "quarantined": report.quarantined,
    }
    if report.error is not None:
        job.status, job.error = "failed", report.error
    else:
        job.status = "done"
    bad = {
        q.row_number: q
        for q in session.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.import_run_id == report.run_id))
    }
    results = []
    for index in range(len(job.payload)):
        q = bad.get(index + 1)
        if q is None:
            results.append({"index": index, "status": "accepted"})
        else:
            results.append({"index": index, "status": "quarantined", "quarantine_id": q.id, "errors": q.errors})
    job.results = results
    job.finished_at = utcnow()
    session.flush()
    return job


def run(runtime: Any, job_id: str) -> None:
    """Run one job in its own unit of work (after the response, or at start-up)."""
    try:
        with runtime.uow() as uow:
            job = uow.session.get(IngestJob, job_id)
            if job is None or job.status in ("done", "failed"):
                return
            execute(uow.session, job)
            uow.commit()
        log.info("bulk_job_done", job_id=job_id)
    except Exception as exc:  # the job must end in a state the client can see
        log.exception("bulk_job_failed", job_id=job_id)
        with runtime.uow() as uow:
            job = uow.session.get(IngestJob, job_id)
            if job is not None:
                job.status, job.error, job.finished_at = "failed", f"{type(exc).__name__}: {exc}"[:2000], utcnow()
                uow.commit()


def resume_pending(runtime: Any) -> int:
    """Run the jobs a crash or restart interrupted; returns how many."""
    with runtime.uow() as uow:
        ids = list(
            uow.session.scalars(
                sa.select(IngestJob.id)
                .where(IngestJob.status.in_(("queued", "running")))
                .order_by(IngestJob.created_at)
            )
        )
    for job_id in ids:
        run(runtime, job_id)
    return len(ids)
