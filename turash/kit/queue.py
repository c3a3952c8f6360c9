"""Job queue: background work (matching a geographic cell, running a bulk import) handed to whoever runs jobs.

Two back-ends with one interface:
- `InProcessQueue` (embedded default): the submitting process runs the job itself, on one background thread.
- `NatsQueue` (`TURASH_JOB_QUEUE=nats`): jobs go to the JetStream work-queue stream `<stream>_JOBS`, subject
  `turash.jobs.<stream>.<kind>.p<NN>` (the kind's dots as underscores), where NN is the job's partition (from its
  geographic cell). Each partition has one
  durable pull consumer shared by every `turash worker` (a queue group) with one job in flight at a time: a cell
  is matched by one worker at a time, and more workers run more partitions at once. A job is acknowledged once
  its handler has returned; a worker that dies mid-job leaves it unacknowledged, and JetStream delivers it again
  after `ack_wait` (at least once: handlers must be idempotent). A job whose handler fails is retried with a
  delay, at most `MAX_DELIVER` times.
Submitting with a `dedupe` key makes a second submission of the same key within the stream's duplicate window a
no-op (JetStream `Nats-Msg-Id`): two schedulers never queue the same re-match twice.
"""

from __future__ import annotations

import json
import queue as stdlib_queue
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from turash.kit.bus import _LoopThread

log = structlog.get_logger(__name__)

SUBJECT_PREFIX = "turash.jobs"
MAX_DELIVER = 5
RETRY_DELAY_SECONDS = 5.0
DUPLICATE_WINDOW_SECONDS = 600.0  # covers schedulers whose clocks disagree by minutes


@dataclass(frozen=True)
class Job:
    kind: str  # e.g. "match.cell"; a dotted name without spaces
    payload: dict[str, Any]
    partition: int = 0
    dedupe: str | None = None
    attempt: int = 1  # the delivery this is (NATS); 1 in process

    def to_json(self) -> bytes:
        return json.dumps({"kind": self.kind, "payload": self.payload, "partition": self.partition}).encode()


