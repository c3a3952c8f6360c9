"""Scale-out of `turash worker`: re-matching every populated cell with 1, 2 and 4 worker processes.

A synthetic register (bench/bench_ingest.py's generator, fixed seed: organisations clustered around 300 points in
and around Denmark and northern Germany) is imported into a PostgreSQL database of its own. For each worker count
the scheduler's round (one `match.cell` job per populated 1° cell) goes to a NATS JetStream stream of its own, W
`turash worker` processes are started, and the clock runs until the last job is acknowledged. Every run must
store the same number of matches.

Prints, per worker count: wall time (start of the processes to the last acknowledgement, process start-up
included), jobs/s, speed-up over one worker, and the matches stored.

    .venv/bin/python -m bench.bench_workers [--rows 60000] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.bench_ingest import write_file

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NATS = "nats://127.0.0.1:4222"
STREAM = "TURASH_BENCH_WORKERS"


def _database(name: str) -> str:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return url


def _drop(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _delete_streams() -> None:
    """The bench's own streams (events and jobs), whatever state a run left them in."""
    import asyncio

    import nats

    async def delete() -> None:
        nc = await nats.connect(NATS)
        js = nc.jetstream()
        for name in (STREAM, f"{STREAM}_JOBS"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
        await nc.close()

    asyncio.run(delete())


def run(url: str, workers: int, partitions: int) -> dict[str, float]:
    from turash.config import Settings
    from turash.jobs import service
    from turash.kit.bus import InProcessBus
    from turash.kit.cache import make_cache
    from turash.kit.db import get_engine
    from turash.kit.queue import NatsQueue
    from turash.kit.runtime import Runtime
    from turash.models import MatchRecord, MatchRun

    stream = STREAM  # the workers' event bus uses it too: one name for every run, the job stream emptied between
    settings = Settings(
        database_url=url, job_queue="nats", nats_url=NATS, nats_stream=stream, job_partitions=partitions
    )
    runtime = Runtime(settings=settings, engine=get_engine(url), cache=make_cache(None), bus=InProcessBus())
    with runtime.engine.begin() as conn:  # each run starts from no stored matches
        conn.execute(sa.delete(MatchRecord))
        conn.execute(sa.delete(MatchRun))
    queue = service.queue_of(runtime)
    assert isinstance(queue, NatsQueue)
    jobs = service.rematch_jobs(runtime, top=5, radius_km=50.0)
    queue.submit(jobs)
    env = {
        **os.environ,
        "TURASH_DATABASE_URL": url,
        "TURASH_JOB_QUEUE": "nats",
        "TURASH_NATS_URL": NATS,
        "TURASH_NATS_STREAM": stream,
        "TURASH_JOB_PARTITIONS": str(partitions),
        "TURASH_AUTO_MIGRATE": "false",
    }
    command = [sys.executable, "-m", "turash.cli", "worker", "--idle-exit", "3"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as logs:
        files = [Path(logs) / f"worker-{i}.log" for i in range(workers)]
        procs = [subprocess.Popen(command, env=env, stderr=f.open("wb")) for f in files]
        while queue.waiting() > 0:
            if all(p.poll() is not None for p in procs):  # every worker has exited, jobs are left: show why
                raise SystemExit(f"the workers stopped with jobs left:\n{files[0].read_text()[-2000:]}")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        for p in procs:
            p.wait(timeout=60)
    with runtime.engine.connect() as conn:
        stored = conn.scalar(sa.select(sa.func.count()).select_from(MatchRecord)) or 0
        runs = conn.scalar(sa.select(sa.func.count()).select_from(MatchRun)) or 0
    queue.delete()
    runtime.close()
    return {"workers": workers, "jobs": len(jobs), "runs": runs, "wall": wall, "stored": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--partitions", type=int, default=16)
    args = parser.parse_args()

    from turash.ingestion.service import import_flows
    from turash.kit import migrations
    from turash.kit.db import get_engine, session_factory

    name = f"turash_bench_workers_{uuid.uuid4().hex[:6]}"
    url = _database(name)
    try:
        migrations.upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "register.csv"
            write_file(path, args.rows)
            t0 = time.perf_counter()
            with session_factory(get_engine(url))() as session:
                report = import_flows(session, path)
                session.commit()
            print(
                f"synthetic register: {report.imported:,} flows imported in {time.perf_counter() - t0:.1f} s "
                f"(PostgreSQL {name})"
            )
        results = [run(url, int(w), args.partitions) for w in args.workers.split(",")]
    finally:
        _drop(name)
        _delete_streams()
    base = results[0]["wall"]
    print(f"{'workers':>7} {'jobs':>5} {'wall s':>8} {'jobs/s':>7} {'speed-up':>8} {'matches stored':>15}")
    for r in results:
        print(
            f"{r['workers']:>7} {r['jobs']:>5} {r['wall']:>8.1f} {r['jobs'] / r['wall']:>7.2f} "
            f"{base / r['wall']:>7.2f}x {r['stored']:>15,}"
        )
    if len({r["stored"] for r in results}) != 1 or any(r["runs"] != r["jobs"] for r in results):
        raise SystemExit("the runs disagree: every worker count must store the same matches, one run per job")
    print(f"machine: {os.cpu_count()} CPU cores; workers beyond the cores share them")


if __name__ == "__main__":
    main()
