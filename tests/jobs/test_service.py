"""The worker and scheduler roles end to end: the scheduler queues one re-match per populated cell on NATS
JetStream, a worker takes them and stores the runs; bulk imports go through the same queue, and one that never
reached it is re-queued by the scheduler."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import require_service
from tests.jobs.test_cells import _register
from tests.test_cli import run
from turash.config import Settings
from turash.ingestion import jobs as ingest_jobs
from turash.ingestion.service import import_flows
from turash.jobs import service
from turash.kit import migrations
from turash.kit.bus import InProcessBus
from turash.kit.cache import make_cache
from turash.kit.db import get_engine
from turash.kit.queue import NatsQueue
from turash.kit.runtime import Runtime
from turash.matching import service as matching
from turash.models import IngestJob, MatchRecord, MatchRun, Organization
from turash.models.base import utcnow


@pytest.fixture
def runtime(cli_db: str) -> Any:
    require_service("NATS", "127.0.0.1", 4222)
    migrations.upgrade(cli_db)
    settings = Settings(
        database_url=cli_db,
        job_queue="nats",
        nats_url="nats://127.0.0.1:4222",
        nats_stream=f"TEST_{uuid.uuid4().hex[:8].upper()}",
        job_partitions=4,
    )
    rt = Runtime(settings=settings, engine=get_engine(cli_db), cache=make_cache(None), bus=InProcessBus())
    yield rt
    queue = rt.extras.get("job_queue")
    if isinstance(queue, NatsQueue):
        queue.delete()
    rt.close()


def _work(runtime: Any, count: int) -> int:
    stop = threading.Event()
    done: list[str] = []

    def on_job(job: Any) -> None:
        done.append(job.kind)
        if len(done) >= count:
            stop.set()

    timer = threading.Timer(60, stop.set)
    timer.start()
    try:
        return service.run_worker(runtime, stop, partitions=[0, 1, 2, 3], on_job=on_job)
    finally:
        timer.cancel()


def test_scheduled_rematch_by_cell_is_done_by_a_worker(runtime: Any, tmp_path: Path) -> None:
    with runtime.uow() as uow:
        assert import_flows(uow.session, _register(tmp_path)).imported == 90
        uow.commit()
    first = service.schedule_round(runtime, top=3, radius_km=50.0)
    assert first == {"jobs": 4, "queued": 4, "duplicates": 0}  # four populated cells
    again = service.schedule_round(runtime, top=3, radius_km=50.0)  # a second scheduler, same interval
    assert again == {"jobs": 4, "queued": 0, "duplicates": 4}
    assert _work(runtime, 4) == 4
    with runtime.uow() as uow:
        runs = uow.session.scalars(sa.select(MatchRun).where(MatchRun.trigger == "worker")).all()
        stored = {m.id: m.score for m in uow.session.scalars(sa.select(MatchRecord))}
        whole, _ = matching.find_matches(uow.session, {}, matching.MatchRequest(top_k=3, radius_km=50.0))
    assert len(runs) == 4 and sum(r.matches_count for r in runs) == len(whole)
    assert stored == {m["id"]: m["score"] for m in whole}  # the cells' runs stored exactly the whole run
    assert runtime.extras["job_queue"].waiting() == 0


def test_bulk_imports_go_through_the_queue_and_a_lost_one_is_requeued(runtime: Any) -> None:
    with runtime.uow() as uow:
        org = Organization(name="Nordic Power", name_key="nordic power")
        uow.session.add(org)
        uow.session.flush()
        record = {
            "site": "Unit 2",
            "lat": 55.0,
            "lon": 11.0,
            "direction": "supply",
            "resource": "fly ash",
            "quantity": 40000,
            "unit": "t/yr",
        }
        queued, _ = ingest_jobs.submit(uow.session, org.id, "flows", [record], idempotency_key=None, user_id=None)
        lost, _ = ingest_jobs.submit(
            uow.session, org.id, "flows", [{**record, "site": "Unit 3"}], idempotency_key=None, user_id=None
        )
        lost.created_at = utcnow() - timedelta(minutes=5)  # saved, then the process died before queueing it
        uow.commit()
        ids = (queued.id, lost.id, org.id)
    assert service.queue_bulk_import(runtime, ids[0], ids[2])
    # No flow is in yet, so no cell to re-match: the round holds only the lost import (the queued one is not old).
    assert service.schedule_round(runtime, top=3, radius_km=50.0) == {"jobs": 1, "queued": 1, "duplicates": 0}
    assert _work(runtime, 2) == 2
    with runtime.uow() as uow:
        status = {j.id: j.status for j in uow.session.scalars(sa.select(IngestJob))}
    assert status == {ids[0]: "done", ids[1]: "done"}


def test_a_worker_needs_the_nats_queue(cli_db: str) -> None:
    code, _, err = run("worker", "--max-jobs", "1")
    assert code == 2 and "TURASH_JOB_QUEUE=nats" in err
    code, _, err = run("worker", "--partitions", "99")
    assert code == 2 and "outside 0-15" in err


def test_scheduler_once_runs_the_round_here_with_the_embedded_queue(cli_db: str, tmp_path: Path) -> None:
    code, _, err = run("import", "flows", str(_register(tmp_path)))
    assert code == 0, err
    code, out, err = run("scheduler", "--once", "--top", "3")
    assert code == 0, err
    import json

    assert json.loads(out) == {"jobs": 4, "queued": 4, "duplicates": 0, "ran_here": 4}
    engine = get_engine(cli_db)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(MatchRun).where(MatchRun.trigger == "worker")) == 4