JobHandler = Callable[[Job], None]


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for a key (a cell id, an organisation id): the same in every process and release."""
    return zlib.crc32(key.encode()) % partitions


def parse_partitions(text: str | None, partitions: int) -> list[int]:
    """`0-3,8,10-11` → [0, 1, 2, 3, 8, 10, 11]; None → all. Out of range or malformed is a ValueError."""
    if not text:
        return list(range(partitions))
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"partitions: {part.strip()!r} is not a number or a range like 0-3") from None
        if not 0 <= first <= last < partitions:
            raise ValueError(f"partitions: {part.strip()!r} is outside 0-{partitions - 1}")
        out.update(range(first, last + 1))
    return sorted(out)


class JobQueue(Protocol):
    partitions: int

    def submit(self, jobs: Sequence[Job]) -> int: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


@dataclass
class InProcessQueue:
    """Runs each submitted job on one background thread of this process, in submission order."""

    handler: JobHandler
    partitions: int = 16
    _queue: stdlib_queue.Queue[Job | None] = field(default_factory=stdlib_queue.Queue)
    _thread: threading.Thread | None = None

    def submit(self, jobs: Sequence[Job]) -> int:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="turash-jobs", daemon=True)
            self._thread.start()
        for job in jobs:
            self._queue.put(job)
        return len(jobs)

    def join(self) -> None:
        """Wait until every submitted job has run (tests, the CLI)."""
        self._queue.join()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self.handler(job)
            except Exception:
                log.exception("job_failed", kind=job.kind, partition=job.partition)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)


class NatsQueue:
    """Jobs on a JetStream work-queue stream, one durable pull consumer per partition (see the module doc)."""

    def __init__(self, url: str, stream: str = "TURASH_JOBS", partitions: int = 16, ack_wait: float = 300.0) -> None:
        import nats

        self.partitions, self.stream, self.ack_wait = partitions, stream, ack_wait
        self._loop = _LoopThread()

        async def connect() -> tuple[Any, Any]:
            from nats.js.api import RetentionPolicy, StreamConfig

            nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1, reconnect_time_wait=1)
            js = nc.jetstream()
            config = StreamConfig(
                name=stream,
                subjects=[f"{SUBJECT_PREFIX}.{stream}.>"],
                retention=RetentionPolicy.WORK_QUEUE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )
            try:
                await js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
            return nc, js

        self._nc, self._js = self._loop.run(connect())

    def subject(self, kind: str, partition: int) -> str:
        return f"{SUBJECT_PREFIX}.{self.stream}.{kind.replace('.', '_')}.p{partition:02d}"

    def submit(self, jobs: Sequence[Job]) -> int:
        """Publish the jobs; returns how many were new (a duplicate `dedupe` key is not)."""

        async def send() -> int:
            new = 0
            for job in jobs:
                headers = {"Nats-Msg-Id": job.dedupe} if job.dedupe else None
                ack = await self._js.publish(self.subject(job.kind, job.partition), job.to_json(), headers=headers)
                new += not ack.duplicate
            return new

        return self._loop.run(send(), timeout=60)

    def consumer(self, partition: int) -> str:
        return f"jobs-p{partition:02d}"

    def waiting(self) -> int:
        """Messages in the stream (a work queue keeps only jobs not yet acknowledged)."""
        info = self._loop.run(self._js.stream_info(self.stream))
        return int(info.state.messages)

    def work(
        self,
        handler: JobHandler,
        partitions: Sequence[int],
        stop: threading.Event,
        *,
        idle_wait: float = 1.0,
    ) -> int:
        """Take jobs from `partitions` until `stop` is set, one at a time, running `handler` on the calling thread.
        Returns how many jobs were handled (acknowledged)."""
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig

        async def bind() -> list[Any]:
            subs = []
            for p in partitions:
                config = ConsumerConfig(
                    durable_name=self.consumer(p),
                    filter_subject=f"{SUBJECT_PREFIX}.{self.stream}.*.p{p:02d}",
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self.ack_wait,
                    max_ack_pending=1,  # one job of a partition at a time, across all workers
                    max_deliver=MAX_DELIVER,
                )
                subs.append(await self._js.pull_subscribe(config.filter_subject, durable=config.durable_name,
                                                          stream=self.stream, config=config))  # fmt: skip
            return subs

        subs = self._loop.run(bind(), timeout=30)
        done = 0
        turn = 0
        while not stop.is_set():
            got = None
            for i in range(len(subs)):  # round robin: every partition gets its turn
                sub = subs[(turn + i) % len(subs)]
                try:
                    msgs = self._loop.run(sub.fetch(1, timeout=0.05), timeout=5)
                except (NatsTimeout, TimeoutError):
                    continue
                if msgs:
                    got, turn = msgs[0], (turn + i + 1) % len(subs)
                    break
            if got is None:
                stop.wait(idle_wait)
                continue
            raw = json.loads(got.data)
            job = Job(raw["kind"], raw["payload"], raw["partition"], attempt=got.metadata.num_delivered)
            try:
                handler(job)
            except Exception:
                log.exception("job_failed", kind=job.kind, partition=job.partition, attempt=job.attempt)
                if job.attempt >= MAX_DELIVER:
                    self._loop.run(got.term())
                    log.error("job_given_up", kind=job.kind, partition=job.partition, payload=job.payload)
                else:
                    self._loop.run(got.nak(delay=RETRY_DELAY_SECONDS))
                continue
            self._loop.run(got.ack_sync(), timeout=10)
            done += 1
        return done

    def delete(self) -> None:
        """Remove the stream and its consumers (tests and the bench, on streams of their own)."""
        self._loop.run(self._js.delete_stream(self.stream))

    def ping(self) -> bool:
        return bool(self._nc.is_connected)

    def close(self) -> None:
        # No drain: nothing here is delivered by callback, and a job in hand is acknowledged or left to redeliver.
        try:
            self._loop.run(self._nc.close())
        finally:
            self._loop.stop()
