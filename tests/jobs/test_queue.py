"""The job queue: partitions, the in-process back-end, and NATS JetStream for real (work queue, dedupe, retries,
one job per partition at a time, a dead worker's job delivered again)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require_service
from turash.kit import queue as jobqueue
from turash.kit.queue import InProcessQueue, Job, NatsQueue, parse_partitions, partition_of

NATS = "nats://127.0.0.1:4222"


def test_partitions() -> None:
    assert parse_partitions(None, 4) == [0, 1, 2, 3]
    assert parse_partitions("0-2,7,5-5", 8) == [0, 1, 2, 5, 7]
    for bad, message in (("9", "outside 0-7"), ("a-b", "not a number"), ("3-1", "outside")):
        with pytest.raises(ValueError, match=message):
            parse_partitions(bad, 8)
    assert partition_of("55,11", 16) == partition_of("55,11", 16)  # stable (crc32, not Python's salted hash)
    spread = {partition_of(f"{lat},{lon}", 16) for lat in range(40, 60) for lon in range(-5, 20)}
    assert len(spread) == 16


def test_in_process_queue_runs_jobs_in_order_and_survives_a_failing_one() -> None:
    seen: list[str] = []

    def handler(job: Job) -> None:
        if job.kind == "boom":
            raise RuntimeError("bad job")
        seen.append(job.payload["n"])

    queue = InProcessQueue(handler)
    queue.submit([Job("a", {"n": "1"}), Job("boom", {}), Job("a", {"n": "2"})])
    queue.join()
    queue.close()
    assert seen == ["1", "2"]


@pytest.fixture
def nats_queue() -> Iterator[NatsQueue]:
    require_service("NATS", "127.0.0.1", 4222)
    q = NatsQueue(NATS, stream=f"TEST_JOBS_{uuid.uuid4().hex[:8].upper()}", partitions=4, ack_wait=2.0)
    yield q
    q.delete()
    q.close()


def _work_until(q: NatsQueue, handler, count: int, partitions: list[int], timeout: float = 30) -> int:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    done: list[int] = []

    def wrapped(job: Job) -> None:
        handler(job)
        done.append(1)
        if len(done) >= count:
            stop.set()

    timer = threading.Timer(timeout, stop.set)
    timer.start()
    try:
        return q.work(wrapped, partitions, stop, idle_wait=0.05)
    finally:
        timer.cancel()


def test_nats_jobs_are_done_once_and_deduplicated(nats_queue: NatsQueue) -> None:
    jobs = [Job("match.cell", {"cell": f"5{i},1{i}"}, partition=i % 4, dedupe=f"cell-{i}") for i in range(8)]
    assert nats_queue.submit(jobs) == 8
    assert nats_queue.submit(jobs[:3]) == 0  # the scheduler's second round in the same interval queues nothing
    seen: list[str] = []
    assert _work_until(nats_queue, lambda job: seen.append(job.payload["cell"]), 8, [0, 1, 2, 3]) == 8
    assert sorted(seen) == sorted(j.payload["cell"] for j in jobs)
    assert nats_queue.waiting() == 0  # acknowledged jobs leave the work queue


def test_a_failing_job_is_retried(nats_queue: NatsQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobqueue, "RETRY_DELAY_SECONDS", 0.2)
    nats_queue.submit([Job("ingest.job", {"job_id": "j1"}, partition=1)])
    attempts: list[int] = []

    def flaky(job: Job) -> None:
        attempts.append(job.attempt)
        if job.attempt == 1:
            raise ConnectionError("the database went away")

    assert _work_until(nats_queue, flaky, 1, [1]) == 1
    assert attempts == [1, 2]


def test_one_job_per_partition_at_a_time_across_workers(nats_queue: NatsQueue) -> None:
    """Two workers on the same partitions: a partition's jobs never overlap, different partitions do."""
    nats_queue.submit([Job("match.cell", {"i": i}, partition=i % 2) for i in range(8)])
    other = NatsQueue(NATS, stream=nats_queue.stream, partitions=4, ack_wait=2.0)
    active: dict[int, int] = {0: 0, 1: 0}
    overlap = {"same": 0, "across": 0}
    lock = threading.Lock()
    done: list[int] = []
    stop = threading.Event()

    def handler(job: Job) -> None:
        with lock:
            active[job.partition] += 1
            overlap["same"] = max(overlap["same"], active[job.partition])
            overlap["across"] = max(overlap["across"], sum(active.values()))
        time.sleep(0.15)
        with lock:
            active[job.partition] -= 1
            done.append(1)
            if len(done) >= 8:
                stop.set()

    threading.Timer(30, stop.set).start()
    second = threading.Thread(target=other.work, args=(handler, [0, 1], stop), kwargs={"idle_wait": 0.05})
    second.start()
    nats_queue.work(handler, [0, 1], stop, idle_wait=0.05)
    second.join()
    other.close()
    assert len(done) == 8
    assert overlap["same"] == 1  # max_ack_pending=1: a cell is matched by one worker at a time
    assert overlap["across"] == 2  # two partitions ran at once, on the two workers


def test_a_dead_workers_job_is_delivered_again(nats_queue: NatsQueue) -> None:
    """Worker A takes the job and dies (its connection drops, no ack); after ack_wait worker B gets it."""
    nats_queue.submit([Job("match.cell", {"cell": "55,11"}, partition=2)])
    doomed = NatsQueue(NATS, stream=nats_queue.stream, partitions=4, ack_wait=2.0)
    taken = threading.Event()
    release = threading.Event()

    def hang(job: Job) -> None:
        taken.set()
        release.wait(20)

    stop_a = threading.Event()
    a = threading.Thread(target=lambda: _swallow(lambda: doomed.work(hang, [2], stop_a, idle_wait=0.05)))
    a.start()
    assert taken.wait(10)
    doomed._loop.run(doomed._nc.close())  # the process is gone: no ack will ever come
    started = time.monotonic()
    seen: list[Job] = []
    assert _work_until(nats_queue, seen.append, 1, [2]) == 1
    assert seen[0].payload == {"cell": "55,11"} and seen[0].attempt == 2
    assert time.monotonic() - started < 10  # ack_wait is 2 s
    stop_a.set()
    release.set()
    a.join(10)


def _swallow(fn) -> None:  # type: ignore[no-untyped-def]
    # The dead worker's own errors (its connection is closed) are not the test's subject.
    with contextlib.suppress(Exception):
        fn()
