"""Process roles beside `turash serve`: the worker (takes jobs) and the scheduler (puts the periodic ones in).

- `turash worker` takes jobs from the NATS JetStream work queue, partition by partition (turash/kit/queue.py):
  re-matching a geographic cell, running a bulk import. Run as many as you like; each partition's jobs run one at
  a time, so more workers run more partitions at once.
- `turash scheduler` queues, every `TURASH_REMATCH_INTERVAL_MINUTES`, one re-match job per populated cell, and
  re-queues bulk imports that were saved but never reached the queue (a crash between the two). Its jobs carry
  a dedupe key of the interval they belong to, so a second scheduler, or a restarted one, queues nothing twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from turash.jobs import handlers
from turash.kit.errors import TurashError
from turash.kit.queue import InProcessQueue, Job, JobQueue, NatsQueue, partition_of
from turash.models import IngestJob
from turash.models.base import utcnow

log = structlog.get_logger(__name__)

STUCK_AFTER = timedelta(minutes=2)  # a queued bulk import this old that nobody took was never queued


class QueueNotConfigured(TurashError):
    code = "queue_not_configured"


def queue_of(runtime: Any) -> JobQueue:
    """The runtime's job queue, made once from its settings."""
    existing: JobQueue | None = runtime.extras.get("job_queue")
    if existing is not None:
        return existing
    settings = runtime.settings
    queue: JobQueue
    if settings.job_queue == "nats":
        if not settings.nats_url:
            raise QueueNotConfigured("TURASH_JOB_QUEUE=nats needs TURASH_NATS_URL (nats://host:4222)")
        queue = NatsQueue(
            settings.nats_url,
            stream=f"{settings.nats_stream}_JOBS",
            partitions=settings.job_partitions,
            ack_wait=settings.job_ack_wait_seconds,
        )
    else:
        queue = InProcessQueue(lambda job: handlers.handle(runtime, job), partitions=settings.job_partitions)
    runtime.extras["job_queue"] = queue
    return queue


def rematch_jobs(runtime: Any, *, top: int, radius_km: float, slot: str | None = None) -> list[Job]:
    """One `match.cell` job per populated cell, biggest first; `slot` (the scheduler's interval) dedupes them."""
    from turash.matching.cells import populated_cells

    partitions = runtime.settings.job_partitions
    with runtime.uow() as uow:
        cells = populated_cells(uow.session)
    return [
        Job(
            "match.cell",
            {"cell": cell, "top": top, "radius_km": radius_km, "supplies": supplies},
            partition_of(cell, partitions),
            dedupe=f"match.cell:{cell}:{top}:{radius_km:g}:{slot}" if slot else None,
        )
        for cell, supplies in cells
    ]


def _ingest_job(job_id: str, organization_id: str, partitions: int) -> Job:
    """A bulk import's job: partitioned by its organisation, deduplicated by its id."""
    return Job(
        "ingest.job", {"job_id": job_id}, partition_of(organization_id, partitions), dedupe=f"ingest.job:{job_id}"
    )


def stranded_imports(runtime: Any) -> list[Job]:
    """Bulk imports saved as queued but not taken for a while: put them in the queue (again; a job done is
    skipped by its handler, and the dedupe key keeps the queue from holding it twice)."""
    with runtime.uow() as uow:
        rows = uow.session.execute(
            sa.select(IngestJob.id, IngestJob.organization_id).where(
                IngestJob.status == "queued", IngestJob.created_at < utcnow() - STUCK_AFTER
            )
        ).all()
    return [_ingest_job(job_id, org_id, runtime.settings.job_partitions) for job_id, org_id in rows]


def queue_bulk_import(runtime: Any, job_id: str, organization_id: str) -> bool:
    """Hand a saved bulk import to the workers; False when the queue is unreachable (the job stays saved as
    queued, and the scheduler re-queues it once the queue is back: nothing is lost)."""
    try:
        queue_of(runtime).submit([_ingest_job(job_id, organization_id, runtime.settings.job_partitions)])
    except Exception:
        log.exception("bulk_job_not_queued", job_id=job_id)
        return False
    return True


def schedule_round(runtime: Any, *, top: int, radius_km: float, now: float | None = None) -> dict[str, int]:
    """Queue this interval's jobs; returns how many were queued and how many were already there."""
    interval = runtime.settings.rematch_interval_minutes * 60
    slot = str(int((now if now is not None else time.time()) // interval))
    jobs = rematch_jobs(runtime, top=top, radius_km=radius_km, slot=slot) + stranded_imports(runtime)
    new = queue_of(runtime).submit(jobs)
    log.info("jobs_scheduled", slot=slot, jobs=len(jobs), new=new)
    return {"jobs": len(jobs), "queued": new, "duplicates": len(jobs) - new}


def run_scheduler(
    runtime: Any, stop: threading.Event, *, top: int, radius_km: float, tick_seconds: float = 30.0
) -> int:
    """Queue a round at once and then whenever a new interval starts, until `stop`; returns the rounds run."""
    interval = runtime.settings.rematch_interval_minutes * 60
    rounds, last_slot = 0, None
    while not stop.is_set():
        slot = int(time.time() // interval)
        if slot != last_slot:
            try:
                schedule_round(runtime, top=top, radius_km=radius_km)
                rounds, last_slot = rounds + 1, slot
            except Exception:  # the database or the bus is away: try again at the next tick
                log.exception("schedule_failed")
        stop.wait(tick_seconds)
    return rounds


def run_worker(
    runtime: Any,
    stop: threading.Event,
    *,
    partitions: list[int],
    on_job: Callable[[Job], None] | None = None,
    on_start: Callable[[Job], None] | None = None,
) -> int:
    """Take jobs of `partitions` until `stop`; returns how many were done. `on_start` and `on_job` are called
    before and after each job, whether it succeeds or fails."""
    queue = queue_of(runtime)
    if not isinstance(queue, NatsQueue):
        raise QueueNotConfigured(
            "a worker takes jobs from NATS JetStream: set TURASH_JOB_QUEUE=nats and TURASH_NATS_URL "
            "(with the embedded default, `turash serve` runs its jobs itself)"
        )

    def handle(job: Job) -> None:
        if on_start is not None:
            on_start(job)
        try:
            handlers.handle(runtime, job)
        finally:  # a failed job ends too (it is retried later, maybe elsewhere)
            if on_job is not None:
                on_job(job)

    log.info("worker_started", partitions=partitions)
    return queue.work(handle, partitions, stop)
